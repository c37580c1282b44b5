"""The calendar every answer about dates reads: each milestone's anniversaries and day counts, indexed once
and rebuilt after any change to the catalogue."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from bot.catalogue import Catalogue
from bot.i18n import messages
from bot.reminders.occurrences import DUE, Calendar, Milestone

VERSION_CHECK_SECONDS = 1.0


class Calendars:
    """The catalogue's current `Calendar`, rebuilt when the catalogue's version changes.

    The version is checked at most once a second, so an import by another process (`pledgebot import` while
    the worker runs) reaches the next digest without a restart, and a delivery pass asking for thousands of
    digests does not ask the database thousands of times.
    """

    def __init__(self, catalogue: Catalogue, monotonic: Callable[[], float] = time.monotonic):
        self.catalogue = catalogue
        self.monotonic = monotonic
        self._calendar: Calendar | None = None
        self._calendar_version = ""
        self._known_version = ""
        self._version_checked_at = 0.0
        self._lock = threading.Lock()

    def current(self) -> Calendar:
        """The calendar of the catalogue as it is now (at most a second old)."""
        now = self.monotonic()
        if self._calendar is None or now - self._version_checked_at >= VERSION_CHECK_SECONDS:
            self._version_checked_at = now
            self._known_version = self.catalogue.version()
        version = self._known_version
        with self._lock:
            if self._calendar is None or self._calendar_version != version:
                self._calendar_version = version
                self._calendar = self._build()
            return self._calendar

    def _build(self) -> Calendar:
        english = messages()
        return Calendar(
            Milestone(
                id=r.id,
                date=r.date,
                kind=r.kind,
                title=english.gettext("{speaker} pledged: {title}").format(
                    speaker=r.speaker_name or english.gettext("the speaker"), title=r.title
                )
                if r.kind == "pledged"
                else r.title,
                pledge_id=r.pledge,
                speaker=r.speaker_name or "",
                speaker_ko=r.speaker_name_ko or "",
                topic=r.title if r.kind in ("pledged", DUE) else "",
                topic_ko=(r.pledge_title_ko or "") if r.kind in ("pledged", DUE) else "",
            )
            for r in self.catalogue.calendar_rows()
        )
