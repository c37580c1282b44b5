"""The calendar every answer about dates reads: each milestone's anniversaries and day counts, indexed once
and rebuilt after any change to the catalogue."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from bot.catalogue import CalendarRow, Catalogue
from bot.i18n import messages
from bot.reminders.occurrences import DUE, Calendar, Milestone

VERSION_CHECK_SECONDS = 1.0


class Calendars:
    """The catalogue's current `Calendar`, rebuilt when the catalogue's version changes.

    The version is checked at most once a second, so an import by another process (`pledgebot import` while
    the worker runs) reaches the next digest without a restart, and a delivery pass asking for thousands of
    digests does not ask the database thousands of times.
    """

    def __init__(
        self,
        catalogue: Catalogue,
        monotonic: Callable[[], float] = time.monotonic,
        *,
        derived: Callable[[], Iterable[CalendarRow]] = tuple,
    ):
        self.catalogue = catalogue
        # Milestones derived from other records (each official's terms, `bot/officials/terms.py`).
        self.derived = derived
        self.monotonic = monotonic
        self._calendar: Calendar | None = None
        self._calendar_version = ""
        self._known_version = ""
        self._version_checked_at = 0.0
        self._lock = threading.Lock()

    def recheck(self) -> None:
        """Read the catalogue's version at the next `current`, not up to a second later: for a caller that
        has just changed the catalogue itself (the benchmark's import) and reads the calendar at once."""
        self._version_checked_at = -VERSION_CHECK_SECONDS

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
        rows = [*self.catalogue.calendar_rows(), *self.derived()]
        return Calendar(milestone(r) for r in rows)


def milestone(row: CalendarRow) -> Milestone:
    """A catalogue row as the calendar's milestone: its English title, and what other languages name it by."""
    english = messages()
    title = row.title
    if row.kind == "pledged":
        speaker = row.speaker_name or english.gettext("the speaker")
        title = english.gettext("{speaker} pledged: {title}").format(speaker=speaker, title=row.title)
    # A pledge's own milestones (and a rating, named from its status) are about the pledge, an event or a
    # status change of its own words about itself ("사건 1주년: 핫라인 점검"); an election or an inauguration
    # is named by who and what alone ("이재명 취임 1주년").
    topic: str = ""
    topic_ko: str | None = ""
    if row.kind in ("pledged", DUE) or (row.kind == "status change" and row.status):
        topic, topic_ko = row.pledge_title or row.title or "", row.pledge_title_ko
    elif row.kind in ("event", "status change"):
        topic, topic_ko = row.title or "", row.title_ko
    return Milestone(
        id=row.id,
        date=row.date,
        kind=row.kind,
        title=title,
        pledge_id=row.pledge,
        speaker=row.speaker_name or "",
        speaker_ko=row.speaker_name_ko or "",
        topic=topic,
        topic_ko=topic_ko or "",
        title_ko=row.title_ko or "",
        status=row.status or "",
        speaker_id=row.speaker or "",
    )
