"""Slack HTTP mode under load: signed slash commands to a server process, answers caught by the fake Slack.

The server under test (pledgebot's app, or a bare Bolt app answering a constant, both behind
`adapters.slack_app.server.build_web_app`) runs in its own process, so it has a core to itself as it would in
production; this process plays Slack: it signs and sends the commands (at most `concurrency` in flight) and
serves the Web API and the response_url endpoints. A request's latency runs from sending the command until
its answer reaches its response_url.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.process import Child
from bench.stats import ms, percentile
from tests.fakes.slack_api import (
    BOT_TOKEN,
    SIGNING_SECRET,
    Call,
    FakeSlack,
    form_body,
    signed_headers,
    slash_command,
)

USER = "U0REPORTER"
REQUEST_TIMEOUT = 15.0


class AnsweringSlack(FakeSlack):
    """The fake Slack, with a future per response_url so a waiter costs nothing per other answer."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting: dict[str, asyncio.Future[Call]] = {}

    def expect(self, name: str) -> asyncio.Future[Call]:
        """A future resolved by the first post to the response_url called `name`."""
        future = asyncio.get_running_loop().create_future()
        self.waiting[f"/response/{name}"] = future
        return future

    async def _record(self, call: Call) -> None:
        # Only answers are awaited here; keeping thousands of them in `calls` would only cost memory.
        future = self.waiting.pop(call.path, None)
        if future is not None and not future.done():
            future.set_result(call)
            return
        await super()._record(call)


@dataclass
class LoadResult:
    """Throughput and latency of one mode."""

    requests: int
    seconds: float
    latencies: list[float]
    rss_kb: int

    @property
    def throughput(self) -> float:
        """Answered requests per second."""
        return self.requests / self.seconds

    @property
    def p50_ms(self) -> float:
        """Median latency in milliseconds."""
        return ms(percentile(self.latencies, 50))

    @property
    def p99_ms(self) -> float:
        """99th percentile latency in milliseconds."""
        return ms(percentile(self.latencies, 99))


async def _load(
    slack: AnsweringSlack, url: str, texts: tuple[str, ...], count: int, concurrency: int, names
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    queue = iter(range(count))
    connector = aiohttp.TCPConnector(limit=concurrency)

    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for i in queue:
                name = str(next(names))
                body = form_body(
                    slash_command(texts[i % len(texts)], user_id=USER, response_url=slack.response_url(name))
                )
                answered = slack.expect(name)
                start = time.perf_counter()
                async with session.post(f"{url}/slack/events", data=body, headers=signed_headers(body)) as r:
                    if r.status != 200:
                        raise RuntimeError(f"the Slack endpoint answered HTTP {r.status}: {await r.text()}")
                    await r.read()
                await asyncio.wait_for(answered, REQUEST_TIMEOUT)
                latencies.append(time.perf_counter() - start)

        start = time.perf_counter()
        await asyncio.wait_for(
            asyncio.gather(*(worker() for _ in range(concurrency))), REQUEST_TIMEOUT * count / concurrency
        )
        return time.perf_counter() - start, latencies


async def measure(
    db: Path, data: Path, texts: tuple[str, ...], count: int, concurrency: int, warmup: int, repeats: int
) -> dict[str, LoadResult]:
    """Run bare and pledgebot alternately `repeats` times each; samples of a mode are pooled."""
    results: dict[str, LoadResult] = {}
    names = itertools.count(1)
    async with AnsweringSlack() as slack:
        slack.add_user(USER)
        for _ in range(repeats):
            for mode in ("bare", "pledgebot"):
                child = Child(
                    "slack-server",
                    "--db",
                    str(db),
                    "--data",
                    str(data),
                    "--mode",
                    mode,
                    "--api-url",
                    slack.api_url,
                    "--token",
                    BOT_TOKEN,
                    "--secret",
                    SIGNING_SECRET,
                )
                await child.start()
                try:
                    line = await child.line(timeout=60)
                    url = line.removeprefix("READY ").strip()
                    await _load(slack, url, texts, warmup, concurrency, names)
                    seconds, latencies = await _load(slack, url, texts, count, concurrency, names)
                finally:
                    report = await child.finish()
                pooled = results.get(mode)
                if pooled is None:
                    results[mode] = LoadResult(count, seconds, latencies, report.get("rss_kb", 0))
                else:
                    pooled.requests += count
                    pooled.seconds += seconds
                    pooled.latencies.extend(latencies)
                    pooled.rss_kb = max(pooled.rss_kb, report.get("rss_kb", 0))
    return results
