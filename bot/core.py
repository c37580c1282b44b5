"""The one command handler every adapter calls: command text and a context in, a reply model out."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot import commands as cmd
from bot.catalogue import Catalogue, QuoteRow
from bot.journal import Journal
from bot.occurrences import Calendar, Milestone, Occurrence
from bot.replies import (
    Action,
    ActionKind,
    Context,
    Level,
    ListItem,
    Notice,
    QuoteCard,
    Reply,
    SourceRef,
    Status,
)
from bot.search import MAX_QUERY_CHARS, Searcher
from bot.state import Subscription, Subscriptions

log = logging.getLogger(__name__)

PAGE_SIZE = 3
LIST_PAGE_SIZE = 20
MAX_LIST_ITEMS = 25
VERSION_CHECK_SECONDS = 1.0
# Digests kept: a pass needs a few (days x lead days); more than this means the days moved on.
DIGEST_CACHE_SIZE = 64
Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    """The current time, in UTC."""
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Suggestion:
    """An autocomplete choice: what to show, and the command text it stands for."""

    label: str
    value: str


class Core:
    """Answers `/pledge` commands from the catalogue and the channel state."""

    def __init__(
        self,
        catalogue: Catalogue,
        searcher: Searcher,
        subscriptions: Subscriptions,
        journal: Journal,
        *,
        clock: Clock = utc_now,
        timezone: str = "Asia/Seoul",
        monotonic: Callable[[], float] = time.monotonic,
        health: Callable[[], bool] = lambda: True,
    ):
        self.catalogue = catalogue
        self.searcher = searcher
        self.subscriptions = subscriptions
        self.journal = journal
        self.clock = clock
        self.monotonic = monotonic
        self._health = health
        self.zone = ZoneInfo(timezone)
        self._calendar: Calendar | None = None
        self._calendar_version = ""
        self._known_version = ""
        self._version_checked_at = 0.0
        self._calendar_lock = threading.Lock()
        # A day's digest items by (day, lead days), for the calendar they were built from: a delivery pass
        # asks for the same few days once per subscription, and each costs a quote per occurrence.
        self._digests: dict[tuple[dt.date, int], tuple[ListItem, ...]] = {}
        self._digests_of: Calendar | None = None
        self._digests_lock = threading.Lock()

    # -- entry points ------------------------------------------------------------------------------

    def healthy(self) -> bool:
        """True while the local catalogue file is there and answers (`open_bot` passes Store.healthy)."""
        return self._health()

    def handle(self, text: str, ctx: Context) -> Reply:
        """Answer one command; any failure becomes a friendly error reply, never an exception."""
        try:
            command = cmd.parse(text, self)
            return self._dispatch(command, ctx)
        except Exception:
            log.exception("command failed (platform=%s channel=%s)", ctx.platform, ctx.channel)
            return _error(
                "Something went wrong on our side while answering that. Please try again in a moment."
            )

    def is_pledge_id(self, text: str) -> bool:
        """True when `text` is a pledge's id (any case): how the grammar tells `show <id>` from a search."""
        return self.catalogue.find_id(text) is not None

    def category(self, text: str) -> str | None:
        """The catalogue's name for the category `text` names in English or Korean, or None."""
        return self.catalogue.category(text)

    def suggest(self, prefix: str, limit: int = 25) -> list[Suggestion]:
        """Pledges matching what the user has typed so far, for autocomplete."""
        try:
            result = self.searcher.search(prefix, limit=min(limit, 25), prefix=True)
            rows = self.catalogue.pledges(result.ids)
        except Exception:
            log.exception("autocomplete failed")
            return []
        return [Suggestion(_clip(rows[i].title, 100), i) for i in result.ids if i in rows]

    def calendar(self) -> Calendar:
        """Anniversaries and day counts of every milestone, indexed once and rebuilt after any import.

        The catalogue version is checked at most once a second, so an import by another process
        (`pledgebot import` while the worker runs) reaches the next digest without a restart, and a delivery
        pass asking for thousands of digests does not ask the database thousands of times.
        """
        now = self.monotonic()
        if self._calendar is None or now - self._version_checked_at >= VERSION_CHECK_SECONDS:
            self._version_checked_at = now
            self._known_version = self.catalogue.version()
        version = self._known_version
        with self._calendar_lock:
            if self._calendar is None or self._calendar_version != version:
                self._calendar_version = version
                self._calendar = Calendar(
                    Milestone(
                        id=r.id,
                        date=r.date,
                        kind=r.kind,
                        title=f"{r.speaker_name or 'the speaker'} pledged: {r.title}"
                        if r.kind == "pledged"
                        else r.title,
                        pledge_id=r.pledge,
                    )
                    for r in self.catalogue.calendar_rows()
                )
            return self._calendar

    def today(self, ctx: Context | None = None) -> dt.date:
        """Today in the bot's time zone, by the context's clock when it carries one."""
        now = (ctx.now if ctx and ctx.now else None) or self.clock()
        return now.astimezone(self.zone).date()

    # -- commands ----------------------------------------------------------------------------------

    def _dispatch(self, command: cmd.Command, ctx: Context) -> Reply:
        match command:
            case cmd.Search():
                return self._search(command)
            case cmd.Show():
                return self._show(command.pledge_id)
            case cmd.ListPledges():
                return self._list(command)
            case cmd.On():
                return self._on(command.day)
            case cmd.Upcoming():
                return self._upcoming(command.days, ctx)
            case cmd.Subscribe():
                return self._subscribe(command, ctx)
            case cmd.Unsubscribe():
                return self._unsubscribe(ctx)
            case cmd.Subscriptions():
                return self._subscriptions(ctx)
            case cmd.History():
                return self.history(command.pledge_id)
            case cmd.Usage():
                return Reply(
                    notices=[
                        Notice(command.message, Level.ERROR),
                        Notice(f"Usage: {command.spec.usage} (for example: {command.spec.example})"),
                    ]
                )
            case cmd.Help():
                return help_reply(command.hint)
        raise AssertionError(command)

    def _search(self, command: cmd.Search) -> Reply:
        if self.catalogue.find_id(command.query):
            return self._show(command.query.strip().lower())
        page = command.page
        result = self.searcher.search(command.query, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        notices = []
        if result.truncated:
            notices.append(Notice(f"Your search was long, so I used its first {MAX_QUERY_CHARS} characters."))
        if not result.words:
            return help_reply("Type some words to search for, such as /pledge hotline or /pledge 핫라인.")
        if not result.ids:
            shown = _clip(" ".join(result.words), 60)
            if page > 1 and result.total == 0 and self.searcher.search(command.query, limit=1).total:
                return Reply(
                    notices=[Notice(f"There is no page {page} of results for “{shown}”.", Level.ERROR)]
                )
            return Reply(
                title="No pledge found",
                notices=[
                    *notices,
                    Notice(f"No pledge matches “{shown}”.", Level.ERROR),
                    Notice("Try another word, a Korean term (e.g. 핫라인), or /pledge list to browse."),
                ],
            )
        if result.corrected:
            notices.append(Notice(f"No exact match; showing results for “{result.corrected}”."))
        cards = self._cards(result.ids, lead_only=True)
        actions = (
            [Action(ActionKind.SHARE, "Share in channel", f"show {cards[0].pledge_id}")] if cards else []
        )
        shown_so_far = (page - 1) * PAGE_SIZE + len(result.ids)
        if result.total > shown_so_far:
            query = " ".join(result.words) if not result.corrected else result.corrected
            actions.append(Action(ActionKind.MORE, "More results", f"{query} page {page + 1}"))
        first = (page - 1) * PAGE_SIZE + 1
        title = (
            f"{result.total} pledge{'s' if result.total != 1 else ''} found"
            if page == 1
            else f"Results {first}–{shown_so_far} of {result.total}"
        )
        return Reply(title=title, cards=cards, notices=notices, actions=actions, total=result.total)

    def _show(self, pledge_id: str) -> Reply:
        cards = self._cards([pledge_id], lead_only=False)
        if not cards:
            return Reply(
                notices=[Notice(f"There is no pledge with the id “{_clip(pledge_id, 60)}”.", Level.ERROR)]
            )
        return Reply(
            title=cards[0].title,
            cards=cards,
            actions=[Action(ActionKind.SHARE, "Share in channel", f"show {pledge_id}")],
            total=1,
        )

    def _cards(self, ids: list[str], *, lead_only: bool) -> list[QuoteCard]:
        pledges = self.catalogue.pledges(ids)
        by_pledge: dict[str, list[QuoteRow]] = {}
        for quote in self.catalogue.quotes(ids, lead_only=lead_only):
            by_pledge.setdefault(quote.pledge, []).append(quote)
        cards = []
        for pledge_id in ids:
            pledge = pledges.get(pledge_id)
            if pledge is None:
                continue
            for quote in by_pledge.get(pledge_id, []):
                cards.append(
                    QuoteCard(
                        pledge_id=pledge.id,
                        title=pledge.title,
                        speaker=pledge.speaker,
                        quote=quote.text,
                        said_on=quote.said_on,
                        source=SourceRef(
                            headline=quote.headline,
                            outlet=quote.outlet,
                            published_at=_published(quote.published_at),
                            kind=quote.kind,
                            url=quote.url,
                        ),
                        status=Status(pledge.status, pledge.status_date, pledge.status_note or ""),
                        category=pledge.category,
                        translated=quote.translated,
                        language=quote.language,
                    )
                )
        return cards

    def _list(self, command: cmd.ListPledges) -> Reply:
        offset = (command.page - 1) * LIST_PAGE_SIZE
        rows, total = self.catalogue.list_pledges(
            command.category, LIST_PAGE_SIZE, offset, status=command.status
        )
        scope = (f" in {command.category}" if command.category else "") + (
            f" with status “{command.status}”" if command.status else ""
        )
        if not total:
            return Reply(notices=[Notice(f"There are no pledges{scope}.")])
        if not rows:
            return Reply(notices=[Notice(f"There is no page {command.page} of this list.", Level.ERROR)])
        items = [ListItem(label=title, detail=pid, pledge_id=pid) for pid, title in rows]
        actions = []
        if offset + len(rows) < total:
            base = " ".join(["list", *filter(None, (command.category, command.status))])
            actions.append(Action(ActionKind.MORE, "More pledges", f"{base} page {command.page + 1}"))
        title = f"{total} pledge{'s' if total != 1 else ''}{scope}"
        return Reply(title=title, items=items, actions=actions, total=total)

    def _on(self, day: dt.date) -> Reply:
        items = [
            ListItem(
                label=f"Pledged: {m.title}" if m.kind == "pledged" else m.title,
                detail=m.kind,
                date=m.date,
                pledge_id=m.pledge,
            )
            for m in self.catalogue.milestones_on(day)
        ]
        items += self._occurrence_items(self.calendar().on(day))
        if not items:
            return Reply(
                title=f"{day.isoformat()}", notices=[Notice(f"Nothing on record for {day.isoformat()}.")]
            )
        return Reply(title=f"On {day.isoformat()}", items=items[:MAX_LIST_ITEMS], total=len(items))

    def _upcoming(self, days: int, ctx: Context) -> Reply:
        today = self.today(ctx)
        found = self.calendar().upcoming(today, days)
        end = today + dt.timedelta(days=days - 1)
        if not found:
            return Reply(
                title=f"Coming up, {today.isoformat()} to {end.isoformat()}",
                notices=[Notice(f"No anniversaries or milestones in the next {days} days.")],
            )
        items = self._occurrence_items(found[:MAX_LIST_ITEMS])
        notices = []
        if len(found) > MAX_LIST_ITEMS:
            notices.append(Notice(f"Showing the first {MAX_LIST_ITEMS} of {len(found)}; ask for fewer days."))
        return Reply(
            title=f"Coming up, {today.isoformat()} to {end.isoformat()}",
            items=items,
            notices=notices,
            total=len(found),
        )

    def digest(self, day: dt.date, lead_days: int = 0) -> Reply | None:
        """The public digest of what falls due on `day` (and heads-ups `lead_days` ahead), or None."""
        # A new calendar means the catalogue changed (an import), so every digest built before is stale.
        calendar = self.calendar()
        with self._digests_lock:
            if self._digests_of is not calendar:
                self._digests, self._digests_of = {}, calendar
            items = self._digests.get((day, lead_days))
        if items is None:
            items = tuple(self._occurrence_items(calendar.on(day, lead_days=lead_days)))
            with self._digests_lock:
                if self._digests_of is calendar:
                    if len(self._digests) >= DIGEST_CACHE_SIZE:
                        self._digests.clear()
                    self._digests[(day, lead_days)] = items
        if not items:
            return None
        return Reply(
            title=f"On this day, {day:%A} {day.day} {day:%B %Y}",
            items=list(items),
            private=False,
            total=len(items),
        )

    def _occurrence_items(self, occurrences: list[Occurrence]) -> list[ListItem]:
        """Occurrences named with their pledges' quotes, original dates and sources."""
        # One query for every lead quote instead of one per occurrence.
        ids = list(dict.fromkeys(o.milestone.pledge_id for o in occurrences if o.milestone.pledge_id))
        leads: dict[str, QuoteRow] = {}
        for quote in self.catalogue.quotes(ids, lead_only=True):
            leads.setdefault(quote.pledge, quote)
        items = []
        for occurrence in occurrences:
            milestone = occurrence.milestone
            detail = f"{milestone.kind.capitalize()} on {milestone.date.isoformat()}"
            lead = leads.get(milestone.pledge_id) if milestone.pledge_id else None
            if lead is not None:
                detail = f"“{lead.text}” ({lead.said_on.isoformat()}; “{lead.headline}”, {lead.outlet})"
            items.append(
                ListItem(
                    label=occurrence.headline(),
                    detail=detail,
                    date=occurrence.due,
                    pledge_id=milestone.pledge_id,
                )
            )
        return items

    def history(self, pledge_id: str | None) -> Reply:
        """A pledge's edits (when, who, what, why), or the latest edits across pledges when no id is given."""
        if pledge_id is None:
            edits, title = self.journal.latest(MAX_LIST_ITEMS), "Latest edits"
        else:
            # Oldest first, like a timeline; a retracted pledge still has its history.
            edits, title = self.journal.history(pledge_id, MAX_LIST_ITEMS), f"History of {pledge_id}"
            if not edits:
                return _error(f"There is no pledge with the id “{_clip(pledge_id, 60)}”.")
        if not edits:
            return Reply(title=title, notices=[Notice("No edits yet.")])
        items = [
            ListItem(
                label=f"#{e.id} {e.summary}",
                detail=f"{e.at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC, by {e.author}"
                + (f": {e.reason}" if e.reason else ""),
                date=e.at.date(),
            )
            for e in edits
        ]
        return Reply(title=title, items=items, total=len(items))

    def _subscribe(self, command: cmd.Subscribe, ctx: Context) -> Reply:
        if not ctx.can_manage:
            return _not_allowed(ctx)
        if not ctx.channel:
            return _error("Subscriptions belong to a channel; run this command in the channel to subscribe.")
        # A digest the bot cannot post, or cannot check for after a failure, would never arrive: refuse now.
        if ctx.channel_access is not None:
            reason = ctx.channel_access()
            if reason is not None:
                return _error(reason)
        sub, created = self.subscriptions.subscribe(
            ctx.platform,
            ctx.workspace,
            ctx.channel,
            command.at,
            command.timezone,
            command.lead_days,
            ctx.user,
            ctx.now or self.clock(),
        )
        verb = "Subscribed" if created else "Updated"
        return Reply(
            title=f"{verb}: daily digest at {_schedule(sub)}",
            notices=[Notice("On days when an anniversary or milestone falls due, I will post it here.")],
            private=True,
        )

    def _unsubscribe(self, ctx: Context) -> Reply:
        if not ctx.can_manage:
            return _not_allowed(ctx)
        if self.subscriptions.unsubscribe(ctx.platform, ctx.workspace, ctx.channel):
            return Reply(title="Unsubscribed", notices=[Notice("This channel will get no more digests.")])
        return Reply(notices=[Notice("This channel has no subscription to remove.")])

    def _subscriptions(self, ctx: Context) -> Reply:
        sub = self.subscriptions.subscription(ctx.platform, ctx.workspace, ctx.channel)
        if sub is None:
            return Reply(
                title="No subscription",
                notices=[
                    Notice(
                        "This channel gets no digest. Subscribe with /pledge subscribe [HH:MM] [Area/City]."
                    )
                ],
            )
        return Reply(
            title="This channel's subscription",
            items=[ListItem(label=f"Daily digest at {_schedule(sub)}", detail=f"set by {sub.created_by}")],
        )


def help_reply(hint: str = "") -> Reply:
    """The command list, Korean command words and statuses, built from the grammar so they cannot drift."""
    items = [
        ListItem(label=spec.usage, detail=f"{spec.summary} — e.g. {spec.example}") for spec in cmd.COMMANDS
    ]
    notices = [Notice(hint)] if hint else []
    notices.append(Notice("Search works in English and Korean, e.g. /pledge hotline or /pledge 핫라인."))
    korean = ", ".join(f"{spec.word.ko} ({spec.word.en})" for spec in cmd.COMMANDS if spec.word)
    notices.append(Notice(f"Command words in Korean: {korean}."))
    statuses = ", ".join(f"{word.en} ({word.ko})" for word in cmd.STATUSES)
    notices.append(Notice(f"Statuses for /pledge list: {statuses}."))
    return Reply(title="pledgebot: a politician's exact words", items=items, notices=notices)


def _schedule(sub: Subscription) -> str:
    ahead = f", with {sub.lead_days} days' notice" if sub.lead_days else ""
    return f"{sub.local_time.strftime('%H:%M')} {sub.timezone}{ahead}"


def _not_allowed(ctx: Context) -> Reply:
    who = {
        "slack": "a workspace admin or someone on the bot's admin list",
        "discord": "a member with the Manage Channels permission",
    }.get(ctx.platform, "a channel manager")
    return _error(f"Only {who} can change this channel's subscription.")


def _error(text: str) -> Reply:
    return Reply(notices=[Notice(text, Level.ERROR)])


def _published(value: str) -> dt.datetime | dt.date:
    return dt.datetime.fromisoformat(value) if "T" in value else dt.date.fromisoformat(value)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
