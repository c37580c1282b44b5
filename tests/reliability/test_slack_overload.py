"""The Slack HTTP endpoint under load nobody asked for: a core that cannot answer `/healthz`, connections that
never finish their headers or sit idle, more connections than the server may hold, and a process out of
file descriptors. `serve()` runs on 127.0.0.1 with the real Bolt app and core (in a subprocess with a
512-file limit for the last), with timeouts and caps shrunk so that each test takes a second or two.

Every wait is bounded: a response, the server closing a connection, or a condition polled to a deadline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.core import Core
from tests.fakes.slack_api import FakeSlack
from tests.test_slack_http import REPORTER, Running, start, text_of

pytestmark = pytest.mark.soak

WAIT = 5.0


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_user(REPORTER)
        yield fake


@pytest.fixture
def settings(tmp_path: Path, slack: FakeSlack) -> Settings:
    return slack.settings(tmp_path / "pledgebot.db")


async def healthz(running: Running) -> tuple[int, dict]:
    """GET /healthz; its status and JSON."""
    async with running.session.get(f"{running.url}/healthz") as response:
        return response.status, await response.json()


# -- /healthz reports the core's health ----------------------------------------------------------------------


class SwitchableCore:
    """The real core, with a health check the test controls: healthy, unhealthy, failing or stuck."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.state = "real"
        self.release = threading.Event()

    def handle(self, text, ctx):
        """Answer with the real core."""
        return self.core.handle(text, ctx)

    def healthy(self) -> bool:
        """What the test set: the real core's answer, False, an exception, or a wait for `release`."""
        if self.state == "false":
            return False
        if self.state == "raise":
            raise RuntimeError("database disk image is malformed")
        if self.state == "stuck":
            self.release.wait(WAIT)  # bounded, so a failed test cannot hold a thread for ever
        return self.core.healthy()


async def test_healthz_is_503_whenever_the_core_is_not_healthy(
    core: Core, settings, slack, no_secret_in_logs
):
    switchable = SwitchableCore(core)
    async for running in start(switchable, settings, slack, health_timeout=0.3):
        assert await healthz(running) == (200, {"ok": True})
        for state in ("false", "raise"):
            switchable.state = state
            assert await healthz(running) == (503, {"ok": False, "error": "unhealthy"})
        # A health check that hangs (a database locked by a writer) is a prompt 503, not a hung probe.
        switchable.state = "stuck"
        started = time.monotonic()
        assert await healthz(running) == (503, {"ok": False, "error": "unhealthy"})
        assert time.monotonic() - started < 2.0
        switchable.release.set()
        switchable.state = "real"
        assert await healthz(running) == (200, {"ok": True})
        # Commands are answered all along: health is reported, not enforced.
        assert "hotline" in text_of(await running.command("hotline")).lower()
    assert not [line for line in no_secret_in_logs if "Traceback" in line]


async def test_healthz_is_503_when_the_real_database_cannot_answer(core: Core, settings, slack):
    async for running in start(core, settings, slack):
        assert await healthz(running) == (200, {"ok": True})
        # Another connection, so that the threads' own connections see the change as a broken database would.
        other = core.store.db.conn
        other.execute("ALTER TABLE pledges RENAME TO pledges_gone")
        try:
            assert await healthz(running) == (503, {"ok": False, "error": "unhealthy"})
        finally:
            other.execute("ALTER TABLE pledges_gone RENAME TO pledges")
        assert await healthz(running) == (200, {"ok": True})
