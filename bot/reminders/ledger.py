"""The delivery ledger: who delivers what, so that every digest reaches its channel exactly once.

One row per (subscription, local date). A pass **claims** the row before posting and **records** the outcome
after. A claim carries a lease that its owner renews while the post is in flight (rate-limit waits
included), so neither the same process nor another retakes a claim that is still working. Lease times come
from the real clock (never from `deliver --at`), so an operator's replay cannot make a live claim look stale.

A claim that ends without a recorded outcome is **uncertain**: the owner died, or the post failed in a way
that may still have reached the channel. It is retaken with `retry=True`, which tells the platform's
deliverer to look in the channel for the digest before posting. A deliverer that cannot look raises, and the
row stays uncertain: the ledger never lets a pass post blind. Past the grace period it is skipped.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from bot.backends import Backend
from bot.clock import Clock, utc_now

DEFAULT_LEASE = dt.timedelta(minutes=2)


def _stamp(moment: dt.datetime) -> str:
    # One fixed form in UTC, so lease times compare as text in both SQLite and PostgreSQL.
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


class Outcome(StrEnum):
    """How a day's delivery for one subscription ended."""

    SENT = "sent"
    EMPTY = "empty"  # nothing fell due that day; recorded so the day is not re-examined
    SKIPPED = "skipped"  # past the grace period and deliberately not sent


FINISHED = frozenset(o.value for o in Outcome)


# What a post is keyed by besides its subscription: a digest's local date, or an announced edit's id.
Key = TypeVar("Key", dt.date, int)


@dataclass(frozen=True)
class Claim(Generic[Key]):
    """The right to make one post to one subscription's channel: a day's digest, or an edit's announcement."""

    subscription_id: int
    key: Key
    token: str
    # True when an earlier attempt may have posted already: the deliverer must look before posting.
    retry: bool


class Ledger(Generic[Key]):
    """Claims with renewable leases and recorded outcomes, keyed by (subscription, key).

    Digests by (subscription, local date) in `deliveries` (`Ledger.digests`); the desk's announcements to
    `updates now` channels by (subscription, edit id) in `announcements` (`Ledger.announcements`), with the
    same guarantees.
    """

    def __init__(
        self,
        backend: Backend,
        lease: dt.timedelta = DEFAULT_LEASE,
        clock: Clock = utc_now,
        *,
        table: str,
        column: str,
    ):
        self.backend = backend
        self.lease = lease
        self.clock = clock
        self.table = table
        self.column = column
        self._where = f"subscription_id = ? AND {column} = ?"

    @staticmethod
    def digests(
        backend: Backend, lease: dt.timedelta = DEFAULT_LEASE, clock: Clock = utc_now
    ) -> Ledger[dt.date]:
        """The ledger of daily digests, by (subscription, local date)."""
        return Ledger[dt.date](backend, lease, clock, table="deliveries", column="local_date")

    @staticmethod
    def announcements(
        backend: Backend, lease: dt.timedelta = DEFAULT_LEASE, clock: Clock = utc_now
    ) -> Ledger[int]:
        """The ledger of the desk's posts to `updates now` channels, by (subscription, edit id)."""
        return Ledger[int](backend, lease, clock, table="announcements", column="edit_id")

    def claim(self, subscription_id: int, key: Key) -> Claim[Key] | None:
        """Claim the post, or None when it is finished or another owner's lease is still live."""
        token = secrets.token_hex(8)
        now = self.clock()
        where: list[int | str] = [subscription_id, _text(key)]
        with self.backend.transaction() as db:
            fresh = db.execute(
                f"INSERT INTO {self.table} (subscription_id, {self.column}, state, token, lease_until, "
                "claimed_at) "
                "VALUES (?, ?, 'claimed', ?, ?, ?) ON CONFLICT DO NOTHING",
                [*where, token, _stamp(now + self.lease), _stamp(now)],
            ).rowcount
            if fresh == 1:
                return Claim(subscription_id, key, token, retry=False)
            # One statement, so of two processes retaking the same stale claim exactly one succeeds.
            retaken = db.execute(
                f"UPDATE {self.table} SET state = 'claimed', token = ?, lease_until = ?, claimed_at = ?, "
                f"attempts = attempts + 1 WHERE {self._where} AND (state = 'uncertain' OR "
                "(state = 'claimed' AND lease_until < ?))",
                [token, _stamp(now + self.lease), _stamp(now), *where, _stamp(now)],
            ).rowcount
        return Claim(subscription_id, key, token, retry=True) if retaken == 1 else None

    def renew(self, claim: Claim[Key]) -> bool:
        """Extend a live claim's lease; False when it is no longer this owner's."""
        with self.backend.transaction() as db:
            return (
                db.execute(
                    f"UPDATE {self.table} SET lease_until = ? WHERE {self._where} AND token = ? "
                    "AND state = 'claimed'",
                    [_stamp(self.clock() + self.lease), *self._key(claim), claim.token],
                ).rowcount
                == 1
            )

    def record(self, claim: Claim[Key], outcome: Outcome, message_ref: str | None = None) -> bool:
        """Record how a claimed delivery ended; False when the claim was lost to another owner meanwhile."""
        with self.backend.transaction() as db:
            return (
                db.execute(
                    f"UPDATE {self.table} SET state = ?, finished_at = ?, message_ref = ? "
                    f"WHERE {self._where} AND token = ? AND state = 'claimed'",
                    [outcome.value, _stamp(self.clock()), message_ref, *self._key(claim), claim.token],
                ).rowcount
                == 1
            )

    def uncertain(self, claim: Claim[Key]) -> None:
        """Give up a claim whose post may or may not have happened: the next pass looks before posting."""
        with self.backend.transaction() as db:
            db.execute(
                f"UPDATE {self.table} SET state = 'uncertain', lease_until = ? WHERE {self._where} "
                "AND token = ? "
                "AND state = 'claimed'",
                [_stamp(self.clock()), *self._key(claim), claim.token],
            )

    def skip(self, subscription_id: int, key: Key) -> bool:
        """Record a day past its grace period as skipped; True the first time, so it is logged once.

        An uncertain day, or one whose owner's lease ran out, is skipped too; a live claim is left alone.
        """
        now = _stamp(self.clock())
        where: list[int | str] = [subscription_id, _text(key)]
        with self.backend.transaction() as db:
            inserted = db.execute(
                f"INSERT INTO {self.table} (subscription_id, {self.column}, state, token, lease_until, "
                "claimed_at, finished_at) VALUES (?, ?, 'skipped', '', ?, ?, ?) ON CONFLICT DO NOTHING",
                [*where, now, now, now],
            ).rowcount
            if inserted:
                return True
            return (
                db.execute(
                    f"UPDATE {self.table} SET state = 'skipped', finished_at = ? WHERE {self._where} AND "
                    "(state = 'uncertain' OR (state = 'claimed' AND lease_until < ?))",
                    [now, *where, now],
                ).rowcount
                == 1
            )

    def state(self, subscription_id: int, key: Key) -> str | None:
        """The state of one delivery (claimed, uncertain, sent, ...), or None when it has no row."""
        rows = self.backend.read(
            f"SELECT state FROM {self.table} WHERE {self._where}", [subscription_id, _text(key)]
        )
        return rows[0][0] if rows else None

    def entries(self, subscription_id: int) -> list[tuple[str, str, int]]:
        """(local date, state, attempts) of one subscription's deliveries, oldest first."""
        return [
            (r[0], r[1], r[2])
            for r in self.backend.read(
                "SELECT local_date, state, attempts FROM deliveries WHERE subscription_id = ? "
                "ORDER BY local_date",
                [subscription_id],
            )
        ]

    def first_date(self, subscription_id: int) -> dt.date | None:
        """The earliest local date with a ledger row for a subscription: from then on, passes ran for it."""
        rows = self.backend.read(
            "SELECT MIN(local_date) FROM deliveries WHERE subscription_id = ?", [subscription_id]
        )
        return dt.date.fromisoformat(str(rows[0][0])) if rows and rows[0][0] is not None else None

    def states(self, keys: list[tuple[int, dt.date]]) -> dict[tuple[int, dt.date], str]:
        """The ledger state of each (subscription, local date) that has one."""
        found: dict[tuple[int, dt.date], str] = {}
        if not keys:
            return found
        wanted = set(keys)
        days = sorted({d for _, d in keys})
        # One read for the whole span (a pass looks a week back for days an outage missed).
        for sub_id, day, state in self.backend.read(
            "SELECT subscription_id, local_date, state FROM deliveries "
            "WHERE local_date >= ? AND local_date <= ?",
            [days[0].isoformat(), days[-1].isoformat()],
        ):
            key = (int(sub_id), dt.date.fromisoformat(str(day)))
            if key in wanted:
                found[key] = state
        return found

    @staticmethod
    def _key(claim: Claim[Key]) -> list[object]:
        return [claim.subscription_id, _text(claim.key)]


def _text(key: dt.date | int) -> str:
    return key.isoformat() if isinstance(key, dt.date) else str(key)
