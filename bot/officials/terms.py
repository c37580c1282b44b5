"""Each official's terms on the calendar: the day they took office (whose 100th day, 1,000th day and yearly
anniversaries the calendar counts by the rule it counts every inauguration by, day 1 being the first day in
office), the day halfway through the term, and the day it ends.

Derived when the calendar is built, never stored: a term is data of its speaker, so importing a corrected
term moves its anniversaries with it. A milestone the data already holds for the same start (the seed's
`inauguration-2025`) is not repeated.
"""

from __future__ import annotations

import datetime as dt

from bot.catalogue import CalendarRow
from bot.database import Store
from bot.i18n import N_, messages
from bot.officials.records import Official, Officials

# The kinds of the derived milestones: the start is an inauguration like any other; the midpoint and the end
# are announced on their day (and ahead of it) only (`bot.reminders.occurrences.ONCE_KINDS`).
START, MIDPOINT, END = "inauguration", "mid-term", "term end"
TERM_KINDS = frozenset({MIDPOINT, END})
# Ids with a colon, like a deadline's "due:<pledge>": no dataset id has one, so they cannot clash.
TERM_ID_PREFIX = "term:"

_TITLES = {
    START: N_("{name} took office as {office}"),
    MIDPOINT: N_("Halfway through {name}'s term as {office}"),
    END: N_("{name}'s term as {office} ends"),
}


def is_term(milestone_id: str) -> bool:
    """Whether a calendar milestone is one of an official's terms (not a milestone of the data)."""
    return milestone_id.startswith(TERM_ID_PREFIX)


class TermCalendar:
    """The calendar rows of every official's terms."""

    def __init__(self, store: Store, officials: Officials):
        self.store = store
        self.officials = officials

    def rows(self) -> list[CalendarRow]:
        """Each term's start, midpoint and end, as the calendar reads milestones."""
        # Inaugurations the data records already, by (speaker, date).
        recorded = {
            (speaker, day)
            for speaker, day in self.store.db.execute(
                "SELECT speaker, date FROM milestones WHERE kind = 'inauguration' AND speaker IS NOT NULL"
            )
        }
        rows: list[CalendarRow] = []
        for official in self.officials.holders():
            if not official.office:
                continue  # a term is named by its office
            for term in official.terms:
                days = [(START, term.start), (MIDPOINT, term.midpoint), (END, term.end)]
                for kind, day in days:
                    if day is None or (kind == START and (official.id, day.isoformat()) in recorded):
                        continue
                    rows.append(_row(official, kind, day, term.start.isoformat()))
        return rows


def _row(official: Official, kind: str, day: dt.date, start: str) -> CalendarRow:
    english, korean = messages("en"), messages("ko")
    name_ko = official.name_ko or official.name
    office_ko = official.office_ko or official.office or ""
    return CalendarRow(
        id=f"{TERM_ID_PREFIX}{official.id}:{start}:{kind.replace(' ', '-')}",
        date=day,
        kind=kind,
        title=english.gettext(_TITLES[kind]).format(name=official.name, office=official.office),
        pledge=None,
        speaker_name=official.name,
        # Korean headlines are built from who and what ("{speaker} 취임 100일"): the name with the office,
        # "오세훈 서울특별시장 취임 100일".
        speaker_name_ko=f"{name_ko} {office_ko}".strip(),
        title_ko=korean.gettext(_TITLES[kind]).format(name=name_ko, office=office_ko),
        speaker=official.id,
    )
