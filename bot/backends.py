"""Where user state lives: SQLite (the embedded default) or PostgreSQL (when `DATABASE_URL` is set).

The state store (subscriptions, editors, the delivery ledger, the edit journal: `bot/state.py`,
`bot/reminders/ledger.py`, `bot/journal.py`) writes one dialect of SQL that both engines run: `?`
placeholders, `ON CONFLICT`, `RETURNING`, ISO 8601 text for times. A backend gives it transactions and reads,
and migrates its own schema.

- `SQLiteBackend` keeps the tables in the same file as the catalogue, so `make run` needs nothing else. That
  file then needs a disk that survives restarts.
- `PostgresBackend` keeps them in a server database through a psycopg connection pool, so a host with an
  ephemeral disk (Heroku dynos) loses nothing that users wrote when its local file goes.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from bot.database import Store

log = logging.getLogger(__name__)


class Rows(Protocol):
    """What a statement returns: sqlite3's and psycopg's cursors both fit."""

    @property
    def rowcount(self) -> int:
        """How many rows the statement changed (read-only on both cursors)."""
        ...

    def fetchone(self) -> Any:
        """The next row, or None."""
        ...

    def fetchall(self) -> list[Any]:
        """Every remaining row."""
        ...


class Executor(Protocol):
    """Runs one statement inside a transaction (or alone, for reads)."""

    # Positional-only, as sqlite3's own `execute` is: its parameter is not called `params`.
    def execute(self, sql: str, params: Sequence[Any] = (), /) -> Rows:
        """Run `sql` with `?` placeholders."""
        ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any:
        """Run `sql` once per row of parameters."""
        ...


class Backend(Protocol):
    """Transactions and reads on the state store's tables."""

    name: str
    # Appended to a SELECT inside a transaction to hold its rows until the transaction ends, so that a
    # read-modify-write (a token's refresh) happens once however many processes attempt it together.
    row_lock: str

    def transaction(self) -> Any:
        """A context manager yielding an `Executor` whose statements commit together, or not at all."""
        ...

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """The rows of one query, outside any explicit transaction."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class StateUnavailable(Exception):
    """The state store cannot be reached or set up; the message names DATABASE_URL, never its value."""


# -- SQLite --------------------------------------------------------------------------------------------

sqlite_migrations = Migrations("pledgebot-state")


@sqlite_migrations()
def s001_state(db: Database) -> None:
    """Subscriptions whose ids are never reused, a ledger with leases, and the edit journal.

    Databases from before the journal hold `subscriptions` and `deliveries` from the catalogue's own
    migration set; their rows are carried over, ids kept, so no channel loses its subscription.
    """
    old = {t for t in db.table_names() if t in ("subscriptions", "deliveries")}
    for table in old:
        db.execute(f"ALTER TABLE {table} RENAME TO {table}_v1")
    db.executescript(
        """
        CREATE TABLE subscriptions (id INTEGER PRIMARY KEY AUTOINCREMENT, platform TEXT NOT NULL,
            workspace TEXT NOT NULL, channel TEXT NOT NULL, local_time TEXT NOT NULL, timezone TEXT NOT NULL,
            lead_days INTEGER NOT NULL DEFAULT 0, created_by TEXT NOT NULL, created_at TEXT NOT NULL,
            UNIQUE (platform, workspace, channel));
        CREATE TABLE deliveries (subscription_id INTEGER NOT NULL, local_date TEXT NOT NULL,
            state TEXT NOT NULL, token TEXT NOT NULL, lease_until TEXT NOT NULL, claimed_at TEXT NOT NULL,
            finished_at TEXT, message_ref TEXT, attempts INTEGER NOT NULL DEFAULT 1,
            PRIMARY KEY (subscription_id, local_date));
        CREATE TABLE edits (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, author TEXT NOT NULL,
            kind TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', summary TEXT NOT NULL, dedupe TEXT UNIQUE,
            payload TEXT);
        CREATE TABLE edit_pledges (pledge_id TEXT NOT NULL, edit_id INTEGER NOT NULL,
            PRIMARY KEY (pledge_id, edit_id));
        CREATE TABLE state_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """
    )
    db.execute("INSERT INTO state_meta (key, value) VALUES ('journal_id', ?)", [secrets.token_hex(8)])
    if "subscriptions" in old:
        db.execute("INSERT INTO subscriptions SELECT * FROM subscriptions_v1")
        db.execute("DROP TABLE subscriptions_v1")
    if "deliveries" in old:
        # A claim left by the old code is uncertain: it may have posted before the process died.
        db.execute(
            "INSERT INTO deliveries SELECT subscription_id, local_date, "
            "CASE state WHEN 'claimed' THEN 'uncertain' ELSE state END, token, claimed_at, claimed_at, "
            "finished_at, message_ref, attempts FROM deliveries_v1"
        )
        db.execute("DROP TABLE deliveries_v1")


@sqlite_migrations()
def s002_edit_records(db: Database) -> None:
    """An edit's records in chunks, so a large import is written and read back without one huge payload."""
    db.execute(
        "CREATE TABLE edit_records (edit_id INTEGER NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL, "
        "PRIMARY KEY (edit_id, seq))"
    )


@sqlite_migrations()
def s003_channel_languages(db: Database) -> None:
    """The language a channel manager chose for the channel's public posts (shared cards, digests)."""
    db.execute(
        "CREATE TABLE channel_languages (platform TEXT NOT NULL, workspace TEXT NOT NULL, "
        "channel TEXT NOT NULL, language TEXT NOT NULL, set_by TEXT NOT NULL, set_at TEXT NOT NULL, "
        "PRIMARY KEY (platform, workspace, channel))"
    )


@sqlite_migrations()
def s004_subscription_filters(db: Database) -> None:
    """What a subscription follows: topics (categories) and pledges; none means everything."""
    db.execute(
        "CREATE TABLE subscription_filters (subscription_id INTEGER NOT NULL, kind TEXT NOT NULL, "
        "value TEXT NOT NULL, PRIMARY KEY (subscription_id, kind, value))"
    )


@sqlite_migrations()
def s005_desk_drafts(db: Database) -> None:
    """A desk form between its steps: what the editor gave so far and the source fetched for it, by the
    nonce the form carries (a Discord custom_id holds 100 characters, never a page)."""
    db.execute(
        "CREATE TABLE desk_drafts (nonce TEXT PRIMARY KEY, form TEXT NOT NULL, body TEXT NOT NULL, "
        "created_at TEXT NOT NULL)"
    )


@sqlite_migrations()
def s006_editors(db: Database) -> None:
    """Who an admin chose to edit the catalogue, per workspace or server (`/pledge editors add`)."""
    db.execute(
        "CREATE TABLE editors (platform TEXT NOT NULL, workspace TEXT NOT NULL, user_id TEXT NOT NULL, "
        "added_by TEXT NOT NULL, added_at TEXT NOT NULL, PRIMARY KEY (platform, workspace, user_id))"
    )


@sqlite_migrations()
def s007_announcements(db: Database) -> None:
    """The announcements ledger: each desk edit posted to each `updates now` channel exactly once, claimed
    and recorded as digests are in `deliveries`."""
    db.execute(
        "CREATE TABLE announcements (subscription_id INTEGER NOT NULL, edit_id TEXT NOT NULL, "
        "state TEXT NOT NULL, token TEXT NOT NULL, lease_until TEXT NOT NULL, claimed_at TEXT NOT NULL, "
        "finished_at TEXT, message_ref TEXT, attempts INTEGER NOT NULL DEFAULT 1, "
        "PRIMARY KEY (subscription_id, edit_id))"
    )


# The same tables on both engines but for the log's id column ({ID}).
INSTALLATION_TABLES = """
    CREATE TABLE installations (platform TEXT NOT NULL, enterprise TEXT NOT NULL, team TEXT NOT NULL,
        body TEXT NOT NULL, installed_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        PRIMARY KEY (platform, enterprise, team));
    CREATE INDEX installations_by_team ON installations (platform, team);
    CREATE TABLE enterprise_workspaces (platform TEXT NOT NULL, workspace TEXT NOT NULL,
        enterprise TEXT NOT NULL, seen_at TEXT NOT NULL, PRIMARY KEY (platform, workspace));
    CREATE TABLE oauth_states (state TEXT PRIMARY KEY, expires_at BIGINT NOT NULL);
    CREATE TABLE installation_log (id {ID}, at TEXT NOT NULL, platform TEXT NOT NULL,
        enterprise TEXT NOT NULL, team TEXT NOT NULL, event TEXT NOT NULL, detail TEXT NOT NULL);
"""


@sqlite_migrations()
def s008_installations(db: Database) -> None:
    """Installations in chat workspaces (Slack distribution), the OAuth states of installs under way, the
    workspaces an org-wide install served, and the log of installs and removals (`bot/installations.py`)."""
    db.executescript(INSTALLATION_TABLES.replace("{ID}", "INTEGER PRIMARY KEY AUTOINCREMENT"))


# Fencing (bot/leadership.py): the scheduler's lease row, and the fencing number each claim was made under.
LEASE_TABLES = """
    CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, fence BIGINT NOT NULL,
        expires_at TEXT NOT NULL);
    ALTER TABLE deliveries ADD COLUMN fence BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE announcements ADD COLUMN fence BIGINT NOT NULL DEFAULT 0;
"""


@sqlite_migrations()
def s009_leases(db: Database) -> None:
    """The scheduler's lease (holder, expiry, fencing number) and the fencing number of every claim."""
    db.executescript(LEASE_TABLES)


class SQLiteBackend:
    """The state tables in the catalogue's own SQLite file."""

    name = "sqlite"
    # Nothing to add: every transaction here is BEGIN IMMEDIATE, which holds the whole file's write lock.
    row_lock = ""

    def __init__(self, store: Store):
        self.store = store
        store.migrate(sqlite_migrations)

    @contextmanager
    def transaction(self) -> Iterator[Executor]:
        """An immediate transaction: concurrent writers queue on SQLite's lock instead of failing."""
        with self.store.transaction() as db:
            yield db.conn

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """The rows of one query."""
        return self.store.db.execute(sql, list(params)).fetchall()

    def close(self) -> None:
        """Nothing of its own: the store closes the file."""


# -- PostgreSQL ----------------------------------------------------------------------------------------

# Each entry runs once, in order, recorded in pledgebot_migrations. Same tables as SQLite's s001.
POSTGRES_MIGRATIONS: tuple[tuple[str, str], ...] = (
    (
        "s001_state",
        """
        CREATE TABLE subscriptions (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            platform TEXT NOT NULL, workspace TEXT NOT NULL, channel TEXT NOT NULL, local_time TEXT NOT NULL,
            timezone TEXT NOT NULL, lead_days INTEGER NOT NULL DEFAULT 0, created_by TEXT NOT NULL,
            created_at TEXT NOT NULL, UNIQUE (platform, workspace, channel));
        CREATE TABLE deliveries (subscription_id BIGINT NOT NULL, local_date TEXT NOT NULL,
            state TEXT NOT NULL, token TEXT NOT NULL, lease_until TEXT NOT NULL, claimed_at TEXT NOT NULL,
            finished_at TEXT, message_ref TEXT, attempts INTEGER NOT NULL DEFAULT 1,
            PRIMARY KEY (subscription_id, local_date));
        CREATE TABLE edits (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, at TEXT NOT NULL,
            author TEXT NOT NULL, kind TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', summary TEXT NOT NULL,
            dedupe TEXT UNIQUE, payload TEXT);
        CREATE TABLE edit_pledges (pledge_id TEXT NOT NULL, edit_id BIGINT NOT NULL,
            PRIMARY KEY (pledge_id, edit_id));
        CREATE TABLE state_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """,
    ),
    (
        "s002_edit_records",
        """
        CREATE TABLE edit_records (edit_id BIGINT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL,
            PRIMARY KEY (edit_id, seq));
        """,
    ),
    (
        "s003_channel_languages",
        """
        CREATE TABLE channel_languages (platform TEXT NOT NULL, workspace TEXT NOT NULL,
            channel TEXT NOT NULL, language TEXT NOT NULL, set_by TEXT NOT NULL, set_at TEXT NOT NULL,
            PRIMARY KEY (platform, workspace, channel));
        """,
    ),
    (
        "s004_subscription_filters",
        """
        CREATE TABLE subscription_filters (subscription_id INTEGER NOT NULL, kind TEXT NOT NULL,
            value TEXT NOT NULL, PRIMARY KEY (subscription_id, kind, value));
        """,
    ),
    (
        "s005_desk_drafts",
        """
        CREATE TABLE desk_drafts (nonce TEXT PRIMARY KEY, form TEXT NOT NULL, body TEXT NOT NULL,
            created_at TEXT NOT NULL);
        """,
    ),
    (
        "s006_editors",
        """
        CREATE TABLE editors (platform TEXT NOT NULL, workspace TEXT NOT NULL, user_id TEXT NOT NULL,
            added_by TEXT NOT NULL, added_at TEXT NOT NULL, PRIMARY KEY (platform, workspace, user_id));
        """,
    ),
    (
        "s007_announcements",
        """
        CREATE TABLE announcements (subscription_id BIGINT NOT NULL, edit_id TEXT NOT NULL,
            state TEXT NOT NULL, token TEXT NOT NULL, lease_until TEXT NOT NULL, claimed_at TEXT NOT NULL,
            finished_at TEXT, message_ref TEXT, attempts INTEGER NOT NULL DEFAULT 1,
            PRIMARY KEY (subscription_id, edit_id));
        """,
    ),
    (
        "s008_installations",
        INSTALLATION_TABLES.replace("{ID}", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    ),
    ("s009_leases", LEASE_TABLES),
)
# pg_advisory_xact_lock key for migrations: processes starting together migrate one after another.
MIGRATION_LOCK = 0x706C6467  # "pldg"


class _PgExecutor:
    """psycopg with the `?` placeholders the state store writes (psycopg's own are `%s`)."""

    def __init__(self, cursor: Any):
        self.cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        """Run `sql`, translating its placeholders."""
        self.cursor.execute(_pg_sql(sql), list(params))
        return self.cursor

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any:
        """Run `sql` once per row, pipelined by psycopg."""
        self.cursor.executemany(_pg_sql(sql), [list(r) for r in rows])
        return self.cursor


_PG_SQL: dict[str, str] = {}


def _pg_sql(sql: str) -> str:
    translated = _PG_SQL.get(sql)
    if translated is None:
        # The state store's SQL holds no literal '?' or '%', so a plain replacement is exact.
        translated = _PG_SQL[sql] = sql.replace("?", "%s")
    return translated


class PostgresBackend:
    """The state tables in a PostgreSQL database, through a small connection pool."""

    name = "postgres"
    # A row lock: other transactions selecting the row FOR UPDATE wait for this one, then read its result.
    row_lock = " FOR UPDATE"

    def __init__(self, url: str, *, max_size: int = 4):
        import psycopg
        from psycopg_pool import ConnectionPool

        self.url = url
        self._errors = (psycopg.Error,)
        try:
            # One plain connection first: an unreachable server then fails at once with one error, instead of
            # the pool retrying in the background (and logging each retry) until its timeout.
            psycopg.connect(url, connect_timeout=10).close()
            self.pool = ConnectionPool(
                # libpq takes Heroku's `postgres://` spelling as it is.
                url,
                min_size=1,
                max_size=max_size,
                open=True,
                timeout=10.0,
                kwargs={"connect_timeout": 10},
            )
            self.pool.wait(timeout=10.0)
            self._migrate()
        except Exception as error:
            if hasattr(self, "pool"):
                self.pool.close()
            # psycopg's messages can quote the connection string; say only what kind of failure it was.
            raise StateUnavailable(
                f"DATABASE_URL: cannot use the PostgreSQL database ({type(error).__name__}); check that the "
                "server is running and the URL, user and password are right"
            ) from None

    def _migrate(self) -> None:
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [MIGRATION_LOCK])
            conn.execute(
                "CREATE TABLE IF NOT EXISTS pledgebot_migrations (name TEXT PRIMARY KEY, applied_at TEXT)"
            )
            done = {r[0] for r in conn.execute("SELECT name FROM pledgebot_migrations").fetchall()}
            for name, sql in POSTGRES_MIGRATIONS:
                if name in done:
                    continue
                conn.execute(sql)
                if name == "s001_state":
                    conn.execute(
                        "INSERT INTO state_meta (key, value) VALUES ('journal_id', %s)",
                        [secrets.token_hex(8)],
                    )
                conn.execute(
                    "INSERT INTO pledgebot_migrations (name, applied_at) VALUES (%s, now()::text)", [name]
                )

    @contextmanager
    def transaction(self) -> Iterator[Executor]:
        """A transaction on a pooled connection (READ COMMITTED; the ledger's statements are atomic)."""
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
            yield _PgExecutor(cursor)

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """The rows of one query."""
        with self.pool.connection() as conn:
            return conn.execute(_pg_sql(sql), list(params)).fetchall()

    def close(self) -> None:
        """Close the pool."""
        self.pool.close()


def open_backend(store: Store, database_url: str | None) -> Backend:
    """PostgreSQL when a URL is configured, otherwise the SQLite file the catalogue lives in."""
    if database_url:
        return PostgresBackend(database_url)
    return SQLiteBackend(store)
