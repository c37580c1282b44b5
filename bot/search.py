"""Search: user text to ranked pledge ids, through the FTS5 index and never by scanning a table.

User text never reaches MATCH as written. It is cut into words (letters and digits only), each word becomes
a quoted FTS5 string, and Hangul words become the bigrams they were indexed as. Operators, quotes,
parentheses and emoji therefore have no syntax left to break. Ranking is bm25 with column weights, so a hit
in a title or an alias outranks one in a quote.
"""

from __future__ import annotations

import difflib
import re
import sqlite3
import unicodedata
from dataclasses import dataclass, field

from bot.database import Store
from bot.search_index import hangul_grams, is_hangul

MAX_QUERY_CHARS = 200
MAX_WORDS = 12
# bm25 weights for pledge_index_fts columns: title, aliases, summary, quotes, grams (Korean).
WEIGHTS = "10.0, 8.0, 2.0, 1.0, 8.0"
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass
class SearchResult:
    """Ranked pledge ids for one page, the total, and how the query was understood."""

    ids: list[str] = field(default_factory=list)
    total: int = 0
    words: list[str] = field(default_factory=list)
    corrected: str | None = None
    truncated: bool = False


def clean(text: str) -> str:
    """NFKC-normalised text without control or format characters, white space collapsed."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") else c for c in text)
    return " ".join(text.split())


def words(text: str) -> list[str]:
    """The searchable words of `text`: runs of letters and digits, lower-cased."""
    return [w.lower() for w in _WORD.findall(text)]


def _term(word: str, prefix: bool = False) -> str:
    """One word as a safe FTS5 expression: a quoted string, or a group of quoted Hangul bigrams."""
    star = "*" if prefix else ""
    if any(is_hangul(c) for c in word):
        grams = hangul_grams(word).split()
        if not grams:
            return f'"{word}"{star}'
        if len(grams) == 1:
            # A lone syllable is indexed only where it stands alone; as a prefix it also finds the words
            # it begins, so "핫" finds 핫라인.
            return f'"{grams[0]}"*' if len(word) == 1 else f'"{grams[0]}"{star}'
        # A longer Korean word matches when all of its bigrams do; the last may be a prefix while typing.
        quoted = [f'"{g}"' for g in grams[:-1]] + [f'"{grams[-1]}"{star}']
        return "(" + " AND ".join(quoted) + ")"
    return f'"{word}"{star}'


class Searcher:
    """Finds pledges for a query; each call is a handful of indexed lookups."""

    def __init__(self, store: Store):
        self.store = store

    def search(self, query: str, *, limit: int = 3, offset: int = 0, prefix: bool = False) -> SearchResult:
        """Ranked pledge ids for `query`, correcting misspelt words when nothing matches as typed."""
        text = clean(query)
        result = SearchResult(truncated=len(text) > MAX_QUERY_CHARS)
        found = words(text[:MAX_QUERY_CHARS])[:MAX_WORDS]
        result.words = found
        if not found:
            return result
        exact = self._exact(found)
        for expression in self._expressions(found, prefix):
            ids, total = self._match(expression, exact, limit, offset)
            if total:
                result.ids, result.total = ids, total
                return result
        corrected = self._correct(found)
        if corrected != found:
            for expression in self._expressions(corrected, prefix):
                ids, total = self._match(expression, self._exact(corrected), limit, offset)
                if total:
                    result.ids, result.total = ids, total
                    result.corrected = " ".join(corrected)
                    return result
        return result

    def _expressions(self, found: list[str], prefix: bool) -> list[str]:
        terms = [_term(w, prefix and i == len(found) - 1) for i, w in enumerate(found)]
        # All words first (precise); then any word, where bm25 ranks pledges matching more words higher.
        expressions = [" AND ".join(terms)]
        if len(terms) > 1:
            expressions.append(" OR ".join(terms))
        return expressions

    def _exact(self, found: list[str]) -> list[str]:
        """Pledges that have the query, word for word, as a title or alias: these rank first."""
        rows = self.store.db.execute(
            "SELECT pledge_id FROM pledge_aliases WHERE alias = ? LIMIT 50", [" ".join(found)]
        )
        return [r[0] for r in rows]

    def _match(self, expression: str, exact: list[str], limit: int, offset: int) -> tuple[list[str], int]:
        db = self.store.db
        marks = ",".join("?" * len(exact))
        try:
            total = db.execute(
                "SELECT COUNT(*) FROM pledge_index_fts WHERE pledge_index_fts MATCH ?", [expression]
            ).fetchone()[0]
            if not total:
                return [], 0
            if offset >= total:
                return [], total
            # Ranked as (exact alias hit first, bm25, pledge id). Scores come from the FTS table alone (the
            # CTE is used twice, so SQLite materialises it: bm25 once per hit); only the hits that rank at
            # or before the page's last one (ties included, so the pledge-id tiebreak is unchanged) are
            # joined to pledge_index for their ids. Joining every hit (thousands for a common word) used to
            # cost as much as the ranking itself.
            rows = db.execute(
                f"""
                WITH hits AS (
                    SELECT rowid, bm25(pledge_index_fts, {WEIGHTS}) AS score,
                        rowid IN (SELECT rowid FROM pledge_index WHERE pledge_id IN ({marks})) AS exact
                    FROM pledge_index_fts WHERE pledge_index_fts MATCH ?),
                last AS (SELECT exact, score FROM hits ORDER BY exact DESC, score LIMIT 1 OFFSET ?)
                SELECT p.pledge_id FROM hits h JOIN pledge_index p ON p.rowid = h.rowid, last
                WHERE h.exact > last.exact OR (h.exact = last.exact AND h.score <= last.score)
                ORDER BY h.exact DESC, h.score, p.pledge_id
                LIMIT ? OFFSET ?
                """,
                [*exact, expression, min(offset + limit, total) - 1, limit, offset],
            ).fetchall()
        except sqlite3.OperationalError:
            # Quoting leaves no syntax for user text to break; should FTS5 still refuse a query, treat it
            # as no match rather than fail the reply.
            return [], 0
        return [r[0] for r in rows], total

    def _correct(self, found: list[str]) -> list[str]:
        """Each unknown Latin word replaced by the closest word of the vocabulary, when one is close."""
        return [self._closest(w) if w.isascii() and len(w) >= 4 else w for w in found]

    def _closest(self, word: str) -> str:
        db = self.store.db
        if db.execute("SELECT 1 FROM search_terms WHERE term = ?", [word]).fetchone():
            return word
        trigrams = {word[i : i + 3] for i in range(len(word) - 2)}
        expression = " OR ".join(f'"{t}"' for t in sorted(trigrams))
        try:
            candidates = [
                r[0]
                for r in db.execute(
                    "SELECT term FROM search_terms_fts WHERE search_terms_fts MATCH ? ORDER BY rank LIMIT 40",
                    [expression],
                )
            ]
        except sqlite3.OperationalError:
            return word
        best = difflib.get_close_matches(word, candidates, n=1, cutoff=0.75)
        return best[0] if best else word
