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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from bot.backends import Backend
from bot.clock import Clock, utc_now

DEFAULT_LEASE = dt.timedelta(minutes=2)


def timestamp(moment: dt.datetime) -> str:
    """A moment as the ledger and the lease store it."""
    # One fixed form in UTC, so lease times compare as text in both SQLite and PostgreSQL.
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


class Outcome(StrEnum):
    """How a day's delivery for one subscription ended."""

    SENT = "sent"
    EMPTY = "empty"  # nothing fell due that day; recorded so the day is not re-examined
    SKIPPED = "skipped"  # past the grace period and deliberately not sent


FINISHED = frozenset(o.value for o in Outcome)


@dataclass(frozen=True)
class Fence:
    """The scheduler's lease a claim is made under: its name and fencing number (bot/leadership.py)."""

    name: str
    number: int


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


def _text(key: dt.date | int) -> str:
    return key.isoformat() if isinstance(key, dt.date) else str(key)


# Rows per statement: a batch of claims or records is a handful of statements whatever its size, each
# well inside SQLite's 32,766 and PostgreSQL's 65,535 parameters.
CHUNK = 1000
T = TypeVar("T")


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _values(rows: list[list[object]]) -> tuple[str, list[object]]:
    """`(VALUES (?, ?), ...) AS v` for `rows` (columns column1, column2, ... on both engines) and its
    parameters."""
    one = "(" + ", ".join("?" * len(rows[0])) + ")"
    return f"(VALUES {', '.join([one] * len(rows))}) AS v", [p for row in rows for p in row]


def _guard(fence: Fence | None, stamp: str) -> tuple[str, list[object]]:
    """The condition a fenced write carries: the lease is still `fence`'s number and has not run out."""
    if fence is None:
        return "1 = 1", []
    return (
        "EXISTS (SELECT 1 FROM leases WHERE name = ? AND fence = ? AND expires_at > ?)",
        [fence.name, fence.number, stamp],
    )


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
        # A row of this table against the `v` of a VALUES list of (subscription id, key, ...).
        self._keys = f"subscription_id, {column}"
        self._joined = f"{table}.subscription_id = v.column1 AND {table}.{column} = v.column2"

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

    def claim(self, subscription_id: int, key: Key, fence: Fence | None = None) -> Claim[Key] | None:
        """Claim one post, or None when it is finished or another owner's lease is still live."""
        claims = self.claim_many([(subscription_id, key)], fence)
        return claims[0] if claims else None

    def claim_many(self, keys: Sequence[tuple[int, Key]], fence: Fence | None = None) -> list[Claim[Key]]:
        """Claim every post of `keys` that is free, in one transaction of two statements: new rows inserted
        (the unique key turning away any another owner made meanwhile), then uncertain or stale claims
        retaken. A claim whose lease is live is left to its owner, unless `fence` is the scheduler's lease
        and that owner claimed under an older one: a leader that lost its lease posts nothing more.

        With `fence`, both statements write nothing unless that lease is still current and unexpired,
        checked in the statement itself, so a paused leader that wakes cannot claim after a takeover.
        """
        if not keys:
            return []
        token = secrets.token_hex(8)
        now = self.clock()
        stamp, until = timestamp(now), timestamp(now + self.lease)
        number = fence.number if fence is not None else 0
        guard_params: list[object]
        guard, guard_params = _guard(fence, stamp)
        claims: list[Claim[Key]] = []
        with self.backend.transaction() as db:
            for chunk in _chunks(keys):
                wanted = {(s, _text(k)): (s, k) for s, k in chunk}
                params: list[object]
                rows, params = _values([[s, t] for s, t in wanted])
                fresh = {
                    (int(r[0]), str(r[1]))
                    for r in db.execute(
                        f"INSERT INTO {self.table} ({self._keys}, state, token, lease_until, "
                        f"claimed_at, fence) SELECT v.column1, v.column2, 'claimed', ?, ?, ?, ? FROM {rows} "
                        f"WHERE {guard} ON CONFLICT DO NOTHING RETURNING {self._keys}",
                        [token, until, stamp, number, *params, *guard_params],
                    ).fetchall()
                }
                claims += [Claim(*wanted[k], token, retry=False) for k in wanted if k in fresh]
                rest = [k for k in wanted if k not in fresh]
                if not rest:
                    continue
                rows, params = _values([list(k) for k in rest])
                # One statement, so of two processes retaking the same stale claim exactly one succeeds.
                retaken = db.execute(
                    f"UPDATE {self.table} SET state = 'claimed', token = ?, lease_until = ?, claimed_at = ?, "
                    f"fence = ?, attempts = attempts + 1 FROM {rows} WHERE {self._joined} AND "
                    f"({self.table}.state = 'uncertain' OR ({self.table}.state = 'claimed' AND "
                    f"({self.table}.lease_until < ? OR {self.table}.fence < ?))) AND {guard} "
                    f"RETURNING {self._keys}",
                    [token, until, stamp, number, *params, stamp, number, *guard_params],
                ).fetchall()
                claims += [Claim(*wanted[(int(r[0]), str(r[1]))], token, retry=True) for r in retaken]
        return claims

    def renew(self, claim: Claim[Key]) -> bool:
        """Extend a live claim's lease; False when it is no longer this owner's."""
        return bool(self.renew_many([claim]))

    def renew_many(self, claims: Sequence[Claim[Key]]) -> list[Claim[Key]]:
        """Extend the leases of live claims in one transaction; the claims that are still this owner's."""
        until = timestamp(self.clock() + self.lease)
        return self._update(
            claims, "lease_until = ?", [until], f"{self.table}.state = 'claimed'", returning=True
        )

    def record(self, claim: Claim[Key], outcome: Outcome, message_ref: str | None = None) -> bool:
        """Record how a claimed delivery ended; False when the claim was lost to another owner meanwhile."""
        return not self.record_many([(claim, outcome, message_ref)])

    def record_many(self, outcomes: Sequence[tuple[Claim[Key], Outcome, str | None]]) -> list[Claim[Key]]:
        """Record how claimed deliveries ended, in one transaction; the claims lost to another owner
        meanwhile (nothing recorded for them)."""
        if not outcomes:
            return []
        stamp = timestamp(self.clock())
        lost: list[Claim[Key]] = []
        with self.backend.transaction() as db:
            for chunk in _chunks(outcomes):
                by_key = {(c.subscription_id, _text(c.key)): c for c, _, _ in chunk}
                params: list[object]
                rows, params = _values(
                    [[c.subscription_id, _text(c.key), c.token, o.value, ref] for c, o, ref in chunk]
                )
                done = db.execute(
                    f"UPDATE {self.table} SET state = v.column4, finished_at = ?, message_ref = v.column5 "
                    f"FROM {rows} WHERE {self._joined} AND {self.table}.token = v.column3 AND "
                    f"{self.table}.state = 'claimed' RETURNING {self._keys}",
                    [stamp, *params],
                ).fetchall()
                recorded = {(int(r[0]), str(r[1])) for r in done}
                lost += [c for k, c in by_key.items() if k not in recorded]
        return lost

    def uncertain(self, claim: Claim[Key]) -> None:
        """Give up a claim whose post may or may not have happened: the next pass looks before posting."""
        self.uncertain_many([claim])

    def uncertain_many(self, claims: Sequence[Claim[Key]]) -> None:
        """`uncertain` for several claims, in one transaction."""
        self._update(
            claims,
            "state = 'uncertain', lease_until = ?",
            [timestamp(self.clock())],
            f"{self.table}.state = 'claimed'",
        )

    def release_many(self, claims: Sequence[Claim[Key]]) -> None:
        """Give back claims whose posts were never tried (a pass stopped early): a new claim's row goes, so
        the next pass claims it afresh without looking; a retaken one is uncertain again, as it was."""
        fresh = [c for c in claims if not c.retry]
        with self.backend.transaction() as db:
            for chunk in _chunks(fresh):
                values: list[object]
                rows, values = _values([[c.subscription_id, _text(c.key), c.token] for c in chunk])
                db.execute(
                    f"DELETE FROM {self.table} WHERE state = 'claimed' AND (subscription_id, {self.column}, "
                    f"token) IN (SELECT column1, column2, column3 FROM {rows})",
                    values,
                )
        self.uncertain_many([c for c in claims if c.retry])

    def _update(
        self,
        claims: Sequence[Claim[Key]],
        assignments: str,
        params: list[object],
        condition: str,
        *,
        returning: bool = False,
    ) -> list[Claim[Key]]:
        """One UPDATE of `claims` still held under their tokens, per chunk, in one transaction; with
        `returning`, the claims it changed."""
        changed: list[Claim[Key]] = []
        if not claims:
            return changed
        with self.backend.transaction() as db:
            for chunk in _chunks(claims):
                by_key = {(c.subscription_id, _text(c.key)): c for c in chunk}
                values: list[object]
                rows, values = _values([[c.subscription_id, _text(c.key), c.token] for c in chunk])
                found = db.execute(
                    f"UPDATE {self.table} SET {assignments} FROM {rows} WHERE {self._joined} AND "
                    f"{self.table}.token = v.column3 AND {condition} RETURNING {self._keys}",
                    [*params, *values],
                ).fetchall()
                if returning:
                    changed += [by_key[(int(r[0]), str(r[1]))] for r in found]
        return changed

    def skip(self, subscription_id: int, key: Key, fence: Fence | None = None) -> bool:
        """Record a day past its grace period as skipped; True the first time, so it is logged once.

        An uncertain day, or one whose owner's lease ran out, is skipped too; a live claim is left alone.
        """
        return bool(self.skip_many([(subscription_id, key)], fence))

    def skip_many(self, keys: Sequence[tuple[int, Key]], fence: Fence | None = None) -> list[tuple[int, Key]]:
        """`skip` for several days in one transaction (under `fence`, as `claim_many`); the keys skipped
        now."""
        if not keys:
            return []
        stamp = timestamp(self.clock())
        guard_params: list[object]
        guard, guard_params = _guard(fence, stamp)
        skipped: list[tuple[int, Key]] = []
        with self.backend.transaction() as db:
            for chunk in _chunks(keys):
                wanted = {(s, _text(k)): (s, k) for s, k in chunk}
                params: list[object]
                rows, params = _values([list(k) for k in wanted])
                fresh = {
                    (int(r[0]), str(r[1]))
                    for r in db.execute(
                        f"INSERT INTO {self.table} ({self._keys}, state, token, lease_until, "
                        f"claimed_at, finished_at) SELECT v.column1, v.column2, 'skipped', '', ?, ?, ? FROM "
                        f"{rows} WHERE {guard} ON CONFLICT DO NOTHING RETURNING {self._keys}",
                        [stamp, stamp, stamp, *params, *guard_params],
                    ).fetchall()
                }
                rest = [k for k in wanted if k not in fresh]
                retaken: set[tuple[int, str]] = set()
                if rest:
                    rows, params = _values([list(k) for k in rest])
                    retaken = {
                        (int(r[0]), str(r[1]))
                        for r in db.execute(
                            f"UPDATE {self.table} SET state = 'skipped', finished_at = ? FROM {rows} WHERE "
                            f"{self._joined} AND ({self.table}.state = 'uncertain' OR ({self.table}.state = "
                            f"'claimed' AND {self.table}.lease_until < ?)) AND {guard} "
                            f"RETURNING {self._keys}",
                            [stamp, *params, stamp, *guard_params],
                        ).fetchall()
                    }
                skipped += [wanted[k] for k in wanted if k in fresh or k in retaken]
        return skipped

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

    def first_dates(self) -> dict[int, dt.date]:
        """The earliest local date with a ledger row of each subscription: from then on, passes ran for it."""
        return {
            int(sub_id): dt.date.fromisoformat(str(day))
            for sub_id, day in self.backend.read(
                "SELECT subscription_id, MIN(local_date) FROM deliveries GROUP BY subscription_id", []
            )
        }

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
