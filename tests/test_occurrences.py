"""Tests for bot.reminders.occurrences: anniversaries, day counts, 29 February, heads-ups, order, scale."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.reminders.occurrences import (
    DEFAULT_DAY_MARKS,
    DUE_KINDS,
    FORWARD_KINDS,
    YEARLY_ONLY,
    Calendar,
    Milestone,
    Occurrence,
    OccurrenceKind,
    sort_key,
)

D = dt.date

# The pledges of the seed dataset (data/lee-jae-myung-2025-05-26.yaml), all made on 2025-05-26.
SEED_PLEDGES = {
    "inter-korean-hotline": "Restore inter-Korean hotlines and communication channels",
    "pragmatic-diplomacy": "Pragmatic diplomacy centred on national interests, based on the U.S. alliance",
    "alliance-trust": "Restore trust in the South Korea-U.S. alliance after martial law",
    "korea-us-japan-cooperation": "Solidify South Korea-U.S.-Japan cooperation",
    "japan-relations": "Principled yet forward-looking relations with Japan",
    "china-relations": "Stabilise relations with China",
    "russia-ukraine": "National-interest relations with Russia and help rebuild Ukraine",
    "peace-denuclearization": "Peace and denuclearization through a multilayered framework of cooperation",
    "korea-risk": "Resolve the 'Korea risk' to revitalise the economy",
    "inter-korean-dialogue": "Mutually beneficial inter-Korean dialogue and exchange",
    "humanitarian-human-rights": "Humanitarian support for those divided, and North Korean human rights",
    "reunification-social-dialogue": (
        "North Korea policy is no political tool; peace and reunification through social dialogue"
    ),
    "defense-deterrence": "Stronger defense, extended deterrence and the three-axis system",
    "armed-forces-reform": (
        "Restore the armed forces' prestige, civilian control and military personnel reform"
    ),
}
ELECTION = Milestone(
    "presidential-election-2025", D(2025, 6, 3), "election", "Lee Jae-myung elected president"
)
INAUGURATION = Milestone(
    "inauguration-2025", D(2025, 6, 4), "inauguration", "Lee Jae-myung inaugurated as president"
)
PLEDGES = [
    Milestone(f"pledged:{pid}", D(2025, 5, 26), "pledged", f"Lee Jae-myung pledged: {title}", pledge_id=pid)
    for pid, title in SEED_PLEDGES.items()
]
SEED = [*PLEDGES, ELECTION, INAUGURATION]
LEAP = Milestone("leap", D(2024, 2, 29), "deadline", "Leap-day deadline")


def reference(
    milestones: list[Milestone], day: dt.date, marks=DEFAULT_DAY_MARKS, lead_days: int = 0
) -> list[Occurrence]:
    """Brute force: check every milestone against the rules directly, then sort in listing order."""
    result = []
    mark_set = set(marks)
    leads = [0] if lead_days == 0 else [0, lead_days]
    for lead in leads:
        due = day + dt.timedelta(days=lead)
        for m in set(milestones):
            if m.date == due and m.kind in FORWARD_KINDS:
                result.append(Occurrence(day, m, "on the day", 0, lead))
            try:
                observed = m.date.replace(year=due.year)
            except ValueError:  # 29 February in a non-leap year
                observed = D(due.year, 2, 28)
            # A rating comes round on its day only, never as a heads-up.
            if observed == due and due.year > m.date.year and not (lead and m.kind in YEARLY_ONLY):
                result.append(Occurrence(day, m, "anniversary", due.year - m.date.year, lead))
            # A due date's marks count the days past it; an event's count its own day as day 1.
            nth = (due - m.date).days + (0 if m.kind in DUE_KINDS else 1)
            if nth in mark_set and m.kind not in YEARLY_ONLY:
                result.append(Occurrence(day, m, "day count", nth, lead))
    return sorted(result, key=sort_key)


def summary(occurrences: list[Occurrence]) -> list[tuple]:
    """Compact (day, kind, count, milestone id, lead) tuples for readable assertions."""
    return [(o.day, str(o.kind), o.count, o.milestone.id, o.lead_days) for o in occurrences]


@pytest.fixture
def seed() -> Calendar:
    return Calendar(SEED)


def test_first_anniversary_of_the_pledges(seed: Calendar) -> None:
    found = seed.on(D(2026, 5, 26))
    assert len(found) == 14
    assert {o.milestone.pledge_id for o in found} == set(SEED_PLEDGES)
    assert all(o.kind == "anniversary" and o.count == 1 and o.lead_days == 0 for o in found)
    assert [o.milestone.id for o in found] == sorted(o.milestone.id for o in found)
    hotline = next(o for o in found if o.milestone.pledge_id == "inter-korean-hotline")
    assert hotline.headline() == (
        "1 year since Lee Jae-myung pledged: Restore inter-Korean hotlines and communication channels"
    )
    assert hotline.due == D(2026, 5, 26)


def test_second_anniversary_is_counted_in_years(seed: Calendar) -> None:
    found = seed.on(D(2027, 5, 26))
    assert {o.count for o in found} == {2}
    assert found[0].headline().startswith("2 years since Lee Jae-myung pledged: ")


def test_hundredth_day_counts_the_event_day_as_day_one(seed: Calendar) -> None:
    assert summary(seed.on(D(2025, 9, 11))) == [(D(2025, 9, 11), "day count", 100, "inauguration-2025", 0)]
    assert seed.on(D(2025, 9, 11))[0].headline() == "100 days since Lee Jae-myung inaugurated as president"
    assert summary(seed.on(D(2025, 9, 10))) == [
        (D(2025, 9, 10), "day count", 100, "presidential-election-2025", 0)
    ]


def test_pledges_have_their_hundredth_day_too(seed: Calendar) -> None:
    found = seed.on(D(2025, 9, 2))
    assert len(found) == 14
    assert all(o.kind == "day count" and o.count == 100 for o in found)


def test_first_anniversary_of_the_inauguration(seed: Calendar) -> None:
    found = seed.on(D(2026, 6, 4))
    assert summary(found) == [(D(2026, 6, 4), "anniversary", 1, "inauguration-2025", 0)]
    assert found[0].headline() == "1 year since Lee Jae-myung inaugurated as president"


def test_thousandth_day(seed: Calendar) -> None:
    found = seed.on(D(2028, 2, 28))
    assert summary(found) == [(D(2028, 2, 28), "day count", 1000, "inauguration-2025", 0)]
    assert found[0].headline() == "1,000 days since Lee Jae-myung inaugurated as president"


@pytest.mark.parametrize("mark", [200, 300, 500])
def test_other_default_marks(seed: Calendar, mark: int) -> None:
    day = INAUGURATION.date + dt.timedelta(days=mark - 1)
    assert summary(seed.on(day)) == [(day, "day count", mark, "inauguration-2025", 0)]


def test_the_event_day_is_no_anniversary_and_a_pledge_day_is_not_announced(seed: Calendar) -> None:
    # A pledge's own day is the pledge itself; elections and inaugurations fall due "on the day" only.
    assert seed.on(D(2025, 5, 26)) == []
    assert summary(seed.on(D(2025, 6, 4))) == [(D(2025, 6, 4), "on the day", 0, "inauguration-2025", 0)]
    assert [o.kind for o in seed.on(D(2025, 6, 3))] == ["on the day"]


def test_a_deadline_falls_due_on_its_day_and_ahead_of_it() -> None:
    deadline = Milestone("hotline-deadline", D(2027, 1, 15), "deadline", "Deadline to restore the hotline")
    cal = Calendar([deadline])
    [today] = cal.on(D(2027, 1, 15))
    assert (today.kind, today.due, today.headline()) == (
        "on the day",
        D(2027, 1, 15),
        "Due today: Deadline to restore the hotline",
    )
    [ahead] = cal.on(D(2027, 1, 8), lead_days=7)
    assert (ahead.day, ahead.due, ahead.headline()) == (
        D(2027, 1, 8),
        D(2027, 1, 15),
        "Due in 7 days: Deadline to restore the hotline",
    )
    assert (
        cal.on(D(2027, 1, 14), lead_days=1)[0].headline() == "Due tomorrow: Deadline to restore the hotline"
    )
    assert cal.on(D(2027, 1, 8)) == []
    # Past the day, a deadline is overdue (by the days past it) on the marks and yearly, like a due date.
    assert cal.on(D(2027, 4, 24)) == []
    assert summary(cal.on(D(2027, 4, 25))) == [(D(2027, 4, 25), "day count", 100, "hotline-deadline", 0)]
    assert summary(cal.on(D(2028, 1, 15))) == [(D(2028, 1, 15), "anniversary", 1, "hotline-deadline", 0)]


def test_upcoming_lists_future_milestones_nearest_first(seed: Calendar) -> None:
    found = seed.upcoming(D(2025, 5, 27), 30)
    assert [(o.due, o.kind, o.milestone.id) for o in found][:2] == [
        (D(2025, 6, 3), "on the day", "presidential-election-2025"),
        (D(2025, 6, 4), "on the day", "inauguration-2025"),
    ]
    assert [o.due for o in found] == sorted(o.due for o in found)


def test_nothing_before_the_milestone(seed: Calendar) -> None:
    assert seed.on(D(2024, 6, 4)) == []
    assert seed.on(D(2024, 5, 26)) == []


def test_quiet_day(seed: Calendar) -> None:
    assert seed.on(D(2025, 12, 25)) == []


def test_leap_day_milestone_is_observed_on_28_february_in_other_years() -> None:
    cal = Calendar([LEAP])
    assert summary(cal.on(D(2025, 2, 28))) == [(D(2025, 2, 28), "anniversary", 1, "leap", 0)]
    assert cal.on(D(2025, 3, 1)) == []
    assert summary(cal.on(D(2027, 2, 28))) == [(D(2027, 2, 28), "anniversary", 3, "leap", 0)]


def test_leap_day_milestone_is_observed_on_29_february_in_leap_years_only() -> None:
    cal = Calendar([LEAP])
    assert summary(cal.on(D(2028, 2, 29))) == [(D(2028, 2, 29), "anniversary", 4, "leap", 0)]
    assert cal.on(D(2028, 2, 28)) == []
    assert cal.on(D(2028, 3, 1)) == []


def test_28_february_milestone_is_unaffected_by_the_leap_rule() -> None:
    feb28 = Milestone("feb28", D(2024, 2, 28), "deadline", "Feb 28 deadline")
    cal = Calendar([feb28, LEAP])
    assert summary(cal.on(D(2025, 2, 28))) == [
        (D(2025, 2, 28), "anniversary", 1, "feb28", 0),
        (D(2025, 2, 28), "anniversary", 1, "leap", 0),
    ]
    assert summary(cal.on(D(2028, 2, 28))) == [(D(2028, 2, 28), "anniversary", 4, "feb28", 0)]


def test_century_years_are_not_leap() -> None:
    cal = Calendar([Milestone("old", D(2096, 2, 29), "deadline", "Old leap day")])
    assert summary(cal.on(D(2100, 2, 28))) == [(D(2100, 2, 28), "anniversary", 4, "old", 0)]
    assert summary(cal.on(D(2104, 2, 29))) == [(D(2104, 2, 29), "anniversary", 8, "old", 0)]


def test_heads_up_seven_days_ahead(seed: Calendar) -> None:
    found = seed.on(D(2026, 5, 19), lead_days=7)
    assert len(found) == 14
    assert all(o.lead_days == 7 and o.day == D(2026, 5, 19) and o.due == D(2026, 5, 26) for o in found)
    hotline = next(o for o in found if o.milestone.pledge_id == "inter-korean-hotline")
    assert hotline.headline() == (
        "In 7 days: 1 year since Lee Jae-myung pledged: "
        "Restore inter-Korean hotlines and communication channels"
    )
    assert seed.on(D(2026, 5, 19)) == []


def test_heads_up_comes_after_what_is_due_today(seed: Calendar) -> None:
    found = seed.on(D(2025, 9, 4), lead_days=7)
    assert summary(found) == [
        (D(2025, 9, 4), "day count", 100, "inauguration-2025", 7),
    ]
    found = seed.on(D(2025, 9, 3), lead_days=7)
    assert summary(found) == [(D(2025, 9, 3), "day count", 100, "presidential-election-2025", 7)]
    found = seed.on(D(2025, 9, 10), lead_days=1)
    assert summary(found) == [
        (D(2025, 9, 10), "day count", 100, "presidential-election-2025", 0),
        (D(2025, 9, 10), "day count", 100, "inauguration-2025", 1),
    ]
    assert found[1].headline() == "Tomorrow: 100 days since Lee Jae-myung inaugurated as president"


def test_negative_lead_days_are_rejected(seed: Calendar) -> None:
    with pytest.raises(ValueError):
        seed.on(D(2026, 5, 26), lead_days=-1)


def test_mark_on_an_anniversary_is_listed_once_per_kind() -> None:
    cal = Calendar([INAUGURATION], marks=(366, 366, 100))
    assert cal.marks == (100, 366)
    assert summary(cal.on(D(2026, 6, 4))) == [
        (D(2026, 6, 4), "anniversary", 1, "inauguration-2025", 0),
        (D(2026, 6, 4), "day count", 366, "inauguration-2025", 0),
    ]


def test_duplicate_milestones_are_not_listed_twice() -> None:
    cal = Calendar([INAUGURATION, INAUGURATION])
    assert len(cal) == 1
    assert len(cal.on(D(2026, 6, 4))) == 1


def test_conflicting_ids_are_rejected() -> None:
    other = Milestone(INAUGURATION.id, D(2025, 6, 5), "inauguration", "Someone else")
    with pytest.raises(ValueError, match="inauguration-2025"):
        Calendar([INAUGURATION, other])


@pytest.mark.parametrize("marks", [(1,), (0, 100), (-5,)])
def test_marks_below_two_are_rejected(marks: tuple[int, ...]) -> None:
    with pytest.raises(ValueError):
        Calendar(SEED, marks=marks)


def test_no_marks_means_anniversaries_only(seed: Calendar) -> None:
    cal = Calendar(SEED, marks=())
    assert cal.on(D(2025, 9, 11)) == []
    assert len(cal.on(D(2026, 5, 26))) == 14


def test_custom_marks() -> None:
    cal = Calendar([INAUGURATION], marks=(50,))
    assert summary(cal.on(D(2025, 7, 23))) == [(D(2025, 7, 23), "day count", 50, "inauguration-2025", 0)]
    assert cal.on(D(2025, 9, 11)) == []


def test_between_is_inclusive_and_ordered(seed: Calendar) -> None:
    assert summary(seed.between(D(2025, 9, 10), D(2025, 9, 11))) == [
        (D(2025, 9, 10), "day count", 100, "presidential-election-2025", 0),
        (D(2025, 9, 11), "day count", 100, "inauguration-2025", 0),
    ]
    assert summary(seed.between(D(2025, 9, 11), D(2025, 9, 11))) == [
        (D(2025, 9, 11), "day count", 100, "inauguration-2025", 0)
    ]
    assert seed.between(D(2025, 9, 12), D(2025, 9, 11)) == []


def test_between_over_a_year(seed: Calendar) -> None:
    found = seed.between(D(2026, 5, 1), D(2026, 6, 30))
    assert found == sorted(found, key=sort_key)
    assert [o.day for o in found] == [D(2026, 5, 26)] * 14 + [D(2026, 6, 3), D(2026, 6, 4)]
    assert [o.milestone.id for o in found[-2:]] == ["presidential-election-2025", "inauguration-2025"]
    everything = [o for day in range(400) for o in seed.on(D(2025, 5, 26) + dt.timedelta(days=day))]
    assert seed.between(D(2025, 5, 26), D(2026, 6, 29)) == everything


def test_between_orders_anniversaries_before_day_counts_then_by_date() -> None:
    older = Milestone("b-older", D(2024, 6, 4), "deadline", "Older")
    day_count = Milestone("a-count", D(2026, 2, 25), "event", "Counted")
    cal = Calendar([day_count, INAUGURATION, older])
    assert summary(cal.between(D(2026, 6, 4), D(2026, 6, 4))) == [
        (D(2026, 6, 4), "anniversary", 2, "b-older", 0),
        (D(2026, 6, 4), "anniversary", 1, "inauguration-2025", 0),
        (D(2026, 6, 4), "day count", 100, "a-count", 0),
    ]


def test_upcoming_counts_today_as_the_first_day(seed: Calendar) -> None:
    assert summary(seed.upcoming(D(2025, 9, 10), 1)) == [
        (D(2025, 9, 10), "day count", 100, "presidential-election-2025", 0)
    ]
    assert len(seed.upcoming(D(2025, 9, 10), 2)) == 2
    assert seed.upcoming(D(2025, 9, 10), 0) == []
    assert seed.upcoming(D(2026, 5, 1), 30) == seed.between(D(2026, 5, 1), D(2026, 5, 30))
    with pytest.raises(ValueError):
        seed.upcoming(D(2025, 9, 10), -1)


def test_calendar_edges_do_not_overflow() -> None:
    cal = Calendar([Milestone("start", D(1, 1, 1), "event", "Start")])
    # The day itself is the event (on the day); nothing else, and no overflow far ahead.
    assert summary(cal.on(D(1, 1, 1), lead_days=1000)) == [(D(1, 1, 1), "on the day", 0, "start", 0)]
    assert cal.on(dt.date.max, lead_days=7) == []
    assert summary(cal.on(D(1, 4, 10))) == [(D(1, 4, 10), "day count", 100, "start", 0)]
    assert cal.between(dt.date.max, dt.date.max) == []


def test_occurrence_kind_compares_as_plain_text(seed: Calendar) -> None:
    found = seed.on(D(2026, 6, 4))[0]
    assert found.kind == "anniversary" == OccurrenceKind.ANNIVERSARY
    assert found.kind == OccurrenceKind("anniversary")


# Dates cluster in a few years, with 29 February and month ends over-represented, to hit the edge cases.
_special_days = st.sampled_from(
    [D(2020, 2, 29), D(2024, 2, 29), D(2023, 2, 28), D(2024, 2, 28), D(2021, 12, 31), D(2022, 3, 1)]
)
_dates = st.one_of(_special_days, st.dates(min_value=D(2019, 1, 1), max_value=D(2030, 12, 31)))
_milestones = st.builds(
    Milestone,
    id=st.text(alphabet="abcdef", min_size=1, max_size=4),
    date=_dates,
    kind=st.sampled_from(["pledged", "election", "deadline", "status change"]),
    title=st.just("t"),
)


@settings(max_examples=300, deadline=None)
@given(
    milestones=st.lists(_milestones, max_size=30, unique_by=lambda m: m.id),
    day=_dates,
    marks=st.sets(st.integers(min_value=2, max_value=1500), max_size=6),
    lead_days=st.integers(min_value=0, max_value=400),
)
def test_on_agrees_with_brute_force(
    milestones: list[Milestone], day: dt.date, marks: set[int], lead_days: int
) -> None:
    cal = Calendar(milestones, marks=marks)
    found = cal.on(day, lead_days=lead_days)
    for o in found:
        assert o.day == day
        assert o.lead_days in {0, lead_days}
        due, start = o.due, o.milestone.date
        if o.kind == "on the day":
            assert o.due == o.milestone.date and o.milestone.kind in FORWARD_KINDS
        elif o.kind == "anniversary":
            assert o.count == due.year - start.year >= 1
            same_day = (due.month, due.day) == (start.month, start.day)
            leap_rule = (start.month, start.day) == (2, 29) and (due.month, due.day) == (2, 28)
            assert same_day or (leap_rule and not cal_is_leap(due.year))
        else:
            # A due date's count is the days past it ("overdue by"); an event's counts its own day as day 1.
            assert o.count == (due - start).days + (0 if o.milestone.kind in DUE_KINDS else 1)
            assert o.count in marks
    assert found == reference(milestones, day, sorted(marks), lead_days)
    assert len(set(found)) == len(found)


def cal_is_leap(year: int) -> bool:
    """Independent leap-year check for the property test."""
    try:
        D(year, 2, 29)
    except ValueError:
        return False
    return True


@settings(max_examples=50, deadline=None)
@given(
    milestones=st.lists(_milestones, max_size=20, unique_by=lambda m: m.id),
    start=_dates,
    span=st.integers(min_value=-3, max_value=60),
)
def test_between_is_the_concatenation_of_on(milestones: list[Milestone], start: dt.date, span: int) -> None:
    cal = Calendar(milestones)
    end = start + dt.timedelta(days=span)
    expected = [o for n in range(span + 1) for o in cal.on(start + dt.timedelta(days=n))]
    found = cal.between(start, end)
    assert found == expected
    assert found == sorted(found, key=sort_key)
    assert all(start <= o.day <= end for o in found)


def test_scale_matches_brute_force() -> None:
    rng = random.Random(20250604)
    first = D(2016, 1, 1)
    span = (D(2025, 12, 31) - first).days
    milestones = [
        Milestone(
            f"m{n:06d}", first + dt.timedelta(days=rng.randrange(span + 1)), "pledged", f"Milestone {n}"
        )
        for n in range(100_000)
    ]
    cal = Calendar(milestones)
    assert len(cal) == 100_000
    for day in (D(2026, 5, 26), D(2025, 2, 28), D(2024, 2, 29)):
        found = cal.on(day, lead_days=7)
        assert found == reference(milestones, day, lead_days=7)
        assert found  # with ~27 milestones a day, every one of these days has something due


def test_a_rating_comes_round_yearly_on_its_day_and_never_ahead() -> None:
    rating = Milestone("r", D(2026, 5, 10), "status change", "rated Kept: Restore hotlines", "hotline")
    cal = Calendar([rating])
    assert summary(cal.on(D(2027, 5, 10))) == [(D(2027, 5, 10), "anniversary", 1, "r", 0)]
    # No day counts (day 100 is 2026-08-17), no heads-up, nothing in upcoming.
    assert cal.on(D(2026, 8, 17)) == []
    assert cal.on(D(2027, 5, 3), lead_days=7) == []
    assert cal.upcoming(D(2027, 5, 1), 30) == []
