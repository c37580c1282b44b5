"""SIGTERM: the bot stops accepting work, finishes what is in flight, and exits 0 within 10 seconds.

`python -m bot slack` (HTTP mode) and `python -m bot worker` (Slack Socket Mode and the scheduler) run as
real processes against the fake Slack. The fake holds the answers in flight (response_url posts,
chat.postMessage) at a gate the test opens after sending SIGTERM, so "in flight" is a fact, not a race.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from tests.fakes.slack_api import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    form_body,
    signed_headers,
    slash_command,
)
from tests.reliability.processes import Bot, data_due_today, free_port, ledger, prepare_db, profile

pytestmark = pytest.mark.soak

EXIT_LIMIT = 10.0
SECRETS = (BOT_TOKEN, SIGNING_SECRET, APP_TOKEN)


class GatedSlack(FakeSlack):
    """The fake Slack, holding response_url posts and chat.postMessage calls until `gate` is opened."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.gate.set()
        self.arrived: list[str] = []
        self._arrivals = asyncio.Condition()

    async def _arrive(self, what: str) -> None:
        async with self._arrivals:
            self.arrived.append(what)
            self._arrivals.notify_all()
        await self.gate.wait()

    async def wait_arrived(self, what: str, count: int, timeout: float = 15.0) -> None:
        """Wait (bounded) until `count` requests of kind `what` reached the gate."""
        async with self._arrivals:
            await asyncio.wait_for(
                self._arrivals.wait_for(lambda: self.arrived.count(what) >= count), timeout
            )

    async def _response_url(self, request: web.Request) -> web.Response:
        await request.read()
        await self._arrive("response_url")
        return await super()._response_url(request)

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["method"] == "chat.postMessage":
            await request.read()
            await self._arrive("chat.postMessage")
        return await super()._api(request)


def http_env(slack: FakeSlack, db: Path, port: int) -> dict[str, str]:
    return {
        "PLEDGEBOT_DB": str(db),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "PORT": str(port),
    }


async def post_command(
    session: aiohttp.ClientSession, port: int, text: str, response_url: str
) -> tuple[int | None, str]:
    """Send a signed /pledge; return (HTTP status, "") or (None, the connection error's name)."""
    body = form_body(slash_command(text, response_url=response_url))
    try:
        async with session.post(
            f"http://127.0.0.1:{port}/slack/events", data=body, headers=signed_headers(body)
        ) as r:
            await r.read()
            return r.status, ""
    except (aiohttp.ClientConnectionError, aiohttp.ServerDisconnectedError) as e:
        return None, type(e).__name__


async def refused(port: int) -> bool:
    """True when a new TCP connection to the port is refused."""
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return True
    writer.close()
    await writer.wait_closed()
    return False


@pytest.fixture
def slack_class() -> type[FakeSlack]:
    return GatedSlack


@pytest.fixture
def slack_users() -> dict[str, dict]:
    return {"U0REPORTER": {}}


async def start_http(slack: FakeSlack, tmp_path: Path) -> tuple[Bot, int]:
    port = free_port()
    bot = await Bot.start(["slack"], http_env(slack, tmp_path / "p.db", port), tmp_path)
    await bot.wait_for_line("Slack: serving HTTP")
    return bot, port


async def test_sigterm_finishes_answers_in_flight_refuses_new_work_and_exits_0(
    slack: GatedSlack, tmp_path: Path, figures
):
    in_flight = profile(fast=20, long=100)
    bot, port = await start_http(slack, tmp_path)
    try:
        slack.gate.clear()
        # One keep-alive connection that stays open across the SIGTERM, as a proxy in front would keep it.
        kept = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1))
        async with aiohttp.ClientSession() as session:
            assert await post_command(kept, port, "hotline", slack.response_url("kept")) == (200, "")
            statuses = await asyncio.gather(
                *(
                    post_command(session, port, "hotline", slack.response_url(f"r{i}"))
                    for i in range(in_flight)
                )
            )
        assert statuses == [(200, "")] * in_flight
        # Every answer is being posted and held at the gate: all of it is in flight.
        await slack.wait_arrived("response_url", in_flight + 1)
        sent = time.monotonic()
        bot.terminate()
        # New connections are refused once the signal is handled ...
        deadline = time.monotonic() + 5
        while not await refused(port):
            assert time.monotonic() < deadline, "the port still accepts connections 5 s after SIGTERM"
            await asyncio.sleep(0.02)
        # ... and a request on a connection kept alive from before is not taken on either.
        late = await post_command(kept, port, "hotline", slack.response_url("late"))
        await kept.close()
        assert late[0] != 200, f"a request after SIGTERM was accepted: {late}"
        slack.gate.set()
        code = await bot.wait(EXIT_LIMIT + 5)
        took = time.monotonic() - sent
        assert code == 0, bot.log
        assert took < EXIT_LIMIT, f"exit took {took:.1f} s"
        answered = {c.path.rsplit("/", 1)[1] for c in slack.calls_to("response_url")}
        assert answered == {"kept"} | {f"r{i}" for i in range(in_flight)}, answered
        assert all(s not in bot.log for s in SECRETS)
        figures.add("sigterm.http.answers_in_flight", in_flight + 1)
        figures.add("sigterm.http.answers_completed", len(answered))
        figures.add("sigterm.http.exit_ms_max", int(took * 1000))
    finally:
        await bot.close()


async def test_sigterm_while_commands_keep_arriving_loses_no_acknowledged_command(
    slack: GatedSlack, tmp_path: Path, figures
):
    """Every command acknowledged with 200 gets its answer; the rest are refused, never half-taken."""
    total = profile(fast=60, long=300)
    bot, port = await start_http(slack, tmp_path)
    try:
        slack.gate.clear()
        results: dict[int, tuple[int | None, str]] = {}
        # A steady stream from 8 clients on kept-alive connections, so commands are still arriving at SIGTERM.
        clients = asyncio.Semaphore(8)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=8)) as session:

            async def one(i: int) -> None:
                async with clients:
                    results[i] = await post_command(session, port, "hotline", slack.response_url(f"r{i}"))

            tasks = [asyncio.ensure_future(one(i)) for i in range(total)]
            # SIGTERM once a third of the answers are in flight, while the rest are still arriving.
            await slack.wait_arrived("response_url", total // 3)
            sent = time.monotonic()
            bot.terminate()
            slack.gate.set()
            await asyncio.wait_for(asyncio.gather(*tasks), 30)
        code = await bot.wait(EXIT_LIMIT + 5)
        took = time.monotonic() - sent
        assert code == 0, bot.log
        assert took < EXIT_LIMIT, f"exit took {took:.1f} s"
        acked = {f"r{i}" for i, (status, _) in results.items() if status == 200}
        others = {i: r for i, r in results.items() if r[0] != 200}
        assert all(status in (None, 503) for status, _ in others.values()), others
        answered = {c.path.rsplit("/", 1)[1] for c in slack.calls_to("response_url")}
        assert acked <= answered, f"acknowledged but never answered: {sorted(acked - answered)}"
        assert len(acked) >= total // 3
        assert others, "no command arrived after the signal: the test did not race it"
        figures.add("sigterm.http.commands_racing_the_signal", total)
        figures.add("sigterm.http.acknowledged_and_answered", len(acked))
        figures.add("sigterm.http.refused", len(others))
        figures.add("sigterm.http.refused_with_503", sum(1 for status, _ in others.values() if status == 503))
    finally:
        await bot.close()


async def test_sigterm_with_an_answer_stuck_still_exits_within_10_seconds(slack: GatedSlack, tmp_path: Path):
    """A response_url that never answers cannot hold the process past the host's patience."""
    bot, port = await start_http(slack, tmp_path)
    try:
        slack.gate.clear()
        async with aiohttp.ClientSession() as session:
            assert await post_command(session, port, "hotline", slack.response_url("stuck")) == (200, "")
        await slack.wait_arrived("response_url", 1)
        code, took = await bot.stop(timeout=EXIT_LIMIT + 10)
        assert code == 0, bot.log
        assert took < EXIT_LIMIT, f"exit took {took:.1f} s with an answer stuck"
    finally:
        slack.gate.set()
        await bot.close()


async def test_sigterm_of_the_worker_finishes_the_digest_being_posted(
    slack: GatedSlack, tmp_path: Path, figures
):
    """`worker` (Socket Mode + scheduler): a digest being posted at SIGTERM is posted and recorded."""
    db = tmp_path / "p.db"
    # Due a minute ago today, so the scheduler's catch-up pass at start-up delivers it.
    now = dt.datetime.now(dt.UTC)
    due = (now - dt.timedelta(minutes=1)).strftime("%H:%M")
    data = data_due_today(tmp_path / "data")
    prepare_db(db, ["C0DIGEST"], at=due, zone="UTC", data_dir=data)
    slack.gate.clear()
    env = {
        "PLEDGEBOT_DB": str(db),
        "PLEDGEBOT_DATA": str(data),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": slack.api_url,
    }
    bot = await Bot.start(["worker"], env, tmp_path)
    try:
        await slack.wait_connected(timeout=30)
        await slack.wait_arrived("chat.postMessage", 1, timeout=30)
        assert ledger(db) == {"C0DIGEST": "claimed"}
        sent = time.monotonic()
        bot.terminate()
        await slack.wait_disconnected(timeout=EXIT_LIMIT)
        slack.gate.set()
        code = await bot.wait(EXIT_LIMIT + 5)
        took = time.monotonic() - sent
        assert code == 0, bot.log
        assert took < EXIT_LIMIT, f"exit took {took:.1f} s"
        assert len(slack.messages["C0DIGEST"]) == 1
        assert ledger(db) == {"C0DIGEST": "sent"}, bot.log
        figures.add("sigterm.worker.digests_in_flight_completed", 1)
    finally:
        slack.gate.set()
        await bot.close()
