"""The one command handler every adapter calls: command text and a context in, a reply model out.

`Core` is a dispatcher: it parses the text with the registry, finds the feature's handler of the command,
checks that the asker may run it, and returns the handler's `Reply`. What each command does lives in its
feature (`bot.lookups`, `bot.reminders`, `bot.channels`, `bot.desk`); what a refusal says, and whether forms
exist, comes from the adapter's `Policy` in the context. Outside the deployment's desk places
(`Context.desk_place`) the desk's commands get one answer, naming the publisher who edits the catalogue.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from zoneinfo import ZoneInfo

from bot import logs
from bot.catalogue import Catalogue
from bot.channels.answers import Channels
from bot.clock import Clock, utc_now
from bot.desk.answers import DeskAnswers
from bot.grammar import NO_SUCH_PLEDGE, Usage
from bot.i18n import N_, Messages, language_of, messages
from bot.lookups.answers import Lookups, Suggestion, did_you_mean
from bot.metrics import UNPARSED, Metrics
from bot.officials.records import Officials
from bot.registry import Handler, Permission, Registry, Request
from bot.replies import Context, Level, Notice, Refusal, Reply

log = logging.getLogger(__name__)

SORRY = N_("Something went wrong on our side while answering that. Please try again in a moment.")
EDITED_ELSEWHERE = N_(
    "This catalogue is edited by {publisher}; its editing commands work only there. Lookups, sharing, "
    "cards, citations and subscriptions all work here."
)


class Core:
    """Answers `/pledge` commands through the registry's handlers."""

    def __init__(
        self,
        registry: Registry,
        handlers: Mapping[type, Handler],
        catalogue: Catalogue,
        lookups: Lookups,
        channels: Channels,
        *,
        desk: DeskAnswers | None = None,
        clock: Clock = utc_now,
        timezone: str = "Asia/Seoul",
        health: Callable[[], bool] = lambda: True,
        publisher: str = "",
        officials: Officials | None = None,
        metrics: Metrics | None = None,
    ):
        self.registry = registry
        self._handlers = dict(handlers)
        self._catalogue = catalogue
        self._lookups = lookups
        self._channels = channels
        # The newsroom desk's forms; without a desk, its commands answer that editing is not set up.
        self._desk = desk
        self._clock = clock
        self.zone = ZoneInfo(timezone)
        self._health = health
        # Who edits the catalogue (PLEDGEBOT_PUBLISHER), named to places that are not desk places.
        self._publisher = publisher
        # Who the words of a `list` name; without it (a core built for one test) no words name anyone.
        self._officials = officials
        # Commands by platform and word, their latency and failures (`bot.metrics`); its own without one.
        self._metrics = metrics or Metrics()

    def handle(self, text: str, ctx: Context) -> Reply:
        """Answer one command; any failure becomes a friendly error reply, never an exception."""
        reply = self._answer(text, ctx, quick_only=False)
        assert reply is not None
        return reply

    def answer_now(self, text: str, ctx: Context) -> Reply | None:
        """The reply to a quick command (`CommandSpec.quick`: `show <id>` of a pledge that exists), or None
        for any other, which the adapter then hands to `handle` in a worker thread. Parsing asks only the
        catalogue's indexes, so an adapter may call this on its event loop, whose thread has its own
        connection (readers are not held up by a writer)."""
        return self._answer(text, ctx, quick_only=True)

    def _answer(self, text: str, ctx: Context, *, quick_only: bool) -> Reply | None:
        started = time.perf_counter()
        m = messages(language_of(ctx.locale))
        word, failed = UNPARSED, False
        try:
            command = self.registry.parse(text, self)
            spec = self.registry.spec_of(command)
            if quick_only and (not spec.quick or isinstance(command, Usage)):
                return None
            word = spec.name
            logs.command(word)
            reply = self._dispatch(command, self._request(ctx, m))
        except Exception:
            log.exception("command failed (platform=%s channel=%s)", ctx.platform, ctx.channel)
            reply = Reply.error(m.gettext(SORRY))
            failed = True
        reply.language = m.language
        self._metrics.answered(ctx.platform, word, time.perf_counter() - started, failed=failed)
        return reply

    def submit(self, form: str, state: str, values: dict[str, str], ctx: Context) -> Reply:
        """Check one step of a desk form (a Slack or Discord modal): field errors, the next step's form,
        or the result. Blocking (a step may fetch a page for up to 10 s): adapters call it in a thread."""
        m = messages(language_of(ctx.locale))
        try:
            if self._desk is None:
                reply = Reply.error(m.gettext("Editing is not set up on this bot."))
            elif not ctx.desk_place:
                reply = self._elsewhere(m)
            elif not Permission.EDITORS.allows(ctx):
                reply = Reply.error(ctx.policy.refusal(Refusal.EDIT, m))
            else:
                reply = self._desk.submit(form, state, values, self._request(ctx, m))
        except Exception:
            log.exception("form submission failed (platform=%s form=%s)", ctx.platform, form)
            reply = Reply.error(m.gettext(SORRY))
        reply.language = m.language
        return reply

    def suggest(self, prefix: str, limit: int = 25, locale: str = "en") -> list[Suggestion]:
        """Pledges matching what the user has typed so far, for autocomplete, titled in their language."""
        return self._lookups.suggest(prefix, limit, locale)

    def categories(self) -> list[str]:
        """The catalogue's categories as stored, for autocomplete of topics."""
        return [name for name, _ in self._catalogue.categories()]

    def is_editor(self, platform: str, workspace: str, user: str) -> bool:
        """True when an admin put `user` on the workspace's editors list; adapters ask on every command, so a
        removal takes effect at once (`Context.can_edit` is theirs to decide from this and the platform)."""
        return self._channels.is_editor(platform, workspace, user)

    def channel_language(self, ctx: Context) -> str:
        """The language of public posts in the context's channel."""
        return self._channels.language(ctx)

    def healthy(self) -> bool:
        """True while the local catalogue file is there and answers (`open_bot` passes Store.healthy)."""
        return self._health()

    def today(self, ctx: Context | None = None) -> dt.date:
        """Today in the bot's time zone, by the context's clock when it carries one."""
        now = (ctx.now if ctx and ctx.now else None) or self._clock()
        return now.astimezone(self.zone).date()

    # -- what the grammar asks of the catalogue ----------------------------------------------------

    def is_pledge_id(self, text: str) -> bool:
        """True when `text` is a pledge's id (any case): how the grammar tells `show <id>` from a search."""
        return self._catalogue.find_id(text) is not None

    def category(self, text: str) -> str | None:
        """The catalogue's name for the category `text` names in English or Korean, or None."""
        return self._catalogue.category(text)

    def officials(self, text: str) -> tuple[str, ...]:
        """The officials `text` names (서울, mayor of busan, an official's id or name): `list` takes them."""
        return self._officials.named(text) if self._officials is not None else ()

    def category_names(self) -> list[tuple[str, str | None]]:
        """Each category with its Korean name: what the grammar tells a near miss of a category by."""
        return [(name, self._catalogue.category_ko(name)) for name, _ in self._catalogue.categories()]

    # -- dispatch ----------------------------------------------------------------------------------

    def _request(self, ctx: Context, m: Messages) -> Request:
        now = ctx.now or self._clock()
        return Request(ctx, m, now, now.astimezone(self.zone).date())

    def _dispatch(self, command: object, request: Request) -> Reply:
        if isinstance(command, Usage):
            return self._usage(command, request.m)
        spec = self.registry.spec_of(command)
        handler = self._handlers.get(type(command))
        if handler is None:
            # Only the desk is optional (`open_bot` always builds it; a test's core may not).
            assert spec.edits, spec.name
            return Reply.error(request.m.gettext("Editing is not set up on this bot."))
        if spec.at_desk and not request.ctx.desk_place:
            return self._elsewhere(request.m)
        if not spec.permission_for(command).allows(request.ctx):
            assert spec.refusal is not None, spec.name
            return Reply.error(request.ctx.policy.refusal(spec.refusal, request.m))
        return handler(command, request)

    def _elsewhere(self, m: Messages) -> Reply:
        """The answer to a desk command outside the desk places: who edits, and what works here."""
        return Reply.error(m.gettext(EDITED_ELSEWHERE).format(publisher=self._publisher))

    def _usage(self, usage: Usage, m: Messages) -> Reply:
        """What was wrong with the arguments, then the closest pledge ids or the command's usage line."""
        notices = [Notice(usage.text(m), Level.ERROR)]
        missed = dict(usage.values).get("id") if usage.template == NO_SUCH_PLEDGE else None
        near = self._catalogue.closest_ids(str(missed)) if missed else []
        if near:
            notices.append(Notice(did_you_mean(m, near)))
        else:
            notices.append(Notice(self.registry[usage.command].usage_line(m)))
        return Reply(notices=notices)
