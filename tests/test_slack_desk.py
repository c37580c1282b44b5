"""The desk on Slack, end to end through the real Bolt app in HTTP mode: who may edit, `/pledge editors` with
its user picker and remove buttons, and forms as modals (views.open, view_submission answered at once with a
"checking" view, then views.update with the core's answer)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from adapters.slack_app.app import Listeners, make_client, serve
from adapters.slack_app.delivery import SlackDeliverer
from bot.config import Settings
from bot.core import Core
from bot.desk.provenance import parse_allow
from bot.journal import EditKind
from bot.replies import Context, FieldKind, Form, FormField, Level, Notice, Reply
from tests.conftest import HOTLINE_QUOTE, FixedClock
from tests.fakes.slack_api import (
    TEAM_ID,
    FakeSlack,
    block_actions,
    form_body,
    interactive_body,
    signed_headers,
    slash_command,
    users_select,
    view_submission,
)
from tests.test_slack_http import Running

REPORTER = "U0REPORTER"  # an ordinary member
EDITOR = "U0EDITOR"  # a workspace admin
DESK_CHIEF = "U0DESKCHIEF"  # on SLACK_ADMINS: may choose editors, is not one
STRINGER = "U0STRINGER"  # on SLACK_EDITORS
CHANNEL = "C0POLITICS"
WAIT = 5.0

QUOTE_FORM = Form(
    form="quote",
    title="Add a quote to inter-korean-hotline",
    fields=(
        FormField("words", "The exact words", FieldKind.LONG, max_length=5000),
        FormField("url", "Source URL", FieldKind.URL),
        FormField("said_on", "Date said", FieldKind.DATE, required=False),
        FormField("language", "Language", FieldKind.CHOICE, choices=(("en", "English"), ("ko", "Korean"))),
    ),
    submit="Check and add",
    state="inter-korean-hotline",
)
CONFIRM_FORM = Form(
    form="confirm",
    title="Confirm the source",
    fields=(FormField("outlet", "Outlet", value="Korea JoongAng Daily"),),
    submit="Add",
    state="inter-korean-hotline|1",
)


class DeskCore:
    """The real core for commands, recording each command's context; `quote` opens QUOTE_FORM (once `slow`
    opens) and forms are answered from `answers`, in order, once `gate` opens (both bounded)."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.contexts: list[tuple[str, Context]] = []
        self.submissions: list[tuple[str, str, dict[str, str], Context]] = []
        self.answers: list[Reply] = []
        self.gate = threading.Event()
        self.gate.set()
        # Holds `quote` (bounded), to stand in for a core slower than a platform waits.
        self.slow = threading.Event()
        self.slow.set()

    def handle(self, text: str, ctx: Context) -> Reply:
        """Record, then answer (a form for `quote`)."""
        self.contexts.append((text, ctx))
        if text == "quote":
            self.slow.wait(WAIT)
            return Reply(form=QUOTE_FORM)
        return self.core.handle(text, ctx)

    def answer_now(self, text: str, ctx: Context) -> Reply | None:
        """None: every command goes through `handle`, which records its context."""
        return None

    def submit(self, form: str, state: str, values: dict[str, str], ctx: Context) -> Reply:
        """Record the submission and give the next scripted answer."""
        self.submissions.append((form, state, values, ctx))
        self.gate.wait(WAIT)
        return self.answers.pop(0)

    def is_editor(self, platform: str, workspace: str, user: str) -> bool:
        """The real core's editors list."""
        return self.core.is_editor(platform, workspace, user)

    def channel_language(self, ctx: Context) -> str:
        """The real core's channel language."""
        return self.core.channel_language(ctx)

    def healthy(self) -> bool:
        """The real core's health."""
        return self.core.healthy()

    def context_of(self, text: str) -> Context:
        """The context of the last command `text`."""
        return [ctx for typed, ctx in self.contexts if typed == text][-1]


@pytest.fixture
def slack_users() -> dict[str, dict]:
    return {REPORTER: {}, DESK_CHIEF: {}, STRINGER: {}, EDITOR: {"admin": True}}


@pytest.fixture
def settings(tmp_path: Path, slack: FakeSlack) -> Settings:
    # The desk's fetcher may reach the page server on 127.0.0.1 (tests/pages.py), as
    # PLEDGEBOT_FETCH_ALLOW=127.0.0.1/32 would allow, and nothing else.
    return slack.settings(
        tmp_path / "pledgebot.db",
        slack_admins=frozenset({DESK_CHIEF}),
        slack_editors=frozenset({STRINGER}),
        fetch_allow=parse_allow("127.0.0.1/32"),
    )


class Desk(Running):
    """A running app with the desk's requests: picks, submissions."""

    async def pick(self, block_id: str, action_id: str, person: str, user: str) -> dict:
        """Pick `person` in a users_select; return what reaches the response_url."""
        response_url = self.new_response_url()
        payload = users_select(block_id, action_id, person, response_url=response_url, user_id=user)
        body = interactive_body(payload)
        assert (await self.post(body, signed_headers(body))) == (200, "")
        return await self.answer_at(response_url)

    async def press(self, action_id: str, value: str, user: str) -> dict:
        """Press a button on an ephemeral message; return what reaches the response_url."""
        response_url = self.new_response_url()
        body = interactive_body(block_actions(action_id, value, response_url=response_url, user_id=user))
        assert (await self.post(body, signed_headers(body))) == (200, "")
        return await self.answer_at(response_url)

    async def submit(self, view: dict, values: dict[str, str], user: str) -> dict:
        """Submit a modal; return Slack's HTTP answer (the ack), parsed."""
        body = interactive_body(view_submission(view, values, user_id=user))
        status, text = await self.post(body, signed_headers(body))
        assert status == 200
        return json.loads(text)

    async def open_quote_form(self, user: str = EDITOR) -> dict:
        """Run `/pledge quote` and return the view views.open was given, as the fake holds it."""
        body = form_body(slash_command("quote", user_id=user, response_url=self.new_response_url()))
        assert (await self.post(body, signed_headers(body))) == (200, "")
        await self.slack.wait_for_calls("views.open")
        return self.slack.views[next(iter(self.slack.views))]


@pytest.fixture
def desk_core(core: Core) -> DeskCore:
    return DeskCore(core)


@pytest.fixture
async def desk(desk_core: DeskCore, settings: Settings, slack: FakeSlack) -> AsyncIterator[Desk]:
    stopping = asyncio.Event()
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(desk_core, settings, stopping, host="127.0.0.1", ready=ready))
    url = await asyncio.wait_for(ready, WAIT)
    async with aiohttp.ClientSession() as session:
        yield Desk(url, session, slack)
    desk_core.gate.set()
    desk_core.slow.set()
    stopping.set()
    await asyncio.wait_for(task, WAIT)


def text_of(payload: dict) -> str:
    return json.dumps(payload, ensure_ascii=False)


async def test_who_may_edit_comes_from_slack_the_setting_and_the_list(desk: Desk, desk_core: DeskCore):
    for user in (REPORTER, EDITOR, DESK_CHIEF, STRINGER):
        await desk.command("hotline", user=user)
    rights = {
        ctx.user: (ctx.can_edit, ctx.can_choose_editors, ctx.can_manage)
        for text, ctx in desk_core.contexts
        if text == "hotline"
    }
    assert rights == {
        REPORTER: (False, False, False),
        EDITOR: (True, True, True),  # a workspace admin
        DESK_CHIEF: (False, True, True),  # SLACK_ADMINS chooses editors but is not one
        STRINGER: (True, False, False),  # SLACK_EDITORS
    }


async def test_admin_rights_follow_slack_within_a_minute_and_the_list_at_once(
    core: Core, bot, settings: Settings, slack: FakeSlack
):
    now = [1000.0]
    listeners = Listeners(core, settings, make_client(settings), clock=lambda: now[0])

    async def can_edit() -> bool:
        return (await listeners.context(TEAM_ID, CHANNEL, REPORTER)).can_edit

    assert not await can_edit()
    slack.add_user(REPORTER, admin=True)  # made a workspace admin in Slack
    now[0] += 59
    assert not await can_edit()  # Slack's answer of 59 s ago still stands
    now[0] += 2
    assert await can_edit()
    slack.add_user(REPORTER)
    bot.editors.add("slack", TEAM_ID, REPORTER, EDITOR, dt.datetime(2026, 5, 20, tzinfo=dt.UTC))
    now[0] += 61
    assert await can_edit()  # no longer an admin, but on the list
    bot.editors.remove("slack", TEAM_ID, REPORTER)
    assert not await can_edit()  # taken off the list: at once, whatever the cache holds


async def test_an_admin_adds_an_editor_with_the_picker_and_removing_them_counts_at_once(
    desk: Desk, desk_core: DeskCore, slack: FakeSlack
):
    listed = await desk.command("editors", user=EDITOR)
    [picker] = [b for b in listed["blocks"] if b.get("block_id", "").startswith("pledge_pick:")]
    assert picker["block_id"] == "pledge_pick:editors add"
    [element] = picker["elements"]
    assert element["type"] == "users_select"
    assert "SLACK_EDITORS" in text_of(listed)

    added = await desk.pick(picker["block_id"], element["action_id"], REPORTER, user=EDITOR)
    assert added["replace_original"] is True
    [line] = [b for b in added["blocks"] if "accessory" in b]
    assert line["text"]["text"].startswith(f"• <@{REPORTER}>")
    remove = line["accessory"]
    assert remove["value"] == f"editors remove {REPORTER}"
    await desk.command("hotline", user=REPORTER)
    assert desk_core.context_of("hotline").can_edit is True

    after = await desk.press(remove["action_id"], remove["value"], user=EDITOR)
    assert f"{REPORTER} is no longer an editor." in text_of(after)
    await desk.command("hotline", user=REPORTER)
    assert desk_core.context_of("hotline").can_edit is False
    # Members see the list without the picker or buttons.
    seen = await desk.command("editors", user=REPORTER)
    assert "users_select" not in text_of(seen) and "accessory" not in text_of(seen)


async def test_a_button_payload_grants_no_rights(desk: Desk, desk_core: DeskCore, slack: FakeSlack):
    # A member crafts the admin's buttons: the command travels, the rights are Slack's and the list's.
    pressed = await desk.press("pledge_run_0", f"editors add {REPORTER}", user=REPORTER)
    assert "Only a workspace admin or someone on the bot's admin list can choose editors." in text_of(pressed)
    picked = await desk.pick("pledge_pick:editors add", "pledge_pick_0", REPORTER, user=REPORTER)
    assert "can choose editors" in text_of(picked)
    assert not desk_core.core.is_editor("slack", "T0NEWSROOM", REPORTER)
    await desk.command("hotline", user=REPORTER)
    assert desk_core.context_of("hotline").can_edit is False
    # Each click was checked against Slack, not taken from the payload.
    assert [c.body["user"] for c in slack.calls_to("users.info")] == [REPORTER]


async def test_a_form_opens_as_a_modal_with_the_commands_trigger(desk: Desk, slack: FakeSlack):
    view = await desk.open_quote_form()
    [call] = slack.calls_to("views.open")
    assert call.body["trigger_id"].startswith("13345224609.738474920.")
    assert view["callback_id"] == "pledge_form"
    assert len(view["title"]["text"]) <= 24 and view["submit"]["text"] == "Check and add"
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert inputs["words"] == {
        "action_id": "value",
        "type": "plain_text_input",
        "multiline": True,
        "max_length": 3000,  # Slack's limit, below the form's own
    }
    assert inputs["url"]["type"] == "url_text_input"
    assert inputs["said_on"]["type"] == "datepicker"
    assert [o["value"] for o in inputs["language"]["options"]] == ["en", "ko"]
    assert json.loads(view["private_metadata"]) == {
        "form": "quote",
        "state": "inter-korean-hotline",
        "channel": CHANNEL,
    }
    # Nothing was posted to the response_url: the modal is the answer.
    assert slack.calls_to("response_url") == []


async def test_a_submission_is_answered_at_once_then_updated_with_the_outcome(
    desk: Desk, desk_core: DeskCore, slack: FakeSlack
):
    view = await desk.open_quote_form()
    desk_core.gate.clear()
    desk_core.answers.append(Reply(title="Quote added", notices=[Notice("Added to inter-korean-hotline.")]))
    values = {"words": "restore inter-Korean communication", "url": "http://127.0.0.1:9/a", "language": "en"}
    ack = await desk.submit(view, {**values, "said_on": "2025-05-26"}, user=EDITOR)
    # The ack came while the core was still held at the gate.
    assert ack["response_action"] == "update"
    assert "Checking the source…" in text_of(ack["view"])
    desk_core.gate.set()
    [update] = await slack.wait_for_calls("views.update")
    assert update.body["view_id"] == view["id"]
    assert "Quote added" in text_of(update.body["view"]) and "submit" not in update.body["view"]
    [(form, state, submitted, ctx)] = desk_core.submissions
    assert (form, state) == ("quote", "inter-korean-hotline")
    assert submitted == {**values, "said_on": "2025-05-26"}
    assert (ctx.user, ctx.channel, ctx.can_edit) == (EDITOR, CHANNEL, True)


async def test_field_errors_show_the_form_again_as_filled_in(
    desk: Desk, desk_core: DeskCore, slack: FakeSlack
):
    view = await desk.open_quote_form()
    closest = "The closest passage on the page: “I will work to restore inter-Korean communication channels”"
    desk_core.answers.append(Reply(field_errors={"words": closest}))
    await desk.submit(
        view, {"words": "restore the hotline", "url": "http://x/", "language": "ko"}, user=EDITOR
    )
    [update] = await slack.wait_for_calls("views.update")
    again = update.body["view"]
    blocks = again["blocks"]
    assert again["submit"]["text"] == "Check and add"
    assert again["private_metadata"] == view["private_metadata"]
    words = next(i for i, b in enumerate(blocks) if b.get("block_id") == "words")
    assert blocks[words]["element"]["initial_value"] == "restore the hotline"
    assert blocks[words + 1]["block_id"] == "error:words" and closest in text_of(blocks[words + 1])
    language = next(b for b in blocks if b.get("block_id") == "language")
    assert language["element"]["initial_option"]["value"] == "ko"


async def test_a_next_step_replaces_the_modal(desk: Desk, desk_core: DeskCore, slack: FakeSlack):
    view = await desk.open_quote_form()
    desk_core.answers.append(Reply(form=CONFIRM_FORM))
    await desk.submit(view, {"words": "w", "url": "http://x/", "language": "en"}, user=EDITOR)
    [update] = await slack.wait_for_calls("views.update")
    step = update.body["view"]
    assert [b["block_id"] for b in step["blocks"]] == ["outlet"]
    assert step["blocks"][0]["element"]["initial_value"] == "Korea JoongAng Daily"
    assert json.loads(step["private_metadata"])["form"] == "confirm"


async def test_a_next_step_too_large_for_slack_is_refused_in_the_modal(
    desk: Desk, desk_core: DeskCore, slack: FakeSlack
):
    view = await desk.open_quote_form()
    desk_core.answers.append(Reply(form=dataclasses.replace(CONFIRM_FORM, state="x" * 3000)))
    await desk.submit(view, {"words": "w", "url": "http://x/", "language": "en"}, user=EDITOR)
    [update] = await slack.wait_for_calls("views.update")
    assert "too large to open in Slack" in text_of(update.body["view"])
    assert "submit" not in update.body["view"]


async def test_a_modal_submitted_twice_is_answered_once(desk: Desk, desk_core: DeskCore, slack: FakeSlack):
    view = await desk.open_quote_form()
    desk_core.gate.clear()
    desk_core.answers.append(Reply(title="Quote added"))
    values = {"words": "w", "url": "http://x/", "language": "en"}
    first = await desk.submit(view, values, user=EDITOR)
    second = await desk.submit(view, values, user=EDITOR)
    assert first["response_action"] == second["response_action"] == "update"
    desk_core.gate.set()
    await slack.wait_for_calls("views.update")
    await desk.command("help", user=EDITOR)  # a later request is answered: the app went on
    assert len(desk_core.submissions) == 1 and len(slack.calls_to("views.update")) == 1


async def test_an_answer_whose_modal_was_closed_reaches_the_channel_privately(
    desk: Desk, desk_core: DeskCore, slack: FakeSlack
):
    view = await desk.open_quote_form()
    desk_core.gate.clear()
    desk_core.answers.append(Reply(title="Quote added", notices=[Notice("Added.", Level.INFO)]))
    await desk.submit(view, {"words": "w", "url": "http://x/", "language": "en"}, user=EDITOR)
    slack.close_view(view["id"])
    desk_core.gate.set()
    [post] = await slack.wait_for_calls("chat.postEphemeral")
    assert (post.body["channel"], post.body["user"]) == (CHANNEL, EDITOR)
    assert "Quote added" in text_of(post.body)


async def test_a_form_whose_state_is_too_large_for_slack_is_refused_plainly(desk: Desk, desk_core: DeskCore):
    huge = dataclasses.replace(QUOTE_FORM, state="x" * 3000)
    original = desk_core.handle

    def handle(text: str, ctx: Context) -> Reply:
        return Reply(form=huge) if text == "quote" else original(text, ctx)

    desk_core.handle = handle  # type: ignore[method-assign]
    answer = await desk.command("quote", user=EDITOR)
    assert "too large to open in Slack" in text_of(answer)
    assert desk.slack.calls_to("views.open") == []


# -- the real desk through Slack -------------------------------------------------------------------------

HOTLINE = "inter-korean-hotline"


@pytest.fixture
async def real(core: Core, settings: Settings, slack: FakeSlack) -> AsyncIterator[Desk]:
    """The app over the real core, its desk and fetcher."""
    stopping = asyncio.Event()
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(core, settings, stopping, host="127.0.0.1", ready=ready))
    url = await asyncio.wait_for(ready, WAIT)
    async with aiohttp.ClientSession() as session:
        yield Desk(url, session, slack)
    stopping.set()
    await asyncio.wait_for(task, WAIT)


async def test_an_editor_rates_and_undoes_and_a_member_cannot_rate(real: Desk, core: Core, bot, pages: str):
    rate = f"rate {HOTLINE} in the works {pages}/hotline-restored"
    head = bot.journal.head()
    refused = await real.command(rate, user=REPORTER)
    assert "Only workspace admins and owners, the people in SLACK_EDITORS and the editors list" in text_of(
        refused
    )
    assert bot.journal.head() == head

    rated = await real.command(rate, user=EDITOR)
    assert "Rated inter-korean-hotline: In the works" in text_of(rated)
    card = text_of(await real.command("hotline", user=REPORTER))
    assert "In the works (last reviewed 2026-05-10)" in card and f"{pages}/hotline-restored" in card
    [edit] = [e for e in bot.journal.pledge_edits(HOTLINE) if e.kind is EditKind.RATE]
    history = text_of(await real.command(f"history {HOTLINE}", user=REPORTER))
    assert f"#{edit.id}" in history

    # An editor chosen with the picker rates too; SLACK_EDITORS rates without being chosen.
    await real.pick("pledge_pick:editors add", "pledge_pick_0", REPORTER, user=EDITOR)
    undone = await real.command(f"undo {edit.id}", user=REPORTER)
    assert f"Edit #{edit.id}" in text_of(undone)
    assert "Not yet rated" in text_of(await real.command("hotline", user=STRINGER))


async def test_a_picked_editor_rates_and_loses_the_right_when_removed(
    real: Desk, core: Core, bot, pages: str
):
    rate = f"rate {HOTLINE} in the works {pages}/hotline-restored"
    listed = await real.command("editors", user=EDITOR)
    [picker] = [b for b in listed["blocks"] if b.get("block_id", "").startswith("pledge_pick:")]
    added = await real.pick(picker["block_id"], picker["elements"][0]["action_id"], REPORTER, user=EDITOR)
    assert "Rated inter-korean-hotline: In the works" in text_of(await real.command(rate, user=REPORTER))
    [remove] = [b["accessory"] for b in added["blocks"] if "accessory" in b]
    await real.press(remove["action_id"], remove["value"], user=EDITOR)
    head = bot.journal.head()
    refused = await real.command(rate, user=REPORTER)
    assert "can edit the catalogue" in text_of(refused) and bot.journal.head() == head


async def test_the_quote_modal_checks_the_page_then_confirms_the_source(
    real: Desk, core: Core, bot, slack: FakeSlack, pages: str
):
    view = await real.open_quote_form(user=EDITOR)
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == [
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
    ack = await real.submit(view, wrong, user=EDITOR)
    assert "Checking the source…" in text_of(ack)
    [update] = await slack.wait_for_calls("views.update")
    blocks = update.body["view"]["blocks"]
    [error] = [b for b in blocks if b.get("block_id") == "error:words"]
    assert "These words are not on the page." in text_of(error) and "Closest passage: “" in text_of(error)
    assert "restore inter-Korean communication channels" in text_of(error)
    head = bot.journal.head()

    # The refused form, as shown again, is corrected and submitted: the next step confirms the source.
    again = slack.views[view["id"]]
    await real.submit(again, {**wrong, "words": HOTLINE_QUOTE}, user=EDITOR)
    await slack.wait_for_calls("views.update", 2)
    confirm = slack.views[view["id"]]
    inputs = {b["block_id"]: b["element"] for b in confirm["blocks"] if b["type"] == "input"}
    assert inputs["outlet"]["initial_value"] == "Korea JoongAng Daily"
    assert inputs["published"]["initial_date"] == "2025-05-26"
    assert all(o["value"] for o in inputs["translation_of"]["options"])
    values = {
        "outlet": "Korea JoongAng Daily",
        "headline": inputs["headline"]["initial_value"],
        "published": "2025-05-26",
        "kind": "news report",
    }
    # Submitted twice (a double click): one edit.
    first = await real.submit(confirm, values, user=EDITOR)
    second = await real.submit(confirm, values, user=EDITOR)
    assert first["response_action"] == second["response_action"] == "update"
    calls = await slack.wait_for_calls("views.update", 3)
    assert "Quote added to inter-korean-hotline" in text_of(calls[2].body["view"])
    assert bot.journal.head() == head + 1


async def test_an_updates_now_channel_hears_of_a_rating_once(
    real: Desk, bot, clock: FixedClock, settings: Settings, slack: FakeSlack, pages: str
):
    subscribed = await real.command("subscribe 09:00 Asia/Seoul updates now", user=EDITOR)
    assert "within a minute" in text_of(subscribed)
    await real.command(f"rate {HOTLINE} in the works {pages}/hotline-restored", user=STRINGER)
    service = bot.delivery({"slack": SlackDeliverer(make_client(settings))})
    soon = clock.now + dt.timedelta(seconds=59)
    first = await service.run_pass(soon)
    again = await service.run_pass(soon)
    assert len(first.announced) == 1 and not again.announced
    [post] = slack.calls_to("chat.postMessage")
    assert post.body["channel"] == CHANNEL
    assert "Restore inter-Korean hotlines and communication channels → In the works" in text_of(post.body)
