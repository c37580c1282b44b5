"""Shared fixtures of the reliability suite: hypothesis profiles, published figures, DB snapshots, and a
guard that no known secret reaches a log line.

Profiles come from `PLEDGEBOT_PROFILE`: `fast` (the default, what `make test` runs) or `long` (what
`make fuzz` and `make soak` set). Figures (inputs tried, requests sent, ...) are counted by the tests
through the `figures` fixture, printed at the end of the run, and written as JSON to `$PLEDGEBOT_FIGURES`
when it is set, so that RELIABILITY.md quotes numbers from a real run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

PROFILE = os.environ.get("PLEDGEBOT_PROFILE", "fast").strip().lower() or "fast"
LONG = PROFILE == "long"

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture]
# Fast: a fixed seed per test (derandomize), so CI is repeatable; long: fresh random inputs every run.
settings.register_profile(
    "pledgebot-fast", max_examples=150, deadline=None, derandomize=True, suppress_health_check=_SLOW_OK
)
settings.register_profile(
    "pledgebot-long", max_examples=5000, deadline=None, suppress_health_check=_SLOW_OK, print_blob=True
)
# Applied per test (`@fuzz_settings`) rather than loaded globally, so the rest of the suite keeps its own.
fuzz_settings = settings.get_profile("pledgebot-long" if LONG else "pledgebot-fast")


def scaled(fast: int, long: int) -> int:
    """A count for a non-hypothesis loop (requests, payloads) under the current profile."""
    return long if LONG else fast


class Figures:
    """Counters of what the suite tried, by name; thread-safe, summed over the whole run."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, name: str, n: int = 1) -> None:
        """Count `n` more of `name` (e.g. "hostile.core.inputs")."""
        with self._lock:
            self._counts[name] += n

    def as_dict(self) -> dict[str, int]:
        """The counts so far, sorted by name."""
        with self._lock:
            return dict(sorted(self._counts.items()))


FIGURES = Figures()


@pytest.fixture(scope="session")
def figures() -> Figures:
    """The run's counters; see `Figures.add`."""
    return FIGURES


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """Print the figures, and write them to $PLEDGEBOT_FIGURES (JSON) when that is set."""
    counts = FIGURES.as_dict()
    if not counts:
        return
    terminalreporter.section(f"reliability figures (profile: {PROFILE})")
    for name, value in counts.items():
        terminalreporter.write_line(f"{name}: {value:,}")
    target = os.environ.get("PLEDGEBOT_FIGURES", "").strip()
    if target:
        Path(target).write_text(json.dumps({"profile": PROFILE, "figures": counts}, indent=2) + "\n")


def snapshot(db_path: Path | str) -> dict[str, tuple[int, str]]:
    """Every table's row count and a digest of its rows, read over a connection of its own.

    Two equal snapshots mean nothing was written, whichever thread or connection would have written it.
    """
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        tables = [
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            if not r[0].startswith("sqlite_")
        ]
        out = {}
        for table in tables:
            digest = hashlib.sha256()
            count = 0
            for row in conn.execute(f'SELECT * FROM "{table}" ORDER BY 1'):
                digest.update(repr(row).encode("utf-8", "surrogatepass"))
                count += 1
            out[table] = (count, digest.hexdigest())
        return out
    finally:
        conn.close()


# Secrets the fakes and the reliability tests use; none may ever reach a log line of any reliability test.
KNOWN_SECRETS: set[str] = set()


def guard_secret(*values: str) -> None:
    """Add secrets that the autouse log guard must never find in a log record."""
    KNOWN_SECRETS.update(v for v in values if v)


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a broken format string is not a leak
            text = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.lines.append(text)


@pytest.fixture(autouse=True)
def no_secret_in_logs() -> Iterator[list[str]]:
    """Every reliability test runs with DEBUG logging collected; afterwards no known secret may appear."""
    from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN, CLIENT_SECRET, SIGNING_SECRET

    guard_secret(APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, CLIENT_SECRET)
    root = logging.getLogger()
    collector = _Collector()
    level = root.level
    root.addHandler(collector)
    root.setLevel(logging.DEBUG)
    try:
        yield collector.lines
    finally:
        root.removeHandler(collector)
        root.setLevel(level)
    FIGURES.add("secrets.log_lines_scanned", len(collector.lines))
    leaked = [s for s in KNOWN_SECRETS if any(s in line for line in collector.lines)]
    assert not leaked, f"{len(leaked)} known secret(s) appeared in a log line"
