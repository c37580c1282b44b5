"""The lookup commands, declared once: search (the fallback), show, list, on, upcoming, history, card, cite.

Each is a typed command object, the parser of its arguments and its registration; `bot.lookups.answers`
answers them.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from bot import dates, grammar
from bot.dates import MonthDay
from bot.grammar import Known, Usage
from bot.i18n import N_, NP_
from bot.registry import Command, CommandSpec, Option, OptionKind
from bot.words import VOCABULARY, Kind

MAX_UPCOMING_DAYS = 366


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
    """List pledges, optionally in one category and with one status (both as stored), or of the officials
    some words name (`speakers`, with the words as typed in `named`)."""

    category: str | None = None
    status: str | None = None
    page: int = 1
    speakers: tuple[str, ...] = ()
    named: str = ""


@dataclass(frozen=True)
class On:
    """What happened on a date (a `MonthDay` typed without its year: the answer picks the year), only what
    matches `words` when they say anything, and `query`, the whole search it was typed in ("" for `on`), to
    answer as a search when nothing that day matches."""

    day: dt.date | MonthDay
    words: str = ""
    query: str = ""


@dataclass(frozen=True)
class Upcoming:
    """Occurrences in the next `days` days."""

    days: int = 30


@dataclass(frozen=True)
class History:
    """The latest edits: of one pledge, or of the whole catalogue when `pledge_id` is None."""

    pledge_id: str | None = None


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


def _search(text: str, known: Known) -> Command:
    query, page = grammar.page(text)
    # A date in a search asks what happened that day; one no calendar has ("Feb 30") is just words here.
    found = dates.find(query) if page == 1 else None
    if found is not None and found.day is not None:
        return On(found.day, found.rest, query)
    return Search(query, page)


def _show(rest: str, known: Known) -> Command | None:
    if not rest:
        return Usage(grammar.WHICH_PLEDGE, "show")
    if known.is_pledge_id(rest):
        return Show(rest.lower())
    # An id that is not (or no longer) in the catalogue is told so, rather than searched for as words.
    if grammar.ID_SHAPED.fullmatch(rest):
        return grammar.no_such_pledge(rest, "show")
    return None


def _list(rest: str, known: Known) -> Command | None:
    rest, page = grammar.page(rest)
    if not rest:
        return ListPledges(page=page)
    if (category := known.category(rest)) is not None:
        return ListPledges(category, None, page)
    # A status is the whole rest, or ends it after a category.
    match = VOCABULARY.suffix(Kind.STATUS, rest)
    if match is None:
        speakers = known.officials(rest)
        if speakers:
            return ListPledges(page=page, speakers=speakers, named=rest)
        return _no_category(rest, known) or _no_status(rest)
    before, status = match
    if not before:
        return ListPledges(None, status.en, page)
    category = known.category(before)
    return ListPledges(category, status.en, page) if category is not None else _no_category(before, known)


def _no_category(text: str, known: Known) -> Usage | None:
    """The usage error of what plainly tries to be a category and is none: a near miss of a category's name
    ("defence"), or one word with hyphens, as a category's slug is written ("nonsense-category"); None for
    words, which are a search ("list hotline")."""
    names = known.category_names()
    near = grammar.near_misses(text, (name for pair in names for name in pair if name))
    if near:
        return Usage(
            N_("There is no category “{text}”; did you mean {near}?"),
            "list",
            (("text", grammar.short(text)), ("near", near[0])),
        )
    if grammar.ID_SHAPED.fullmatch(text):
        listed = ", ".join(f"{en} ({ko})" if ko else en for en, ko in names)
        return Usage(
            N_("There is no category “{text}”; the categories are: {categories}."),
            "list",
            (("text", grammar.short(text)), ("categories", listed)),
        )
    return None


def _no_status(text: str) -> Usage | None:
    """The usage error of a near miss of a status ("kpet"); None for other words."""
    near = grammar.near_misses(text, (form for word in VOCABULARY.of(Kind.STATUS) for form in word.forms))
    if not near:
        return None
    return Usage(
        N_("There is no status “{text}”; did you mean {near}?"),
        "list",
        (("text", grammar.short(text)), ("near", near[0])),
    )


# Words that can only mean a date: "on yesterday" or "on May 26" is told how to write one, not searched for.
_DATE_WORDS = frozenset(
    {
        *("today", "tomorrow", "yesterday", "오늘", "내일", "어제"),
        *("january", "february", "march", "april", "may", "june", "july", "august", "september"),
        *("october", "november", "december"),
        *("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
    }
)


def _on(rest: str, known: Known) -> Command | None:
    if not rest:
        return Usage(N_("Which date? Give it as YYYY-MM-DD."), "on")
    found = dates.find(rest)
    if found is not None and not found.rest:
        if found.day is None:
            return Usage(grammar.NOT_A_DAY, "on", (("text", grammar.short(found.typed)),))
        return On(found.day)
    first = rest.split()[0]
    if not (grammar.numeric(first) or first.casefold() in _DATE_WORDS):
        return None  # "on the border": words, not a date
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", rest):
        return Usage(grammar.NOT_A_DATE, "on", (("text", grammar.short(rest)),))
    try:
        return On(dt.date.fromisoformat(rest))
    except ValueError:
        return Usage(grammar.NOT_A_DAY, "on", (("text", rest),))


def _upcoming(rest: str, known: Known) -> Command | None:
    if not rest:
        return Upcoming()
    if not grammar.numeric(rest.split()[0]):
        return None  # "upcoming elections": words, not a number of days
    days = grammar.number(rest)
    if days is None or not 1 <= days <= MAX_UPCOMING_DAYS:
        return Usage(
            N_("The number of days must be a whole number from 1 to {max}."),
            "upcoming",
            (("max", MAX_UPCOMING_DAYS),),
        )
    return Upcoming(days)


def _history(rest: str, known: Known) -> Command | None:
    if not rest:
        return History()
    if known.is_pledge_id(rest):
        return History(rest.lower())
    # As for `show`: an id no pledge has (or no longer has) is told so; words are a search.
    return grammar.no_such_pledge(rest, "history") if grammar.ID_SHAPED.fullmatch(rest) else None


def _quote_of(kind: type[Card] | type[Cite], name: str):
    """The arguments of `card` and `cite`: a pledge id, then perhaps which of its quotes (1 for the lead)."""

    def parse(rest: str, known: Known) -> Command | None:
        words = rest.split()
        if not words:
            return Usage(grammar.WHICH_PLEDGE, name)
        if len(words) > 2:
            return None
        n = 1
        if len(words) == 2:
            number = grammar.number(words[1])
            if number is None:
                return None  # "card games are fun": words, not an id and a number
            if number < 1:
                return Usage(N_("Which quote? Give its number, 1 for the lead quote."), name)
            n = number
        if known.is_pledge_id(words[0]):
            return kind(words[0].lower(), n)
        if grammar.ID_SHAPED.fullmatch(words[0]):
            return grammar.no_such_pledge(words[0], name)
        return None

    return parse


def _pledge_option(description: str, *, required: bool) -> Option:
    return Option(NP_("option", "pledge_id"), OptionKind.PLEDGE, description, required=required, maximum=100)


_WHICH_QUOTE = Option(
    NP_("option", "quote"),
    OptionKind.NUMBER,
    N_("Which of its quotes, 1 for the lead quote (default)"),
    minimum=1,
    maximum=9999,
    default="1",
)

COMMANDS = (
    CommandSpec(
        "search",
        "/pledge <words>",
        N_("Find a pledge: its exact quote, date, source and status"),
        "/pledge hotline",
        _search,
        (Search,),
        section="",
        menu_name="pledge",
        options=(
            Option(
                NP_("option", "query"),
                OptionKind.QUERY,
                N_("Words to search for, or pick a suggested pledge"),
                required=True,
                minimum=1,
                maximum=200,
            ),
        ),
    ),
    CommandSpec(
        NP_("command", "show"),
        "/pledge show <pledge-id>",
        N_("Every quote of one pledge"),
        "/pledge show inter-korean-hotline",
        _show,
        (Show,),
        options=(_pledge_option(N_("The pledge to show (start typing to pick one)"), required=True),),
        quick=True,
    ),
    CommandSpec(
        NP_("command", "list"),
        "/pledge list [category] [status]",
        N_("List pledges, optionally in one category or with one status, or of an official or a region"),
        "/pledge list defense",
        _list,
        (ListPledges,),
        options=(
            Option(
                NP_("option", "category"),
                OptionKind.TEXT,
                N_("Only pledges in this category"),
                minimum=1,
                maximum=100,
            ),
            Option(
                NP_("option", "status"), OptionKind.STATUS, N_("Only pledges whose latest status is this")
            ),
        ),
    ),
    CommandSpec(
        NP_("command", "on"),
        "/pledge on <date>",
        N_("What was pledged or happened on a date"),
        "/pledge on 2025-05-26",
        _on,
        (On,),
        options=(
            Option(
                NP_("option", "date"),
                # Text, not a word: "26 May 2025" and "2025년 5월 26일" are dates with spaces in them.
                OptionKind.TEXT,
                N_("A date, e.g. 2025-05-26, 26 May 2025 or 2025년 5월 26일"),
                required=True,
                minimum=1,
                maximum=40,
            ),
        ),
    ),
    CommandSpec(
        NP_("command", "upcoming"),
        "/pledge upcoming [days]",
        N_("Anniversaries and milestones coming up (default 30 days)"),
        "/pledge upcoming 90",
        _upcoming,
        (Upcoming,),
        options=(
            Option(
                NP_("option", "days"),
                OptionKind.NUMBER,
                N_("How many days ahead to look (default 30)"),
                minimum=1,
                maximum=MAX_UPCOMING_DAYS,
            ),
        ),
    ),
    CommandSpec(
        NP_("command", "history"),
        "/pledge history [pledge-id]",
        N_("The latest edits to the catalogue, or to one pledge"),
        "/pledge history inter-korean-hotline",
        _history,
        (History,),
        options=(_pledge_option(N_("The pledge to show (start typing to pick one)"), required=False),),
    ),
    CommandSpec(
        NP_("command", "card"),
        "/pledge card <pledge-id> [n]",
        N_("Make a PNG quote card of a pledge's lead (or n-th) quote"),
        "/pledge card inter-korean-hotline",
        _quote_of(Card, "card"),
        (Card,),
        options=(
            _pledge_option(N_("The pledge to show (start typing to pick one)"), required=True),
            _WHICH_QUOTE,
        ),
    ),
    CommandSpec(
        NP_("command", "cite"),
        "/pledge cite <pledge-id> [n]",
        N_("Copy-ready citations of a pledge's lead (or n-th) quote, in two house styles"),
        "/pledge cite inter-korean-hotline",
        _quote_of(Cite, "cite"),
        (Cite,),
        options=(
            _pledge_option(N_("The pledge to show (start typing to pick one)"), required=True),
            _WHICH_QUOTE,
        ),
    ),
)
