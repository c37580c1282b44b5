"""The channel and workspace settings commands, declared once: language and editors.

Each is a typed command object, the parser of its arguments and its registration; `bot.channels.settings`
answers them.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from babel import Locale, UnknownLocaleError

from bot.grammar import Known, Usage, short
from bot.i18n import N_, NP_, languages
from bot.registry import Command, CommandSpec, Option, OptionKind, Permission
from bot.replies import Refusal
from bot.words import VOCABULARY, Kind


@dataclass(frozen=True)
class Language:
    """Set the language of the channel's public posts (a language code with a catalogue)."""

    language: str


@dataclass(frozen=True)
class Editors:
    """List who may edit the catalogue, or (`verb` "add"/"remove", admins only) change the editors list."""

    verb: str = ""
    user: str = ""


# Names users may type for a language besides its code, beyond CLDR's English and Korean names.
_LANGUAGE_NAMES = {"english": "en", "영어": "en", "korean": "ko", "한국어": "ko", "한국말": "ko"}
# A language code as users write one: two letters. Not three: those are words too (new, war and man are
# languages' codes).
_CODE = re.compile(r"[a-z]{2}", re.IGNORECASE | re.ASCII)


def _language(rest: str, known: Known) -> Command | None:
    # Only a language with a catalogue makes this a command; "language barrier" is a search.
    code = _LANGUAGE_NAMES.get(rest.casefold()) or _cldr_names().get(rest.casefold(), rest.casefold())
    if code in languages():
        return Language(code)
    # A code or a language's name plainly tries to be a language: it is told which ones there are.
    if _CODE.fullmatch(rest) or rest.casefold() in _cldr_names():
        spoken = ", ".join(f"{_own_name(c)} ({c})" for c in languages())
        return Usage(
            N_("There is no catalogue for “{text}”; the languages are: {languages}."),
            "language",
            (("text", short(rest)), ("languages", spoken)),
        )
    return None


@functools.cache
def _cldr_names() -> dict[str, str]:
    """Every language's name in English and in Korean (as CLDR writes them), casefolded, to its code."""
    return {
        name.casefold(): code
        for language in ("en", "ko")
        for code, name in Locale(language).languages.items()
        if "_" not in code  # a language, not a regional variety ("en_AU")
    }


def _own_name(code: str) -> str:
    """A language's name in that language ("한국어"), or its code when CLDR has none."""
    try:
        return Locale.parse(code).language_name or code
    except (ValueError, UnknownLocaleError):
        return code


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
    return Usage(N_("Name one person: mention them (@name) or give their user id."), "editors")


def _editors_permission(command: Editors) -> Permission:
    # Anyone may see who edits; changing the list is for those who choose editors.
    return Permission.CHOOSERS if command.verb else Permission.ANYONE


COMMANDS = (
    CommandSpec(
        NP_("command", "language"),
        "/pledge language <language-code>",
        N_("Set the language of this channel's shared cards and digests"),
        "/pledge language ko",
        _language,
        (Language,),
        permission=Permission.MANAGERS,
        refusal=Refusal.LANGUAGE,
        section="reminders",
        options=(
            Option(
                NP_("option", "language"),
                OptionKind.LANGUAGE,
                N_("The language of shared cards and digests here"),
                required=True,
            ),
        ),
    ),
    CommandSpec(
        NP_("command", "editors"),
        "/pledge editors [add/remove <user>]",
        N_("Who may edit the catalogue; admins add and remove editors"),
        "/pledge editors add @reporter",
        _editors,
        (Editors,),
        permission=_editors_permission,
        refusal=Refusal.CHOOSE_EDITORS,
        section="desk",
        options=(
            Option(
                NP_("option", "add"), OptionKind.USER, N_("Someone to add to the editors list"), word="add"
            ),
            Option(
                NP_("option", "remove"),
                OptionKind.USER,
                N_("Someone to take off the editors list"),
                word="remove",
            ),
        ),
    ),
)
