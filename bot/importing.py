"""Importing into the catalogue: `pledgebot import`, `validate` and `retract`.

An import or a retraction is checked against the catalogue, appended to the journal as one edit, and applied
by the loader (`bot/loading.py`) like any other edit. `check_files` makes every check an import makes and
writes nothing, so `validate` accepts exactly the files `import` does.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import getpass
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot import dataset as ds
from bot.database import Store
from bot.dataset import Dataset
from bot.journal import Edit, EditKind, Journal
from bot.loading import Loader, RowBuilder


def os_user() -> str:
    """The operating-system user, the default author of command-line edits."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@dataclass(frozen=True)
class ImportResult:
    """What an import did: the edit it appended (None when every record was already present)."""

    edit: Edit | None
    added: int
    present: int


_CHUNK = 500  # records per journal chunk


class _Clash(Exception):
    """A streamed record clashes with the catalogue: the exact path reports it with the others."""


@dataclass
class _Tally:
    """What a streamed import found, as it goes."""

    added: int = 0
    present: int = 0
    pledges: set[str] = dataclasses.field(default_factory=set)
    replaces: set[str] = dataclasses.field(default_factory=set)
    children: set[str] = dataclasses.field(default_factory=set)

    def add(self, record: ds.Record) -> None:
        """Count a record the edit will carry, and the pledge it touches."""
        self.added += 1
        if record.table == "pledges":
            self.pledges.add(record.values["id"])
        elif record.table in ("quotes", "statuses"):
            self.pledges.add(record.values["pledge"])
            self.children.add(f"{record.table}:{record.values['pledge']}")


def _body(record: ds.Record, text: Callable[[str], str | None]) -> dict[str, Any]:
    """A record as the journal stores it; a source carries its full text."""
    body: dict[str, Any] = {"table": record.table, "values": record.values, "where": record.where}
    body["file"] = record.file
    if record.table == "sources":
        body["text"] = text(record.values["id"])
    return body


@dataclass(frozen=True)
class CheckedFiles:
    """Files that passed every import check: the records, which are already present, which replace."""

    data: Dataset
    present: set[int]
    replaces: set[str]


class Importer:
    """Checks files against the catalogue, journals them (or a retraction) as one edit, and applies it."""

    def __init__(self, store: Store, journal: Journal, loader: Loader, clock: Callable[[], dt.datetime]):
        self.store = store
        self.journal = journal
        self.loader = loader
        self.clock = clock

    def import_files(
        self,
        paths: list[Path],
        *,
        author: str,
        note: str = "",
        replace: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> ImportResult:
        """Validate files against the catalogue and append them to the journal as one edit, then apply it.

        A record whose id is already in the catalogue is refused (with its file and line) unless `replace`;
        one identical to what the catalogue holds is already present and skipped, so re-importing a file, or
        one a newsroom has since committed to `data/`, changes nothing.
        """
        try:
            result = self._import_streaming(paths, author=author, note=note, replace=replace)
        except (ds.Unchecked, _Clash):
            # The exact path names every problem; files it accepts (say, an export's inline source texts,
            # which the stream leaves to it) are imported from memory.
            checked = self.check_files(paths, replace=replace)
            result = self._import_checked(paths, checked, author=author, note=note)
        if result.edit is not None:
            self.loader.follow(progress)
        return result

    def _import_streaming(self, paths: list[Path], *, author: str, note: str, replace: bool) -> ImportResult:
        """Check and journal the files one record at a time: memory stays flat however large they are.

        Raises `ds.Unchecked` or `_Clash` (inside the journal's transaction, so nothing is appended) when a
        record needs the exact path's report.
        """
        db = self.store.db

        def known_text(source: str) -> str | None:
            row = db.execute("SELECT text FROM sources WHERE id = ?", [source]).fetchone()
            return row[0] if row else None

        stream = ds.Stream(
            paths,
            known_ids=self.known_ids(),
            known_text=known_text,
            known_sources=self.known_sources(),
            known_pledges=self.known_pledges(),
            known_milestones=self.known_milestones(),
        )
        tally = _Tally()
        builder = RowBuilder(stream.text)

        def chunks() -> Iterator[list[dict[str, Any]]]:
            chunk: list[dict[str, Any]] = []
            for record in stream:
                if self._classify(builder, record, replace, tally):
                    chunk.append(_body(record, stream.text))
                    if len(chunk) >= _CHUNK:
                        yield chunk
                        chunk = []
            stream.finish()
            if chunk:
                yield chunk

        def complete() -> tuple[EditKind, str, list[str], dict[str, Any]] | None:
            if not tally.added:
                return None
            kind = EditKind.REPLACE if tally.replaces else EditKind.IMPORT
            return (kind, *self._edit_summary(paths, tally))

        edit = self.journal.append(
            EditKind.IMPORT,
            author=author,
            reason=note,
            summary="",
            pledges=tally.pledges,
            payload=None,
            at=self.clock(),
            records=chunks(),
            complete=complete,
        )
        return ImportResult(edit, tally.added, tally.present)

    def _classify(self, builder: RowBuilder, record: ds.Record, replace: bool, tally: _Tally) -> bool:
        """Compare one record with the catalogue: False when already present; `_Clash` when it clashes."""
        db = self.store.db
        rows = dict(builder.rows(record, ""))
        new = rows[record.table]
        present = False
        if record.table in ("quotes", "statuses"):
            present = (
                db.execute(f"SELECT 1 FROM {record.table} WHERE id = ?", [new["id"]]).fetchone() is not None
            )
        else:
            old = db.execute_returning_dicts(f"SELECT * FROM {record.table} WHERE id = ?", [new["id"]])
            if old:
                if _same(record.table, new, old[0]):
                    present = True
                elif replace:
                    tally.replaces.add(f"{record.table}:{new['id']}")
                else:
                    raise _Clash
        if present:
            tally.present += 1
            return False
        tally.add(record)
        return True

    def _edit_summary(self, paths: list[Path], tally: _Tally) -> tuple[str, list[str], dict[str, Any]]:
        names = ", ".join(p.name for p in paths)
        verb = "replaced" if tally.replaces else "imported"
        children = sorted(c for c in tally.children if f"pledges:{c.partition(':')[2]}" in tally.replaces)
        payload = {
            "chunked": True,
            "count": tally.added,
            "replaces": sorted(tally.replaces),
            "children": children,
            "old": self._rows_of(tally.replaces),
        }
        return f"{verb} {tally.added} records from {names}", sorted(tally.pledges), payload

    def _import_checked(
        self,
        paths: list[Path],
        checked: CheckedFiles,
        *,
        author: str,
        note: str,
        extra: dict[str, Any] | None = None,
    ) -> ImportResult:
        """Journal files the exact path accepted (held in memory), in the same chunked form."""
        data = checked.data
        tally = _Tally(present=len(checked.present), replaces=set(checked.replaces))
        records = [r for i, r in enumerate(data.records) if i not in checked.present]
        if not records:
            return ImportResult(None, 0, tally.present)
        for record in records:
            tally.add(record)
        bodies = [_body(r, data.source_texts.get) for r in records]
        summary, pledges, payload = self._edit_summary(paths, tally)
        payload.update(extra or {})
        edit = self.journal.append(
            EditKind.REPLACE if tally.replaces else EditKind.IMPORT,
            author=author,
            reason=note,
            summary=summary,
            pledges=pledges,
            payload=payload,
            at=self.clock(),
            records=(bodies[i : i + _CHUNK] for i in range(0, len(bodies), _CHUNK)),
        )
        return ImportResult(edit, tally.added, tally.present)

    def check_files(self, paths: list[Path], *, replace: bool = False) -> CheckedFiles:
        """Every check an import makes, without writing anything: `pledgebot validate FILE...` and
        `pledgebot import` share it, so one accepts exactly the files the other does.

        References (ids, source texts, a source's publication date, a pledge's date) resolve against the
        files given together and the catalogue; a record whose id is in the catalogue with other values is a
        problem unless `replace`. Raises `ds.DatasetError` with every problem.
        """
        data = ds.load(
            paths,
            known_ids=self.known_ids(),
            known_texts=self.source_texts(),
            known_sources=self.known_sources(),
            known_pledges=self.known_pledges(),
            known_milestones=self.known_milestones(),
        )
        return self._checked(data, replace)

    def check_dataset(self, data: Dataset, *, replace: bool = False) -> CheckedFiles:
        """Every check `check_files` makes, for records built in memory (the NEC importer's)."""
        ds.validate(
            data,
            known_ids=self.known_ids(),
            known_sources=self.known_sources(),
            known_pledges=self.known_pledges(),
            known_milestones=self.known_milestones(),
        )
        return self._checked(data, replace)

    def _checked(self, data: Dataset, replace: bool) -> CheckedFiles:
        present, problems, replaces = self._compare(data, replace)
        if problems:
            raise ds.DatasetError(problems)
        return CheckedFiles(data, present, replaces)

    def import_checked(
        self,
        paths: list[Path],
        checked: CheckedFiles,
        *,
        author: str,
        note: str = "",
        extra: dict[str, Any] | None = None,
    ) -> ImportResult:
        """Journal records that passed `check_dataset` as one edit (with `extra` in its payload, such as the
        NEC importer's diffs of changed texts), and apply it."""
        result = self._import_checked(paths, checked, author=author, note=note, extra=extra)
        if result.edit is not None:
            self.loader.follow()
        return result

    def retract(self, pledge_id: str, *, author: str, reason: str) -> Edit:
        """Withdraw a pledge from answers; the journal keeps what it was. KeyError when there is none."""
        old = self._rows_of({f"pledges:{pledge_id}"})
        if not old:
            raise KeyError(pledge_id)
        edit = self.journal.append(
            EditKind.RETRACT,
            author=author,
            reason=reason,
            summary=f"retracted {pledge_id}",
            pledges=[pledge_id],
            payload={"pledge": pledge_id, "old": old},
            at=self.clock(),
        )
        assert edit is not None  # no dedupe key, so the append cannot be a duplicate
        self.loader.follow()
        return edit

    def _compare(self, data: Dataset, replace: bool) -> tuple[set[int], list[ds.Problem], set[str]]:
        """Which records are already present, which clash with the catalogue, and which replace a record."""
        db = self.store.db
        present: set[int] = set()
        problems: list[ds.Problem] = []
        replaces: set[str] = set()
        builder = RowBuilder(data.source_texts.get)
        for index, record in enumerate(data.records):
            rows = dict(builder.rows(record, ""))
            new = rows[record.table]
            if record.table in ("quotes", "statuses"):
                if db.execute(f"SELECT 1 FROM {record.table} WHERE id = ?", [new["id"]]).fetchone():
                    present.add(index)
                continue
            old = db.execute_returning_dicts(f"SELECT * FROM {record.table} WHERE id = ?", [new["id"]])
            if not old:
                continue
            if _same(record.table, new, old[0]):
                present.add(index)
            elif replace:
                replaces.add(f"{record.table}:{new['id']}")
            else:
                problems.append(
                    ds.Problem(
                        record.where,
                        "id",
                        f"'{new['id']}' is already in the catalogue with other values; give --replace to "
                        "replace it (the journal keeps the old values)",
                    )
                )
        return present, problems, replaces

    def _rows_of(self, keys: set[str]) -> dict[str, Any]:
        """The catalogue rows behind `table:id` keys (a pledge with its quotes and statuses)."""
        db = self.store.db
        old: dict[str, Any] = {}
        for key in sorted(keys):
            table, _, key_id = key.partition(":")
            rows = db.execute_returning_dicts(f"SELECT * FROM {table} WHERE id = ?", [key_id])
            if not rows:
                continue
            entry: dict[str, Any] = {"row": _public(rows[0])}
            if table == "pledges":
                for child in ("quotes", "statuses"):
                    entry[child] = [
                        _public(r)
                        for r in db.execute_returning_dicts(
                            f"SELECT * FROM {child} WHERE pledge = ?", [key_id]
                        )
                    ]
            old[key] = entry
        return old

    def known_ids(self) -> dict[str, set[str]]:
        """Ids already in the catalogue, per table, so imports may refer to them."""
        db = self.store.db
        return {
            t: {r[0] for r in db.execute(f"SELECT id FROM {t}")} for t in ("speakers", "sources", "pledges")
        }

    def known_sources(self) -> dict[str, dt.date]:
        """Each catalogue source's publication date (or date-time), by id."""
        rows = self.store.db.execute("SELECT id, published_at FROM sources WHERE published_at IS NOT NULL")
        return {source: ds.parse_datetime(value) for source, value in rows}

    def known_pledges(self) -> dict[str, dt.date | None]:
        """Each catalogue pledge's `pledged_on` (None when not given), by id."""
        rows = self.store.db.execute("SELECT id, pledged_on FROM pledges")
        return {pledge: ds.parse_date(value) if value else None for pledge, value in rows}

    def known_milestones(self) -> dict[str, dt.date]:
        """Each catalogue milestone's date, by id: what a pledge's `due` rule may count from."""
        rows = self.store.db.execute("SELECT id, date FROM milestones")
        return {milestone: ds.parse_date(value) for milestone, value in rows}

    def source_texts(self) -> dict[str, str]:
        """The full texts held for sources, by source id."""
        return dict(self.store.db.execute("SELECT id, text FROM sources WHERE text IS NOT NULL").fetchall())


def _norm(value: Any) -> Any:
    return None if value in (None, "", []) else value


def _same(table: str, new: dict[str, Any], old: dict[str, Any]) -> bool:
    """True when a record would leave its catalogue row as it is (origin and file paths aside)."""
    fields = [name for name, _, _ in ds.SCHEMA[table] if name not in ("text_file", "due")]
    if table == "sources":
        fields.append("text")
    if table == "pledges":
        # A `due` rule is kept as two columns.
        fields += ["due_after", "due_days"]
    return all(_norm(new.get(name)) == _norm(old.get(name)) for name in fields)


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("origin", "position", "edit_id")}
