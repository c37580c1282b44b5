"""Who may edit: the editors list in the state store (both backends), `editors`, its grammar, the settings."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot import commands as grammar
from bot.cli import open_bot
from bot.config import ConfigError, Settings, load_settings
from bot.replies import ActionKind, Context, Level
from tests.conftest import POLICIES, FixedClock

ADMIN = Context(
    platform="slack", workspace="T1", channel="C1", user="U0ADMIN", can_manage=True, policy=POLICIES["slack"]
)
CHOOSER = dataclasses.replace(ADMIN, can_choose_editors=True)
MEMBER = Context(platform="slack", workspace="T1", channel="C1", user="U0MEMBER", policy=POLICIES["slack"])


@pytest.fixture
def state_bot(state_settings: Settings, clock: FixedClock):
    """A bot on either state backend."""
    bot = open_bot(state_settings, clock=clock)
    yield bot
    bot.close()


def text(reply) -> str:
    return "\n".join(
        [reply.title, *(n.text for n in reply.notices), *(f"{i.label} {i.detail}" for i in reply.items)]
    )


def test_a_chooser_adds_and_removes_an_editor_and_the_list_follows(state_bot):
    core = state_bot.core
    assert not core.is_editor("slack", "T1", "U0REPORTER")
    added = core.handle("editors add <@U0REPORTER|reporter>", CHOOSER)
    assert "U0REPORTER may now edit the catalogue." in text(added)
    assert core.is_editor("slack", "T1", "U0REPORTER")
    # Another workspace, or platform, has its own list.
    assert not core.is_editor("slack", "T2", "U0REPORTER")
    assert not core.is_editor("discord", "T1", "U0REPORTER")
    [item] = added.items
    assert (item.user, item.action.kind, item.action.command) == (
        "U0REPORTER",
        ActionKind.RUN,
        "editors remove U0REPORTER",
    )
    assert "added by U0ADMIN on 2026-05-20" in item.detail
    assert [(a.kind, a.command) for a in added.actions] == [(ActionKind.PICK_USER, "editors add")]
    again = core.handle("editors add U0REPORTER", CHOOSER)
    assert "already an editor" in text(again) and len(again.items) == 1
    removed = core.handle("editors remove U0REPORTER", CHOOSER)
    assert "U0REPORTER is no longer an editor." in text(removed)
    assert not core.is_editor("slack", "T1", "U0REPORTER")
    assert "is not on the editors list" in text(core.handle("editors remove U0REPORTER", CHOOSER))


def test_anyone_sees_the_list_and_who_else_may_edit_but_only_a_chooser_changes_it(state_bot):
    core = state_bot.core
    core.handle("editors add U0REPORTER", CHOOSER)
    listed = core.handle("editors", MEMBER)
    assert [i.user for i in listed.items] == ["U0REPORTER"]
    # A member gets no buttons to change it.
    assert listed.actions == [] and listed.items[0].action is None
    assert "Workspace admins and owners may edit too" in text(listed)
    for attempt in ("editors add U0MEMBER", "editors remove U0REPORTER", "편집자 추가 U0MEMBER"):
        refused = core.handle(attempt, MEMBER)
        assert refused.is_error and "can choose editors" in text(refused), attempt
    # Managing subscriptions is not choosing editors.
    assert core.handle("editors add U0MEMBER", ADMIN).is_error
    assert [e.user for e in state_bot.editors.all("slack", "T1")] == ["U0REPORTER"]
    assert not core.is_editor("slack", "T1", "U0MEMBER")


def test_the_refusal_and_the_list_name_each_platforms_editors_in_its_language(state_bot):
    core = state_bot.core
    discord = Context(
        platform="discord", workspace="G1", channel="C1", user="1", locale="ko", policy=POLICIES["discord"]
    )
    assert "서버 관리 권한이 있는 멤버만" in text(core.handle("editors add <@!123456>", discord))
    assert "DISCORD_EDITOR_ROLE" in text(core.handle("편집자", discord))
    empty = core.handle("editors", MEMBER)
    assert "No one has been added to the editors list yet." in text(empty)
    console = Context(
        platform="console", workspace="local", channel="console", user="you", policy=POLICIES["console"]
    )
    assert "the local operator may always edit" in text(core.handle("editors", console))


def test_editors_belong_to_a_workspace(state_bot):
    direct = dataclasses.replace(CHOOSER, workspace="")
    reply = state_bot.core.handle("editors add U0REPORTER", direct)
    assert reply.is_error and "belong to a workspace or server" in text(reply)
    assert not state_bot.core.is_editor("slack", "", "U0REPORTER")


@pytest.mark.parametrize(
    ("typed", "command"),
    [
        ("editors", grammar.Editors()),
        ("EDITORS add U0AB12", grammar.Editors("add", "U0AB12")),
        ("editors remove <@U0AB12|kim>", grammar.Editors("remove", "U0AB12")),
        ("editors add <@!444000000000000004>", grammar.Editors("add", "444000000000000004")),
        ("편집자 추가 <@U0AB12>", grammar.Editors("add", "U0AB12")),
        ("편집자 삭제 1234", grammar.Editors("remove", "1234")),
        # Words after `editors` that are not a change to the list are a search.
        ("editors of the times", grammar.Search("editors of the times")),
        ("편집자 회의", grammar.Search("편집자 회의")),
    ],
)
def test_the_grammar_reads_editors_commands(core, typed, command):
    assert grammar.parse(typed, core) == command


@pytest.mark.parametrize("who", ["", "kim", "@kim", "U0AB12 U0CD34", "<@U0AB12> please"])
def test_a_change_without_one_person_is_told_how_to_name_them(core, who):
    parsed = grammar.parse(f"editors add {who}", core)
    assert isinstance(parsed, grammar.Usage)
    reply = core.handle(f"editors add {who}", CHOOSER)
    assert reply.is_error and reply.notices[0].level is Level.ERROR
    assert "mention them (@name) or give their user id" in reply.notices[0].text


def test_editor_settings_are_validated(tmp_path: Path):
    base = {"PLEDGEBOT_DB": str(tmp_path / "x.db")}
    settings = load_settings({**base, "SLACK_EDITORS": "U0AB12, W0CD34", "DISCORD_EDITOR_ROLE": " Desk "})
    assert settings.slack_editors == frozenset({"U0AB12", "W0CD34"})
    assert settings.discord_editor_role == "Desk"
    for wrong in ("@kim", "kim", "u0ab12", "C0CHANNEL"):
        with pytest.raises(ConfigError, match="SLACK_EDITORS must be Slack user ids") as error:
            load_settings({**base, "SLACK_EDITORS": f"U0AB12 {wrong}"})
        assert wrong not in str(error.value)
    for wrong in ("@Desk", "x" * 101):
        with pytest.raises(ConfigError, match="DISCORD_EDITOR_ROLE"):
            load_settings({**base, "DISCORD_EDITOR_ROLE": wrong})
