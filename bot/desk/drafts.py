"""A desk form's values between its steps, kept in the state store's `desk_drafts` table.

A form carries a nonce as its state; its draft is kept under that nonce until the edit is saved, and the
same nonce is the edit's dedupe key (`form:<nonce>`), so a form submitted twice makes one edit.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from bot.backends import Backend

# How long a form's draft waits between its steps.
DRAFT_LIFE = dt.timedelta(days=1)


class Drafts:
    """A form's values between its steps, in the state store, by the nonce the form carries."""

    def __init__(self, backend: Backend):
        self.backend = backend

    def save(self, nonce: str, form: str, body: dict[str, Any], at: dt.datetime) -> None:
        """Keep (or replace) a form's draft, forgetting drafts abandoned over a day ago."""
        with self.backend.transaction() as db:
            db.execute("DELETE FROM desk_drafts WHERE created_at < ?", [(at - DRAFT_LIFE).isoformat()])
            db.execute(
                "INSERT INTO desk_drafts (nonce, form, body, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (nonce) DO UPDATE SET form = excluded.form, body = excluded.body",
                [nonce, form, json.dumps(body, ensure_ascii=False), at.isoformat()],
            )

    def load(self, nonce: str) -> dict[str, Any] | None:
        """A draft's body, or None."""
        rows = self.backend.read("SELECT body FROM desk_drafts WHERE nonce = ?", [nonce])
        return json.loads(rows[0][0]) if rows else None

    def discard(self, nonce: str) -> None:
        """Forget a draft whose edit is saved (its nonce, the edit's dedupe key, still answers repeats)."""
        with self.backend.transaction() as db:
            db.execute("DELETE FROM desk_drafts WHERE nonce = ?", [nonce])
