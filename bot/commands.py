"""The command grammar, defined once: parsing, and the specs that help, README and adapters are built from.

Everything after `/pledge` is parsed here, by one rule: a command word (see `bot.words`, in English or Korean)
is a command only when its arguments parse; otherwise the whole text is a search, so readers can search for
"history issues" or "show hotline". An argument that plainly tries to be what the command takes (a date for
`on`, a number for `upcoming`, a time or zone for `subscribe`) but is malformed becomes a `Usage` with a
sentence for the user instead. Parsing never raises.
"""

from __future__ import annotations

import datetime as dt
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.i18n import N_, Messages, languages, messages
from bot.search import clean
from bot.words import VOCABULARY, Kind, Word

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
    # A desk command: shown in help to editors only, and refused to everyone else.
    edits: bool = False

    @property
    def word(self) -> Word | None:
        """The command word users type, with its Korean form; None for search, which has none."""
        words = [w for w in VOCABULARY.of(Kind.COMMAND) if w.en == self.name]
        return words[0] if words else None


SPECS: dict[str, CommandSpec] = {
    spec.name: spec
    for spec in (
        CommandSpec(
            "search",
            "/pledge <words>",
            N_("Find a pledge: its exact quote, date, source and status"),
            "공약 검색: 원문 인용, 날짜, 출처, 이행 상태",
            "/pledge hotline",
        ),
        CommandSpec(
            "show",
            "/pledge show <pledge-id>",
            N_("Every quote of one pledge"),
            "공약 하나의 모든 인용",
            "/pledge show inter-korean-hotline",
        ),
        CommandSpec(
            "list",
            "/pledge list [category] [status]",
            N_("List pledges, optionally in one category or with one status"),
            "공약 목록 (분야별, 이행 상태별 가능)",
            "/pledge list defense",
        ),
        CommandSpec(
            "on",
            "/pledge on <YYYY-MM-DD>",
            N_("What was pledged or happened on a date"),
            "특정 날짜의 공약과 사건",
            "/pledge on 2025-05-26",
        ),
        CommandSpec(
            "upcoming",
            "/pledge upcoming [days]",
            N_("Anniversaries and milestones coming up (default 30 days)"),
            "다가오는 기념일과 주요 일정 (기본 30일)",
            "/pledge upcoming 90",
        ),
        CommandSpec(
            "subscribe",
            "/pledge subscribe [HH:MM] [Area/City] [ahead <days>] [topic <category>] [pledge <id>] "
            "[updates now]",
            N_("Post a daily digest of anniversaries in this channel (default 09:00 Asia/Seoul)"),
            "이 채널에 매일 기념일 알림 게시 (기본 09:00 Asia/Seoul)",
            "/pledge subscribe 08:30 America/New_York",
            manages=True,
        ),
        CommandSpec(
            "unsubscribe",
            "/pledge unsubscribe",
            N_("Stop this channel's digest"),
            "이 채널의 알림 중지",
            "/pledge unsubscribe",
            manages=True,
        ),
        CommandSpec(
            "subscriptions",
            "/pledge subscriptions [all]",
            N_("Show this channel's digest schedule"),
            "이 채널의 알림 설정 보기",
            "/pledge subscriptions",
        ),
        CommandSpec(
            "history",
            "/pledge history [pledge-id]",
            N_("The latest edits to the catalogue, or to one pledge"),
            "최근 수정 이력 (공약별 가능)",
            "/pledge history inter-korean-hotline",
        ),
        CommandSpec(
            "language",
            "/pledge language <language-code>",
            N_("Set the language of this channel's shared cards and digests"),
            "이 채널의 공유 카드와 알림 언어 설정",
            "/pledge language ko",
            manages=True,
        ),
        CommandSpec(
            "card",
            "/pledge card <pledge-id> [n]",
            N_("Make a PNG quote card of a pledge's lead (or n-th) quote"),
            "공약의 대표(또는 n번째) 인용을 PNG 카드로 만들기",
            "/pledge card inter-korean-hotline",
        ),
        CommandSpec(
            "cite",
            "/pledge cite <pledge-id> [n]",
            N_("Copy-ready citations of a pledge's lead (or n-th) quote, in two house styles"),
            "공약의 대표(또는 n번째) 인용을 두 가지 기사 표기로",
            "/pledge cite inter-korean-hotline",
        ),
        CommandSpec(
            "rate",
            "/pledge rate <pledge-id> <status> <source-url> [on YYYY-MM-DD] [note]",
            N_("Editors: add a dated, sourced status to a pledge"),
            "편집자: 공약에 날짜와 출처가 있는 이행 상태 추가",
            "/pledge rate inter-korean-hotline in the works https://example.com/news on 2026-05-10",
            edits=True,
        ),
        CommandSpec(
            "quote",
            '/pledge quote <pledge-id> "<words>" <source-url> [YYYY-MM-DD]',
            N_("Editors: add a quote, checked word for word against its source"),
            "편집자: 출처와 한 글자씩 대조한 인용 추가",
            '/pledge quote inter-korean-hotline "military hotlines" https://example.com/news',
            edits=True,
        ),
        CommandSpec(
            "new",
            '/pledge new <pledge-id> title="…" category="…" words="…" url=<source-url> [summary="…"] '
            '[aliases="…; …"] [aliases_ko="…"] [said_on=YYYY-MM-DD]',
            N_("Editors: add a pledge with its first quote"),
            "편집자: 첫 인용과 함께 새 공약 추가",
            '/pledge new build-a-bridge title="Build a bridge" category=Infrastructure words="a bridge" '
            "url=https://example.com/news",
            edits=True,
        ),
        CommandSpec(
            "milestone",
            "/pledge milestone <pledge-id> <kind> <YYYY-MM-DD> <title> [source-url]",
            N_("Editors: add a deadline or a scheduled event to a pledge"),
            "편집자: 공약에 기한이나 예정된 행사 추가",
            "/pledge milestone inter-korean-hotline deadline 2026-12-31 Hotline restored by year end",
            edits=True,
        ),
        CommandSpec(
            "undo",
            "/pledge undo <edit-id>",
            N_("Editors: reverse one desk edit (the history keeps both)"),
            "편집자: 편집 하나 되돌리기 (이력에는 둘 다 남음)",
            "/pledge undo 42",
            edits=True,
        ),
        CommandSpec(
            "editors",
            "/pledge editors [add/remove <user>]",
            N_("Who may edit the catalogue; admins add and remove editors"),
            "카탈로그를 수정할 수 있는 사람; 관리자가 편집자를 추가·삭제",
            "/pledge editors add @reporter",
            manages=True,
        ),
        CommandSpec("help", "/pledge help", N_("This help"), "도움말", "/pledge help"),
    )
}
# What help, the README, the Slack usage hint and the Discord commands show, in this order.
COMMANDS: tuple[CommandSpec, ...] = tuple(SPECS.values())
STATUSES: tuple[Word, ...] = VOCABULARY.of(Kind.STATUS)


class Known(Protocol):
    """What the parser needs to know of the catalogue to tell a command from a search."""

    def is_pledge_id(self, text: str) -> bool:
        """True when `text` is the id of a pledge (in any case)."""
        ...

    def category(self, text: str) -> str | None:
        """The category named `text` (in English or Korean, any case) as stored in English, or None."""
        ...


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
    """List pledges, optionally in one category and with one status (both as stored)."""

    category: str | None = None
    status: str | None = None
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
    # As typed; the core checks them against the catalogue (with suggestions) before anything is written.
    topics: tuple[str, ...] = ()
    pledges: tuple[str, ...] = ()
    # `updates now`: the desk's changes within a minute rather than in the next day's digest.
    updates_now: bool = False


@dataclass(frozen=True)
class Unsubscribe:
    """Stop the channel's digest."""


@dataclass(frozen=True)
class Subscriptions:
    """Show the channel's digest schedule, or (`everywhere`, managers only) every channel's in the place."""

    everywhere: bool = False


@dataclass(frozen=True)
class History:
    """The latest edits: of one pledge, or of the whole catalogue when `pledge_id` is None."""

    pledge_id: str | None = None


@dataclass(frozen=True)
class Language:
    """Set the language of the channel's public posts (a language code with a catalogue)."""

    language: str


@dataclass(frozen=True)
class Card:
    """A PNG quote card of one quote of a pledge (`n` counts from 1, the lead quote)."""

    pledge_id: str
    n: int = 1


@dataclass(frozen=True)
class Cite:
    """Copy-ready citations of one quote of a pledge (`n` counts from 1, the lead quote)."""

    pledge_id: str
    n: int = 1


@dataclass(frozen=True)
class Editors:
    """List who may edit the catalogue, or (`verb` "add"/"remove", admins only) change the editors list."""

    verb: str = ""
    user: str = ""


@dataclass(frozen=True)
class Rate:
    """Add a status history entry: the evidence at `url`, dated `on` or by the page."""

    pledge_id: str
    status: str
    url: str
    on: dt.date | None = None
    note: str = ""


@dataclass(frozen=True)
class AddQuote:
    """Add a quote checked against the page at `url`; with no words, open the form (for the pledge, if
    given)."""

    pledge_id: str = ""
    words: str = ""
    url: str = ""
    said_on: dt.date | None = None


@dataclass(frozen=True)
class NewPledge:
    """Add a pledge with its first quote, from `key=value` fields; with none, open the form."""

    values: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class AddMilestone:
    """Add a deadline or scheduled event to a pledge; with no date, open the form (for the pledge, if
    given)."""

    pledge_id: str = ""
    kind: str = ""
    day: dt.date | None = None
    title: str = ""
    url: str = ""


@dataclass(frozen=True)
class Undo:
    """Reverse one desk edit by its id."""

    edit_id: int


@dataclass(frozen=True)
class Help:
    """Show help; `hint` says why, when help answers something that was not a request for it."""

    hint: str = ""


@dataclass(frozen=True)
class Usage:
    """A command whose arguments are wrong: what was wrong (a message and its values), and how to write it."""

    template: str
    spec: CommandSpec
    values: tuple[tuple[str, object], ...] = ()

    def text(self, m: Messages | None = None) -> str:
        """What was wrong, in `m`'s language (English by default)."""
        return (m or messages()).gettext(self.template).format(**dict(self.values))

    @property
    def message(self) -> str:
        """What was wrong, in English."""
        return self.text()


Command = (
    Search
    | Show
    | ListPledges
    | On
    | Upcoming
    | Subscribe
    | Unsubscribe
    | Subscriptions
    | History
    | Language
    | Card
    | Cite
    | Editors
    | Rate
    | AddQuote
    | NewPledge
    | AddMilestone
    | Undo
    | Help
    | Usage
)

_PAGE = re.compile(r"^(?P<rest>.*?)\s+page\s+(?P<page>\d{1,4})$", re.IGNORECASE)
_TIME = re.compile(r"^(?P<h>\d{1,2}):(?P<m>\d{2})$")
# What only a pledge id looks like: words joined by hyphens, as ids are written (`inter-korean-hotline`).
_ID_SHAPED = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)+", re.IGNORECASE | re.ASCII)


def parse(text: str, known: Known) -> Command:
    """Parse the text after `/pledge` into a command; `known` tells pledge ids and categories."""
    text = clean(text)
    if text.lower().startswith("/pledge"):
        text = text[len("/pledge") :].strip()
    if not text:
        return Help()
    match = VOCABULARY.prefix(Kind.COMMAND, text)
    command = _ARGUMENTS[match[0].en](match[1], known) if match else None
    if command is not None:
        return command
    query, page = _page(text)
    return Search(query, page)


# Each parses a command's arguments into the command, or returns None when they do not parse, so that the
# whole text is searched for.
Arguments = Callable[[str, Known], Command | None]


def _help(rest: str, known: Known) -> Command | None:
    return None if rest else Help()


def _show(rest: str, known: Known) -> Command | None:
    if rest and known.is_pledge_id(rest):
        return Show(rest.lower())
    # An id that is not (or no longer) in the catalogue is told so, rather than searched for as words.
    if _ID_SHAPED.fullmatch(rest):
        return Usage(
            N_("There is no pledge with the id “{id}”."), SPECS["show"], (("id", _short(rest.lower())),)
        )
    return None


def _history(rest: str, known: Known) -> Command | None:
    if not rest:
        return History()
    return History(rest.lower()) if known.is_pledge_id(rest) else None


def _list(rest: str, known: Known) -> Command | None:
    rest, page = _page(rest)
    if not rest:
        return ListPledges(page=page)
    if (category := known.category(rest)) is not None:
        return ListPledges(category, None, page)
    # A status is the whole rest, or ends it after a category.
    match = VOCABULARY.suffix(Kind.STATUS, rest)
    if match is None:
        return None
    before, status = match
    if not before:
        return ListPledges(None, status.en, page)
    category = known.category(before)
    return ListPledges(category, status.en, page) if category is not None else None


def _quote_of(kind: type[Card] | type[Cite], name: str) -> Arguments:
    """The arguments of `card` and `cite`: a pledge id, then perhaps which of its quotes (1 for the lead)."""

    def parse(rest: str, known: Known) -> Command | None:
        words = rest.split()
        if not words or len(words) > 2:
            return None
        n = 1
        if len(words) == 2:
            number = _number(words[1])
            if number is None:
                return None  # "card games are fun": words, not an id and a number
            if number < 1:
                return Usage(N_("Which quote? Give its number, 1 for the lead quote."), SPECS[name])
            n = number
        if known.is_pledge_id(words[0]):
            return kind(words[0].lower(), n)
        if _ID_SHAPED.fullmatch(words[0]):
            return Usage(
                N_("There is no pledge with the id “{id}”."), SPECS[name], (("id", _short(words[0].lower())),)
            )
        return None

    return parse


def _language(rest: str, known: Known) -> Command | None:
    # Only a language with a catalogue makes this a command; "language barrier" is a search.
    code = _LANGUAGE_NAMES.get(rest.casefold(), rest.casefold())
    return Language(code) if code in languages() else None


# Names users may type for a language besides its code.
_LANGUAGE_NAMES = {"english": "en", "영어": "en", "korean": "ko", "한국어": "ko", "한국말": "ko"}


# A person as typed: a Slack or Discord mention (<@U0123>, <@U0123|name>, <@!1234>), or a bare user id
# (Slack's capitals and digits, Discord's digits), always with a digit, so a name such as "kim" is not one.
_MENTION = re.compile(r"<@!?(?P<id>[A-Z0-9]{2,32})(?:\|[^>]*)?>", re.ASCII)
_USER_ID = re.compile(r"(?=[A-Z]*[0-9])[A-Z0-9]{2,32}", re.ASCII)


def _editors(rest: str, known: Known) -> Command | None:
    if not rest:
        return Editors()
    match = VOCABULARY.prefix(Kind.VERB, rest)
    if match is None:
        return None  # "editors of the times": words, not a change to the list
    verb, who = match[0].en, match[1].strip()
    mention = _MENTION.fullmatch(who)
    if mention:
        return Editors(verb, mention["id"])
    if _USER_ID.fullmatch(who):
        return Editors(verb, who)
    return Usage(N_("Name one person: mention them (@name) or give their user id."), SPECS["editors"])


def _unsubscribe(rest: str, known: Known) -> Command | None:
    return None if rest else Unsubscribe()


def _subscriptions(rest: str, known: Known) -> Command | None:
    if rest.strip().lower() in ("all", "전체"):
        return Subscriptions(everywhere=True)
    return None if rest else Subscriptions()


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


def _on(rest: str, known: Known) -> Command | None:
    spec = SPECS["on"]
    if not rest:
        return Usage(N_("Which date? Give it as YYYY-MM-DD."), spec)
    first = rest.split()[0]
    if not (_numeric(first) or first.casefold() in _DATE_WORDS):
        return None  # "on the border": words, not a date
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", rest):
        return Usage(N_("'{text}' is not a date in the form YYYY-MM-DD."), spec, (("text", _short(rest)),))
    try:
        return On(dt.date.fromisoformat(rest))
    except ValueError:
        return Usage(N_("{text} is not a real calendar date."), spec, (("text", rest),))


def _upcoming(rest: str, known: Known) -> Command | None:
    spec = SPECS["upcoming"]
    if not rest:
        return Upcoming()
    if not _numeric(rest.split()[0]):
        return None  # "upcoming elections": words, not a number of days
    days = _number(rest)
    if days is None or not 1 <= days <= MAX_UPCOMING_DAYS:
        return Usage(
            N_("The number of days must be a whole number from 1 to {max}."),
            spec,
            (("max", MAX_UPCOMING_DAYS),),
        )
    return Upcoming(days)


def _subscribe(rest: str, known: Known) -> Command | None:
    spec = SPECS["subscribe"]
    at, zone, lead = DEFAULT_TIME, DEFAULT_TIMEZONE, 0
    tokens = rest.split()
    topics: list[str] = []
    pledges: list[str] = []
    updates_now = False
    if tokens and not (_numeric(tokens[0]) or tokens[0].lower() in _FILTER_WORDS or _zone_like(tokens[0])):
        return None  # "subscribe to newsletters": words, not a time, a zone or a lead time
    while tokens:
        token = tokens.pop(0)
        if token.lower() in ("topic", "pledge"):
            if not tokens or tokens[0].lower() in _FILTER_WORDS:
                return Usage(
                    N_("After '{word}', name a topic or a pledge id."), spec, (("word", token.lower()),)
                )
            take = 1
            if token.lower() == "topic":
                # A topic may be several words ("north korea"): the longest run that names a category,
                # else one word, which the core answers with the list of topics.
                run = 0
                while run < len(tokens) and tokens[run].lower() not in _FILTER_WORDS:
                    run += 1
                take = next((n for n in range(run, 0, -1) if known.category(" ".join(tokens[:n]))), 1)
            value = " ".join(tokens[:take])
            del tokens[:take]
            (topics if token.lower() == "topic" else pledges).append(value)
        elif token.lower() == "updates":
            if not tokens or tokens[0].lower() not in ("now", "daily"):
                return Usage(N_("After 'updates', say now or daily."), spec)
            updates_now = tokens.pop(0).lower() == "now"
        elif token.lower() == "ahead":
            days = _number(tokens.pop(0)) if tokens else None
            if days is None or not 0 <= days <= MAX_LEAD_DAYS:
                return Usage(
                    N_("After 'ahead', give a number of days from 0 to {max}."),
                    spec,
                    (("max", MAX_LEAD_DAYS),),
                )
            lead = days
        elif _TIME.match(token):
            parsed = _time(token)
            if parsed is None:
                return Usage(
                    N_("'{text}' is not a time of day; use HH:MM from 00:00 to 23:59."),
                    spec,
                    (("text", _short(token)),),
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
                    spec,
                    (("text", _short(token)),),
                )
            zone = parsed_zone
        else:
            return Usage(N_("I did not understand '{text}'."), spec, (("text", _short(token)),))
    return Subscribe(at, zone, lead, tuple(topics), tuple(pledges), updates_now)


_FILTER_WORDS = frozenset({"ahead", "topic", "pledge", "updates"})


def _time(token: str) -> dt.time | None:
    match = _TIME.match(token)
    if not match:
        return None
    hour, minute = int(match["h"]), int(match["m"])
    if hour > 23 or minute > 59:
        return None
    return dt.time(hour, minute)


_URL = re.compile(r"https?://\S+", re.IGNORECASE)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# A quote's words between straight or curly double quotes, then the link, then perhaps a date.
_QUOTED = re.compile(r'^["“](?P<words>.+)["”]\s+(?P<url>\S+)(?:\s+(?P<date>\S+))?$', re.DOTALL)
# Field names the console's `new` takes (the form's field names).
NEW_FIELDS = frozenset(
    {
        "title",
        "title_ko",
        "category",
        "summary",
        "aliases",
        "aliases_ko",
        "speaker",
        "words",
        "url",
        "said_on",
    }
)


def _pledge_argument(rest: str, known: Known, name: str) -> tuple[str, str] | Command | None:
    """The pledge id a desk command begins with and what follows; a `Usage` for an id-shaped word that
    is no pledge's; None for words, which are a search ("rate limits")."""
    first, _, after = rest.partition(" ")
    if known.is_pledge_id(first):
        return first.lower(), after.strip()
    if _ID_SHAPED.fullmatch(first):
        return Usage(
            N_("There is no pledge with the id “{id}”."), SPECS[name], (("id", _short(first.lower())),)
        )
    return None


def _calendar_date(text: str, spec: CommandSpec) -> dt.date | Usage:
    if not _DATE.fullmatch(text):
        return Usage(N_("'{text}' is not a date in the form YYYY-MM-DD."), spec, (("text", _short(text)),))
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return Usage(N_("{text} is not a real calendar date."), spec, (("text", text),))


def _rate(rest: str, known: Known) -> Command | None:
    spec = SPECS["rate"]
    found = _pledge_argument(rest, known, "rate")
    if not isinstance(found, tuple):
        return found
    pledge_id, rest = found
    match = VOCABULARY.prefix(Kind.STATUS, rest)
    if match is None:
        statuses = ", ".join(w.en for w in STATUSES)
        return Usage(N_("Give a status: one of {statuses}."), spec, (("statuses", statuses),))
    status, rest = match
    url, _, rest = rest.partition(" ")
    if not _URL.fullmatch(url):
        return Usage(N_("After the status, give the source's link (http:// or https://)."), spec)
    on = None
    words = rest.split()
    if words and words[0].lower() in ("on", "날짜"):
        if len(words) < 2:
            return Usage(N_("Which date? Give it as YYYY-MM-DD."), spec)
        parsed = _calendar_date(words[1], spec)
        if isinstance(parsed, Usage):
            return parsed
        on, words = parsed, words[2:]
    return Rate(pledge_id, status.en, url, on, " ".join(words))


def _quote(rest: str, known: Known) -> Command | None:
    spec = SPECS["quote"]
    if not rest:
        return AddQuote()
    found = _pledge_argument(rest, known, "quote")
    if not isinstance(found, tuple):
        return found
    pledge_id, rest = found
    if not rest:
        return AddQuote(pledge_id)  # the form, for that pledge
    match = _QUOTED.match(rest)
    if match is None:
        return Usage(N_("Give the exact words in double quotes, then the source's link."), spec)
    if not _URL.fullmatch(match["url"]):
        return Usage(N_("After the words, give the source's link (http:// or https://)."), spec)
    said_on = None
    if match["date"]:
        parsed = _calendar_date(match["date"], spec)
        if isinstance(parsed, Usage):
            return parsed
        said_on = parsed
    return AddQuote(pledge_id, match["words"].strip(), match["url"], said_on)


def _new(rest: str, known: Known) -> Command | None:
    if not rest:
        return NewPledge()
    first, _, after = rest.partition(" ")
    if not _ID_SHAPED.fullmatch(first) or "=" not in after:
        return None  # "new policies": words, not a pledge's fields
    pairs = _pairs(after)
    if pairs is None:
        return Usage(N_("Give each field as name=value, in double quotes when it has spaces."), SPECS["new"])
    unknown = sorted(set(pairs) - NEW_FIELDS)
    if unknown:
        return Usage(
            N_("Unknown field '{name}'; the fields are: {fields}."),
            SPECS["new"],
            (("name", _short(unknown[0])), ("fields", ", ".join(sorted(NEW_FIELDS)))),
        )
    return NewPledge((("id", first.lower()), *sorted(pairs.items())))


def _pairs(text: str) -> dict[str, str] | None:
    """`name=value` fields, a value in double quotes when it has spaces; None when they do not parse."""
    try:
        tokens = shlex.split(text.replace("“", '"').replace("”", '"'))
    except ValueError:
        return None
    pairs = {}
    for token in tokens:
        key, sep, value = token.partition("=")
        if not sep:
            return None
        pairs[key.strip().lower()] = value.strip()
    return pairs


_MILESTONE_KINDS = {"deadline": "deadline", "기한": "deadline", "event": "event", "행사": "event"}


def _milestone(rest: str, known: Known) -> Command | None:
    spec = SPECS["milestone"]
    if not rest:
        return AddMilestone()
    found = _pledge_argument(rest, known, "milestone")
    if not isinstance(found, tuple):
        return found
    pledge_id, rest = found
    if not rest:
        return AddMilestone(pledge_id)  # the form, for that pledge
    words = rest.split()
    if len(words) < 3 or words[0].lower() not in _MILESTONE_KINDS:
        return Usage(N_("Give the kind (deadline or event), the date and a title."), spec)
    day = _calendar_date(words[1], spec)
    if isinstance(day, Usage):
        return day
    url = words.pop() if _URL.fullmatch(words[-1]) else ""
    title = " ".join(words[2:])
    if not title:
        return Usage(N_("Give the kind (deadline or event), the date and a title."), spec)
    return AddMilestone(pledge_id, _MILESTONE_KINDS[words[0].lower()], day, title, url)


def _undo(rest: str, known: Known) -> Command | None:
    match = re.fullmatch(r"#?(\d{1,12})", rest)
    if match:
        return Undo(int(match[1]))
    if not rest:
        return Usage(N_("Which edit? Give its number, as /pledge history shows it."), SPECS["undo"])
    return None


_ARGUMENTS: dict[str, Arguments] = {
    "rate": _rate,
    "quote": _quote,
    "new": _new,
    "milestone": _milestone,
    "undo": _undo,
    "help": _help,
    "show": _show,
    "list": _list,
    "on": _on,
    "upcoming": _upcoming,
    "subscribe": _subscribe,
    "unsubscribe": _unsubscribe,
    "subscriptions": _subscriptions,
    "history": _history,
    "language": _language,
    "card": _quote_of(Card, "card"),
    "cite": _quote_of(Cite, "cite"),
    "editors": _editors,
}

# Words that can only mean a date: "on yesterday" or "on May 26" is told how to write one, not searched for.
_DATE_WORDS = frozenset(
    {
        *("today", "tomorrow", "yesterday", "오늘", "내일", "어제"),
        *("january", "february", "march", "april", "may", "june", "july", "august", "september"),
        *("october", "november", "december"),
        *("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
    }
)


def _numeric(token: str) -> bool:
    """True when `token` begins like a number, a date or a time of day (a digit, perhaps after a sign)."""
    return token.lstrip("+-")[:1].isdigit()


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


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
