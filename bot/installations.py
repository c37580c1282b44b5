"""The bot's installations in chat workspaces, the OAuth states of installs under way, and the installation
log, kept in the state store (`bot/backends.py`) on SQLite or PostgreSQL like the subscriptions.

An installation is a document its platform's adapter writes and reads back (Slack's holds the bot token and,
with token rotation, a refresh token), keyed by (platform, enterprise, team). An Enterprise Grid org-wide
install has no team and answers for every workspace of its org; `enterprise_workspaces` remembers the ones it
served, so that a digest finds its token and an uninstall finds every subscription. Each process reads the
stored document whenever it needs a token, so a token that one process refreshed is the one all use next.

Installs and removals go to `installation_log`, not to the edit journal: the journal is the catalogue's
history, replayed into every process's catalogue, exported and undone, and an uninstall edits no pledge. The
log says when a workspace installed the bot, and when and why (the platform's event) its installation,
subscriptions and editors list were deleted, and how many of each (`pledgebot installations` prints it).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.backends import Backend
from bot.state import forget_workspaces

_KEY = "platform = ? AND enterprise = ? AND team = ?"


@dataclass(frozen=True)
class Installed:
    """One stored installation: whose it is (team "" for an org-wide install) and its platform's document."""

    platform: str
    enterprise: str
    team: str
    body: dict[str, Any]


@dataclass(frozen=True)
class Removal:
    """What removing an installation deleted."""

    workspaces: tuple[str, ...]
    subscriptions: int
    editors: int
    # False when there was no installation left to delete (a repeated event, or one for another app).
    installation: bool


@dataclass(frozen=True)
class LogEntry:
    """One line of the installation log."""

    at: dt.datetime
    platform: str
    enterprise: str
    team: str
    event: str
    detail: dict[str, Any]


class Installations:
    """Installations, OAuth states and the installation log in the state store."""

    def __init__(self, backend: Backend):
        self.backend = backend

    def save(
        self, platform: str, enterprise: str, team: str, body: dict[str, Any], at: dt.datetime, by: str = ""
    ) -> None:
        """Store (or replace, on a reinstall) an installation, and log it."""
        with self.backend.transaction() as db:
            db.execute(
                "INSERT INTO installations (platform, enterprise, team, body, installed_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (platform, enterprise, team) DO UPDATE SET "
                "body = excluded.body, installed_at = excluded.installed_at, "
                "updated_at = excluded.updated_at",
                [platform, enterprise, team, json.dumps(body), at.isoformat(), at.isoformat()],
            )
            _log(db, at, platform, enterprise, team, "installed", {"by": by} if by else {})

    def find(self, platform: str, enterprise: str, team: str) -> Installed | None:
        """The installation stored under exactly this key, or None."""
        rows = self.backend.read(f"SELECT body FROM installations WHERE {_KEY}", [platform, enterprise, team])
        return Installed(platform, enterprise, team, json.loads(rows[0][0])) if rows else None

    def serving(self, platform: str, workspace: str) -> Installed | None:
        """The installation that answers for `workspace`: its own, or its org's (one it served), or None."""
        # The workspace's own installation first, should it have one beside its org's.
        rows = self.backend.read(
            "SELECT 0, enterprise, team, body FROM installations WHERE platform = ? AND team = ? "
            "UNION ALL SELECT 1, i.enterprise, i.team, i.body FROM enterprise_workspaces w "
            "JOIN installations i ON i.platform = w.platform AND i.enterprise = w.enterprise AND i.team = '' "
            "WHERE w.platform = ? AND w.workspace = ? ORDER BY 1",
            [platform, workspace, platform, workspace],
        )
        if not rows:
            return None
        _, enterprise, team, body = rows[0]
        return Installed(platform, enterprise, team, json.loads(body))

    def note_workspace(self, platform: str, workspace: str, enterprise: str, at: dt.datetime) -> None:
        """Remember that the org-wide install of `enterprise` served `workspace`."""
        with self.backend.transaction() as db:
            db.execute(
                "INSERT INTO enterprise_workspaces (platform, workspace, enterprise, seen_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (platform, workspace) DO UPDATE SET "
                "enterprise = excluded.enterprise",
                [platform, workspace, enterprise, at.isoformat()],
            )

    def renew(
        self,
        platform: str,
        enterprise: str,
        team: str,
        refresh: Callable[[dict[str, Any]], dict[str, Any] | None],
        at: dt.datetime,
    ) -> dict[str, Any] | None:
        """Read the installation under the state store's lock and let `refresh` replace it; return what is
        stored afterwards (None if it is gone).

        `refresh` gets the document as stored now, after any other process's refresh committed, and returns
        the document to store, or None when it needs nothing. It runs inside the transaction: whatever it
        raises leaves the installation as it was, and others wanting the same row wait until it returns.
        """
        with self.backend.transaction() as db:
            row = db.execute(
                f"SELECT body FROM installations WHERE {_KEY}{self.backend.row_lock}",
                [platform, enterprise, team],
            ).fetchone()
            if row is None:
                return None
            current = json.loads(row[0])
            fresh = refresh(current)
            if fresh is None:
                return current
            db.execute(
                f"UPDATE installations SET body = ?, updated_at = ? WHERE {_KEY}",
                [json.dumps(fresh), at.isoformat(), platform, enterprise, team],
            )
            return fresh

    def remove(self, platform: str, enterprise: str, team: str, event: str, at: dt.datetime) -> Removal:
        """Delete an installation with the subscriptions, channel languages and editors of every workspace it
        served, in one transaction, and log why (`event`)."""
        with self.backend.transaction() as db:
            if team:
                workspaces = [team]
            else:
                workspaces = [
                    r[0]
                    for r in db.execute(
                        "SELECT workspace FROM enterprise_workspaces WHERE platform = ? AND enterprise = ? "
                        "ORDER BY workspace",
                        [platform, enterprise],
                    ).fetchall()
                ]
                db.execute(
                    "DELETE FROM enterprise_workspaces WHERE platform = ? AND enterprise = ?",
                    [platform, enterprise],
                )
            subscriptions, editors = forget_workspaces(db, platform, workspaces)
            installation = (
                db.execute(f"DELETE FROM installations WHERE {_KEY}", [platform, enterprise, team]).rowcount
                > 0
            )
            removal = Removal(tuple(workspaces), subscriptions, editors, installation)
            detail = {
                "workspaces": workspaces,
                "subscriptions": subscriptions,
                "editors": editors,
                "installation": installation,
            }
            _log(db, at, platform, enterprise, team, event, detail)
        return removal

    def issue_state(self, state: str, expires_at: int, now: int) -> None:
        """Keep an OAuth state until `expires_at` (Unix seconds), dropping those expired by `now`."""
        with self.backend.transaction() as db:
            db.execute("DELETE FROM oauth_states WHERE expires_at <= ?", [now])
            db.execute("INSERT INTO oauth_states (state, expires_at) VALUES (?, ?)", [state, expires_at])

    def consume_state(self, state: str, now: int) -> bool:
        """True, once, for a state issued here that has not expired by `now`; any other call is False."""
        with self.backend.transaction() as db:
            return (
                db.execute(
                    "DELETE FROM oauth_states WHERE state = ? AND expires_at > ?", [state, now]
                ).rowcount
                > 0
            )

    def log(self, limit: int = 50) -> list[LogEntry]:
        """The newest lines of the installation log, newest first."""
        rows = self.backend.read(
            "SELECT at, platform, enterprise, team, event, detail FROM installation_log ORDER BY id DESC "
            "LIMIT ?",
            [limit],
        )
        return [
            LogEntry(dt.datetime.fromisoformat(r[0]), r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows
        ]


def _log(
    db: Any, at: dt.datetime, platform: str, enterprise: str, team: str, event: str, detail: dict[str, Any]
) -> None:
    db.execute(
        "INSERT INTO installation_log (at, platform, enterprise, team, event, detail) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [at.isoformat(), platform, enterprise, team, event, json.dumps(detail, ensure_ascii=False)],
    )
