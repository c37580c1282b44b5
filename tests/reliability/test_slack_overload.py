"""The Slack HTTP endpoint under load nobody asked for: a core that cannot answer `/healthz`, connections that
never finish their headers or sit idle, more connections than the server may hold, and a process out of
file descriptors. `serve()` runs on 127.0.0.1 with the real Bolt app and core (in a subprocess with a
512-file limit for the last), with timeouts and caps shrunk so that each test takes a second or two.

Every wait is bounded: a response, the server closing a connection, or a condition polled to a deadline.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import aiohttp
import pytest

from adapters.slack_app.connections import Limits, OverloadLog, connection_cap
from bot.config import Settings
from bot.core import Core
from tests.fakes.slack_api import (
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    form_body,
    signed_headers,
    slash_command,
)
from tests.reliability.conftest import LONG
from tests.reliability.processes import Bot, free_port, poll
from tests.test_slack_http import REPORTER, Running, start, text_of

pytestmark = pytest.mark.soak

WAIT = 5.0


@pytest.fixture
def slack_users() -> dict[str, dict]:
    return {REPORTER: {}}


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

    def is_editor(self, platform: str, workspace: str, user: str) -> bool:
        """The real core's editors list."""
        return self.core.is_editor(platform, workspace, user)

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


async def test_healthz_is_503_when_the_real_database_cannot_answer(bot, settings, slack):
    core = bot.core
    async for running in start(core, settings, slack):
        assert await healthz(running) == (200, {"ok": True})
        # Another connection, so that the threads' own connections see the change as a broken database would.
        other = bot.store.db.conn
        other.execute("ALTER TABLE pledges RENAME TO pledges_gone")
        try:
            assert await healthz(running) == (503, {"ok": False, "error": "unhealthy"})
        finally:
            other.execute("ALTER TABLE pledges_gone RENAME TO pledges")
        assert await healthz(running) == (200, {"ok": True})


# -- the cap and the log's rate --------------------------------------------------------------------------


def test_the_default_cap_is_half_the_open_file_limit_within_bounds():
    assert [connection_cap(n) for n in (10, 512, 1024, 20_000, 1 << 20)] == [16, 256, 512, 1024, 1024]
    assert Limits(max_connections=7).cap == 7


def test_each_kind_of_overload_is_logged_at_most_once_a_minute_with_a_count(caplog):
    now = [0.0]
    overload = OverloadLog(interval=60.0, clock=lambda: now[0])
    caplog.set_level("WARNING")
    for at, kind in [(0, "shed"), (1, "shed"), (2, "headers"), (30, "shed"), (59.9, "shed"), (61, "shed")]:
        now[0] = at
        overload.warning(kind, "%s happened", kind)
    assert [r.getMessage() for r in caplog.records] == [
        "shed happened",
        "headers happened",
        "shed happened (3 more since the last such line)",
    ]


# -- slow, idle and too many connections ------------------------------------------------------------------

# Small enough that a test takes a second or two, large enough for a loaded test machine to keep up.
# The idle limit is the longest, as in production, so that aiohttp's idle timer is not what closes a
# connection whose headers are late.
LIMITS = Limits(header_timeout=1.0, body_timeout=1.0, idle_timeout=1.5, max_connections=20)
HALF_OPEN = (
    b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"  # the blank line that ends the headers never comes
)


def port_of(running: Running) -> int:
    return int(running.url.rsplit(":", 1)[1])


async def connect(
    to: Running | int, first: bytes = HALF_OPEN
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A raw connection to the server (a running one, or a port), having sent `first`."""
    port = to if isinstance(to, int) else port_of(to)
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), WAIT)
    writer.write(first)
    await writer.drain()
    return reader, writer


async def until_closed(reader: asyncio.StreamReader, timeout: float) -> bytes:
    """Everything the server sends until it closes the connection (bounded by `timeout`)."""
    try:
        return await asyncio.wait_for(reader.read(), timeout)
    except ConnectionResetError:
        return b""


def overload_lines(lines: list[str]) -> list[str]:
    """The log lines about connections being shed, timed out or refused."""
    words = (
        "shedding connections",
        "closing connections",
        "cannot accept",
        "accepting a connection",
        "malformed",
    )
    return [line for line in lines if any(w in line for w in words)]


async def test_half_open_connections_are_closed_after_the_header_timeout(
    core: Core, settings, slack, no_secret_in_logs, figures
):
    async for running in start(core, settings, slack, limits=LIMITS):
        started = time.monotonic()
        silent = await connect(running, b"")
        half_open = [await connect(running) for _ in range(5)]
        # A slowloris: one more header line whenever the server has said nothing for a tenth of a second.
        reader, writer = await connect(running)
        trickled = 0
        while True:
            try:
                data = await asyncio.wait_for(reader.read(), 0.1)
                break
            except TimeoutError:
                writer.write(f"X-Slow-{trickled}: a\r\n".encode())
                trickled += 1
            assert time.monotonic() - started < LIMITS.header_timeout + WAIT
        for r, _ in [silent, *half_open]:
            assert await until_closed(r, LIMITS.header_timeout + WAIT) == b""
        closed_after = time.monotonic() - started
        assert data == b"" and trickled >= 5
        assert LIMITS.header_timeout <= closed_after < LIMITS.header_timeout + 2.0
        figures.add("slack_overload.header_timeout_ms", int(closed_after * 1000))
        for _, w in [silent, *half_open, (reader, writer)]:
            w.close()
        assert await healthz(running) == (200, {"ok": True})
    assert len(overload_lines(no_secret_in_logs)) == 1
    assert not [line for line in no_secret_in_logs if "Traceback" in line]


async def test_an_idle_kept_alive_connection_is_closed_after_the_idle_limit(core: Core, settings, slack):
    async for running in start(core, settings, slack, limits=LIMITS):
        request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        reader, writer = await connect(running, request)
        # Kept alive: a second request on the same connection is answered too.
        for _ in range(2):
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
            assert head.startswith(b"HTTP/1.1 200")
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await asyncio.wait_for(reader.readexactly(length), WAIT)
            answered = time.monotonic()
            writer.write(request)
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
        await asyncio.wait_for(reader.readexactly(length), WAIT)
        answered = time.monotonic()
        assert await until_closed(reader, LIMITS.idle_timeout + WAIT) == b""
        idle = time.monotonic() - answered
        assert LIMITS.idle_timeout - 0.1 <= idle < LIMITS.idle_timeout + 2.0
        writer.close()


async def test_a_body_that_stops_arriving_gets_a_408(core: Core, settings, slack, no_secret_in_logs):
    async for running in start(core, settings, slack, limits=LIMITS):
        head = (
            "POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n"
            f"X-Slack-Request-Timestamp: {int(time.time())}\r\nX-Slack-Signature: v0={'0' * 64}\r\n\r\n"
        )
        started = time.monotonic()
        reader, writer = await connect(running, head.encode() + b"command=%2Fpledge")
        answer = await until_closed(reader, LIMITS.body_timeout + WAIT)
        assert answer.startswith(b"HTTP/1.1 408") and b'"body_timeout"' in answer
        assert LIMITS.body_timeout <= time.monotonic() - started < LIMITS.body_timeout + 2.0
        writer.close()
        assert await healthz(running) == (200, {"ok": True})
    assert len(overload_lines(no_secret_in_logs)) == 1


async def test_malformed_and_cut_off_requests_are_refused_with_one_log_line(
    core: Core, settings, slack, no_secret_in_logs, figures
):
    post = (
        "POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n{length}"
        f"X-Slack-Request-Timestamp: {int(time.time())}\r\nX-Slack-Signature: v0={'0' * 64}\r\n\r\n"
    )
    requests = {
        "a header line without a colon": b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nNo colon here\r\n\r\n",
        "a header line of 100 KiB": b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n",
        "a bad chunk size": post.format(length="Transfer-Encoding: chunked\r\n").encode() + b"zz\r\nabc\r\n",
        "a body cut off by the client": post.format(length="Content-Length: 100\r\n").encode() + b"text=x",
    }
    async for running in start(core, settings, slack, limits=LIMITS):
        for name, request in requests.items():
            for _ in range(10):
                reader, writer = await connect(running, request)
                if name == "a body cut off by the client":
                    writer.close()  # gone before the body is complete
                else:
                    answer = await until_closed(reader, WAIT)
                    assert answer.startswith(b"HTTP/1.") and b" 400 " in answer.split(b"\r\n")[0], name
                    writer.close()
                figures.add("slack_overload.malformed_requests")
        assert await healthz(running) == (200, {"ok": True})
    assert len(overload_lines(no_secret_in_logs)) <= 1
    assert not [line for line in no_secret_in_logs if "Traceback" in line]


async def get_healthz_raw(running: Running | int) -> tuple[bytes, float]:
    """GET /healthz on a new connection (not a kept-alive one): its first line, and the time it took."""
    started = time.monotonic()
    reader, writer = await connect(
        running, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    answer = await until_closed(reader, WAIT)
    writer.close()
    return answer.split(b"\r\n", 1)[0], time.monotonic() - started


async def test_slowloris_beyond_the_cap_is_shed_with_503_and_the_server_recovers(
    core: Core, settings, slack, no_secret_in_logs, figures
):
    limits = Limits(header_timeout=2.0, body_timeout=1.0, idle_timeout=3.0, max_connections=20)
    attack = 60
    async for running in start(core, settings, slack, limits=limits):
        started = time.monotonic()
        attackers = [await connect(running) for _ in range(attack)]
        closed = [asyncio.ensure_future(until_closed(r, limits.header_timeout + WAIT)) for r, _ in attackers]
        # Every connection beyond the cap is answered 503 and closed at once.
        await poll(
            lambda closed=closed: sum(c.done() for c in closed) >= attack - 20,
            WAIT,
            "the connections beyond the cap",
        )
        shed = [c.result() for c in closed if c.done()]
        assert len(shed) == attack - 20
        assert all(
            a.startswith(b"HTTP/1.1 503 ") and a.endswith(b'{"ok": false, "error": "overloaded"}')
            for a in shed
        )
        # While the cap is full, /healthz is a prompt 503 too.
        first_line, took = await get_healthz_raw(running)
        assert first_line == b"HTTP/1.1 503 Service Unavailable" and took < 1.0
        figures.add("slack_overload.saturated_healthz_ms", int(took * 1000))
        # The held connections are closed when their headers are late, and /healthz is 200 again.
        held = await asyncio.gather(*closed)
        assert held.count(b"") == 20
        freed = time.monotonic() - started
        assert freed < limits.header_timeout + 2.0
        assert (await get_healthz_raw(running))[0] == b"HTTP/1.1 200 OK"
        figures.add("slack_overload.recovered_ms", int((time.monotonic() - started) * 1000))
        figures.add("slack_overload.connections_shed", len(shed))
        for _, writer in attackers:
            writer.close()
        assert "hotline" in text_of(await running.command("hotline")).lower()
    overload = overload_lines(no_secret_in_logs)
    assert len(overload) == 2, overload
    assert "shedding connections: 20 open, cap 20" in overload[0]
    assert "no complete request headers within 2 s" in overload[1]
    assert not [line for line in no_secret_in_logs if "Traceback" in line]


# -- the real attack: a process limited to 512 open files ----------------------------------------------------

OPEN_FILES = 512


def _env(tmp_path: Path, slack: FakeSlack, port: int) -> dict[str, str]:
    return {
        "PLEDGEBOT_DB": str(tmp_path / "p.db"),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "PORT": str(port),
    }


async def _command_is_answered(port: int, slack: FakeSlack, name: str) -> None:
    body = form_body(slash_command("hotline", response_url=slack.response_url(name)))
    answered = len(slack.calls_to("response_url"))
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"http://127.0.0.1:{port}/slack/events", data=body, headers=signed_headers(body)) as r,
    ):
        assert r.status == 200
    (*_, answer) = await slack.wait_for_calls("response_url", answered + 1, timeout=WAIT)
    assert "hotline" in text_of(answer.body).lower()


async def test_600_half_open_connections_against_pledgebot_slack_at_512_open_files(
    tmp_path: Path, slack: FakeSlack, figures
):
    """The attack testers ran: `pledgebot slack` as shipped, RLIMIT_NOFILE 512, 600 connections whose headers
    never finish. Before, /healthz and every command timed out and the log grew by 33 MB of tracebacks."""
    attack = 600
    port = free_port()
    bot = await Bot.start(["slack"], _env(tmp_path, slack, port), tmp_path, max_open_files=OPEN_FILES)
    attackers: list[asyncio.StreamWriter] = []
    try:
        line = await bot.wait_for_line("Slack: serving HTTP")
        cap = OPEN_FILES // 2
        assert f"at most {cap} connections" in line
        started = time.monotonic()
        readers = []
        for _ in range(attack):
            reader, writer = await connect(port)
            readers.append(reader)
            attackers.append(writer)
        closed = [asyncio.ensure_future(until_closed(r, 30)) for r in readers]
        await poll(
            lambda: sum(c.done() for c in closed) >= attack - cap, 10, "the connections beyond the cap"
        )
        shed = [c.result() for c in closed if c.done()]
        assert len(shed) == attack - cap and all(a.startswith(b"HTTP/1.1 503 ") for a in shed)
        figures.add("slack_overload.fd_limit.attack_ms", int((time.monotonic() - started) * 1000))
        # Saturated: /healthz is a prompt 503, not a timeout.
        first_line, took = await get_healthz_raw(port)
        assert first_line == b"HTTP/1.1 503 Service Unavailable" and took < 1.0
        figures.add("slack_overload.fd_limit.saturated_healthz_ms", int(took * 1000))
        if LONG:
            # The server closes the held connections itself, at the default header timeout (10 s).
            held = await asyncio.gather(*closed)
            assert held.count(b"") == cap
            figures.add("slack_overload.fd_limit.held_closed_ms", int((time.monotonic() - started) * 1000))
        else:
            # The attacker gives up (in the long profile, the server's header timeout closes them).
            for writer in attackers:
                writer.close()
            await asyncio.gather(*closed)
        recovered = time.monotonic()
        while (await get_healthz_raw(port))[0] != b"HTTP/1.1 200 OK":
            assert time.monotonic() - recovered < WAIT, "/healthz did not recover"
        figures.add("slack_overload.fd_limit.recovery_ms", int((time.monotonic() - recovered) * 1000))
        await _command_is_answered(port, slack, "after-attack")
        code, _ = await bot.stop()
        assert code == 0
    finally:
        for writer in attackers:
            writer.close()
        await bot.close()
    log = bot.log
    figures.add("slack_overload.fd_limit.stderr_bytes", len(log.encode()))
    assert "Traceback" not in log and "Too many open files" not in log
    overload = overload_lines(bot.lines)
    assert "shedding connections: 256 open, cap 256" in overload[0], log
    # In the long profile, the header timeout's line too.
    assert len(overload) == (2 if LONG else 1), log


async def test_out_of_file_descriptors_the_server_logs_one_line_and_recovers(
    tmp_path: Path, slack: FakeSlack, figures
):
    """A cap set above the open-file limit: accepts fail with EMFILE. One log line, no traceback, and the
    server serves again once the half-open connections' headers are late."""
    attack = 560  # more than the 512 descriptors, and few enough beyond them to fit the listen backlog
    # Long enough for the server to accept all 512 before the first of them times out (and frees its
    # descriptor): on a loaded CI machine, 1.5 s let only 413 in, and the process never ran out.
    header_timeout = 4.0
    port = free_port()
    bot = await Bot.start(
        ["--header-timeout", str(header_timeout), "--max-connections", "100000"],
        _env(tmp_path, slack, port),
        tmp_path,
        module="tests.reliability.slack_http_child",
        max_open_files=OPEN_FILES,
    )
    attackers: list[asyncio.StreamWriter] = []
    try:
        await bot.wait_for_line("Slack: serving HTTP")
        started = time.monotonic()
        readers = []
        for _ in range(attack):
            reader, writer = await connect(port)
            readers.append(reader)
            attackers.append(writer)
        closed = [asyncio.ensure_future(until_closed(r, 3 * header_timeout + WAIT)) for r in readers]
        await bot.wait_for_line("cannot accept connections", timeout=header_timeout + WAIT)
        # Once the held connections' headers are late, the server accepts (and times out) the rest, and
        # /healthz is 200 again.
        while (await get_healthz_raw(port))[0] != b"HTTP/1.1 200 OK":
            assert time.monotonic() - started < 3 * header_timeout + WAIT, "/healthz did not recover"
        figures.add("slack_overload.emfile.recovery_ms", int((time.monotonic() - started) * 1000))
        await _command_is_answered(port, slack, "after-emfile")
        # While out of descriptors, clients waiting to be accepted were told 503 through the spare one; the
        # rest were closed when their headers were late.
        answers = await asyncio.gather(*closed)
        told = sum(a.startswith(b"HTTP/1.1 503 ") for a in answers)
        assert told >= 1 and told + answers.count(b"") == attack
        figures.add("slack_overload.emfile.told_503", told)
        code, _ = await bot.stop()
        assert code == 0
    finally:
        for writer in attackers:
            writer.close()
        await bot.close()
    log = bot.log
    figures.add("slack_overload.emfile.stderr_bytes", len(log.encode()))
    assert "Traceback" not in log
    overload = overload_lines(bot.lines)
    assert len([line for line in overload if "Too many open files" in line]) == 1, log
    assert len(overload) <= 3, log
