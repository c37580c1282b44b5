"""The local SQLite file: one sqlite-utils connection per thread, the catalogue's schema migrations, and
checks that refuse a damaged file instead of replacing it.

The catalogue (speakers, sources, pledges, quotes, statuses, milestones, the search index) is a read model:
`bot/loading.py` rebuilds it from `data/` and the edit journal, so this file may live on an ephemeral disk.
With the embedded default (no `DATABASE_URL`) the same file also holds the state store's tables
(`bot/backends.py`), and then it needs a disk that survives restarts.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

try:
    import fcntl
except ImportError:  # not on POSIX: start processes one at a time there
    fcntl = None  # type: ignore[assignment]

migrations = Migrations("pledgebot")
SQLITE_MAGIC = b"SQLite format 3\x00"


class DatabaseFileError(Exception):
    """The database file cannot be used as it is; the message names PLEDGEBOT_DB and what to do."""


@migrations()
def m001_catalogue(db: Database) -> None:
    """Catalogue tables, loaded from dataset files."""
    db.executescript(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE speakers (id TEXT PRIMARY KEY, name TEXT NOT NULL, name_ko TEXT, role TEXT,
            origin TEXT NOT NULL);
        CREATE TABLE sources (id TEXT PRIMARY KEY, kind TEXT NOT NULL, outlet TEXT NOT NULL,
            headline TEXT NOT NULL, published_at TEXT NOT NULL, url TEXT, language TEXT, text TEXT,
            text_file TEXT, note TEXT, origin TEXT NOT NULL);
        CREATE TABLE pledges (id TEXT PRIMARY KEY, speaker TEXT NOT NULL, title TEXT NOT NULL, title_ko TEXT,
            category TEXT NOT NULL, category_ko TEXT, summary TEXT, aliases TEXT, aliases_ko TEXT,
            pledged_on TEXT, origin TEXT NOT NULL);
        CREATE INDEX pledges_category ON pledges (category COLLATE NOCASE, id);
        CREATE TABLE quotes (id TEXT PRIMARY KEY, pledge TEXT NOT NULL, position INTEGER NOT NULL,
            text TEXT NOT NULL, source TEXT NOT NULL, said_on TEXT NOT NULL, language TEXT NOT NULL,
            translation_of TEXT, origin TEXT NOT NULL);
        CREATE INDEX quotes_pledge ON quotes (pledge, position);
        CREATE INDEX quotes_said_on ON quotes (said_on);
        CREATE TABLE statuses (id TEXT PRIMARY KEY, pledge TEXT NOT NULL, status TEXT NOT NULL,
            date TEXT NOT NULL, source TEXT, note TEXT, origin TEXT NOT NULL);
        CREATE INDEX statuses_pledge ON statuses (pledge, date);
        CREATE TABLE milestones (id TEXT PRIMARY KEY, date TEXT NOT NULL, kind TEXT NOT NULL,
            title TEXT NOT NULL, pledge TEXT, speaker TEXT, source TEXT, origin TEXT NOT NULL);
        CREATE INDEX milestones_date ON milestones (date);
        CREATE TABLE pledge_index (pledge_id TEXT PRIMARY KEY, title TEXT, aliases TEXT, summary TEXT,
            quotes TEXT, grams TEXT);
        CREATE TABLE search_terms (term TEXT PRIMARY KEY);
        CREATE TABLE pledge_aliases (alias TEXT NOT NULL, pledge_id TEXT NOT NULL,
            PRIMARY KEY (alias, pledge_id)) WITHOUT ROWID;
        CREATE INDEX pledge_aliases_pledge ON pledge_aliases (pledge_id);
        """
    )
    # Porter stemming finds plurals and inflections; Hangul is indexed as bigrams in `grams` (see
    # `hangul_grams`) so that two-letter Korean words are found through the index, not a scan.
    db.table("pledge_index").enable_fts(
        ["title", "aliases", "summary", "quotes", "grams"],
        tokenize="porter unicode61 remove_diacritics 2",
        create_triggers=True,
        replace=True,
    )
    # The vocabulary, indexed by trigrams, is where misspelt words find their nearest real word.
    db.table("search_terms").enable_fts(["term"], tokenize="trigram", create_triggers=True, replace=True)


@migrations()
def m002_korean_fields(db: Database) -> None:
    """Optional Korean forms of a speaker's role and a source's outlet and headline, for Korean readers.

    The catalogue is rebuilt from the data files, so new nullable columns lose nothing: rows loaded before
    them are reloaded with their Korean forms when the data changes.
    """
    db.execute("ALTER TABLE speakers ADD COLUMN role_ko TEXT")
    db.execute("ALTER TABLE sources ADD COLUMN outlet_ko TEXT")
    db.execute("ALTER TABLE sources ADD COLUMN headline_ko TEXT")


@migrations()
def m003_pledge_deadlines(db: Database) -> None:
    """A pledge's deadline: a date (`due_on`), or a number of days after a milestone (`due_after`,
    `due_days`), resolved when the calendar is built so that a milestone's date is read where it is kept.

    Nullable, like m002: pledges loaded before had no deadline to lose.
    """
    db.execute("ALTER TABLE pledges ADD COLUMN due_on TEXT")
    db.execute("ALTER TABLE pledges ADD COLUMN due_after TEXT")
    db.execute("ALTER TABLE pledges ADD COLUMN due_days INTEGER")


@migrations()
def m004_hangul_joins(db: Database) -> None:
    """A search column for the Hangul pairs that span a space (`hangul_joins`), so 남북통신선 finds
    남북 통신선. The data fingerprint is forgotten, so the next refresh rebuilds the catalogue and fills
    it."""
    db.execute("ALTER TABLE pledge_index ADD COLUMN joins TEXT")
    db.table("pledge_index").enable_fts(
        ["title", "aliases", "summary", "quotes", "grams", "joins"],
        tokenize="porter unicode61 remove_diacritics 2",
        create_triggers=True,
        replace=True,
    )
    db.execute("UPDATE meta SET value = '' WHERE key = 'data_fingerprint'")


@migrations()
def m005_title_ko_by(db: Database) -> None:
    """Who wrote a pledge's Korean title ("editors": an editorial translation, said where it is shown).
    The data files are read again so their pledges get it."""
    db.execute("ALTER TABLE pledges ADD COLUMN title_ko_by TEXT")
    db.execute("UPDATE meta SET value = '' WHERE key = 'data_fingerprint'")


@migrations()
def m006_desk(db: Database) -> None:
    """What the newsroom desk's edits need: a source's snapshot (its SHA-256, fetch time and the URL the
    fetch ended at) so quotes can be re-verified, and on every row the journal edit that added it, for a
    pledge's history, for undo and for the order of statuses of one date (the later edit wins).

    Rows loaded before this migration have no edit id: forgetting the data fingerprint makes the next start
    rebuild the catalogue from `data/` and the journal, which fills them in.
    """
    db.execute("ALTER TABLE sources ADD COLUMN sha256 TEXT")
    db.execute("ALTER TABLE sources ADD COLUMN fetched_at TEXT")
    db.execute("ALTER TABLE sources ADD COLUMN final_url TEXT")
    for table in ("speakers", "sources", "pledges", "quotes", "statuses", "milestones"):
        db.execute(f"ALTER TABLE {table} ADD COLUMN edit_id INTEGER")
    db.execute("CREATE INDEX statuses_latest ON statuses (pledge, date, edit_id)")
    for table in ("quotes", "statuses", "milestones", "pledges"):
        db.execute(f"CREATE INDEX {table}_edit ON {table} (edit_id)")
    db.execute("DELETE FROM meta WHERE key = 'data_fingerprint'")


@migrations()
def m007_milestone_title_ko(db: Database) -> None:
    """A milestone's Korean title, for Korean digests, answers and pages. Nullable, like m002; the data files
    are read again so their milestones get it."""
    db.execute("ALTER TABLE milestones ADD COLUMN title_ko TEXT")
    db.execute("UPDATE meta SET value = '' WHERE key = 'data_fingerprint'")


@migrations()
def m008_milestone_status(db: Database) -> None:
    """The status a status change milestone records, so that its title ("rated Kept: …") is written in the
    reader's language when it is read, not stored as an English sentence. Nullable, like m002."""
    db.execute("ALTER TABLE milestones ADD COLUMN status TEXT")


@migrations()
def m009_officials(db: Database) -> None:
    """Speakers as officials: the office, the region it governs, the party and the terms of office (JSON, a
    list of {start, end, election}); pledges in Korean only. Nullable, like m002; the data files are read
    again so their speakers get them."""
    for column in ("office", "office_ko", "sido", "sgg", "wiw", "party", "party_ko", "terms"):
        db.execute(f"ALTER TABLE speakers ADD COLUMN {column} TEXT")
    # A pledge with no English title (the Commission's registry is in Korean): its title column holds the
    # Korean one, and this says so, for readers of other languages and for export.
    db.execute("ALTER TABLE pledges ADD COLUMN korean_only INTEGER")
    db.execute("UPDATE meta SET value = '' WHERE key = 'data_fingerprint'")


@migrations()
def m010_paraphrases(db: Database) -> None:
    """A quote marked as a paraphrase (reported speech, never shown in quotation marks), and a speaker's
    aliases, the other names a page attributes their words with. Nullable, like m002: files written before
    them hold only direct quotes and speakers known by their names."""
    db.execute("ALTER TABLE quotes ADD COLUMN paraphrase INTEGER")
    db.execute("ALTER TABLE speakers ADD COLUMN aliases TEXT")
    db.execute("UPDATE meta SET value = '' WHERE key = 'data_fingerprint'")


@migrations()
def m011_source_headlines(db: Database) -> None:
    """The headlines of each pledge's sources, English and Korean, searchable in an index of their own: a
    policy named only in the speech that announced it is found, below the pledges that say the words
    themselves. Apart from pledge_index so that a headline every pledge of a source shares does not make
    its words count for nothing in the ranking of their own text. The data fingerprint is forgotten, so
    the next refresh rebuilds the catalogue and fills it."""
    db.execute(
        "CREATE VIRTUAL TABLE source_index USING fts5(pledge_id UNINDEXED, headlines, "
        "tokenize='porter unicode61 remove_diacritics 2')"
    )
    db.execute("UPDATE meta SET value = '' WHERE key = 'data_fingerprint'")


@migrations()
def m012_hangul_terms(db: Database) -> None:
    """The Korean words of the catalogue (`search_index.hangul_words`), which a Korean word that matches
    nothing is corrected to by its letters (북헌 → 북한). A plain table: a query looks up the few hundred
    one-letter variants of its word by key, which no trigram can (a Korean word is two to four syllables).
    The data fingerprint is forgotten, so the next refresh rebuilds the catalogue and fills it."""
    db.execute("CREATE TABLE hangul_terms (term TEXT PRIMARY KEY) WITHOUT ROWID")
    db.execute("UPDATE meta SET value = '' WHERE key = 'data_fingerprint'")


@contextmanager
def _init_lock(path: str) -> Iterator[None]:
    """Hold a lock file beside the database while setting it up, so processes started at once (a deploy's
    web and worker) take turns: SQLite's busy timeout does not cover switching to WAL or a migration's
    check-then-create, which otherwise fail with "database is locked" or "table ... already exists"."""
    if path == ":memory:" or fcntl is None:
        yield
        return
    with open(path + ".init-lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Store:
    """The database file, with one sqlite-utils connection per thread and the schema migrated."""

    def __init__(self, path: Path | str):
        self.path = str(path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[Database] = []
        if self.path != ":memory:":
            _check_folder(Path(self.path))
        try:
            # The file is checked under the set-up lock: a process starting beside this one may have created
            # it a moment ago, and its 0 bytes are then a database being made, not one that was lost.
            with _init_lock(self.path):
                if self.path != ":memory:":
                    check_file(Path(self.path))
                db = self.db
                # WAL lets readers (the adapters) proceed while the scheduler writes; it must be set outside
                # a transaction, so before any migration runs.
                if self.path != ":memory:":
                    db.enable_wal()
                migrations.apply(db)
        except sqlite3.DatabaseError as error:
            self.close()
            raise self.damaged(error) from None

    def damaged(self, error: sqlite3.DatabaseError) -> DatabaseFileError:
        """The error to raise when SQLite finds this file damaged ("database disk image is malformed")."""
        return DatabaseFileError(
            f"PLEDGEBOT_DB ({self.path}) cannot be used: {error}. Restore it from a backup, or move it aside "
            "to start with an empty database."
        )

    @property
    def db(self) -> Database:
        """This thread's connection; sqlite3 connections must not cross threads."""
        db = getattr(self._local, "db", None)
        if db is None:
            conn = sqlite3.connect(self.path, timeout=10.0, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 10000")
            db = Database(conn)
            self._local.db = db
            with self._lock:
                self._connections.append(db)
        return db

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """A write transaction that takes the write lock at once, so concurrent writers queue, not fail."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def migrate(self, more: Migrations) -> None:
        """Apply another migration set (the state store's) to this file, one process at a time."""
        with _init_lock(self.path):
            more.apply(self.db)

    def healthy(self) -> bool:
        """True while the file is still there, still a database, and answers a query."""
        try:
            if self.path != ":memory:":
                check_file(Path(self.path), must_exist=True)
            self.db.execute("SELECT 1 FROM pledges LIMIT 1").fetchall()
        except (DatabaseFileError, sqlite3.Error, OSError):
            return False
        return True

    def get_meta(self, key: str) -> str | None:
        """A value from the meta table."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        """Close every connection this store opened."""
        with self._lock:
            for db in self._connections:
                db.close()
            self._connections.clear()
        self._local = threading.local()


def _check_folder(path: Path) -> None:
    """Create the database's folder if need be, and refuse one this process cannot write (WAL needs to)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DatabaseFileError(
            f"PLEDGEBOT_DB ({path}): cannot create its folder ({error.strerror}); point PLEDGEBOT_DB at a "
            "writable place."
        ) from None
    if not os.access(path.parent, os.W_OK | os.X_OK) or (
        path.exists() and not os.access(path, os.R_OK | os.W_OK)
    ):
        raise DatabaseFileError(
            f"PLEDGEBOT_DB ({path}) is in a folder or file this process cannot write; fix its permissions "
            "or point PLEDGEBOT_DB at a writable place."
        )


def check_file(path: Path, *, must_exist: bool = False) -> None:
    """Refuse a file that is not a whole SQLite database: empty, foreign or truncated.

    Cheap enough for every start and every health check: it reads the 100-byte header, not the pages. A file
    SQLite would otherwise treat as a new, empty database (0 bytes) is refused too, because replacing it would
    silently lose the subscriptions it held.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        if must_exist:
            raise DatabaseFileError(f"PLEDGEBOT_DB ({path}) has disappeared") from None
        return
    if size == 0:
        raise DatabaseFileError(
            f"PLEDGEBOT_DB ({path}) is an empty file, not a database; restore it from a backup, or delete it "
            "to start with an empty database."
        )
    with path.open("rb") as handle:
        header = handle.read(100)
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        raise DatabaseFileError(
            f"PLEDGEBOT_DB ({path}) is not a SQLite database; point PLEDGEBOT_DB at the right file, or move "
            "this one aside to start with an empty database."
        )
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    # The header's page count is valid when its change counter matches the "version valid for" field.
    if header[24:28] == header[92:96] and pages and size < pages * page_size:
        raise DatabaseFileError(
            f"PLEDGEBOT_DB ({path}) is truncated ({size} of {pages * page_size} bytes); restore it from a "
            "backup, or move it aside to start with an empty database."
        )
