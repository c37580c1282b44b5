"""Channel subscriptions and the desk's editors: the state users write, kept by the state store's backend
(SQLite or PostgreSQL).

Subscription ids come from an AUTOINCREMENT (SQLite) or IDENTITY (PostgreSQL) column, so an id is never
reused: the ledger rows of a channel that unsubscribed can never be taken for a new subscription's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.backends import Backend, Executor


@dataclass(frozen=True)
class Subscription:
    """A channel's daily digest: where, at what local time, in which zone, with how many days' notice."""

    id: int
    platform: str
    workspace: str
    channel: str
    local_time: dt.time
    timezone: str
    lead_days: int
    created_by: str
    created_at: dt.datetime
    # What the channel follows: categories (as stored) and pledge ids; both empty means everything.
    topics: tuple[str, ...] = ()
    pledges: tuple[str, ...] = ()
    # Officials followed, by speaker id, and regions, as typed (resolved to their officials at each digest,
    # so an official imported later is followed too).
    officials: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    # `updates now`: the desk's changes are posted within a minute, each on its own, instead of in the
    # next day's digest.
    updates_now: bool = False


_COLUMNS = "id, platform, workspace, channel, local_time, timezone, lead_days, created_by, created_at"
_CHANNEL = "platform = ? AND workspace = ? AND channel = ?"


def _subscription(row: tuple, filters: dict[str, list[str]] | None = None) -> Subscription:
    filters = filters or {}
    return Subscription(
        topics=tuple(filters.get("topic", ())),
        pledges=tuple(filters.get("pledge", ())),
        officials=tuple(filters.get("official", ())),
        regions=tuple(filters.get("region", ())),
        updates_now="now" in filters.get("updates", ()),
        id=int(row[0]),
        platform=row[1],
        workspace=row[2],
        channel=row[3],
        local_time=dt.time.fromisoformat(row[4]),
        timezone=row[5],
        lead_days=row[6],
        created_by=row[7],
        created_at=dt.datetime.fromisoformat(row[8]),
    )


class Subscriptions:
    """Subscriptions, keyed by (platform, workspace, channel)."""

    def __init__(self, backend: Backend):
        self.backend = backend

    def subscribe(
        self,
        platform: str,
        workspace: str,
        channel: str,
        local_time: dt.time,
        timezone: str,
        lead_days: int,
        created_by: str,
        now: dt.datetime,
        topics: tuple[str, ...] = (),
        pledges: tuple[str, ...] = (),
        updates_now: bool = False,
        officials: tuple[str, ...] = (),
        regions: tuple[str, ...] = (),
    ) -> tuple[Subscription, bool]:
        """Create or update the channel's whole subscription, filters included; True when it is new."""
        key = [platform, workspace, channel]
        with self.backend.transaction() as db:
            existed = db.execute(f"SELECT 1 FROM subscriptions WHERE {_CHANNEL}", key).fetchone()
            db.execute(
                """
                INSERT INTO subscriptions (platform, workspace, channel, local_time, timezone, lead_days,
                    created_by, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (platform, workspace, channel) DO UPDATE SET
                    local_time = excluded.local_time, timezone = excluded.timezone,
                    lead_days = excluded.lead_days
                """,
                [*key, local_time.strftime("%H:%M"), timezone, lead_days, created_by, now.isoformat()],
            )
            # Read back inside the transaction: another process may unsubscribe the channel the moment
            # this one commits.
            row = db.execute(f"SELECT {_COLUMNS} FROM subscriptions WHERE {_CHANNEL}", key).fetchone()
            # A subscribe command sets the whole subscription: without filters it follows everything again.
            db.execute("DELETE FROM subscription_filters WHERE subscription_id = ?", [row[0]])
            updates = ("now",) if updates_now else ()
            kinds = (
                ("topic", topics),
                ("pledge", pledges),
                ("official", officials),
                ("region", regions),
                ("updates", updates),
            )
            for kind, values in kinds:
                for value in dict.fromkeys(values):
                    db.execute(
                        "INSERT INTO subscription_filters (subscription_id, kind, value) VALUES (?, ?, ?)",
                        [row[0], kind, value],
                    )
            filters = db.execute(
                "SELECT kind, value FROM subscription_filters WHERE subscription_id = ? ORDER BY kind, value",
                [row[0]],
            ).fetchall()
        return _subscription(row, _grouped_filters(filters)), existed is None

    def unsubscribe(self, platform: str, workspace: str, channel: str) -> bool:
        """Remove the channel's subscription; True when there was one."""
        with self.backend.transaction() as db:
            db.execute(
                "DELETE FROM subscription_filters WHERE subscription_id IN "
                f"(SELECT id FROM subscriptions WHERE {_CHANNEL})",
                [platform, workspace, channel],
            )
            return (
                db.execute(
                    f"DELETE FROM subscriptions WHERE {_CHANNEL}", [platform, workspace, channel]
                ).rowcount
                > 0
            )

    def subscription(self, platform: str, workspace: str, channel: str) -> Subscription | None:
        """The channel's subscription, if it has one."""
        rows = self.backend.read(
            f"SELECT {_COLUMNS} FROM subscriptions WHERE {_CHANNEL}", [platform, workspace, channel]
        )
        if not rows:
            return None
        filters = self.backend.read(
            "SELECT kind, value FROM subscription_filters WHERE subscription_id = ? ORDER BY kind, value",
            [rows[0][0]],
        )
        return _subscription(rows[0], _grouped_filters(filters))

    def set_language(
        self, platform: str, workspace: str, channel: str, language: str, set_by: str, now: dt.datetime
    ) -> None:
        """Set the language of the channel's public posts (shared cards and digests)."""
        with self.backend.transaction() as db:
            db.execute(
                """
                INSERT INTO channel_languages (platform, workspace, channel, language, set_by, set_at)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (platform, workspace, channel) DO UPDATE SET
                    language = excluded.language, set_by = excluded.set_by, set_at = excluded.set_at
                """,
                [platform, workspace, channel, language, set_by, now.isoformat()],
            )

    def language(self, platform: str, workspace: str, channel: str) -> str | None:
        """The language set for the channel's public posts, or None when none was set."""
        rows = self.backend.read(
            f"SELECT language FROM channel_languages WHERE {_CHANNEL}", [platform, workspace, channel]
        )
        return rows[0][0] if rows else None

    def languages(self) -> dict[tuple[str, str, str], str]:
        """The language set for each channel that set one, by (platform, workspace, channel), in one read
        (a delivery pass needs every channel's)."""
        return {
            (r[0], r[1], r[2]): r[3]
            for r in self.backend.read(
                "SELECT platform, workspace, channel, language FROM channel_languages", []
            )
        }

    def all(self, platform: str | None = None, workspace: str | None = None) -> list[Subscription]:
        """All subscriptions, optionally of one platform and workspace, in a stable order."""
        clauses, params = [], []
        if platform is not None:
            clauses.append("platform = ?")
            params.append(platform)
        if workspace is not None:
            clauses.append("workspace = ?")
            params.append(workspace)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.backend.read(f"SELECT {_COLUMNS} FROM subscriptions {where} ORDER BY id", params)
        by_id: dict[int, list[tuple[str, str]]] = {}
        for sub_id, kind, value in self.backend.read(
            "SELECT subscription_id, kind, value FROM subscription_filters "
            "ORDER BY subscription_id, kind, value",
            [],
        ):
            by_id.setdefault(int(sub_id), []).append((kind, value))
        return [_subscription(r, _grouped_filters(by_id.get(int(r[0]), []))) for r in rows]


def _grouped_filters(rows) -> dict[str, list[str]]:
    """(kind, value) rows as {kind: [values]}."""
    found: dict[str, list[str]] = {}
    for kind, value in rows:
        found.setdefault(kind, []).append(value)
    return found


@dataclass(frozen=True)
class Editor:
    """Someone an admin chose to edit the catalogue in a workspace or server, and who chose them when."""

    platform: str
    workspace: str
    user: str
    added_by: str
    added_at: dt.datetime


class Editors:
    """The editors list, keyed by (platform, workspace, user). Read on every use, never cached, so that a
    removal takes effect on the next command."""

    def __init__(self, backend: Backend):
        self.backend = backend

    def add(self, platform: str, workspace: str, user: str, added_by: str, now: dt.datetime) -> bool:
        """Add `user` to the list; True when they were not on it (an existing entry keeps who added it)."""
        with self.backend.transaction() as db:
            return (
                db.execute(
                    "INSERT INTO editors (platform, workspace, user_id, added_by, added_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (platform, workspace, user_id) DO NOTHING",
                    [platform, workspace, user, added_by, now.isoformat()],
                ).rowcount
                > 0
            )

    def remove(self, platform: str, workspace: str, user: str) -> bool:
        """Take `user` off the list; True when they were on it."""
        with self.backend.transaction() as db:
            return (
                db.execute(
                    "DELETE FROM editors WHERE platform = ? AND workspace = ? AND user_id = ?",
                    [platform, workspace, user],
                ).rowcount
                > 0
            )

    def is_editor(self, platform: str, workspace: str, user: str) -> bool:
        """True when `user` is on the workspace's list."""
        return bool(
            self.backend.read(
                "SELECT 1 FROM editors WHERE platform = ? AND workspace = ? AND user_id = ?",
                [platform, workspace, user],
            )
        )

    def all(self, platform: str, workspace: str) -> list[Editor]:
        """The workspace's editors, in the order they were added."""
        rows = self.backend.read(
            "SELECT platform, workspace, user_id, added_by, added_at FROM editors "
            "WHERE platform = ? AND workspace = ? ORDER BY added_at, user_id",
            [platform, workspace],
        )
        return [Editor(r[0], r[1], r[2], r[3], dt.datetime.fromisoformat(r[4])) for r in rows]


def forget_workspaces(db: Executor, platform: str, workspaces: list[str]) -> tuple[int, int]:
    """Delete the subscriptions (with their filters), channel languages and editors of `workspaces`, inside
    the caller's transaction; return how many subscriptions and editors went."""
    if not workspaces:
        return 0, 0
    where = f"platform = ? AND workspace IN ({', '.join('?' * len(workspaces))})"
    params = [platform, *workspaces]
    db.execute(
        "DELETE FROM subscription_filters WHERE subscription_id IN "
        f"(SELECT id FROM subscriptions WHERE {where})",
        params,
    )
    subscriptions = db.execute(f"DELETE FROM subscriptions WHERE {where}", params).rowcount
    db.execute(f"DELETE FROM channel_languages WHERE {where}", params)
    editors = db.execute(f"DELETE FROM editors WHERE {where}", params).rowcount
    return subscriptions, editors
