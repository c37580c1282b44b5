"""`/metrics` and `/readyz` on the web process and on the worker, scraped and parsed with prometheus_client's
own text parser after a lookup and a delivery; the series' values after failed and retried posts; readiness
false when the catalogue or the state store does not answer; and every series documented.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import socket
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from adapters.ops.endpoints import Ops, serve
from bot.cli import open_bot
from bot.config import ROOT, ConfigError, Secret, Settings, load_settings
from bot.metrics import Metrics
from bot.reminders.delivery import CannotCheck
from bot.state import Subscription
from tests.fakes.slack_api import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    form_body,
    signed_headers,
    slash_command,
)
from tests.reliability.processes import Bot, data_due_today, free_port, prepare_db

DOCUMENTED = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
WAIT = 30.0


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape by (name, labels), parsed with prometheus_client's text parser."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(scraped: dict, name: str, **labels: str) -> float | None:
    return scraped.get((name, frozenset(labels.items())))


async def scrape(url: str) -> tuple[int, str, dict]:
    """GET /metrics (its status and content type) and its parsed samples."""
    async with aiohttp.ClientSession() as session, session.get(f"{url}/metrics") as response:
        text = await response.text()
        return response.status, response.headers["Content-Type"], samples(text)


async def readyz(url: str) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/readyz") as response:
        return response.status, await response.json()


async def test_the_web_process_counts_a_lookup(slack: FakeSlack, tmp_path: Path):
    """`pledgebot web` (Slack HTTP mode beside the site): a `/pledge show <id>` is counted by platform and
    word, timed and not an error; `/readyz` is true; the worker's leadership gauge is not there. Its logs
    (LOG_FORMAT=json) are one JSON object a line, the request's with where it came from."""
    port = free_port()
    env = {
        "PLEDGEBOT_DB": str(tmp_path / "web.db"),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "PORT": str(port),
        "LOG_FORMAT": "json",
    }
    web = await Bot.start(["web"], env, tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        await web.wait_for_line("Slack: serving HTTP")
        assert await readyz(url) == (200, {"ready": True})
        # users.info failing: the adapter logs a warning inside the request.
        slack.fail_next("users.info", status=500)
        body = form_body(slash_command("show inter-korean-hotline", response_url=slack.response_url("m")))
        events = f"{url}/slack/events"
        async with (
            aiohttp.ClientSession() as session,
            session.post(events, data=body, headers=signed_headers(body)) as r,
        ):
            assert r.status == 200
        await slack.wait_for_calls("response_url", 1)
        status, kind, scraped = await scrape(url)
        assert status == 200 and kind.startswith("text/plain; version=0.0.4")
        show = {"platform": "slack", "command": "show"}
        assert value(scraped, "pledgebot_commands_total", **show) == 1
        assert value(scraped, "pledgebot_command_seconds_count", **show) == 1
        assert 0 < value(scraped, "pledgebot_command_seconds_sum", **show) < 10
        assert value(scraped, "pledgebot_command_seconds_bucket", **show, le="+Inf") == 1
        assert value(scraped, "pledgebot_command_errors_total", **show) == 0
        assert value(scraped, "pledgebot_digest_oldest_unposted_seconds") == 0
        assert 0 <= value(scraped, "pledgebot_journal_follow_lag_seconds") < 10
        assert not any(name == "pledgebot_leader" for name, _ in scraped)
        assert value(scraped, "process_start_time_seconds") is not None
    finally:
        await web.stop()
        await web.close()
    lines = [json.loads(line) for line in web.lines]
    assert lines and all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    warned = next(line for line in lines if line["message"].startswith("users.info failed"))
    assert warned["level"] == "WARNING" and warned["logger"] == "adapters.slack_app.app"
    assert (warned["platform"], warned["workspace"], warned["channel"]) == (
        "slack",
        "T0NEWSROOM",
        "C0POLITICS",
    )
    assert len(warned["request_id"]) == 16


async def test_the_worker_serves_metrics_on_its_own_port_after_a_delivery(slack: FakeSlack, tmp_path: Path):
    """`pledgebot worker` (Socket Mode and the scheduler) on PLEDGEBOT_METRICS_PORT: after its catch-up pass
    posts a due digest, the digest is counted, nothing is unposted, it leads, and it follows the journal."""
    db = tmp_path / "worker.db"
    due = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).strftime("%H:%M")
    data = data_due_today(tmp_path / "data")
    prepare_db(db, ["C0DIGEST"], at=due, zone="UTC", data_dir=data)
    port = free_port()
    env = {
        "PLEDGEBOT_DB": str(db),
        "PLEDGEBOT_DATA": str(data),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": slack.api_url,
        "PLEDGEBOT_METRICS_PORT": str(port),
    }
    worker = await Bot.start(["worker"], env, tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        await worker.wait_for_line("serving /metrics and /readyz")
        await slack.wait_for_calls("chat.postMessage", 1, timeout=WAIT)
        latest: dict = {}

        async def posted() -> bool:
            nonlocal latest
            latest = (await scrape(url))[2]
            return value(latest, "pledgebot_digests_posted_total", platform="slack") == 1

        deadline = time.monotonic() + WAIT
        while not await posted():
            assert time.monotonic() < deadline, f"no digest counted:\n{worker.log}"
            await asyncio.sleep(0.05)
        assert value(latest, "pledgebot_digests_failed_total", platform="slack") == 0
        assert value(latest, "pledgebot_digests_retried_total", platform="slack") == 0
        assert value(latest, "pledgebot_leader") == 1
        assert value(latest, "pledgebot_digest_oldest_unposted_seconds") == 0
        assert 0 <= value(latest, "pledgebot_journal_follow_lag_seconds") < 10
        assert await readyz(url) == (200, {"ready": True})
    finally:
        await worker.stop()
        await worker.close()


class Flaky:
    """A deliverer whose first post fails (a timeout, say), so the day stays uncertain and is retried."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, bool]] = []

    async def deliver(self, subscription: Subscription, digest, key: str, *, retry: bool) -> str:
        self.posts.append((key, retry))
        if len(self.posts) == 1:
            raise TimeoutError("the post timed out")
        if len(self.posts) == 2:
            raise CannotCheck("history unreadable")
        return "ts-1"


async def test_failed_and_retried_digests_and_the_oldest_unposted(bot, clock):
    """A post that fails, a retry that cannot look, then a retry that posts; the oldest unposted is the
    failed digest's age until it is posted, then 0."""
    seoul = ZoneInfo("Asia/Seoul")
    created = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    bot.subscriptions.subscribe("console", "local", "C1", dt.time(9, 0), "Asia/Seoul", 0, "U1", created)
    deliverer = Flaky()
    service = bot.delivery({"console": deliverer})
    at = dt.datetime(2026, 5, 26, 9, 5, tzinfo=seoul)
    report = await service.run_pass(at)
    assert report.failed
    wall = at.timestamp() + 60  # scraped a minute later
    metrics = Metrics(clock=lambda: wall)
    service.metrics = metrics
    metrics.delivering(["console"])
    await service.run_pass(at + dt.timedelta(minutes=1))
    scraped = samples(generate_latest(metrics.registry).decode())
    # This pass's attempt (a retry that could not look) failed: the 09:00 digest is 6 minutes late.
    assert value(scraped, "pledgebot_digests_failed_total", platform="console") == 1
    assert value(scraped, "pledgebot_digests_retried_total", platform="console") == 1
    assert value(scraped, "pledgebot_digest_oldest_unposted_seconds") == pytest.approx(6 * 60)
    await service.run_pass(at + dt.timedelta(minutes=2))
    scraped = samples(generate_latest(metrics.registry).decode())
    assert value(scraped, "pledgebot_digests_posted_total", platform="console") == 1
    assert value(scraped, "pledgebot_digests_retried_total", platform="console") == 2
    assert value(scraped, "pledgebot_digest_oldest_unposted_seconds") == 0
    assert deliverer.posts[1][1] and deliverer.posts[2][1]


def test_a_failing_command_is_counted_as_an_error(bot, console_ctx, monkeypatch):
    metrics = Metrics()
    monkeypatch.setattr(bot.core, "_metrics", metrics)
    search = bot.core.registry["search"].commands[0]
    monkeypatch.setitem(bot.core._handlers, search, lambda *a: (_ for _ in ()).throw(RuntimeError("x")))
    bot.core.handle("hotline", console_ctx)
    bot.core.handle("show inter-korean-hotline", console_ctx)
    scraped = samples(generate_latest(metrics.registry).decode())
    assert value(scraped, "pledgebot_commands_total", platform="console", command="search") == 1
    assert value(scraped, "pledgebot_command_errors_total", platform="console", command="search") == 1
    assert value(scraped, "pledgebot_command_errors_total", platform="console", command="show") == 0


async def test_readyz_is_false_while_the_state_store_or_the_catalogue_does_not_answer(
    tmp_path: Path, database_url: str
):
    """On PostgreSQL: ready; the state store's connections gone: 503 naming it; the catalogue's file gone
    as well: 503 naming the catalogue."""
    bot = open_bot(Settings(db_path=tmp_path / "pledgebot.db", database_url=Secret(database_url)))
    stopping = asyncio.Event()
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(Ops(Metrics(), bot.readiness()), "127.0.0.1", 0, stopping, ready=ready))
    try:
        url = await asyncio.wait_for(ready, WAIT)
        assert await readyz(url) == (200, {"ready": True})
        bot.backend.close()
        assert await readyz(url) == (503, {"ready": False, "error": "the state store does not answer"})
        (tmp_path / "pledgebot.db").rename(tmp_path / "moved.db")
        status, body = await readyz(url)
        assert status == 503 and body["error"] == "the catalogue is not built or does not answer"
    finally:
        stopping.set()
        await asyncio.wait_for(task, WAIT)
        bot.store.close()


async def test_a_metrics_port_in_use_is_a_configuration_error(bot):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match="PLEDGEBOT_METRICS_PORT"):
            await serve(Ops(Metrics(), bot.readiness()), "127.0.0.1", port, asyncio.Event())


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"PLEDGEBOT_METRICS_PORT": "metrics"}, "whole number"),
        ({"PLEDGEBOT_METRICS_PORT": "70000"}, "between 1 and 65535"),
        ({"PLEDGEBOT_METRICS_PORT": "3000", "PORT": "3000"}, "differ from PORT"),
    ],
)
def test_the_metrics_port_is_validated(env: dict[str, str], problem: str):
    with pytest.raises(ConfigError, match="PLEDGEBOT_METRICS_PORT") as error:
        load_settings(env)
    assert problem in str(error.value)
    assert load_settings({"PLEDGEBOT_METRICS_PORT": "9464"}).metrics_port == 9464
    assert load_settings({}).metrics_port is None


def test_every_series_is_documented_and_every_documented_series_exists():
    names = {
        family.name
        for family in text_string_to_metric_families(
            generate_latest(Metrics(scheduler=True).registry).decode()
        )
        if family.name.startswith("pledgebot_")
    }
    documented = set(re.findall(r"`(pledgebot_[a-z_]+?)(?:_total)?(?:\{[^}]*\})?`", DOCUMENTED))
    assert names == documented
