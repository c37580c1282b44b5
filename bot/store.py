"""Storage: the SQLite database (through sqlite-utils), its schema migrations, and the pledge catalogue.

One file holds two kinds of data. The catalogue (speakers, sources, pledges, quotes, statuses, milestones and
the search index) is rebuilt from `data/` whenever those files change, so it may live on an ephemeral disk.
The state (subscriptions, the delivery ledger; see `bot/state.py`) is written by users and needs a disk
that survives restarts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import sqlite3
import threading
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

try:
    import fcntl
except ImportError:  # not on POSIX: start processes one at a time there
    fcntl = None  # type: ignore[assignment]

from bot import dataset as ds
from bot.dataset import Dataset

log = logging.getLogger(__name__)

migrations = Migrations("pledgebot")
DATA_ORIGIN = "data:"
IMPORT_ORIGIN = "import:"


@migrations()
def m001_catalogue(db: Database) -> None:
    """Catalogue tables, loaded from dataset files."""
    db.executescript(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE speakers (id TEXT PRIMARY KEY, name TEXT NOT NULL, name_ko TEXT, role TEXT,
            origin TEXT NOT NULL);
        CREATE TABLE sources (id TEXT PRIMARY KEY, kind TEXT NOT NULL, outlet TEXT NOT NULL,
            headline TEXT NOT NULL, published_at TEXT NOT NULL, url TEXT, language TEXT, text TEXT,
            text_file TEXT, note TEXT, origin TEXT NOT NULL);
        CREATE TABLE pledges (id TEXT PRIMARY KEY, speaker TEXT NOT NULL, title TEXT NOT NULL, title_ko TEXT,
            category TEXT NOT NULL, category_ko TEXT, summary TEXT, aliases TEXT, aliases_ko TEXT,
            pledged_on TEXT, origin TEXT NOT NULL);
        CREATE INDEX pledges_category ON pledges (category COLLATE NOCASE, id);
        CREATE TABLE quotes (id TEXT PRIMARY KEY, pledge TEXT NOT NULL, position INTEGER NOT NULL,
            text TEXT NOT NULL, source TEXT NOT NULL, said_on TEXT NOT NULL, language TEXT NOT NULL,
            translation_of TEXT, origin TEXT NOT NULL);
        CREATE INDEX quotes_pledge ON quotes (pledge, position);
        CREATE INDEX quotes_said_on ON quotes (said_on);
        CREATE TABLE statuses (id TEXT PRIMARY KEY, pledge TEXT NOT NULL, status TEXT NOT NULL,
            date TEXT NOT NULL, source TEXT, note TEXT, origin TEXT NOT NULL);
        CREATE INDEX statuses_pledge ON statuses (pledge, date);
        CREATE TABLE milestones (id TEXT PRIMARY KEY, date TEXT NOT NULL, kind TEXT NOT NULL,
            title TEXT NOT NULL, pledge TEXT, speaker TEXT, source TEXT, origin TEXT NOT NULL);
        CREATE INDEX milestones_date ON milestones (date);
        CREATE TABLE pledge_index (pledge_id TEXT PRIMARY KEY, title TEXT, aliases TEXT, summary TEXT,
            quotes TEXT, grams TEXT);
        CREATE TABLE search_terms (term TEXT PRIMARY KEY);
        CREATE TABLE pledge_aliases (alias TEXT NOT NULL, pledge_id TEXT NOT NULL,
            PRIMARY KEY (alias, pledge_id)) WITHOUT ROWID;
        CREATE INDEX pledge_aliases_pledge ON pledge_aliases (pledge_id);
        """
    )
    # Porter stemming finds plurals and inflections; Hangul is indexed as bigrams in `grams` (see
    # `hangul_grams`) so that two-letter Korean words are found through the index, not a scan.
    db["pledge_index"].enable_fts(
        ["title", "aliases", "summary", "quotes", "grams"],
        tokenize="porter unicode61 remove_diacritics 2",
        create_triggers=True,
        replace=True,
    )
    # The vocabulary, indexed by trigrams, is where misspelt words find their nearest real word.
    db["search_terms"].enable_fts(["term"], tokenize="trigram", create_triggers=True, replace=True)


@migrations()
def m002_state(db: Database) -> None:
    """User state: channel subscriptions and the delivery ledger."""
    db.executescript(
        """
        CREATE TABLE subscriptions (id INTEGER PRIMARY KEY, platform TEXT NOT NULL, workspace TEXT NOT NULL,
            channel TEXT NOT NULL, local_time TEXT NOT NULL, timezone TEXT NOT NULL,
            lead_days INTEGER NOT NULL DEFAULT 0, created_by TEXT NOT NULL, created_at TEXT NOT NULL,
            UNIQUE (platform, workspace, channel));
        """
    )


@migrations()
def m003_deliveries(db: Database) -> None:
    """The delivery ledger: one row per (subscription, local date), claimed before sending."""
    db.executescript(
        """
        CREATE TABLE deliveries (subscription_id INTEGER NOT NULL, local_date TEXT NOT NULL,
            state TEXT NOT NULL, token TEXT NOT NULL, claimed_at TEXT NOT NULL, finished_at TEXT,
            message_ref TEXT, attempts INTEGER NOT NULL DEFAULT 1,
            PRIMARY KEY (subscription_id, local_date));
        """
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


_HANGUL_RUN = re.compile("[\uac00-\ud7a3]+")


def is_hangul(char: str) -> bool:
    """True for a precomposed Hangul syllable."""
    return "\uac00" <= char <= "\ud7a3"


@contextmanager
def _init_lock(path: str) -> Iterator[None]:
    """Hold a lock file beside the database while setting it up, so processes started at once (a deploy's
    web and worker) take turns: SQLite's busy timeout does not cover switching to WAL or a migration's
    check-then-create, which otherwise fail with "database is locked" or "table ... already exists"."""
    if path == ":memory:" or fcntl is None:
        yield
        return
    with open(path + ".init-lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Store:
    """The database file, with one sqlite-utils connection per thread and the schema migrated."""

    def __init__(self, path: Path | str):
        self.path = str(path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[Database] = []
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        db = self.db
        with _init_lock(self.path):
            # WAL lets readers (the adapters) proceed while the scheduler writes; it must be set outside a
            # transaction, so before any migration runs.
            if self.path != ":memory:":
                db.enable_wal()
            migrations.apply(db)

    @property
    def db(self) -> Database:
        """This thread's connection; sqlite3 connections must not cross threads."""
        db = getattr(self._local, "db", None)
        if db is None:
            conn = sqlite3.connect(self.path, timeout=10.0, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 10000")
            db = Database(conn)
            self._local.db = db
            with self._lock:
                self._connections.append(db)
        return db

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """A write transaction that takes the write lock at once, so concurrent writers queue, not fail."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def catalogue_version(self) -> str:
        """A value that changes whenever any process changes the catalogue."""
        return self.get_meta("catalogue_version") or "0"

    def get_meta(self, key: str) -> str | None:
        """A value from the meta table."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        """Close every connection this store opened."""
        with self._lock:
            for db in self._connections:
                db.close()
            self._connections.clear()
        self._local = threading.local()


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


@dataclass(frozen=True)
class MilestoneRow:
    """A milestone as stored, with its pledge's title when it has one."""

    id: str
    date: dt.date
    kind: str
    title: str
    pledge: str | None
    source: str | None


def _iso(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


class _RowBuilder:
    """Database rows for dataset records, one record at a time: the one place rows are derived.

    Besides each record's own row it derives quote and status ids, quote positions, a pledge's `pledged`
    milestone and a source's text. Two values may need records that come later (a quote's default language,
    from its source; a pledged milestone's source, from the pledge's first quote), so the callers fill them
    in once every record is read.
    """

    def __init__(self, source_text: Callable[[str], str | None]):
        self.source_text = source_text
        self.positions: dict[str, int] = defaultdict(int)
        self.source_language: dict[str, str | None] = {}

    def rows(self, record: ds.Record, origin: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """(table, row) pairs for one record, derived rows first."""
        table = record.table
        row = {k: _iso(v) for k, v in record.values.items()}
        row["origin"] = origin
        if table == "pledges":
            row["aliases"] = " | ".join(row.get("aliases", []))
            row["aliases_ko"] = " | ".join(row.get("aliases_ko", []))
            if row.get("pledged_on"):
                yield (
                    "milestones",
                    {
                        "id": f"pledged-{row['id']}",
                        "date": row["pledged_on"],
                        "kind": "pledged",
                        "title": row["title"],
                        "pledge": row["id"],
                        "speaker": row["speaker"],
                        "source": None,
                        "origin": origin,
                    },
                )
        elif table in ("quotes", "statuses"):
            # Content-addressed ids: re-importing a file updates its rows instead of adding copies, and an
            # import that adds quotes to a pledge from data/ cannot overwrite the ones already there.
            row["id"] = f"{row['pledge']}#{_digest(row)}"
            if table == "quotes":
                row["position"] = self.positions[row["pledge"]]
                self.positions[row["pledge"]] += 1
                if "language" not in row and row["source"] in self.source_language:
                    row["language"] = self.source_language[row["source"]] or "en"
        elif table == "sources":
            self.source_language[row["id"]] = row.get("language")
            row["text"] = self.source_text(row["id"])
        yield table, row


def _rows_for_tables(data: Dataset, origin: Callable[[ds.Record], str]) -> dict[str, list[dict[str, Any]]]:
    """Dataset records as database rows, with derived rows: quote and status ids, pledged milestones."""
    tables: dict[str, list[dict[str, Any]]] = defaultdict(list)
    builder = _RowBuilder(data.source_texts.get)
    for source in data.rows("sources"):
        builder.source_language[source["id"]] = source.get("language")
    for record in data.records:
        for table, row in builder.rows(record, origin(record)):
            tables[table].append(row)
    for quote in tables["quotes"]:
        quote.setdefault("language", "en")
    # A pledged milestone cites the pledge's first quote's source.
    first_source = {}
    for quote in tables["quotes"]:
        first_source.setdefault(quote["pledge"], quote["source"])
    for milestone in tables["milestones"]:
        if milestone["kind"] == "pledged" and not milestone.get("source"):
            milestone["source"] = first_source.get(milestone["pledge"])
    return tables


_LOAD_CACHE_KB = 16000
_INSERT_DOC = (
    "INSERT INTO pledge_index (pledge_id, title, aliases, summary, quotes, grams) VALUES (?, ?, ?, ?, ?, ?)"
)


class _BulkWriter:
    """Rows for empty catalogue tables, as `_rows_for_tables` makes them, written in batches as records come.

    Two derived values need records that may come later, and are filled in by SQL at the end, which on
    tables holding only this load (in record order, by rowid) gives what `_rows_for_tables` gives: a quote's
    language when its source had not been read yet, and a pledged milestone's source (its pledge's first
    quote's).
    """

    BATCH = 2000

    def __init__(self, db: Database, stream: ds.Stream):
        self.db = db
        self.stream = stream
        self.columns = {t: list(db[t].columns_dict) for t in ds.TABLES}
        self.sql = {
            t: f"INSERT INTO {t} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
            for t, cols in self.columns.items()
        }
        self.batches: dict[str, list[tuple[Any, ...]]] = {t: [] for t in ds.TABLES}
        self.builder = _RowBuilder(stream.text)

    def add(self, record: ds.Record, origin: str) -> None:
        """Queue one record's rows, writing a batch when it is full."""
        for table, row in self.builder.rows(record, origin):
            self._append(table, row)

    def _append(self, table: str, row: dict[str, Any]) -> None:
        batch = self.batches[table]
        batch.append(tuple(row.get(c) for c in self.columns[table]))
        # Sources carry their full texts: write them often.
        if len(batch) >= (50 if table == "sources" else self.BATCH):
            self._flush(table)

    def _flush(self, table: str) -> None:
        self.db.conn.executemany(self.sql[table], self.batches[table])
        self.batches[table].clear()

    def finish(self) -> None:
        for table in ds.TABLES:
            self._flush(table)
        self.db.execute(
            "UPDATE quotes SET language = COALESCE(NULLIF((SELECT s.language FROM sources s "
            "WHERE s.id = quotes.source), ''), 'en') WHERE language IS NULL"
        )
        self.db.execute(
            "UPDATE milestones SET source = (SELECT q.source FROM quotes q "
            "WHERE q.pledge = milestones.pledge ORDER BY q.rowid LIMIT 1) "
            "WHERE kind = 'pledged' AND (source IS NULL OR source = '')"
        )


class Catalogue:
    """The read-mostly pledge catalogue: loading datasets and the queries replies are built from."""

    def __init__(self, store: Store):
        self.store = store

    # -- loading -----------------------------------------------------------------------------------

    def sync_data_dir(self, folder: Path) -> bool:
        """Reload `folder` if its files changed since the last load; True when it reloaded."""
        paths = ds.data_files(folder)
        digest = ds.fingerprint(paths)
        if self.store.get_meta("data_fingerprint") == digest:
            return False
        try:
            count = self._load_fresh(paths)
        except (ds.Unchecked, sqlite3.IntegrityError):
            count = None  # rolled back: the exact path below names the problems, or loads what it can
        if count is None:
            data = ds.load(paths)
            self.replace(data, lambda r: DATA_ORIGIN + r.file, DATA_ORIGIN)
            count = len(data.records)
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('data_fingerprint', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [digest],
            )
        log.info("loaded %d records from %s", count, folder)
        return True

    def _load_fresh(self, paths: list[Path]) -> int | None:
        """Load the data folder in one pass when the catalogue holds nothing else; the record count, or None.

        The common case, and the large one: a deploy (re)building the catalogue from `data/`. `ds.Stream`
        reads and checks one record at a time and the rows go straight to the database, so memory stays flat
        however large the folder; any problem raises `ds.Unchecked` inside the transaction, which rolls back,
        and the caller runs the exact path (`ds.load` and `replace`) that names every problem.

        Plain prepared INSERTs rather than sqlite-utils' upsert_all: the tables are empty, so an upsert would
        only ever insert, and building its multi-row statements cost more than SQLite's writing. A conflict
        (two quotes with the same content id) raises IntegrityError and takes the exact path too. The
        full-text index is rebuilt once at the end instead of row by row through its triggers.
        """
        stream = ds.Stream(paths)
        db = self.store.db
        cache = db.execute("PRAGMA cache_size").fetchone()[0]
        try:
            # Index inserts land on pages all over the file; the default 2 MB cache spilled them to the WAL
            # and read them back. Bounded so the load stays well within its memory target.
            db.execute(f"PRAGMA cache_size = -{_LOAD_CACHE_KB}")
            return self._load_fresh_in(stream)
        finally:
            db.execute(f"PRAGMA cache_size = {cache}")

    def _load_fresh_in(self, stream: ds.Stream) -> int | None:
        with self.store.transaction() as db:
            for table in ds.TABLES:
                if db.execute(
                    f"SELECT 1 FROM {table} WHERE origin NOT LIKE ? || '%' LIMIT 1", [DATA_ORIGIN]
                ).fetchone():
                    return None  # rows from `pledgebot import` stay: upserts over them take the exact path
            for table in ds.TABLES:
                db.execute(f"DELETE FROM {table}")
            triggers = [
                r[0]
                for r in db.execute(
                    "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'pledge_index'"
                )
            ]
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'pledge_index'"
            ).fetchall():
                db.execute(f'DROP TRIGGER "{name}"')
            db.execute("DELETE FROM pledge_index")
            db.execute("DELETE FROM pledge_aliases")
            writer = _BulkWriter(db, stream)
            for record in stream:
                writer.add(record, DATA_ORIGIN + record.file)
            stream.finish()
            writer.finish()
            self._index(db, [r[0] for r in db.execute("SELECT id FROM pledges")], bulk=True)
            db.execute("INSERT INTO pledge_index_fts (pledge_index_fts) VALUES ('rebuild')")
            for sql in triggers:
                db.execute(sql)
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('catalogue_version', '1') ON CONFLICT (key) "
                "DO UPDATE SET value = CAST(value AS INTEGER) + 1"
            )
        return stream.count

    def import_files(self, paths: list[Path], progress: Callable[[int, int], None] | None = None) -> int:
        """Validate files against what is loaded, then add them in one transaction; returns records added."""
        data = ds.load(paths, known_ids=self.known_ids(), known_texts=self.source_texts())
        self.replace(data, lambda r: IMPORT_ORIGIN + r.file, None, progress)
        return len(data.records)

    def known_ids(self) -> dict[str, set[str]]:
        """Ids already in the database, per table, so imports may refer to them."""
        db = self.store.db
        return {
            t: {r[0] for r in db.execute(f"SELECT id FROM {t}")} for t in ("speakers", "sources", "pledges")
        }

    def source_texts(self) -> dict[str, str]:
        """The full texts held for sources, by source id."""
        return dict(self.store.db.execute("SELECT id, text FROM sources WHERE text IS NOT NULL").fetchall())

    def replace(
        self,
        data: Dataset,
        origin: Callable[[ds.Record], str],
        drop_origin: str | None,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        """Write a dataset in one transaction: all of it or, on any error, none of it."""
        tables = _rows_for_tables(data, origin)
        touched = {row["id"] for row in tables["pledges"]} | {row["pledge"] for row in tables["quotes"]}
        total = sum(len(rows) for rows in tables.values())
        done = 0
        with self.store.transaction() as db:
            if drop_origin is not None:
                for table in ds.TABLES:
                    db.execute(f"DELETE FROM {table} WHERE origin LIKE ? || '%'", [drop_origin])
            for table in ds.TABLES:
                rows = tables.get(table, [])
                for start in range(0, len(rows), 1000):
                    chunk = rows[start : start + 1000]
                    db[table].upsert_all(chunk, pk="id", alter=False)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
            db.execute("DELETE FROM pledge_index WHERE pledge_id NOT IN (SELECT id FROM pledges)")
            db.execute("DELETE FROM pledge_aliases WHERE pledge_id NOT IN (SELECT id FROM pledges)")
            ids = (
                list(touched) if drop_origin is None else [r[0] for r in db.execute("SELECT id FROM pledges")]
            )
            self._index(db, ids)
            # Other processes sharing the file compare this to know their caches are stale.
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('catalogue_version', '1') ON CONFLICT (key) "
                "DO UPDATE SET value = CAST(value AS INTEGER) + 1"
            )

    def _index(self, db: Database, pledge_ids: list[str], *, bulk: bool = False) -> None:
        """Search documents, aliases and vocabulary of these pledges; `bulk` when pledge_index and
        pledge_aliases are empty and have no triggers (`_load_fresh`), so plain INSERTs do."""
        for start in range(0, len(pledge_ids), 500):
            chunk = pledge_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            quotes: dict[str, list[str]] = defaultdict(list)
            for pledge, text in db.execute(
                f"SELECT pledge, text FROM quotes WHERE pledge IN ({marks}) ORDER BY pledge, position", chunk
            ):
                quotes[pledge].append(text)
            docs, texts, alias_rows = [], [], []
            for row in db.execute(
                "SELECT p.id, p.title, p.title_ko, p.summary, p.aliases, p.aliases_ko, p.category, "
                "p.category_ko, s.name_ko FROM pledges p LEFT JOIN speakers s ON s.id = p.speaker "
                f"WHERE p.id IN ({marks})",
                chunk,
            ):
                pid, title, title_ko, summary, aliases, aliases_ko, category, category_ko, name_ko = row
                korean = " ".join(x for x in (title_ko, aliases_ko, category_ko, name_ko) if x)
                doc = {
                    "pledge_id": pid,
                    "title": title,
                    "aliases": " ".join(x for x in (aliases, korean, category, pid.replace("-", " ")) if x),
                    "summary": summary or "",
                    "quotes": "\n".join(quotes[pid]),
                    "grams": hangul_grams(korean + " " + " ".join(quotes[pid])),
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
                db["pledge_index"].upsert_all(docs, pk="pledge_id")
                db.execute(f"DELETE FROM pledge_aliases WHERE pledge_id IN ({marks})", chunk)
            db.conn.executemany(
                "INSERT OR IGNORE INTO pledge_aliases (alias, pledge_id) VALUES (?, ?)", alias_rows
            )
            db.execute(
                "INSERT OR IGNORE INTO search_terms (term) SELECT value FROM json_each(?)",
                [_json_list(sorted(terms))],
            )

    # -- queries -----------------------------------------------------------------------------------

    def pledges(self, ids: Iterable[str]) -> dict[str, PledgeRow]:
        """Pledges by id, with speaker and latest status."""
        ids = list(ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.store.db.execute(
            f"""
            SELECT p.id, p.title, p.title_ko, p.category, p.summary, s.name,
                   st.status, st.date, st.note
            FROM pledges p
            JOIN speakers s ON s.id = p.speaker
            LEFT JOIN statuses st ON st.id = (
                SELECT id FROM statuses WHERE pledge = p.id ORDER BY date DESC, id DESC LIMIT 1)
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
            )
            for r in rows
        }

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
                   s.headline, s.outlet, s.published_at, s.kind, s.url
            FROM quotes q JOIN sources s ON s.id = q.source
            WHERE q.pledge IN ({marks}) {lead}
            ORDER BY q.pledge, q.position
            """,
            ids,
        ).fetchall()
        return [
            QuoteRow(r[0], r[1], dt.date.fromisoformat(r[2]), r[3], bool(r[4]), r[5], r[6], r[7], r[8], r[9])
            for r in rows
        ]

    def find_id(self, text: str) -> str | None:
        """The pledge whose id is exactly `text`, if any."""
        row = self.store.db.execute("SELECT id FROM pledges WHERE id = ?", [text.strip().lower()]).fetchone()
        return row[0] if row else None

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

    def list_pledges(
        self, category: str | None, limit: int, offset: int, *, status: str | None = None
    ) -> tuple[list[tuple[str, str]], int]:
        """(id, title) of pledges, optionally in one category (case-insensitive) and with one latest status
        (a pledge with no status is "not yet rated"), and the total."""
        conditions, params = [], []
        if category:
            conditions.append("category = ? COLLATE NOCASE")
            params.append(category)
        if status:
            conditions.append(
                "COALESCE((SELECT status FROM statuses WHERE pledge = pledges.id ORDER BY date DESC, id DESC "
                "LIMIT 1), 'not yet rated') = ?"
            )
            params.append(status)
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        total = self.store.db.execute(f"SELECT COUNT(*) FROM pledges {where}", params).fetchone()[0]
        rows = self.store.db.execute(
            f"SELECT id, title FROM pledges {where} ORDER BY category COLLATE NOCASE, id LIMIT ? OFFSET ?",
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

    def milestones_on(self, day: dt.date) -> list[MilestoneRow]:
        """Milestones dated `day`."""
        return [
            MilestoneRow(r[0], dt.date.fromisoformat(r[1]), r[2], r[3], r[4], r[5])
            for r in self.store.db.execute(
                "SELECT id, date, kind, title, pledge, source FROM milestones WHERE date = ? ORDER BY id",
                [day.isoformat()],
            )
        ]

    def export(self) -> dict[str, list[dict[str, Any]]]:
        """Every catalogue table as flat records in the import format."""
        db = self.store.db
        out: dict[str, list[dict[str, Any]]] = {}
        drop = {"origin", "position", "text_file"}
        for table in ds.TABLES:
            order = "pledge, position" if table == "quotes" else "rowid"
            where = "WHERE kind != 'pledged'" if table == "milestones" else ""
            rows = []
            for row in db.execute_returning_dicts(f"SELECT * FROM {table} {where} ORDER BY {order}"):
                row = {k: v for k, v in row.items() if k not in drop and v not in (None, "")}
                if table in ("quotes", "statuses"):
                    row.pop("id", None)
                if table == "pledges":
                    for key in ("aliases", "aliases_ko"):
                        if key in row:
                            row[key] = row[key].split(" | ")
                if table == "sources":
                    row.pop("text", None)
                rows.append(row)
            out[table] = rows
        return out


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


def _digest(row: dict[str, Any]) -> str:
    key = "\0".join(str(row.get(k, "")) for k in ("text", "source", "status", "date"))
    return hashlib.sha1(key.encode()).hexdigest()[:12]
