"""Mutable state written by users and the scheduler: channel subscriptions and the delivery ledger.

This is the data that needs a persistent disk. Everything here goes through this one small interface so
that a server database can replace SQLite later without touching the core or the adapters.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from enum import StrEnum

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
            # Read back inside the transaction: another process may unsubscribe the channel the moment
            # this one commits.
            row = db.execute(
                f"SELECT {_COLUMNS} FROM subscriptions WHERE platform = ? AND workspace = ? AND channel = ?",
                [platform, workspace, channel],
            ).fetchone()
        return _subscription(row), existed is None

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


class Outcome(StrEnum):
    """How a day's delivery for one subscription ended."""

    SENT = "sent"
    EMPTY = "empty"  # nothing fell due that day; recorded so the day is not re-examined
    SKIPPED = "skipped"  # found too late (past the grace period) and deliberately not sent


@dataclass(frozen=True)
class Claim:
    """The right to deliver one subscription's digest for one local date."""

    subscription_id: int
    local_date: dt.date
    token: str
    # True when an earlier claim went stale (a crash between claiming and recording): the message may
    # already have been posted, so the adapter must check the platform before posting again.
    retry: bool


class Ledger:
    """Who delivered what: a claim before sending and a record after, keyed by (subscription, local date).

    The claim is an INSERT on the primary key inside an immediate transaction, so of two schedulers (or two
    processes) exactly one wins. A claim not recorded within `lease` is presumed crashed and may be retaken.
    """

    def __init__(self, store: Store, lease: dt.timedelta = dt.timedelta(minutes=2)):
        self.store = store
        self.lease = lease

    def claim(self, subscription_id: int, local_date: dt.date, now: dt.datetime) -> Claim | None:
        """Claim the delivery, or None when it is done or another worker holds a live claim."""
        token = secrets.token_hex(8)
        day = local_date.isoformat()
        with self.store.transaction() as db:
            row = db.execute(
                "SELECT state, claimed_at FROM deliveries WHERE subscription_id = ? AND local_date = ?",
                [subscription_id, day],
            ).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO deliveries (subscription_id, local_date, state, token, claimed_at) "
                    "VALUES (?, ?, 'claimed', ?, ?)",
                    [subscription_id, day, token, now.isoformat()],
                )
                return Claim(subscription_id, local_date, token, retry=False)
            state, claimed_at = row
            if state != "claimed" or dt.datetime.fromisoformat(claimed_at) > now - self.lease:
                return None
            db.execute(
                "UPDATE deliveries SET token = ?, claimed_at = ?, attempts = attempts + 1 "
                "WHERE subscription_id = ? AND local_date = ?",
                [token, now.isoformat(), subscription_id, day],
            )
            return Claim(subscription_id, local_date, token, retry=True)

    def record(
        self, claim: Claim, outcome: Outcome, now: dt.datetime, message_ref: str | None = None
    ) -> bool:
        """Record how a claimed delivery ended; False when the claim was lost to another worker meanwhile."""
        with self.store.transaction() as db:
            cursor = db.execute(
                "UPDATE deliveries SET state = ?, finished_at = ?, message_ref = ? "
                "WHERE subscription_id = ? AND local_date = ? AND token = ?",
                [
                    outcome.value,
                    now.isoformat(),
                    message_ref,
                    claim.subscription_id,
                    claim.local_date.isoformat(),
                    claim.token,
                ],
            )
            return cursor.rowcount == 1

    def release(self, claim: Claim) -> None:
        """Give a claim back after a failed send, so the next pass retries it at once."""
        with self.store.transaction() as db:
            db.execute(
                "DELETE FROM deliveries WHERE subscription_id = ? AND local_date = ? AND token = ? "
                "AND state = 'claimed'",
                [claim.subscription_id, claim.local_date.isoformat(), claim.token],
            )

    def skip(self, subscription_id: int, local_date: dt.date, now: dt.datetime) -> bool:
        """Record a day found past its grace period as skipped; True the first time, so it is logged once."""
        with self.store.transaction() as db:
            cursor = db.execute(
                "INSERT INTO deliveries (subscription_id, local_date, state, token, claimed_at, finished_at) "
                "VALUES (?, ?, 'skipped', '', ?, ?) ON CONFLICT DO NOTHING",
                [subscription_id, local_date.isoformat(), now.isoformat(), now.isoformat()],
            )
            return cursor.rowcount == 1

    def entries(self, subscription_id: int) -> list[tuple[str, str, int]]:
        """(local date, state, attempts) of one subscription's deliveries, oldest first."""
        return self.store.db.execute(
            "SELECT local_date, state, attempts FROM deliveries WHERE subscription_id = ? "
            "ORDER BY local_date",
            [subscription_id],
        ).fetchall()

    def states(self, keys: list[tuple[int, dt.date]]) -> dict[tuple[int, dt.date], str]:
        """The ledger state of each (subscription, local date) that has one."""
        found: dict[tuple[int, dt.date], str] = {}
        dates = sorted({d for _, d in keys})
        for day in dates:
            for sub_id, state in self.store.db.execute(
                "SELECT subscription_id, state FROM deliveries WHERE local_date = ?", [day.isoformat()]
            ):
                found[(sub_id, day)] = state
        return found
