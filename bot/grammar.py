"""What every command's parser shares: the catalogue facts it may ask for, the usage error it may return, and
the small readers of numbers, dates, ids, pages, argument words and near misses.

A parser turns the text after a command word into its command, or returns None when the text is not that
command's arguments (so the whole text is searched for), or a `Usage` when the text plainly tries to be the
arguments but is malformed. Parsing never raises.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from bot.i18n import N_, Messages, messages
from bot.search import edit_distance
from bot.words import VOCABULARY, Kind, key


class Known(Protocol):
    """What the parser needs to know of the catalogue to tell a command from a search."""

    def is_pledge_id(self, text: str) -> bool:
        """True when `text` is the id of a pledge (in any case)."""
        ...

    def category(self, text: str) -> str | None:
        """The category named `text` (in English or Korean, any case) as stored in English, or None."""
        ...

    def category_names(self) -> list[tuple[str, str | None]]:
        """Every category as stored in English, with its Korean name when the data gives one."""
        ...

    def officials(self, text: str) -> tuple[str, ...]:
        """The speakers `text` wholly names (an id, a name, a place, an office and place), or ()."""
        ...


@dataclass(frozen=True)
class Usage:
    """A command whose arguments are wrong: what was wrong (a message and its values), and which command's
    usage line and example to show (`command`, a registered name)."""

    template: str
    command: str
    values: tuple[tuple[str, object], ...] = ()

    def text(self, m: Messages | None = None) -> str:
        """What was wrong, in `m`'s language (English by default)."""
        return (m or messages()).gettext(self.template).format(**dict(self.values))

    @property
    def message(self) -> str:
        """What was wrong, in English."""
        return self.text()


NO_SUCH_PLEDGE = N_("There is no pledge with the id “{id}”.")
WHICH_PLEDGE = N_("Which pledge? Give its id.")
NOT_A_DATE = N_("'{text}' is not a date in the form YYYY-MM-DD.")
NOT_A_DAY = N_("{text} is not a real calendar date.")

_PAGE_WORDS = "|".join(re.escape(form) for form in VOCABULARY.get(Kind.ARGUMENT, "page").forms)
_PAGE = re.compile(rf"^(?P<rest>.*?)\s+(?:{_PAGE_WORDS})\s+(?P<page>\d{{1,4}})$", re.IGNORECASE)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
URL = re.compile(r"https?://\S+", re.IGNORECASE)
# What only a pledge id looks like: words joined by hyphens, as ids are written (`inter-korean-hotline`).
ID_SHAPED = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)+", re.IGNORECASE | re.ASCII)


def no_such_pledge(text: str, command: str) -> Usage:
    """The usage error of an id-shaped word that is no pledge's id."""
    return Usage(NO_SUCH_PLEDGE, command, (("id", short(text.lower())),))


def pledge_argument(rest: str, known: Known, command: str) -> tuple[str, str] | Usage | None:
    """The pledge id a command's arguments begin with and what follows; a `Usage` for no arguments or an
    id-shaped word that is no pledge's; None for words, which are a search ("rate limits")."""
    if not rest:
        return Usage(WHICH_PLEDGE, command)
    first, _, after = rest.partition(" ")
    if known.is_pledge_id(first):
        return first.lower(), after.strip()
    if ID_SHAPED.fullmatch(first):
        return no_such_pledge(first, command)
    return None


def calendar_date(text: str, command: str) -> dt.date | Usage:
    """`text` as a YYYY-MM-DD date, or the usage error saying why it is not one."""
    if not _DATE.fullmatch(text):
        return Usage(NOT_A_DATE, command, (("text", short(text)),))
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return Usage(NOT_A_DAY, command, (("text", text),))


def page(text: str) -> tuple[str, int]:
    """`text` without a trailing "page N" (or a leading "page N"), and N (1 when there is none)."""
    match = _PAGE.match(text)
    if match:
        return match["rest"].strip(), max(1, int(match["page"]))
    if argument(text.partition(" ")[0]) == "page":
        _, number_text, *rest = [*text.split(" ", 2), ""]
        found = number(number_text)
        if found is not None:
            return (rest[0] if rest else "").strip(), max(1, found)
    return text, 1


def argument(token: str) -> str:
    """The English form of `token` when it is a word of arguments in either language ("주제" is "topic"),
    else `token` in lower case: what parsers compare a typed word with."""
    word = VOCABULARY.exact(Kind.ARGUMENT, token)
    return word.en if word else token.lower()


def near_misses(text: str, names: Iterable[str]) -> list[str]:
    """The names `text` misspells, closest first, by the rule search corrects a word by (`bot.search`): at
    least four letters, the first one kept, within one edit up to six letters and two beyond (case and spaces
    aside, so "northkorea" is a near miss of "North Korea")."""
    typed = key(text)
    if len(typed) < 4:
        return []
    allowed = 1 if len(typed) <= 6 else 2
    scored = []
    for name in dict.fromkeys(names):
        form = key(name)
        # The length first: a 10 kB argument is compared with nothing.
        if form[:1] == typed[:1] and abs(len(form) - len(typed)) <= allowed:
            distance = edit_distance(typed, form)
            if distance <= allowed:
                scored.append((distance, name))
    return [name for _, name in sorted(scored)]


def number(text: str) -> int | None:
    """`text` as a whole number of at most four decimal digits (in any script), else None.

    `str.isdigit` also accepts digits `int` cannot read (Kharoshthi 𐩀, which NFKC leaves as it is), and an
    unbounded run of digits overflows SQLite or `int`; both used to end as an internal error.
    """
    return int(text) if text.isdecimal() and len(text) <= 4 else None


def numeric(token: str) -> bool:
    """True when `token` begins like a number, a date or a time of day (a digit, perhaps after a sign)."""
    return token.lstrip("+-")[:1].isdigit()


def short(text: str, limit: int = 40) -> str:
    """`text` cut to `limit` characters with an ellipsis, for quoting a user's input back."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
