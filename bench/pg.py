"""A PostgreSQL server for the benchmark's PostgreSQL rows: the test suite's harness, with durable settings.

The server is started from `tests/postgres.py` (the same `find_bindir` and `start_server` the tests use), on
127.0.0.1, in a folder on disk beside the SQLite file's, with fsync and synchronous commit on: the SQLite rows
run with `synchronous = FULL`, so a server without durability would not be measured like for like.
"""

from __future__ import annotations

import tempfile

NO_BINARIES = "not measured: no PostgreSQL server binaries"
# Durable, as a production server is (the tests' harness turns all three off).
DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}


def start():
    """(server, None) with a running server, or (None, why the PostgreSQL rows are not measured)."""
    from tests.postgres import StartError, find_bindir, start_server

    bindir = find_bindir()
    if bindir is None:
        return None, NO_BINARIES
    try:
        return start_server(bindir, settings=DURABLE, root=tempfile.gettempdir()), None
    except StartError as error:
        first = str(error).splitlines()[0]
        return None, f"not measured: the PostgreSQL server did not start ({first})"
