"""Officials as the catalogue holds them: speakers with an office, a region, a party and terms of office;
how many of their pledges are kept; which of them a reader's words name (an office, a place, a name).

Read-only, like `bot/catalogue.py`: `bot/loading.py` writes the speakers table. The list is small (a few
hundred officials at most) and read once per catalogue version.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from bot.catalogue import LATEST_STATUS, Catalogue
from bot.database import Store
from bot.i18n import Messages, localized
from bot.officials import regions

# Words that name an office, in English (a word of the office's English name) or Korean (the end of its
# Korean name: 서울특별시장 ends in 시장, 부산광역시교육감 in 교육감).
OFFICE_WORDS_EN = frozenset({"president", "mayor", "governor", "superintendent", "head"})
OFFICE_WORDS_KO = ("대통령", "시장", "도지사", "지사", "교육감", "구청장", "군수", "청장")
# Words between the ones that name an official ("mayor of busan"): dropped with them.
_FILLER = frozenset({"of", "the", "in", "for", "s"})
_TOKEN = re.compile(r"[\w-]+")
# One field of an official's pledges: its category, Korean name, and (id, title, Korean title, Korean only).
Field = tuple[str, str | None, list[tuple[str, str, str | None, bool]]]


@dataclass(frozen=True)
class Term:
    """A term of office: its first day, its last (when known) and the election that gave it."""

    start: dt.date
    end: dt.date | None = None
    election: str | None = None

    @property
    def midpoint(self) -> dt.date | None:
        """The day halfway through the term (None without an end)."""
        if self.end is None:
            return None
        return self.start + dt.timedelta(days=(self.end - self.start).days // 2)


@dataclass(frozen=True)
class Official:
    """A speaker with their office, region, party and terms (any of them may be missing)."""

    id: str
    name: str
    name_ko: str | None = None
    office: str | None = None
    office_ko: str | None = None
    sido: str | None = None
    sgg: str | None = None
    wiw: str | None = None
    party: str | None = None
    party_ko: str | None = None
    terms: tuple[Term, ...] = ()

    def term_on(self, day: dt.date) -> Term | None:
        """The term `day` falls in, else the latest begun before it, else the first to come."""
        begun = [t for t in self.terms if t.start <= day]
        current = [t for t in begun if t.end is None or day <= t.end]
        if current:
            return current[-1]
        return begun[-1] if begun else (self.terms[0] if self.terms else None)

    def office_name(self, m: Messages) -> str:
        """The office for `m`'s readers (서울특별시장 for Korean)."""
        return localized(m, self.office, self.office_ko)

    def region(self) -> str:
        """The place the office governs as the Commission names it ("서울특별시 종로구"), or ""."""
        parts = [self.sido or ""]
        for part in (self.sgg, self.wiw):
            if part and part not in parts and part != self.sido:
                parts.append(part)
        return " ".join(p for p in parts if p)

    @property
    def education(self) -> bool:
        """A superintendent of education: listed after the head of the same place."""
        return (self.office_ko or "").endswith("교육감") or "superintendent" in (self.office or "").casefold()

    @property
    def level(self) -> int:
        """How wide the office is: 0 national, 1 a province or metropolitan city, 2 a city, county or
        district; a search scoped to a place ranks the wider office's pledges first."""
        if not self.sido:
            return 0
        local = [p for p in (self.sgg, self.wiw) if p and p != self.sido]
        return 2 if local else 1


@dataclass(frozen=True)
class Scope:
    """The officials a query names, most relevant first, and the query without the words that named them."""

    speakers: tuple[str, ...]
    rest: str
    named: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Directory:
    """The officials of one catalogue version, indexed for the words that name them: a query is then a
    handful of dictionary lookups, not a scan of every official."""

    by_id: dict[str, Official]
    holders: tuple[Official, ...]
    order: dict[str, int]
    # Each word that names officials (a place, an office word, a whole office, a one-word name, an id).
    words: dict[str, frozenset[str]]
    # Names to find inside a query: (name casefolded, official, the name's words).
    names: tuple[tuple[str, str, frozenset[str]], ...]


def _directory(by_id: dict[str, Official]) -> _Directory:
    holders = tuple(
        sorted(
            (o for o in by_id.values() if o.office or o.terms),
            key=lambda o: (o.level, o.sido or "", o.education, o.office_ko or o.office or "", o.id),
        )
    )
    words: dict[str, set[str]] = {}

    def add(word: str | None, official: str) -> None:
        if word:
            words.setdefault(word.casefold(), set()).add(official)

    names = []
    for o in holders:
        sido = regions.sido(o.sido or "")
        for word in (sido.name, sido.short, sido.english) if sido else (o.sido,):
            add(word, o.id)
        for part in (o.sgg, o.wiw):
            if part and part != o.sido:
                add(part, o.id)
                if len(part) > 2 and part[-1] in "시군구":
                    add(part[:-1], o.id)  # 종로 for 종로구
        for word in (o.office or "").casefold().split():
            if word in OFFICE_WORDS_EN:
                add(word, o.id)
        for word in OFFICE_WORDS_KO:
            if (o.office_ko or "").endswith(word):
                add(word, o.id)
        for word in (o.office, o.office_ko, o.name_ko, o.id):
            add(word, o.id)
        for name in (o.name, o.name_ko):
            if name and len(name) >= 2:
                names.append((name.casefold(), o.id, frozenset(t.casefold() for t in _TOKEN.findall(name))))
    return _Directory(
        by_id,
        holders,
        {o.id: n for n, o in enumerate(holders)},
        {word: frozenset(ids) for word, ids in words.items()},
        tuple(names),
    )


class Officials:
    """The catalogue's speakers as officials, cached per catalogue version."""

    def __init__(self, store: Store, catalogue: Catalogue):
        self.store = store
        self.catalogue = catalogue
        self._cache: tuple[str, _Directory] | None = None
        self._lock = threading.Lock()

    def all(self) -> list[Official]:
        """Every speaker, by id."""
        return list(self._current().by_id.values())

    def get(self, speaker_id: str) -> Official | None:
        """One speaker by id (any case), or None."""
        return self._current().by_id.get(speaker_id.strip().lower())

    def holders(self) -> list[Official]:
        """The speakers who hold (or held) an office: those with an office or a term, widest office first
        (a head before the superintendent of the same place), then by region and name."""
        return list(self._current().holders)

    def _current(self) -> _Directory:
        version = self.catalogue.version()
        with self._lock:
            if self._cache is not None and self._cache[0] == version:
                return self._cache[1]
        rows = self.store.db.execute(
            "SELECT id, name, name_ko, office, office_ko, sido, sgg, wiw, party, party_ko, terms "
            "FROM speakers ORDER BY id"
        ).fetchall()
        names = ("id", "name", "name_ko", "office", "office_ko", "sido", "sgg", "wiw", "party", "party_ko")
        found = _directory(
            {r[0]: Official(**dict(zip(names, r, strict=False)), terms=_terms(r[10])) for r in rows}
        )
        with self._lock:
            self._cache = (version, found)
        return found

    def kept(self) -> dict[str, tuple[int, int]]:
        """(kept, total) pledges of each speaker who has any, by speaker id."""
        rows = self.store.db.execute(
            f"SELECT p.speaker, SUM(CASE WHEN {LATEST_STATUS} = 'kept' THEN 1 ELSE 0 END), COUNT(*) "
            "FROM pledges p GROUP BY p.speaker"
        )
        return {speaker: (int(kept), int(total)) for speaker, kept, total in rows}

    def tally(self, speaker: str) -> dict[str, int]:
        """How many of one speaker's pledges have each latest status (their meter)."""
        rows = self.store.db.execute(
            f"SELECT {LATEST_STATUS} AS latest, COUNT(*) FROM pledges p WHERE p.speaker = ? GROUP BY latest",
            [speaker],
        )
        return {status: int(n) for status, n in rows}

    def fields_of(self, speaker: str) -> list[Field]:
        """One speaker's pledges by field: (category, Korean name, [(id, title, Korean title, Korean
        only)])."""
        fields: dict[str, Field] = {}
        for pledge, title, title_ko, korean_only, category, category_ko in self.store.db.execute(
            "SELECT id, title, title_ko, korean_only, category, category_ko FROM pledges WHERE speaker = ? "
            "ORDER BY category COLLATE NOCASE, id",
            [speaker],
        ):
            entry = fields.setdefault(category.casefold(), (category, category_ko, []))
            entry[2].append((pledge, title, title_ko, bool(korean_only)))
        return list(fields.values())

    def pledges_of(self, speakers: Iterable[str]) -> list[str]:
        """The ids of these speakers' pledges, in the speakers' order, each speaker's by category and id."""
        order = {speaker: n for n, speaker in enumerate(dict.fromkeys(speakers))}
        if not order:
            return []
        marks = ",".join("?" * len(order))
        rows = self.store.db.execute(
            f"SELECT speaker, id FROM pledges WHERE speaker IN ({marks}) "
            "ORDER BY category COLLATE NOCASE, id",
            list(order),
        ).fetchall()
        return [pledge for _, pledge in sorted(rows, key=lambda r: order[r[0]])]

    def speakers_of(self, pledge_ids: Iterable[str]) -> dict[str, str]:
        """The speaker of each of these pledges, by pledge id."""
        ids = list(pledge_ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        return dict(self.store.db.execute(f"SELECT id, speaker FROM pledges WHERE id IN ({marks})", ids))

    def in_region(self, text: str) -> list[Official]:
        """The officials of the place `text` names: a province or metropolitan city in Korean or English
        (서울, 서울특별시, Seoul), or a city, county or district (종로구, 종로), widest office first."""
        key = " ".join(text.split()).casefold()
        if not key:
            return []
        sido = regions.sido(key)
        found = [
            o
            for o in self.holders()
            if (sido is not None and regions.sido(o.sido or "") == sido) or _local(o, key)
        ]
        return found

    def named(self, text: str) -> tuple[str, ...]:
        """The officials `text` wholly names (an id, a name, a place, an office and place), or ()."""
        key = text.strip()
        if not key:
            return ()
        one = self.get(key)
        if one is not None:
            return (one.id,)
        scope = self.scope(key)
        if scope.speakers and not scope.rest:
            return scope.speakers
        return ()

    def scope(self, query: str) -> Scope:
        """The officials the words of `query` name, and the rest of it: each recognised word (a place, an
        office word, a name) narrows the officials the others named, so "mayor of busan" is the Mayor of
        Busan and "서울 교육감" Seoul's superintendent. No official named: the query as it is."""
        tokens = _TOKEN.findall(query)
        directory = self._current()
        if not tokens or not directory.holders:
            return Scope((), query)
        lowered = query.casefold()
        chosen: set[str] | None = None
        used: set[int] = set()
        # Whole names first ("Oh Se-hoon" is three tokens), then one token at a time.
        for name, official, parts in directory.names:
            if name in lowered and re.search(rf"(?<!\w){re.escape(name)}(?!\w)", lowered):
                used |= {i for i, t in enumerate(tokens) if t.casefold() in parts}
                chosen = (chosen or set()) | {official}
        for index, token in enumerate(tokens):
            if index in used:
                continue
            matches = directory.words.get(token.casefold())
            if not matches:
                continue
            chosen = set(matches) if chosen is None else (chosen & matches or chosen)
            used.add(index)
        if not chosen:
            return Scope((), query)
        rest = [t for i, t in enumerate(tokens) if i not in used]
        if all(t.casefold() in _FILLER for t in rest):
            rest = []
        order = directory.order
        speakers = tuple(sorted(chosen, key=lambda s: order.get(s, len(order))))
        return Scope(speakers, " ".join(rest), tuple(tokens[i] for i in sorted(used)))


def _local(official: Official, key: str) -> bool:
    """Whether `key` names the official's city, county or district (종로구, or 종로 without its suffix)."""
    for part in (official.sgg, official.wiw):
        if not part or part == official.sido:
            continue
        name = part.casefold()
        if key == name or (len(name) > 2 and name[-1] in "시군구" and key == name[:-1]):
            return True
    return False


def _terms(text: str | None) -> tuple[Term, ...]:
    """Terms as the speakers table holds them (JSON, see `bot.loading.terms_json`)."""
    if not text:
        return ()
    return tuple(
        Term(
            dt.date.fromisoformat(t["start"]),
            dt.date.fromisoformat(t["end"]) if t.get("end") else None,
            t.get("election"),
        )
        for t in json.loads(text)
    )
