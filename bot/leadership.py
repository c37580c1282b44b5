"""The scheduler's leadership: a lease row in the state store, with a fencing number.

One worker runs the scheduler and the gateway connections; the others stand by. Leadership is the row
`leases` named "scheduler": its holder, its expiry, and a fencing number that grows by one at every
acquisition. The leader renews it every third of its length (`PLEDGEBOT_LEASE_SECONDS`); a standby takes it
once it has run out. Every statement is a single-statement transaction on a pooled connection, so it works
where session state does not (PgBouncer in transaction mode, where a session advisory lock silently fails).

A lease alone cannot stop a leader that was paused (SIGSTOP, a frozen VM) and wakes after a takeover, so:

- every claim carries the fencing number, and the claim statement itself refuses unless the lease's
  number is still that one and unexpired (`Ledger.claim_many`); the new leader retakes at once the claims
  made under an older number, looking in the channel first;
- before every post the pass asks `held()`, which trusts the lease only until its last successful renewal
  plus the lease's length less a margin, by the monotonic clock (which counts the time a process was
  stopped), so a leader that wakes past its lease posts nothing, without a round trip.

Expiries are written from the process's clock: the hosts' clocks must agree to well within the margin.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import socket
import time

from bot.backends import Backend
from bot.reminders.ledger import Fence, timestamp

log = logging.getLogger(__name__)

NAME = "scheduler"
# A leader trusts its lease for this share of its length after the renewal that extended it, so a standby
# never takes over while the old leader still believes it leads (clocks a little apart included).
TRUSTED = 0.8


class Lease:
    """The scheduler's lease in the state store, held or sought by this process."""

    def __init__(self, backend: Backend, seconds: float, *, name: str = NAME):
        self.backend = backend
        self.length = dt.timedelta(seconds=seconds)
        self.name = name
        # Unique per process, readable by an operator looking at the table.
        self.holder = f"{socket.gethostname()}:{secrets.token_hex(4)}"
        self._fence: int | None = None
        self._trusted_until = 0.0

    @property
    def fence(self) -> Fence | None:
        """The fencing number this process holds the lease under, or None."""
        return Fence(self.name, self._fence) if self._fence is not None else None

    def try_acquire(self) -> bool:
        """Take the lease if it has run out (or is ours), raising its fencing number; True while held."""
        if self._fence is not None:
            return self.renew()
        started = time.monotonic()
        now = dt.datetime.now(dt.UTC)
        with self.backend.transaction() as db:
            # '' sorts before every timestamp: a lease that never had a holder has run out.
            db.execute(
                "INSERT INTO leases (name, holder, fence, expires_at) VALUES (?, '', 0, '') "
                "ON CONFLICT DO NOTHING",
                [self.name],
            )
            # One statement: of two standbys asking together, exactly one sees the expired row.
            row = db.execute(
                "UPDATE leases SET holder = ?, fence = fence + 1, expires_at = ? WHERE name = ? AND "
                "expires_at < ? RETURNING fence",
                [self.holder, timestamp(now + self.length), self.name, timestamp(now)],
            ).fetchone()
        if row is None:
            return False
        self._fence = int(row[0])
        self._trust(started)
        log.info("holding the scheduler lease (fencing number %d)", self._fence)
        return True

    def renew(self) -> bool:
        """Extend the lease while it is ours and unexpired; False (and no longer held) otherwise."""
        if self._fence is None:
            return False
        started = time.monotonic()
        now = dt.datetime.now(dt.UTC)
        with self.backend.transaction() as db:
            kept = db.execute(
                "UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ? AND fence = ? AND "
                "expires_at > ?",
                [timestamp(now + self.length), self.name, self.holder, self._fence, timestamp(now)],
            ).rowcount
        if kept != 1:
            self._fence, self._trusted_until = None, 0.0
            return False
        self._trust(started)
        return True

    def held(self) -> bool:
        """True while the lease is ours by the last renewal and the monotonic clock (no round trip)."""
        return self._fence is not None and time.monotonic() < self._trusted_until

    def release(self) -> None:
        """Give the lease up at once (a clean shutdown), so a standby takes over at its next ask."""
        if self._fence is None:
            return
        fence, self._fence, self._trusted_until = self._fence, None, 0.0
        try:
            with self.backend.transaction() as db:
                db.execute(
                    "UPDATE leases SET expires_at = '' WHERE name = ? AND holder = ? AND fence = ?",
                    [self.name, self.holder, fence],
                )
        except Exception as error:  # the state store is gone: the lease simply runs out
            log.warning(
                "could not give the scheduler lease up (%s); it runs out by itself", type(error).__name__
            )

    def _trust(self, started: float) -> None:
        self._trusted_until = started + TRUSTED * self.length.total_seconds()
