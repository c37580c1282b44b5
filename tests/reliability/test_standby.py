"""Hot standby: two `python -m bot worker` processes on one state store, and a worker that loses its lease.

1. On the same PostgreSQL database (each worker with its own local SQLite file, as two dynos would have) and
   on the same SQLite file (one host): the second worker logs "standing by", keeps asking for the scheduler
   lease, and opens no Discord gateway connection (the fake counts connections and IDENTIFYs) and no Slack
   Socket Mode connection (the fake counts apps.connections.open). kill -9 of the first: its lease runs out
   (`PLEDGEBOT_LEASE_SECONDS`, 1 s here) and the second takes it within the retry interval
   (`PLEDGEBOT_STANDBY_RETRY_SECONDS`, 0.5 s here) after that, then connects.
2. PostgreSQL: every connection of the leader is ended by the server (pg_terminate_backend): it keeps
   leading, since the lease lives in a row, not in a session (as behind PgBouncer in transaction mode). When
   the lease row is taken over, the leader logs that it lost the lock and exits 1, and the standby takes over.
"""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest

from tests.fakes.discord_api import FakeDiscord
from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN, FakeSlack
from tests.reliability.processes import Bot, poll

pytestmark = pytest.mark.soak

DISCORD_TOKEN = "standby-test-token"
RETRY = 0.5  # PLEDGEBOT_STANDBY_RETRY_SECONDS in these tests
LEASE = 1.0  # PLEDGEBOT_LEASE_SECONDS
# The lease of the test whose leader reconnects after the server ends its connections: a loaded machine
# (the suite on 2 cores) can take over a second to reconnect, and 1 s would then lapse, correctly.
KEEP_LEASE = 8.0
HOLDING = "holding the scheduler lock"
STANDING_BY = "standing by"
ASKING_AGAIN = "the scheduler lock is still taken"
LOST = "lost the scheduler lock"
# A standby must ask again at least this many times while the leader runs, connecting nothing.
RETRIES_OBSERVED = 4


def identifies(fake: FakeDiscord) -> int:
    return len(fake.gateway_received.matching(lambda m: m.get("op") == 2))


def socket_opens(slack: FakeSlack) -> int:
    return len(slack.calls_to("apps.connections.open"))


def worker_env(
    fake: FakeDiscord, slack: FakeSlack, db: Path, url: str | None, lease: float = LEASE
) -> dict[str, str]:
    env = {
        "PLEDGEBOT_DB": str(db),
        "PLEDGEBOT_STANDBY_RETRY_SECONDS": str(RETRY),
        "PLEDGEBOT_LEASE_SECONDS": str(lease),
        "DISCORD_TOKEN": DISCORD_TOKEN,
        "DISCORD_API_BASE": fake.base_url,
        "DISCORD_GUILD_IDS": str(fake.guild_id),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": slack.api_url,
        # DEBUG shows each of the standby's retries, which the test counts.
        "LOG_LEVEL": "DEBUG",
    }
    if url is not None:
        env["DATABASE_URL"] = url
    return env


def lease(url: str) -> tuple[str, int, str]:
    """The scheduler's lease row: (holder, fencing number, expiry)."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT holder, fence, expires_at FROM leases WHERE name = 'scheduler'").fetchone()
    return row[0], row[1], row[2]


async def start_pair(
    fake: FakeDiscord, slack: FakeSlack, folder: Path, url: str | None, lease: float = LEASE
) -> tuple[Bot, Bot]:
    """A leader, connected, and a standby that has asked for the lock several times, connecting nothing."""
    # On PostgreSQL each worker has a local file of its own (two dynos); on SQLite they share the file.
    dbs = [folder / "w1.db", folder / "w2.db"] if url else [folder / "p.db"] * 2
    first = await Bot.start(["worker"], worker_env(fake, slack, dbs[0], url, lease), folder)
    await first.wait_for_line(HOLDING)
    await fake.wait_identified(timeout=30)
    await slack.wait_connected(timeout=30)
    second = await Bot.start(["worker"], worker_env(fake, slack, dbs[1], url, lease), folder)
    await second.wait_for_line(STANDING_BY)
    await poll(
        lambda: second.log.count(ASKING_AGAIN) >= RETRIES_OBSERVED,
        RETRIES_OBSERVED * RETRY + 20,
        "the standby to ask for the lock again",
    )
    assert HOLDING not in second.log, second.log
    assert (len(fake.connections), identifies(fake), socket_opens(slack)) == (1, 1, 1)
    return first, second


async def test_a_standby_worker_connects_nothing_and_takes_over_within_the_retry_interval(
    state_backend: str, state_url: str | None, tmp_path: Path, figures
):
    fake = FakeDiscord(token=DISCORD_TOKEN)
    await fake.start()
    bots: list[Bot] = []
    try:
        async with FakeSlack() as slack:
            first, second = await start_pair(fake, slack, tmp_path, state_url)
            bots += [first, second]
            seen = len(fake.gateway_received)
            killed = time.monotonic()
            first.kill()
            assert await first.wait(10) == -9
            await second.wait_for_line(HOLDING, timeout=LEASE + RETRY + 10)
            took_lock = time.monotonic() - killed
            await fake.wait_identified(timeout=30, after=seen)
            await poll(lambda: socket_opens(slack) == 2, 30, "the standby's Socket Mode connection")
            await slack.wait_connected(timeout=30)
            connected = time.monotonic() - killed
            assert (len(fake.connections), identifies(fake)) == (2, 2)
            assert socket_opens(slack) == 2
            code, _ = await second.stop()
            assert code == 0, second.log
    finally:
        for bot in bots:
            await bot.close()
        await fake.close()
    for bot in bots:
        assert "Traceback" not in bot.log, bot.log
        assert all(s not in bot.log for s in (BOT_TOKEN, APP_TOKEN, DISCORD_TOKEN))
    # The lease runs out at most LEASE after the dead leader's last renewal, and the standby holds it at its
    # next ask: within the lease and one retry interval, plus a little for the ask itself.
    assert took_lock < LEASE + RETRY + 1.0, f"took the lock {took_lock:.2f} s after the kill"
    figures.add(f"standby.{state_backend}.takeover_lock_ms", int(took_lock * 1000))
    figures.add(f"standby.{state_backend}.takeover_connected_ms", int(connected * 1000))
    print(f"\n{state_backend}: lock taken {took_lock:.2f} s, connected {connected:.2f} s after kill -9")


async def test_a_leader_keeps_its_lease_without_its_connections_and_exits_1_when_it_is_taken_over(
    tmp_path: Path, database_url: str, figures
):
    fake = FakeDiscord(token=DISCORD_TOKEN)
    await fake.start()
    bots: list[Bot] = []
    try:
        async with FakeSlack() as slack:
            first, second = await start_pair(fake, slack, tmp_path, database_url, KEEP_LEASE)
            bots += [first, second]
            holder, fence, _ = lease(database_url)
            with psycopg.connect(database_url, autocommit=True) as admin:
                ended = admin.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).fetchone()[0]
            assert ended >= 1
            cut = lease(database_url)[2]
            # Renewed since on new pooled connections, by the same holder under the same number.
            await poll(lambda: lease(database_url)[2] > cut, 3 * KEEP_LEASE + 20, "a renewal after the cut")
            assert lease(database_url)[:2] == (holder, fence)
            assert LOST not in first.log and HOLDING not in second.log
            seen = len(fake.gateway_received)
            # An operator (or a leader that thought the lease free) takes the row over.
            with psycopg.connect(database_url, autocommit=True) as admin:
                admin.execute(
                    "UPDATE leases SET holder = 'operator', fence = fence + 1 WHERE name = 'scheduler'"
                )
            taken = time.monotonic()
            code = await first.wait(KEEP_LEASE + 20)
            stopped = time.monotonic() - taken
            await second.wait_for_line(HOLDING, timeout=KEEP_LEASE + RETRY + 10)
            await fake.wait_identified(timeout=30, after=seen)
            assert lease(database_url)[1] == fence + 2
            code2, _ = await second.stop()
            assert code2 == 0, second.log
    finally:
        for bot in bots:
            await bot.close()
        await fake.close()
    assert code == 1, first.log
    assert LOST in first.log, first.log
    # No "Traceback" check here: ending every connection can also fail the journal follower's read once,
    # which it logs with its traceback and retries.
    figures.add("standby.postgres.lease_lost_exit_ms", int(stopped * 1000))
    print(f"\nlease taken over: the leader exited 1 after {stopped:.2f} s")
