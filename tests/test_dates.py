"""Finding a date in typed text: every form, English and Korean, with and without its year, days no calendar
has, and what only looks like a date."""

from __future__ import annotations

import datetime as dt

import pytest

from bot import dates
from bot.dates import MonthDay

DAY = dt.date(2025, 5, 26)
YEARLESS = MonthDay(5, 26)


@pytest.mark.parametrize(
    ("text", "day", "rest"),
    [
        # Numbers, year first.
        ("2025-05-26", DAY, ""),
        ("2025-5-26 hotline", DAY, "hotline"),
        ("2025/05/26", DAY, ""),
        ("2025.5.26", DAY, ""),
        ("2025.05.26 핫라인", DAY, "핫라인"),
        ("2025. 5. 26. 핫라인", DAY, "핫라인"),
        # English, month first, any case, full and short month names with or without a dot.
        ("May 26 2025", DAY, ""),
        ("May 26, 2025", DAY, ""),
        ("May 26th, 2025", DAY, ""),
        ("may 26 2025", DAY, ""),
        ("MAY 26 2025", DAY, ""),
        ("Monday, May 26, 2025", DAY, ""),
        ("Mon May 26 2025 hotline", DAY, "hotline"),
        ("Sept. 3, 2025", dt.date(2025, 9, 3), ""),
        ("Sep 3 2025", dt.date(2025, 9, 3), ""),
        ("Jan. 5", MonthDay(1, 5), ""),
        ("december 31", MonthDay(12, 31), ""),
        # English, day first.
        ("26 May 2025", DAY, ""),
        ("26th of May 2025", DAY, ""),
        ("26th May, 2025", DAY, ""),
        ("Monday 26 May 2025", DAY, ""),
        ("what did Lee promise on 26 May 2025 about China?", DAY, "what did Lee promise on about China?"),
        # Korean, spaces optional, a particle glued after 일 cut with it.
        ("2025년 5월 26일", DAY, ""),
        ("2025년5월26일", DAY, ""),
        ("2025 년 5 월 26 일", DAY, ""),
        ("2025년 5월 26일에 핫라인", DAY, "핫라인"),
        ("2025년 5월 26일의 공약", DAY, "공약"),
        ("2025년 5월 26일에는", DAY, ""),
        ("2025년 5월 26일에도", DAY, ""),
        ("2025년 5월 26일부터", DAY, ""),
        ("2025년 5월 26일까지", DAY, ""),
        ("이재명 2025년 5월 26일 핫라인", DAY, "이재명 핫라인"),
        # Without the year.
        ("May 26", YEARLESS, ""),
        ("26 May", YEARLESS, ""),
        ("what did Lee promise on 26 May?", YEARLESS, "what did Lee promise on ?"),
        ("5월 26일", YEARLESS, ""),
        ("5월26일에 무슨 공약", YEARLESS, "무슨 공약"),
        # 29 February is a day of some years.
        ("Feb 29", MonthDay(2, 29), ""),
        ("2024-02-29", dt.date(2024, 2, 29), ""),
    ],
)
def test_a_date_is_found_and_cut_from_the_text(text, day, rest):
    found = dates.find(text)
    assert found is not None
    assert (found.day, found.rest) == (day, rest)


@pytest.mark.parametrize(
    "text",
    ["Feb 30 2025", "2025-02-30", "2025-13-01", "2025년 2월 30일", "31 April", "2025-02-29", "June 31"],
)
def test_a_date_no_calendar_has_is_found_as_no_day(text):
    found = dates.find(text)
    assert found is not None
    assert found.day is None
    assert found.typed.strip()


@pytest.mark.parametrize(
    "text",
    [
        "2025",
        "2025 budget",
        "May 2025",
        "5",
        "26",
        "5/26",
        "26/05/2025",
        "05/26/2025",
        "12 hotlines",
        "10 trillion won",
        "12025-05-26",
        "hotline-review-2025-05-26",
        "2025-05-26-briefing",
        "2025-05-266",
        "May 266",
        "may cooperate",
        "5월",
        "2025년 5월",
        "hotline",
        "",
    ],
)
def test_what_only_looks_like_a_date_is_none(text):
    assert dates.find(text) is None


def test_the_first_date_is_the_one_found():
    found = dates.find("26 May 2025 or 2026-06-03")
    assert found is not None
    assert (found.day, found.rest) == (DAY, "or 2026-06-03")


def test_a_month_day_is_a_day_only_of_the_years_that_have_it():
    assert MonthDay(2, 29).of(2024) == dt.date(2024, 2, 29)
    assert MonthDay(2, 29).of(2025) is None
