"""The subscription commands, declared once: subscribe, unsubscribe, subscriptions.

Each is a typed command object, the parser of its arguments and its registration; `bot.reminders.subscribing`
answers them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot import grammar
from bot.grammar import Known, Usage
from bot.i18n import N_, NP_
from bot.registry import Command, CommandSpec, Option, OptionKind, Permission
from bot.replies import Refusal

DEFAULT_TIME = dt.time(9, 0)
DEFAULT_TIMEZONE = "Asia/Seoul"
MAX_LEAD_DAYS = 30


@dataclass(frozen=True)
class Subscribe:
    """Subscribe the channel to a daily digest."""

    at: dt.time = DEFAULT_TIME
    timezone: str = DEFAULT_TIMEZONE
    lead_days: int = 0
    # As typed; the handler checks them against the catalogue (with suggestions) before anything is written.
    topics: tuple[str, ...] = ()
    pledges: tuple[str, ...] = ()
    # `updates now`: the desk's changes within a minute rather than in the next day's digest.
    updates_now: bool = False
    # Officials (by id) and regions (as typed) whose milestones, term anniversaries and updates to follow.
    officials: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unsubscribe:
    """Stop the channel's digest."""


@dataclass(frozen=True)
class Subscriptions:
    """Show the channel's digest schedule, or (`everywhere`, managers only) every channel's in the place."""

    everywhere: bool = False


_TIME = re.compile(r"^(?P<h>\d{1,2}):(?P<m>\d{2})$")
_FILTER_WORDS = frozenset({"ahead", "topic", "pledge", "official", "region", "updates"})


def _subscribe(rest: str, known: Known) -> Command | None:
    at, zone, lead = DEFAULT_TIME, DEFAULT_TIMEZONE, 0
    tokens = rest.split()
    topics: list[str] = []
    pledges: list[str] = []
    officials: list[str] = []
    regions: list[str] = []
    updates_now = False
    if tokens and not (
        grammar.numeric(tokens[0]) or grammar.argument(tokens[0]) in _FILTER_WORDS or _zone_like(tokens[0])
    ):
        return None  # "subscribe to newsletters": words, not a time, a zone or a lead time
    while tokens:
        token = tokens.pop(0)
        word = grammar.argument(token)
        if word in ("official", "region"):
            if not tokens or grammar.argument(tokens[0]) in _FILTER_WORDS:
                return Usage(
                    N_("After '{word}', name an official's id or a region."),
                    "subscribe",
                    (("word", token.lower()),),
                )
            take = 1
            if word == "region":
                # A region may be several words ("south chungcheong"): the longest run that names officials.
                take = _longest_run(tokens, known.officials)
            (officials if word == "official" else regions).append(" ".join(tokens[:take]))
            del tokens[:take]
        elif word in ("topic", "pledge"):
            if not tokens or grammar.argument(tokens[0]) in _FILTER_WORDS:
                return Usage(
                    N_("After '{word}', name a topic or a pledge id."),
                    "subscribe",
                    (("word", token.lower()),),
                )
            take = 1
            if word == "topic":
                # A topic may be several words ("north korea"): the longest run that names a category,
                # else one word, which the handler answers with the list of topics.
                take = _longest_run(tokens, known.category)
            value = " ".join(tokens[:take])
            del tokens[:take]
            (topics if word == "topic" else pledges).append(value)
        elif word == "updates":
            if not tokens or grammar.argument(tokens[0]) not in ("now", "daily"):
                return Usage(N_("After 'updates', say now or daily."), "subscribe")
            updates_now = grammar.argument(tokens.pop(0)) == "now"
        elif word == "ahead":
            days = grammar.number(tokens.pop(0)) if tokens else None
            if days is None or not 0 <= days <= MAX_LEAD_DAYS:
                return Usage(
                    N_("After 'ahead', give a number of days from 0 to {max}."),
                    "subscribe",
                    (("max", MAX_LEAD_DAYS),),
                )
            lead = days
        elif _TIME.match(token):
            parsed = _time(token)
            if parsed is None:
                return Usage(
                    N_("'{text}' is not a time of day; use HH:MM from 00:00 to 23:59."),
                    "subscribe",
                    (("text", grammar.short(token)),),
                )
            at = parsed
        elif _zone_like(token):
            parsed_zone = timezone_name(token)
            if parsed_zone is None:
                return Usage(
                    N_(
                        "'{text}' is not a time zone I know; use an IANA name such as Asia/Seoul "
                        "or America/New_York."
                    ),
                    "subscribe",
                    (("text", grammar.short(token)),),
                )
            zone = parsed_zone
        else:
            return Usage(N_("I did not understand '{text}'."), "subscribe", (("text", grammar.short(token)),))
    return Subscribe(
        at, zone, lead, tuple(topics), tuple(pledges), updates_now, tuple(officials), tuple(regions)
    )


def _time(token: str) -> dt.time | None:
    match = _TIME.match(token)
    if not match:
        return None
    hour, minute = int(match["h"]), int(match["m"])
    if hour > 23 or minute > 59:
        return None
    return dt.time(hour, minute)


def _zone_like(token: str) -> bool:
    """True when `token` is written as a time zone is: Area/City, UTC, or a zone's city alone ("Seoul")."""
    if "/" in token or token.upper() == "UTC":
        return True
    if not _CITIES:
        _CITIES.update(z.rsplit("/", 1)[1].lower() for z in available_timezones() if "/" in z)
    return token.lower() in _CITIES


_CITIES: set[str] = set()
_ZONES_BY_LOWER: dict[str, str] = {}


def timezone_name(token: str) -> str | None:
    """The canonical IANA name for `token` (any case), or None when there is no such zone."""
    if not _ZONES_BY_LOWER:
        _ZONES_BY_LOWER.update({z.lower(): z for z in available_timezones()})
    name = _ZONES_BY_LOWER.get(token.lower())
    if name is None:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def _unsubscribe(rest: str, known: Known) -> Command | None:
    return None if rest else Unsubscribe()


def _subscriptions(rest: str, known: Known) -> Command | None:
    if grammar.argument(rest.strip()) == "all":
        return Subscriptions(everywhere=True)
    return None if rest else Subscriptions()


def _subscriptions_permission(command: Subscriptions) -> Permission:
    # Anyone may see their own channel's schedule; every channel's is for managers.
    return Permission.MANAGERS if command.everywhere else Permission.ANYONE


COMMANDS = (
    CommandSpec(
        NP_("command", "subscribe"),
        "/pledge subscribe [HH:MM] [Area/City] [ahead <days>] [topic <category>] [pledge <id>] "
        "[official <id>] [region <name>] [updates now]",
        N_("Post a daily digest of anniversaries in this channel (default 09:00 Asia/Seoul)"),
        "/pledge subscribe 08:30 America/New_York",
        _subscribe,
        (Subscribe,),
        permission=Permission.MANAGERS,
        refusal=Refusal.SUBSCRIPTION,
        section="reminders",
        options=(
            Option(
                NP_("option", "time"),
                OptionKind.WORD,
                N_("Time of day as HH:MM (default 09:00)"),
                minimum=1,
                maximum=5,
            ),
            Option(
                NP_("option", "timezone"),
                OptionKind.ZONE,
                N_("An IANA time zone such as Asia/Seoul (default)"),
                minimum=1,
                maximum=64,
            ),
            Option(
                NP_("option", "ahead"),
                OptionKind.NUMBER,
                N_("Days of notice before each anniversary (default 0)"),
                minimum=0,
                maximum=MAX_LEAD_DAYS,
                word="ahead",
            ),
            Option(
                NP_("option", "topics"),
                OptionKind.TOPICS,
                N_("Only these categories, comma-separated (up to 5)"),
                minimum=1,
                maximum=200,
                word="topic",
            ),
            Option(
                NP_("option", "pledges"),
                OptionKind.PLEDGES,
                N_("Only these pledge ids, comma-separated (up to 10)"),
                minimum=1,
                maximum=400,
                word="pledge",
            ),
            Option(
                NP_("option", "official"),
                OptionKind.WORD,
                N_("Only this official's milestones and updates (an id from /pledge officials)"),
                minimum=1,
                maximum=80,
                word="official",
            ),
            Option(
                NP_("option", "region"),
                OptionKind.TEXT,
                N_("Only the officials of this region (서울, Busan, 종로구)"),
                minimum=1,
                maximum=100,
                word="region",
            ),
            Option(
                NP_("option", "updates"),
                OptionKind.CHOICE,
                N_("Desk changes (ratings, quotes): within a minute, or in the daily digest (default)"),
                word="updates",
                choices=(("now", N_("within a minute")), ("daily", N_("in the daily digest"))),
            ),
        ),
    ),
    CommandSpec(
        NP_("command", "unsubscribe"),
        "/pledge unsubscribe",
        N_("Stop this channel's digest"),
        "/pledge unsubscribe",
        _unsubscribe,
        (Unsubscribe,),
        permission=Permission.MANAGERS,
        refusal=Refusal.SUBSCRIPTION,
        section="reminders",
    ),
    CommandSpec(
        NP_("command", "subscriptions"),
        "/pledge subscriptions [all]",
        N_("Show this channel's digest schedule"),
        "/pledge subscriptions",
        _subscriptions,
        (Subscriptions,),
        permission=_subscriptions_permission,
        refusal=Refusal.SUBSCRIPTION,
        section="reminders",
        menu_name="list",
    ),
)


def _longest_run(tokens: list[str], names: Callable[[str], object]) -> int:
    """How many of the leading `tokens`, up to the next filter word, make the longest run that `names`
    recognises; 1 when none does."""
    run = 0
    while run < len(tokens) and grammar.argument(tokens[run]) not in _FILTER_WORDS:
        run += 1
    return next((n for n in range(run, 0, -1) if names(" ".join(tokens[:n]))), 1)
