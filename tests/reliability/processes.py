"""Real `python -m bot ...` processes for the crash, SIGTERM and load suites, and the profile they run at.

Every process runs in the test's own folder (so no developer `.env` is read) with an environment built
from scratch, its stderr is read continuously (so a chatty process never blocks on a full pipe), and every
wait is bounded: a line in the log, an exit, a condition polled against a deadline.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import resource
import signal
import socket
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bot.cli import open_bot
from bot.config import ROOT, Secret, Settings

START_TIMEOUT = 30.0
LONG = os.environ.get("PLEDGEBOT_PROFILE", "").strip().lower() == "long"


def profile(fast: int, long: int) -> int:
    """The fast figure for `make test`, the long one under `PLEDGEBOT_PROFILE=long` (`make soak`)."""
    return long if LONG else fast


def free_port() -> int:
    """A port that was free a moment ago (the OS may hand it out again, but not within one test)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_db(
    path: Path,
    channels: list[str],
    *,
    at: str = "09:00",
    zone: str = "Asia/Seoul",
    data_dir: Path | None = None,
    database_url: str | None = None,
) -> None:
    """Load data/ (or `data_dir`) into a fresh database at `path` and subscribe each Slack channel (in the
    PostgreSQL database at `database_url` when given, else in the same file)."""
    settings = Settings(
        db_path=path,
        data_dir=data_dir or Settings().data_dir,
        database_url=Secret(database_url) if database_url else None,
    )
    bot = open_bot(settings)
    try:
        created = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
        for channel in channels:
            bot.subscriptions.subscribe(
                "slack", "T0NEWSROOM", channel, dt.time.fromisoformat(at), zone, 0, "U0ADMIN", created
            )
    finally:
        bot.close()


def data_due_today(folder: Path) -> Path:
    """A data folder whose digest is not empty yesterday, today or tomorrow (UTC): a 100-day mark on each
    day, so every time zone's today has one (Seoul's is tomorrow's from 15:00 UTC).

    Processes that run on the real clock (`worker`) need something to deliver whatever the date is.
    """
    folder.mkdir(parents=True, exist_ok=True)
    today = dt.datetime.now(dt.UTC).date()
    lines = ["milestones:"]
    for back in (98, 99, 100):
        day = today - dt.timedelta(days=back)
        lines += [
            f"  - id: reliability-event-{back}",
            f"    date: {day.isoformat()}",
            "    kind: event",
            f"    title: A test event {back} days before the run",
        ]
    (folder / "events.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def ledger(path: Path) -> dict[str, str]:
    """The delivery ledger as {channel: state}, read with a connection of the test's own."""
    with sqlite3.connect(path, timeout=10) as conn:
        rows = conn.execute(
            "SELECT s.channel, d.state FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id"
        ).fetchall()
    conn.close()
    return dict(rows)


class StateDB:
    """The state store a test's processes share, read by the test over a connection of its own: the SQLite
    file `path`, or the PostgreSQL database at `url` when that is set."""

    def __init__(self, path: Path, url: str | None = None) -> None:
        self.path = path
        self.url = url

    @property
    def backend(self) -> str:
        return "postgres" if self.url else "sqlite"

    def env(self) -> dict[str, str]:
        """The variables that point a bot process at this store."""
        env = {"PLEDGEBOT_DB": str(self.path)}
        if self.url:
            env["DATABASE_URL"] = self.url
        return env

    def rows(self, sql: str) -> list[tuple]:
        """The rows of one query (no parameters; the state store's SQL runs on both engines)."""
        if self.url:
            import psycopg

            with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
                return [tuple(r) for r in conn.execute(sql).fetchall()]
        conn = sqlite3.connect(self.path, timeout=10)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()


class Bot:
    """One `python -m bot <command>` process with its stderr collected line by line."""

    def __init__(self, process: asyncio.subprocess.Process, name: str) -> None:
        self.process = process
        self.name = name
        self.lines: list[str] = []
        self.stdout = ""
        self._changed = asyncio.Condition()
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def start(
        cls,
        args: list[str],
        env: dict[str, str],
        cwd: Path,
        *,
        module: str = "bot",
        max_open_files: int | None = None,
    ) -> Bot:
        """Start `python -m <module> <args>` with exactly `env` (plus PATH and PYTHONPATH) in `cwd`.

        `max_open_files` sets the child's RLIMIT_NOFILE (soft and hard), as a host's limit would.
        """
        base = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}

        def limit_open_files() -> None:
            if max_open_files is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (max_open_files, max_open_files))

        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            module,
            *args,
            cwd=cwd,
            env={**base, **env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            preexec_fn=limit_open_files if max_open_files is not None else None,
        )
        return cls(process, " ".join([module, *args]) if module != "bot" else " ".join(args))

    async def _read(self) -> None:
        assert self.process.stderr is not None and self.process.stdout is not None
        out = asyncio.ensure_future(self.process.stdout.read())
        while line := await self.process.stderr.readline():
            async with self._changed:
                self.lines.append(line.decode(errors="replace"))
                self._changed.notify_all()
        self.stdout = (await out).decode(errors="replace")
        async with self._changed:
            self._changed.notify_all()

    @property
    def log(self) -> str:
        """Everything the process wrote to stderr so far."""
        return "".join(self.lines)

    @property
    def pid(self) -> int:
        return self.process.pid

    async def wait_for_line(self, needle: str, timeout: float = START_TIMEOUT) -> str:
        """Wait (bounded) until a stderr line contains `needle`; fail if the process ends first."""

        def found() -> str | None:
            return next((line for line in self.lines if needle in line), None)

        async with self._changed:
            try:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: found() is not None or self._reader.done()), timeout
                )
            except TimeoutError:
                message = f"{self.name}: no line with {needle!r} in {timeout} s:\n{self.log}"
                raise AssertionError(message) from None
        line = found()
        assert line is not None, f"{self.name} exited before logging {needle!r}:\n{self.log}"
        return line

    async def wait(self, timeout: float) -> int:
        """Wait (bounded) for the process to exit and its output to be read; return the exit status."""
        try:
            code = await asyncio.wait_for(self.process.wait(), timeout)
            await asyncio.wait_for(self._reader, timeout)
        except TimeoutError:
            raise AssertionError(f"{self.name} still running after {timeout} s:\n{self.log}") from None
        return code

    def kill(self) -> None:
        """SIGKILL: no handler, no cleanup, no flush, as when a host pulls the plug."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        """SIGTERM, as a host sends before a restart or a deploy."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)

    async def stop(self, timeout: float = 20.0) -> tuple[int, float]:
        """SIGTERM the process and wait for it; return its exit status and how long it took."""
        started = time.monotonic()
        self.terminate()
        code = await self.wait(timeout)
        return code, time.monotonic() - started

    async def close(self) -> None:
        """Make sure the process is gone (a test's `finally`)."""
        if self.process.returncode is None:
            self.kill()
        await self.process.wait()
        if not self._reader.done():
            await asyncio.wait_for(self._reader, 10)


async def poll(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.02) -> None:
    """Check `condition` until it holds, failing after `timeout` seconds (for state outside the loop)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(interval)


def percentile(values: list[float], pct: float) -> float:
    """The nearest-rank percentile of `values` (pct in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]
