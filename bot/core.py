"""The one command handler every adapter calls: command text and a context in, a reply model out."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from babel import Locale

from bot import citations
from bot import commands as cmd
from bot.cards import MIME as CARD_MIME
from bot.cards import card_text, render_card
from bot.catalogue import Catalogue, PledgeRow, QuoteRow, SourceRow
from bot.clock import Clock, utc_now
from bot.desk.edits import Desk
from bot.i18n import N_, Messages, language_of, localized, messages
from bot.journal import DESK_KINDS, Edit, EditKind, Journal
from bot.reminders.occurrences import DUE, KIND_NAMES, Calendar, Milestone, Occurrence, OccurrenceKind, ahead
from bot.replies import (
    EDITORS_TITLE,
    Action,
    ActionKind,
    Attachment,
    Context,
    Level,
    ListItem,
    Notice,
    QuoteCard,
    Reply,
    SourceRef,
    Status,
)
from bot.search import CANDIDATES, MAX_QUERY_CHARS, Searcher, best_quotes
from bot.state import Editors, Subscription, Subscriptions
from bot.statuses import SETTLED

log = logging.getLogger(__name__)

PAGE_SIZE = 3
# How many topics and pledges one channel's subscription may follow.
MAX_TOPICS = 5
MAX_PLEDGES = 10
LIST_PAGE_SIZE = 20
MAX_LIST_ITEMS = 25
VERSION_CHECK_SECONDS = 1.0
# Digests kept: a pass needs a few (days x lead days); more than this means the days moved on.
DIGEST_CACHE_SIZE = 64
# An occurrence and its digest item.
Pair = tuple[Occurrence, ListItem]


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
        editors: Editors,
        clock: Clock = utc_now,
        timezone: str = "Asia/Seoul",
        monotonic: Callable[[], float] = time.monotonic,
        health: Callable[[], bool] = lambda: True,
        public_url: str | None = None,
        desk: Desk | None = None,
    ):
        self.catalogue = catalogue
        self.searcher = searcher
        self.subscriptions = subscriptions
        self.journal = journal
        self.editors = editors
        self.clock = clock
        self.monotonic = monotonic
        self._health = health
        self.public_url = public_url
        # The newsroom desk (rate, quote, new, milestone, undo); `open_bot` builds it with the fetcher.
        self.desk = desk
        self.zone = ZoneInfo(timezone)
        self._calendar: Calendar | None = None
        self._calendar_version = ""
        self._known_version = ""
        self._version_checked_at = 0.0
        self._calendar_lock = threading.Lock()
        # A day's digest items by (day, lead days), for the calendar they were built from: a delivery pass
        # asks for the same few days once per subscription, and each costs a quote per occurrence.
        # Each entry: the day's items, and the desk's changes announced that day ("Since yesterday: …").
        self._digests: dict[tuple[dt.date, int, str], tuple[_Day, list[ListItem], dict[str, str]]] = {}
        self._digests_of: Calendar | None = None
        # The (occurrence, item) pairs a digest is made of, by (day, lead days, language): what is due on a
        # day (lead 0) is shared by the digests of every lead time.
        self._pairs_cache: dict[tuple[dt.date, int, str], tuple[Pair, ...]] = {}
        self._pairs_of: Calendar | None = None
        self._digests_lock = threading.Lock()

    # -- entry points ------------------------------------------------------------------------------

    def healthy(self) -> bool:
        """True while the local catalogue file is there and answers (`open_bot` passes Store.healthy)."""
        return self._health()

    def handle(self, text: str, ctx: Context) -> Reply:
        """Answer one command; any failure becomes a friendly error reply, never an exception."""
        m = messages(language_of(ctx.locale))
        try:
            command = cmd.parse(text, self)
            reply = self._dispatch(command, ctx, m)
        except Exception:
            log.exception("command failed (platform=%s channel=%s)", ctx.platform, ctx.channel)
            reply = _error(
                m.gettext(
                    "Something went wrong on our side while answering that. Please try again in a moment."
                )
            )
        reply.language = m.language
        return reply

    def is_editor(self, platform: str, workspace: str, user: str) -> bool:
        """True when an admin put `user` on the workspace's editors list; adapters ask on every command, so a
        removal takes effect at once (`Context.can_edit` is theirs to decide from this and the platform)."""
        return bool(workspace and user) and self.editors.is_editor(platform, workspace, user)

    def submit(self, form: str, state: str, values: dict[str, str], ctx: Context) -> Reply:
        """Check one step of a desk form (a Slack or Discord modal): field errors, the next step's form,
        or the result. Blocking (a step may fetch a page for up to 10 s): adapters call it in a thread."""
        m = messages(language_of(ctx.locale))
        try:
            reply = self._desk_gate(ctx, m) or self._desk().submit(
                form, state, values, ctx, m, self.today(ctx)
            )
        except Exception:
            log.exception("form submission failed (platform=%s form=%s)", ctx.platform, form)
            reply = _error(
                m.gettext(
                    "Something went wrong on our side while answering that. Please try again in a moment."
                )
            )
        reply.language = m.language
        return reply

    def _desk(self) -> Desk:
        assert self.desk is not None  # `_desk_gate` answered first
        return self.desk

    def _desk_gate(self, ctx: Context, m: Messages) -> Reply | None:
        """The answer to a desk command that must not go on (no desk here, or not an editor), else None."""
        if self.desk is None:
            return _error(m.gettext("Editing is not set up on this bot."))
        return Desk.refusal(ctx, m)

    def is_pledge_id(self, text: str) -> bool:
        """True when `text` is a pledge's id (any case): how the grammar tells `show <id>` from a search."""
        return self.catalogue.find_id(text) is not None

    def category(self, text: str) -> str | None:
        """The catalogue's name for the category `text` names in English or Korean, or None."""
        return self.catalogue.category(text)

    def suggest(self, prefix: str, limit: int = 25, locale: str = "en") -> list[Suggestion]:
        """Pledges matching what the user has typed so far, for autocomplete, titled in their language."""
        m = messages(language_of(locale))
        try:
            result = self.searcher.search(prefix, limit=min(limit, 25), prefix=True)
            rows = self.catalogue.pledges(result.ids)
        except Exception:
            log.exception("autocomplete failed")
            return []
        return [Suggestion(_clip(_title(m, rows[i]), 100), i) for i in result.ids if i in rows]

    def cards(
        self, pledge_id: str, language: str = "en", *, terms: list[str] | None = None
    ) -> list[QuoteCard]:
        """One pledge's cards in `language`: every quote, or (given search `terms`) the best match."""
        m = messages(language_of(language))
        return self._cards([pledge_id], m, lead_only=terms is not None, terms=terms)

    def page_url(self, pledge_id: str) -> str:
        """The pledge's page on the public site, or "" when PLEDGEBOT_PUBLIC_URL is not set."""
        return f"{self.public_url}/pledges/{pledge_id}" if self.public_url else ""

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
                        title=messages()
                        .gettext("{speaker} pledged: {title}")
                        .format(speaker=r.speaker_name or messages().gettext("the speaker"), title=r.title)
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
            return self._calendar

    def channel_language(self, ctx: Context) -> str:
        """The language of public posts in the context's channel: the one its managers set, else the
        place's own (Discord's guild locale), else English."""
        chosen = (
            self.subscriptions.language(ctx.platform, ctx.workspace, ctx.channel) if ctx.channel else None
        )
        return chosen or language_of(ctx.place_locale)

    def today(self, ctx: Context | None = None) -> dt.date:
        """Today in the bot's time zone, by the context's clock when it carries one."""
        now = (ctx.now if ctx and ctx.now else None) or self.clock()
        return now.astimezone(self.zone).date()

    # -- commands ----------------------------------------------------------------------------------

    def _dispatch(self, command: cmd.Command, ctx: Context, m: Messages) -> Reply:
        match command:
            case cmd.Search():
                return self._search(command, m)
            case cmd.Show():
                return self._show(command.pledge_id, m)
            case cmd.ListPledges():
                return self._list(command, m)
            case cmd.On():
                return self._on(command.day, m)
            case cmd.Upcoming():
                return self._upcoming(command.days, ctx, m)
            case cmd.Subscribe():
                return self._subscribe(command, ctx, m)
            case cmd.Unsubscribe():
                return self._unsubscribe(ctx, m)
            case cmd.Subscriptions(everywhere=True):
                return self._all_subscriptions(ctx, m)
            case cmd.Subscriptions():
                return self._subscriptions(ctx, m)
            case cmd.History():
                return self.history(command.pledge_id, m)
            case cmd.Language():
                return self._set_language(command.language, ctx, m)
            case cmd.Card():
                return self._card(command, m)
            case cmd.Cite():
                return self._cite(command, m)
            case cmd.Editors(verb=""):
                return self.editors_list(ctx, m)
            case cmd.Editors():
                return self._change_editors(command, ctx, m)
            case cmd.Rate() | cmd.AddQuote() | cmd.NewPledge() | cmd.AddMilestone() | cmd.Undo():
                return self._desk_gate(ctx, m) or self._edit(command, ctx, m)
            case cmd.Usage():
                usage = m.gettext("Usage: {usage} (for example: {example})")
                notices = [Notice(command.text(m), Level.ERROR)]
                missed = dict(command.values).get("id") if command.template == NO_SUCH_PLEDGE else None
                near = self.catalogue.closest_ids(str(missed)) if missed else []
                if near:
                    notices.append(Notice(_did_you_mean(m, near)))
                else:
                    notices.append(
                        Notice(usage.format(usage=command.spec.usage, example=command.spec.example))
                    )
                return Reply(notices=notices)
            case cmd.Help():
                return help_reply(m.gettext(command.hint) if command.hint else "", m, editor=ctx.can_edit)
        raise AssertionError(command)

    def _edit(self, command: cmd.Command, ctx: Context, m: Messages) -> Reply:
        """A desk command from an editor: the form on Slack and Discord when it has no arguments."""
        desk, today = self._desk(), self.today(ctx)
        forms = ctx.platform != "console"
        match command:
            case cmd.Rate():
                return desk.rate(
                    command.pledge_id, command.status, command.url, command.on, command.note, ctx, m, today
                )
            case cmd.AddQuote(words=""):
                return (
                    desk.form("quote", m, command.pledge_id) if forms else self._usage(cmd.SPECS["quote"], m)
                )
            case cmd.AddQuote():
                return desk.quote(
                    command.pledge_id, command.words, command.url, command.said_on, ctx, m, today
                )
            case cmd.NewPledge(values=()):
                return desk.form("new", m) if forms else self._usage(cmd.SPECS["new"], m)
            case cmd.NewPledge():
                return desk.new_pledge(dict(command.values), ctx, m, today)
            case cmd.AddMilestone(day=None):
                if not forms:
                    return self._usage(cmd.SPECS["milestone"], m)
                return desk.form("milestone", m, command.pledge_id)
            case cmd.AddMilestone():
                values = {
                    "pledge": command.pledge_id,
                    "kind": command.kind,
                    "date": command.day.isoformat(),
                    "title": command.title,
                    "url": command.url,
                }
                return desk.milestone(values, ctx, m)
            case cmd.Undo():
                return desk.undo(command.edit_id, ctx, m)
        raise AssertionError(command)

    @staticmethod
    def _usage(spec: cmd.CommandSpec, m: Messages) -> Reply:
        usage = m.gettext("Usage: {usage} (for example: {example})")
        return Reply(notices=[Notice(usage.format(usage=spec.usage, example=spec.example), Level.ERROR)])

    def _search(self, command: cmd.Search, m: Messages) -> Reply:
        if self.catalogue.find_id(command.query):
            return self._show(command.query.strip().lower(), m)
        page = command.page
        result = self.searcher.search(command.query, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        notices = []
        if result.truncated:
            notices.append(
                Notice(
                    m.gettext("Your search was long, so I used its first {n} characters.").format(
                        n=MAX_QUERY_CHARS
                    )
                )
            )
        if not result.words:
            return help_reply(
                m.gettext("Type some words to search for, such as /pledge hotline or /pledge 핫라인."), m
            )
        if result.stop_only:
            text = m.gettext("“{shown}” is too common a word to search for: give a more specific word.")
            return Reply(
                title=m.gettext("No pledge found"),
                notices=[*notices, Notice(text.format(shown=_clip(" ".join(result.words), 60)), Level.ERROR)],
            )
        if not result.ids:
            shown = _clip(" ".join(result.words), 60)
            if page > 1 and (result.total or self.searcher.search(command.query, limit=1).total):
                text = m.gettext("There is no page {page} of results for “{shown}”.")
                return Reply(notices=[Notice(text.format(page=page, shown=shown), Level.ERROR)])
            return Reply(
                title=m.gettext("No pledge found"),
                notices=[
                    *notices,
                    Notice(m.gettext("No pledge matches “{shown}”.").format(shown=shown), Level.ERROR),
                    Notice(
                        m.gettext("Try another word, a Korean term (e.g. 핫라인), or /pledge list to browse.")
                    ),
                ],
            )
        if result.corrected:
            text = m.gettext("No exact match; showing results for “{corrected}”.")
            notices.append(Notice(text.format(corrected=result.corrected)))
        if result.missing:
            text = m.gettext("No pledge mentions “{missing}”; showing pledges that mention “{matched}”.")
            missing, matched = " ".join(result.missing), " ".join(result.matched)
            notices.append(Notice(text.format(missing=_clip(missing, 60), matched=_clip(matched, 60))))
        elif result.matched:
            text = m.gettext("No pledge mentions all of “{shown}”; showing pledges that mention some of it.")
            notices.append(Notice(text.format(shown=_clip(" ".join(result.matched), 60))))
        cards = self._cards(result.ids, m, lead_only=True, terms=result.terms)
        actions = (
            [
                Action(ActionKind.SHARE, m.gettext("Share in channel"), f"show {cards[0].pledge_id}"),
                *_card_action(cards[0], m),
            ]
            if cards
            else []
        )
        shown_so_far = (page - 1) * PAGE_SIZE + len(result.ids)
        # Ranking is bounded: beyond CANDIDATES matches the total is shown as "250+" and pages stop there.
        capped = result.total > CANDIDATES
        if min(result.total, CANDIDATES) > shown_so_far:
            query = " ".join(result.typed) if not result.corrected else result.corrected
            actions.append(Action(ActionKind.MORE, m.gettext("More results"), f"{query} page {page + 1}"))
        first = (page - 1) * PAGE_SIZE + 1
        total = f"{CANDIDATES:,}+" if capped else result.total
        if page > 1:
            title = m.gettext("Results {first}–{last} of {total}").format(
                first=first, last=shown_so_far, total=total
            )
        elif capped:
            title = m.gettext("{n}+ pledges found").format(n=f"{CANDIDATES:,}")
        else:
            title = m.ngettext("{n} pledge found", "{n} pledges found", result.total).format(n=result.total)
        return Reply(title=title, cards=cards, notices=notices, actions=actions, total=result.total)

    def _show(self, pledge_id: str, m: Messages) -> Reply:
        cards = self._cards([pledge_id], m, lead_only=False)
        if not cards:
            reply = _error(m.gettext(NO_SUCH_PLEDGE).format(id=_clip(pledge_id, 60)))
            near = self.catalogue.closest_ids(pledge_id)
            if near:
                reply.notices.append(Notice(_did_you_mean(m, near)))
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

    def _cards(
        self, ids: list[str], m: Messages, *, lead_only: bool, terms: list[str] | None = None
    ) -> list[QuoteCard]:
        """Cards for these pledges: every quote (`show`), or one per pledge: the quote matching the most of
        `terms` (the first when none does), its matched words as emphasis spans; a pledge without quotes
        gets one card with its summary and status."""
        pledges = self.catalogue.pledges(ids)
        by_pledge: dict[str, list[QuoteRow]] = {}
        for quote in self.catalogue.quotes(ids, lead_only=False):
            by_pledge.setdefault(quote.pledge, []).append(quote)
        # The quote each card leads with, found for the whole page at once.
        leads = (
            dict(
                zip(
                    ids,
                    best_quotes([[q.text for q in by_pledge.get(i, [])] for i in ids], terms or []),
                    strict=True,
                )
            )
            if lead_only
            else {}
        )
        cards = []
        for pledge_id in ids:
            pledge = pledges.get(pledge_id)
            if pledge is None:
                continue
            common = dict(
                pledge_id=pledge.id,
                title=_title(m, pledge),
                speaker=localized(m, pledge.speaker, pledge.speaker_ko),
                status=Status(
                    pledge.status,
                    pledge.status_date,
                    pledge.status_note or "",
                    source=_status_source(m, pledge),
                    updates=pledge.updates,
                    pledge_id=pledge.id,
                ),
                category=localized(m, pledge.category, pledge.category_ko),
                summary=pledge.summary or "",
                title_by=_title_by(m, pledge),
                link=self.page_url(pledge.id),
            )
            quotes = by_pledge.get(pledge_id, [])
            if not quotes:
                cards.append(QuoteCard(quote="", said_on=None, source=_status_source(m, pledge), **common))
                continue
            spans: dict[int, tuple[tuple[int, int], ...]] = {}
            more = 0
            if lead_only:
                index, found = leads[pledge_id]
                spans = {0: found}
                more = len(quotes) - 1
                quotes = [quotes[index]]
            for index, quote in enumerate(quotes):
                cards.append(
                    QuoteCard(
                        quote=quote.text,
                        said_on=quote.said_on,
                        source=SourceRef(
                            headline=localized(m, quote.headline, quote.headline_ko),
                            outlet=localized(m, quote.outlet, quote.outlet_ko),
                            published_at=_published(quote.published_at),
                            kind=quote.kind,
                            url=quote.url,
                        ),
                        translated=quote.translated,
                        language=quote.language,
                        original=_original(m, quote),
                        more_quotes=more,
                        emphasis=spans.get(index, ()) if lead_only else (),
                        **common,
                    )
                )
        return cards

    def _nth_card(self, pledge_id: str, n: int, m: Messages) -> QuoteCard | Reply:
        """The card of a pledge's n-th quote (a quoteless pledge's one card for n = 1), or the error reply."""
        cards = self._cards([pledge_id], m, lead_only=False)
        if not cards:
            return _error(m.gettext(NO_SUCH_PLEDGE).format(id=_clip(pledge_id, 60)))
        if n > len(cards):
            return _error(_quote_count(m, pledge_id, len(cards)))
        return cards[n - 1]

    def _card(self, command: cmd.Card, m: Messages) -> Reply:
        card = self._nth_card(command.pledge_id, command.n, m)
        if isinstance(card, Reply):
            return card
        png = render_card(card, m, where=card.link)
        name = f"{card.pledge_id}-{command.n}-{m.language}.png"
        notices = []
        if self.public_url:
            url = f"{self.page_url(card.pledge_id)}/card.png" + (
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

    def _cite(self, command: cmd.Cite, m: Messages) -> Reply:
        quotes = self.catalogue.quotes([command.pledge_id], lead_only=False)
        if not quotes:
            text = m.gettext("{id} has no quote on record yet, so there is nothing to cite.")
            return _error(text.format(id=command.pledge_id))
        if command.n > len(quotes):
            return _error(_quote_count(m, command.pledge_id, len(quotes)))
        quote = quotes[command.n - 1]
        name, name_ko, _role, role_ko = self.catalogue.speaker_of(command.pledge_id)
        speaker = citations.Speaker(name, name_ko, role_ko)
        items = [
            ListItem(label=m.gettext("English news style"), detail=citations.english(quote, speaker)),
            ListItem(label=m.gettext("Korean press style"), detail=citations.korean(quote, speaker)),
        ]
        if self.public_url:
            items.append(
                ListItem(label=m.gettext("Permanent address"), detail=self.page_url(command.pledge_id))
            )
        title = m.gettext("Citations of {id}, quote {n}").format(id=command.pledge_id, n=command.n)
        return Reply(title=title, items=items, total=len(items))

    def _list(self, command: cmd.ListPledges, m: Messages) -> Reply:
        offset = (command.page - 1) * LIST_PAGE_SIZE
        rows, total = self.catalogue.list_pledges(
            command.category, LIST_PAGE_SIZE, offset, status=command.status
        )
        category = command.category and localized(
            m, command.category, self.catalogue.category_ko(command.category)
        )
        scope = (m.gettext(" in {category}").format(category=category) if category else "") + (
            m.gettext(" with status “{status}”").format(status=m.status(command.status))
            if command.status
            else ""
        )
        if not total:
            return Reply(notices=[Notice(m.gettext("There are no pledges{scope}.").format(scope=scope))])
        if not rows:
            text = m.gettext("There is no page {page} of this list.").format(page=command.page)
            return Reply(notices=[Notice(text, Level.ERROR)])
        items = [
            ListItem(label=localized(m, title, title_ko), detail=pid, pledge_id=pid)
            for pid, title, title_ko, _ in rows
        ]
        # Korean titles the editors translated say so, as on a card.
        editors = m.language == "ko" and any(title_ko and by == "editors" for _, _, title_ko, by in rows)
        notices = [Notice(m.gettext(EDITORS_TITLE))] if editors else []
        actions = []
        if offset + len(rows) < total:
            base = " ".join(["list", *filter(None, (command.category, command.status))])
            actions.append(
                Action(ActionKind.MORE, m.gettext("More pledges"), f"{base} page {command.page + 1}")
            )
        title = m.ngettext("{n} pledge{scope}", "{n} pledges{scope}", total).format(n=total, scope=scope)
        return Reply(title=title, items=items, notices=notices, actions=actions, total=total)

    def _on(self, day: dt.date, m: Messages) -> Reply:
        rows = self.catalogue.milestones_on(day)
        # Each pledge with its quote and source, each other milestone with the record it comes from.
        leads: dict[str, QuoteRow] = {}
        for quote in self.catalogue.quotes([r.pledge for r in rows if r.pledge], lead_only=True):
            leads.setdefault(quote.pledge, quote)
        sources = self.catalogue.milestone_sources(r.id for r in rows)
        items = []
        for row in rows:
            detail = m.gettext(KIND_NAMES.get(row.kind, row.kind))
            lead = leads.get(row.pledge) if row.pledge else None
            if lead is not None:
                detail = _quote_detail(m, lead)
            elif row.id in sources:
                detail = _with_source(m, detail[:1].upper() + detail[1:], sources[row.id])
            items.append(
                ListItem(
                    label=m.gettext("Pledged: {title}").format(title=localized(m, row.title, row.title_ko))
                    if row.kind == "pledged"
                    else row.title,
                    detail=detail,
                    date=row.date,
                    pledge_id=row.pledge,
                )
            )
        items += self._occurrence_items(self._open(self.calendar().on(day)), m)
        if not items:
            return Reply(
                title=m.date(day),
                notices=[Notice(m.gettext("Nothing on record for {date}.").format(date=m.date(day)))],
            )
        title = m.gettext("On {date}").format(date=m.date(day))
        return Reply(title=title, items=items[:MAX_LIST_ITEMS], total=len(items))

    def _upcoming(self, days: int, ctx: Context, m: Messages) -> Reply:
        today = self.today(ctx)
        # A milestone ahead is named from today ("In 7 days: …"), not as "Today: …" on its own date.
        found = [
            dataclasses.replace(o, day=today, lead_days=(o.due - today).days)
            if o.kind == OccurrenceKind.ON_THE_DAY
            else o
            for o in self._open(self.calendar().upcoming(today, days))
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
        items = self._occurrence_items(found[:MAX_LIST_ITEMS], m)
        notices = []
        if len(found) > MAX_LIST_ITEMS:
            text = m.gettext("Showing the first {shown} of {total}; ask for fewer days.")
            notices.append(Notice(text.format(shown=MAX_LIST_ITEMS, total=len(found))))
        return Reply(
            title=title,
            items=items,
            notices=notices,
            total=len(found),
        )

    def digest(
        self,
        day: dt.date,
        lead_days: int = 0,
        language: str = "en",
        *,
        topics: tuple[str, ...] = (),
        pledges: tuple[str, ...] = (),
        updates: bool = True,
    ) -> Reply | None:
        """The public digest of what falls due on `day` (and heads-ups `lead_days` ahead), or None.

        With `topics` (categories as stored) or `pledges` (ids), only items of those pledges are kept, plus
        the items that belong to no pledge (elections, inaugurations), which reach every channel. Without
        `updates` (a channel that gets the desk's changes as they happen), the desk's changes are left out.
        """
        m = messages(language_of(language))
        # A new calendar means the catalogue changed (an import), so every digest built before is stale.
        calendar = self.calendar()
        with self._digests_lock:
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
            changes = self._updates(day, m)
            # The changes' categories, read once a day for every channel's topic filters.
            changed = self.catalogue.categories_of({i.pledge_id for i in changes if i.pledge_id})
            cached = (_Day(pairs, title, categories, m), changes, changed)
            with self._digests_lock:
                if self._digests_of is calendar:
                    if len(self._digests) >= DIGEST_CACHE_SIZE:
                        self._digests.clear()
                    self._digests[(day, lead_days, m.language)] = cached
        day_items, changes, changed = cached
        total, items = day_items.following(topics, pledges)
        changes = changes if updates else []
        if changes and (topics or pledges):
            changes = self._followed(changes, topics, pledges, changed)
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
    ) -> Reply | None:
        """A desk edit as a post of its own, for a channel that subscribed with `updates now`; with
        `correction`, the correction of one posted before and undone since. None when it announces
        nothing the channel follows."""
        m = messages(language_of(language))
        items = self._announced(edit, m)
        if topics or pledges:
            items = self._followed(items, topics, pledges)
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
    ) -> list[ListItem]:
        """The desk's announcements a channel following `topics` and `pledges` gets; `categories` (by pledge
        id) when the caller has read them already."""
        wanted = {t.casefold() for t in topics}
        if categories is None:
            categories = self.catalogue.categories_of({i.pledge_id for i in updates if i.pledge_id})
        return [
            item
            for item in updates
            if item.pledge_id in pledges
            or (item.pledge_id in categories and categories[item.pledge_id].casefold() in wanted)
        ]

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
                _title(m, row)
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
                detail = f"“{values['text']}”"
            else:
                label = m.gettext("new quote for {title}").format(title=title)
                detail = f"“{values['text']}”"
            items.append(ListItem(label=label, detail=detail + source, pledge_id=pledge_id))
        return items

    def _pairs(self, calendar: Calendar, day: dt.date, lead_days: int, m: Messages) -> tuple[Pair, ...]:
        """The items due on `day` (lead 0), or its heads-ups `lead_days` ahead, with their occurrences;
        remembered for `calendar` like the digests."""
        key = (day, lead_days, m.language)
        with self._digests_lock:
            if self._pairs_of is not calendar:
                self._pairs_cache, self._pairs_of = {}, calendar
            found = self._pairs_cache.get(key)
        if found is None:
            due = calendar.on(day) if lead_days == 0 else calendar.heads_up(day, lead_days)
            occurrences = self._open(due)
            found = tuple(zip(occurrences, self._occurrence_items(occurrences, m), strict=True))
            with self._digests_lock:
                if self._pairs_of is calendar:
                    if len(self._pairs_cache) >= DIGEST_CACHE_SIZE:
                        self._pairs_cache.clear()
                    self._pairs_cache[key] = found
        return found

    def _open(self, occurrences: list[Occurrence]) -> list[Occurrence]:
        """`occurrences` without the "Overdue by …" items of pledges already kept, broken or a compromise.

        The status is the catalogue's as this is asked; a status change is an import, which bumps the
        catalogue version, so the calendar and the digests cached from it are rebuilt with the new status."""
        overdue = {
            o.milestone.pledge_id
            for o in occurrences
            if o.milestone.kind == DUE and o.kind != OccurrenceKind.ON_THE_DAY and o.milestone.pledge_id
        }
        if not overdue:
            return occurrences
        settled = {i for i, status in self.catalogue.statuses(overdue).items() if status in SETTLED}
        return [
            o
            for o in occurrences
            if not (
                o.milestone.kind == DUE
                and o.kind != OccurrenceKind.ON_THE_DAY
                and o.milestone.pledge_id in settled
            )
        ]

    def _occurrence_items(self, occurrences: list[Occurrence], m: Messages) -> list[ListItem]:
        """Occurrences named with their pledges' quotes, original dates and sources."""
        # One query for every lead quote instead of one per occurrence.
        ids = list(dict.fromkeys(o.milestone.pledge_id for o in occurrences if o.milestone.pledge_id))
        leads: dict[str, QuoteRow] = {}
        for quote in self.catalogue.quotes(ids, lead_only=True):
            leads.setdefault(quote.pledge, quote)
        # A milestone of no pledge (an election, an inauguration) names the record it comes from.
        sources = self.catalogue.milestone_sources(
            {o.milestone.id for o in occurrences if not o.milestone.pledge_id}
        )
        # A milestone on its own day also says where its pledge stands now.
        statuses = self.catalogue.pledges(
            {o.milestone.pledge_id for o in occurrences if o.milestone.pledge_id and _with_status(o)}
        )
        items = []
        for occurrence in occurrences:
            milestone = occurrence.milestone
            kind = m.gettext(KIND_NAMES.get(milestone.kind, milestone.kind))
            detail = m.gettext("{kind} on {date}").format(
                kind=kind[:1].upper() + kind[1:], date=m.date(milestone.date)
            )
            lead = leads.get(milestone.pledge_id) if milestone.pledge_id else None
            source = sources.get(milestone.id)
            if lead is None and source is not None:
                detail = _with_source(m, detail, source)
            if lead is not None:
                detail = _quote_detail(m, lead)
            pledge = statuses.get(milestone.pledge_id) if _with_status(occurrence) else None
            if pledge is not None:
                status = m.status(pledge.status)
                detail = m.gettext("{detail} — status: {status}").format(
                    detail=detail, status=status[:1].upper() + status[1:]
                )
            items.append(
                ListItem(
                    label=occurrence.headline(m),
                    detail=detail,
                    date=occurrence.due,
                    pledge_id=milestone.pledge_id,
                )
            )
        return items

    def history(self, pledge_id: str | None, m: Messages | None = None) -> Reply:
        """A pledge's edits (when, who, what, why), or the latest edits across pledges when no id is given."""
        m = m or messages()
        if pledge_id is None:
            edits, title = self.journal.latest(MAX_LIST_ITEMS), m.gettext("Latest edits")
        else:
            # Oldest first, like a timeline; a retracted pledge still has its history.
            edits = self.journal.pledge_edits(pledge_id, MAX_LIST_ITEMS)
            title = m.gettext("History of {id}").format(id=pledge_id)
            if not edits:
                return _error(m.gettext(NO_SUCH_PLEDGE).format(id=_clip(pledge_id, 60)))
        if not edits:
            return Reply(title=title, notices=[Notice(m.gettext("No edits yet."))])
        items = []
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
            items.append(ListItem(label=label, detail=detail, date=e.at.date()))
        return Reply(title=title, items=items, total=len(items))

    def _subscribe(self, command: cmd.Subscribe, ctx: Context, m: Messages) -> Reply:
        if not ctx.can_manage:
            return _not_allowed(ctx, m)
        if not ctx.channel:
            return _error(
                m.gettext("Subscriptions belong to a channel; run this command in the channel to subscribe.")
            )
        # A digest the bot cannot post, or cannot check for after a failure, would never arrive: refuse now.
        if ctx.channel_access is not None:
            reason = ctx.channel_access()
            if reason is not None:
                return _error(reason)
        if ctx.place_locale and self.subscriptions.language(ctx.platform, ctx.workspace, ctx.channel) is None:
            # The place's own language (Discord's guild locale) is what its digests speak until a manager
            # chooses with /pledge language; kept now, since a scheduled post has no interaction to ask.
            place = language_of(ctx.place_locale)
            if place != "en":
                now = ctx.now or self.clock()
                self.subscriptions.set_language(
                    ctx.platform, ctx.workspace, ctx.channel, place, ctx.user, now
                )
        topics, pledges, problem = self._filters(command, m)
        if problem is not None:
            return problem
        sub, created = self.subscriptions.subscribe(
            ctx.platform,
            ctx.workspace,
            ctx.channel,
            command.at,
            command.timezone,
            command.lead_days,
            ctx.user,
            ctx.now or self.clock(),
            topics=topics,
            pledges=pledges,
            updates_now=command.updates_now,
        )
        title = (
            m.gettext("Subscribed: daily digest at {schedule}")
            if created
            else m.gettext("Updated: daily digest at {schedule}")
        )
        notices = [
            Notice(m.gettext("On days when an anniversary or milestone falls due, I will post it here."))
        ]
        if sub.updates_now:
            notices.append(
                Notice(m.gettext("The desk's ratings and new quotes are posted here within a minute."))
            )
        return Reply(title=title.format(schedule=_schedule(sub, m)), notices=notices, private=True)

    def _filters(
        self, command: cmd.Subscribe, m: Messages
    ) -> tuple[tuple[str, ...], tuple[str, ...], Reply | None]:
        """The subscription's topics and pledges as stored, or an error reply naming what is wrong."""
        if len(command.topics) > MAX_TOPICS or len(command.pledges) > MAX_PLEDGES:
            text = m.gettext("A channel can follow at most {topics} topics and {pledges} pledges.")
            return (), (), _error(text.format(topics=MAX_TOPICS, pledges=MAX_PLEDGES))
        topics = []
        for name in command.topics:
            category = self.catalogue.category(name)
            if category is None:
                known = ", ".join(
                    localized(m, c, self.catalogue.category_ko(c)) for c, _ in self.catalogue.categories()
                )
                text = m.gettext("There is no topic “{topic}”. Topics: {known}.")
                return (), (), _error(text.format(topic=_clip(name, 60), known=known))
            topics.append(category)
        pledges = []
        for text in command.pledges:
            pledge_id = self.catalogue.find_id(text)
            if pledge_id is None:
                close = [s.value for s in self.suggest(text, limit=3, locale=m.language)]
                reply = _error(m.gettext(NO_SUCH_PLEDGE).format(id=_clip(text, 60)))
                if close:
                    reply.notices.append(
                        Notice(m.gettext("Did you mean: {ids}?").format(ids=", ".join(close)))
                    )
                return (), (), reply
            pledges.append(pledge_id)
        return tuple(dict.fromkeys(topics)), tuple(dict.fromkeys(pledges)), None

    def _set_language(self, language: str, ctx: Context, m: Messages) -> Reply:
        if not ctx.can_manage:
            return _error(m.gettext(_LANGUAGE_MANAGERS.get(ctx.platform, _LANGUAGE_MANAGERS[""])))
        if not ctx.channel:
            return _error(m.gettext("A language belongs to a channel; run this command in the channel."))
        self.subscriptions.set_language(
            ctx.platform, ctx.workspace, ctx.channel, language, ctx.user, ctx.now or self.clock()
        )
        # Answered in the language just chosen, so the manager sees what the channel will read.
        chosen = messages(language)
        name = Locale.parse(language).get_display_name(language) or language
        return Reply(
            title=chosen.gettext("Channel language: {language}").format(language=name),
            notices=[
                Notice(
                    chosen.gettext(
                        "Cards shared here and this channel's digests will be in {language}."
                    ).format(language=name)
                )
            ],
            language=language,
        )

    def editors_list(self, ctx: Context, m: Messages, notice: Notice | None = None) -> Reply:
        """Who may edit here: the editors list, then who else may by the platform's rules. Those who may
        choose editors get a way to add one and, beside each editor, to remove them."""
        editors = self.editors.all(ctx.platform, ctx.workspace) if ctx.workspace else []
        items = [
            ListItem(
                label=e.user,
                user=e.user,
                detail=m.gettext("added by {user} on {date}").format(
                    user=e.added_by, date=m.date(e.added_at.astimezone(self.zone).date())
                ),
                action=Action(ActionKind.RUN, m.gettext("Remove"), f"editors remove {e.user}")
                if ctx.can_choose_editors
                else None,
            )
            for e in editors[:MAX_LIST_ITEMS]
        ]
        notices = [notice] if notice else []
        if not editors:
            notices.append(Notice(m.gettext("No one has been added to the editors list yet.")))
        notices.append(Notice(who_may_edit(ctx.platform, m)))
        actions = (
            [Action(ActionKind.PICK_USER, m.gettext("Add an editor"), "editors add")]
            if ctx.can_choose_editors and ctx.workspace
            else []
        )
        return Reply(
            title=m.gettext("Editors"), items=items, notices=notices, actions=actions, total=len(editors)
        )

    def _change_editors(self, command: cmd.Editors, ctx: Context, m: Messages) -> Reply:
        if not ctx.can_choose_editors:
            return _error(m.gettext(_EDITOR_CHOOSERS.get(ctx.platform, _EDITOR_CHOOSERS[""])))
        if not ctx.workspace:
            return _error(m.gettext("Editors belong to a workspace or server; run this command there."))
        if command.verb == "add":
            added = self.editors.add(
                ctx.platform, ctx.workspace, command.user, ctx.user, ctx.now or self.clock()
            )
            text = (
                m.gettext("{user} may now edit the catalogue.")
                if added
                else m.gettext("{user} is already an editor.")
            )
        else:
            removed = self.editors.remove(ctx.platform, ctx.workspace, command.user)
            text = (
                m.gettext("{user} is no longer an editor.")
                if removed
                else m.gettext("{user} is not on the editors list.")
            )
        return self.editors_list(ctx, m, Notice(text.format(user=command.user)))

    def _unsubscribe(self, ctx: Context, m: Messages) -> Reply:
        if not ctx.can_manage:
            return _not_allowed(ctx, m)
        if self.subscriptions.unsubscribe(ctx.platform, ctx.workspace, ctx.channel):
            return Reply(
                title=m.gettext("Unsubscribed"),
                notices=[Notice(m.gettext("This channel will get no more digests."))],
            )
        return Reply(notices=[Notice(m.gettext("This channel has no subscription to remove."))])

    def _all_subscriptions(self, ctx: Context, m: Messages) -> Reply:
        """Every channel's subscription in this workspace or server, with its filters (managers only)."""
        if not ctx.can_manage:
            return _not_allowed(ctx, m)
        subs = self.subscriptions.all(ctx.platform, ctx.workspace)
        if not subs:
            return Reply(notices=[Notice(m.gettext("No channel here has a subscription."))])
        items = [
            ListItem(
                label=m.gettext("Channel {channel}: daily digest at {schedule}").format(
                    channel=sub.channel, schedule=_schedule(sub, m)
                ),
                detail=self._follows(sub, m) or m.gettext("follows everything"),
            )
            for sub in subs[:MAX_LIST_ITEMS]
        ]
        return Reply(title=m.gettext("Every channel's subscription"), items=items, total=len(subs))

    def _follows(self, sub: Subscription, m: Messages) -> str:
        """What a filtered subscription follows, e.g. "Follows only: Defense", or "" when it follows all."""
        if not (sub.topics or sub.pledges):
            return ""
        names = [localized(m, t, self.catalogue.category_ko(t)) for t in sub.topics]
        return m.gettext("Follows only: {filters}").format(filters=", ".join(names + list(sub.pledges)))

    def _subscriptions(self, ctx: Context, m: Messages) -> Reply:
        sub = self.subscriptions.subscription(ctx.platform, ctx.workspace, ctx.channel)
        if sub is None:
            return Reply(
                title=m.gettext("No subscription"),
                notices=[
                    Notice(
                        m.gettext(
                            "This channel gets no digest. "
                            "Subscribe with /pledge subscribe [HH:MM] [Area/City]."
                        )
                    )
                ],
            )
        items = [
            ListItem(
                label=m.gettext("Daily digest at {schedule}").format(schedule=_schedule(sub, m)),
                detail=m.gettext("set by {user}").format(user=sub.created_by),
            )
        ]
        follows = self._follows(sub, m)
        if follows:
            items.append(ListItem(label=follows, detail=m.gettext("and every election and inauguration")))
        return Reply(title=m.gettext("This channel's subscription"), items=items)


# Pledges made together (one speaker, one day) that fall due together are listed under one heading once
# there are this many of them.
GROUP_MIN = 3


def _with_status(occurrence: Occurrence) -> bool:
    """Whether an item says where its pledge stands now: on a milestone's own day, and for a deadline."""
    return occurrence.kind == OccurrenceKind.ON_THE_DAY or occurrence.milestone.kind == DUE


class _Day:
    """One day's digest as a delivery pass reuses it for every subscription: the (occurrence, item) pairs,
    with the grouping worked out once per pair and indexed by pledge and by category, so that a channel's
    filtered digest costs what it keeps, not the whole day; each set of filters is grouped once.

    Many pledges of one event that fall due together are listed under one heading ("1 year since Lee
    Jae-myung's 14 pledges of 26 May 2025"), followed by each pledge's title and quote, rather than 14 lines
    that differ only at the end; fewer than GROUP_MIN of them are listed as they are. Counted per channel:
    a channel following one topic may see two of the 14 listed plainly.
    """

    def __init__(self, pairs: tuple[Pair, ...], title: str, categories: dict[str, str], m: Messages) -> None:
        """`categories` holds the category of each pledge among the pairs, by pledge id."""
        self.pairs = pairs
        self.title = title
        self._m = m
        self._everyone: list[int] = []
        self._by_pledge: dict[str, list[int]] = defaultdict(list)
        self._by_topic: dict[str, list[int]] = defaultdict(list)
        self._items = [item for _, item in pairs]
        # Per pair: the group it may join (None: listed alone whatever a channel follows); its item as a
        # group member is made when a group first needs it.
        self._keys: list[tuple | None] = []
        self._members: dict[int, ListItem] = {}
        self._headings: dict[tuple[tuple, int], ListItem] = {}
        for n, (occurrence, item) in enumerate(pairs):
            if item.pledge_id is None:
                self._everyone.append(n)
            else:
                self._by_pledge[item.pledge_id].append(n)
                category = categories.get(item.pledge_id)
                if category is not None:
                    self._by_topic[category.casefold()].append(n)
            milestone = occurrence.milestone
            if milestone.kind == "pledged" and occurrence.kind != OccurrenceKind.ON_THE_DAY:
                key = (
                    occurrence.lead_days,
                    occurrence.kind,
                    occurrence.count,
                    milestone.date,
                    milestone.speaker,
                )
                self._keys.append(key)
            else:
                self._keys.append(None)
        # Only a group with GROUP_MIN members in the whole day can have as many in a channel's part of it.
        sizes = Counter(key for key in self._keys if key is not None)
        self._keys = [key if key is not None and sizes[key] >= GROUP_MIN else None for key in self._keys]
        self._grouping = any(key is not None for key in self._keys)
        self._following: dict[tuple[frozenset[str], frozenset[str]], tuple[int, list[ListItem]]] = {
            (frozenset(), frozenset()): (len(pairs), self._grouped(range(len(pairs))))
        }

    def following(self, topics: tuple[str, ...], pledges: tuple[str, ...]) -> tuple[int, list[ListItem]]:
        """(items counted, grouped items) for a channel following `topics` and `pledges` (none: all).

        Items of no pledge (elections, inaugurations) reach every channel."""
        key = (frozenset(t.casefold() for t in topics), frozenset(pledges))
        found = self._following.get(key)
        if found is None:
            kept = set(self._everyone)
            for topic in key[0]:
                kept.update(self._by_topic.get(topic, ()))
            for pledge in key[1]:
                kept.update(self._by_pledge.get(pledge, ()))
            # Racing threads may both group the same filters; either result is the same.
            found = self._following[key] = (len(kept), self._grouped(sorted(kept)))
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
            if type(entry) is int:
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
            title = localized(self._m, milestone.topic, milestone.topic_ko) or item.label
            member = self._members[n] = dataclasses.replace(item, label=title, date=None)
        return member


def _card_action(card: QuoteCard, m: Messages) -> list[Action]:
    """The "Quote card" button of an answer whose lead card has a quote: it answers with the card image."""
    if not card.has_quote:
        return []
    return [Action(ActionKind.RUN, m.gettext("Quote card"), f"card {card.pledge_id}")]


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


def help_reply(hint: str = "", m: Messages | None = None, *, editor: bool = False) -> Reply:
    """The command list, Korean command words and statuses, built from the grammar so they cannot drift;
    the desk's commands for editors only."""
    m = m or messages()
    example = m.gettext("{summary} — e.g. {example}")
    shown = [spec for spec in cmd.COMMANDS if editor or not spec.edits]
    items = [
        ListItem(
            label=spec.usage, detail=example.format(summary=m.gettext(spec.summary), example=spec.example)
        )
        for spec in shown
    ]
    notices = [Notice(hint)] if hint else []
    notices.append(
        Notice(m.gettext("Search works in English and Korean, e.g. /pledge hotline or /pledge 핫라인."))
    )
    korean = ", ".join(f"{spec.word.ko} ({spec.word.en})" for spec in shown if spec.word)
    notices.append(Notice(m.gettext("Command words in Korean: {words}.").format(words=korean)))
    statuses = ", ".join(f"{word.en} ({word.ko})" for word in cmd.STATUSES)
    notices.append(Notice(m.gettext("Statuses for /pledge list: {statuses}.").format(statuses=statuses)))
    return Reply(title=m.gettext("pledgebot: a politician's exact words"), items=items, notices=notices)


def _schedule(sub: Subscription, m: Messages) -> str:
    ahead = (
        m.ngettext(", with {n} day's notice", ", with {n} days' notice", sub.lead_days).format(
            n=sub.lead_days
        )
        if sub.lead_days
        else ""
    )
    return f"{sub.local_time.strftime('%H:%M')} {sub.timezone}{ahead}"


NO_SUCH_PLEDGE = N_("There is no pledge with the id “{id}”.")
_MANAGERS = {
    "slack": N_(
        "Only a workspace admin or someone on the bot's admin list can change this channel's subscription."
    ),
    "discord": N_(
        "Only a member with the Manage Channels permission can change this channel's subscription."
    ),
}


_LANGUAGE_MANAGERS = {
    "slack": N_(
        "Only a workspace admin or someone on the bot's admin list can change this channel's language."
    ),
    "discord": N_("Only a member with the Manage Channels permission can change this channel's language."),
    "": N_("Only a channel manager can change this channel's language."),
}


# Who may edit besides the editors list, by platform: said with the list and with every refusal.
_OTHER_EDITORS = {
    "slack": N_("Workspace admins and owners may edit too, and anyone on the bot's SLACK_EDITORS list."),
    "discord": N_(
        "Members with the Manage Server permission may edit too, and members with the role named by "
        "the bot's DISCORD_EDITOR_ROLE setting."
    ),
    "console": N_("In the console, the local operator may always edit."),
    "": N_("Ask an admin to add you to the editors list."),
}
_EDITOR_CHOOSERS = {
    "slack": N_("Only a workspace admin or someone on the bot's admin list can choose editors."),
    "discord": N_("Only a member with the Manage Server permission can choose editors."),
    "": N_("Only an admin can choose editors."),
}


def who_may_edit(platform: str, m: Messages) -> str:
    """Who may edit the catalogue on `platform` besides the editors list, in a sentence for the reader."""
    return m.gettext(_OTHER_EDITORS.get(platform, _OTHER_EDITORS[""]))


def _not_allowed(ctx: Context, m: Messages) -> Reply:
    default = N_("Only a channel manager can change this channel's subscription.")
    return _error(m.gettext(_MANAGERS.get(ctx.platform, default)))


def _quote_detail(m: Messages, lead: QuoteRow) -> str:
    """A pledge's lead quote with its date and source, as a list item's detail."""
    return m.gettext("“{quote}” ({date}; “{headline}”, {outlet})").format(
        quote=lead.text,
        date=m.date(lead.said_on),
        headline=localized(m, lead.headline, lead.headline_ko),
        outlet=localized(m, lead.outlet, lead.outlet_ko),
    )


def _with_source(m: Messages, detail: str, source: SourceRow) -> str:
    """`detail` followed by the record it comes from: headline, outlet and link when held."""
    text = m.gettext("{detail} (“{headline}”, {outlet})").format(
        detail=detail,
        headline=localized(m, source.headline, source.headline_ko),
        outlet=localized(m, source.outlet, source.outlet_ko),
    )
    return f"{text} {source.url}" if source.url else text


def _original(m: Messages, quote: QuoteRow) -> str:
    """The source a translated quote translates, named for the reader (e.g. its Korean headline)."""
    if not quote.translated or not quote.original_headline:
        return ""
    language = quote.original_language or ""
    name = Locale.parse(language).get_display_name(m.language) if language in _CLDR_LANGUAGES else language
    headline = localized(m, quote.original_headline, quote.original_headline_ko)
    return m.gettext("{headline} ({language})").format(headline=headline, language=name) if name else headline


_CLDR_LANGUAGES = frozenset(Locale("en").languages)


def _status_source(m: Messages, pledge: PledgeRow) -> SourceRef | None:
    if pledge.status_source is None:
        return None
    headline, outlet, published_at, kind, url, headline_ko, outlet_ko = pledge.status_source
    return SourceRef(
        headline=localized(m, headline, headline_ko),
        outlet=localized(m, outlet, outlet_ko),
        published_at=_published(published_at) if published_at else None,
        kind=kind,
        url=url,
    )


def _quote_count(m: Messages, pledge_id: str, count: int) -> str:
    text = m.ngettext(
        "{id} has {count} quote: ask for quote 1.",
        "{id} has {count} quotes; ask for one from 1 to {count}.",
        count,
    )
    return text.format(id=pledge_id, count=count)


def _did_you_mean(m: Messages, ids: list[str]) -> str:
    return m.gettext("Did you mean {ids}?").format(ids=", ".join(f"/pledge show {i}" for i in ids))


def _title(m: Messages, pledge: PledgeRow) -> str:
    return localized(m, pledge.title, pledge.title_ko)


def _title_by(m: Messages, pledge: PledgeRow) -> str:
    """Who wrote the title shown, when it is the Korean one and the data says; else ""."""
    return (pledge.title_ko_by or "") if m.language == "ko" and pledge.title_ko else ""


def _error(text: str) -> Reply:
    return Reply(notices=[Notice(text, Level.ERROR)])


def _published(value: str) -> dt.datetime | dt.date:
    return dt.datetime.fromisoformat(value) if "T" in value else dt.date.fromisoformat(value)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
