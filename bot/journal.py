"""The edit journal: every change to the catalogue, appended and never rewritten.

The catalogue is a read model of `data/` plus this journal. An edit says who made it, when, why, what kind of
change it is (a data file loaded, an import, a replace, a retraction, the desk's ratings, quotes, pledges,
milestones and undos), which pledges it touches, and carries
what it changes (`payload`, JSON), so any process can rebuild its local catalogue from the data folder and
the journal, and `pledgebot history` can tell a pledge's story. Edits live in the state store's backend, so
with PostgreSQL they survive the loss of every local disk.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.backends import Backend


class EditKind(StrEnum):
    """What an edit does to the catalogue."""

    LOAD = "load"  # a file of data/ was loaded; the file itself holds the content
    IMPORT = "import"  # records added by `pledgebot import`
    REPLACE = "replace"  # records that replaced existing ones (`import --replace`); payload keeps the old
    RETRACT = "retract"  # a pledge withdrawn from answers; payload keeps what it was
    # The newsroom desk's edits (bot/desk/): payload {"records": [...], "desk": {...}}, records in the
    # import format, so they reach the catalogue, other hosts and exports as imported records do.
    RATE = "rate"  # a status history entry
    QUOTE = "quote"  # a quote with its source's snapshot
    PLEDGE = "pledge"  # a new pledge with its first quote
    MILESTONE = "milestone"  # a deadline or scheduled event
    UNDO = "undo"  # reverses one desk edit (`Edit.undoes`); nothing is erased


# The edits an editor makes in chat, which `undo` may reverse.
DESK_KINDS = frozenset({EditKind.RATE, EditKind.QUOTE, EditKind.PLEDGE, EditKind.MILESTONE})


@dataclass(frozen=True)
class Edit:
    """One journal entry."""

    id: int
    at: dt.datetime
    author: str
    kind: EditKind
    reason: str
    summary: str
    payload: dict[str, Any] | None = None

    @property
    def undoes(self) -> int | None:
        """The id of the edit an undo reverses; None for every other kind."""
        if self.kind is not EditKind.UNDO or not self.payload:
            return None
        return int(self.payload[_UNDOES])

    @property
    def records(self) -> list[dict[str, Any]]:
        """The records an edit carries inline (`{"table", "values", …}` in the import format), or []."""
        return list((self.payload or {}).get("records") or [])

    @property
    def desk(self) -> dict[str, Any]:
        """What the desk recorded beside a desk edit's records (its source's `url`, the `words`, a rating's
        `status` and `date`), or {}."""
        return dict((self.payload or {}).get("desk") or {})

    @property
    def pledge_ids(self) -> list[str]:
        """The pledges an edit's records add or belong to, sorted."""
        return sorted(
            {r["values"]["pledge"] for r in self.records if r["values"].get("pledge")}
            | {r["values"]["id"] for r in self.records if r["table"] == "pledges"}
        )


# The payload key of an undo: the only place it is spelled.
_UNDOES = "undoes"


def undo_payload(edit_id: int) -> dict[str, Any]:
    """The payload of an edit that undoes edit `edit_id` (read back as `Edit.undoes`)."""
    return {_UNDOES: edit_id}


_FIELDS = "id, at, author, kind, reason, summary"
# The payload of desk edits and undos (a record or a few); not of the others (an import's may be large).
_DESK_VALUES = sorted(k.value for k in (*DESK_KINDS, EditKind.UNDO))
_DESK_PAYLOAD = f"CASE WHEN kind IN ({', '.join('?' * len(_DESK_VALUES))}) THEN payload END"


def _edit(row: tuple, payload: str | None = None) -> Edit:
    return Edit(
        id=int(row[0]),
        at=dt.datetime.fromisoformat(row[1]),
        author=row[2],
        kind=EditKind(row[3]),
        reason=row[4],
        summary=row[5],
        payload=json.loads(payload) if payload else None,
    )


class Journal:
    """Append-only edits, read in order by position (the edit id)."""

    def __init__(self, backend: Backend):
        self.backend = backend

    def identity(self) -> str:
        """A value fixed when this journal was created: a catalogue built from another journal is stale."""
        return self.backend.read("SELECT value FROM state_meta WHERE key = 'journal_id'")[0][0]

    def append(
        self,
        kind: EditKind,
        *,
        author: str,
        reason: str,
        summary: str,
        pledges: Iterable[str],
        payload: dict[str, Any] | None,
        at: dt.datetime,
        dedupe: str | None = None,
        records: Iterable[list[Any]] | None = None,
        complete: Callable[[], tuple[EditKind, str, list[str], dict[str, Any]] | None] | None = None,
    ) -> Edit | None:
        """Append one edit; None when an edit with the same `dedupe` key is already there.

        `records` gives the edit's records a chunk at a time (stored in `edit_records`, read back with
        `records`), consumed inside the edit's transaction: whatever it raises rolls the edit back. Then
        `complete`, when given, returns the kind, summary, pledges and payload known only once the records
        are read, or None for an edit with nothing in it, which is not appended.
        """
        try:
            return self._append(
                kind, author, reason, summary, pledges, payload, at, dedupe, records, complete
            )
        except _NothingToAppend:
            return None

    def _append(
        self,
        kind: EditKind,
        author: str,
        reason: str,
        summary: str,
        pledges: Iterable[str],
        payload: dict[str, Any] | None,
        at: dt.datetime,
        dedupe: str | None,
        records: Iterable[list[Any]] | None,
        complete: Callable[[], tuple[EditKind, str, list[str], dict[str, Any]] | None] | None,
    ) -> Edit | None:
        body = json.dumps(payload, ensure_ascii=False, default=_json_default) if payload is not None else None
        with self.backend.transaction() as db:
            row = db.execute(
                "INSERT INTO edits (at, author, kind, reason, summary, dedupe, payload) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
                [at.isoformat(), author, kind.value, reason, summary, dedupe, body],
            ).fetchone()
            if row is None:
                return None
            edit_id = int(row[0])
            for seq, chunk in enumerate(records or ()):
                db.execute(
                    "INSERT INTO edit_records (edit_id, seq, body) VALUES (?, ?, ?)",
                    [edit_id, seq, json.dumps(chunk, ensure_ascii=False, default=_json_default)],
                )
            if complete is not None:
                completed = complete()
                if completed is None:
                    raise _NothingToAppend
                kind, summary, pledges, payload = completed
                db.execute(
                    "UPDATE edits SET kind = ?, summary = ?, payload = ? WHERE id = ?",
                    [
                        kind.value,
                        summary,
                        json.dumps(payload, ensure_ascii=False, default=_json_default),
                        edit_id,
                    ],
                )
            db.executemany(
                "INSERT INTO edit_pledges (pledge_id, edit_id) VALUES (?, ?)",
                [(pledge, edit_id) for pledge in dict.fromkeys(pledges)],
            )
        return Edit(edit_id, at, author, kind, reason, summary, payload)

    def records(self, edit_id: int, batch: int = 4) -> Iterator[list[Any]]:
        """An edit's record chunks, in order, fetched a few at a time."""
        seq = -1
        while True:
            rows = self.backend.read(
                "SELECT seq, body FROM edit_records WHERE edit_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                [edit_id, seq, batch],
            )
            for row in rows:
                yield json.loads(row[1])
            if len(rows) < batch:
                return
            seq = int(rows[-1][0])

    def head(self) -> int:
        """The position of the newest edit (0 for an empty journal)."""
        return int(self.backend.read("SELECT COALESCE(MAX(id), 0) FROM edits")[0][0])

    def since(self, position: int, batch: int = 50) -> Iterator[Edit]:
        """Edits after `position`, oldest first, with payloads, fetched a batch at a time."""
        while True:
            rows = self.backend.read(
                f"SELECT {_FIELDS}, payload FROM edits WHERE id > ? ORDER BY id LIMIT ?", [position, batch]
            )
            for row in rows:
                yield _edit(row, row[6])
            if len(rows) < batch:
                return
            position = int(rows[-1][0])

    def history(self, pledge_id: str, limit: int = 50) -> list[Edit]:
        """A pledge's edits, oldest first (without payloads)."""
        rows = self.backend.read(
            f"SELECT {_FIELDS} FROM edits WHERE id IN (SELECT edit_id FROM edit_pledges WHERE pledge_id = ?) "
            "ORDER BY id DESC LIMIT ?",
            [pledge_id, limit],
        )
        return [_edit(r) for r in reversed(rows)]

    def latest(self, limit: int = 20) -> list[Edit]:
        """The newest edits across all pledges, newest first; the desk's with their payloads."""
        rows = self.backend.read(
            f"SELECT {_FIELDS}, {_DESK_PAYLOAD} FROM edits ORDER BY id DESC LIMIT ?", [*_DESK_VALUES, limit]
        )
        return [_edit(r, r[6]) for r in rows]

    def pledge_edits(self, pledge_id: str, limit: int = 50) -> list[Edit]:
        """A pledge's edits, oldest first; the desk's with their payloads (small: one record or a few), the
        others without (an import's may be large)."""
        rows = self.backend.read(
            f"SELECT {_FIELDS}, {_DESK_PAYLOAD} FROM edits "
            "WHERE id IN (SELECT edit_id FROM edit_pledges WHERE pledge_id = ?) ORDER BY id DESC LIMIT ?",
            [*_DESK_VALUES, pledge_id, limit],
        )
        return [_edit(r, r[6]) for r in reversed(rows)]

    def desk_between(self, start: dt.datetime, end: dt.datetime) -> list[Edit]:
        """The desk's edits and undos made from `start` to before `end`, oldest first, with payloads.

        Desk edits are stamped in UTC (bot/desk/), so the days of the window select them by the date their
        time begins with, an equality PostgreSQL's collations cannot reorder; the times are then compared."""
        first, last = start.astimezone(dt.UTC).date(), end.astimezone(dt.UTC).date()
        days = [(first + dt.timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]
        rows = self.backend.read(
            f"SELECT {_FIELDS}, payload FROM edits WHERE kind IN ({', '.join('?' * len(_DESK_VALUES))}) "
            f"AND substr(at, 1, 10) IN ({', '.join('?' * len(days))}) ORDER BY id",
            [*_DESK_VALUES, *days],
        )
        edits = (_edit(r, r[6]) for r in rows)
        return [e for e in edits if start <= e.at < end]

    def get(self, edit_id: int) -> Edit | None:
        """One edit with its payload, or None."""
        rows = self.backend.read(f"SELECT {_FIELDS}, payload FROM edits WHERE id = ?", [edit_id])
        return _edit(rows[0], rows[0][6]) if rows else None

    def by_dedupe(self, key: str) -> Edit | None:
        """The edit appended with this dedupe key, or None."""
        rows = self.backend.read(f"SELECT {_FIELDS}, payload FROM edits WHERE dedupe = ?", [key])
        return _edit(rows[0], rows[0][6]) if rows else None


class _NothingToAppend(Exception):
    """Raised inside the append's transaction to roll back an edit that turned out empty."""


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in an edit")
