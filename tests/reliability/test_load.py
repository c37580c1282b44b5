"""Concurrency and load: several processes on one state store (SQLite or PostgreSQL), and 200 slash
commands at once.

1. The Slack web process (`web`, HTTP), the worker (`worker`: the Discord gateway, Slack Socket Mode and the
   scheduler) and operator delivery passes (`deliver --at`, one process after another) share one state store
   (the SQLite file, or a PostgreSQL database through `DATABASE_URL`: both are tested) on 127.0.0.1
   while admins subscribe and unsubscribe channels from Slack (both transports) and Discord
   and reporters look pledges up. Every request gets an answer, no process logs "database is locked" (or
   any traceback), no reply says something went wrong, and every process exits 0 on SIGTERM.
2. 200 signed slash commands sent at once to `python -m bot slack` are all acknowledged and all answered
   through their response_url within 3 seconds of being sent.
3. Processes started together on a fresh state store (SQLite file or PostgreSQL database) all start.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import random
import time
from collections import Counter
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from tests.fakes.discord_api import MANAGE_CHANNELS, MEMBER_PERMISSIONS, FakeDiscord
from tests.fakes.slack_api import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    form_body,
    signed_headers,
    slash_command,
)
from tests.postgres import PostgresServer
from tests.reliability.processes import (
    Bot,
    StateDB,
    data_due_today,
    free_port,
    percentile,
    prepare_db,
    profile,
)

pytestmark = pytest.mark.soak

ANSWER_LIMIT = 3.0
ADMIN = "U0ADMIN"
DISCORD_TOKEN = "load-test-token"
QUERIES = [
    "hotline",
    "list",
    "upcoming",
    "alliance",
    "on 2026-05-26",
    "핫라인",
    "help",
    "nothing-matches-this",
]
BAD_WORDS = ("database is locked", "Traceback", "OperationalError", "went wrong", "took too long")


class TimedSlack(FakeSlack):
    """The fake Slack, noting when each response_url post arrived (by the response_url's name)."""

    def __init__(self) -> None:
        super().__init__()
        self.answered_at: dict[str, float] = {}

    async def _response_url(self, request: web.Request) -> web.Response:
        self.answered_at[request.match_info["name"]] = time.monotonic()
        return await super()._response_url(request)


async def send(
    session: aiohttp.ClientSession, url: str, text: str, response_url: str, user: str, channel: str
) -> tuple[int, float]:
    """Send a signed /pledge; return its HTTP status and when it was sent (monotonic)."""
    body = form_body(slash_command(text, response_url=response_url, user_id=user, channel_id=channel))
    sent = time.monotonic()
    async with session.post(url, data=body, headers=signed_headers(body)) as r:
        await r.read()
        return r.status, sent


async def test_200_concurrent_slash_commands_are_all_answered_within_3_seconds(tmp_path: Path, figures):
    count = profile(fast=200, long=200)
    rounds = profile(fast=1, long=10)
    async with TimedSlack() as slack:
        for i in range(8):
            slack.add_user(f"U0USER{i}")
        port = free_port()
        env = {
            "PLEDGEBOT_DB": str(tmp_path / "p.db"),
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "PORT": str(port),
        }
        bot = await Bot.start(["slack"], env, tmp_path)
        try:
            await bot.wait_for_line("Slack: serving HTTP")
            url = f"http://127.0.0.1:{port}/slack/events"
            acks: list[float] = []
            answers: list[float] = []
            for round_ in range(rounds):
                names = [f"c{round_}-{i}" for i in range(count)]
                async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

                    async def one(i: int, name: str) -> tuple[int, float, float]:
                        status, sent = await send(
                            session,
                            url,
                            QUERIES[i % len(QUERIES)],
                            slack.response_url(name),
                            f"U0USER{i % 8}",
                            "C0POLITICS",
                        )
                        return status, sent, time.monotonic()

                    results = await asyncio.gather(*(one(i, n) for i, n in enumerate(names)))
                assert [s for s, _, _ in results] == [200] * count
                await slack.wait_for_calls("response_url", (round_ + 1) * count, timeout=30)
                for name, (_, sent, acked) in zip(names, results, strict=True):
                    acks.append(acked - sent)
                    answers.append(slack.answered_at[name] - sent)
            bodies = json.dumps([c.body for c in slack.calls_to("response_url")], ensure_ascii=False)
            code, _ = await bot.stop()
            assert code == 0, bot.log
        finally:
            await bot.close()
    assert not [w for w in BAD_WORDS if w in bot.log or w in bodies], bot.log
    slowest = max(answers)
    figures.add("load.slack_concurrent.commands", len(answers))
    figures.add("load.slack_concurrent.ack_ms_max", int(max(acks) * 1000))
    figures.add("load.slack_concurrent.ack_ms_p99", int(percentile(acks, 99) * 1000))
    figures.add("load.slack_concurrent.answer_ms_p50", int(percentile(answers, 50) * 1000))
    figures.add("load.slack_concurrent.answer_ms_p99", int(percentile(answers, 99) * 1000))
    figures.add("load.slack_concurrent.answer_ms_max", int(slowest * 1000))
    print(
        f"\n{len(answers)} concurrent commands: ack max {max(acks):.3f} s, answer p50 "
        f"{percentile(answers, 50):.3f} s, p99 {percentile(answers, 99):.3f} s, max {slowest:.3f} s"
    )
    assert max(acks) < ANSWER_LIMIT, f"slowest ack {max(acks):.2f} s"
    assert slowest < ANSWER_LIMIT, f"slowest answer {slowest:.2f} s"


def ledger_counts(db: StateDB) -> Counter[str]:
    return Counter(dict(db.rows("SELECT state, COUNT(*) FROM deliveries GROUP BY state")))


async def test_web_worker_scheduler_and_deliveries_share_one_database_without_lock_errors(
    state_backend: str, state_url: str | None, tmp_path: Path, figures
):
    slack_commands = profile(fast=240, long=3000)
    discord_commands = profile(fast=40, long=400)
    socket_commands = profile(fast=30, long=300)
    passes = profile(fast=4, long=40)
    in_flight = 16
    rng = random.Random(5)
    db = StateDB(tmp_path / "p.db", state_url)
    data = data_due_today(tmp_path / "data")
    # Due a minute ago (UTC): the worker's scheduler delivers these at start-up, while the load runs.
    due = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).strftime("%H:%M")
    channels = [f"C0DUE{i:02d}" for i in range(10)]
    prepare_db(db.path, channels, at=due, zone="UTC", data_dir=data, database_url=state_url)
    fake_discord = FakeDiscord(token=DISCORD_TOKEN)
    await fake_discord.start()
    bots: list[Bot] = []
    counts: Counter[str] = Counter()
    try:
        async with FakeSlack() as slack:
            slack.add_user(ADMIN, admin=True)
            slack.add_user("U0REPORTER")
            port = free_port()
            common = {
                **db.env(),
                "PLEDGEBOT_DATA": str(data),
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_API_URL": slack.api_url,
                "SLACK_ADMINS": ADMIN,
            }
            web_env = {**common, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "PORT": str(port)}
            worker_env = {
                **common,
                "SLACK_APP_TOKEN": APP_TOKEN,
                "DISCORD_TOKEN": DISCORD_TOKEN,
                "DISCORD_API_BASE": fake_discord.base_url,
                "DISCORD_GUILD_IDS": str(fake_discord.guild_id),
            }
            web_bot = await Bot.start(["web"], web_env, tmp_path)
            worker = await Bot.start(["worker"], worker_env, tmp_path)
            bots += [web_bot, worker]
            await web_bot.wait_for_line("Slack: serving HTTP")
            await fake_discord.wait_identified(timeout=30)
            await slack.wait_connected(timeout=30)

            url = f"http://127.0.0.1:{port}/slack/events"
            names = itertools.count()
            gate = asyncio.Semaphore(in_flight)

            async def slack_http(session: aiohttp.ClientSession, i: int) -> None:
                async with gate:
                    if i % 3 == 0:
                        text = rng.choice(
                            ["subscribe 09:00 Asia/Seoul", "unsubscribe", "subscribe 07:30 UTC"]
                        )
                        user, channel = ADMIN, f"C0LOAD{rng.randrange(12):02d}"
                        counts["slack.writes"] += 1
                    else:
                        text, user, channel = rng.choice(QUERIES), "U0REPORTER", "C0POLITICS"
                    status, _ = await send(
                        session, url, text, slack.response_url(f"h{next(names)}"), user, channel
                    )
                    assert status == 200
                    counts["slack.http"] += 1

            async def slack_socket(i: int) -> None:
                text = "subscribe 08:00 Europe/Berlin" if i % 2 else "unsubscribe"
                body = slash_command(
                    text,
                    response_url=slack.response_url(f"s{next(names)}"),
                    user_id=ADMIN,
                    channel_id="C0SOCKET",
                )
                envelope = await slack.push("slash_commands", body)
                await slack.wait_for_ack(envelope, timeout=10)
                counts["slack.socket"] += 1

            async def discord(i: int) -> None:
                manager = MEMBER_PERMISSIONS | MANAGE_CHANNELS
                if i % 2:
                    answer = await fake_discord.run_command(
                        "reminders subscribe",
                        time="08:30",
                        timezone="Asia/Seoul",
                        permissions=manager,
                        timeout=10,
                    )
                    counts["discord.writes"] += 1
                elif i % 4 == 0:
                    answer = await fake_discord.run_command(
                        "reminders unsubscribe", permissions=manager, timeout=10
                    )
                    counts["discord.writes"] += 1
                else:
                    answer = await fake_discord.run_command("pledge", query="hotline", timeout=10)
                assert answer, f"no callback for Discord command {i}"
                counts["discord"] += 1

            async def deliveries() -> None:
                for n in range(passes):
                    at = dt.datetime(2026, 5, 20, 9, 5, tzinfo=dt.timezone(dt.timedelta(hours=9)))
                    at += dt.timedelta(days=n)
                    bot = await Bot.start(
                        ["deliver", "--at", at.isoformat()], {**web_env, "PORT": ""}, tmp_path
                    )
                    bots.append(bot)
                    code = await bot.wait(60)
                    assert code == 0, f"{bot.stdout}\n{bot.log}"
                    assert bot.stdout.startswith("Delivery pass:"), bot.stdout
                    counts["deliver.passes"] += 1

            # Discord interactions go one at a time per user, as people type them; Socket Mode likewise.
            async def discord_all() -> None:
                for i in range(discord_commands):
                    await discord(i)

            async def socket_all() -> None:
                for i in range(socket_commands):
                    await slack_socket(i)

            started = time.monotonic()
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
                await asyncio.wait_for(
                    asyncio.gather(
                        *(slack_http(session, i) for i in range(slack_commands)),
                        discord_all(),
                        socket_all(),
                        deliveries(),
                    ),
                    profile(fast=120, long=1800),
                )
            answers = slack_commands + socket_commands
            await slack.wait_for_calls("response_url", answers, timeout=30)
            elapsed = time.monotonic() - started
            replies = json.dumps([c.body for c in slack.calls_to("response_url")], ensure_ascii=False)
            replies += json.dumps(
                [r.body for r in fake_discord.requests.items], ensure_ascii=False, default=str
            )
            for bot in (web_bot, worker):
                code, _ = await bot.stop()
                assert code == 0, bot.log
    finally:
        for bot in bots:
            await bot.close()
        await fake_discord.close()
    for bot in bots:
        found = [w for w in BAD_WORDS if w in bot.log]
        assert not found, f"{bot.name}: {found}\n{bot.log}"
        assert all(s not in bot.log for s in (BOT_TOKEN, SIGNING_SECRET, APP_TOKEN, DISCORD_TOKEN))
    found = [w for w in BAD_WORDS if w in replies]
    assert not found, found
    ledger = ledger_counts(db)
    assert ledger["claimed"] == 0, ledger
    assert ledger["sent"] >= 10, ledger  # at least the scheduler's digests due at start-up
    total = counts["slack.http"] + counts["slack.socket"] + counts["discord"]
    name = "load.shared_db" if state_backend == "sqlite" else "load.shared_postgres"
    figures.add(f"{name}.requests", total)
    figures.add(f"{name}.writes", counts["slack.writes"] + counts["slack.socket"] + counts["discord.writes"])
    figures.add(f"{name}.delivery_passes", counts["deliver.passes"] + 1)
    figures.add(f"{name}.ledger_rows", sum(ledger.values()))
    figures.add(f"{name}.processes", len(bots))
    figures.add(f"{name}.lock_errors", 0)
    print(
        f"\nshared {state_backend}: {total} requests, {dict(counts)}, ledger {dict(ledger)}, {elapsed:.1f} s"
    )


async def test_processes_started_together_on_a_fresh_database_all_start(
    state_backend: str, tmp_path: Path, request: pytest.FixtureRequest, figures
):
    """A first deploy starts web, worker (and a release task) at once on an empty database: none may fail.

    On PostgreSQL they race to migrate the same empty database (each with a local file of its own)."""
    server: PostgresServer | None = None
    if state_backend == "postgres":
        server = request.getfixturevalue("postgres_server")
    rounds = profile(fast=2 if server else 3, long=60)
    together = 4
    for round_ in range(rounds):
        folder = tmp_path / f"r{round_}"
        folder.mkdir()
        name = server.create_database() if server is not None else None
        url = server.url(name) if server is not None and name is not None else None
        envs = [StateDB(folder / (f"p{i}.db" if url else "p.db"), url).env() for i in range(together)]
        bots = [await Bot.start(["deliver"], env, folder) for env in envs]
        try:
            codes = [await bot.wait(60) for bot in bots]
        finally:
            for bot in bots:
                await bot.close()
            if server is not None and name is not None:
                server.drop_database(name)
        for bot, code in zip(bots, codes, strict=True):
            assert code == 0 and "Traceback" not in bot.log, f"round {round_}: exit {code}\n{bot.log}"
            assert bot.stdout.startswith("Delivery pass: 0 sent"), bot.stdout
    name = "load.fresh_db" if state_backend == "sqlite" else "load.fresh_postgres"
    figures.add(f"{name}.processes_started_together", rounds * together)
