"""The command grammar, assembled: every feature's commands in one registry, parsed by one rule.

Everything after `/pledge` is parsed here: a command word (in English or Korean) is a command only when its
arguments parse; otherwise the whole text is a search, so readers can search for "history issues" or "show
hotline". An argument that plainly tries to be what the command takes (an id for `show` or `history`, a
language for `language`, a category or status for `list`, a date for `on`, a number for `upcoming`, a time or
zone for `subscribe`) but is malformed becomes a `Usage` with a sentence for the user instead, and so does a
command word alone where its command needs a pledge (`show`, `card`, `cite`, `rate`). Each command is
declared once, in its feature's `commands` module; this module only lists the features, in the order help
shows them.
"""

from __future__ import annotations

from bot import help as help_command
from bot.channels import commands as channels
from bot.channels.commands import Editors, Language
from bot.desk import commands as desk
from bot.desk.commands import NEW_FIELDS, AddMilestone, AddQuote, NewPledge, Rate, Undo
from bot.grammar import Known, Usage
from bot.help import Help
from bot.lookups import commands as lookups
from bot.lookups.commands import (
    MAX_UPCOMING_DAYS,
    Card,
    Cite,
    History,
    ListPledges,
    On,
    Search,
    Show,
    Upcoming,
)
from bot.officials import commands as officials
from bot.registry import Command, CommandSpec, Registry
from bot.reminders import commands as reminders
from bot.reminders.commands import (
    DEFAULT_TIME,
    DEFAULT_TIMEZONE,
    MAX_LEAD_DAYS,
    Subscribe,
    Subscriptions,
    Unsubscribe,
    timezone_name,
)
from bot.words import WORDS, Kind, Vocabulary, Word

REGISTRY = Registry(
    (
        *lookups.COMMANDS,
        *officials.COMMANDS,
        *reminders.COMMANDS,
        *channels.COMMANDS,
        *desk.COMMANDS,
        *help_command.COMMANDS,
    ),
    fallback="search",
    empty=Help(),
)
# What help, the README, the Slack usage hint and the Discord commands show, in this order.
COMMANDS: tuple[CommandSpec, ...] = REGISTRY.specs
SPECS: dict[str, CommandSpec] = {spec.name: spec for spec in COMMANDS}
# Every word of the grammar: the command words and the words inside commands.
VOCABULARY = Vocabulary((*REGISTRY.words, *WORDS))
STATUSES: tuple[Word, ...] = VOCABULARY.of(Kind.STATUS)


def parse(text: str, known: Known) -> Command:
    """Parse the text after `/pledge` into a command; `known` tells pledge ids and categories."""
    return REGISTRY.parse(text, known)


__all__ = [
    "COMMANDS",
    "DEFAULT_TIME",
    "DEFAULT_TIMEZONE",
    "MAX_LEAD_DAYS",
    "MAX_UPCOMING_DAYS",
    "NEW_FIELDS",
    "REGISTRY",
    "SPECS",
    "STATUSES",
    "VOCABULARY",
    "AddMilestone",
    "AddQuote",
    "Card",
    "Cite",
    "Command",
    "CommandSpec",
    "Editors",
    "Help",
    "History",
    "Known",
    "Language",
    "ListPledges",
    "NewPledge",
    "On",
    "Rate",
    "Search",
    "Show",
    "Subscribe",
    "Subscriptions",
    "Undo",
    "Unsubscribe",
    "Upcoming",
    "Usage",
    "parse",
    "timezone_name",
]
