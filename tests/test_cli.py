"""The command line as a user runs it: real processes, a fresh database, no credentials."""

from __future__ import annotations

import os
import subprocess
import sys
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
    assert "Today: Deadline to restore the inter-Korean hotline" in on_the_day.stdout
    # With the pledge's quote and where it stands now.
    assert HOTLINE_QUOTE in on_the_day.stdout and "status: not yet rated" in on_the_day.stdout
    ahead = run(tmp_path, "reminders", "--date", "2027-01-08", "--ahead", "7")
    assert "In 7 days: Deadline to restore the inter-Korean hotline" in ahead.stdout
    assert "Nothing falls due" in run(tmp_path, "reminders", "--date", "2027-01-08").stdout
    # A topic narrows the plan: the hotline is a North Korea pledge, not a defense one.
    korea = run(tmp_path, "reminders", "--date", "2027-01-08", "--ahead", "7", "--topic", "north korea")
    assert "In 7 days: Deadline" in korea.stdout
    defense = run(tmp_path, "reminders", "--date", "2027-01-08", "--ahead", "7", "--topic", "defense")
    assert "Nothing falls due" in defense.stdout
    unknown = run(tmp_path, "reminders", "--date", "2027-01-08", "--topic", "nonsense")
    assert unknown.returncode == 2 and "Defense, Diplomacy, North Korea" in unknown.stderr
    assert run(tmp_path, "reminders", "--ahead", "31").returncode == 2


def test_site_serves_the_meter_and_prints_its_address_on_stderr(tmp_path):
    """`pledgebot site --port N`: the address on stderr, the meter at it, a clean exit on SIGTERM."""
    import selectors
    import signal
    import socket
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "PLEDGEBOT_"))}
    base["PLEDGEBOT_DB"] = str(tmp_path / "cli.db")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "site", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=base,
        cwd=tmp_path,
    )
    try:
        announced = f"pledgebot: the tracker site is at http://127.0.0.1:{port}/\n"
        said = ""
        with selectors.DefaultSelector() as selector:
            selector.register(process.stderr, selectors.EVENT_READ)
            deadline = time.monotonic() + 30
            # Raw reads: a buffered reader could hold the line while select() waits for more.
            while announced not in said:
                assert selector.select(deadline - time.monotonic()), f"no address on stderr: {said}"
                chunk = os.read(process.stderr.fileno(), 4096)
                assert chunk, f"the site exited: {said}"
                said += chunk.decode()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            assert 'data-total="14"' in response.read().decode()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        assert process.stdout.read() == ""
    finally:
        process.kill()
        process.wait(timeout=10)
