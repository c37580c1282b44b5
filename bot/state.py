"""Channel subscriptions: the state users write, kept by the state store's backend (SQLite or PostgreSQL).

Subscription ids come from an AUTOINCREMENT (SQLite) or IDENTITY (PostgreSQL) column, so an id is never
reused: the ledger rows of a channel that unsubscribed can never be taken for a new subscription's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.backends import Backend


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


_COLUMNS = "id, platform, workspace, channel, local_time, timezone, lead_days, created_by, created_at"
_CHANNEL = "platform = ? AND workspace = ? AND channel = ?"


def _subscription(row: tuple) -> Subscription:
    return Subscription(
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
    ) -> tuple[Subscription, bool]:
        """Create or update the channel's subscription; True when it is new."""
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
        return _subscription(row), existed is None

    def unsubscribe(self, platform: str, workspace: str, channel: str) -> bool:
        """Remove the channel's subscription; True when there was one."""
        with self.backend.transaction() as db:
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
        return _subscription(rows[0]) if rows else None

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
        return [_subscription(r) for r in rows]
