"""The command line as a user runs it: real processes, a fresh database, no credentials."""

from __future__ import annotations

import json
import os
import pty
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import HEADLINE, HOTLINE_QUOTE, ROOT


def run(tmp_path: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None):
    """Run `python -m bot` with its own database and a clean environment; bounded by a timeout."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "PLEDGEBOT_"))}
    base.update({"PLEDGEBOT_DB": str(tmp_path / "cli.db"), **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=base,
        cwd=tmp_path,
        timeout=60,
    )


def test_piped_console_answers_each_line_and_exits(tmp_path):
    result = run(tmp_path, stdin="/pledge hotline\n/pledge 핫라인\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(HOTLINE_QUOTE) == 2
    assert "2025-05-26" in result.stdout and HEADLINE in result.stdout
    assert "pledge> " not in result.stdout  # no prompt on a pipe
    assert (tmp_path / "cli.db").exists()


def test_ask_answers_one_command(tmp_path):
    result = run(tmp_path, "ask", "/pledge 핫라인")
    assert result.returncode == 0 and HOTLINE_QUOTE in result.stdout


@pytest.mark.parametrize("hostile", ['"', "AND(", "NEAR(a b) *", "(((", "\x07\x1b[2J", "x" * 10_000, "🙂🙂"])
def test_hostile_input_never_prints_a_traceback(tmp_path, hostile):
    result = run(tmp_path, "ask", hostile)
    assert result.returncode == 0
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.strip()


def test_import_with_a_bad_row_names_it_and_changes_nothing(tmp_path):
    good = tmp_path / "pledges.csv"
    good.write_text("id,speaker,title,category\nnew-one,lee-jae-myung,Ok,Economy\n", encoding="utf-8")
    bad = tmp_path / "2026-quotes.csv"
    bad.write_text(
        "pledge,text,source,said_on\nnew-one,Something,joongang-2025-05-26-hotline,2025-02-30\n",
        encoding="utf-8",
    )
    result = run(tmp_path, "import", str(good), str(bad))
    assert result.returncode == 1
    assert "import aborted, the catalogue is unchanged" in result.stderr
    assert f"{bad} row 2: field 'said_on': '2025-02-30' is not a real calendar date" in result.stderr
    assert "There is no pledge with the id “new-one”" in run(tmp_path, "ask", "show new-one").stdout


def test_export_and_validate(tmp_path):
    exported = run(tmp_path, "export", "--format", "csv", "--output", str(tmp_path / "out"))
    assert exported.returncode == 0, exported.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "milestones.csv",
        "pledges.csv",
        "quotes.csv",
        "sources.csv",
        "speakers.csv",
        "statuses.csv",
    ]
    validated = run(tmp_path, "validate")
    assert validated.returncode == 0 and validated.stdout.startswith("OK: 1 file(s), 1 speakers")


def test_configuration_error_names_the_variable_and_hides_the_secret(tmp_path):
    secret = "xoxb-very-secret-token-123"
    result = run(tmp_path, "ask", "hotline", env={"SLACK_BOT_TOKEN": secret})
    assert result.returncode == 2
    assert "SLACK_SIGNING_SECRET" in result.stderr
    assert secret not in result.stderr + result.stdout


def test_dotenv_is_read_from_the_working_directory(tmp_path):
    (tmp_path / ".env").write_text("PORT=not-a-port\n", encoding="utf-8")
    result = run(tmp_path, "ask", "hotline")
    assert result.returncode == 2 and "PORT must be a whole number" in result.stderr


def test_help_lists_every_subcommand():
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--help"], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    for name in ("run", "console", "ask", "slack", "discord", "import", "export", "validate"):
        assert name in result.stdout


def test_the_standby_retry_interval_is_read_and_bounded():
    from bot.config import ConfigError, load_settings

    assert load_settings({}).standby_retry_seconds == 10.0
    assert load_settings({"PLEDGEBOT_STANDBY_RETRY_SECONDS": "0.5"}).standby_retry_seconds == 0.5
    for bad in ("0", "soon", "301"):
        with pytest.raises(ConfigError, match="PLEDGEBOT_STANDBY_RETRY_SECONDS"):
            load_settings({"PLEDGEBOT_STANDBY_RETRY_SECONDS": bad})


DEADLINE = (
    '{"milestones": [{"id": "hotline-deadline", "date": "2027-01-15", "kind": "deadline", '
    '"title": "Deadline to restore the inter-Korean hotline", "pledge": "inter-korean-hotline", '
    '"speaker": "lee-jae-myung"}]}'
)


def test_a_deadline_is_reminded_on_its_day_and_ahead_of_it(tmp_path):
    path = tmp_path / "deadline.json"
    path.write_text(DEADLINE, encoding="utf-8")
    assert run(tmp_path, "import", str(path)).returncode == 0
    on_the_day = run(tmp_path, "reminders", "--date", "2027-01-15")
    assert on_the_day.returncode == 0, on_the_day.stderr
    assert "Due today: Deadline to restore the inter-Korean hotline" in on_the_day.stdout
    # With the pledge's quote and where it stands now.
    assert HOTLINE_QUOTE in on_the_day.stdout and "status: Not yet rated" in on_the_day.stdout
    ahead = run(tmp_path, "reminders", "--date", "2027-01-08", "--ahead", "7")
    assert "Due in 7 days: Deadline to restore the inter-Korean hotline" in ahead.stdout
    assert "Nothing falls due" in run(tmp_path, "reminders", "--date", "2027-01-08").stdout
    # A topic narrows the plan: the hotline is a North Korea pledge, not a defense one.
    korea = run(tmp_path, "reminders", "--date", "2027-01-08", "--ahead", "7", "--topic", "north korea")
    assert "Due in 7 days: Deadline" in korea.stdout
    defense = run(tmp_path, "reminders", "--date", "2027-01-08", "--ahead", "7", "--topic", "defense")
    assert "Nothing falls due" in defense.stdout
    unknown = run(tmp_path, "reminders", "--date", "2027-01-08", "--topic", "nonsense")
    assert unknown.returncode == 2 and "Defense, Diplomacy, North Korea" in unknown.stderr
    assert run(tmp_path, "reminders", "--ahead", "31").returncode == 2


def _read_until(process: subprocess.Popen, stream, pattern: str, seconds: float = 30) -> re.Match:
    """Read `stream` (raw, so no buffer hides a line from select) until `pattern` matches what was read."""
    said = ""
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        deadline = time.monotonic() + seconds
        while not (found := re.search(pattern, said)):
            assert selector.select(max(deadline - time.monotonic(), 0)), f"{pattern!r} never came: {said!r}"
            chunk = os.read(stream.fileno(), 4096)
            assert chunk, f"the process ended: {said!r}"
            said += chunk.decode(errors="replace")
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def _serving(tmp_path: Path, *args: str, env: dict[str, str] | None = None, **streams) -> subprocess.Popen:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "PLEDGEBOT_"))}
    base.update({"PLEDGEBOT_DB": str(tmp_path / "cli.db"), **(env or {})})
    options = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **streams}
    return subprocess.Popen([sys.executable, "-m", "bot", *args], env=base, cwd=tmp_path, **options)


def _stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=20)
    finally:
        process.kill()
        process.wait(timeout=10)


def test_site_serves_the_meter_and_prints_its_address_on_stderr(tmp_path):
    """`pledgebot site --port N`: the address on stderr, the meter at it, a clean exit on SIGTERM."""
    port = _free_port()
    process = _serving(tmp_path, "site", "--port", str(port))
    try:
        _read_until(process, process.stderr, rf"the tracker site is at http://127\.0\.0\.1:{port}/\n")
        assert 'data-total="14"' in _fetch(f"http://127.0.0.1:{port}/")
    finally:
        assert _stop(process) == 0
    assert process.stdout.read() == b""


def test_run_on_a_terminal_serves_the_site_beside_the_console(tmp_path):
    """`make run` (pledgebot run, no credentials, a terminal): the console on stdout, the site's address on
    stderr, the site answering at it."""
    controller, terminal = pty.openpty()
    process = _serving(tmp_path, "run", stdin=terminal, stdout=terminal)
    os.close(terminal)
    try:
        _read_until(process, os.fdopen(os.dup(controller), "rb", buffering=0), r"pledge> ")
        found = _read_until(process, process.stderr, r"the tracker site is at (http://127\.0\.0\.1:\d+/)\n")
        assert 'data-total="14"' in _fetch(found[1])
        os.write(controller, b"quit\n")
        assert process.wait(timeout=20) == 0
    finally:
        process.kill()
        process.wait(timeout=10)
        os.close(controller)


def test_a_piped_run_prints_only_the_answers(tmp_path):
    """`echo "/pledge hotline" | make run`: the answer on stdout and nothing else (the site's address, if
    it was up before the batch ended, goes to stderr)."""
    result = run(tmp_path, "run", stdin="/pledge hotline\n")
    assert result.returncode == 0 and HOTLINE_QUOTE in result.stdout
    assert "tracker site" not in result.stdout and "site:" not in result.stdout
    assert all("tracker site is at http://127.0.0.1:" in line for line in result.stderr.splitlines())


def test_a_run_on_an_open_pipe_serves_the_site_until_the_pipe_ends(tmp_path):
    """Without a terminal (a host's log, `sleep 3600 | make run`) the site is served too, its address on
    stderr, while stdout carries only the answers; the end of the pipe ends the process."""
    process = _serving(tmp_path, "run", stdin=subprocess.PIPE)
    try:
        address = _read_until(process, process.stderr, r"tracker site is at (http://127\.0\.0\.1:\d+/)")[1]
        assert HOTLINE_QUOTE in _fetch(f"{address}pledges/inter-korean-hotline")
        out = process.communicate(b"/pledge hotline\n", timeout=20)[0].decode()
    finally:
        process.kill()
        process.wait(timeout=10)
    assert process.returncode == 0 and HOTLINE_QUOTE in out and "tracker site" not in out


def test_web_without_slack_serves_the_site_and_healthz_on_port(tmp_path):
    port = _free_port()
    process = _serving(tmp_path, "web", env={"PORT": str(port)})
    try:
        _read_until(process, process.stderr, rf"site: serving on http://127\.0\.0\.1:{port}/")
        assert HOTLINE_QUOTE in _fetch(f"http://127.0.0.1:{port}/pledges/inter-korean-hotline")
        assert json.loads(_fetch(f"http://127.0.0.1:{port}/healthz")) == {"ok": True}
    finally:
        assert _stop(process) == 0


def test_reminders_plan_for_a_channel_following_an_official_or_a_region(tmp_path):
    from tests.test_officials_commands import NATION

    path = tmp_path / "nation.yaml"
    path.write_text(NATION, encoding="utf-8")
    assert run(tmp_path, "import", str(path)).returncode == 0
    # A year after the officials' pledges of 2026-05-20.
    everyone = run(tmp_path, "reminders", "--date", "2027-05-20")
    assert "Night buses" in everyone.stdout and "Free school breakfast" in everyone.stdout
    seoul_mayor = run(tmp_path, "reminders", "--date", "2027-05-20", "--official", "Hong Seoul")
    assert seoul_mayor.returncode == 0, seoul_mayor.stderr
    assert "Night buses" in seoul_mayor.stdout and "Youth housing" in seoul_mayor.stdout
    assert "Free school breakfast" not in seoul_mayor.stdout and "Bus rapid transit" not in seoul_mayor.stdout
    busan = run(tmp_path, "reminders", "--date", "2027-05-20", "--region", "부산")
    assert "Free school breakfast" in busan.stdout and "Beach at night" in busan.stdout
    assert "Night buses" not in busan.stdout
    nobody = run(tmp_path, "reminders", "--date", "2027-05-20", "--official", "Nobody Atall")
    assert nobody.returncode == 2 and "no official called 'Nobody Atall'" in nobody.stderr
    nowhere = run(tmp_path, "reminders", "--date", "2027-05-20", "--region", "Atlantis")
    assert nowhere.returncode == 2 and "no official holds office in 'Atlantis'" in nowhere.stderr


async def test_the_serving_loop_builds_the_calendar_before_a_reader_asks(bot):
    """A web process builds the calendar in the background (at 100,000 pledges, seconds), so the first
    `/pledge on` or dated search does not wait for it."""
    import asyncio
    from unittest import mock

    from bot.cli import _follow

    loop = asyncio.get_running_loop()
    built = asyncio.Event()
    current = bot.calendars.current

    def watched():
        calendar = current()
        loop.call_soon_threadsafe(built.set)
        return calendar

    stopping = asyncio.Event()
    with mock.patch.object(bot.calendars, "current", watched):
        follower = asyncio.create_task(_follow(bot.loader, stopping, bot.metrics, bot.calendars))
        try:
            await asyncio.wait_for(built.wait(), 10)
        finally:
            stopping.set()
            await follower
