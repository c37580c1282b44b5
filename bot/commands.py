"""The command grammar, defined once: parsing, and the specs that help, README and adapters are built from.

Everything after `/pledge` is parsed here. A bad argument becomes a `Usage` with a sentence for the user;
parsing never raises.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.search import clean

DEFAULT_TIME = dt.time(9, 0)
DEFAULT_TIMEZONE = "Asia/Seoul"
MAX_UPCOMING_DAYS = 366
MAX_LEAD_DAYS = 30


@dataclass(frozen=True)
class CommandSpec:
    """One command as users see it: name, usage line, summary in English and Korean, an example."""

    name: str
    usage: str
    summary: str
    summary_ko: str
    example: str
    manages: bool = False


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "search",
        "/pledge <words>",
        "Find a pledge: its exact quote, date, source and status",
        "공약 검색: 원문 인용, 날짜, 출처, 이행 상태",
        "/pledge hotline",
    ),
    CommandSpec(
        "show",
        "/pledge show <pledge-id>",
        "Every quote of one pledge",
        "공약 하나의 모든 인용",
        "/pledge show inter-korean-hotline",
    ),
    CommandSpec(
        "list",
        "/pledge list [category]",
        "List pledges, optionally in one category",
        "공약 목록 (분야별 가능)",
        "/pledge list defense",
    ),
    CommandSpec(
        "on",
        "/pledge on <YYYY-MM-DD>",
        "What was pledged or happened on a date",
        "특정 날짜의 공약과 사건",
        "/pledge on 2025-05-26",
    ),
    CommandSpec(
        "upcoming",
        "/pledge upcoming [days]",
        "Anniversaries and milestones coming up (default 30 days)",
        "다가오는 기념일과 주요 일정 (기본 30일)",
        "/pledge upcoming 90",
    ),
    CommandSpec(
        "subscribe",
        "/pledge subscribe [HH:MM] [Area/City] [ahead <days>]",
        "Post a daily digest of anniversaries in this channel (default 09:00 Asia/Seoul)",
        "이 채널에 매일 기념일 알림 게시 (기본 09:00 Asia/Seoul)",
        "/pledge subscribe 08:30 America/New_York",
        manages=True,
    ),
    CommandSpec(
        "unsubscribe",
        "/pledge unsubscribe",
        "Stop this channel's digest",
        "이 채널의 알림 중지",
        "/pledge unsubscribe",
        manages=True,
    ),
    CommandSpec(
        "subscriptions",
        "/pledge subscriptions",
        "Show this channel's digest schedule",
        "이 채널의 알림 설정 보기",
        "/pledge subscriptions",
    ),
    CommandSpec("help", "/pledge help", "This help", "도움말", "/pledge help"),
)
SPECS = {spec.name: spec for spec in COMMANDS}
# Korean command words, so a Korean-speaking user can stay in Korean.
ALIASES = {
    "도움말": "help",
    "목록": "list",
    "보기": "show",
    "다가오는": "upcoming",
    "구독": "subscribe",
    "구독취소": "unsubscribe",
    "구독목록": "subscriptions",
    "날짜": "on",
}


@dataclass(frozen=True)
class Search:
    """Look pledges up by words."""

    query: str
    page: int = 1


@dataclass(frozen=True)
class Show:
    """Every quote of one pledge, by id."""

    pledge_id: str


@dataclass(frozen=True)
class ListPledges:
    """List pledges, optionally in one category."""

    category: str | None = None
    page: int = 1


@dataclass(frozen=True)
class On:
    """What happened on a date."""

    day: dt.date


@dataclass(frozen=True)
class Upcoming:
    """Occurrences in the next `days` days."""

    days: int = 30


@dataclass(frozen=True)
class Subscribe:
    """Subscribe the channel to a daily digest."""

    at: dt.time = DEFAULT_TIME
    timezone: str = DEFAULT_TIMEZONE
    lead_days: int = 0


@dataclass(frozen=True)
class Unsubscribe:
    """Stop the channel's digest."""


@dataclass(frozen=True)
class Subscriptions:
    """Show the channel's digest schedule."""


@dataclass(frozen=True)
class Help:
    """Show help; `hint` says why, when help answers something that was not a request for it."""

    hint: str = ""


@dataclass(frozen=True)
class Usage:
    """A command whose arguments are wrong: what was wrong, and how to write it."""

    message: str
    spec: CommandSpec


Command = Search | Show | ListPledges | On | Upcoming | Subscribe | Unsubscribe | Subscriptions | Help | Usage

_PAGE = re.compile(r"^(?P<rest>.*?)\s+page\s+(?P<page>\d{1,4})$", re.IGNORECASE)
_TIME = re.compile(r"^(?P<h>\d{1,2}):(?P<m>\d{2})$")


def parse(text: str) -> Command:
    """Parse the text after `/pledge` into a command."""
    text = clean(text)
    if text.lower().startswith("/pledge"):
        text = text[len("/pledge") :].strip()
    if not text:
        return Help()
    head, _, rest = text.partition(" ")
    name = ALIASES.get(head, head.lower())
    rest = rest.strip()
    if name == "help" and not rest:
        return Help()
    if name == "show" and rest:
        return Show(rest.split()[0].lower())
    if name == "list":
        category, page = _page(rest)
        return ListPledges(category or None, page)
    if name == "on":
        return _on(rest)
    if name == "upcoming":
        return _upcoming(rest)
    if name == "subscribe":
        return _subscribe(rest)
    if name == "unsubscribe" and not rest:
        return Unsubscribe()
    if name == "subscriptions" and not rest:
        return Subscriptions()
    query, page = _page(text)
    return Search(query, page)


def _page(text: str) -> tuple[str, int]:
    match = _PAGE.match(text)
    if match:
        return match["rest"].strip(), max(1, int(match["page"]))
    if text.lower().startswith("page "):
        _, number, *rest = [*text.split(" ", 2), ""]
        page = _number(number)
        if page is not None:
            return (rest[0] if rest else "").strip(), max(1, page)
    return text, 1


def _number(text: str) -> int | None:
    """`text` as a whole number of at most four decimal digits (in any script), else None.

    `str.isdigit` also accepts digits `int` cannot read (Kharoshthi 𐩀, which NFKC leaves as it is), and an
    unbounded run of digits overflows SQLite or `int`; both used to end as an internal error.
    """
    return int(text) if text.isdecimal() and len(text) <= 4 else None


def _on(rest: str) -> Command:
    spec = SPECS["on"]
    if not rest:
        return Usage("Which date? Give it as YYYY-MM-DD.", spec)
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", rest):
        return Usage(f"'{_short(rest)}' is not a date in the form YYYY-MM-DD.", spec)
    try:
        return On(dt.date.fromisoformat(rest))
    except ValueError:
        return Usage(f"{rest} is not a real calendar date.", spec)


def _upcoming(rest: str) -> Command:
    spec = SPECS["upcoming"]
    if not rest:
        return Upcoming()
    days = _number(rest)
    if days is None or not 1 <= days <= MAX_UPCOMING_DAYS:
        return Usage(f"The number of days must be a whole number from 1 to {MAX_UPCOMING_DAYS}.", spec)
    return Upcoming(days)


def _subscribe(rest: str) -> Command:
    spec = SPECS["subscribe"]
    at, zone, lead = DEFAULT_TIME, DEFAULT_TIMEZONE, 0
    tokens = rest.split()
    while tokens:
        token = tokens.pop(0)
        if token.lower() == "ahead":
            days = _number(tokens.pop(0)) if tokens else None
            if days is None or not 0 <= days <= MAX_LEAD_DAYS:
                return Usage(f"After 'ahead', give a number of days from 0 to {MAX_LEAD_DAYS}.", spec)
            lead = days
        elif _TIME.match(token):
            parsed = _time(token)
            if parsed is None:
                return Usage(f"'{_short(token)}' is not a time of day; use HH:MM from 00:00 to 23:59.", spec)
            at = parsed
        elif "/" in token or token.upper() == "UTC":
            parsed_zone = timezone_name(token)
            if parsed_zone is None:
                return Usage(
                    f"'{_short(token)}' is not a time zone I know; use an IANA name such as Asia/Seoul "
                    "or America/New_York.",
                    spec,
                )
            zone = parsed_zone
        else:
            return Usage(f"I did not understand '{_short(token)}'.", spec)
    return Subscribe(at, zone, lead)


def _time(token: str) -> dt.time | None:
    match = _TIME.match(token)
    if not match:
        return None
    hour, minute = int(match["h"]), int(match["m"])
    if hour > 23 or minute > 59:
        return None
    return dt.time(hour, minute)


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


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
