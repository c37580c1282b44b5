"""Loading the catalogue: `data/` and the edit journal into the local SQLite read model.

The catalogue is derived, never the truth: it is the files of the data folder, then every edit of the
journal in order. A process rebuilds it when the data folder changed or when it was built from another
journal (a new PostgreSQL database), and otherwise applies only the edits it has not seen (`refresh`), so a
deleted local file costs a rebuild, never data. `pledgebot import` and `retract` (`bot/importing.py`)
validate, append an edit to the journal, and apply it like any other; so does the desk (`bot/desk/`), whose
edits carry their records in the import format, and whose undo takes out the rows the undone edit added
(each row keeps its edit id). Every serving process runs this module; importing and exporting
(`bot/exporting.py`) are the command line's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from bot import dataset as ds
from bot import search_index
from bot.database import Store
from bot.dataset import Dataset
from bot.journal import DESK_KINDS, Edit, EditKind, Journal

log = logging.getLogger(__name__)

DATA_ORIGIN = "data:"
EDIT_ORIGIN = "edit:"


def _iso(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


class RowBuilder:
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
        # The journal edit that added the row, for history, undo and the order of same-day statuses.
        row["edit_id"] = int(origin[len(EDIT_ORIGIN) :]) if origin.startswith(EDIT_ORIGIN) else None
        if table == "speakers":
            row["aliases"] = " | ".join(row.get("aliases", []))
        if table == "pledges":
            if not row.get("title"):
                row["title"], row["korean_only"] = row.get("title_ko", ""), 1
            row["aliases"] = " | ".join(row.get("aliases", []))
            row["aliases_ko"] = " | ".join(row.get("aliases_ko", []))
            due = row.pop("due", None)
            if due:
                row["due_after"], row["due_days"] = due["after"], due["days"]
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
                        "edit_id": row["edit_id"],
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
        elif table == "milestones":
            # A rating's milestone may give its status instead of a title, which the column requires.
            row.setdefault("title", "")
        elif table == "speakers" and "terms" in row:
            row["terms"] = terms_json(row["terms"])
        yield table, row


def terms_json(terms: list[dict[str, Any]]) -> str:
    """A speaker's terms as the catalogue's column holds them: JSON with ISO dates, keys in one order, so
    that the same terms always compare equal (a re-import changes nothing)."""
    return json.dumps([{k: _iso(v) for k, v in t.items()} for t in terms], ensure_ascii=False, sort_keys=True)


def _rows_for_tables(data: Dataset, origin: Callable[[ds.Record], str]) -> dict[str, list[dict[str, Any]]]:
    """Dataset records as database rows, with derived rows: quote and status ids, pledged milestones."""
    tables: dict[str, list[dict[str, Any]]] = defaultdict(list)
    builder = RowBuilder(data.source_texts.get)
    for source in data.rows("sources"):
        builder.source_language[source["id"]] = source.get("language")
    for record in data.records:
        for table, row in builder.rows(record, origin(record)):
            tables[table].append(row)
    for quote in tables["quotes"]:
        quote.setdefault("language", "en")
    # A pledged milestone cites the pledge's first quote's source.
    first_source: dict[str, str] = {}
    for quote in tables["quotes"]:
        first_source.setdefault(quote["pledge"], quote["source"])
    for milestone in tables["milestones"]:
        if milestone["kind"] == "pledged" and not milestone.get("source"):
            milestone["source"] = first_source.get(milestone["pledge"])
    return tables


_LOAD_CACHE_KB = 10000


class _BulkWriter:
    """Rows for empty catalogue tables, as `_rows_for_tables` makes them, written in batches as records come.

    Two derived values need records that may come later, and are filled in by SQL at the end, which on
    tables holding only this load (in record order, by rowid) gives what `_rows_for_tables` gives: a quote's
    language when its source had not been read yet, and a pledged milestone's source (its pledge's first
    quote's).

    The tables' own indexes (not the unique ones, which catch a conflict) are dropped while the rows go in
    and built again before the derived values are filled in: one sorted build per index costs a fraction of
    keeping each up to date row by row, at random places in the file (statuses and quotes carry three each).
    """

    BATCH = 2000

    def __init__(self, db: Database, stream: ds.Stream):
        self.db = db
        self.stream = stream
        marks = ", ".join("?" * len(ds.TABLES))
        self.indexes = [
            (name, sql)
            for name, sql in db.execute(
                f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                f"AND tbl_name IN ({marks})",
                list(ds.TABLES),
            ).fetchall()
            if not sql.lstrip().upper().startswith("CREATE UNIQUE")
        ]
        for name, _ in self.indexes:
            db.execute(f'DROP INDEX "{name}"')
        self.columns = {t: list(db[t].columns_dict) for t in ds.TABLES}
        self.sql = {
            t: f"INSERT INTO {t} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
            for t, cols in self.columns.items()
        }
        self.batches: dict[str, list[tuple[Any, ...]]] = {t: [] for t in ds.TABLES}
        self.builder = RowBuilder(stream.text)

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
        # A build sorts in memory up to the page cache's size; at the load's large cache that doubled the
        # memory it needs, so the indexes are built with SQLite's default, and the cache is set back after.
        cache = self.db.execute("PRAGMA cache_size").fetchone()[0]
        self.db.execute("PRAGMA cache_size = -2000")
        for _, sql in self.indexes:
            self.db.execute(sql)
        self.db.execute(f"PRAGMA cache_size = {cache}")
        self.db.execute(
            "UPDATE quotes SET language = COALESCE(NULLIF((SELECT s.language FROM sources s "
            "WHERE s.id = quotes.source), ''), 'en') WHERE language IS NULL"
        )
        self.db.execute(
            "UPDATE milestones SET source = (SELECT q.source FROM quotes q "
            "WHERE q.pledge = milestones.pledge ORDER BY q.rowid LIMIT 1) "
            "WHERE kind = 'pledged' AND (source IS NULL OR source = '')"
        )


def _one(db: Database, sql: str, *params: Any) -> Any:
    row = db.execute(sql, list(params)).fetchone()
    return row[0] if row else None


class Loader:
    """Builds and updates the local catalogue from the data folder and the journal."""

    def __init__(self, store: Store, journal: Journal, data_dir: Path, clock: Callable[[], dt.datetime]):
        self.store = store
        self.journal = journal
        self.data_dir = data_dir
        self.clock = clock
        # A desk edit applies itself at once while the follower thread may be applying the same edit:
        # one at a time, so no edit is applied twice (a quote's position would move).
        self._following = threading.RLock()

    # -- keeping the read model current ----------------------------------------------------------------

    def refresh(self) -> bool:
        """Bring the catalogue up to date with the data folder and the journal; True when anything changed."""
        paths = ds.data_files(self.data_dir)
        digest = ds.fingerprint(paths)
        identity = self.journal.identity()
        if self.store.get_meta("data_fingerprint") != digest or self.store.get_meta("journal_id") != identity:
            self._rebuild(paths, digest, identity)
            return True
        return self.follow()

    def _rebuild(self, paths: list[Path], digest: str, identity: str) -> None:
        count = self._load_data(paths)
        self._record_loads(paths)
        with self.store.transaction() as db:
            _set_meta(db, "journal_position", "0")
        self.follow()
        with self.store.transaction() as db:
            _set_meta(db, "data_fingerprint", digest)
            _set_meta(db, "journal_id", identity)
        log.info("built the catalogue from %d records of %s and the journal", count, self.data_dir)

    def _load_data(self, paths: list[Path]) -> int:
        try:
            count = self._load_fresh(paths)
        except (ds.Unchecked, sqlite3.IntegrityError):
            count = None  # rolled back: the exact path below names the problems
        if count is None:
            data = ds.load(paths)
            self._write(data.records, data.source_texts, lambda r: DATA_ORIGIN + r.file, clear=True)
            count = len(data.records)
        return count

    def _record_loads(self, paths: list[Path]) -> None:
        """Append a "loaded from data/<file>" edit per file not yet recorded with this content.

        Every pledge's history then starts somewhere, and the same content is recorded once however many
        processes load it."""
        now = self.clock()
        for path in paths:
            sha = ds.file_sha256(path)
            pledges = [
                r[0]
                for r in self.store.db.execute(
                    "SELECT id FROM pledges WHERE origin = ? ORDER BY id", [DATA_ORIGIN + path.name]
                )
            ]
            self.journal.append(
                EditKind.LOAD,
                author="data folder",
                reason="",
                summary=f"loaded from data/{path.name}",
                pledges=pledges,
                payload={"file": path.name, "sha256": sha},
                at=now,
                dedupe=f"load:{path.name}:{sha}",
            )

    def follow(self, progress: Callable[[int, int], None] | None = None) -> bool:
        """Apply the journal's edits this catalogue has not seen; True when there were any."""
        with self._following:
            return self._follow(progress)

    def _follow(self, progress: Callable[[int, int], None] | None) -> bool:
        position = int(self.store.get_meta("journal_position") or 0)
        head = self.journal.head()
        if head == position:
            return False
        if head < position:
            # The journal was reset under this catalogue (a new database): start again from the data folder.
            with self.store.transaction() as db:
                _set_meta(db, "data_fingerprint", "")
            return self.refresh()
        for edit in self.journal.since(position):
            self.apply(edit, progress)
        return True

    def apply(self, edit: Edit, progress: Callable[[int, int], None] | None = None) -> None:
        """Apply one journal edit to the catalogue and advance the applied position past it."""
        payload = edit.payload or {}
        origin = f"{EDIT_ORIGIN}{edit.id}"
        if edit.kind in (EditKind.IMPORT, EditKind.REPLACE) and payload.get("chunked"):
            self._write_chunks(edit, payload, progress)
        elif edit.kind in (EditKind.IMPORT, EditKind.REPLACE):
            records = [
                ds.Record(r["table"], r["values"], r.get("where", ""), r.get("file", ""))
                for r in payload["records"]
            ]
            self._write(
                records,
                payload.get("texts", {}),
                lambda r: origin,
                replacing=set(payload.get("replaces", [])),
                position=edit.id,
                progress=progress,
            )
        elif edit.kind in DESK_KINDS:
            records = [ds.Record(r["table"], r["values"], "", "") for r in payload["records"]]
            if edit.kind is EditKind.RATE:
                records = _rated(records)
            self._write(
                records,
                payload.get("texts", {}),
                lambda r: origin,
                position=edit.id,
                after_existing=True,
            )
        elif edit.undoes is not None:
            with self.store.transaction() as db:
                _undo_rows(db, edit.undoes)
                _bump_version(db)
                _set_meta(db, "journal_position", str(edit.id))
        elif edit.kind is EditKind.RETRACT:
            with self.store.transaction() as db:
                _drop_pledges(db, [payload["pledge"]])
                _bump_version(db)
                _set_meta(db, "journal_position", str(edit.id))
        else:
            with self.store.transaction() as db:
                _set_meta(db, "journal_position", str(edit.id))

    # -- writing -------------------------------------------------------------------------------------

    def _write_chunks(
        self, edit: Edit, payload: dict[str, Any], progress: Callable[[int, int], None] | None
    ) -> None:
        """Apply a chunked edit: its records stream from the journal into the catalogue a chunk at a time,
        in one catalogue transaction. The two values `_rows_for_tables` derives from later records (a
        quote's default language, a pledged milestone's source) are filled in by SQL at the end, from this
        edit's own rows, as it would."""
        origin = f"{EDIT_ORIGIN}{edit.id}"
        total = int(payload.get("count", 0))
        done = 0
        builder = RowBuilder(lambda source: None)
        touched: set[str] = set()
        sources: set[str] = set()
        children: dict[str, set[str]] = defaultdict(set)
        for entry in payload.get("children", []):
            child, _, pledge = entry.partition(":")
            children[child].add(pledge)
        with self.store.transaction() as db:
            _drop_replaced(db, set(payload.get("replaces", [])), children)
            for chunk in self.journal.records(edit.id):
                texts = {b["values"]["id"]: b.get("text") for b in chunk if b["table"] == "sources"}
                builder.source_text = texts.get
                tables: dict[str, list[dict[str, Any]]] = defaultdict(list)
                for body in chunk:
                    record = ds.Record(
                        body["table"], body["values"], body.get("where", ""), body.get("file", "")
                    )
                    for table, row in builder.rows(record, origin):
                        if table == "quotes":
                            # Filled in from the source below; '' because the column is NOT NULL.
                            row.setdefault("language", "")
                        if table == "pledges":
                            touched.add(row["id"])
                        elif table in ("quotes", "statuses"):
                            touched.add(row["pledge"])
                        elif table == "sources":
                            sources.add(row["id"])
                        tables[table].append(row)
                for table in ds.TABLES:
                    if tables.get(table):
                        db.table(table).upsert_all(tables[table], pk="id", alter=False)
                done += len(chunk)
                if progress:
                    progress(done, total)
            db.execute(
                "UPDATE quotes SET language = COALESCE(NULLIF((SELECT s.language FROM sources s "
                "WHERE s.id = quotes.source), ''), 'en') WHERE language = '' AND origin = ?",
                [origin],
            )
            db.execute(
                "UPDATE milestones SET source = (SELECT q.source FROM quotes q "
                "WHERE q.pledge = milestones.pledge AND q.origin = ? ORDER BY q.position LIMIT 1) "
                "WHERE kind = 'pledged' AND origin = ? AND (source IS NULL OR source = '')",
                [origin, origin],
            )
            db.execute("DELETE FROM pledge_index WHERE pledge_id NOT IN (SELECT id FROM pledges)")
            db.execute("DELETE FROM pledge_aliases WHERE pledge_id NOT IN (SELECT id FROM pledges)")
            db.execute("DELETE FROM source_index WHERE pledge_id NOT IN (SELECT id FROM pledges)")
            # A changed source changes the headlines its pledges are found by.
            touched |= search_index.citing(db, sources)
            search_index.write(db, sorted(touched))
            _bump_version(db)
            _set_meta(db, "journal_position", str(edit.id))

    def _load_fresh(self, paths: list[Path]) -> int | None:
        """Load the data folder into an emptied catalogue in one pass; the record count.

        The common case, and the large one: a deploy (re)building the catalogue from `data/`. `ds.Stream`
        reads and checks one record at a time and the rows go straight to the database, so memory stays flat
        however large the folder; any problem raises `ds.Unchecked` inside the transaction, which rolls back,
        and the caller runs the exact path (`ds.load`) that names every problem.

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
            # and read them back. Bounded so the load stays well within its memory target: 10 MB since the
            # secondary indexes are built after the rows (16 MB then measured no faster at 100k, and 10 MB
            # more memory).
            db.execute(f"PRAGMA cache_size = -{_LOAD_CACHE_KB}")
            return self._load_fresh_in(stream)
        finally:
            db.execute(f"PRAGMA cache_size = {cache}")

    def _load_fresh_in(self, stream: ds.Stream) -> int:
        with self.store.transaction() as db:
            _clear(db)
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
            writer = _BulkWriter(db, stream)
            for record in stream:
                writer.add(record, DATA_ORIGIN + record.file)
            stream.finish()
            writer.finish()
            search_index.write(db, [r[0] for r in db.execute("SELECT id FROM pledges")], bulk=True)
            db.execute("INSERT INTO pledge_index_fts (pledge_index_fts) VALUES ('rebuild')")
            for sql in triggers:
                db.execute(sql)
            _bump_version(db)
        return stream.count

    def _write(
        self,
        records: list[ds.Record],
        texts: dict[str, str],
        origin: Callable[[ds.Record], str],
        *,
        clear: bool = False,
        replacing: set[str] | frozenset[str] = frozenset(),
        position: int | None = None,
        progress: Callable[[int, int], None] | None = None,
        after_existing: bool = False,
    ) -> None:
        """Write records in one transaction: all of them or, on any error, none of them.

        `after_existing` (a desk edit): quotes follow the pledge's quotes already in the catalogue, so the
        lead quote stays the lead."""
        tables = _rows_for_tables(Dataset(records=records, source_texts=texts), origin)
        touched = {row["id"] for row in tables["pledges"]} | {
            row["pledge"] for table in ("quotes", "statuses") for row in tables[table]
        }
        total = sum(len(rows) for rows in tables.values())
        done = 0
        with self.store.transaction() as db:
            if clear:
                _clear(db)
            _drop_replaced(
                db,
                replacing,
                {child: {row["pledge"] for row in tables[child]} for child in ("quotes", "statuses")},
            )
            if after_existing:
                for quote in tables["quotes"]:
                    last = _one(db, "SELECT MAX(position) FROM quotes WHERE pledge = ?", quote["pledge"])
                    quote["position"] += 0 if last is None else last + 1
            for table in ds.TABLES:
                rows = tables.get(table, [])
                for start in range(0, len(rows), 1000):
                    chunk = rows[start : start + 1000]
                    db.table(table).upsert_all(chunk, pk="id", alter=False)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
            db.execute("DELETE FROM pledge_index WHERE pledge_id NOT IN (SELECT id FROM pledges)")
            db.execute("DELETE FROM pledge_aliases WHERE pledge_id NOT IN (SELECT id FROM pledges)")
            db.execute("DELETE FROM source_index WHERE pledge_id NOT IN (SELECT id FROM pledges)")
            touched |= search_index.citing(db, {row["id"] for row in tables.get("sources", [])})
            ids = [r[0] for r in db.execute("SELECT id FROM pledges")] if clear else sorted(touched)
            search_index.write(db, ids)
            _bump_version(db)
            if position is not None:
                _set_meta(db, "journal_position", str(position))


def _rated(records: list[ds.Record]) -> list[ds.Record]:
    """A rating's records, its milestone with the status it rated: the desk journalled ratings with an English
    title alone ("rated Kept: …") before it kept the status, from which every language names it."""
    statuses = [r.values["status"] for r in records if r.table == "statuses"]
    if len(statuses) != 1:
        return records
    return [
        ds.Record(r.table, dict(r.values, status=statuses[0]), r.where, r.file)
        if r.table == "milestones" and r.values.get("kind") == "status change" and "status" not in r.values
        else r
        for r in records
    ]


def _set_meta(db: Database, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )


def _bump_version(db: Database) -> None:
    # Other processes sharing the file compare this to know their caches are stale.
    db.execute(
        "INSERT INTO meta (key, value) VALUES ('catalogue_version', '1') ON CONFLICT (key) "
        "DO UPDATE SET value = CAST(value AS INTEGER) + 1"
    )


def _clear(db: Database) -> None:
    for table in ds.TABLES:
        db.execute(f"DELETE FROM {table}")
    db.execute("DELETE FROM pledge_index")
    db.execute("DELETE FROM pledge_aliases")
    db.execute("DELETE FROM source_index")


def _drop_pledges(db: Database, ids: list[str]) -> None:
    for pledge_id in ids:
        db.execute("DELETE FROM pledges WHERE id = ?", [pledge_id])
        for table in ("quotes", "statuses", "milestones"):
            db.execute(f"DELETE FROM {table} WHERE pledge = ?", [pledge_id])
        db.execute("DELETE FROM pledge_index WHERE pledge_id = ?", [pledge_id])
        db.execute("DELETE FROM pledge_aliases WHERE pledge_id = ?", [pledge_id])
        db.execute("DELETE FROM source_index WHERE pledge_id = ?", [pledge_id])


def _drop_replaced(db: Database, keys: set[str] | frozenset[str], children: dict[str, set[str]]) -> None:
    """Delete the records being replaced, so the new ones replace them whole instead of merging fields.

    A replaced pledge keeps its quotes and status history unless the edit gives new ones for it.
    """
    for key in keys:
        table, _, key_id = key.partition(":")
        db.execute(f"DELETE FROM {table} WHERE id = ?", [key_id])
        if table == "pledges":
            db.execute("DELETE FROM milestones WHERE pledge = ? AND kind = 'pledged'", [key_id])
            for child in ("quotes", "statuses"):
                if key_id in children.get(child, set()):
                    db.execute(f"DELETE FROM {child} WHERE pledge = ?", [key_id])


def _undo_rows(db: Database, edit_id: int) -> None:
    """Take out of the catalogue what one desk edit added (the journal keeps it): its statuses, quotes and
    milestones, a pledge it created with everything since attached to it, and its sources that nothing
    cites any more."""
    touched = {
        r[0]
        for table in ("quotes", "statuses")
        for r in db.execute(f"SELECT pledge FROM {table} WHERE edit_id = ?", [edit_id])
    }
    for table in ("quotes", "statuses", "milestones"):
        db.execute(f"DELETE FROM {table} WHERE edit_id = ?", [edit_id])
    created = [r[0] for r in db.execute("SELECT id FROM pledges WHERE edit_id = ?", [edit_id])]
    _drop_pledges(db, created)
    db.execute(
        "DELETE FROM sources WHERE edit_id = ? AND id NOT IN (SELECT source FROM quotes) "
        "AND id NOT IN (SELECT translation_of FROM quotes WHERE translation_of IS NOT NULL) "
        "AND id NOT IN (SELECT source FROM statuses WHERE source IS NOT NULL) "
        "AND id NOT IN (SELECT source FROM milestones WHERE source IS NOT NULL)",
        [edit_id],
    )
    search_index.write(db, sorted(touched - set(created)))


def _digest(row: dict[str, Any]) -> str:
    key = "\0".join(str(row.get(k, "")) for k in ("text", "source", "status", "date"))
    # Two ratings that differ only in their note are two entries of the history, not one.
    if row.get("note"):
        key += "\0" + str(row["note"])
    return hashlib.sha1(key.encode()).hexdigest()[:12]
