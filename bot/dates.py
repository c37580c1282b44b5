"""Finding a calendar date in what a user typed: ISO and Korean-style numbers (2025-05-26, 2025.5.26), English
month names either side of the day (May 26, 2025; 26th of May) and Korean (2025년 5월 26일에), each with or
without its year.

Not dates, on purpose: a bare year or number, a month and year (`May 2025`), and slashed day and month
(`5/26`, `26/05/2025`), whose order differs between readers and cannot be told apart.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_MONTHS = {
    **dict.fromkeys(("january", "jan"), 1),
    **dict.fromkeys(("february", "feb"), 2),
    **dict.fromkeys(("march", "mar"), 3),
    **dict.fromkeys(("april", "apr"), 4),
    "may": 5,
    **dict.fromkeys(("june", "jun"), 6),
    **dict.fromkeys(("july", "jul"), 7),
    **dict.fromkeys(("august", "aug"), 8),
    **dict.fromkeys(("september", "sept", "sep"), 9),
    **dict.fromkeys(("october", "oct"), 10),
    **dict.fromkeys(("november", "nov"), 11),
    **dict.fromkeys(("december", "dec"), 12),
}
_WEEKDAYS = "monday|mon|tuesday|tues|tue|wednesday|wed|thursday|thurs|thu|friday|fri|saturday|sat|sunday|sun"
_MONTH = "(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>\d{4})"
# A weekday typed before an English date ("Monday, May 26") is part of it and cut with it.
_WEEKDAY = rf"(?:(?:{_WEEKDAYS})\.?,?\s+)?"
# Each form as a regular expression matched case-insensitively, with word bounds so that "12025-05-26",
# "May 266" or a pledge id ending in a date ("review-2025-05-26") is not read as a date.
_FORMS = [
    # ASCII digits only (after the grammar's NFKC, full-width ones are ASCII): "٢٠٢٥-٠٥-٢٦" is no date here.
    re.compile(p, re.IGNORECASE | re.ASCII)
    for p in (
        rf"(?<![\w.\-/])\b{_YEAR}-(?P<month>\d{{1,2}})-(?P<day>\d{{1,2}})\b(?![\w-])",
        rf"(?<![\w.\-/])\b{_YEAR}/(?P<month>\d{{1,2}})/(?P<day>\d{{1,2}})\b(?![\w/])",
        # Korean style, "2025.5.26" or "2025. 5. 26." with its closing dot.
        rf"(?<![\d.])\b{_YEAR}\.\s?(?P<month>\d{{1,2}})\.\s?(?P<day>\d{{1,2}})\b(?:\.|(?![\d.]))",
        # Korean, spaces optional, with the particle glued after 일 (에, 의, 에는, 에도, 부터, 까지).
        rf"(?<!\d)(?:{_YEAR}\s*년\s*)?(?P<month>\d{{1,2}})\s*월\s*(?P<day>\d{{1,2}})\s*일(?:에는|에도|부터|까지|에|의)?",
        rf"\b{_WEEKDAY}{_MONTH}\s+{_DAY}\b(?:,?\s+{_YEAR}\b)?(?!\d|\s*[:/])",
        rf"\b{_WEEKDAY}(?<!\d){_DAY}(?:\s+of)?\s+{_MONTH}(?:,?\s+{_YEAR}\b)?(?![\w])",
    )
]


@dataclass(frozen=True)
class MonthDay:
    """A day of the year typed without its year ("May 26"): which year is meant is the answer's to choose."""

    month: int
    day: int

    def of(self, year: int) -> dt.date | None:
        """That day in `year`; None when it has none (29 February of a common year)."""
        try:
            return dt.date(year, self.month, self.day)
        except ValueError:
            return None


@dataclass(frozen=True)
class Found:
    """A date found in a text: the day (None when the text names one no calendar has, "Feb 30 2025"), the
    date as typed, and the text with the date cut out."""

    day: dt.date | MonthDay | None
    typed: str
    rest: str


def find(text: str) -> Found | None:
    """The first date in `text`, or None when it has none."""
    # Every form has a day in digits: most searches have none and cost no pattern (each search asks).
    if not any(c.isdigit() for c in text):
        return None
    best: tuple[int, re.Match[str]] | None = None
    for form in _FORMS:
        match = form.search(text)
        if match is not None and (best is None or match.start() < best[0]):
            best = (match.start(), match)
    if best is None:
        return None
    match = best[1]
    rest = " ".join((text[: match.start()] + " " + text[match.end() :]).split())
    return Found(_day(match), match.group(0).strip(), rest)


def _day(match: re.Match[str]) -> dt.date | MonthDay | None:
    """The day a match names; None when the calendar has no such day."""
    month_text = match.group("month").casefold()
    month = _MONTHS.get(month_text) or int(month_text)
    day = int(match.group("day"))
    year = match.group("year")
    # The year-less day must be some year's: 29 February is (2024's), 30 February is none's.
    try:
        date = dt.date(int(year) if year else 2000, month, day)
    except ValueError:
        return None
    return date if year else MonthDay(month, day)
