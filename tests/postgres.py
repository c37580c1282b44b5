"""A real PostgreSQL server for the tests: one per session, started on demand, and an empty database per test.

A pytest plugin (registered in conftest.py). `database_url` gives a test its own database on a server that
this module initdb's and starts on 127.0.0.1, from the binaries in `pg_config --bindir` or Debian's
/usr/lib/postgresql/*/bin. Without the binaries the tests that ask for it skip and the terminal summary says
so; with PLEDGEBOT_REQUIRE_POSTGRES=1 (as in CI) that is an error instead.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

REQUIRE_ENV = "PLEDGEBOT_REQUIRE_POSTGRES"
NOT_FOUND = (
    "PostgreSQL server binaries not found (looked in pg_config --bindir and /usr/lib/postgresql/*/bin); "
    "install Debian's postgresql package"
)
USER = "pledgebot"  # the bootstrap superuser, so tests may create databases and roles
# Durability is worthless for a throwaway server; these make initdb, start-up and CREATE DATABASE quick.
SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
START_TIMEOUT = 30.0  # seconds; a healthy server is ready in well under one
SHM_NEEDED = 1 << 30  # bytes free on /dev/shm before the server's folder goes there
LOG_NAME = "postgres.log"  # the server's stdout and stderr, in its folder
UNPRIVILEGED = "nobody"  # PostgreSQL refuses to run as root, so as root the server runs as this user


def find_bindir() -> Path | None:
    """The first folder with initdb and postgres: pg_config's bindir, then Debian's, newest version first."""
    candidates = []
    if pg_config := shutil.which("pg_config"):
        # libpq-dev ships pg_config without the server, so its bindir may lack initdb; hence the check below.
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if result.returncode == 0 and result.stdout.strip():
            candidates.append(Path(result.stdout.strip()))
    debian = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(debian, key=lambda p: _version_key(p.parent.name), reverse=True)
    for bindir in candidates:
        if all(os.access(bindir / name, os.X_OK) for name in ("initdb", "postgres")):
            return bindir
    return None


def _version_key(name: str) -> tuple[int, ...]:
    """'15' -> (15,), '9.6' -> (9, 6); names that are not versions sort first."""
    return tuple(int(part) for part in re.findall(r"\d+", name)) or (-1,)


def heroku_url(url: str) -> str:
    """The same URL spelled the way Heroku's DATABASE_URL spells it (`postgres://`); libpq accepts both."""
    return re.sub(r"^postgresql://", "postgres://", url)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scratch_root() -> str:
    """/dev/shm when it is a roomy RAM disk, else the usual temporary folder."""
    # On disk, CREATE DATABASE took 0.2-0.3 s even with fsync off; in RAM 0.02 s, and initdb twice as fast.
    # Docker's default /dev/shm is 64 MiB, too small for a cluster (40 MB) and its test databases.
    with contextlib.suppress(OSError):
        shm = os.statvfs("/dev/shm")
        if shm.f_bavail * shm.f_frsize >= SHM_NEEDED and os.access("/dev/shm", os.W_OK | os.X_OK):
            return "/dev/shm"
    return tempfile.gettempdir()


class StartError(RuntimeError):
    """The server did not come up; the message ends with the tail of its log."""


@dataclass
class PostgresServer:
    """A running throwaway server: where it listens, where it lives, and an autocommit admin connection."""

    bindir: Path
    folder: Path
    port: int
    process: subprocess.Popen
    admin: psycopg.Connection
    started_in: float  # seconds from initdb to the first accepted connection
    host: str = "127.0.0.1"
    user: str = USER
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def log_path(self) -> Path:
        """The server's stderr."""
        return self.folder / LOG_NAME

    def url(self, dbname: str = "postgres") -> str:
        """A `postgresql://` URL for one of this server's databases, as the app's DATABASE_URL would be."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    def create_database(self) -> str:
        """Create a new empty database and return its name."""
        name = f"test_{next(self._names)}"
        self.admin.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database, ending any connection a test left open to it (PostgreSQL 13+)."""
        self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Immediate shutdown (SIGQUIT, as `pg_ctl stop -m immediate`), then remove the folder."""
        with contextlib.suppress(psycopg.Error):
            self.admin.close()
        _stop(self.process)
        shutil.rmtree(self.folder, ignore_errors=True)


def start_server(
    bindir: Path, *, settings: dict[str, str] | None = None, root: str | None = None
) -> PostgresServer:
    """initdb a temporary folder, start postgres on a free 127.0.0.1 port; raise StartError if that fails.

    `settings` replace the throwaway ones (SETTINGS: no fsync) and `root` the folder's parent (default
    `scratch_root()`); the benchmark passes durable settings and a folder on disk, like its SQLite file's.
    """
    began = time.monotonic()
    # Not pytest's tmp_path: /tmp/pytest-of-root is mode 700, which the unprivileged server could not enter.
    folder = Path(tempfile.mkdtemp(prefix="pledgebot-pg-", dir=root or scratch_root()))
    try:
        as_user = _run_as(folder)
        initdb = subprocess.run(
            [
                *as_user,
                str(bindir / "initdb"),
                f"--pgdata={folder / 'data'}",
                f"--username={USER}",
                "--auth=trust",  # loopback and the socket only; nothing else can reach this server
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        if initdb.returncode != 0:
            output = _tail(initdb.stdout + initdb.stderr)
            raise StartError(f"initdb exited with {initdb.returncode}:\n{output}")
        for attempt in (1, 2, 3):
            port = free_port()
            try:
                process, admin = _start_postgres(bindir, folder, port, as_user, settings or SETTINGS)
                break
            except StartError as error:
                # Another process may take the free port between our check and the bind: then try another.
                if attempt == 3 or "Address already in use" not in str(error):
                    raise
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return PostgresServer(bindir, folder, port, process, admin, started_in=time.monotonic() - began)


def _start_postgres(
    bindir: Path, folder: Path, port: int, as_user: list[str], base: dict[str, str]
) -> tuple[subprocess.Popen, psycopg.Connection]:
    """Run postgres in the foreground and poll until it accepts a connection, it exits, or time runs out."""
    log_path = folder / LOG_NAME
    settings = {
        **base,
        "listen_addresses": "127.0.0.1",
        "port": str(port),
        "unix_socket_directories": str(folder),
    }
    argv = [*as_user, str(bindir / "postgres"), "-D", str(folder / "data")]
    for name, value in settings.items():
        argv += ["-c", f"{name}={value}"]
    with log_path.open("ab") as log:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    conninfo = f"postgresql://{USER}@127.0.0.1:{port}/postgres"
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            return process, psycopg.connect(conninfo, autocommit=True, connect_timeout=2)
        except psycopg.OperationalError as error:
            last_error = error
        # Waiting on the process, not sleeping: this returns at once if postgres has exited.
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=0.05)
        if process.returncode is not None:
            raise StartError(f"postgres exited with {process.returncode}:\n{_tail(_read(log_path))}")
        if time.monotonic() > deadline:
            _stop(process)
            raise StartError(
                f"postgres did not accept connections within {START_TIMEOUT:.0f} s ({last_error}):\n"
                f"{_tail(_read(log_path))}"
            )


def _run_as(folder: Path) -> list[str]:
    """The command prefix that starts the server's programs; as root, also hands the folder to `nobody`."""
    # If pytest dies without tearing down, the kernel sends the server SIGQUIT, its immediate shutdown.
    death = ["--pdeathsig=SIGQUIT"] if shutil.which("setpriv") else []
    if os.geteuid() != 0:
        return ["setpriv", *death] if death else []
    if not shutil.which("setpriv"):
        raise StartError(
            "as root, setpriv (util-linux) is needed to start PostgreSQL as an unprivileged user"
        )
    try:
        user = pwd.getpwnam(UNPRIVILEGED)
    except KeyError:
        raise StartError(
            f"no user {UNPRIVILEGED!r} to run PostgreSQL as (it refuses to run as root)"
        ) from None
    os.chown(folder, user.pw_uid, user.pw_gid)
    return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", *death]


def _stop(process: subprocess.Popen) -> None:
    """SIGQUIT (immediate shutdown) and a bounded wait; SIGKILL if it is still there."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGQUIT)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _read(path: Path) -> str:
    """A log file's text, or an empty string if it was never written."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def _tail(text: str, lines: int = 20) -> str:
    """The last lines of a log, indented, for an error message."""
    return "\n".join("    " + line for line in text.strip().splitlines()[-lines:]) or "    (no output)"


def _required() -> bool:
    """Whether PostgreSQL tests must run rather than skip (CI sets this)."""
    return os.environ.get(REQUIRE_ENV) == "1"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole session, started when a test first needs it."""
    bindir = find_bindir()
    if bindir is None:
        if _required():
            pytest.fail(f"{REQUIRE_ENV}=1 but {NOT_FOUND}", pytrace=False)
        pytest.skip(NOT_FOUND)
    try:
        server = start_server(bindir)
    except StartError as error:
        # A server that is installed but will not start is a fault to see, not a reason to skip.
        message = f"PostgreSQL test server failed to start ({bindir}): {error}"
        raise pytest.fail.Exception(message, pytrace=False) from None
    yield server
    server.stop()


@pytest.fixture
def database_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A `postgresql://` URL to a new empty database of this test's own, dropped afterwards."""
    name = postgres_server.create_database()
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


def pytest_configure(config: pytest.Config) -> None:
    """Register the notice that names the PostgreSQL tests skipped for want of the server binaries."""
    config.pluginmanager.register(SkipNotice(), "pledgebot-postgres-skip-notice")


class SkipNotice:
    """Counts the tests skipped because the server binaries are missing and says so in the summary."""

    def __init__(self) -> None:
        self.skipped: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Note a test skipped for want of the binaries."""
        if report.skipped and isinstance(report.longrepr, tuple) and NOT_FOUND in report.longrepr[2]:
            self.skipped.append(report.nodeid)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        """One plain line, so `make test` does not pass quietly without its PostgreSQL tests."""
        if self.skipped:
            terminalreporter.write_line(
                f"PostgreSQL tests skipped ({len(self.skipped)}): {NOT_FOUND}.", yellow=True, bold=True
            )
