"""Catalogue queries: the pledges, quotes, sources and milestones replies are built from.

Read-only: `bot/loading.py` writes these tables (from `data/` and the edit journal) and bumps the catalogue
version, which readers compare to know their caches are stale.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.database import Store

# How many ids a near-miss is compared against, at most, from each index.
_NEAR_CANDIDATES = 200
_ID_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class PledgeRow:
    """A pledge joined with its speaker and latest status, ready for a reply."""

    id: str
    title: str
    title_ko: str | None
    category: str
    summary: str | None
    speaker: str
    status: str
    status_date: dt.date | None
    status_note: str | None
    category_ko: str | None = None
    speaker_ko: str | None = None
    # The source of the latest status, as (headline, outlet, published_at, kind, url, headline_ko,
    # outlet_ko), when the status cites one: what a pledge without a quote shows as its source.
    status_source: tuple | None = None
    # Who wrote the Korean title ("editors", "source"), when the data says.
    title_ko_by: str | None = None
    # How many entries the pledge's status history has (what "3 updates" counts).
    updates: int = 0
    # No English title: `title` holds the Korean one (the Election Commission's registry).
    korean_only: bool = False
    # The speaker's id: an official's page is found by it.
    speaker_id: str = ""


@dataclass(frozen=True)
class QuoteRow:
    """A quote joined with its source."""

    pledge: str
    text: str
    said_on: dt.date
    language: str
    translated: bool
    headline: str
    outlet: str
    published_at: str
    kind: str
    url: str | None
    headline_ko: str | None = None
    outlet_ko: str | None = None
    # The source a translated quote translates: its headline (and Korean form) and language.
    original_headline: str | None = None
    original_headline_ko: str | None = None
    original_language: str | None = None
    # The original's outlet (Korean form too) and kind, for citations ("in a Facebook post").
    original_outlet: str | None = None
    original_outlet_ko: str | None = None
    original_kind: str | None = None
    # Reported speech (the dataset's `paraphrase`): never shown in quotation marks.
    paraphrase: bool = False


@dataclass(frozen=True)
class MilestoneRow:
    """A milestone as stored, with its pledge's title when it has one."""

    id: str
    date: dt.date
    kind: str
    title: str
    pledge: str | None
    source: str | None
    # The Korean title of a pledged milestone's pledge, when the data gives one.
    title_ko: str | None = None


@dataclass(frozen=True)
class SourceRow:
    """Where a milestone is on record: headline, outlet and link (when held), with Korean forms."""

    headline: str
    outlet: str
    url: str | None
    headline_ko: str | None = None
    outlet_ko: str | None = None


@dataclass(frozen=True)
class CalendarRow:
    """A milestone with its speaker's name, for the calendar of anniversaries and day counts."""

    id: str
    date: dt.date
    kind: str
    title: str
    pledge: str | None
    speaker_name: str | None
    speaker_name_ko: str | None = None
    pledge_title_ko: str | None = None
    # The milestone's own Korean title; a pledge's deadline's is its pledge's.
    title_ko: str | None = None
    # The pledge's title, and the status a status change rated it: what a rating is named from.
    pledge_title: str | None = None
    status: str | None = None
    # The speaker's id (a pledge's own milestones name their pledge's speaker): what following an official
    # keeps.
    speaker: str | None = None


@dataclass(frozen=True)
class StatusRow:
    """One dated rating of a pledge (the status history), with the source it cites when it cites one."""

    id: str
    pledge: str
    status: str
    date: dt.date
    note: str | None
    headline: str | None = None
    outlet: str | None = None
    url: str | None = None
    headline_ko: str | None = None
    outlet_ko: str | None = None
    # The pledge's titles, for lists of updates across pledges (the meter, the feed).
    title: str = ""
    title_ko: str | None = None
    # When the cited source was published (ISO 8601, a date-time with its offset or a date), for the feed.
    published_at: str | None = None


@dataclass(frozen=True)
class Tally:
    """How many pledges of one group (a speaker, a category; "" for all) have each latest status."""

    group: str
    group_ko: str | None
    counts: dict[str, int]

    @property
    def total(self) -> int:
        """Every pledge of the group."""
        return sum(self.counts.values())


# The latest status of each pledge (a pledge never rated is "not yet rated"), as the meter counts it.
LATEST_STATUS = (
    "COALESCE((SELECT status FROM statuses WHERE pledge = p.id "
    "ORDER BY date DESC, edit_id DESC, id DESC LIMIT 1), 'not yet rated')"
)
_STATUS_COLUMNS = (
    "st.id, st.pledge, st.status, st.date, st.note, s.headline, s.outlet, s.url, s.headline_ko, s.outlet_ko, "
    "p.title, p.title_ko, s.published_at"
)


def _status_row(r: tuple) -> StatusRow:
    return StatusRow(r[0], r[1], r[2], dt.date.fromisoformat(r[3]), *r[4:])


class Catalogue:
    """Queries over the catalogue tables of one database file."""

    def __init__(self, store: Store):
        self.store = store

    def version(self) -> str:
        """A value that changes whenever any process changes the catalogue."""
        return self.store.get_meta("catalogue_version") or "0"

    def pledges(self, ids: Iterable[str]) -> dict[str, PledgeRow]:
        """Pledges by id, with speaker and latest status."""
        ids = list(ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.store.db.execute(
            f"""
            SELECT p.id, p.title, p.title_ko, p.category, p.summary, s.name,
                   st.status, st.date, st.note, p.category_ko, s.name_ko,
                   ss.headline, ss.outlet, ss.published_at, ss.kind, ss.url, ss.headline_ko, ss.outlet_ko,
                   p.title_ko_by,
                   (SELECT COUNT(*) FROM statuses WHERE pledge = p.id), p.korean_only, p.speaker
            FROM pledges p
            JOIN speakers s ON s.id = p.speaker
            LEFT JOIN statuses st ON st.id = (
                SELECT id FROM statuses WHERE pledge = p.id
                ORDER BY date DESC, edit_id DESC, rowid DESC LIMIT 1)
            LEFT JOIN sources ss ON ss.id = st.source
            WHERE p.id IN ({marks})
            """,
            ids,
        ).fetchall()
        return {
            r[0]: PledgeRow(
                id=r[0],
                title=r[1],
                title_ko=r[2],
                category=r[3],
                summary=r[4],
                speaker=r[5],
                status=r[6] or "not yet rated",
                status_date=dt.date.fromisoformat(r[7]) if r[7] else None,
                status_note=r[8],
                category_ko=r[9],
                speaker_ko=r[10],
                status_source=tuple(r[11:18]) if r[11] is not None else None,
                title_ko_by=r[18],
                updates=r[19],
                korean_only=bool(r[20]),
                speaker_id=r[21],
            )
            for r in rows
        }

    def statuses(self, ids: Iterable[str]) -> dict[str, str]:
        """The latest status of each of these pledges that has one, by id (without the joins of `pledges`)."""
        ids = list(ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        # Oldest first, so the latest of each pledge is the one the dict keeps.
        rows = self.store.db.execute(
            f"SELECT pledge, status FROM statuses WHERE pledge IN ({marks}) ORDER BY pledge, date, id", ids
        )
        return dict(rows)

    def categories_of(self, ids: Iterable[str]) -> dict[str, str]:
        """The category of each of these pledges, by id: what topic filters compare, without the joins of
        `pledges`."""
        ids = list(ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        return dict(self.store.db.execute(f"SELECT id, category FROM pledges WHERE id IN ({marks})", ids))

    def quotes(self, pledge_ids: Iterable[str], *, lead_only: bool) -> list[QuoteRow]:
        """Quotes of the given pledges with their sources; the first of each pledge when `lead_only`."""
        ids = list(pledge_ids)
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        lead = (
            "AND q.position = (SELECT MIN(position) FROM quotes WHERE pledge = q.pledge)" if lead_only else ""
        )
        rows = self.store.db.execute(
            f"""
            SELECT q.pledge, q.text, q.said_on, q.language, q.translation_of IS NOT NULL,
                   s.headline, s.outlet, s.published_at, s.kind, s.url, s.headline_ko, s.outlet_ko,
                   o.headline, o.headline_ko, o.language, o.outlet, o.outlet_ko, o.kind,
                   COALESCE(q.paraphrase, 0) != 0
            FROM quotes q JOIN sources s ON s.id = q.source
            LEFT JOIN sources o ON o.id = q.translation_of
            WHERE q.pledge IN ({marks}) {lead}
            ORDER BY q.pledge, q.position
            """,
            ids,
        ).fetchall()
        # The last column is `paraphrase`, after the thirteen of the sources.
        return [
            dataclasses.replace(
                QuoteRow(r[0], r[1], dt.date.fromisoformat(r[2]), r[3], bool(r[4]), *r[5:-1]),
                paraphrase=bool(r[-1]),
            )
            for r in rows
        ]

    def speaker_of(self, pledge_id: str) -> tuple[str, str | None, str | None, str | None] | None:
        """The name, Korean name, role and Korean role of the speaker of a pledge."""
        return self.store.db.execute(
            "SELECT s.name, s.name_ko, s.role, s.role_ko FROM pledges p JOIN speakers s ON s.id = p.speaker "
            "WHERE p.id = ?",
            [pledge_id],
        ).fetchone()

    def pledge_dates(self, pledge_id: str) -> tuple[dt.date | None, dt.date | None]:
        """When a pledge was made: its `pledged_on`, and the date of its earliest quote (either may be None);
        nothing about it may be dated before them."""
        row = self.store.db.execute(
            "SELECT p.pledged_on, (SELECT MIN(said_on) FROM quotes WHERE pledge = p.id) FROM pledges p "
            "WHERE p.id = ?",
            [pledge_id],
        ).fetchone()
        if row is None:
            return None, None
        pledged, quoted = row
        return (
            dt.date.fromisoformat(pledged) if pledged else None,
            dt.date.fromisoformat(quoted) if quoted else None,
        )

    def source_facts(self, source_id: str) -> dict[str, str]:
        """A source's outlet, headline, publication (ISO text) and kind as the catalogue holds them."""
        row = self.store.db.execute(
            "SELECT outlet, headline, published_at, kind FROM sources WHERE id = ?", [source_id]
        ).fetchone()
        if row is None:
            return {}
        return dict(zip(("outlet", "headline", "published", "kind"), (v or "" for v in row), strict=True))

    def source_by_hash(self, sha256: str) -> str | None:
        """The id of a source whose snapshot has this SHA-256, if the catalogue holds one."""
        row = self.store.db.execute("SELECT id FROM sources WHERE sha256 = ? LIMIT 1", [sha256]).fetchone()
        return row[0] if row else None

    def pledge_sources(self, pledge_id: str) -> list[tuple[str, str]]:
        """(id, headline) of the sources a pledge's quotes cite or translate, for a quote form."""
        return self.store.db.execute(
            "SELECT DISTINCT s.id, s.headline FROM quotes q JOIN sources s "
            "ON s.id = q.source OR s.id = q.translation_of WHERE q.pledge = ? ORDER BY s.id",
            [pledge_id],
        ).fetchall()

    def source_exists(self, source_id: str) -> bool:
        """True when the catalogue holds a source with this id."""
        return self.store.db.execute("SELECT 1 FROM sources WHERE id = ?", [source_id]).fetchone() is not None

    def milestone_exists(self, milestone_id: str) -> bool:
        """True when the catalogue holds a milestone with this id."""
        row = self.store.db.execute("SELECT 1 FROM milestones WHERE id = ?", [milestone_id]).fetchone()
        return row is not None

    def speaker_names(self, speaker_id: str) -> tuple[str, str | None, list[str]] | None:
        """A speaker's name, Korean name and aliases: what a page may attribute their words with."""
        row = self.store.db.execute(
            "SELECT name, name_ko, aliases FROM speakers WHERE id = ?", [speaker_id]
        ).fetchone()
        if row is None:
            return None
        return row[0], row[1], [a for a in (row[2] or "").split(" | ") if a]

    def speaker_id_of(self, pledge_id: str) -> str | None:
        """The id of a pledge's speaker."""
        row = self.store.db.execute("SELECT speaker FROM pledges WHERE id = ?", [pledge_id]).fetchone()
        return row[0] if row else None

    def speakers(self) -> list[str]:
        """Every speaker's id."""
        return [r[0] for r in self.store.db.execute("SELECT id FROM speakers ORDER BY id")]

    def snapshots(self) -> list[tuple[str, str | None, str, str | None]]:
        """Every source with a snapshot as (id, url, text, sha256), for `pledgebot verify`."""
        return self.store.db.execute(
            "SELECT id, COALESCE(final_url, url), text, sha256 FROM sources WHERE text IS NOT NULL "
            "ORDER BY id"
        ).fetchall()

    def quotes_of_source(self, source_id: str) -> list[tuple[str, str]]:
        """(pledge, text) of every quote citing this source."""
        return self.store.db.execute(
            "SELECT pledge, text FROM quotes WHERE source = ? ORDER BY pledge, position", [source_id]
        ).fetchall()

    def find_id(self, text: str) -> str | None:
        """The pledge whose id is exactly `text`, if any."""
        row = self.store.db.execute("SELECT id FROM pledges WHERE id = ?", [text.strip().lower()]).fetchone()
        return row[0] if row else None

    def closest_ids(self, text: str, limit: int = 3) -> list[str]:
        """Pledge ids close to `text` (a near-miss id, or a word of one), closest first.

        Compared against a bounded set found through indexes, never every id: the ids that share the
        first half of `text` (the id index, in order) and the most recent pledges whose id has one of its
        words (the search index holds each id's words)."""
        key = text.strip().lower()
        if not key:
            return []
        db = self.store.db
        stem = key[: max(3, len(key) // 2)]
        candidates = [
            r[0]
            for r in db.execute(
                "SELECT id FROM pledges WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
                [stem, stem + "\U0010ffff", _NEAR_CANDIDATES],
            )
        ]
        parts = list(dict.fromkeys(_ID_WORD.findall(key)))
        if parts:
            expression = "{aliases} : (" + " OR ".join(f'"{p}"' for p in parts) + ")"
            candidates += [
                r[0]
                for r in db.execute(
                    "SELECT i.pledge_id FROM (SELECT rowid FROM pledge_index_fts WHERE pledge_index_fts "
                    "MATCH ? ORDER BY rowid DESC LIMIT ?) h JOIN pledge_index i ON i.rowid = h.rowid",
                    [expression, _NEAR_CANDIDATES],
                )
            ]
        ids = sorted(set(candidates))
        near = difflib.get_close_matches(key, ids, n=limit, cutoff=0.75)
        if len(near) < limit:
            near += [i for i in ids if key in i.split("-") and i not in near][: limit - len(near)]
        return near

    def categories(self) -> list[tuple[str, int]]:
        """Each category with its number of pledges."""
        return self.store.db.execute(
            "SELECT category, COUNT(*) FROM pledges GROUP BY category COLLATE NOCASE ORDER BY category"
        ).fetchall()

    def category(self, name: str) -> str | None:
        """The category called `name` in English or Korean (any case), as stored in English, or None."""
        for column in ("category", "category_ko"):
            row = self.store.db.execute(
                f"SELECT category FROM pledges WHERE {column} = ? COLLATE NOCASE LIMIT 1", [name.strip()]
            ).fetchone()
            if row:
                return row[0]
        return None

    def category_ko(self, category: str) -> str | None:
        """The Korean name of a category (as stored in English), when the data gives one."""
        row = self.store.db.execute(
            "SELECT category_ko FROM pledges WHERE category = ? COLLATE NOCASE AND category_ko IS NOT NULL "
            "LIMIT 1",
            [category],
        ).fetchone()
        return row[0] if row else None

    def list_pledges(
        self,
        category: str | None,
        limit: int,
        offset: int,
        *,
        status: str | None = None,
        speakers: tuple[str, ...] = (),
    ) -> tuple[list[tuple[str, str, str | None, str | None, int | None]], int]:
        """(id, title, Korean title, who wrote the Korean title, whether it has no English title) of pledges,
        optionally in one category (case-insensitive) and with one latest status (a pledge with no status is
        "not yet rated"), or of these `speakers`, and the total."""
        conditions: list[str] = []
        params: list[Any] = []
        if speakers:
            conditions.append(f"speaker IN ({','.join('?' * len(speakers))})")
            params += list(speakers)
        if category:
            conditions.append("category = ? COLLATE NOCASE")
            params.append(category)
        if status:
            conditions.append(
                "COALESCE((SELECT status FROM statuses WHERE pledge = pledges.id "
                "ORDER BY date DESC, edit_id DESC, rowid DESC LIMIT 1), 'not yet rated') = ?"
            )
            params.append(status)
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        total = self.store.db.execute(f"SELECT COUNT(*) FROM pledges {where}", params).fetchone()[0]
        rows = self.store.db.execute(
            f"SELECT id, title, title_ko, title_ko_by, korean_only FROM pledges {where} "
            "ORDER BY category COLLATE NOCASE, id LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ).fetchall()
        return rows, total

    def milestones(self) -> list[MilestoneRow]:
        """Every milestone, oldest first."""
        return [
            MilestoneRow(r[0], dt.date.fromisoformat(r[1]), r[2], r[3], r[4], r[5])
            for r in self.store.db.execute(
                "SELECT id, date, kind, title, pledge, source FROM milestones ORDER BY date, id"
            )
        ]

    def milestones_on(self, day: dt.date) -> list[CalendarRow]:
        """Milestones dated `day`, as the calendar reads them."""
        return self._calendar_rows("WHERE m.date = ? ORDER BY m.id", [day.isoformat()])

    def milestone_sources(self, ids: Iterable[str]) -> dict[str, SourceRow]:
        """The source each of these milestones cites, by milestone id (milestones citing none are absent)."""
        ids = list(ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        return {
            r[0]: SourceRow(*r[1:])
            for r in self.store.db.execute(
                "SELECT m.id, s.headline, s.outlet, s.url, s.headline_ko, s.outlet_ko FROM milestones m "
                f"JOIN sources s ON s.id = m.source WHERE m.id IN ({marks})",
                ids,
            )
        }

    def calendar_rows(self) -> list[CalendarRow]:
        """Every milestone with its speaker's name, oldest first, then every pledge's deadline as a milestone
        of kind "due": what the calendar is indexed from."""
        return self._calendar_rows("ORDER BY m.date, m.id", []) + self.due_rows()

    def _calendar_rows(self, where: str, params: list[Any]) -> list[CalendarRow]:
        """Milestones as the calendar reads them, chosen and ordered by `where`."""
        return [
            CalendarRow(r[0], dt.date.fromisoformat(r[1]), *r[2:])
            for r in self.store.db.execute(
                "SELECT m.id, m.date, m.kind, m.title, m.pledge, s.name, s.name_ko, p.title_ko, m.title_ko, "
                "p.title, m.status, COALESCE(m.speaker, p.speaker) FROM milestones m "
                "LEFT JOIN speakers s ON s.id = m.speaker "
                f"LEFT JOIN pledges p ON p.id = m.pledge {where}",
                params,
            )
        ]

    def due_rows(self, pledge_id: str | None = None) -> list[CalendarRow]:
        """Each pledge's deadline (only `pledge_id`'s when given), as a milestone of kind "due" with the id
        "due:<pledge>" (no dataset id has a colon, so it cannot clash with a milestone of the data).

        A `due` rule is resolved here, from the date of the milestone it follows: day `due_days`, counting
        the milestone's day as day 1. A rule whose milestone is gone (replaced by an import) has no date and
        is left out rather than guessed."""
        rows = []
        for r in self.store.db.execute(
            "SELECT p.id, p.title, p.due_on, p.due_days, m.date, s.name, s.name_ko, p.title_ko, p.speaker "
            "FROM pledges p JOIN speakers s ON s.id = p.speaker "
            "LEFT JOIN milestones m ON m.id = p.due_after "
            "WHERE (p.due_on IS NOT NULL OR p.due_after IS NOT NULL)"
            + (" AND p.id = ?" if pledge_id else ""),
            [pledge_id] if pledge_id else [],
        ):
            if r[2]:
                due = dt.date.fromisoformat(r[2])
            elif r[4]:
                due = dt.date.fromisoformat(r[4]) + dt.timedelta(days=r[3] - 1)
            else:
                continue
            rows.append(
                CalendarRow(f"due:{r[0]}", due, "due", r[1], r[0], r[5], r[6], r[7], r[7], r[1], speaker=r[8])
            )
        return rows

    # -- the public site: counts by status, status histories, updates across pledges ----------------

    def tallies(self, by: str | None = None) -> list[Tally]:
        """Pledges counted by latest status: overall (`by` None), per "speaker", "category", "office" (the
        speakers' offices) or "region" (their province or metropolitan city; speakers with none left out)."""
        where = ""
        if by is None:
            group, group_ko, join = "''", "NULL", ""
        elif by == "speaker":
            group, group_ko, join = "s.name", "MAX(s.name_ko)", "JOIN speakers s ON s.id = p.speaker"
        elif by == "category":
            group, group_ko, join = "p.category", "MAX(p.category_ko)", ""
        elif by in ("office", "region"):
            group = "s.office" if by == "office" else "s.sido"
            group_ko = "MAX(s.office_ko)" if by == "office" else "MAX(s.sido)"
            join, where = "JOIN speakers s ON s.id = p.speaker", f"WHERE {group} IS NOT NULL"
        else:
            raise ValueError(by)
        rows = self.store.db.execute(
            f"SELECT {group}, {group_ko}, {LATEST_STATUS} AS latest, COUNT(*) FROM pledges p {join} {where} "
            f"GROUP BY {group} COLLATE NOCASE, latest ORDER BY {group} COLLATE NOCASE"
        ).fetchall()
        tallies: dict[str, Tally] = {}
        for name, name_ko, status, n in rows:
            tally = tallies.setdefault(name.casefold(), Tally(name, name_ko, {}))
            tally.counts[status] = tally.counts.get(status, 0) + n
        return list(tallies.values())

    def history(self, pledge_id: str) -> list[StatusRow]:
        """A pledge's ratings, oldest first: its status timeline."""
        return [
            _status_row(r)
            for r in self.store.db.execute(
                f"SELECT {_STATUS_COLUMNS} FROM statuses st JOIN pledges p ON p.id = st.pledge "
                "LEFT JOIN sources s ON s.id = st.source WHERE st.pledge = ? "
                "ORDER BY st.date, st.edit_id, st.id",
                [pledge_id],
            )
        ]

    def updates(self, limit: int) -> list[StatusRow]:
        """The latest ratings across pledges, newest first (the meter's updates and the Atom feed)."""
        return [
            _status_row(r)
            for r in self.store.db.execute(
                f"SELECT {_STATUS_COLUMNS} FROM statuses st JOIN pledges p ON p.id = st.pledge "
                "LEFT JOIN sources s ON s.id = st.source "
                "ORDER BY st.date DESC, st.edit_id DESC, st.id DESC LIMIT ?",
                [limit],
            )
        ]

    def milestones_of(self, pledge_id: str) -> list[CalendarRow]:
        """The milestones of one pledge, its deadline among them, oldest first, as the calendar reads them."""
        rows = self._calendar_rows("WHERE m.pledge = ?", [pledge_id]) + self.due_rows(pledge_id)
        return sorted(rows, key=lambda r: (r.date, r.id))

    def pledge_table(self) -> list[dict[str, object]]:
        """Every pledge with its speaker, category, latest status and lead quote: the site's downloads. The
        quote comes with what cites it (when it was said, whether it is a paraphrase, its source's outlet,
        headline, publication date and address), so a row can be cited on its own."""
        rows = self.store.db.execute(
            "WITH lead AS (SELECT q.pledge, q.text, q.said_on, COALESCE(q.paraphrase, 0) != 0 AS paraphrase, "
            "src.outlet, src.headline, src.published_at, src.url, "
            "ROW_NUMBER() OVER (PARTITION BY q.pledge ORDER BY q.position) AS n "
            "FROM quotes q JOIN sources src ON src.id = q.source) "
            "SELECT p.id, p.title, p.title_ko, s.name, s.name_ko, p.category, p.category_ko, p.pledged_on, "
            f"{LATEST_STATUS}, "
            "(SELECT date FROM statuses WHERE pledge = p.id "
            "ORDER BY date DESC, edit_id DESC, id DESC LIMIT 1), "
            "l.text, l.said_on, l.paraphrase, l.outlet, l.headline, l.published_at, l.url, p.summary, "
            # The speaker as an official: office, region, party and the latest term.
            "s.id, s.office, s.office_ko, s.sido, s.sgg, s.wiw, s.party, s.party_ko, "
            "json_extract(s.terms, '$[#-1].start'), json_extract(s.terms, '$[#-1].end') "
            "FROM pledges p JOIN speakers s ON s.id = p.speaker "
            "LEFT JOIN lead l ON l.pledge = p.id AND l.n = 1 "
            "ORDER BY p.category COLLATE NOCASE, p.id"
        ).fetchall()
        fields = [
            "id",
            "title",
            "title_ko",
            "speaker",
            "speaker_ko",
            "category",
            "category_ko",
            "pledged_on",
            "status",
            "status_date",
            "lead_quote",
            "lead_quote_said_on",
            "lead_quote_paraphrase",
            "lead_quote_outlet",
            "lead_quote_headline",
            "lead_quote_published_at",
            "lead_quote_url",
            "summary",
            "speaker_id",
            "office",
            "office_ko",
            "sido",
            "sgg",
            "wiw",
            "party",
            "party_ko",
            "term_start",
            "term_end",
        ]
        table = [dict(zip(fields, r, strict=True)) for r in rows]
        for row in table:
            # A yes or no, not SQLite's 1 or 0; none when the pledge has no quote.
            row["lead_quote_paraphrase"] = (
                bool(row["lead_quote_paraphrase"]) if row["lead_quote"] is not None else None
            )
        return table
