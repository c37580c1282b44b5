"""Discord command definitions: grammar coverage, Discord naming limits, time zones, the sync diff."""

from __future__ import annotations

import re
from dataclasses import dataclass

import discord
import pytest
from discord import app_commands

from adapters.discord_app.client import Responder, same_definitions
from adapters.discord_app.commands import SPEC_TO_COMMAND, SpecTranslator, build, command_path, zone_choices
from bot import commands as grammar
from bot.help import Help
from bot.registry import CommandSpec, Option, OptionKind, Registry
from tests.fakes.discord_api import FakeDiscord, command_problems

NAME = re.compile(r"^[-_\w]{1,32}$")


def qualified_names(core) -> set[str]:
    """Every invocable command path in the tree, e.g. "pledges list"."""
    names = set()
    for command in build(Responder(core)):
        if isinstance(command, app_commands.Group):
            names.update(sub.qualified_name for sub in command.walk_commands())
        else:
            names.add(command.qualified_name)
    return names


def test_every_grammar_command_has_a_discord_command(core):
    assert set(SPEC_TO_COMMAND) == {spec.name for spec in grammar.COMMANDS}
    assert set(SPEC_TO_COMMAND.values()) == qualified_names(core)


async def payloads(core) -> list[dict]:
    """The command payloads as they would be synced, with Korean localisations."""
    return await translated(build(Responder(core)))


async def translated(commands: list[app_commands.Command | app_commands.Group]) -> list[dict]:
    """The payloads of these top-level commands as a tree would sync them, with Korean localisations."""
    client = discord.Client(intents=discord.Intents.none())
    tree = app_commands.CommandTree(client)
    translator = SpecTranslator()
    for command in commands:
        tree.add_command(command)
    return [await c.get_translated_payload(tree, translator) for c in tree.get_commands()]


async def test_definitions_are_within_discord_limits(core):
    for payload in await payloads(core):
        assert command_problems(payload) == []


async def test_descriptions_come_from_the_grammar(core):
    by_name = {p["name"]: p for p in await payloads(core)}
    subcommands = {o["name"]: o for o in by_name["pledges"]["options"]}
    for spec in ("show", "list", "on", "upcoming", "help"):
        assert subcommands[spec]["description"] == grammar.SPECS[spec].summary
        assert subcommands[spec]["description_localizations"] == {"ko": grammar.SPECS[spec].summary_ko}


async def test_korean_names_and_status_choices_come_from_the_word_table(core):
    by_name = {p["name"]: p for p in await payloads(core)}
    options = {
        f"{group} {o['name']}": o
        for group in ("pledges", "reminders", "desk")
        for o in by_name[group]["options"]
    }
    for spec in grammar.COMMANDS:
        if spec.word:
            assert options[SPEC_TO_COMMAND[spec.name]]["name_localizations"] == {"ko": spec.word.ko}
    [status] = [o for o in options["pledges list"]["options"] if o["name"] == "status"]
    assert [(c["name"], c["value"], c["name_localizations"]) for c in status["choices"]] == [
        (word.en, word.en, {"ko": word.ko}) for word in grammar.STATUSES
    ]


async def test_unchanged_definitions_match_what_discord_returns(core):
    local = await payloads(core)
    fake = FakeDiscord()
    # What Discord hands back has ids, string permissions, dropped `required: false`, and so on.
    remote = [fake.as_registered(c, 1, None) for c in local]
    assert same_definitions(local, remote)
    changed = [dict(c) for c in remote]
    changed[0] = dict(changed[0], description="Something else")
    assert not same_definitions(local, changed)
    assert not same_definitions(local, remote[:-1])
    without_korean = [dict(c, name_localizations=None) for c in remote]
    assert not same_definitions(local, without_korean)


def test_time_zone_choices():
    assert zone_choices("seoul")[0].value == "Asia/Seoul"
    assert zone_choices("")[0].value == "Asia/Seoul"
    everything = zone_choices("a")
    assert len(everything) == 25
    assert all(len(c.name) <= 100 for c in everything)
    assert zone_choices("no such place") == []


def test_reminders_subscribe_topics_and_pledges_become_grammar_words():
    from adapters.discord_app.commands import filter_words, last_item_choices

    assert filter_words("topic", "defense, north  korea,") == ["topic", "defense", "topic", "north korea"]
    assert filter_words("pledge", "inter-korean-hotline, x y") == [
        "pledge",
        "inter-korean-hotline",
        "pledge",
        "xy",
    ]
    assert filter_words("topic", None) == []
    options = [("Defense", "Defense"), ("Diplomacy", "Diplomacy"), ("North Korea", "North Korea")]
    choices = last_item_choices("Defense, nor", options)
    assert [(c.name, c.value) for c in choices] == [("Defense, North Korea", "Defense, North Korea")]
    assert len(last_item_choices("", options)) == 3


@pytest.mark.parametrize("typed", ["2025-05-26", "26 May 2025", "2025년 5월 26일"])
def test_the_on_option_keeps_a_date_s_spaces_for_the_core_to_read(core, typed):
    from adapters.discord_app.commands import command_text
    from bot.replies import Context

    spec = next(s for s in core.registry.specs if s.name == "on")
    text = command_text(spec, {"date": typed})
    assert text == f"on {typed}"
    reply = core.handle(text, Context(platform="discord"))
    assert reply.title == "On 2025-05-26" and reply.items


@dataclass(frozen=True)
class Echo:
    """A command only the test below registers."""

    words: str


ECHO = CommandSpec(
    "echo",
    "/pledge echo <words> [times <n>]",
    "Say the words back",
    "/pledge echo hello",
    lambda rest, known: Echo(rest),
    (Echo,),
    options=(
        Option("words", OptionKind.TEXT, "What to say", required=True, minimum=1, maximum=50),
        Option("times", OptionKind.NUMBER, "How often", minimum=1, maximum=3, word="times", default="1"),
    ),
)


class Recorder(Responder):
    """Keeps the command text each Discord command would send the core, instead of answering."""

    def __init__(self, core) -> None:
        super().__init__(core)
        self.texts: list[str] = []

    async def answer(self, interaction, text: str) -> None:
        """Record the text."""
        self.texts.append(text)


async def test_a_command_registered_in_a_registry_becomes_a_discord_subcommand(core):
    registry = Registry((grammar.REGISTRY.fallback, ECHO), fallback="search", empty=Help())
    recorder = Recorder(core)
    commands = build(recorder, registry)
    pledge, pledges = await translated(commands)
    assert pledge["name"] == "pledge"
    [echo] = pledges["options"]
    assert (echo["name"], echo["description"]) == ("echo", "Say the words back")
    assert [
        (o["name"], o["type"], o["required"], o.get("min_length"), o.get("max_length"), o.get("min_value"))
        for o in echo["options"]
    ] == [("words", 3, True, 1, 50, None), ("times", 4, False, None, None, 1)]
    assert command_path(ECHO) == "pledges echo"

    [command] = commands[1].commands
    await command.callback(None, words="  hello   world ", times=None)
    await command.callback(None, words="hello", times=3)
    assert recorder.texts == ["echo hello world times 1", "echo hello times 3"]


def test_a_section_with_no_discord_group_is_refused(core):
    spec = CommandSpec(
        "echo", "/pledge echo", "Say it", "/pledge echo", lambda r, k: None, (Echo,), section="x"
    )
    registry = Registry((grammar.REGISTRY.fallback, spec), fallback="search", empty=Help())
    with pytest.raises(ValueError, match="SECTIONS"):
        build(Responder(core), registry)
