"""The PostgreSQL harness gives each test a real, empty database on a server that behaves as production's."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest

from tests.conftest import ROOT
from tests.postgres import NOT_FOUND, REQUIRE_ENV, PostgresServer, StartError, heroku_url, start_server

SEEN_URLS: set[str] = set()


def test_a_test_database_stores_and_reads_a_row(database_url):
    with psycopg.connect(database_url) as conn:
        conn.execute("CREATE TABLE subscriptions (id serial PRIMARY KEY, channel text NOT NULL)")
        conn.execute("INSERT INTO subscriptions (channel) VALUES (%s)", ["C123"])
        conn.commit()
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT id, channel FROM subscriptions").fetchall() == [(1, "C123")]


@pytest.mark.parametrize("turn", ["first", "second"])
def test_every_test_gets_a_database_of_its_own_and_empty(database_url, turn):
    assert database_url not in SEEN_URLS
    SEEN_URLS.add(database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
        assert tables == (0,)
        conn.execute("CREATE TABLE marker (turn text)")  # would collide if a later test reused this database


def test_a_dropped_database_is_gone_even_with_a_connection_left_open(postgres_server: PostgresServer):
    name = postgres_server.create_database()
    left_open = psycopg.connect(postgres_server.url(name))
    postgres_server.drop_database(name)
    exists = postgres_server.admin.execute("SELECT count(*) FROM pg_database WHERE datname = %s", [name])
    assert exists.fetchone() == (0,)
    left_open.close()


def test_notify_reaches_a_listening_connection(database_url):
    with (
        psycopg.connect(database_url, autocommit=True) as listener,
        psycopg.connect(database_url, autocommit=True) as sender,
    ):
        listener.execute("LISTEN reminders")
        sender.execute("SELECT pg_notify('reminders', 'digest:C123')")
        heard = list(listener.notifies(timeout=5.0, stop_after=1))
    assert [(n.channel, n.payload) for n in heard] == [("reminders", "digest:C123")]


def test_an_advisory_lock_is_held_by_one_connection_until_it_closes(database_url):
    with (
        psycopg.connect(database_url, autocommit=True) as second,
        psycopg.connect(database_url, autocommit=True) as third,
    ):
        first = psycopg.connect(database_url, autocommit=True)
        assert first.execute("SELECT pg_try_advisory_lock(4242)").fetchone() == (True,)
        assert second.execute("SELECT pg_try_advisory_lock(4242)").fetchone() == (False,)
        first.close()
        # The server frees the lock when the closed connection's backend exits; wait for that, bounded.
        second.execute("SET lock_timeout = '5s'")
        second.execute("SELECT pg_advisory_lock(4242)")
        assert third.execute("SELECT pg_try_advisory_lock(4242)").fetchone() == (False,)


def test_the_heroku_spelling_of_the_url_connects_too(database_url):
    url = heroku_url(database_url)
    assert url.startswith("postgres://") and url.removeprefix("postgres://") in database_url
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == (database_url.rsplit("/", 1)[1],)


def test_the_server_listens_on_loopback_and_never_runs_as_root(postgres_server: PostgresServer):
    assert postgres_server.admin.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
    assert postgres_server.admin.execute("SHOW fsync").fetchone() == ("off",)
    assert Path(f"/proc/{postgres_server.process.pid}").stat().st_uid != 0


def test_a_server_that_will_not_start_says_why(tmp_path):
    # Stand-ins for the binaries in a folder the unprivileged user can read (tmp_path may be mode 700).
    bindir = Path(tempfile.mkdtemp(prefix="pledgebot-fake-pg-"))
    try:
        bindir.chmod(0o755)
        stand_ins = {"initdb": "exit 0", "postgres": 'echo "FATAL:  shared memory exhausted" >&2; exit 1'}
        for name, body in stand_ins.items():
            script = bindir / name
            script.write_text(f"#!/bin/sh\n{body}\n")
            script.chmod(0o755)
        with pytest.raises(StartError, match=r"exited with 1:\n\s+FATAL:  shared memory exhausted"):
            start_server(bindir)
    finally:
        for script in bindir.iterdir():
            script.unlink()
        bindir.rmdir()


def run_without_binaries(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """Run a one-test session in which no PostgreSQL binaries are found."""
    hide_binaries = "import tests.postgres\n\ntests.postgres.find_bindir = lambda: None\n"
    (tmp_path / "conftest.py").write_text(hide_binaries)
    (tmp_path / "test_uses_postgres.py").write_text("def test_it(database_url):\n    pass\n")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.postgres", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), REQUIRE_ENV: "", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_without_binaries_the_tests_skip_and_the_summary_says_so(tmp_path):
    run = run_without_binaries(tmp_path)
    assert run.returncode == 0, run.stdout
    assert "1 skipped" in run.stdout
    assert f"PostgreSQL tests skipped (1): {NOT_FOUND}." in run.stdout


def test_without_binaries_a_required_run_fails(tmp_path):
    run = run_without_binaries(tmp_path, **{REQUIRE_ENV: "1"})
    assert run.returncode == 1, run.stdout
    assert "1 error" in run.stdout and "skipped" not in run.stdout
    assert f"{REQUIRE_ENV}=1 but {NOT_FOUND}" in run.stdout
