"""The search index writer: the documents, aliases and vocabulary that `bot/search.py` reads.

It lives beside the search so that how text is indexed and how a query is cut into terms stay one pair:
Hangul is indexed as syllable bigrams (`hangul_grams`) and looked up the same way, aliases are matched in
`alias_key` form, and misspelt words are corrected towards `vocabulary`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import defaultdict

from sqlite_utils import Database

_INSERT_DOC = (
    "INSERT INTO pledge_index (pledge_id, title, aliases, summary, quotes, grams, joins) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def hangul_grams(text: str) -> str:
    """Every pair of adjacent Hangul syllables (and each lone syllable), as space-separated tokens."""
    grams: list[str] = []
    # The regex finds the runs in C; most indexed text is English, which a loop over characters crawled.
    for run in _HANGUL_RUN.findall(text):
        if len(run) == 1:
            grams.append(run)
        else:
            grams.extend(run[i : i + 2] for i in range(len(run) - 1))
    return " ".join(grams)


def hangul_joins(text: str) -> str:
    """The pairs of syllables that span a single space between two Hangul runs ("사법 개혁" → 법개), so a
    compound is found whether it is written with its spaces or without them. Indexed in a column of their
    own: a one-syllable prefix query ("군"*) leaves it out, or it would match every word after a place
    ending in 군."""
    joins: list[str] = []
    previous_end = -1
    for match in _HANGUL_RUN.finditer(text):
        start = match.start()
        if start == previous_end + 1 and text[previous_end] == " ":
            joins.append(text[previous_end - 1] + text[start])
        previous_end = match.end()
    return " ".join(joins)


_HANGUL_RUN = re.compile("[\uac00-\ud7a3]+")


def is_hangul(char: str) -> bool:
    """True for a precomposed Hangul syllable."""
    return "\uac00" <= char <= "\ud7a3"


def write(db: Database, pledge_ids: list[str], *, bulk: bool = False) -> None:
    """Write the search documents, aliases and vocabulary of these pledges; `bulk` when pledge_index and
    pledge_aliases are empty and have no triggers (a fresh load), so plain INSERTs do."""
    for start in range(0, len(pledge_ids), 500):
        chunk = pledge_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        quotes: dict[str, list[str]] = defaultdict(list)
        for pledge, text in db.execute(
            f"SELECT pledge, text FROM quotes WHERE pledge IN ({marks}) ORDER BY pledge, position", chunk
        ):
            quotes[pledge].append(text)
        headlines = _headlines(db, marks, chunk)
        docs, texts = [], []
        alias_rows: list[tuple[str, str]] = []
        for row in db.execute(
            "SELECT p.id, p.title, p.title_ko, p.summary, p.aliases, p.aliases_ko, p.category, "
            "p.category_ko, s.name_ko, s.name FROM pledges p LEFT JOIN speakers s ON s.id = p.speaker "
            f"WHERE p.id IN ({marks})",
            chunk,
        ):
            pid, title, title_ko, summary, aliases, aliases_ko, category, category_ko, name_ko, name = row
            korean = " ".join(x for x in (title_ko, aliases_ko, category_ko, name_ko) if x)
            doc = {
                "pledge_id": pid,
                "title": title,
                "aliases": " ".join(x for x in (aliases, korean, category, name, pid.replace("-", " ")) if x),
                "summary": summary or "",
                "quotes": "\n".join(quotes[pid]),
                "grams": hangul_grams(korean + " " + " ".join(quotes[pid])),
                "joins": hangul_joins(korean + " " + " ".join(quotes[pid])),
            }
            docs.append(doc)
            names = [title, title_ko, *(aliases or "").split(" | "), *(aliases_ko or "").split(" | ")]
            alias_rows.extend({(key, pid) for key in map(alias_key, filter(None, names)) if key})
            texts.append(" ".join(str(v) for v in doc.values()))
        # Once per chunk rather than per pledge: the same words recur across pledges.
        terms = vocabulary(" ".join(texts))
        if bulk:
            db.conn.executemany(_INSERT_DOC, [tuple(doc.values()) for doc in docs])
        else:
            db.table("pledge_index").upsert_all(docs, pk="pledge_id")
            db.execute(f"DELETE FROM pledge_aliases WHERE pledge_id IN ({marks})", chunk)
        db.conn.executemany(
            "INSERT OR IGNORE INTO pledge_aliases (alias, pledge_id) VALUES (?, ?)", alias_rows
        )
        if not bulk:
            db.execute(f"DELETE FROM source_index WHERE pledge_id IN ({marks})", chunk)
        db.conn.executemany(
            "INSERT INTO source_index (pledge_id, headlines) VALUES (?, ?)", sorted(headlines.items())
        )
        db.execute(
            "INSERT OR IGNORE INTO search_terms (term) SELECT value FROM json_each(?)",
            [_json_list(sorted(terms))],
        )


def _headlines(db: Database, marks: str, chunk: list[str]) -> dict[str, str]:
    """Each pledge's source headlines (those its quotes and statuses cite), English and Korean, the Korean
    also as the bigrams and joins a Korean word is looked up by."""
    found: dict[str, dict[str, None]] = defaultdict(dict)
    for pledge, headline, headline_ko in db.execute(
        "SELECT c.pledge, s.headline, s.headline_ko FROM ("
        f"SELECT pledge, source FROM quotes WHERE pledge IN ({marks}) UNION "
        f"SELECT pledge, source FROM statuses WHERE pledge IN ({marks}) AND source IS NOT NULL"
        ") c JOIN sources s ON s.id = c.source",
        [*chunk, *chunk],
    ):
        found[pledge][headline] = None
        if headline_ko:
            found[pledge][f"{headline_ko} {hangul_grams(headline_ko)} {hangul_joins(headline_ko)}"] = None
    return {pledge: "\n".join(texts) for pledge, texts in found.items()}


def citing(db: Database, source_ids: set[str]) -> set[str]:
    """The pledges whose quotes or statuses cite these sources: their index holds the sources' headlines."""
    if not source_ids:
        return set()
    ids = _json_list(sorted(source_ids))
    return {
        r[0]
        for r in db.execute(
            "SELECT pledge FROM quotes WHERE source IN (SELECT value FROM json_each(?)) UNION "
            "SELECT pledge FROM statuses WHERE source IN (SELECT value FROM json_each(?))",
            [ids, ids],
        )
    }


def alias_key(text: str) -> str:
    """The form an alias is matched in: its lower-case words, single-spaced."""
    return " ".join(w.lower() for w in _WORD.findall(unicodedata.normalize("NFKC", text)))


_WORD = re.compile(r"[^\W_]+")


def vocabulary(text: str) -> set[str]:
    """Lower-case Latin words of four letters or more: the words a misspelling can be corrected to."""
    words = set()
    # Each distinct token once: the result is a set, and large texts repeat most of their words.
    for word in set(unicodedata.normalize("NFKC", text).lower().split()):
        word = word.strip(".,;:!?'\"“”‘’()[]")
        if len(word) >= 4 and word.isascii() and word.isalpha():
            words.add(word)
    return words


def _json_list(items: list[str]) -> str:
    return json.dumps(items, ensure_ascii=False)
