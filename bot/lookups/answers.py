"""The answers to the lookup commands: search, show, list, card and cite (`Lookups`), and what happened or
falls due on dates, and the edit history (`Timeline`)."""

from __future__ import annotations

import builtins
import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from babel.dates import format_skeleton

from bot import citations
from bot.cards import MIME as CARD_MIME
from bot.cards import card_text, render_card
from bot.catalogue import Catalogue, QuoteRow
from bot.dates import MonthDay
from bot.grammar import NO_SUCH_PLEDGE, short
from bot.help import help_reply
from bot.i18n import Messages, language_of, localized, messages, pledge_title, titled
from bot.journal import DESK_KINDS, EditKind, Journal
from bot.lookups.commands import Card, Cite, History, ListPledges, On, Search, Show, Upcoming
from bot.lookups.quotes import QuoteCards, title_of
from bot.lookups.searching import Outcome, search_page
from bot.officials.records import Officials
from bot.registry import Registry, Request, handles
from bot.reminders.calendar import Calendars, milestone
from bot.reminders.digests import fitting, grouped
from bot.reminders.items import OccurrenceItems, quote_detail, with_source
from bot.reminders.occurrences import DUE_KINDS, KIND_NAMES, OccurrenceKind
from bot.replies import (
    EDITORS_TITLE,
    Action,
    ActionKind,
    Attachment,
    Level,
    ListItem,
    Notice,
    QuoteCard,
    Reply,
)
from bot.search import Searcher, informative

log = logging.getLogger(__name__)

PAGE_SIZE = 3
LIST_PAGE_SIZE = 20
MAX_LIST_ITEMS = 25


@dataclass(frozen=True)
class Suggestion:
    """An autocomplete choice: what to show, and the command text it stands for."""

    label: str
    value: str


class Lookups:
    """Answers search, show, list, card and cite from the catalogue."""

    def __init__(
        self,
        catalogue: Catalogue,
        searcher: Searcher,
        cards: QuoteCards,
        registry: Registry,
        officials: Officials | None = None,
    ):
        self.catalogue = catalogue
        self.searcher = searcher
        self.quote_cards = cards
        # For the help a search with nothing to search for answers with.
        self.registry = registry
        # Who a search's words name, whose pledges then come first.
        self.officials = officials

    @handles(Search)
    def search(self, command: Search, request: Request) -> Reply:
        """The best-matching pledges, a page at a time; a pledge id typed alone shows that pledge."""
        m = request.m
        if self.catalogue.find_id(command.query):
            return self._show(command.query.strip().lower(), m)
        found = search_page(
            self.searcher, self.quote_cards, command.query, command.page, m, PAGE_SIZE, self.officials
        )
        if found.outcome is Outcome.NO_WORDS:
            hint = m.gettext("Type some words to search for, such as /pledge hotline or /pledge 핫라인.")
            return help_reply(self.registry, hint, m)
        if found.outcome is Outcome.NO_PAGE:
            return Reply(notices=found.notices)
        if found.outcome is Outcome.STOP_ONLY:
            return Reply(title=m.gettext("No pledge found"), notices=found.notices)
        if found.outcome is Outcome.NOTHING:
            hint = m.gettext("Try another word, a Korean term (e.g. 핫라인), or /pledge list to browse.")
            return Reply(title=m.gettext("No pledge found"), notices=[*found.notices, Notice(hint)])
        cards = found.cards
        actions = (
            [
                Action(ActionKind.SHARE, m.gettext("Share in channel"), f"show {cards[0].pledge_id}"),
                *_card_action(cards[0], m),
            ]
            if cards
            else []
        )
        if found.has_more:
            more = f"{found.next_query()} page {command.page + 1}"
            actions.append(Action(ActionKind.MORE, m.gettext("More results"), more))
        return Reply(
            title=found.title(m),
            cards=cards,
            notices=found.notices,
            actions=actions,
            total=found.result.total,
        )

    @handles(Show)
    def show(self, command: Show, request: Request) -> Reply:
        """Every quote of one pledge."""
        return self._show(command.pledge_id, request.m)

    def _show(self, pledge_id: str, m: Messages) -> Reply:
        cards = self.quote_cards.cards([pledge_id], m, lead_only=False)
        if not cards:
            reply = Reply.error(m.gettext(NO_SUCH_PLEDGE).format(id=short(pledge_id, 60)))
            near = self.catalogue.closest_ids(pledge_id)
            if near:
                reply.notices.append(Notice(did_you_mean(m, near)))
            return reply
        return Reply(
            title=cards[0].title,
            cards=cards,
            actions=[
                Action(ActionKind.SHARE, m.gettext("Share in channel"), f"show {pledge_id}"),
                *_card_action(cards[0], m),
            ],
            total=1,
        )

    def _nth_card(self, pledge_id: str, n: int, m: Messages) -> QuoteCard | Reply:
        """The card of a pledge's n-th quote (a quoteless pledge's one card for n = 1), or the error reply."""
        cards = self.quote_cards.cards([pledge_id], m, lead_only=False)
        if not cards:
            return Reply.error(m.gettext(NO_SUCH_PLEDGE).format(id=short(pledge_id, 60)))
        if n > len(cards):
            return Reply.error(_quote_count(m, pledge_id, len(cards)))
        return cards[n - 1]

    @handles(Card)
    def card(self, command: Card, request: Request) -> Reply:
        """A PNG card of one quote, with its alt text and a link to the site's copy."""
        m = request.m
        card = self._nth_card(command.pledge_id, command.n, m)
        if isinstance(card, Reply):
            return card
        png = render_card(card, m, where=card.link)
        name = f"{card.pledge_id}-{command.n}-{m.language}.png"
        notices = []
        if self.quote_cards.public_url:
            url = f"{self.quote_cards.page_url(card.pledge_id)}/card.png" + (
                f"?lang={m.language}" if m.language != "en" else ""
            )
            notices.append(Notice(m.gettext("Card image: {url}").format(url=url)))
        return Reply(
            title=m.gettext("Quote card: {title}").format(title=card.title),
            cards=[card],
            notices=notices,
            files=[Attachment(name, png, CARD_MIME, description=card_text(card, m))],
            actions=[
                Action(ActionKind.SHARE, m.gettext("Share in channel"), f"card {card.pledge_id} {command.n}")
            ],
            total=1,
        )

    @handles(Cite)
    def cite(self, command: Cite, request: Request) -> Reply:
        """One quote as copy-ready citations in two house styles."""
        m = request.m
        quotes = self.catalogue.quotes([command.pledge_id], lead_only=False)
        if not quotes:
            text = m.gettext("{id} has no quote on record yet, so there is nothing to cite.")
            return Reply.error(text.format(id=command.pledge_id))
        if command.n > len(quotes):
            return Reply.error(_quote_count(m, command.pledge_id, len(quotes)))
        quote = quotes[command.n - 1]
        speaker_row = self.catalogue.speaker_of(command.pledge_id)
        if speaker_row is None:  # retracted since its quotes were read
            return Reply.error(m.gettext(NO_SUCH_PLEDGE).format(id=short(command.pledge_id, 60)))
        name, name_ko, _role, role_ko = speaker_row
        speaker = citations.Speaker(name, name_ko, role_ko)
        items = [
            ListItem(label=m.gettext("English news style"), detail=citations.english(quote, speaker)),
            ListItem(label=m.gettext("Korean press style"), detail=citations.korean(quote, speaker)),
        ]
        if self.quote_cards.public_url:
            items.append(
                ListItem(
                    label=m.gettext("Permanent address"), detail=self.quote_cards.page_url(command.pledge_id)
                )
            )
        title = m.gettext("Citations of {id}, quote {n}").format(id=command.pledge_id, n=command.n)
        return Reply(title=title, items=items, total=len(items))

    @handles(ListPledges)
    def list(self, command: ListPledges, request: Request) -> Reply:
        """Pledges by title, in a category and with a status when asked, a page at a time."""
        m = request.m
        offset = (command.page - 1) * LIST_PAGE_SIZE
        rows, total = self.catalogue.list_pledges(
            command.category, LIST_PAGE_SIZE, offset, status=command.status, speakers=command.speakers
        )
        category = command.category and localized(
            m, command.category, self.catalogue.category_ko(command.category)
        )
        scope = (
            (m.gettext(" in {category}").format(category=category) if category else "")
            + (m.gettext(" of {officials}").format(officials=command.named) if command.named else "")
            + (
                m.gettext(" with status “{status}”").format(status=m.status(command.status))
                if command.status
                else ""
            )
        )
        if not total:
            return Reply(notices=[Notice(m.gettext("There are no pledges{scope}.").format(scope=scope))])
        if not rows:
            text = m.gettext("There is no page {page} of this list.").format(page=command.page)
            return Reply(notices=[Notice(text, Level.ERROR)])
        items = [
            ListItem(label=pledge_title(m, title, title_ko, bool(korean)), detail=pid, pledge_id=pid)
            for pid, title, title_ko, _, korean in rows
        ]
        # Korean titles the editors translated say so, as on a card.
        editors = m.language == "ko" and any(title_ko and by == "editors" for _, _, title_ko, by, _ in rows)
        notices = [Notice(m.gettext(EDITORS_TITLE))] if editors else []
        actions = []
        if offset + len(rows) < total:
            base = " ".join(["list", *filter(None, (command.category, command.status, command.named))])
            actions.append(
                Action(ActionKind.MORE, m.gettext("More pledges"), f"{base} page {command.page + 1}")
            )
        title = m.ngettext("{n} pledge{scope}", "{n} pledges{scope}", total).format(n=total, scope=scope)
        return Reply(title=title, items=items, notices=notices, actions=actions, total=total)

    # `builtins.list`: inside this class `list` is the `list` command's method above.
    def suggest(self, prefix: str, limit: int = 25, locale: str = "en") -> builtins.list[Suggestion]:
        """Pledges matching what the user has typed so far, for autocomplete, titled in their language."""
        m = messages(language_of(locale))
        try:
            result = self.searcher.search(prefix, limit=min(limit, 25), prefix=True)
            rows = self.catalogue.pledges(result.ids)
        except Exception:
            log.exception("autocomplete failed")
            return []
        return [Suggestion(short(title_of(m, rows[i]), 100), i) for i in result.ids if i in rows]


# A line of a day's answer, and whether it happened that day itself.
_Listed = tuple[ListItem, bool]


class Timeline:
    """Answers on, upcoming and history: what happened and falls due on dates, and who changed what."""

    def __init__(
        self,
        catalogue: Catalogue,
        calendars: Calendars,
        items: OccurrenceItems,
        journal: Journal,
        searcher: Searcher,
        search: Callable[[Search, Request], Reply],
    ):
        self.catalogue = catalogue
        self.calendars = calendars
        self.items = items
        self.journal = journal
        # Which of a day's pledges the words typed with its date are about.
        self.searcher = searcher
        # The answer to a search, for a date and words nothing that day matches.
        self.search = search

    @handles(On)
    def on(self, command: On, request: Request) -> Reply:
        """What was pledged or happened on a date, and what fell due that day: only what matches the words
        typed with it, and in the year on record when none was typed."""
        m = request.m
        words = informative(command.words)
        notices: list[Notice] = []
        if isinstance(command.day, MonthDay):
            day, items, notice = self._year_of(command.day, words, request.today, m)
            notices.append(Notice(notice))
        else:
            day = command.day
            items = [item for item, _ in self._matching(self._day_items(day, m), words)]
        if not items and words and command.query:
            # Nothing that day is about these words: the search of the whole question, said so first,
            # rather than a "Nothing on record" a reader would take for "never promised".
            reply = self.search(Search(command.query), request)
            where = (
                m.gettext("Nothing on record on {date} in any year matches “{words}”.").format(
                    date=_month_day(command.day, m), words=" ".join(words)
                )
                if isinstance(command.day, MonthDay)
                else m.gettext("Nothing on record on {date} matches “{words}”.").format(
                    date=m.date(day), words=" ".join(words)
                )
            )
            reply.notices.insert(0, Notice(where))
            return reply
        if not items:
            notices.append(Notice(m.gettext("Nothing on record for {date}.").format(date=m.date(day))))
            return Reply(title=m.date(day), notices=notices)
        if words:
            notices.append(Notice(m.gettext("Only what matches “{words}”.").format(words=" ".join(words))))
        title = m.gettext("On {date}").format(date=m.date(day))
        return Reply(title=title, items=items[:MAX_LIST_ITEMS], notices=notices, total=len(items))

    def _year_of(
        self, day: MonthDay, words: list[str], today: dt.date, m: Messages
    ) -> tuple[dt.date, list[ListItem], str]:
        """The date a day typed without its year means, its items matching `words`, and the notice saying
        which year was chosen: the latest year up to this one in which something matching happened that
        day, else the earliest later one, else the latest such day so far (with nothing on record)."""
        years = self.calendars.current().years_on(day.month, day.day)
        past = [y for y in reversed(years) if y <= today.year]
        later = [y for y in years if y > today.year]
        for year in (*past, *later):
            date = dt.date(year, day.month, day.day)
            listed = self._matching(self._day_items(date, m), words)
            # A year counts for what happened that day itself, not for an earlier year's anniversary: "March
            # 14 ferry" is the day the ferry was promised, not the day it was a year old.
            if any(itself for _, itself in listed):
                notice = (
                    m.gettext("No year given: showing {date}, the latest such day on record.")
                    if year <= today.year
                    else m.gettext("No year given: showing {date}, the next such day on record.")
                )
                return date, [item for item, _ in listed], notice.format(date=m.date(date))
        # The latest such day so far: this year's if it has come, else the year before's (29 February:
        # the latest leap year's).
        latest = next(
            d for year in range(today.year, today.year - 9, -1) if (d := day.of(year)) and d <= today
        )
        items = [] if words else [item for item, _ in self._day_items(latest, m)]
        return latest, items, m.gettext("No year given: showing {date}.").format(date=m.date(latest))

    def _matching(self, items: list[_Listed], words: list[str]) -> list[_Listed]:
        """The items about every one of `words` (all of them when there are none): a pledge's by the search
        index, an item of no pledge (an election) by its label."""
        if not words:
            return items
        found = self.searcher.matching(" ".join(words), {i.pledge_id for i, _ in items if i.pledge_id})
        found = found or set()
        folded = [w.casefold() for w in words]
        return [
            (i, itself)
            for i, itself in items
            if (i.pledge_id in found if i.pledge_id else all(w in i.label.casefold() for w in folded))
        ]

    def _day_items(self, day: dt.date, m: Messages) -> list[_Listed]:
        """What was pledged or happened on `day`, and what fell due that day, as listed, each with whether it
        happened that day itself (not an anniversary or a day count of an earlier event)."""
        # One line per event: a milestone of the day by its title, except a deadline, which is "Due today: …"
        # with where its pledge stands, among what fell due.
        rows = [r for r in self.catalogue.milestones_on(day) if r.kind not in DUE_KINDS]
        listed = {r.id for r in rows}
        due = [
            o
            for o in self.items.open(self.calendars.current().on(day))
            if not (o.kind == OccurrenceKind.ON_THE_DAY and o.milestone.id in listed)
        ]
        # Each pledge with its quote and source, each other milestone with the record it comes from.
        leads: dict[str, QuoteRow] = {}
        for quote in self.catalogue.quotes([r.pledge for r in rows if r.pledge], lead_only=True):
            leads.setdefault(quote.pledge, quote)
        sources = self.catalogue.milestone_sources(r.id for r in rows)
        items = []
        for row in map(milestone, rows):
            detail = m.gettext(KIND_NAMES.get(row.kind, row.kind))
            lead = leads.get(row.pledge_id) if row.pledge_id else None
            if lead is not None:
                detail = quote_detail(m, lead)
            elif row.id in sources:
                detail = with_source(m, detail[:1].upper() + detail[1:], sources[row.id])
            items.append(
                ListItem(
                    label=m.gettext("Pledged: {title}").format(title=titled(m, row.topic, row.topic_ko))
                    if row.kind == "pledged"
                    else row.name(m),
                    detail=detail,
                    date=row.date,
                    pledge_id=row.pledge_id,
                )
            )
        itself = [(item, True) for item in items]
        return itself + [
            (item, o.kind == OccurrenceKind.ON_THE_DAY)
            for o, item in zip(due, self.items.of(due, m), strict=True)
        ]

    @handles(Upcoming)
    def upcoming(self, command: Upcoming, request: Request) -> Reply:
        """Anniversaries and milestones in the next days, each named from today."""
        m, today, days = request.m, request.today, command.days
        # A milestone ahead is named from today ("In 7 days: …"), not as "Today: …" on its own date.
        found = [
            dataclasses.replace(o, day=today, lead_days=(o.due - today).days)
            if o.kind == OccurrenceKind.ON_THE_DAY
            else o
            for o in self.items.open(self.calendars.current().upcoming(today, days))
        ]
        end = today + dt.timedelta(days=days - 1)
        title = m.gettext("Coming up, {start} to {end}").format(start=m.date(today), end=m.date(end))
        if not found:
            text = m.ngettext(
                "No anniversaries or milestones in the next {n} day.",
                "No anniversaries or milestones in the next {n} days.",
                days,
            )
            return Reply(title=title, notices=[Notice(text.format(n=days))])
        # Grouped as digests are (the 14 pledges of one day under one heading), and cut between groups.
        shown = found[: fitting(found, MAX_LIST_ITEMS)]
        items = grouped(tuple(zip(shown, self.items.of(shown, m), strict=True)), m)
        notices = []
        if len(shown) < len(found):
            text = m.gettext("Showing the first {shown} of {total}; ask for fewer days.")
            notices.append(Notice(text.format(shown=len(shown), total=len(found))))
        return Reply(title=title, items=items, notices=notices, total=len(found))

    @handles(History)
    def history(self, command: History, request: Request) -> Reply:
        """A pledge's edits, or the latest edits across pledges."""
        return self.edits(command.pledge_id, request.m)

    def edits(self, pledge_id: str | None, m: Messages | None = None) -> Reply:
        """A pledge's edits (when, who, what, why), or the latest edits across pledges when no id is given."""
        m = m or messages()
        if pledge_id is None:
            edits, title = self.journal.latest(MAX_LIST_ITEMS), m.gettext("Latest edits")
        else:
            # Oldest first, like a timeline; a retracted pledge still has its history.
            edits = self.journal.pledge_edits(pledge_id, MAX_LIST_ITEMS)
            title = m.gettext("History of {id}").format(id=pledge_id)
            if not edits:
                return Reply.error(m.gettext(NO_SUCH_PLEDGE).format(id=short(pledge_id, 60)))
        if not edits:
            return Reply(title=title, notices=[Notice(m.gettext("No edits yet."))])
        items = []
        # A pledge's history starts when the pledge was made, as its data says, not when this host's
        # database happened to load the file that holds it.
        start = (
            min((d for d in self.catalogue.pledge_dates(pledge_id) if d), default=None) if pledge_id else None
        )
        for e in edits:
            label = f"#{e.id} {e.summary}"
            undone = self.journal.by_dedupe(f"undo:{e.id}") if e.kind in DESK_KINDS else None
            if undone is not None:
                label += " " + m.gettext("(undone by #{id})").format(id=undone.id)
            detail = m.gettext("{time} UTC, by {author}").format(
                time=f"{e.at.astimezone(dt.UTC):%Y-%m-%d %H:%M}", author=e.author
            ) + (f": {e.reason}" if e.reason else "")
            url = e.desk.get("url")
            if url:
                detail += " — " + m.gettext("source: {url}").format(url=url)
            day = e.at.date()
            if e.kind is EditKind.LOAD and start is not None:
                day = start
                detail = m.gettext("pledged on {date}; loaded {time} UTC, by {author}").format(
                    date=m.date(start), time=f"{e.at.astimezone(dt.UTC):%Y-%m-%d %H:%M}", author=e.author
                )
            items.append(ListItem(label=label, detail=detail, date=day))
        return Reply(title=title, items=items, total=len(items))


def _month_day(day: MonthDay, m: Messages) -> str:
    """A day of the year without its year, "May 26" or "5월 26일" (a leap year's, so 29 February has one)."""
    return format_skeleton("MMMMd", dt.date(2000, day.month, day.day), locale=m.language)


def _card_action(card: QuoteCard, m: Messages) -> list[Action]:
    """The "Quote card" button of an answer whose lead card has a quote: it answers with the card image."""
    if not card.has_quote:
        return []
    return [Action(ActionKind.RUN, m.gettext("Quote card"), f"card {card.pledge_id}")]


def _quote_count(m: Messages, pledge_id: str, count: int) -> str:
    text = m.ngettext(
        "{id} has {count} quote: ask for quote 1.",
        "{id} has {count} quotes; ask for one from 1 to {count}.",
        count,
    )
    return text.format(id=pledge_id, count=count)


def did_you_mean(m: Messages, ids: list[str]) -> str:
    """ "Did you mean /pledge show …?" for ids close to one that is not there."""
    return m.gettext("Did you mean {ids}?").format(ids=", ".join(f"/pledge show {i}" for i in ids))
