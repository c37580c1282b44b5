"""The desk's commands, declared once: rate, quote, new, milestone, undo (editors only).

Each is a typed command object, the parser of its arguments and its registration; `bot.desk.answers` answers
them. With no arguments, `quote`, `new` and `milestone` open the desk's forms where the platform has them.
"""

from __future__ import annotations

import datetime as dt
import re
import shlex
from dataclasses import dataclass

from bot import dataset as ds
from bot import grammar
from bot.grammar import Known, Usage
from bot.i18n import N_, NP_
from bot.registry import Command, CommandSpec, Option, OptionKind, Permission
from bot.replies import Refusal
from bot.words import VOCABULARY, Kind


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
    # Reported speech, not the speaker's own words: recorded only when asked for (`paraphrase`).
    paraphrase: bool = False


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
    title_ko: str = ""


@dataclass(frozen=True)
class Undo:
    """Reverse one desk edit by its id."""

    edit_id: int


# A quote's words between straight or curly double quotes, then the link, then perhaps a date and the word
# `paraphrase`, in either order.
_QUOTED = re.compile(r'^["“](?P<words>.+)["”]\s+(?P<url>\S+)(?P<rest>(?:\s+\S+){0,2})$', re.DOTALL)
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
        "paraphrase",
        "new_category",
    }
)
# Each kind by every form of its word ("기한" is a deadline).
_MILESTONE_KINDS = {
    form: kind for kind in ("deadline", "event") for form in VOCABULARY.get(Kind.ARGUMENT, kind).forms
}
# A milestone's Korean title, anywhere after its date: title_ko="…" (quoted when it has spaces).
_TITLE_KO = re.compile(r'\s+title_ko=(?:["“](?P<quoted>[^"”]*)["”]|(?P<word>\S+))')


def _rate(rest: str, known: Known) -> Command | None:
    found = grammar.pledge_argument(rest, known, "rate")
    if not isinstance(found, tuple):
        return found
    pledge_id, rest = found
    match = VOCABULARY.prefix(Kind.STATUS, rest)
    if match is None:
        statuses = ", ".join(w.en for w in VOCABULARY.of(Kind.STATUS))
        return Usage(N_("Give a status: one of {statuses}."), "rate", (("statuses", statuses),))
    status, rest = match
    url, _, rest = rest.partition(" ")
    if not grammar.URL.fullmatch(url):
        return Usage(N_("After the status, give the source's link (http:// or https://)."), "rate")
    on = None
    words = rest.split()
    if words and grammar.argument(words[0]) == "on":
        if len(words) < 2:
            return Usage(N_("Which date? Give it as YYYY-MM-DD."), "rate")
        parsed = grammar.calendar_date(words[1], "rate")
        if isinstance(parsed, Usage):
            return parsed
        on, words = parsed, words[2:]
    return Rate(pledge_id, status.en, url, on, " ".join(words))


def _quote(rest: str, known: Known) -> Command | None:
    if not rest:
        return AddQuote()
    found = grammar.pledge_argument(rest, known, "quote")
    if not isinstance(found, tuple):
        return found
    pledge_id, rest = found
    if not rest:
        return AddQuote(pledge_id)  # the form, for that pledge
    match = _QUOTED.match(rest)
    if match is None:
        return Usage(N_("Give the exact words in double quotes, then the source's link."), "quote")
    if not grammar.URL.fullmatch(match["url"]):
        return Usage(N_("After the words, give the source's link (http:// or https://)."), "quote")
    said_on, paraphrase = None, False
    for word in match["rest"].split():
        if grammar.argument(word) == "paraphrase" and not paraphrase:
            paraphrase = True
            continue
        parsed = grammar.calendar_date(word, "quote")
        if isinstance(parsed, Usage) or said_on is not None:
            return parsed if isinstance(parsed, Usage) else Usage(N_("Give the date once."), "quote")
        said_on = parsed
    return AddQuote(pledge_id, match["words"].strip(), match["url"], said_on, paraphrase)


def _new(rest: str, known: Known) -> Command | None:
    if not rest:
        return NewPledge()
    first, _, after = rest.partition(" ")
    if not grammar.ID_SHAPED.fullmatch(first) or "=" not in after:
        return None  # "new policies": words, not a pledge's fields
    pairs = _pairs(after)
    if pairs is None:
        return Usage(N_("Give each field as name=value, in double quotes when it has spaces."), "new")
    unknown = sorted(set(pairs) - NEW_FIELDS)
    if unknown:
        return Usage(
            N_("Unknown field '{name}'; the fields are: {fields}."),
            "new",
            (("name", grammar.short(unknown[0])), ("fields", ", ".join(sorted(NEW_FIELDS)))),
        )
    if "paraphrase" in pairs:
        try:
            pairs["paraphrase"] = "yes" if ds.parse_bool(pairs["paraphrase"]) else ""
        except ValueError:
            return Usage(N_("Give paraphrase=yes to record the words as reported speech."), "new")
    if "new_category" in pairs:
        try:
            pairs["new_category"] = "yes" if ds.parse_bool(pairs["new_category"]) else ""
        except ValueError:
            return Usage(N_("Give new_category=yes to start a new category."), "new")
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


def _milestone(rest: str, known: Known) -> Command | None:
    if not rest:
        return AddMilestone()
    found = grammar.pledge_argument(rest, known, "milestone")
    if not isinstance(found, tuple):
        return found
    pledge_id, rest = found
    if not rest:
        return AddMilestone(pledge_id)  # the form, for that pledge
    title_ko = ""
    if found_ko := _TITLE_KO.search(rest):
        title_ko = (found_ko["quoted"] if found_ko["quoted"] is not None else found_ko["word"]).strip()
        rest = rest[: found_ko.start()] + rest[found_ko.end() :]
    words = rest.split()
    if len(words) < 3 or words[0].lower() not in _MILESTONE_KINDS:
        return Usage(N_("Give the kind (deadline or event), the date and a title."), "milestone")
    day = grammar.calendar_date(words[1], "milestone")
    if isinstance(day, Usage):
        return day
    url = words.pop() if grammar.URL.fullmatch(words[-1]) else ""
    title = " ".join(words[2:])
    if not title:
        return Usage(N_("Give the kind (deadline or event), the date and a title."), "milestone")
    return AddMilestone(pledge_id, _MILESTONE_KINDS[words[0].lower()], day, title, url, title_ko)


def _undo(rest: str, known: Known) -> Command | None:
    match = re.fullmatch(r"#?(\d{1,12})", rest)
    if match:
        return Undo(int(match[1]))
    if not rest:
        return Usage(N_("Which edit? Give its number, as /pledge history shows it."), "undo")
    return None


def _desk(name: str, usage: str, summary: str, example: str, parse, command: type, *options: Option):
    """A desk command's spec: editors only, in the desk's menu."""
    return CommandSpec(
        name,
        usage,
        summary,
        example,
        parse,
        (command,),
        permission=Permission.EDITORS,
        refusal=Refusal.EDIT,
        section="desk",
        options=options,
        listed_for_all=False,
    )


_PLEDGE = Option(
    NP_("option", "pledge_id"),
    OptionKind.PLEDGE,
    N_("The pledge to show (start typing to pick one)"),
    required=True,
    maximum=100,
)
_FORM_PLEDGE = Option(
    NP_("option", "pledge_id"),
    OptionKind.PLEDGE,
    N_("The pledge (start typing to pick one), or leave it to the form"),
    maximum=100,
)

COMMANDS = (
    _desk(
        NP_("command", "rate"),
        "/pledge rate <pledge-id> <status> <source-url> [on YYYY-MM-DD] [note]",
        N_("Editors: add a dated, sourced status to a pledge"),
        "/pledge rate inter-korean-hotline in the works https://example.com/news on 2026-05-10",
        _rate,
        Rate,
        _PLEDGE,
        Option(
            NP_("option", "status"), OptionKind.STATUS, N_("Only pledges whose latest status is this"), True
        ),
        Option(
            NP_("option", "url"),
            OptionKind.WORD,
            N_("The source's link (http:// or https://), checked by the bot"),
            required=True,
            minimum=1,
            maximum=2000,
        ),
        Option(
            NP_("option", "date"),
            OptionKind.WORD,
            N_("The rating's date as YYYY-MM-DD (default: the page's publication date)"),
            minimum=1,
            maximum=20,
            word="on",
        ),
        Option(
            NP_("option", "note"),
            OptionKind.TEXT,
            N_("A short note shown with the status"),
            minimum=1,
            maximum=500,
        ),
    ),
    _desk(
        NP_("command", "quote"),
        '/pledge quote <pledge-id> "<words>" <source-url> [YYYY-MM-DD] [paraphrase]',
        N_("Editors: add a quote, checked word for word against its source"),
        '/pledge quote inter-korean-hotline "military hotlines" https://example.com/news',
        _quote,
        AddQuote,
        _FORM_PLEDGE,
    ),
    _desk(
        NP_("command", "new"),
        '/pledge new <pledge-id> title="…" category="…" words="…" url=<source-url> [summary="…"] '
        '[aliases="…; …"] [aliases_ko="…"] [said_on=YYYY-MM-DD] [paraphrase=yes] [new_category=yes]',
        N_("Editors: add a pledge with its first quote"),
        '/pledge new build-a-bridge title="Build a bridge" category=Infrastructure words="a bridge" '
        "url=https://example.com/news",
        _new,
        NewPledge,
    ),
    _desk(
        NP_("command", "milestone"),
        '/pledge milestone <pledge-id> <kind> <YYYY-MM-DD> <title> [source-url] [title_ko="…"]',
        N_("Editors: add a deadline or a scheduled event to a pledge"),
        "/pledge milestone inter-korean-hotline deadline 2026-12-31 Hotline restored by year end",
        _milestone,
        AddMilestone,
        _FORM_PLEDGE,
    ),
    _desk(
        NP_("command", "undo"),
        "/pledge undo <edit-id>",
        N_("Editors: reverse one desk edit (the history keeps both)"),
        "/pledge undo 42",
        _undo,
        Undo,
        Option(
            NP_("option", "edit_id"),
            OptionKind.NUMBER,
            N_("The edit's number, as /pledges history shows it"),
            required=True,
            minimum=1,
            maximum=999_999_999_999,
        ),
    ),
)
