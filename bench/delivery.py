"""A delivery pass over every subscription, each due once, with a deliverer that posts nothing; and its floor,
the same ledger rows written in plain SQL batches."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any
from unittest import mock

from bot.cli import Bot

PLATFORMS = ("slack", "discord")
TRIVIAL_ROUNDS = 300


class NoopDeliverer:
    """Posts nothing and answers at once: what is left is the pass, the digests and the ledger."""

    async def deliver(self, subscription: Any, digest: Any, key: str, *, retry: bool) -> str:
        """The digest's key stands in for the message reference."""
        return key


def make_all_due(bot: Bot, now: dt.datetime) -> None:
    """Setup: an empty ledger and every subscription made 24 hours before `now`.

    With a 24-hour grace period each subscription then has exactly one local date due at `now` (its time in
    the last 24 hours) and none to skip.
    """
    with bot.backend.transaction() as db:
        db.execute("DELETE FROM deliveries")
        db.execute("UPDATE subscriptions SET created_at = ?", [(now - dt.timedelta(hours=24)).isoformat()])


def add_subscriptions(bot: Bot, total: int, now: dt.datetime) -> int:
    """Setup: copies of the generated subscriptions (each in a channel of its own, following everything)
    until there are `total`, in one transaction; the count."""
    existing = bot.subscriptions.all()
    missing = total - len(existing)
    if missing > 0 and existing:
        rows = [
            [s.platform, s.workspace, f"{s.channel}-copy{n}", s.local_time.strftime("%H:%M"), s.timezone,
             s.lead_days, s.created_by, now.isoformat()]
            for n in range(missing)
            for s in (existing[n % len(existing)],)
        ]  # fmt: skip
        with bot.backend.transaction() as db:
            db.executemany(
                "INSERT INTO subscriptions (platform, workspace, channel, local_time, timezone, lead_days, "
                "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
    return max(total, len(existing))


def drop_copies(bot: Bot) -> None:
    """Undo `add_subscriptions` and the ledger rows of the pass, so later sections see the generated set."""
    with bot.backend.transaction() as db:
        db.execute("DELETE FROM deliveries")
        db.execute("DELETE FROM subscriptions WHERE channel LIKE '%-copy%'")


def floor(bot: Bot, keys: list[tuple[int, dt.date]], batch: int) -> float:
    """Seconds to write the pass's ledger rows as plainly as SQL allows: per batch of `batch` keys, one
    transaction inserting the claims (`executemany`) and one marking them sent, on the same state store."""
    with bot.backend.transaction() as db:
        db.execute("DELETE FROM deliveries")
    stamp = dt.datetime.now(dt.UTC).isoformat()
    start = time.perf_counter()
    for first in range(0, len(keys), batch):
        rows = [(sub_id, day.isoformat()) for sub_id, day in keys[first : first + batch]]
        with bot.backend.transaction() as db:
            db.executemany(
                "INSERT INTO deliveries (subscription_id, local_date, state, token, lease_until, claimed_at) "
                f"VALUES (?, ?, 'claimed', 'floor', '{stamp}', '{stamp}')",
                rows,
            )
        with bot.backend.transaction() as db:
            db.executemany(
                f"UPDATE deliveries SET state = 'sent', finished_at = '{stamp}', message_ref = 'floor' "
                "WHERE subscription_id = ? AND local_date = ?",
                rows,
            )
    return time.perf_counter() - start


def measure(bot: Bot, now: dt.datetime) -> dict[str, Any]:
    """One pass at `now` with every subscription due: seconds, claims, the seconds inside the ledger, and
    the floor's seconds for the same rows."""
    make_all_due(bot, now)
    noop = NoopDeliverer()
    service = bot.delivery(dict.fromkeys(PLATFORMS, noop))
    service.grace = dt.timedelta(hours=24)
    ledger = bot.ledger
    inside = {"claim_many": 0.0, "record_many": 0.0}

    def timed(name: str):
        original = getattr(ledger, name)

        def call(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                inside[name] += time.perf_counter() - start

        return call

    with (
        mock.patch.object(ledger, "claim_many", timed("claim_many")),
        mock.patch.object(ledger, "record_many", timed("record_many")),
    ):
        start = time.perf_counter()
        report = asyncio.run(service.run_pass(now))
        seconds = time.perf_counter() - start
    claims = len(report.sent) + len(report.empty)
    return {
        "seconds": seconds,
        "claims": claims,
        "sent": len(report.sent),
        "empty": len(report.empty),
        "skipped": len(report.skipped),
        "failed": len(report.failed),
        "claim_seconds": inside["claim_many"],
        "record_seconds": inside["record_many"],
        "batch": service.batch,
        "floor_seconds": floor(bot, [*report.sent, *report.empty], service.batch),
        "transaction_seconds": trivial_transaction(bot),
        "commit_seconds": trivial_commit(bot),
    }


def trivial_transaction(bot: Bot, rounds: int = TRIVIAL_ROUNDS) -> float:
    """Seconds per transaction of one `SELECT 1` on the state store: its round trips, and nothing written."""
    start = time.perf_counter()
    for _ in range(rounds):
        with bot.backend.transaction() as db:
            db.execute("SELECT 1").fetchone()
    return (time.perf_counter() - start) / rounds


def trivial_commit(bot: Bot, rounds: int = TRIVIAL_ROUNDS) -> float:
    """Seconds per transaction writing one row on the state store (a key of the benchmark's own in
    `state_meta`, a throwaway database's): a durable commit's cost."""
    start = time.perf_counter()
    for n in range(rounds):
        with bot.backend.transaction() as db:
            db.execute(
                "INSERT INTO state_meta (key, value) VALUES ('bench_commit', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [str(n)],
            )
    return (time.perf_counter() - start) / rounds
