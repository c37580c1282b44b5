"""kill -9 at every step of a delivery, restart, and prove no digest is lost and none is posted twice.

Each run subscribes a few Slack channels in a fresh database and runs the real `python -m bot deliver --at`
against the fake Slack. The fake knows the order in which the process will call it (one
conversations.history per retaken claim, one chat.postMessage per digest not yet in the channel), so it
can SIGKILL the process at a chosen step:

- claimed:     the process has claimed channel k and sent chat.postMessage; killed before the fake posts it;
- sent:        the fake has posted the message, then kills the process before it can read the answer;
- recorded:    the ledger says 'sent' for channel k; killed on the process's next request;
- retry-check: a restarted process is checking conversations.history for a stale claim; killed there.

Then the pass is run again, with `--at` moved on, until a pass finishes. Claim leases run on the real clock
(never on `--at`), so each process gets a lease of seconds (`PLEDGEBOT_CLAIM_LEASE_SECONDS`): usually a
short one that the test waits out before the restart, so stale claims are retaken, sometimes a longer one
that the restart comes within, so a live claim must be left alone. At the end every channel holds exactly
one digest under its key and the ledger says 'sent' for each, with the message's ts. Kill points are drawn
from a seeded random generator; the fast profile runs a few runs in `make test`, `make soak`
(PLEDGEBOT_PROFILE=long) runs many more.

The test runs on both state stores: the ledger in the SQLite file, and in a PostgreSQL database
(`DATABASE_URL`, a fresh database per run on the suite's server) with the catalogue still in the file.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from adapters.slack_app.delivery import EVENT_TYPE
from bot.reminders.delivery import digest_key
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlack
from tests.postgres import PostgresServer
from tests.reliability.processes import Bot, StateDB, prepare_db, profile

pytestmark = pytest.mark.soak

SEED = 20260526
RUNS = {"sqlite": profile(fast=6, long=120), "postgres": profile(fast=3, long=120)}
MAX_KILLS = profile(fast=3, long=5)
DAY = dt.date(2026, 5, 26)
START = dt.datetime(2026, 5, 26, 9, 5, tzinfo=dt.timezone(dt.timedelta(hours=9)))
# The lease of a process the test restarts after its lease (waited out), and of one it restarts within it.
SHORT_LEASE = dt.timedelta(seconds=0.5)
LEASE = dt.timedelta(seconds=3)
# A restart within the lease is only made while every live claim has this long still to run: much more than
# a process needs to start and claim, so the planner never races the clock. Closer to expiry, the test waits
# the lease out instead.
MARGIN = dt.timedelta(seconds=1.5)
KINDS = ("claimed", "sent", "recorded", "retry-check")


@dataclass
class Kill:
    """Where to SIGKILL this life of the process: before or after the fake answers request `position`."""

    kind: str
    position: int
    after: bool
    channel: str


@dataclass
class Life:
    """One process run: the requests it is expected to make and where it dies, if it does."""

    bot: Bot | None = None
    plan: Kill | None = None
    seen: int = 0
    killed: bool = False
    ready: asyncio.Event = field(default_factory=asyncio.Event)


class CrashingSlack(FakeSlack):
    """The fake Slack, which can SIGKILL the process under test at its n-th Web API request."""

    def __init__(self, db: StateDB) -> None:
        super().__init__()
        self.db = db
        self.life = Life()
        self.at_kill: list[tuple[str, str, str | None, bool]] = []

    async def _api(self, request: web.Request) -> web.Response:
        life = self.life
        await asyncio.wait_for(life.ready.wait(), 10)
        position = life.seen
        life.seen += 1
        plan = life.plan
        if plan is None or plan.position != position or life.killed:
            return await super()._api(request)
        if plan.after:
            response = await super()._api(request)
            await self._kill(life, plan)
            return response
        await self._kill(life, plan)
        # The process is dead: nobody reads this, and the fake did not post anything.
        return web.json_response({"ok": False, "error": "fatal_error"}, status=503)

    async def _kill(self, life: Life, plan: Kill) -> None:
        assert life.bot is not None
        life.bot.kill()
        await life.bot.process.wait()
        life.killed = True
        state = ledger_rows(self.db).get(plan.channel, (None, None))[0]
        self.at_kill.append((plan.kind, plan.channel, state, bool(digests(self, plan.channel))))


def ledger_rows(db: StateDB) -> dict[str, tuple[str, str | None, str]]:
    """{channel: (state, message_ref, lease_until)} from the database, read by the test."""
    rows = db.rows(
        "SELECT s.channel, d.state, d.message_ref, d.lease_until FROM deliveries d "
        "JOIN subscriptions s ON s.id = d.subscription_id"
    )
    return {channel: (state, ref, lease) for channel, state, ref, lease in rows}


def live_leases(db: StateDB) -> list[dt.datetime]:
    """When each claim in the ledger runs out (a claim is retaken once its lease has passed)."""
    return [
        dt.datetime.fromisoformat(lease) for state, _, lease in ledger_rows(db).values() if state == "claimed"
    ]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def wait_out_leases(db: StateDB) -> None:
    """Sleep until every claim's lease has run out on the real clock."""
    leases = live_leases(db)
    if leases:
        await asyncio.sleep(max(0.0, (max(leases) - utc_now()).total_seconds()) + 0.05)


def safe_to_restart_within(db: StateDB) -> bool:
    """True when every claim has either run out already or has more than MARGIN still to run."""
    now = utc_now()
    return all(lease < now or lease >= now + MARGIN for lease in live_leases(db))


def subscription_ids(db: StateDB) -> dict[str, int]:
    return dict(db.rows("SELECT channel, id FROM subscriptions"))


def digests(slack: FakeSlack, channel: str) -> list[dict[str, Any]]:
    """The digest messages in `channel` (any key)."""
    return [
        m
        for m in slack.messages.get(channel, [])
        if (m.get("metadata") or {}).get("event_type") == EVENT_TYPE
    ]


def expected_requests(
    slack: FakeSlack, db: StateDB, channels: list[str], now: dt.datetime
) -> list[tuple[str, str]]:
    """The Web API calls a `deliver --at` pass started after `now` (the real time) will make, in order:
    (method, channel). Uncertain claims and claims whose lease ran out by `now` are retaken and checked."""
    rows = ledger_rows(db)
    calls: list[tuple[str, str]] = []
    for channel in channels:  # subscriptions are passed in id order, which is the channels' order
        state, _, lease_until = rows.get(channel, (None, None, None))
        if state is None:
            calls.append(("chat.postMessage", channel))
        elif state == "uncertain" or (state == "claimed" and dt.datetime.fromisoformat(lease_until) < now):
            calls.append(("conversations.history", channel))
            if not digests(slack, channel):
                calls.append(("chat.postMessage", channel))
    return calls


def choose_kill(
    rng: random.Random, calls: list[tuple[str, str]], wanted: set[str] | None = None
) -> Kill | None:
    """A kill point this life can reach, of a kind drawn at random (from the `wanted` kinds, when this life
    can reach any of them)."""
    options: list[Kill] = []
    for i, (method, channel) in enumerate(calls):
        if method == "chat.postMessage":
            options.append(Kill("claimed", i, False, channel))
            options.append(Kill("sent", i, True, channel))
            if i + 1 < len(calls):
                options.append(Kill("recorded", i + 1, False, channel))
        else:
            options.append(Kill("retry-check", i, rng.random() < 0.5, channel))
    if not options:
        return None
    kinds = sorted({o.kind for o in options})
    if wanted and wanted & set(kinds):
        kinds = sorted(wanted & set(kinds))
    kind = rng.choice(kinds)
    return rng.choice([o for o in options if o.kind == kind])


def env_for(slack: FakeSlack, db: StateDB, lease: dt.timedelta = LEASE) -> dict[str, str]:
    return {
        **db.env(),
        "PLEDGEBOT_CLAIM_LEASE_SECONDS": str(lease.total_seconds()),
        # One digest per batch and one post in flight: the planner predicts every request in order, and a
        # kill after "recorded" finds the record written. Batches interrupted midway: test_batch_crash.py.
        "PLEDGEBOT_DELIVERY_BATCH": "1",
        "PLEDGEBOT_DELIVERY_CONCURRENCY": "1",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
    }


async def crash_run(
    run: int, rng: random.Random, folder: Path, url: str | None = None, wanted: set[str] | None = None
) -> Counter[str]:
    """One run: subscribe channels, deliver with kills until a pass completes, check exactly-once.

    `wanted`: kill kinds to prefer while none of them has been hit (so a short profile still hits each)."""
    wanted = set(wanted or ())
    folder.mkdir()
    db = StateDB(folder / "p.db", url)
    channels = [f"C{run:04d}X{i}" for i in range(rng.randint(2, 5))]
    prepare_db(db.path, channels, database_url=url)
    figures: Counter[str] = Counter()
    kills_left = rng.randint(1, MAX_KILLS)
    at = START
    within = False
    async with CrashingSlack(db) as slack:
        for _ in range(MAX_KILLS + 20):
            # Usually past every lease, so a dead process's claims are retaken; sometimes within it.
            if not within or not safe_to_restart_within(db):
                await wait_out_leases(db)
            # Whether the restart after this life comes within its lease, drawn now so the lease suits it.
            within = rng.random() >= 0.8
            now = utc_now()
            if any(lease >= now for lease in live_leases(db)):
                figures["restarts within a lease"] += 1
            calls = expected_requests(slack, db, channels, now)
            life = Life(plan=choose_kill(rng, calls, wanted) if kills_left else None)
            if life.plan is not None:
                wanted.discard(life.plan.kind)
            slack.life = life
            env = env_for(slack, db, LEASE if within else SHORT_LEASE)
            bot = await Bot.start(["deliver", "--at", at.isoformat()], env, folder)
            life.bot = bot
            life.ready.set()
            try:
                code = await bot.wait(60)
            finally:
                await bot.close()
            figures["processes"] += 1
            assert BOT_TOKEN not in bot.log and SIGNING_SECRET not in bot.log
            if life.killed:
                assert code == -9, bot.log
                kills_left -= 1
                figures[f"killed after {life.plan.kind}"] += 1
                figures["kills"] += 1
            else:
                assert code == 0, f"{bot.stdout}\n{bot.log}"
                assert bot.stdout.startswith("Delivery pass:"), bot.stdout
                # The planner's model of the pass was right: a planned kill point is always reached.
                assert life.plan is None, f"kill point {life.plan} never reached:\n{bot.log}"
                states = [s for s, _, _ in ledger_rows(db).values()]
                if len(states) == len(channels) and set(states) == {"sent"}:
                    break
            # The operator runs the pass again a little later (`--at` moves on; leases do not follow it).
            at += dt.timedelta(minutes=1)
        else:
            raise AssertionError(f"run {run}: no pass completed; ledger {ledger_rows(db)}")

        # What the fake saw at each kill is the step it was meant to be.
        for kind, channel, state, posted in slack.at_kill:
            if kind == "claimed":
                assert (state, posted) == ("claimed", False), (kind, channel, state, posted)
            elif kind == "sent":
                assert (state, posted) == ("claimed", True), (kind, channel, state, posted)
            elif kind == "recorded":
                assert (state, posted) == ("sent", True), (kind, channel, state, posted)
            else:
                assert state == "claimed", (kind, channel, state, posted)

        # Exactly once: one digest per channel, under its key, and the ledger points at it.
        ids = subscription_ids(db)
        rows = ledger_rows(db)
        for channel in channels:
            found = digests(slack, channel)
            assert len(found) == 1, f"run {run}: {channel} holds {len(found)} digests"
            assert found[0]["metadata"]["event_payload"]["key"] == digest_key(ids[channel], DAY)
            assert len(slack.messages[channel]) == 1
            state, ref, _ = rows[channel]
            assert (state, ref) == ("sent", found[0]["ts"]), (channel, rows[channel])
        figures["digests"] += len(channels)
        figures["posts attempted"] += len(slack.calls_to("chat.postMessage"))
        figures["retry checks"] += len(slack.calls_to("conversations.history"))
    return figures


async def test_kill_9_at_every_step_of_a_delivery_loses_and_duplicates_nothing(
    state_backend: str, tmp_path: Path, request: pytest.FixtureRequest, figures
):
    server: PostgresServer | None = None
    if state_backend == "postgres":
        server = request.getfixturevalue("postgres_server")
    rng = random.Random(SEED)
    runs = RUNS[state_backend]
    totals: Counter[str] = Counter()
    for run in range(runs):
        # A fresh PostgreSQL database per run, as each run has a fresh SQLite file.
        name = server.create_database() if server is not None else None
        try:
            url = server.url(name) if server is not None and name is not None else None
            # PostgreSQL runs fewer runs, so its kill points go to kinds not yet hit first.
            wanted = {k for k in KINDS if not totals[f"killed after {k}"]} if server is not None else None
            folder = tmp_path / f"run{run}"
            totals.update(await crash_run(run, random.Random(rng.random()), folder, url, wanted))
        finally:
            if server is not None and name is not None:
                server.drop_database(name)
    totals["runs"] = runs
    prefix = "crash" if state_backend == "sqlite" else "crash.postgres"
    for name, count in totals.items():
        figures.add(f"{prefix}.{name.replace(' ', '_')}", count)
    print(f"\ncrash figures ({state_backend}, seed {SEED}): {json.dumps(dict(sorted(totals.items())))}")
    for kind in KINDS:
        assert totals[f"killed after {kind}"] > 0, f"no kill after {kind} in {runs} runs: {totals}"


def test_expected_requests_follow_the_ledger(tmp_path: Path):
    """The kill planner's model of a pass: new claims post, stale and uncertain claims check first, live
    ones wait."""
    db = StateDB(tmp_path / "p.db")
    prepare_db(db.path, ["CA", "CB", "CC", "CD", "CE"])
    ids = subscription_ids(db)
    now = utc_now()
    stale, live = (now - dt.timedelta(seconds=1)).isoformat(), (now + LEASE).isoformat()
    conn = sqlite3.connect(db.path)
    with conn:
        conn.execute(
            "INSERT INTO deliveries (subscription_id, local_date, state, token, lease_until, claimed_at) "
            "VALUES (?, ?, 'sent', 't', ?, ?), (?, ?, 'claimed', 't', ?, ?), (?, ?, 'claimed', 't', ?, ?), "
            "(?, ?, 'uncertain', 't', ?, ?)",
            [
                ids["CA"], DAY.isoformat(), stale, START.isoformat(),
                ids["CB"], DAY.isoformat(), stale, START.isoformat(),
                ids["CC"], DAY.isoformat(), live, START.isoformat(),
                ids["CE"], DAY.isoformat(), live, START.isoformat(),
            ],
        )  # fmt: skip
    conn.close()
    slack = FakeSlack()
    assert expected_requests(slack, db, ["CA", "CB", "CC", "CD", "CE"], now) == [
        ("conversations.history", "CB"),
        ("chat.postMessage", "CB"),
        ("chat.postMessage", "CD"),
        ("conversations.history", "CE"),
        ("chat.postMessage", "CE"),
    ]
    # Only claims hold a lease to wait out; an uncertain day is retaken at once.
    assert sorted(live_leases(db)) == [now - dt.timedelta(seconds=1), now + LEASE]
