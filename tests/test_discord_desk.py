"""The desk on Discord, end to end through the real discord.py client against the fake: who may edit (Manage
Server, the editor role, the editors list), `/desk editors`, and forms as modals (opened as the first
response, never after a deferral; a submission deferred, then answered by a followup; a next step behind a
button)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import AsyncIterator

import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord_app.client import PledgeClient
from adapters.discord_app.delivery import DiscordDeliverer
from bot.cli import open_bot
from bot.config import Settings
from bot.core import Core
from bot.desk.provenance import parse_allow
from bot.journal import EditKind
from bot.replies import FieldKind, Form, FormField, Notice, Reply
from tests.conftest import HOTLINE_QUOTE
from tests.fakes.discord_api import MANAGE_CHANNELS, MANAGE_GUILD, MEMBER_PERMISSIONS, FakeDiscord, UserOption
from tests.test_discord_gateway import start
from tests.test_slack_desk import CONFIRM_FORM, QUOTE_FORM, DeskCore

EPHEMERAL = 64
ADMIN = 444_000_000_000_000_010  # has Manage Server
MEMBER = 444_000_000_000_000_011
REPORTER = 444_000_000_000_000_012
SERVER_ADMIN = MEMBER_PERMISSIONS | MANAGE_GUILD


@pytest.fixture(autouse=True)
def discord_defaults() -> AsyncIterator[None]:
    """Restore discord.py's process-wide endpoints after each test."""
    base, gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    yield
    Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = base, gateway


@pytest.fixture
def desk_role(fake: FakeDiscord) -> int:
    return fake.add_role("Desk")


@pytest.fixture
def settings(tmp_path, fake: FakeDiscord, desk_role: int) -> Settings:
    # The desk's fetcher may reach the page server on 127.0.0.1 (tests/pages.py) and nothing else.
    return fake.settings(
        tmp_path / "pledgebot.db", discord_editor_role="Desk", fetch_allow=parse_allow("127.0.0.1/32")
    )


@pytest.fixture
def desk_core(core: Core) -> DeskCore:
    return DeskCore(core)


@pytest.fixture
async def client(fake: FakeDiscord, desk_core: DeskCore, settings: Settings) -> AsyncIterator[PledgeClient]:
    running = await start(fake, desk_core, settings)
    yield running.client
    desk_core.gate.set()
    desk_core.slow.set()
    await running.stop()


async def command(fake: FakeDiscord, text: str, **options) -> tuple[dict, dict]:
    """Run a slash command; return its interaction payload and the bot's first callback."""
    interaction_options = {k: options.pop(k) for k in ("user_id", "permissions", "roles") if k in options}
    payload = fake.interaction(2, fake.command(text, **options), **interaction_options)
    await fake.send_interaction(payload)
    return payload, await fake.callback_for(payload)


async def test_manage_server_the_editor_role_and_the_list_grant_editing(
    fake: FakeDiscord, client: PledgeClient, desk_core: DeskCore, desk_role: int
):
    await command(fake, "pledge", query="hotline", user_id=MEMBER)
    await command(fake, "pledge", query="hotline", user_id=ADMIN, permissions=SERVER_ADMIN)
    await command(fake, "pledge", query="hotline", user_id=REPORTER, roles=(desk_role,))
    rights = {int(ctx.user): (ctx.can_edit, ctx.can_choose_editors) for _, ctx in desk_core.contexts}
    assert rights == {MEMBER: (False, False), ADMIN: (True, True), REPORTER: (True, False)}
    # The role's id was asked of Discord once for both commands that needed it (cached up to 60 s).
    assert len(fake.requests.matching(lambda r: r.path == f"/guilds/{fake.guild_id}/roles")) == 1


async def test_the_editor_role_is_asked_of_discord_again_after_a_minute(
    fake: FakeDiscord, client: PledgeClient, desk_core: DeskCore, desk_role: int
):
    now = [0.0]
    client.responder.clock = lambda: now[0]

    async def can_edit() -> bool:
        await command(fake, "pledge", query="hotline", user_id=REPORTER, roles=(desk_role,))
        return desk_core.context_of("hotline").can_edit

    assert await can_edit()
    fake.roles[0]["name"] = "Interns"  # the server renames the role DISCORD_EDITOR_ROLE names
    now[0] += 59
    assert await can_edit()
    now[0] += 2
    assert not await can_edit()


async def test_desk_commands_are_shown_to_manage_server_by_default(fake: FakeDiscord, client: PledgeClient):
    [(_, payload)] = fake.command_puts
    desk = next(c for c in payload if c["name"] == "desk")
    assert int(desk["default_member_permissions"]) == MANAGE_GUILD
    editors = next(o for o in desk["options"] if o["name"] == "editors")
    assert {o["name"]: o["type"] for o in editors["options"]} == {"add": 6, "remove": 6}


async def test_an_admin_adds_and_removes_an_editor_and_a_member_cannot(
    fake: FakeDiscord, client: PledgeClient, desk_core: DeskCore
):
    _, refused = await command(
        fake, "desk editors", add=UserOption(MEMBER), user_id=MEMBER, permissions=MEMBER_PERMISSIONS
    )
    assert "Manage Server permission can choose editors" in refused["data"]["content"]
    assert not desk_core.core.is_editor("discord", str(fake.guild_id), str(MEMBER))

    payload, added = await command(
        fake, "desk editors", add=UserOption(REPORTER), user_id=ADMIN, permissions=SERVER_ADMIN
    )
    assert f"{REPORTER} may now edit the catalogue." in added["data"]["content"]
    assert f"<@{REPORTER}>" in added["data"]["embeds"][0]["description"]
    [remove] = added["data"]["components"][0]["components"]
    assert remove["custom_id"] == f"pledgebot:run:editors remove {REPORTER}"
    await command(fake, "pledge", query="hotline", user_id=REPORTER)
    assert desk_core.context_of("hotline").can_edit is True

    # A member pressing the admin's button is refused: the button carries a command, not a right.
    message = fake.original(payload)
    pressed = await fake.click(message, remove["custom_id"], user_id=MEMBER)
    assert "can choose editors" in json.dumps(pressed)
    assert desk_core.core.is_editor("discord", str(fake.guild_id), str(REPORTER))

    updated = await fake.click(message, remove["custom_id"], user_id=ADMIN, permissions=SERVER_ADMIN)
    assert updated["type"] == 7  # the list is replaced in place
    assert f"{REPORTER} is no longer an editor." in updated["data"]["content"]
    await command(fake, "pledge", query="hotline", user_id=REPORTER)
    assert desk_core.context_of("hotline").can_edit is False


async def test_a_form_opens_as_a_modal_first_and_its_submission_is_deferred_then_answered(
    fake: FakeDiscord, client: PledgeClient, desk_core: DeskCore
):
    payload, opened = await command(fake, "pledge", query="quote", user_id=ADMIN, permissions=SERVER_ADMIN)
    # The modal is the first and only response: nothing was deferred before it.
    callbacks = fake.requests.matching(lambda r: r.path.endswith(f"{payload['token']}/callback"))
    assert [c.body["type"] for c in callbacks] == [9]
    modal = opened["data"]
    assert modal["custom_id"].startswith("pledgebot:form:") and len(modal["custom_id"]) <= 100
    inputs = [c for row in modal["components"] for c in row["components"]]
    assert [c["custom_id"] for c in inputs] == ["words", "url", "said_on", "language"]
    assert inputs[0]["style"] == 2 and inputs[0]["max_length"] == 4000  # paragraph, Discord's limit
    assert inputs[2]["required"] is False and inputs[2]["placeholder"] == "YYYY-MM-DD"
    assert inputs[3]["placeholder"] == "en, ko"

    desk_core.answers.append(Reply(title="Quote added", notices=[Notice("Added to inter-korean-hotline.")]))
    values = {"words": "restore inter-Korean communication", "url": "http://127.0.0.1:9/a", "language": "en"}
    submission = await fake.submit_modal(modal, values, user_id=ADMIN, permissions=SERVER_ADMIN)
    deferred = await fake.callback_for(submission)
    assert deferred == {"type": 5, "data": {"flags": EPHEMERAL}}
    followup = await fake.followup_for(submission)
    assert "Quote added" in json.dumps(followup) and followup["flags"] & EPHEMERAL
    [(form, state, submitted, ctx)] = desk_core.submissions
    assert (form, state) == ("quote", "inter-korean-hotline")
    assert submitted == {**values, "said_on": ""}
    assert (ctx.user, ctx.can_edit) == (str(ADMIN), True)


async def test_a_next_step_is_a_button_that_opens_its_modal(
    fake: FakeDiscord, client: PledgeClient, desk_core: DeskCore
):
    _, opened = await command(fake, "pledge", query="quote", user_id=ADMIN, permissions=SERVER_ADMIN)
    desk_core.answers.append(Reply(form=CONFIRM_FORM))
    values = {"words": "w", "url": "http://x/", "language": "en"}
    submission = await fake.submit_modal(opened["data"], values, user_id=ADMIN, permissions=SERVER_ADMIN)
    followup = await fake.followup_for(submission)
    [button] = followup["components"][0]["components"]
    assert button["label"] == "Continue" and button["custom_id"].startswith("pledgebot:open:")
    message = fake.followups[submission["token"]][0]
    step = await fake.click(message, button["custom_id"], user_id=ADMIN, permissions=SERVER_ADMIN)
    assert step["type"] == 9
    [[outlet]] = [row["components"] for row in step["data"]["components"]]
    assert (outlet["custom_id"], outlet["value"]) == ("outlet", "Korea JoongAng Daily")


async def test_field_errors_come_back_with_a_button_to_correct_the_form(
    fake: FakeDiscord, client: PledgeClient, desk_core: DeskCore
):
    _, opened = await command(fake, "pledge", query="quote", user_id=ADMIN, permissions=SERVER_ADMIN)
    closest = "The closest passage on the page: “I will work to restore inter-Korean communication channels”"
    desk_core.answers.append(Reply(field_errors={"words": closest}))
    values = {"words": "restore the hotline", "url": "http://x/", "language": "ko"}
    submission = await fake.submit_modal(opened["data"], values, user_id=ADMIN, permissions=SERVER_ADMIN)
    followup = await fake.followup_for(submission)
    assert closest in followup["content"]
    [button] = followup["components"][0]["components"]
    assert button["label"] == "Correct the form"
    again = await fake.click(
        fake.followups[submission["token"]][0], button["custom_id"], user_id=ADMIN, permissions=SERVER_ADMIN
    )
    refilled = {
        c["custom_id"]: c.get("value") for row in again["data"]["components"] for c in row["components"]
    }
    assert refilled["words"] == "restore the hotline" and refilled["language"] == "ko"


async def test_a_modal_submitted_twice_is_answered_once(fake: FakeDiscord, client: PledgeClient, desk_core):
    _, opened = await command(fake, "pledge", query="quote", user_id=ADMIN, permissions=SERVER_ADMIN)
    desk_core.answers.append(Reply(title="Quote added"))
    values = {"words": "w", "url": "http://x/", "language": "en"}
    first = await fake.submit_modal(opened["data"], values, user_id=ADMIN, permissions=SERVER_ADMIN)
    await fake.followup_for(first)
    second = await fake.submit_modal(opened["data"], values, user_id=ADMIN, permissions=SERVER_ADMIN)
    answer = await fake.callback_for(second)
    assert answer["type"] == 4 and "This form has expired" in answer["data"]["content"]
    assert len(desk_core.submissions) == 1


async def test_a_form_after_a_deferral_is_a_button_never_a_late_modal(
    fake: FakeDiscord, client: PledgeClient, desk_core: DeskCore
):
    # The core is slower than the bot waits before deferring.
    client.responder.defer_after = 0.05
    desk_core.slow.clear()
    payload, first = await command(fake, "pledge", query="quote", user_id=ADMIN, permissions=SERVER_ADMIN)
    assert first["type"] == 5
    desk_core.slow.set()
    followup = await fake.followup_for(payload)
    [button] = followup["components"][0]["components"]
    assert button["custom_id"].startswith("pledgebot:open:")
    callbacks = fake.requests.matching(lambda r: r.path.endswith(f"{payload['token']}/callback"))
    assert [c.body["type"] for c in callbacks] == [5]


def test_a_long_form_is_cut_to_discords_five_inputs():
    from adapters.discord_app.forms import modal

    many = dataclasses.replace(
        QUOTE_FORM, fields=tuple(FormField(f"f{n}", f"Field {n}" * 10, FieldKind.TEXT) for n in range(7))
    )
    data = modal(many, "token").to_dict()
    assert len(data["components"]) == 5
    assert all(len(row["components"][0]["label"]) <= 45 for row in data["components"])
    assert not modal(Form("x", "t", (), "s"), "token").to_dict()["components"]


# -- the real desk through Discord -----------------------------------------------------------------------

HOTLINE = "inter-korean-hotline"


@pytest.fixture
async def real(fake: FakeDiscord, core: Core, settings: Settings) -> AsyncIterator[PledgeClient]:
    """A client over the real core, its desk and fetcher."""
    running = await start(fake, core, settings)
    yield running.client
    await running.stop()


def content(body: dict) -> str:
    return json.dumps(body, ensure_ascii=False)


async def test_an_editor_rates_and_undoes_and_a_member_cannot_rate(
    fake: FakeDiscord, real: PledgeClient, core: Core, bot, pages: str, desk_role: int
):
    rate = dict(pledge_id=HOTLINE, status="in the works", url=f"{pages}/hotline-restored")
    head = bot.journal.head()
    _, refused = await command(fake, "desk rate", **rate, user_id=MEMBER)
    assert "Manage Server permission or the editor role, and the editors list (/desk editors)" in content(
        refused
    )
    assert bot.journal.head() == head

    # A member with the editor role rates (the core fetches the page: a slow one is deferred, then followed).
    payload, first = await command(fake, "desk rate", **rate, user_id=REPORTER, roles=(desk_role,))
    rated = await fake.followup_for(payload) if first["type"] == 5 else first
    assert "Rated inter-korean-hotline: In the works" in content(rated)
    _, card = await command(fake, "pledge", query="hotline", user_id=MEMBER)
    assert "In the works (last reviewed 2026-05-10)" in content(card)
    [edit] = [e for e in bot.journal.pledge_edits(HOTLINE) if e.kind is EditKind.RATE]
    _, history = await command(fake, "pledges history", pledge_id=HOTLINE, user_id=MEMBER)
    assert f"#{edit.id}" in content(history)

    _, undone = await command(fake, "desk undo", edit_id=edit.id, user_id=ADMIN, permissions=SERVER_ADMIN)
    assert f"Edit #{edit.id}" in content(undone)
    _, card = await command(fake, "pledge", query="hotline", user_id=MEMBER)
    assert "Not yet rated" in content(card)


async def test_a_listed_editor_rates_and_loses_the_right_when_removed(
    fake: FakeDiscord, real: PledgeClient, core: Core, bot, pages: str
):
    rate = dict(pledge_id=HOTLINE, status="in the works", url=f"{pages}/hotline-restored")
    admin = dict(user_id=ADMIN, permissions=SERVER_ADMIN)
    payload, _ = await command(fake, "desk editors", add=UserOption(MEMBER), **admin)
    asked, first = await command(fake, "desk rate", **rate, user_id=MEMBER)
    rated = await fake.followup_for(asked) if first["type"] == 5 else first
    assert "Rated inter-korean-hotline: In the works" in content(rated)
    [remove] = fake.original(payload)["components"][0]["components"]
    await fake.click(fake.original(payload), remove["custom_id"], **admin)
    head = bot.journal.head()
    _, refused = await command(fake, "desk rate", **rate, user_id=MEMBER)
    assert "can edit the catalogue" in content(refused) and bot.journal.head() == head


async def test_the_quote_modal_checks_the_page_then_confirms_the_source(
    fake: FakeDiscord, real: PledgeClient, core: Core, bot, pages: str
):
    admin = dict(user_id=ADMIN, permissions=SERVER_ADMIN)
    _, given = await command(fake, "desk quote", pledge_id=HOTLINE, **admin)
    assert given["data"]["components"][0]["components"][0]["value"] == HOTLINE
    _, opened = await command(fake, "desk quote", **admin)
    assert opened["type"] == 9
    modal = opened["data"]
    assert [c["custom_id"] for row in modal["components"] for c in row["components"]] == [
        "pledge",
        "words",
        "url",
        "pasted",
        "said_on",
    ]
    wrong = {
        "pledge": HOTLINE,
        "words": "I will work to restore inter-Korean communication lines, such as hotlines",
        "url": f"{pages}/seed",
    }
    submission = await fake.submit_modal(modal, wrong, **admin)
    assert (await fake.callback_for(submission))["type"] == 5
    refused = await fake.followup_for(submission)
    assert "These words are not on the page." in content(refused) and "Closest passage: “" in content(refused)
    head = bot.journal.head()

    [correct] = refused["components"][0]["components"]
    message = fake.followups[submission["token"]][0]
    reopened = await fake.click(message, correct["custom_id"], **admin)
    assert reopened["type"] == 9
    submission = await fake.submit_modal(reopened["data"], {**wrong, "words": HOTLINE_QUOTE}, **admin)
    step = await fake.followup_for(submission)
    [go_on] = step["components"][0]["components"]
    assert go_on["label"] == "Continue"
    opened = await fake.click(fake.followups[submission["token"]][0], go_on["custom_id"], **admin)
    confirm = opened["data"]
    inputs = {c["custom_id"]: c for row in confirm["components"] for c in row["components"]}
    assert list(inputs) == ["outlet", "headline", "published", "kind", "translation_of"]
    assert (
        inputs["outlet"]["value"] == "Korea JoongAng Daily" and inputs["published"]["value"] == "2025-05-26"
    )
    values = {name: c.get("value", "") for name, c in inputs.items()}
    submission = await fake.submit_modal(confirm, values, **admin)
    saved = await fake.followup_for(submission)
    assert "Quote added to inter-korean-hotline" in content(saved)
    assert bot.journal.head() == head + 1


async def test_an_updates_now_channel_hears_of_a_rating_once(
    fake: FakeDiscord, real: PledgeClient, bot, clock, pages: str
):
    manager = MEMBER_PERMISSIONS | MANAGE_CHANNELS
    await fake.run_command("reminders subscribe", time="09:00", updates="now", permissions=manager)
    rate = dict(pledge_id=HOTLINE, status="in the works", url=f"{pages}/hotline-restored")
    payload, first = await command(fake, "desk rate", **rate, user_id=ADMIN, permissions=SERVER_ADMIN)
    rated = await fake.followup_for(payload) if first["type"] == 5 else first
    assert "Rated" in content(rated)
    service = bot.delivery({"discord": DiscordDeliverer(real)})
    soon = clock.now + dt.timedelta(seconds=59)
    announced = await service.run_pass(soon)
    again = await service.run_pass(soon)
    assert len(announced.announced) == 1 and not again.announced
    [post] = fake.channel_messages[fake.channel_id]
    assert "Restore inter-Korean hotlines and communication channels → In the works" in content(post)


async def test_outside_the_desk_servers_the_desk_names_the_publisher_and_lookups_work(
    fake: FakeDiscord, settings: Settings, clock
):
    """With PLEDGEBOT_DESK_GUILDS naming another server, a server admin here is told who edits the
    catalogue; searching still works."""
    elsewhere = dataclasses.replace(
        settings, desk_guilds=frozenset({fake.guild_id + 1}), publisher="Korea JoongAng Daily"
    )
    bot = open_bot(elsewhere, clock=clock)
    running = await start(fake, bot.core, elsewhere)
    try:
        _, refused = await command(fake, "desk editors", user_id=ADMIN, permissions=SERVER_ADMIN)
        assert "This catalogue is edited by Korea JoongAng Daily" in refused["data"]["content"]
        _, found = await command(fake, "pledge", query="hotline", user_id=ADMIN, permissions=SERVER_ADMIN)
        assert HOTLINE_QUOTE[:60] in json.dumps(found, ensure_ascii=False)
    finally:
        await running.stop()
        bot.close()
