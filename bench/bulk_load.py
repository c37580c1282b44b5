"""The floor of an import: the rows the import wrote, loaded into an empty database with the same schema by
plain sqlite3 `executemany` (no validation, no triggers), then each full-text index rebuilt once."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path


def measure(imported: Path, scratch: Path) -> tuple[float, int]:
    """Seconds to bulk-load every row of the database at `imported` into a fresh file at `scratch`, and how
    many rows. The rows are read and the empty schema is made before the clock starts."""
    source = sqlite3.connect(imported)
    schema = source.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
        "AND type IN ('table', 'index') ORDER BY type DESC"
    ).fetchall()
    virtual = [name for kind, name, sql in schema if sql.upper().startswith("CREATE VIRTUAL TABLE")]
    # FTS5's own tables ("<name>_data", ...) come with CREATE VIRTUAL TABLE and are filled by the rebuild.
    plain = [
        name
        for kind, name, sql in schema
        if kind == "table" and name not in virtual and not any(name.startswith(f"{v}_") for v in virtual)
    ]
    rows = {name: source.execute(f'SELECT * FROM "{name}"').fetchall() for name in plain}
    source.close()
    scratch.unlink(missing_ok=True)
    target = sqlite3.connect(scratch, isolation_level=None)
    # The same durability as the import: a write-ahead log, synchronous=FULL.
    target.execute("PRAGMA journal_mode = WAL")
    target.execute("PRAGMA synchronous = FULL")
    for kind, name, sql in schema:
        if kind == "table" and (name in plain or name in virtual):
            target.execute(sql)
    for kind, _, sql in schema:
        if kind == "index":
            target.execute(sql)
    start = time.perf_counter()
    target.execute("BEGIN")
    for name, values in rows.items():
        if values:
            marks = ", ".join("?" * len(values[0]))
            target.executemany(f'INSERT INTO "{name}" VALUES ({marks})', values)
    for name in virtual:
        target.execute(f'INSERT INTO "{name}" ("{name}") VALUES (\'rebuild\')')
    target.execute("COMMIT")
    seconds = time.perf_counter() - start
    target.close()
    return seconds, sum(len(v) for v in rows.values())
