"""The search index writer: the documents, aliases and vocabulary that `bot/search.py` reads.

It lives beside the search so that how text is indexed and how a query is cut into terms stay one pair:
Hangul is indexed as syllable bigrams (`hangul_grams`) and looked up the same way, aliases are matched in
`alias_key` form, and misspelt words are corrected towards `vocabulary` (Latin words) and `hangul_words`
(Korean words, by their letters: `hangul_variants`).
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


# Particles and verb endings, longest first; one is cut only when at least two syllables remain, so 국가,
# 회의 and 대한 keep their last syllable.
KOREAN_ENDINGS = (
    "하겠습니다",
    "하겠다는",
    "하겠다",
    "합니다",
    "한다는",
    "에서는",
    "에게는",
    "으로는",
    "이라는",
    "에서",
    "에게",
    "으로",
    "까지",
    "부터",
    "처럼",
    "이란",
    "라는",
    "에는",
    "에도",
    "과의",
    "와의",
    "은요",
    "는요",
    "이나",
    "한다",
    "하는",
    "하기",
    "하고",
    "해야",
    "했다",
    "해서",
    "은",
    "는",
    "이",
    "가",
    "을",
    "를",
    "에",
    "의",
    "와",
    "과",
    "도",
    "로",
    "만",
    "란",
    "할",
    "한",
)


def korean_stem(word: str) -> str:
    """A Korean word without the particle or ending a reader glued to it (사법개혁을 → 사법개혁); any other
    word as it is."""
    if not word or not is_hangul(word[-1]):
        return word
    for ending in KOREAN_ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 2:
            return word[: -len(ending)]
    return word


# A precomposed syllable is 0xAC00 + (initial * 21 + vowel) * 28 + final, final 0 meaning none.
_VOWELS, _FINALS = 21, 28
_INITIALS = 19
# A Hangul word corrected by its letters is between these many syllables: one syllable is too little to
# tell a slip from another word, and longer runs are phrases no one types twice alike.
HANGUL_WORD_SYLLABLES = (2, 10)


def hangul_words(text: str) -> set[str]:
    """The Korean words a misspelt Korean word can be corrected to: each Hangul run of `text` of two to ten
    syllables, as written and without its particle (`korean_stem`). Both: a stem can cut a word's own
    ending (우크라이나 → 우크라, as if 이나 were "or")."""
    low, high = HANGUL_WORD_SYLLABLES
    found: set[str] = set()
    # Each distinct run once: a chunk of pledges repeats most of its words.
    for run in set(_HANGUL_RUN.findall(text)):
        found.update(w for w in (run, korean_stem(run)) if low <= len(w) <= high)
    return found


def hangul_variants(word: str) -> list[str]:
    """Every word one letter (jamo) away from `word` within a syllable: its initial consonant, its vowel or
    its final consonant replaced, or the final added or dropped (북헌 → 북한, 헷라인 → 핫라인, 이산가쪽 →
    이산가족). A slip on a Korean keyboard changes one of these; a jamo moved across syllables (한국 →
    하눅) is not covered."""
    variants = []
    for i, char in enumerate(word):
        if not is_hangul(char):
            continue
        code = ord(char) - 0xAC00
        initial, rest = divmod(code, _VOWELS * _FINALS)
        vowel, final = divmod(rest, _FINALS)
        before, after = word[:i], word[i + 1 :]
        for other in range(_INITIALS):
            if other != initial:
                variants.append(before + _syllable(other, vowel, final) + after)
        for other in range(_VOWELS):
            if other != vowel:
                variants.append(before + _syllable(initial, other, final) + after)
        for other in range(_FINALS):
            if other != final:
                variants.append(before + _syllable(initial, vowel, other) + after)
    return variants


def _syllable(initial: int, vowel: int, final: int) -> str:
    return chr(0xAC00 + (initial * _VOWELS + vowel) * _FINALS + final)


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
        korean_texts: list[str] = []
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
            # Not the speaker's name: a name is never corrected to, one letter apart is often another person.
            korean_texts.extend(x for x in (title_ko, aliases_ko, category_ko, doc["quotes"]) if x)
        # Once per chunk rather than per pledge: the same words recur across pledges.
        terms = vocabulary(" ".join(texts))
        korean_words = hangul_words("\n".join(korean_texts))
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
        db.execute(
            "INSERT OR IGNORE INTO hangul_terms (term) SELECT value FROM json_each(?)",
            [_json_list(sorted(korean_words))],
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
