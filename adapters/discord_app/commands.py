"""The Discord command tree, built from the registry: `/pledge` (the search) and a group per section
(`/pledges …`, `/reminders …`, `/desk …`), each command spec a subcommand with a parameter per option.

Every command turns its typed options into the one command text the core parses (`bot.commands`), so
parsing, validation and wording live in the core, and a command registered in its feature module gets its
Discord command here with nothing written for it. Names, descriptions and choices are the registry's msgids
with their Korean from the catalogue, so the Discord commands cannot drift from help or the README. Only what
is Discord's own (each group's description and who sees it) is declared here, in `SECTIONS`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import available_timezones

import discord
from babel import Locale
from discord import app_commands
from discord.app_commands import locale_str

from adapters.discord_app.render import clip
from bot import commands as grammar
from bot.i18n import N_, NP_, Messages, languages, messages
from bot.registry import CommandSpec, Option, OptionKind, Registry

if TYPE_CHECKING:
    from adapters.discord_app.client import Responder

DESCRIPTION_LIMIT = 100
CHOICE_LIMIT = 25
CHOICE_TEXT_LIMIT = 100

Choice = app_commands.Choice
Autocomplete = Callable[[discord.Interaction, str], Coroutine[Any, Any, list[Choice[str]]]]


@dataclass(frozen=True)
class Section:
    """What Discord needs of a section's group that the registry does not hold: its description (a msgid)
    and who sees it by default."""

    description: str
    default_permissions: discord.Permissions | None = None
    guild_only: bool = False


# Keyed by section, which is also the group's English name (its Korean is in the catalogue's "menu" context).
SECTIONS = {
    NP_("menu", "pledges"): Section(N_("List pledges, optionally in one category or with one status")),
    # Hidden from members without Manage Channels by default; server admins may change that in Integrations,
    # which is why the permission is checked again on every use (see Responder.context).
    NP_("menu", "reminders"): Section(
        N_("Show this channel's digest schedule"), discord.Permissions(manage_channels=True), guild_only=True
    ),
    # The desk: shown to Manage Server by default. Members with the editor role (or on the editors list) may
    # be allowed them in Integrations; every command is checked again by the bot (Responder.context).
    NP_("menu", "desk"): Section(
        N_("The newsroom desk: rate, quote, add pledges and milestones, undo, choose editors"),
        discord.Permissions(manage_guild=True),
        guild_only=True,
    ),
}
# Discord's own names, which are no command word of the grammar: the groups, and `/pledge` (the search's).
MENU_NAMES = frozenset((NP_("menu", "pledge"), *SECTIONS))
# Suggested when the time-zone box is still empty.
COMMON_ZONES = (
    "Asia/Seoul",
    "UTC",
    "America/New_York",
    "America/Los_Angeles",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Tokyo",
    "Australia/Sydney",
)


class SpecTranslator(app_commands.Translator):
    """Korean localisations carried on each `locale_str` as its `ko` extra."""

    async def translate(
        self, string: locale_str, locale: discord.Locale, context: app_commands.TranslationContextTypes
    ) -> str | None:
        """The Korean text for Korean clients; None (Discord shows English) for every other locale."""
        if locale is discord.Locale.korean:
            return string.extras.get("ko")
        return None


def menu_name(english: str, ko: Messages) -> locale_str:
    """One of Discord's own names (`MENU_NAMES`) with its Korean from the catalogue."""
    if english not in MENU_NAMES:
        # Without this, a new section or top-level command would sync with its English name in Korean.
        raise ValueError(f"/{english} has no Korean name: add it to MENU_NAMES and the catalogue")
    return locale_str(english, ko=ko.pgettext("menu", english))


def command_name(spec: CommandSpec, ko: Messages) -> locale_str:
    """A spec's Discord name, its menu name or word; in Korean, its Korean command word, so a Korean
    `/pledges list` and the same word typed after `/pledge` mean the same thing."""
    english = spec.menu_name or spec.name
    if spec.word is None:
        return menu_name(english, ko)
    return locale_str(english, ko=spec.word.ko)


def command_path(spec: CommandSpec) -> str:
    """The Discord command that answers a spec: "pledges show", "reminders list", "pledge" (the search)."""
    name = spec.menu_name or spec.name
    return f"{spec.section} {name}" if spec.section else name


def described(english: str, ko: Messages) -> locale_str:
    """A description msgid in English and Korean, within Discord's 100 characters."""
    return locale_str(clip(english, DESCRIPTION_LIMIT), ko=clip(ko.gettext(english), DESCRIPTION_LIMIT))


def status_choices() -> list[Choice[str]]:
    """The grammar's status scale as choices, named in English and Korean; each value is what `list` takes."""
    return [Choice(name=locale_str(word.en, ko=word.ko), value=word.en) for word in grammar.STATUSES]


def language_choices() -> list[Choice[str]]:
    """Every language with a catalogue, named in its own language (CLDR), with its code as the value."""
    return [
        Choice(name=Locale.parse(code).get_display_name(code) or code, value=code) for code in languages()
    ]


def option_choices(option: Option, ko: Messages) -> list[Choice[str]] | None:
    """The fixed choices of a status, language or choice option; None for the others."""
    if option.kind is OptionKind.STATUS:
        return status_choices()
    if option.kind is OptionKind.LANGUAGE:
        return language_choices()
    if option.kind is OptionKind.CHOICE:
        return [
            Choice(name=locale_str(label, ko=ko.gettext(label)), value=value)
            for value, label in option.choices
        ]
    return None


def option_type(option: Option) -> Any:
    """The annotation discord.py makes the option's Discord type from (with its range, when it has one)."""
    ranged = option.minimum is not None or option.maximum is not None
    if option.kind is OptionKind.NUMBER:
        return app_commands.Range[int, option.minimum, option.maximum] if ranged else int
    if option.kind is OptionKind.USER:
        return discord.User
    if option.kind in (OptionKind.STATUS, OptionKind.CHOICE):
        return Choice[str]
    # Everything else is text; a language is too: its code reaches the core as sent, which answers a code
    # with no catalogue, as it does a typed one.
    if not ranged:
        return str
    # Discord sends no empty string, so a length with only a maximum starts at 1.
    return app_commands.Range[str, 1 if option.minimum is None else option.minimum, option.maximum]


def zone_choices(current: str) -> list[Choice]:
    """Up to 25 IANA zones matching what was typed: names starting with it first, then containing it."""
    needle = one_token(current).lower().replace(" ", "_")
    if not needle:
        names = list(COMMON_ZONES)
    else:
        zones = sorted(z for z in available_timezones() if needle in z.lower())
        starts = [
            z for z in zones if z.lower().startswith(needle) or z.lower().split("/")[-1].startswith(needle)
        ]
        names = starts + [z for z in zones if z not in starts]
    return [Choice(name=z, value=z) for z in names[:CHOICE_LIMIT]]


def last_item_choices(current: str, options: list[tuple[str, str]]) -> list[Choice]:
    """Autocomplete of the last comma-separated item: the earlier ones kept, the last one completed."""
    head, _, last = current.rpartition(",")
    prefix = f"{head}, " if head else ""
    needle = last.strip().lower()
    found = [(label, value) for label, value in options if needle in label.lower() or needle in value.lower()]
    return [
        Choice(name=(prefix + label)[:100], value=(prefix + value)[:100])
        for label, value in found[:CHOICE_LIMIT]
        if len(prefix + value) <= 100
    ]


def one_token(value: str) -> str:
    """A typed option squeezed to one word, so it cannot smuggle extra arguments into the command text."""
    return "".join(value.split())


def filter_words(keyword: str, value: str | None) -> list[str]:
    """A comma-separated option as grammar words: "defense, north korea" → topic defense topic north korea."""
    words: list[str] = []
    for item in (value or "").split(","):
        item = " ".join(item.split())
        if item:
            # A pledge id is one word; a topic may be several, but never a keyword of the grammar.
            words += [keyword, one_token(item) if keyword == "pledge" else item]
    return words


def written_value(option: Option, value: Any) -> str:
    """An option's given value as the command text writes it."""
    if option.kind in (OptionKind.TEXT, OptionKind.QUERY):
        return " ".join(value.split())
    if option.kind is OptionKind.USER:
        return str(value.id)
    if option.kind in (OptionKind.STATUS, OptionKind.CHOICE):
        return value.value
    if option.kind is OptionKind.LANGUAGE:
        return value
    return one_token(str(value))


def option_words(option: Option, value: Any) -> list[str]:
    """What an option adds to the command text: its word and value; its default, or nothing, when it is
    left empty (an optional 0 or blank too: `ahead 0` is what no `ahead` means)."""
    if option.kind in (OptionKind.TOPICS, OptionKind.PLEDGES):
        given = filter_words(option.word, value)
    else:
        empty = value is None or (not value and not option.required)
        written = "" if empty else written_value(option, value)
        given = [option.word, written] if written else []
    if not given and option.default:
        given = [option.word, option.default]
    return [word for word in given if word]


def command_text(spec: CommandSpec, values: Mapping[str, Any]) -> str:
    """The command text the core parses for a Discord command's option values, in the spec's option order;
    the search has no command word."""
    words = [spec.name] if spec.word is not None else []
    for option in spec.options:
        words += option_words(option, values.get(option.name))
    return " ".join(words)


def parameter(option: Option) -> inspect.Parameter:
    """The callback parameter discord.py makes an option's Discord option from (None when left empty)."""
    kind = inspect.Parameter.KEYWORD_ONLY
    if option.required:
        return inspect.Parameter(option.name, kind, annotation=option_type(option))
    return inspect.Parameter(option.name, kind, default=None, annotation=option_type(option) | None)


def subcommand(
    spec: CommandSpec,
    responder: Responder,
    ko: Messages,
    autocompletes: Mapping[str, Autocomplete],
    parent: app_commands.Group | None = None,
) -> app_commands.Command:
    """A spec's Discord command (in `parent`, when given): a parameter per option, answered with the
    command text its values make."""

    async def callback(interaction: discord.Interaction, **values: Any) -> None:
        await responder.answer(interaction, command_text(spec, values))

    # discord.py makes a command's parameters from its callback's signature (`inspect.signature`, which
    # reads `__signature__`), so the options are written as one; discord.py calls it with them as keywords.
    callback.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(
                "interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction
            ),
            *(parameter(option) for option in spec.options),
        ]
    )
    options = spec.options
    app_commands.rename(**{o.name: locale_str(o.name, ko=ko.pgettext("option", o.name)) for o in options})(
        callback
    )
    app_commands.describe(**{o.name: described(o.description, ko) for o in options})(callback)
    app_commands.choices(**{o.name: c for o in options if (c := option_choices(o, ko)) is not None})(callback)
    app_commands.autocomplete(**autocompletes)(callback)
    command: app_commands.Command[Any, ..., None] = app_commands.Command(
        name=command_name(spec, ko), description=described(spec.summary, ko), callback=callback, parent=parent
    )
    if parent is not None:
        parent.add_command(command)
    return command


def group(section: str, ko: Messages) -> app_commands.Group:
    """A section's group, with what Discord needs of it from `SECTIONS`."""
    if section not in SECTIONS:
        raise ValueError(f"section {section!r} has no Discord group: add it to SECTIONS")
    facts = SECTIONS[section]
    return app_commands.Group(
        name=menu_name(section, ko),
        description=described(facts.description, ko),
        default_permissions=facts.default_permissions,
        guild_only=facts.guild_only,
    )


def build(
    responder: Responder, registry: Registry = grammar.REGISTRY
) -> list[app_commands.Command | app_commands.Group]:
    """The top-level commands for `registry`'s specs (a command for the top level, a group per section),
    wired to `responder`."""
    ko = messages("ko")

    async def suggest(interaction: discord.Interaction, current: str) -> list[Choice[str]]:
        locale = str(interaction.locale.value) if interaction.locale else "en"
        return await responder.suggest(current, locale)

    async def suggest_zones(interaction: discord.Interaction, current: str) -> list[Choice[str]]:
        return zone_choices(current)

    async def suggest_topics(interaction: discord.Interaction, current: str) -> list[Choice[str]]:
        try:
            categories = responder.core.categories()
        except Exception:
            return []
        return last_item_choices(current, [(c, c) for c in categories])

    async def suggest_pledges(interaction: discord.Interaction, current: str) -> list[Choice[str]]:
        locale = str(interaction.locale.value) if interaction.locale else "en"
        last = current.rpartition(",")[2].strip()
        found = await responder.suggest(last, locale) if last else []
        return last_item_choices(current, [(f"{c.value}: {c.name}", c.value) for c in found])

    suggesters: dict[OptionKind, Autocomplete] = {
        OptionKind.PLEDGE: suggest,
        # Autocomplete only suggests: whatever arrives (a picked pledge id or free text) is re-validated by
        # the core, which treats a known pledge id as "show" and anything else as a search.
        OptionKind.QUERY: suggest,
        OptionKind.ZONE: suggest_zones,
        OptionKind.TOPICS: suggest_topics,
        OptionKind.PLEDGES: suggest_pledges,
    }
    commands: list[app_commands.Command | app_commands.Group] = []
    groups: dict[str, app_commands.Group] = {}
    for spec in registry:
        autocompletes = {o.name: suggesters[o.kind] for o in spec.options if o.kind in suggesters}
        if not spec.section:
            commands.append(subcommand(spec, responder, ko, autocompletes))
            continue
        if spec.section not in groups:
            groups[spec.section] = group(spec.section, ko)
            commands.append(groups[spec.section])
        subcommand(spec, responder, ko, autocompletes, groups[spec.section])
    return commands


# Which Discord command answers each grammar command; a test checks each one is built, and nothing else.
SPEC_TO_COMMAND = {spec.name: command_path(spec) for spec in grammar.REGISTRY}
