"""Search: user text to ranked pledge ids, through the FTS5 index and never by scanning a table.

User text never reaches MATCH as written. It is cut into words (letters and digits only), each word becomes
a quoted FTS5 string, and Hangul words become the bigrams they were indexed as. Operators, quotes,
parentheses and emoji therefore have no syntax left to break. Ranking is bm25 with column weights, so a hit
in a title or an alias outranks one in a quote.
"""

from __future__ import annotations

import copy
import difflib
import json
import math
import re
import sqlite3
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path

import yaml

from bot.database import Store
from bot.names import name_groups
from bot.search_index import HANGUL_WORD_SYLLABLES, hangul_grams, hangul_variants, is_hangul, korean_stem

MAX_QUERY_CHARS = 200
MAX_WORDS = 12
# bm25 weights for pledge_index_fts columns: title, aliases, summary, quotes, grams and joins (Korean).
WEIGHTS = "10.0, 8.0, 2.0, 1.0, 8.0, 8.0"
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


# Words that say nothing about a pledge: ignored in a query; a query of these alone asks for a better word.
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "do",
        "does",
        "for",
        "from",
        "he",
        "her",
        "his",
        "i",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "she",
        "so",
        "that",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "us",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
    ]
)
# Words that match almost everything here: a partial match on these alone is no match at all.
GENERIC_WORDS = frozenset(
    [
        "pledge",
        "pledges",
        "promise",
        "promises",
        "policy",
        "policies",
        "plan",
        "plans",
        "say",
        "said",
        "says",
        "korea",
        "korean",
    ]
)
# Korean readers ask whole questions ("핫라인에 대한 정책은?", "남북 통신선이 궁금해요"): the particles and
# endings glued to a word are cut from it (`korean_stem`), and these words of the question itself are left
# out like stop words. Curated and small on purpose: measured against a morphological analyser in README
# ("Search"), this with the index's bigrams found as many pledges at a fraction of the cost.
KOREAN_QUESTION_WORDS = frozenset(
    [
        "대한",
        "대해",
        "대해서",
        "관한",
        "관해",
        "관해서",
        "관련",
        "관련된",
        "어떤",
        "어떻게",
        "무엇",
        "무엇인가요",
        "뭐",
        "뭐야",
        "뭔가요",
        "뭐예요",
        "있나요",
        "있어요",
        "있습니까",
        "알려줘",
        "알려줘요",
        "알려주세요",
        "궁금",
        "궁금해",
        "궁금해요",
        "궁금합니다",
        "어때",
        "어때요",
        "좀",
        "무슨",
        "했나요",
        "했어요",
        "했습니까",
        "있었나요",
        "있었어요",
    ]
)
# "Policy" and "pledge" in a Korean question ("…에 대한 정책은?") frame it; left out when other words remain.
KOREAN_FRAME_WORDS = frozenset(["정책", "공약", "계획", "입장", "약속"])
# English questions as reporters type them ("what did Lee say about the hotline?"): the question's own verbs
# and prepositions are left out, but only beside other words, so a query of them alone still searches them.
ENGLISH_QUESTION_WORDS = frozenset(
    [
        "about",
        "anything",
        "concerning",
        "did",
        "ever",
        "had",
        "has",
        "have",
        "how",
        "mention",
        "mentioned",
        "promise",
        "promised",
        "regarding",
        "said",
        "say",
        "says",
        "tell",
        "told",
    ]
)
# Ranking is bounded: bm25 scores at most this many hits; beyond it the total is shown as "250+". Measured at
# 100,000 pledges on the frequency-weighted mix (bench/query_mix.py; CPU time, best of three, beside other
# work): 250 gives core.handle p50 0.96 ms / p99 2.7 ms; 1,000 gave p50 1.9 ms / p99 7.4 ms (Searcher.search
# alone 1.4 ms / 6.8 ms), past the 1 ms / 5 ms target.
CANDIDATES = 250
# Answers kept until the catalogue changes. Readers ask the same words again and again, and bm25's first call
# for a query counts every row holding each of its terms, at about 1 ms for a word in 25,000 pledges.
KEPT_ANSWERS = 2048
# Pages and suggestion lists are kept; the candidate lists scoping asks for (250 ids) are not: 2,048 of them
# would hold about 30 MB.
KEPT_LIMIT = 25
SYNONYMS_FILE = Path(__file__).resolve().parent.parent / "data" / "search" / "synonyms.yaml"


@dataclass
class SearchResult:
    """Ranked pledge ids for one page, the total, and how the query was understood."""

    ids: list[str] = field(default_factory=list)
    total: int = 0
    words: list[str] = field(default_factory=list)
    corrected: str | None = None
    truncated: bool = False
    # The words and phrases searched for (synonyms included), for finding and emphasising the matching quote.
    terms: list[str] = field(default_factory=list)
    # Only stop words were given ("the", "AND(").
    stop_only: bool = False
    # A partial match: the query's parts no pledge has alongside the others, and the parts that were matched.
    missing: list[str] = field(default_factory=list)
    matched: list[str] = field(default_factory=list)
    # The query's words as typed (case kept: `US` is the country, `us` a stop word), for a next page.
    typed: list[str] = field(default_factory=list)
    # The FTS5 expression that produced the answer ("" when none did): what the benchmark's floor runs.
    expression: str = ""
    # The pledges at the end of `ids` that match all but one of the query's words (not counted in `total`).
    near: list[str] = field(default_factory=list)

    def copy(self) -> SearchResult:
        """This result with lists of its own, so that changing one answer cannot change another."""
        twin = copy.copy(self)
        for f in fields(self):
            if isinstance(value := getattr(self, f.name), list):
                setattr(twin, f.name, list(value))
        return twin


@dataclass
class _Unit:
    """One part of a query: a word, or a phrase of the synonym table with its equivalents."""

    shown: str
    entries: list[str]
    typed: str
    synonym: bool = False


def clean(text: str) -> str:
    """NFKC-normalised text without control or format characters, white space collapsed."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") else c for c in text)
    return " ".join(text.split())


def words(text: str) -> list[str]:
    """The searchable words of `text`: runs of letters and digits, lower-cased."""
    return [w.lower() for w in _WORD.findall(text)]


def _korean_question(typed: list[str]) -> list[str]:
    """The words of a query with Korean particles cut and the words of a Korean question left out."""
    stems = [korean_stem(w) for w in typed]
    kept = [w for w in stems if w not in KOREAN_QUESTION_WORDS]
    if any(w not in KOREAN_FRAME_WORDS for w in kept):
        kept = [w for w in kept if w not in KOREAN_FRAME_WORDS]
    return kept


def _english_question(typed: list[str]) -> list[str]:
    """The words of a query without an English question's own words, when something else is asked about."""
    asked = [w for w in typed if w.lower() not in ENGLISH_QUESTION_WORDS and w.lower() not in STOP_WORDS]
    return [w for w in typed if w.lower() not in ENGLISH_QUESTION_WORDS] if asked else typed


# Words that ask what happened on a day rather than filter it ("what happened on May 26?").
_DAY_QUESTION_WORDS = frozenset(["happen", "happened", "happening", "going", "anything", "everything"])
# Every word `informative` leaves out, joined once rather than at each dated search.
_NOT_INFORMATIVE = (
    STOP_WORDS
    | ENGLISH_QUESTION_WORDS
    | KOREAN_QUESTION_WORDS
    | KOREAN_FRAME_WORDS
    | GENERIC_WORDS
    | _DAY_QUESTION_WORDS
)


def informative(text: str) -> list[str]:
    """The words of `text` that say what to look for: without stop words, question words, generic words and
    the Korean words that frame a question, even when nothing else remains (then there is nothing to filter
    by)."""
    stems = (korean_stem(w) for w in _WORD.findall(clean(text))[:MAX_WORDS])
    return [w for w in stems if w.lower() not in _NOT_INFORMATIVE]


def _term(word: str, prefix: bool = False) -> str:
    """One word as a safe FTS5 expression: a quoted string, or a group of quoted Hangul bigrams."""
    star = "*" if prefix else ""
    if any(is_hangul(c) for c in word):
        grams = hangul_grams(word).split()
        if not grams:
            return f'"{word}"{star}'
        if len(grams) == 1:
            # A lone syllable is indexed only where it stands alone; as a prefix it also finds the words
            # it begins, so "핫" finds 핫라인 (but not the pairs that span a space, which begin no word).
            return f'- {{joins}} : "{grams[0]}"*' if len(word) == 1 else f'"{grams[0]}"{star}'
        # A longer Korean word matches when all of its bigrams do; the last may be a prefix while typing.
        quoted = [f'"{g}"' for g in grams[:-1]] + [f'"{grams[-1]}"{star}']
        return "(" + " AND ".join(quoted) + ")"
    return f'"{word}"{star}'


def load_synonyms(path: Path = SYNONYMS_FILE) -> list[list[str]]:
    """The synonym table: groups of names for one thing (data/search/synonyms.yaml), [] when absent."""
    if not path.is_file():
        return []
    groups = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [[str(entry) for entry in group] for group in groups.get("synonyms", [])]


def _by_case(entry: str) -> bool:
    """A short abbreviation (US, UN, NK, N.K.) is understood only as written: "us" is the pronoun."""
    letters = "".join(_WORD.findall(entry))
    return letters.isupper() and len(letters) <= 3


# Abbreviations whose index term is also a common word or a name: US is the pronoun "us", UN the "Un" of
# Kim Jong Un. Searched for only when typed as written, never as another name's equivalent.
_AMBIGUOUS_TERMS = STOP_WORDS | {"un"}


def _case_sensitive(entry: str) -> bool:
    """An abbreviation whose index term is also a common word or a name is searched for only when typed."""
    return _by_case(entry) and entry.lower() in _AMBIGUOUS_TERMS


def _phrase(entry: str) -> str:
    """One synonym entry as an FTS5 expression: a quoted phrase, or Korean bigrams."""
    parts = _WORD.findall(entry.lower())
    if any(is_hangul(c) for c in entry):
        return "(" + " AND ".join(_term(p) for p in parts) + ")" if len(parts) > 1 else _term(parts[0])
    return '"' + " ".join(parts) + '"'


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance, a swap of neighbours counting as one edit."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, previous2[j - 2] + 1)
            current.append(cost)
        previous2, previous = previous, current
    return previous[-1]


def best_quote(quotes: list[str], terms: list[str]) -> tuple[int, tuple[tuple[int, int], ...]]:
    """The index of the quote that contains the most of `terms` (the first on a tie or when none does),
    and where in it they stand as (start, end) offsets. Words are compared as the index compares them
    (Porter stems, so "missiles" finds "missile"); Korean terms by their letters."""
    return best_quotes([quotes], terms)[0]


def best_quotes(groups: list[list[str]], terms: list[str]) -> list[tuple[int, tuple[tuple[int, int], ...]]]:
    """`best_quote` for each group of quotes (one group a pledge), in one pass over the terms: a page of
    cards costs one small index, not one per card."""
    found: list[list[list[tuple[int, int]]]] = [[[] for _ in quotes] for quotes in groups]
    counts: list[list[int]] = [[0] * len(quotes) for quotes in groups]
    where = [(g, i) for g, quotes in enumerate(groups) for i in range(len(quotes))]
    if terms and where:
        db = _quote_index()
        # The page's quotes live only in this transaction: rolling it back empties the index for free,
        # where deleting them cost FTS5 as much as adding them and left its segments to merge.
        db.execute("BEGIN")
        try:
            db.executemany(
                "INSERT INTO q (rowid, text) VALUES (?, ?)",
                [(row, groups[g][i]) for row, (g, i) in enumerate(where)],
            )
            for term in dict.fromkeys(terms):
                if any(is_hangul(c) for c in term):
                    for g, i in where:
                        spans = [(m.start(), m.end()) for m in re.finditer(re.escape(term), groups[g][i])]
                        found[g][i] += spans
                        counts[g][i] += bool(spans)
                    continue
                parts = _WORD.findall(term.lower())
                if not parts:
                    continue
                try:
                    rows = db.execute(
                        "SELECT rowid, highlight(q, 0, char(57344), char(57345)) FROM q WHERE q MATCH ?",
                        ['"' + " ".join(parts) + '"'],
                    ).fetchall()
                except sqlite3.OperationalError:
                    continue
                for row, marked in rows:
                    g, i = where[row]
                    counts[g][i] += 1
                    found[g][i] += _marked_spans(marked)
        finally:
            db.execute("ROLLBACK")
    out: list[tuple[int, tuple[tuple[int, int], ...]]] = []
    for g, quotes in enumerate(groups):
        if not quotes:
            out.append((0, ()))
            continue
        best = max(range(len(quotes)), key=lambda i: (counts[g][i], -i))
        out.append((best, tuple(sorted(set(found[g][best])))))
    return out


_QUOTE_INDEXES = threading.local()


def _quote_index() -> sqlite3.Connection:
    """This thread's in-memory index for finding the query's words in a page's quotes, made once: creating
    one per card cost more than the search itself."""
    db = getattr(_QUOTE_INDEXES, "db", None)
    if db is None:
        db = sqlite3.connect(":memory:", isolation_level=None)
        db.execute("CREATE VIRTUAL TABLE q USING fts5(text, tokenize='porter unicode61 remove_diacritics 2')")
        _QUOTE_INDEXES.db = db
    return db


def _marked_spans(marked: str) -> list[tuple[int, int]]:
    """The (start, end) offsets in the unmarked text of the spans `highlight` marked; found with `str.find`,
    as a loop over every character of a long quote cost more than the highlighting."""
    spans, markers, at = [], 0, 0
    while (start := marked.find("\ue000", at)) >= 0 and (end := marked.find("\ue001", start)) >= 0:
        # Each marker before a position shifts it by one from the unmarked text.
        spans.append((start - markers, end - markers - 1))
        markers += 2
        at = end + 1
    return spans


class Searcher:
    """Finds pledges for a query; each call is a handful of indexed lookups."""

    def __init__(
        self,
        store: Store,
        synonyms: list[list[str]] | None = None,
        names: Sequence[Sequence[str]] | None = None,
    ):
        self.store = store
        groups = load_synonyms() if synonyms is None else synonyms
        # The names of countries and institutions (bot/names.py) are groups like the synonym table's.
        self.synonyms = [*groups, *map(list, name_groups() if names is None else names)]
        self._category_cache: tuple[str, dict[str, str]] | None = None
        self._names_cache: tuple[str, set[str]] | None = None
        # Each entry as its lower-case words with its group, by its first word, longest first: a thousand
        # names compared at every word of a query cost a millisecond.
        self._entries: dict[str, list[tuple[tuple[str, ...], str, list[str]]]] = {}
        for group in self.synonyms:
            for entry in group:
                parts = tuple(_WORD.findall(entry.lower()))
                if parts:
                    self._entries.setdefault(parts[0], []).append((parts, entry, group))
        for entries in self._entries.values():
            entries.sort(key=lambda x: -len(x[0]))
        self._kept: OrderedDict[tuple[str, int, int, bool], SearchResult] = OrderedDict()
        self._kept_version = ""
        self._kept_lock = threading.Lock()

    def search(self, query: str, *, limit: int = 3, offset: int = 0, prefix: bool = False) -> SearchResult:
        """Ranked pledge ids for `query`: pledges with every part of it, else (said so) those with some;
        an unknown word is corrected only when that is safe. An answer given since the catalogue last changed
        is given again from memory."""
        # The version is read before searching: should the catalogue change in between, the answer is kept
        # under the version it may be older than, which is never asked for again.
        version = self.store.get_meta("catalogue_version") or "0"
        key = (query, limit, offset, prefix)
        with self._kept_lock:
            if version != self._kept_version:
                self._kept.clear()
                self._kept_version = version
            kept = self._kept.get(key)
            if kept is not None:
                self._kept.move_to_end(key)
        if kept is None:
            kept = self._search(query, limit, offset, prefix)
            with self._kept_lock:
                if version == self._kept_version and limit <= KEPT_LIMIT:
                    self._kept[key] = kept
                    if len(self._kept) > KEPT_ANSWERS:
                        self._kept.popitem(last=False)
        return kept.copy()

    def forget(self) -> None:
        """Drop every kept answer, so that the next search is worked out afresh (the benchmark times both)."""
        with self._kept_lock:
            self._kept.clear()

    def _search(self, query: str, limit: int, offset: int, prefix: bool) -> SearchResult:
        text = clean(query)
        result = SearchResult(truncated=len(text) > MAX_QUERY_CHARS)
        typed = _WORD.findall(text[:MAX_QUERY_CHARS])[:MAX_WORDS]
        result.words = [w.lower() for w in typed]
        result.typed = typed
        if not typed:
            return result
        typed = _korean_question(typed)
        if any(is_hangul(c) for w in result.typed for c in w):
            result.words = [w.lower() for w in typed] or result.words
            result.typed = typed or result.typed
        asked = _english_question(typed)
        if asked != typed:
            typed = result.typed = asked
            result.words = [w.lower() for w in asked]
        units = self._units(typed)
        if not units:
            result.stop_only = True
            return result
        result.terms = [e for u in units for e in u.entries if not _case_sensitive(e)]
        exact = self._exact(result.words)
        category = self._category(result.words)
        last = prefix and not units[-1].synonym
        result.expression = self._and(units, last)
        ids, total = self._match(result.expression, exact, category, limit, offset)
        result.ids, result.total = ids, total
        self._fill(result, units, limit, offset)
        if result.total:
            return result
        counts = [self._count(self._and([u], last and u is units[-1]), 1) for u in units]
        if any(u.synonym and not n and " " in u.typed for u, n in zip(units, counts, strict=True)):
            # A phrase of the synonym table no pledge has (`wartime operational control`): its own words,
            # so the reply can say which of them were found.
            units = [
                part
                for u, n in zip(units, counts, strict=True)
                for part in (
                    [_Unit(w.lower(), [w.lower()], w) for w in u.typed.split() if w.lower() not in STOP_WORDS]
                    if u.synonym and not n and " " in u.typed
                    else [u]
                )
            ]
            counts = [self._count(self._and([u], last and u is units[-1]), 1) for u in units]
        corrected = self._correct(units, counts, text)
        if corrected is not None:
            expression = self._and(corrected, False)
            exact_corrected = self._exact([u.shown for u in corrected])
            ids, total = self._match(expression, exact_corrected, category, limit, offset)
            if total:
                result.expression = expression
                result.ids, result.total = ids, total
                result.corrected = " ".join(u.shown for u in corrected)
                result.terms = [e for u in corrected for e in u.entries if not _case_sensitive(e)]
                return result
        matched = [u for u, n in zip(units, counts, strict=True) if n]
        if not matched or all(u.shown in GENERIC_WORDS for u in matched):
            return result
        expression = " OR ".join(self._and([u], last and u is units[-1]) for u in matched)
        result.expression = expression
        result.ids, result.total = self._match(expression, exact, category, limit, offset)
        result.missing = [u.shown for u in units if u not in matched]
        result.matched = [u.shown for u in matched]
        result.terms = [e for u in matched for e in u.entries if not _case_sensitive(e)]
        return result

    def matching(self, text: str, pledge_ids: Iterable[str]) -> set[str] | None:
        """Which of these pledges match every informative word of `text` (synonyms applied as in `search`,
        speakers' names through the aliases), in one query; None when `text` has no such word."""
        units = self._units(informative(text))
        if not units:
            return None
        ids = sorted(set(pledge_ids))
        if not ids:
            return set()
        marks = ",".join("?" * len(ids))
        try:
            return {
                r[0]
                for r in self.store.db.execute(
                    "SELECT i.pledge_id FROM pledge_index_fts f JOIN pledge_index i ON i.rowid = f.rowid "
                    f"WHERE pledge_index_fts MATCH ? AND i.pledge_id IN ({marks})",
                    [self._and(units, False), *ids],
                )
            }
        except sqlite3.OperationalError:
            return set()

    def _fill(self, result: SearchResult, units: list[_Unit], limit: int, offset: int) -> None:
        """Fill a page the pledges matching every word in their own text leave short. When none does, with
        those whose sources' headlines have the words (a source's headline is shared by all its pledges, so
        beside pledges that say the words themselves it would add every pledge of that source: "hotline"
        would find the 14 of one article). Then, on the first page, with those matching all but one of
        three or more words (in `near`, not counted in the total)."""
        own = result.total
        if own > CANDIDATES or offset + limit <= own:
            return
        mine = self._ids_of(result.expression) if own else set()
        sourced = [] if own else self._sourced(result.expression)
        result.total += len(sourced)
        result.ids += sourced[offset : offset + limit]
        words_ = [u for u in units if u.shown not in GENERIC_WORDS]
        if offset or len(words_) < 3 or not result.total or len(result.ids) >= limit:
            return
        seen = mine | set(sourced)
        for left_out in words_:
            expression = self._and([u for u in units if u is not left_out], False)
            ids, _ = self._match(expression, [], "", limit, 0)
            result.near += [i for i in ids if i not in seen and i not in result.near]
        result.near = result.near[: limit - len(result.ids)]
        result.ids += result.near

    def _ids_of(self, expression: str) -> set[str]:
        """Every pledge the expression matches in its own text (at most the ranked candidates and one)."""
        return {
            r[0]
            for r in self.store.db.execute(
                "SELECT i.pledge_id FROM (SELECT rowid FROM pledge_index_fts WHERE pledge_index_fts MATCH ? "
                "LIMIT ?) f JOIN pledge_index i ON i.rowid = f.rowid",
                [expression, CANDIDATES + 1],
            )
        }

    def _sourced(self, expression: str) -> list[str]:
        """The pledges whose sources' headlines match, best first, up to the ranked candidates."""
        try:
            return [
                r[0]
                for r in self.store.db.execute(
                    "SELECT pledge_id FROM source_index WHERE source_index MATCH ? ORDER BY rank LIMIT ?",
                    [expression, CANDIDATES],
                )
            ]
        except sqlite3.OperationalError:
            # A term of pledge_index's own columns (a lone Hangul syllable's filter) is no headline's.
            return []

    def _units(self, typed: list[str]) -> list[_Unit]:
        """The query as words and synonym phrases, stop words left out."""
        lower = [w.lower() for w in typed]
        units: list[_Unit] = []
        i = 0
        while i < len(typed):
            for words_, entry, group in self._entries.get(lower[i], ()):
                n = len(words_)
                if tuple(lower[i : i + n]) == words_:
                    if _by_case(entry) and "".join(typed[i : i + n]) != "".join(_WORD.findall(entry)):
                        continue
                    shown = " ".join(lower[i : i + n])
                    units.append(_Unit(shown, list(group), " ".join(typed[i : i + n]), synonym=True))
                    i += n
                    break
            else:
                if lower[i] not in STOP_WORDS:
                    units.append(_Unit(lower[i], [lower[i]], typed[i]))
                i += 1
        return units

    def _and(self, units: list[_Unit], prefix: bool) -> str:
        parts = []
        for index, unit in enumerate(units):
            if unit.synonym:
                kept = [e for e in unit.entries if not _case_sensitive(e) or e == unit.typed]
                phrases = list(dict.fromkeys(_phrase(e) for e in kept))
                parts.append("(" + " OR ".join(phrases) + ")" if len(phrases) > 1 else phrases[0])
            elif len(unit.shown) == 1 and is_hangul(unit.shown) and not (prefix and index == len(units) - 1):
                # A one-syllable word that stands as a word somewhere (군 of 군 통신선) means that word; as a
                # prefix it would also mean the thousands of words it begins (10,000 hits, ms per pass).
                whole = f'"{unit.shown}"'
                parts.append(whole if self._count(whole, 1) else _term(unit.shown))
            else:
                parts.append(_term(unit.shown, prefix and index == len(units) - 1))
        return " AND ".join(parts)

    def _count(self, expression: str, cap: int | None = None) -> int:
        """How many pledges match, counted up to `cap` (by default one beyond the ranked candidates: the
        count of a common word stops there)."""
        cap = CANDIDATES + 1 if cap is None else cap
        try:
            return self.store.db.execute(
                "SELECT COUNT(*) FROM "
                "(SELECT 1 FROM pledge_index_fts WHERE pledge_index_fts MATCH ? LIMIT ?)",
                [expression, cap],
            ).fetchone()[0]
        except sqlite3.OperationalError:
            return 0

    def _exact(self, found: list[str]) -> list[str]:
        """Pledges that have the query, word for word, as a title or alias: these rank first."""
        rows = self.store.db.execute(
            "SELECT pledge_id FROM pledge_aliases WHERE alias = ? LIMIT 50", [" ".join(found)]
        )
        return [r[0] for r in rows]

    def _category(self, found: list[str]) -> str:
        """The category the query names (English or Korean), or ""; its pledges rank next."""
        return self._categories().get(" ".join(found)) or self._categories().get("".join(found)) or ""

    def _categories(self) -> dict[str, str]:
        """Category names (lower-case English, and Korean) to the stored English name, read once per
        catalogue version: the Korean names have no index, and a scan per search would cost milliseconds."""
        version = self.store.get_meta("catalogue_version") or "0"
        cached = self._category_cache
        if cached is None or cached[0] != version:
            names: dict[str, str] = {}
            for category, category_ko in self.store.db.execute(
                "SELECT DISTINCT category, category_ko FROM pledges"
            ):
                names[category.lower()] = category
                if category_ko:
                    names[category_ko] = category
            cached = self._category_cache = (version, names)
        return cached[1]

    def _match(
        self, expression: str, exact: list[str], category: str, limit: int, offset: int
    ) -> tuple[list[str], int]:
        """A page of ranked ids and the total, which is CANDIDATES + 1 when more pledges match than are
        ranked (shown as "250+"). Ranking is bounded: bm25 scores at most CANDIDATES hits, the most recently
        indexed first (the highest rowids), plus the pledges whose title or alias is the query."""
        db = self.store.db
        try:
            # One pass gives both the total (up to CANDIDATES + 1) and the bound: one past the oldest hit
            # beyond the candidates, which are the most recent first.
            total, oldest = db.execute(
                "SELECT count(*), min(rowid) FROM (SELECT rowid FROM pledge_index_fts "
                "WHERE pledge_index_fts MATCH ? ORDER BY rowid DESC LIMIT ?)",
                [expression, CANDIDATES + 1],
            ).fetchone()
            if not total:
                return [], 0
            ranked = min(total, CANDIDATES)
            if offset >= ranked:
                return [], total
            bound = oldest + 1 if total > CANDIDATES else 0
            if not exact and not category:
                # The common case, no exact or category hit to lift: bm25 over the bounded candidates.
                rows = db.execute(
                    f"""
                    SELECT p.pledge_id FROM (
                        SELECT rowid, bm25(pledge_index_fts, {WEIGHTS}) AS score FROM pledge_index_fts
                        WHERE pledge_index_fts MATCH ? AND rowid >= ?
                        ORDER BY score, rowid LIMIT ? OFFSET ?) h
                    JOIN pledge_index p ON p.rowid = h.rowid ORDER BY h.score, p.pledge_id
                    """,
                    [expression, bound, limit, offset],
                ).fetchall()
                return [r[0] for r in rows], total
            return self._lifted(expression, exact, category, bound, limit, offset), total
        except sqlite3.OperationalError:
            # Quoting leaves no syntax for user text to break; should FTS5 still refuse a query, treat it
            # as no match rather than fail the reply.
            return [], 0

    def _lifted(
        self, expression: str, exact: list[str], category: str, bound: int, limit: int, offset: int
    ) -> list[str]:
        """A page ranked as (exact title or alias hit, the category the query names, bm25, pledge id), over
        the bounded candidates and every exact hit.

        An exact hit is a pledge with the query as a title or alias, so it matches the query; one older than
        the bounded candidates is not scored (bm25 for a row picked by rowid costs FTS5 a pass over the
        terms' whole doclists, ~0.5 ms each at 100,000 pledges) and ranks after the scored exact hits, the
        most recent first. The sorting is done here: at most CANDIDATES + 50 rows."""
        db = self.store.db
        # Each candidate with its score, id and whether it is of the category, in one pass.
        hits = {
            row: (score, pledge_id, bool(in_category))
            for row, score, pledge_id, in_category in db.execute(
                f"""
                SELECT h.rowid, h.score, i.pledge_id, p.category = ? FROM (
                    SELECT rowid, bm25(pledge_index_fts, {WEIGHTS}) AS score FROM pledge_index_fts
                    WHERE pledge_index_fts MATCH ? AND rowid >= ?) h
                JOIN pledge_index i ON i.rowid = h.rowid JOIN pledges p ON p.id = i.pledge_id
                """,
                [category, expression, bound],
            )
        }
        marks = ",".join("?" * len(exact))
        exact_rows = set()
        for row, pledge_id, pledge_category in db.execute(
            "SELECT i.rowid, i.pledge_id, p.category FROM pledge_index i "
            f"JOIN pledges p ON p.id = i.pledge_id WHERE i.pledge_id IN ({marks})",
            exact,
        ):
            exact_rows.add(row)
            hits.setdefault(row, (math.inf, pledge_id, pledge_category == category))

        def rank(row: int) -> tuple[int, float, int, str]:
            score, pledge_id, in_category = hits[row]
            # Unscored exact hits after the scored ones, the most recent first.
            return (
                -(2 * (row in exact_rows) + in_category),
                score,
                0 if score < math.inf else -row,
                pledge_id,
            )

        return [hits[r][1] for r in sorted(hits, key=rank)[offset : offset + limit]]

    def _correct(self, units: list[_Unit], counts: list[int], text: str) -> list[_Unit] | None:
        """The units with each unknown word replaced by a close known one, or None when no safe correction
        exists. Never when every word is unknown, the text is mostly punctuation, or for names: speakers'
        names and the entries of the synonym and name tables."""
        # Every word unknown (beyond a single misspelt one): a guess at each would invent a new query.
        if not any(counts) and len(units) > 1:
            return None
        letters = sum(c.isalnum() for c in text)
        if letters * 2 < len(text.replace(" ", "")):
            return None
        names = self._name_words()
        out, changed = [], False
        for unit, count in zip(units, counts, strict=True):
            word = unit.shown
            # A capitalised word is corrected too (Rusia), unless it is a known name: the tables' entries are
            # synonym units, and speakers' names are `names`.
            if count or unit.synonym or word in names:
                out.append(unit)
                continue
            fixed = self._closest(word)
            if fixed == word or not self._count(_term(fixed), 1):
                out.append(unit)
                continue
            out.append(_Unit(fixed, [fixed], fixed))
            changed = True
        return out if changed else None

    def _name_words(self) -> set[str]:
        """The words of speakers' names and aliases, read once per catalogue version (200 speakers took 3 ms
        a typo)."""
        version = self.store.get_meta("catalogue_version") or "0"
        cached = self._names_cache
        if cached is None or cached[0] != version:
            names: set[str] = set()
            for row in self.store.db.execute("SELECT name, name_ko, aliases FROM speakers"):
                names.update(words(" ".join(x or "" for x in row)))
            cached = self._names_cache = (version, names)
        return cached[1]

    def _closest(self, word: str) -> str:
        """The nearest vocabulary word keeping the first letter, within one edit for a word of up to six
        letters and two beyond; `word` itself when there is none. A Korean word: `_closest_hangul`."""
        if all(is_hangul(c) for c in word):
            return self._closest_hangul(word)
        if not (word.isascii() and word.isalpha() and len(word) >= 4):
            return word
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
        allowed = 1 if len(word) <= 6 else 2
        near = [(edit_distance(word, c), c) for c in candidates if c[:1] == word[:1]]
        near = [x for x in near if x[0] <= allowed]
        if not near:
            return word
        best = min(near)
        return best[1] if difflib.SequenceMatcher(None, word, best[1]).ratio() >= 0.5 else word

    def _closest_hangul(self, word: str) -> str:
        """The catalogue's Korean word one letter (jamo) from `word` (`hangul_variants`) that matches the
        most pledges, never a speaker's name; `word` itself when there is none. Counting letters, not
        syllables: 북헌 is one letter from 북한 but a whole syllable from it."""
        low, high = HANGUL_WORD_SYLLABLES
        if not low <= len(word) <= high:
            return word
        variants = hangul_variants(word)
        known = [
            r[0]
            for r in self.store.db.execute(
                "SELECT term FROM hangul_terms WHERE term IN (SELECT value FROM json_each(?))",
                [json.dumps(variants, ensure_ascii=False)],
            )
        ]
        names = self._name_words()
        counted = [(self._count(_term(k)), k) for k in sorted(known) if k not in names]
        counted = [(n, k) for n, k in counted if n]
        # The most pledges first, then the first in Korean order, so the same slip is corrected alike.
        return min(counted, key=lambda x: (-x[0], x[1]))[1] if counted else word
