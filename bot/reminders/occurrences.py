"""Occurrences: which milestones fall due on a given local day, as anniversaries or day counts.

A milestone (a pledge made, an election, an inauguration, ...) falls due on:

- its own day, for the kinds that look forward (event, election, inauguration and the due dates; see
  `FORWARD_KINDS`): "Today: ..." on the day, and "In 7 days: ..." as a heads-up before it. A pledge's own day
  (`pledged`) is the pledge itself, so it is not announced again;
- its yearly anniversaries, "N years since ..." for N >= 1;
- its day-count marks (100, 200, 300, 500 and 1,000 days by default, configurable), counting the event day
  itself as day 1, as Korean usage does: the 100th day of a 2025-06-04 inauguration is 2025-09-11.

A due date is a deadline, not an event: a pledge's own (a milestone of kind "due", `DUE`, built from its
`due_on` or `due` rule) and a milestone of a kind the dataset calls a due date (`deadline`, see
`bot.dataset.DUE_KINDS`) go through one rule (`DUE_KINDS`). It falls due on its day ("Due today: ..."), ahead
of it ("Due in 7 days: ..."), and after it "Overdue by N days" on the day-count marks and "Overdue by N years"
on its anniversaries, never "N days since" it. The overdue count is the number of days past the deadline, so
the day after the deadline is the first day overdue (day 1, as the day counts count the event day as day 1)
and "Overdue by 100 days" falls on the deadline + 100 days: a pledge due 2025-09-11 is overdue by 100 days on
2025-12-20. Whether a pledge is still open (not kept, broken or a compromise) is not known here; the caller
drops the overdue items of settled pledges.

An official's mid-term and the end of a term (`ONCE_KINDS`, derived from the speaker's terms by
`bot/officials/terms.py`, whose start is an inauguration like any other) fall due on their day, and ahead of
it, only: no anniversaries, no day counts.

A rating (a `status change`) comes round on its anniversaries alone, and never ahead of its day
(`YEARLY_ONLY`): no day counts, no heads-up, nothing in `upcoming`.

Apart from the forward-looking "on the day" occurrence, the event day is never an anniversary or a day
count (it is year 0 and day 1). A milestone on 29 February is observed
on 28 February in non-leap years and on 29 February (only) in leap years. A day-count mark that lands on an
anniversary is listed twice, once per kind, but the same occurrence is never listed twice.

A heads-up is an occurrence due `lead_days` after the digest day, returned for the digest day with
`lead_days` set, so a subscription can announce "In 7 days: 1 year since ...".

`Calendar` indexes the milestones once, so that planning a day costs O(marks + matches), not a scan of every
milestone. Everything here is pure: dates are passed in, nothing reads the clock, text is plain.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from operator import attrgetter

from bot.dataset import DUE_KINDS as DUE_MILESTONE_KINDS
from bot.i18n import N_, Messages, localized, messages, titled

DEFAULT_DAY_MARKS: tuple[int, ...] = (100, 200, 300, 500, 1000)


class OccurrenceKind(StrEnum):
    """How a milestone falls due; the declaration order is the listing order within a day."""

    ON_THE_DAY = "on the day"
    ANNIVERSARY = "anniversary"
    DAY_COUNT = "day count"


# The kind of a pledge's deadline (its `due_on` or `due` rule), as the calendar holds it.
DUE = "due"
# Due dates, whoever set them: due on their day and ahead, then overdue on the marks and yearly.
DUE_KINDS = frozenset({DUE, *DUE_MILESTONE_KINDS})
# Milestone kinds that fall due on their own date ("Today: ...", "Due today: ..."), and ahead of it with a
# lead time.
# The days of a term announced on the day (and ahead) only.
ONCE_KINDS = frozenset({"mid-term", "term end"})
FORWARD_KINDS = frozenset({"event", "election", "inauguration", *DUE_MILESTONE_KINDS, *ONCE_KINDS})
# A rating (a status change) is the desk's own record, not an event readers count the days to or wait for:
# it comes round once a year on its day ("1 year since rated Kept: …", a prompt to check the verdict still
# holds), never as "300 days since", and never ahead of its day (no heads-up, nothing in `upcoming` or the
# site's "Coming up"), where what the politician faces belongs.
YEARLY_ONLY = frozenset({"status change"})


_KIND_RANK: dict[str, int] = {kind: rank for rank, kind in enumerate(OccurrenceKind)}


@dataclass(frozen=True)
class Milestone:
    """A dated event that anniversaries and day counts are counted from."""

    id: str
    date: dt.date
    kind: str
    title: str
    pledge_id: str | None = None
    # What a language other than English builds its headline from (e.g. "이재명 취임 100일"): the speaker's
    # name and what the milestone is about (its pledge's title, an event's own), each with its Korean form
    # when the data has one.
    speaker: str = ""
    speaker_ko: str = ""
    topic: str = ""
    topic_ko: str = ""
    # The Korean title (a pledge's deadline's is its pledge's), shown to Korean readers instead of `title`.
    title_ko: str = ""
    # The status a rating gave its pledge (the topic): a rating is named from it in the reader's language.
    status: str = ""
    # The speaker's id, for channels that follow an official.
    speaker_id: str = ""

    def name(self, m: Messages) -> str:
        """The milestone's title for `m`'s readers, an English one marked as such for readers of another
        language; a rating's, "rated Kept: …", written in their language."""
        if self.status:
            return m.gettext("rated {status}: {title}").format(
                status=_capitalised(m.status(self.status)), title=titled(m, self.topic, self.topic_ko)
            )
        return titled(m, self.title or f"{self.kind} {self.id}", self.title_ko)


# Milestone kinds as events a headline names (Korean: "취임", "공약 발표"); English uses the title instead.
KIND_NAMES = {
    "pledged": N_("pledged"),
    "election": N_("election"),
    "inauguration": N_("inauguration"),
    "deadline": N_("deadline"),
    "status change": N_("status change"),
    "event": N_("event"),
    "mid-term": N_("mid-term"),
    "term end": N_("term end"),
    DUE: N_("due"),
}


@dataclass(frozen=True)
class Occurrence:
    """One milestone falling due, listed on the digest `day` (earlier than `due` for a heads-up)."""

    day: dt.date
    milestone: Milestone
    kind: str
    count: int
    lead_days: int = 0

    @property
    def due(self) -> dt.date:
        """The date the anniversary or day count actually falls on."""
        return self.day + dt.timedelta(days=self.lead_days)

    def headline(self, m: Messages | None = None) -> str:
        """The occurrence in words, e.g. "1 year since Lee Jae-myung pledged: …", "In 7 days: 100 days since
        …", or in Korean "이재명 취임 100일"."""
        m = m or messages()
        milestone = self.milestone
        subject = milestone.name(m)
        if milestone.kind in DUE_KINDS:
            return self._due_headline(m, subject)
        topic = titled(m, milestone.topic, milestone.topic_ko)
        words = {
            "count": f"{self.count:,}",
            # English names the milestone by its title; other languages by who did what, and on what.
            "subject": subject,
            "speaker": localized(m, milestone.speaker, milestone.speaker_ko),
            # Korean names a rating by the status it gave ("이행 완료 평가 1주년: …").
            "event": m.gettext("rated {status}").format(status=_capitalised(m.status(milestone.status)))
            if milestone.status
            else m.gettext(KIND_NAMES.get(milestone.kind, milestone.kind)),
            "about": m.gettext(": {topic}").format(topic=topic) if topic else "",
        }
        if self.kind == OccurrenceKind.ON_THE_DAY:
            if self.lead_days == 0:
                return m.gettext("Today: {subject}").format(subject=words["subject"])
            return ahead(m, self.lead_days, words["subject"])
        if self.kind == OccurrenceKind.ANNIVERSARY:
            text = m.ngettext("{count} year since {subject}", "{count} years since {subject}", self.count)
        else:
            text = m.ngettext("{count} day since {subject}", "{count} days since {subject}", self.count)
        return ahead(m, self.lead_days, text.format(**words).strip())

    def _due_headline(self, m: Messages, subject: str) -> str:
        """A deadline in words: "Due today: …", "Due in 7 days: …", "Overdue by 100 days: …"."""
        n = self.lead_days
        if self.kind == OccurrenceKind.ON_THE_DAY:
            if n == 0:
                return m.gettext("Due today: {subject}").format(subject=subject)
            if n == 1:
                return m.gettext("Due tomorrow: {subject}").format(subject=subject)
            return m.ngettext("Due in {n} day: {subject}", "Due in {n} days: {subject}", n).format(
                n=n, subject=subject
            )
        if self.kind == OccurrenceKind.ANNIVERSARY:
            text = m.ngettext(
                "Overdue by {count} year: {subject}", "Overdue by {count} years: {subject}", self.count
            )
        else:
            text = m.ngettext(
                "Overdue by {count} day: {subject}", "Overdue by {count} days: {subject}", self.count
            )
        return ahead(m, n, text.format(count=f"{self.count:,}", subject=subject))


def standing(milestone: Milestone, today: dt.date, *, settled: bool = False) -> Occurrence | None:
    """Where a milestone stands on `today`, for a list that names each milestone once: ahead of its day "In
    24 days: …" (a due date "Due in 24 days: …"), on it "Today: …" or "Due today: …", and past it, a due date
    of a pledge not `settled`, "Overdue by 45 days: …" (every day counted, not only the marks); None for what
    is simply past, named by its title alone."""
    if milestone.date >= today:
        return Occurrence(today, milestone, OccurrenceKind.ON_THE_DAY, 0, (milestone.date - today).days)
    if milestone.kind in DUE_KINDS and milestone.pledge_id and not settled:
        return Occurrence(today, milestone, OccurrenceKind.DAY_COUNT, (today - milestone.date).days)
    return None


def _capitalised(text: str) -> str:
    """`text` with its first letter a capital, as a status begins a title ("rated Kept: …")."""
    return text[:1].upper() + text[1:]


def ahead(m: Messages, lead_days: int, text: str) -> str:
    """`text` as a heads-up `lead_days` ahead ("Tomorrow: …", "In 7 days: …"), or as it is for today."""
    if lead_days == 0:
        return text
    if lead_days == 1:
        return m.gettext("Tomorrow: {text}").format(text=text)
    return m.ngettext("In {n} day: {text}", "In {n} days: {text}", lead_days).format(n=lead_days, text=text)


def sort_key(occurrence: Occurrence) -> tuple[dt.date, int, int, dt.date, str, int]:
    """The listing order: day, due-today before heads-ups, anniversaries before day counts, date, id."""
    return (
        occurrence.day,
        occurrence.lead_days,
        # A StrEnum member hashes as its text, so the kind is looked up as it is, plain text or member.
        _KIND_RANK[occurrence.kind],
        occurrence.milestone.date,
        occurrence.milestone.id,
        occurrence.count,
    )


def is_leap(year: int) -> bool:
    """Whether `year` has a 29 February in the proleptic Gregorian calendar."""
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def anniversary_keys(day: dt.date) -> tuple[tuple[int, int], ...]:
    """The (month, day) of milestone dates whose anniversary is observed on `day`."""
    if day.month == 2 and day.day == 28 and not is_leap(day.year):
        # 29 February milestones have no date of their own this year; they borrow the 28th.
        return ((2, 28), (2, 29))
    return ((day.month, day.day),)


def normalise_marks(marks: Iterable[int]) -> tuple[int, ...]:
    """Sorted, de-duplicated day-count marks; each must be at least 2, since day 1 is the event day."""
    result = tuple(sorted(set(marks)))
    if any(isinstance(mark, bool) or not isinstance(mark, int) for mark in result):
        raise TypeError(f"day-count marks must be integers: {result!r}")
    if result and result[0] < 2:
        raise ValueError(f"day-count marks must be at least 2 (day 1 is the event day): {result!r}")
    return result


def _shift(day: dt.date, days: int) -> dt.date | None:
    """`day` moved by `days`, or None when that leaves the representable calendar."""
    ordinal = day.toordinal() + days
    if ordinal < 1 or ordinal > dt.date.max.toordinal():
        return None
    return dt.date.fromordinal(ordinal)


def _year(milestone: Milestone) -> int:
    """The year of a milestone's date, as a sort key."""
    return milestone.date.year


class Calendar:
    """An index of milestones answering "what falls due on this day" without scanning all of them."""

    def __init__(self, milestones: Iterable[Milestone], *, marks: Iterable[int] = DEFAULT_DAY_MARKS) -> None:
        """Index `milestones` by anniversary (month, day) and by date, for the given day-count marks."""
        self._marks = normalise_marks(marks)
        by_id: dict[str, Milestone] = {}
        for milestone in milestones:
            known = by_id.setdefault(milestone.id, milestone)
            # The same milestone fed twice is harmless; two different ones under one id are a data error.
            if known is not milestone and known != milestone:
                raise ValueError(f"two different milestones share the id {milestone.id!r}")
        # Sorting by id first, then stably by year within each bucket, gives (date, id) order per bucket
        # at a fraction of the cost of sorting everything by date.
        ordered = sorted(by_id.values(), key=attrgetter("id"))

        by_month_day: dict[tuple[int, int], list[Milestone]] = defaultdict(list)
        by_date: dict[dt.date, list[Milestone]] = defaultdict(list)
        # Deadlines count their marks from the day after (overdue by N days is the deadline + N days), so
        # they are indexed apart from the milestones whose day counts include their own day.
        dues_by_date: dict[dt.date, list[Milestone]] = defaultdict(list)
        once_by_date: dict[dt.date, list[Milestone]] = defaultdict(list)
        # The years something is on record on each day of the year, for a date typed without its year.
        years: dict[tuple[int, int], set[int]] = defaultdict(set)
        for milestone in ordered:
            date = milestone.date
            years[(date.month, date.day)].add(date.year)
            if milestone.kind in ONCE_KINDS:
                once_by_date[date].append(milestone)
                continue
            by_month_day[(date.month, date.day)].append(milestone)
            if milestone.kind in DUE_KINDS:
                dues_by_date[date].append(milestone)
            elif milestone.kind not in YEARLY_ONLY:
                # Counted in days, or announced on the day (a rating is neither).
                by_date[date].append(milestone)
        for bucket in by_month_day.values():
            bucket.sort(key=_year)
        # A parallel list of years per bucket lets bisect drop milestones whose first anniversary is ahead.
        self._anniversaries = {key: tuple(bucket) for key, bucket in by_month_day.items()}
        self._anniversary_years = {key: [m.date.year for m in bucket] for key, bucket in by_month_day.items()}
        self._by_date = {date: tuple(bucket) for date, bucket in by_date.items()}
        self._dues_by_date = {date: tuple(bucket) for date, bucket in dues_by_date.items()}
        self._once_by_date = {date: tuple(bucket) for date, bucket in once_by_date.items()}
        self._years = {key: tuple(sorted(found)) for key, found in years.items()}
        self._size = len(ordered)

    def __len__(self) -> int:
        """The number of distinct milestones indexed."""
        return self._size

    @property
    def marks(self) -> tuple[int, ...]:
        """The day-count marks in ascending order."""
        return self._marks

    def years_on(self, month: int, day: int) -> tuple[int, ...]:
        """The years, ascending, in which a milestone or a deadline falls on this day of the year."""
        return self._years.get((month, day), ())

    def on(self, day: dt.date, *, lead_days: int = 0) -> list[Occurrence]:
        """The digest for `day`: what falls due that day, plus heads-ups for `day + lead_days` if asked."""
        if lead_days < 0:
            raise ValueError(f"lead_days must not be negative: {lead_days}")
        return self._due(day, day, 0) + self.heads_up(day, lead_days)

    def heads_up(self, day: dt.date, lead_days: int) -> list[Occurrence]:
        """The heads-ups of the digest for `day`: what falls due `lead_days` later (none for 0)."""
        if lead_days < 0:
            raise ValueError(f"lead_days must not be negative: {lead_days}")
        target = _shift(day, lead_days) if lead_days > 0 else None
        return self._due(target, day, lead_days, ahead=True) if target is not None else []

    def between(self, start: dt.date, end: dt.date, *, ahead: bool = False) -> list[Occurrence]:
        """Occurrences due from `start` to `end`, both inclusive, in listing order; empty if end < start.
        With `ahead`, as they are listed before their day (without what is announced on its day only)."""
        result: list[Occurrence] = []
        day: dt.date | None = start
        while day is not None and day <= end:
            result.extend(self._due(day, day, 0, ahead=ahead))
            day = _shift(day, 1)
        return result

    def upcoming(self, today: dt.date, days: int) -> list[Occurrence]:
        """Occurrences in the `days` calendar days starting with `today` (the "/pledge upcoming" window), as
        they are listed ahead of their day."""
        if days < 0:
            raise ValueError(f"days must not be negative: {days}")
        if days == 0:
            return []
        end = _shift(today, days - 1) or dt.date.max
        return self.between(today, end, ahead=True)

    def _due(
        self, due: dt.date, listed_on: dt.date, lead_days: int, *, ahead: bool = False
    ) -> list[Occurrence]:
        """Occurrences falling on `due`, listed on `listed_on`, in listing order; `ahead` of their day,
        without the anniversaries announced on their day only (`YEARLY_ONLY`)."""
        found: list[Occurrence] = [
            Occurrence(listed_on, milestone, OccurrenceKind.ON_THE_DAY, 0, lead_days)
            for milestone in self._by_date.get(due, ())
            if milestone.kind in FORWARD_KINDS
        ]
        found.extend(
            Occurrence(listed_on, milestone, OccurrenceKind.ON_THE_DAY, 0, lead_days)
            for milestone in (*self._dues_by_date.get(due, ()), *self._once_by_date.get(due, ()))
        )
        for key in anniversary_keys(due):
            bucket = self._anniversaries.get(key)
            if not bucket:
                continue
            # Only milestones from earlier years have an anniversary; the same year is the event itself.
            past = bisect.bisect_left(self._anniversary_years[key], due.year)
            for milestone in bucket[:past]:
                if ahead and milestone.kind in YEARLY_ONLY:
                    continue
                found.append(
                    Occurrence(
                        listed_on,
                        milestone,
                        OccurrenceKind.ANNIVERSARY,
                        due.year - milestone.date.year,
                        lead_days,
                    )
                )
        for mark in self._marks:
            # Day 1 is the event day, so the Nth day is N - 1 days after it.
            origin = _shift(due, -(mark - 1))
            if origin is None:
                break
            for milestone in self._by_date.get(origin, ()):
                found.append(Occurrence(listed_on, milestone, OccurrenceKind.DAY_COUNT, mark, lead_days))
            # Overdue by `mark` days: `mark` days after the deadline.
            deadline = _shift(origin, -1)
            for milestone in self._dues_by_date.get(deadline, ()) if deadline is not None else ():
                found.append(Occurrence(listed_on, milestone, OccurrenceKind.DAY_COUNT, mark, lead_days))
        found.sort(key=sort_key)
        return found
