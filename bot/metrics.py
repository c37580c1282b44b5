"""The figures an operator watches, as Prometheus series: built once by the composition root, handed to the
parts that count, and served at `/metrics` (`adapters/site/app.py`, `bot/metrics_server.py`).

Each process has its own registry (no global one, so importing this touches nothing), and its own values: a
scrape's `instance` label tells the web processes and the workers apart. Labels are bounded: the platform and
the command's English word (the registry's names), never a workspace, channel, user or typed text.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

# A command the core could not even parse: it has no word of its own.
UNPARSED = "unparsed"
# From a cheap lookup (~0.2 ms) to the core's 10 s bound in the adapters.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """Every series of one process; `scheduler` adds the worker's leadership gauge."""

    def __init__(self, *, scheduler: bool = False, clock: Callable[[], float] = time.time) -> None:
        self.registry = CollectorRegistry()
        self._clock = clock
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        r = self.registry
        self.commands = Counter(
            "pledgebot_commands",
            "Commands answered, by platform and command word",
            ["platform", "command"],
            registry=r,
        )
        self.latency = Histogram(
            "pledgebot_command_seconds",
            "Time the core took to answer a command, by platform and command word",
            ["platform", "command"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.errors = Counter(
            "pledgebot_command_errors",
            "Commands whose answer failed on our side (the user got an apology), by platform and word",
            ["platform", "command"],
            registry=r,
        )
        self.posted = Counter(
            "pledgebot_digests_posted", "Digests posted, by platform", ["platform"], registry=r
        )
        self.retried = Counter(
            "pledgebot_digests_retried",
            "Digest posts attempted again after an uncertain attempt (looked for in the channel first)",
            ["platform"],
            registry=r,
        )
        self.failed = Counter(
            "pledgebot_digests_failed",
            "Digest posts that failed (retried by a later pass)",
            ["platform"],
            registry=r,
        )
        oldest = Gauge(
            "pledgebot_digest_oldest_unposted_seconds",
            "Age of the oldest digest due and not posted (as of the last full delivery pass), 0 if none",
            registry=r,
        )
        oldest.set_function(self._unposted_age)
        lag = Gauge(
            "pledgebot_journal_follow_lag_seconds",
            "Seconds since this process last brought its catalogue up to date with the edit journal",
            registry=r,
        )
        lag.set_function(self._follow_lag)
        self._leader: Gauge | None = None
        if scheduler:
            self._leader = Gauge(
                "pledgebot_leader",
                "1 while this worker holds the scheduler's lock, 0 while it stands by",
                registry=r,
            )
        self._oldest_due: float | None = None
        self._followed = clock()
        # The labelled children, looked up once per (platform, command): `labels()` takes a lock each time.
        self._children: dict[tuple[str, str], tuple[Counter, Histogram, Counter]] = {}
        self._posted: dict[str, Counter] = {}

    # -- the core ---------------------------------------------------------------------------------------

    def answered(self, platform: str, command: str, seconds: float, *, failed: bool = False) -> None:
        """Count one command the core answered in `seconds`, and whether it failed."""
        key = (platform, command)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.commands.labels(*key),
                self.latency.labels(*key),
                self.errors.labels(*key),
            )
        count, latency, errors = children
        count.inc()
        latency.observe(seconds)
        if failed:
            errors.inc()

    # -- delivery ---------------------------------------------------------------------------------------

    def delivering(self, platforms: Iterable[str]) -> None:
        """Show the digest series at 0 for each platform this process posts to, before its first post (so a
        rate is defined from the start, and a missing series means a process that posts nowhere)."""
        for platform in platforms:
            for series in (self.posted, self.retried, self.failed):
                series.labels(platform)

    def digest_posted(self, platform: str, *, retry: bool) -> None:
        """Count a digest posted; `retry` when an earlier attempt had been uncertain."""
        # The platform's child kept: `labels` per post was a tenth of a 100,000-channel pass.
        posted = self._posted.get(platform)
        if posted is None:
            posted = self._posted[platform] = self.posted.labels(platform)
        posted.inc()
        if retry:
            self.retried.labels(platform).inc()

    def digest_failed(self, platform: str, *, retry: bool) -> None:
        """Count a digest post that failed; `retry` when it was itself an attempt after an uncertain one."""
        self.failed.labels(platform).inc()
        if retry:
            self.retried.labels(platform).inc()

    def unposted(self, oldest_due: dt.datetime | None) -> None:
        """After a full pass: when the oldest digest still due and unposted was due, or None when none is."""
        self._oldest_due = oldest_due.timestamp() if oldest_due is not None else None

    def _unposted_age(self) -> float:
        return max(0.0, self._clock() - self._oldest_due) if self._oldest_due is not None else 0.0

    # -- the journal and the schedule ---------------------------------------------------------------------

    def followed(self) -> None:
        """The catalogue has just been brought up to date with the journal."""
        self._followed = self._clock()

    def _follow_lag(self) -> float:
        return max(0.0, self._clock() - self._followed)

    def leading(self, leader: bool) -> None:
        """This worker now holds (True) or waits for (False) the scheduler's lock."""
        if self._leader is not None:
            self._leader.set(1 if leader else 0)
