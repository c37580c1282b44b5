"""The command registry: each command declared once, in its feature's module, and everything built from it.

A `CommandSpec` holds what users see of a command (its word in every language, usage line, summary, example),
how its arguments parse into its typed command object, who may run it, and the options a platform with typed
command forms (Discord's slash commands) shows for it. The parse table, the dispatch, `help`, the Slack
manifest's usage hint and the Discord commands are built from (or tested against) the registry, as bolt's
`app.command` and errbot's `@botcmd` do. A feature's service marks the method that answers a command with
`@handles(CommandType)`; the core finds it there (`handlers_of`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from bot.grammar import Known, Usage
from bot.i18n import Messages, messages
from bot.replies import Context, Refusal, Reply
from bot.search import clean
from bot.words import Kind, Vocabulary, Word

# A command object: a frozen dataclass of a feature's module, or a `Usage` when its arguments are wrong.
Command = Any
Parser = Callable[[str, Known], Command | None]


class Permission(StrEnum):
    """Who may run a command; the context says who the asker is."""

    ANYONE = "anyone"
    # Channel managers: a channel's subscription and language.
    MANAGERS = "managers"
    # Those who choose the editors (workspace or server admins).
    CHOOSERS = "choosers"
    # The catalogue's editors (the desk).
    EDITORS = "editors"

    def allows(self, ctx: Context) -> bool:
        """True when the context's user may run a command needing this permission."""
        return {
            Permission.ANYONE: True,
            Permission.MANAGERS: ctx.can_manage,
            Permission.CHOOSERS: ctx.can_choose_editors,
            Permission.EDITORS: ctx.can_edit,
        }[self]


class OptionKind(StrEnum):
    """What a typed command option takes, so each platform picks its own input for it."""

    TEXT = "text"  # free text, its white space collapsed
    QUERY = "query"  # words to search for, as text; pledges are suggested as the user types
    WORD = "word"  # one token (a date, a time, a link): inner white space removed
    NUMBER = "number"  # a whole number from `minimum` to `maximum`
    PLEDGE = "pledge"  # a pledge id, suggested as the user types
    STATUS = "status"  # one status of the scale
    LANGUAGE = "language"  # a language with a catalogue
    ZONE = "zone"  # an IANA time zone, suggested as the user types
    TOPICS = "topics"  # categories, comma-separated, each written after `word`
    PLEDGES = "pledges"  # pledge ids, comma-separated, each written after `word`
    USER = "user"  # a person of the platform, written as their user id
    CHOICE = "choice"  # one of `choices`


@dataclass(frozen=True)
class Option:
    """One typed option of a command: how a form of the command asks for it, and how its value is written
    into the command text the core parses (after `word`, when given; `default` when left empty)."""

    name: str
    kind: OptionKind
    description: str
    required: bool = False
    minimum: int | None = None
    maximum: int | None = None
    word: str = ""
    default: str = ""
    # (value, label) pairs of a CHOICE option; labels are msgids.
    choices: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class CommandSpec:
    """One command as the registry holds it."""

    # The command's English word (its name); a msgid in the "command" context, so each catalogue gives the
    # word in its language. The registry's fallback (search) has no word users type.
    name: str
    usage: str
    summary: str
    example: str
    # The text after the command word to its command object; None when it is not this command's arguments.
    parse: Parser
    # The command objects this spec's parser makes (the first is the one its handler is found by).
    commands: tuple[type, ...]
    permission: Permission | Callable[[Command], Permission] = Permission.ANYONE
    # What a refusal says the user may not do, when the permission is not ANYONE.
    refusal: Refusal | None = None
    # Where platforms with command menus list it ("pledges", "reminders", "desk"; "" for the top level),
    # under which name (its own by default), and its typed options.
    section: str = "pledges"
    menu_name: str = ""
    options: tuple[Option, ...] = ()
    # Shown to those who may run it only (the desk's commands in help).
    listed_for_all: bool = True
    # Answered from point lookups in well under a millisecond, whoever asks: an adapter may answer it on its
    # event loop (`Core.answer_now`), where a hop to a worker thread would cost more than the answer.
    quick: bool = False

    @property
    def word(self) -> Word | None:
        """The command word users type, with its Korean form; None for the registry's fallback."""
        if not self.usage.startswith(f"/pledge {self.name}"):
            return None
        return Word(Kind.COMMAND, self.name, messages("ko").pgettext("command", self.name))

    @property
    def summary_ko(self) -> str:
        """The summary in Korean, from the Korean catalogue."""
        return messages("ko").gettext(self.summary)

    @property
    def edits(self) -> bool:
        """True for a desk command: shown in help to editors only, and refused to everyone else."""
        return self.permission is Permission.EDITORS

    @property
    def at_desk(self) -> bool:
        """True for the desk's commands (its edits and its editors list): they work only where the catalogue
        is edited (`Context.desk_place`)."""
        return self.section == "desk"

    def permission_for(self, command: Command) -> Permission:
        """Who may run this parsed command (a spec may ask more of some of its forms)."""
        return self.permission(command) if callable(self.permission) else self.permission

    def usage_line(self, m: Messages) -> str:
        """ "Usage: … (for example: …)" in `m`'s language."""
        text = m.gettext("Usage: {usage} (for example: {example})")
        return text.format(usage=self.usage, example=self.example)


class Registry:
    """Every command, in help's order; parsing looks the command word up here, longest form first."""

    def __init__(self, specs: Iterable[CommandSpec], *, fallback: str, empty: Command):
        self.specs = tuple(specs)
        self._by_name = {spec.name: spec for spec in self.specs}
        if len(self._by_name) != len(self.specs):
            raise ValueError("two commands share a name")
        self._by_type = {kind: spec for spec in self.specs for kind in spec.commands}
        self.fallback = self._by_name[fallback]
        # What an empty command answers (help).
        self.empty = empty
        self.words = tuple(spec.word for spec in self.specs if spec.word is not None)
        self._words = Vocabulary(self.words)

    def __iter__(self) -> Iterator[CommandSpec]:
        return iter(self.specs)

    def __getitem__(self, name: str) -> CommandSpec:
        return self._by_name[name]

    def spec_of(self, command: Command) -> CommandSpec:
        """The spec of a parsed command (a `Usage` names its command)."""
        if isinstance(command, Usage):
            return self._by_name[command.command]
        return self._by_type[type(command)]

    def parse(self, text: str, known: Known) -> Command:
        """Parse the text after `/pledge` into a command; `known` tells pledge ids and categories."""
        text = clean(text)
        if text.lower().startswith("/pledge"):
            text = text[len("/pledge") :].strip()
        if not text:
            return self.empty
        match = self._words.prefix(Kind.COMMAND, text)
        command = self._by_name[match[0].en].parse(match[1], known) if match else None
        if command is not None:
            return command
        return self.fallback.parse(text, known)


@dataclass(frozen=True)
class Request:
    """What a handler is given besides its command: who asked and where, in which language, and when."""

    ctx: Context
    m: Messages
    now: dt.datetime
    # Today in the bot's time zone (PLEDGEBOT_TIMEZONE), by `now`.
    today: dt.date


Handler = Callable[[Any, Request], Reply]
_Method = TypeVar("_Method", bound=Callable[..., Reply])


def handles(*commands: type) -> Callable[[_Method], _Method]:
    """Mark a service's method as the answer to these command types (found by `handlers_of`)."""

    def mark(method: _Method) -> _Method:
        method.__dict__.setdefault("handles", []).extend(commands)
        return method

    return mark


def handlers_of(*services: object) -> dict[type, Handler]:
    """The bound `@handles` methods of `services`, by the command type each answers."""
    found: dict[type, Handler] = {}
    for service in services:
        for cls in reversed(type(service).__mro__):
            for name, member in vars(cls).items():
                for command in getattr(member, "handles", ()):
                    if command in found:
                        raise ValueError(f"two handlers for {command.__name__}")
                    found[command] = getattr(service, name)
    return found
