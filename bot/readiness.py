"""Readiness: whether this process can answer now, for a host's or a load balancer's `/readyz`.

Health (`/healthz`) says the process is alive and its catalogue file answers; readiness also asks the state
store, where subscriptions, the desk's editors and the ledger live, so a process whose PostgreSQL cannot be
reached is taken out of rotation rather than answering half its commands with apologies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.backends import Backend

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Readiness:
    """The catalogue's check (`Store.healthy`) and the state store's, asked on every `/readyz`."""

    catalogue: Callable[[], bool]
    backend: Backend

    def check(self) -> str | None:
        """None when ready, else what is not (blocking: it queries both stores)."""
        if not self.catalogue():
            return "the catalogue is not built or does not answer"
        try:
            self.backend.read("SELECT 1")
        except Exception as error:
            log.warning("the state store does not answer: %s", type(error).__name__)
            return "the state store does not answer"
        return None
