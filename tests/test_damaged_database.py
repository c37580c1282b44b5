"""A damaged or missing database: the real command line refuses it in one line, exit status 2, and leaves the
file exactly as it found it; a running process's health check turns False when its file goes bad.

Each case is listed in RELIABILITY.md ("A damaged or missing database") with the message users see.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from bot.cli import open_bot
from bot.config import Settings
from tests.conftest import ROOT

UNPRIVILEGED = "nobody"
PAGE = 4096


def python(
    args: list[str], *, env: dict[str, str] | None = None, user: list[str] | None = None, cwd: Path
) -> subprocess.CompletedProcess:
    """`python *args` with a clean environment, the checkout on PYTHONPATH, and a timeout."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DISCORD_", "PLEDGEBOT_")) and k != "DATABASE_URL"
    }
    base.update({"PYTHONPATH": str(ROOT), **(env or {})})
    return subprocess.run(
        [*(user or []), sys.executable, *args], capture_output=True, text=True, env=base, cwd=cwd, timeout=60
    )


def run(
    db: Path, *, env: dict[str, str] | None = None, user: list[str] | None = None, cwd: Path | None = None
):
    """`python -m bot ask "/pledge hotline"` with PLEDGEBOT_DB set, a clean environment and a timeout."""
    return python(
        ["-m", "bot", "ask", "/pledge hotline"],
        env={"PLEDGEBOT_DB": str(db), **(env or {})},
        user=user,
        cwd=cwd or db.parent,
    )


def assert_refused(result: subprocess.CompletedProcess, names: str) -> str:
    """Exit status 2, nothing on stdout, exactly one line on stderr naming `names`, no traceback."""
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pledgebot: ") and names in lines[0]
    assert "Traceback" not in result.stderr
    return lines[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def real_db(tmp_path: Path) -> Path:
    """A whole database built from data/, closed, with its WAL checkpointed into the file."""
    path = tmp_path / "real" / "pledgebot.db"
    bot = open_bot(Settings(db_path=path))
    bot.close()
    assert path.stat().st_size > 16 * PAGE
    return path


def test_empty_file_is_refused_and_left_empty(tmp_path):
    db = tmp_path / "pledgebot.db"
    db.touch()
    line = assert_refused(run(db), "PLEDGEBOT_DB")
    assert "is an empty file, not a database" in line
    assert db.stat().st_size == 0  # never re-created as a new, empty database


def test_truncated_database_is_refused(tmp_path, real_db):
    db = tmp_path / "pledgebot.db"
    whole = real_db.read_bytes()
    db.write_bytes(whole[: len(whole) // 2])
    before = digest(db)
    line = assert_refused(run(db), "PLEDGEBOT_DB")
    assert "is truncated" in line
    assert digest(db) == before


@pytest.mark.parametrize(
    "content", [os.urandom(64 * 1024), b"pledges:\n  - id: not-a-database\n"], ids=["random-bytes", "text"]
)
def test_foreign_file_is_refused(tmp_path, content):
    db = tmp_path / "pledgebot.db"
    db.write_bytes(content)
    line = assert_refused(run(db), "PLEDGEBOT_DB")
    assert "is not a SQLite database" in line
    assert db.read_bytes() == content


def _garble(path: Path, start: float, end: float) -> None:
    """Overwrite the pages from `start` to `end` (fractions of the file) with random bytes, not the header."""
    pages = path.stat().st_size // PAGE
    first, last = max(1, int(pages * start)), min(pages, max(int(pages * start) + 1, int(pages * end)))
    with path.open("r+b") as handle:
        handle.seek(first * PAGE)
        handle.write(os.urandom((last - first) * PAGE))


def test_garbage_pages_behind_a_good_header_are_refused(tmp_path, real_db):
    db = tmp_path / "pledgebot.db"
    shutil.copy(real_db, db)
    _garble(db, 0.25, 0.75)
    before = digest(db)
    line = assert_refused(run(db), "PLEDGEBOT_DB")
    assert "cannot be used" in line
    assert digest(db) == before


def test_garbage_pages_found_while_loading_the_catalogue_are_refused(tmp_path, real_db):
    """The schema pages are fine, so the file opens; the catalogue's own pages are garbage and the rebuild
    (the data folder changed) reads them. open_bot turns SQLite's error into the same one line."""
    db = tmp_path / "pledgebot.db"
    shutil.copy(real_db, db)
    _garble(db, 0.75, 1.0)
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data)
    (data / "extra.yaml").write_text(
        "pledges:\n  - id: extra-pledge\n    speaker: lee-jae-myung\n"
        "    title: Extra\n    category: Economy\n",
        encoding="utf-8",
    )
    before = digest(db)
    line = assert_refused(run(db, env={"PLEDGEBOT_DATA": str(data)}), "PLEDGEBOT_DB")
    assert "cannot be used" in line
    assert db.exists() and digest(db) == before  # never deleted or replaced


def _unprivileged() -> list[str]:
    """The setpriv prefix that runs a command as `nobody`, or skip: as root, permission bits prove nothing."""
    if os.geteuid() != 0:
        return []
    if not shutil.which("setpriv"):
        pytest.skip(
            "running as root without setpriv (util-linux): cannot drop to a user that permissions stop"
        )
    try:
        user = pwd.getpwnam(UNPRIVILEGED)
    except KeyError:
        pytest.skip(
            f"running as root with no {UNPRIVILEGED!r} user: cannot drop to a user that permissions stop"
        )
    return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"]


@pytest.fixture
def readonly_folder():
    """A folder outside pytest's root-only tmp tree that everyone may enter and read but nobody may write."""
    folder = Path(tempfile.mkdtemp(prefix="pledgebot-ro-"))
    os.chmod(folder, 0o755)
    yield folder
    os.chmod(folder, 0o755)
    shutil.rmtree(folder)


@pytest.mark.parametrize("existing", [True, False], ids=["existing-file", "no-file-yet"])
def test_read_only_folder_is_refused(readonly_folder, real_db, existing):
    user = _unprivileged()
    db = readonly_folder / "pledgebot.db"
    if existing:
        shutil.copy(real_db, db)
        os.chmod(db, 0o644)
    os.chmod(readonly_folder, 0o555)
    # The check is only real if this user truly cannot write there.
    probe = subprocess.run(
        [
            *user,
            sys.executable,
            "-c",
            f"import os; print(os.geteuid()); open({str(readonly_folder / 'p')!r}, 'w')",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if not probe.stdout.strip():
        pytest.skip(f"the interpreter cannot be run as the unprivileged user: {probe.stderr.strip()[-200:]}")
    if probe.stdout.strip() == "0" or "PermissionError" not in probe.stderr:
        pytest.skip("this process can write the read-only folder: the check would prove nothing")
    # The child must import the project as that user, as the command below does: from a checkout under a
    # folder closed to it (a root user's home, `mktemp -d`), it cannot, and would fail for that reason.
    imported = python(["-c", "import bot.cli"], user=user, cwd=readonly_folder)
    if imported.returncode != 0:
        reason = (imported.stderr.strip().splitlines() or ["no error output"])[-1][-200:]
        pytest.skip(
            f"the unprivileged user cannot import the project from {ROOT} "
            f"(is a folder above it closed to that user?): {reason}"
        )
    before = digest(db) if existing else None
    line = assert_refused(run(db, user=user, cwd=readonly_folder), "PLEDGEBOT_DB")
    assert "cannot write" in line
    assert sorted(p.name for p in readonly_folder.iterdir()) == (["pledgebot.db"] if existing else [])
    if existing:
        assert digest(db) == before


def test_unreachable_database_url_is_one_line_without_the_url(tmp_path):
    with socket.socket() as sock:  # a port nothing listens on: bound, never listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        url = f"postgresql://pledgebot:s3cret-pw@127.0.0.1:{port}/pledgebot"
        result = run(tmp_path / "pledgebot.db", env={"DATABASE_URL": url})
    line = assert_refused(result, "DATABASE_URL")
    assert "s3cret-pw" not in result.stderr + result.stdout
    assert url not in line and str(port) not in line


def test_core_is_healthy_until_its_file_is_replaced_by_garbage(tmp_path):
    bot = open_bot(Settings(db_path=tmp_path / "pledgebot.db"))
    try:
        assert bot.core.healthy()
        (tmp_path / "pledgebot.db").write_bytes(os.urandom(64 * 1024))
        assert not bot.core.healthy()
    finally:
        bot.close()


def test_core_is_unhealthy_once_its_file_is_deleted(tmp_path):
    bot = open_bot(Settings(db_path=tmp_path / "pledgebot.db"))
    try:
        assert bot.core.healthy()
        (tmp_path / "pledgebot.db").unlink()
        assert not bot.core.healthy()
    finally:
        bot.close()


def test_core_health_defaults_to_healthy(bot):
    from zoneinfo import ZoneInfo

    from bot.channels.answers import Channels
    from bot.commands import REGISTRY
    from bot.core import Core

    channels = Channels(bot.subscriptions, bot.editors, ZoneInfo("Asia/Seoul"))
    core = Core(REGISTRY, {}, bot.catalogue, bot.lookups, channels)
    assert core.healthy()
