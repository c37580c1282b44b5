"""Digests and announcements: what falls due on a day, as each channel's filters keep it, and the desk's
changes as posts of their own.

A delivery pass asks for the same few days once per subscription, so a day's items are built once
(`DayDigest`) and each set of filters is grouped once; both are cached for the calendar they were built from.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from bot.catalogue import Catalogue, PledgeRow
from bot.i18n import Messages, language_of, localized, messages, pledge_title, titled
from bot.journal import Edit, EditKind, Journal
from bot.officials.records import Officials
from bot.officials.terms import is_term
from bot.reminders.calendar import Calendars
from bot.reminders.items import OccurrenceItems
from bot.reminders.occurrences import Calendar, Occurrence, OccurrenceKind, ahead
from bot.replies import ListItem, Reply

# Digests kept: a pass needs a few (days x lead days); more than this means the days moved on.
DIGEST_CACHE_SIZE = 64
# Pledges made together (one speaker, one day) that fall due together are listed under one heading once
# there are this many of them.
GROUP_MIN = 3
# An occurrence and its digest item.
Pair = tuple[Occurrence, ListItem]


class Digests:
    """Builds the public digests and announcements, cached per calendar."""

    def __init__(
        self,
        catalogue: Catalogue,
        calendars: Calendars,
        items: OccurrenceItems,
        journal: Journal,
        zone: ZoneInfo,
        officials: Officials | None = None,
    ):
        self.catalogue = catalogue
        # Who a channel following officials or regions follows, and whose pledge each item is.
        self.officials = officials
        self.calendars = calendars
        self.items = items
        self.journal = journal
        self.zone = zone
        # A day's digest items by (day, lead days, language), for the calendar they were built from.
        # Each entry: the day's items, and the desk's changes announced that day ("Since yesterday: …").
        self._digests: dict[tuple[dt.date, int, str], tuple[DayDigest, list[ListItem], dict[str, str]]] = {}
        self._digests_of: Calendar | None = None
        # The (occurrence, item) pairs a digest is made of, by (day, lead days, language): what is due on a
        # day (lead 0) is shared by the digests of every lead time.
        self._pairs_cache: dict[tuple[dt.date, int, str], tuple[Pair, ...]] = {}
        self._pairs_of: Calendar | None = None
        self._lock = threading.Lock()

    def digest(
        self,
        day: dt.date,
        lead_days: int = 0,
        language: str = "en",
        *,
        topics: tuple[str, ...] = (),
        pledges: tuple[str, ...] = (),
        updates: bool = True,
        speakers: tuple[str, ...] = (),
    ) -> Reply | None:
        """The public digest of what falls due on `day` (and heads-ups `lead_days` ahead), or None.

        With `topics` (categories as stored) or `pledges` (ids), only items of those pledges are kept, plus
        the items that belong to no pledge (elections, inaugurations), which reach every channel; with
        `speakers` (officials followed, see `followed`), those officials' pledges and their terms'
        anniversaries too (an official's term reaches only the channels that follow everything or them).
        Without `updates` (a channel that gets the desk's changes as they happen), the desk's changes are
        left out.
        """
        m = messages(language_of(language))
        # A new calendar means the catalogue changed (an import), so every digest built before is stale.
        calendar = self.calendars.current()
        with self._lock:
            if self._digests_of is not calendar:
                self._digests, self._digests_of = {}, calendar
            cached = self._digests.get((day, lead_days, m.language))
        if cached is None:
            # What is due that day is the same for every lead time; only the heads-ups differ.
            pairs = self._pairs(calendar, day, 0, m)
            if lead_days:
                pairs += self._pairs(calendar, day, lead_days, m)
            # Grouped and titled once per day: a pass asks for the same day once per subscription.
            title = m.gettext("On this day, {date}").format(date=m.weekday_date(day))
            categories = self.catalogue.categories_of({i.pledge_id for _, i in pairs if i.pledge_id})
            speakers_of = self._speakers_of({i.pledge_id for _, i in pairs if i.pledge_id})
            changes = self._updates(day, m)
            # The changes' categories, read once a day for every channel's topic filters.
            changed = self.catalogue.categories_of({i.pledge_id for i in changes if i.pledge_id})
            cached = (DayDigest(pairs, title, categories, m, speakers_of), changes, changed)
            with self._lock:
                if self._digests_of is calendar:
                    if len(self._digests) >= DIGEST_CACHE_SIZE:
                        self._digests.clear()
                    self._digests[(day, lead_days, m.language)] = cached
        day_items, changes, changed = cached
        total, items = day_items.following(topics, pledges, speakers)
        changes = changes if updates else []
        if changes and (topics or pledges or speakers):
            changes = self._followed(changes, topics, pledges, changed, speakers)
        if not total and not changes:
            return None
        return Reply(
            title=day_items.title,
            items=[*changes, *items],
            private=False,
            total=total + len(changes),
            language=m.language,
        )

    def announcement(
        self,
        edit: Edit,
        language: str = "en",
        *,
        correction: bool = False,
        topics: tuple[str, ...] = (),
        pledges: tuple[str, ...] = (),
        speakers: tuple[str, ...] = (),
    ) -> Reply | None:
        """A desk edit as a post of its own, for a channel that subscribed with `updates now`; with
        `correction`, the correction of one posted before and undone since. None when it announces
        nothing the channel follows."""
        m = messages(language_of(language))
        items = self._announced(edit, m)
        if topics or pledges or speakers:
            items = self._followed(items, topics, pledges, speakers=speakers)
        if not items:
            return None
        if correction:
            items = [
                dataclasses.replace(i, label=m.gettext("Correction: withdrawn — {item}").format(item=i.label))
                for i in items
            ]
        return Reply(
            title=m.gettext("From the desk"),
            items=items,
            private=False,
            total=len(items),
            language=m.language,
        )

    def _followed(
        self,
        updates: list[ListItem],
        topics: tuple[str, ...],
        pledges: tuple[str, ...],
        categories: dict[str, str] | None = None,
        speakers: tuple[str, ...] = (),
    ) -> list[ListItem]:
        """The desk's announcements a channel following `topics`, `pledges` and the officials `speakers`
        gets; `categories` (by pledge id) when the caller has read them already."""
        wanted = {t.casefold() for t in topics}
        if categories is None:
            categories = self.catalogue.categories_of({i.pledge_id for i in updates if i.pledge_id})
        speakers_of = self._speakers_of({i.pledge_id for i in updates if i.pledge_id}) if speakers else {}
        return [
            item
            for item in updates
            if item.pledge_id in pledges
            or (item.pledge_id in categories and categories[item.pledge_id].casefold() in wanted)
            or speakers_of.get(item.pledge_id or "") in speakers
        ]

    def followed(self, officials: tuple[str, ...], regions: tuple[str, ...]) -> tuple[str, ...]:
        """The speakers a subscription following these officials (ids) and regions (as typed) follows now:
        a region is read at each digest, so an official imported later is followed too."""
        found = list(officials)
        for region in regions:
            found += [o.id for o in self.officials.in_region(region)] if self.officials is not None else []
        return tuple(dict.fromkeys(found))

    def _speakers_of(self, pledge_ids: set[str]) -> dict[str, str]:
        """The speaker of each of these pledges, by id."""
        return self.officials.speakers_of(pledge_ids) if self.officials is not None else {}

    def _updates(self, day: dt.date, m: Messages) -> list[ListItem]:
        """The desk's changes made the day before `day` (in the bot's time zone), for that day's digest:
        "Since yesterday: Restore inter-Korean hotlines → In the works", a new quote or pledge; and a
        correction for an edit announced on an earlier day and undone then. An edit undone on the day it
        was made was never announced, so it needs no correction."""
        start = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(), self.zone)
        end = dt.datetime.combine(day, dt.time(), self.zone)
        edits = self.journal.desk_between(start, end)
        undone = {e.undoes for e in edits if e.undoes is not None}
        items = []
        for edit in edits:
            if edit.undoes is not None:
                target = self.journal.get(edit.undoes)
                if target is not None and target.at < start:
                    items += [
                        dataclasses.replace(
                            item, label=m.gettext("Correction: withdrawn — {item}").format(item=item.label)
                        )
                        for item in self._announced(target, m)
                    ]
            elif edit.id not in undone:
                items += [
                    dataclasses.replace(
                        item, label=m.gettext("Since yesterday: {item}").format(item=item.label)
                    )
                    for item in self._announced(edit, m)
                ]
        return items

    def _announced(self, edit: Edit, m: Messages) -> list[ListItem]:
        """What a desk edit announces: a status change, a new quote or a new pledge (milestones fall due
        on their own dates)."""
        records = edit.records
        url = edit.desk.get("url") or ""
        source = "; " + m.gettext("source: {url}").format(url=url) if url else ""
        titles = {r["values"]["id"]: r["values"] for r in records if r["table"] == "pledges"}
        items = []
        for record in records:
            values = record["values"]
            pledge_id = values.get("pledge") if record["table"] in ("statuses", "quotes") else None
            if pledge_id is None:
                continue
            row = self.catalogue.pledges([pledge_id]).get(pledge_id)
            title = (
                title_of(m, row)
                if row is not None
                else localized(m, titles.get(pledge_id, {}).get("title", pledge_id), None)
            )
            if record["table"] == "statuses":
                status = m.status(values["status"])
                label = m.gettext("{title} → {status}").format(
                    title=title, status=status[:1].upper() + status[1:]
                )
                detail = m.gettext("as of {date}").format(date=m.date(dt.date.fromisoformat(values["date"])))
            elif edit.kind is EditKind.PLEDGE:
                label = m.gettext("new pledge: {title}").format(title=title)
                detail = _words(values, m)
            else:
                label = (
                    m.gettext("new paraphrase for {title}")
                    if values.get("paraphrase")
                    else m.gettext("new quote for {title}")
                ).format(title=title)
                detail = _words(values, m)
            items.append(ListItem(label=label, detail=detail + source, pledge_id=pledge_id))
        return items

    def _pairs(self, calendar: Calendar, day: dt.date, lead_days: int, m: Messages) -> tuple[Pair, ...]:
        """The items due on `day` (lead 0), or its heads-ups `lead_days` ahead, with their occurrences;
        remembered for `calendar` like the digests."""
        key = (day, lead_days, m.language)
        with self._lock:
            if self._pairs_of is not calendar:
                self._pairs_cache, self._pairs_of = {}, calendar
            found = self._pairs_cache.get(key)
        if found is None:
            due = calendar.on(day) if lead_days == 0 else calendar.heads_up(day, lead_days)
            occurrences = self.items.open(due)
            found = tuple(zip(occurrences, self.items.of(occurrences, m), strict=True))
            with self._lock:
                if self._pairs_of is calendar:
                    if len(self._pairs_cache) >= DIGEST_CACHE_SIZE:
                        self._pairs_cache.clear()
                    self._pairs_cache[key] = found
        return found


class DayDigest:
    """One day's digest as a delivery pass reuses it for every subscription: the (occurrence, item) pairs,
    with the grouping worked out once per pair and indexed by pledge and by category, so that a channel's
    filtered digest costs what it keeps, not the whole day; each set of filters is grouped once.

    Many pledges of one event that fall due together are listed under one heading ("1 year since Lee
    Jae-myung's 14 pledges of 26 May 2025"), followed by each pledge's title and quote, rather than 14 lines
    that differ only at the end; fewer than GROUP_MIN of them are listed as they are. Counted per channel:
    a channel following one topic may see two of the 14 listed plainly.
    """

    def __init__(
        self,
        pairs: tuple[Pair, ...],
        title: str,
        categories: dict[str, str],
        m: Messages,
        speakers: dict[str, str] | None = None,
    ) -> None:
        """`categories` and `speakers` hold the category and the speaker of each pledge among the pairs, by
        pledge id."""
        speakers = speakers or {}
        self.pairs = pairs
        self.title = title
        self._m = m
        self._everyone: list[int] = []
        self._by_pledge: dict[str, list[int]] = defaultdict(list)
        self._by_topic: dict[str, list[int]] = defaultdict(list)
        self._by_speaker: dict[str, list[int]] = defaultdict(list)
        self._items = [item for _, item in pairs]
        # A pair's item as a group member, made when a group first needs it.
        self._members: dict[int, ListItem] = {}
        self._headings: dict[tuple[tuple, int], ListItem] = {}
        for n, (occurrence, item) in enumerate(pairs):
            if item.pledge_id is None:
                speaker = occurrence.milestone.speaker_id
                if is_term(occurrence.milestone.id) and speaker:
                    # An official's term reaches the channels that follow them (and those that follow all).
                    self._by_speaker[speaker].append(n)
                else:
                    self._everyone.append(n)
            else:
                self._by_pledge[item.pledge_id].append(n)
                if item.pledge_id in speakers:
                    self._by_speaker[speakers[item.pledge_id]].append(n)
                category = categories.get(item.pledge_id)
                if category is not None:
                    self._by_topic[category.casefold()].append(n)
        # Per pair: the group it may join (None: listed alone whatever a channel follows). Only a group with
        # GROUP_MIN members in the whole day can have as many in a channel's part of it.
        self._keys = group_keys([occurrence for occurrence, _ in pairs])
        self._grouping = any(key is not None for key in self._keys)
        nothing: frozenset[str] = frozenset()
        self._following: dict[tuple[frozenset[str], ...], tuple[int, list[ListItem]]] = {
            (nothing, nothing, nothing): (len(pairs), self._grouped(range(len(pairs))))
        }
        self._as_given: dict[tuple[tuple[str, ...], ...], tuple[int, list[ListItem]]] = {}

    def following(
        self, topics: tuple[str, ...], pledges: tuple[str, ...], speakers: tuple[str, ...] = ()
    ) -> tuple[int, list[ListItem]]:
        """(items counted, grouped items) for a channel following `topics`, `pledges` and the officials
        `speakers` (none: all).

        Items of no pledge (elections, inaugurations) reach every channel; an official's term, the channels
        that follow them or everything."""
        # First by the filters as given: a pass asks with the same few tuples for 100,000 channels, and
        # making their sets each time cost more than the rest of the lookup.
        found = self._as_given.get((topics, pledges, speakers))
        if found is not None:
            return found
        key = (frozenset(t.casefold() for t in topics), frozenset(pledges), frozenset(speakers))
        found = self._following.get(key)
        if found is None:
            kept = set(self._everyone)
            for topic in key[0]:
                kept.update(self._by_topic.get(topic, ()))
            for pledge in key[1]:
                kept.update(self._by_pledge.get(pledge, ()))
            for speaker in key[2]:
                kept.update(self._by_speaker.get(speaker, ()))
            # Racing threads may both group the same filters; either result is the same.
            found = self._following[key] = (len(kept), self._grouped(sorted(kept)))
        self._as_given[(topics, pledges, speakers)] = found
        return found

    def _grouped(self, indices: Sequence[int]) -> list[ListItem]:
        """The items of these pairs (in order), many pledges of one event under one heading."""
        items = self._items
        if not self._grouping:
            # The usual day: nothing to group, every item as it is.
            return [items[n] for n in indices]
        keys = self._keys
        # One pass in order: a pair listed alone is its index, a group its key at its first member's place.
        # (An index is an int and a key a tuple, so the two never meet; no tuple is made per lone pair.)
        order: list[int | tuple] = []
        members_of: dict[tuple, list[int]] = {}
        for n in indices:
            key = keys[n]
            if key is None:
                order.append(n)
                continue
            members = members_of.get(key)
            if members is None:
                members_of[key] = [n]
                order.append(key)
            else:
                members.append(n)
        out: list[ListItem] = []
        for entry in order:
            if isinstance(entry, int):
                out.append(items[entry])
                continue
            members = members_of[entry]
            if len(members) < GROUP_MIN:
                out.extend([items[n] for n in members])
                continue
            heading = self._headings.get((entry, len(members)))
            if heading is None:
                first = self.pairs[members[0]][0]
                heading = ListItem(label=group_headline(first, len(members), self._m), date=first.due)
                self._headings[(entry, len(members))] = heading
            out.append(heading)
            out.extend([self._member(n) for n in members])
        return out

    def _member(self, n: int) -> ListItem:
        """Pair `n`'s item under a group's heading: the pledge's own title, the date given by the heading."""
        member = self._members.get(n)
        if member is None:
            occurrence, item = self.pairs[n]
            milestone = occurrence.milestone
            title = titled(self._m, milestone.topic, milestone.topic_ko) or item.label
            member = self._members[n] = dataclasses.replace(item, label=title, date=None)
        return member


def _group_key(occurrence: Occurrence) -> tuple | None:
    """The group an occurrence may join (pledges of one speaker and day falling due alike), or None."""
    milestone = occurrence.milestone
    if milestone.kind != "pledged" or occurrence.kind == OccurrenceKind.ON_THE_DAY:
        return None
    # The count, kind and date fix the day it falls due on, so a group never spans days.
    return (occurrence.lead_days, occurrence.kind, occurrence.count, milestone.date, milestone.speaker)


def group_keys(occurrences: Sequence[Occurrence]) -> list[tuple | None]:
    """Per occurrence, the group it is listed under, or None when it is listed alone: a group needs
    GROUP_MIN members among `occurrences`."""
    keys = [_group_key(o) for o in occurrences]
    sizes = Counter(key for key in keys if key is not None)
    return [key if key is not None and sizes[key] >= GROUP_MIN else None for key in keys]


def grouped(pairs: tuple[Pair, ...], m: Messages) -> list[ListItem]:
    """The items of these pairs as a digest lists them, many pledges of one event under one heading: for
    lists of many days (`upcoming`, the site's "Coming up"), since a group falls due on one day."""
    return DayDigest(pairs, "", {}, m).following((), ())[1]


def fitting(occurrences: Sequence[Occurrence], limit: int) -> int:
    """How many of `occurrences` (in listing order) a grouped list of at most `limit` items shows without
    cutting a group short (a group takes a heading too); `limit` when the first group alone is longer."""
    keys = group_keys(occurrences)
    left = Counter(key for key in keys if key is not None)
    started: set[tuple] = set()
    lines = shown = unfinished = 0
    for n, key in enumerate(keys, 1):
        lines += 1
        if key is not None:
            if key not in started:
                started.add(key)
                lines += 1  # its heading
                unfinished += 1
            left[key] -= 1
            if not left[key]:
                unfinished -= 1
        if lines > limit:
            break
        if not unfinished:
            shown = n
    return shown or min(limit, len(occurrences))


def group_headline(occurrence: Occurrence, n: int, m: Messages) -> str:
    """The heading of `n` pledges made together, e.g. "In 7 days: 1 year since Lee Jae-myung's 14 pledges of
    26 May 2025" (Korean: "이재명 공약 14개 발표 1주년")."""
    milestone = occurrence.milestone
    words = {
        "count": f"{occurrence.count:,}",
        "n": n,
        "speaker": localized(m, milestone.speaker, milestone.speaker_ko) or m.gettext("the speaker"),
        "date": m.long_date(milestone.date),
    }
    if occurrence.kind == OccurrenceKind.ANNIVERSARY:
        text = m.ngettext(
            "{count} year since {speaker}'s {n} pledges of {date}",
            "{count} years since {speaker}'s {n} pledges of {date}",
            occurrence.count,
        )
    else:
        text = m.ngettext(
            "{count} day since {speaker}'s {n} pledges of {date}",
            "{count} days since {speaker}'s {n} pledges of {date}",
            occurrence.count,
        )
    return ahead(m, occurrence.lead_days, text.format(**words))


def title_of(m: Messages, pledge: PledgeRow) -> str:
    """A pledge's title for `m`'s readers (marked "in Korean only" when it has no English one)."""
    return pledge_title(m, pledge.title, pledge.title_ko, pledge.korean_only)


def _words(quote: dict[str, Any], m: Messages) -> str:
    """A new quote's words in quotation marks; a paraphrase's as reported speech, never in them."""
    if quote.get("paraphrase"):
        return m.gettext("reported speech: {words}").format(words=quote["text"])
    return f"“{quote['text']}”"
