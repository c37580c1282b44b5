"""Mutable state written by users and the scheduler: channel subscriptions (and the delivery ledger).

This is the data that needs a persistent disk. Everything here goes through this one small interface so
that a server database can replace SQLite later without touching the core or the adapters.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.store import Store


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


def _subscription(row: tuple) -> Subscription:
    return Subscription(
        id=row[0],
        platform=row[1],
        workspace=row[2],
        channel=row[3],
        local_time=dt.time.fromisoformat(row[4]),
        timezone=row[5],
        lead_days=row[6],
        created_by=row[7],
        created_at=dt.datetime.fromisoformat(row[8]),
    )


class State:
    """Subscriptions, keyed by (platform, workspace, channel)."""

    def __init__(self, store: Store):
        self.store = store

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
        with self.store.transaction() as db:
            existed = db.execute(
                "SELECT 1 FROM subscriptions WHERE platform = ? AND workspace = ? AND channel = ?",
                [platform, workspace, channel],
            ).fetchone()
            db.execute(
                """
                INSERT INTO subscriptions (platform, workspace, channel, local_time, timezone, lead_days,
                    created_by, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (platform, workspace, channel) DO UPDATE SET
                    local_time = excluded.local_time, timezone = excluded.timezone,
                    lead_days = excluded.lead_days
                """,
                [
                    platform,
                    workspace,
                    channel,
                    local_time.strftime("%H:%M"),
                    timezone,
                    lead_days,
                    created_by,
                    now.isoformat(),
                ],
            )
        found = self.subscription(platform, workspace, channel)
        assert found is not None
        return found, existed is None

    def unsubscribe(self, platform: str, workspace: str, channel: str) -> bool:
        """Remove the channel's subscription; True when there was one."""
        with self.store.transaction() as db:
            cursor = db.execute(
                "DELETE FROM subscriptions WHERE platform = ? AND workspace = ? AND channel = ?",
                [platform, workspace, channel],
            )
            return cursor.rowcount > 0

    def subscription(self, platform: str, workspace: str, channel: str) -> Subscription | None:
        """The channel's subscription, if it has one."""
        row = self.store.db.execute(
            f"SELECT {_COLUMNS} FROM subscriptions WHERE platform = ? AND workspace = ? AND channel = ?",
            [platform, workspace, channel],
        ).fetchone()
        return _subscription(row) if row else None

    def subscriptions(self, platform: str | None = None, workspace: str | None = None) -> list[Subscription]:
        """All subscriptions, optionally of one platform and workspace, in a stable order."""
        clauses, params = [], []
        if platform is not None:
            clauses.append("platform = ?")
            params.append(platform)
        if workspace is not None:
            clauses.append("workspace = ?")
            params.append(workspace)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.store.db.execute(f"SELECT {_COLUMNS} FROM subscriptions {where} ORDER BY id", params)
        return [_subscription(r) for r in rows]
