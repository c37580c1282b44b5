"""The Slack adapter over Socket Mode, end to end: `serve()` with an app token connects to the fake's
websocket, acknowledges envelopes, and answers through response_url and chat.postMessage."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.slack_app.server import serve
from bot.cli import open_bot
from bot.config import Settings
from tests.conftest import HOTLINE_QUOTE
from tests.fakes.slack_api import (
    APP_TOKEN,
    BOT_TOKEN,
    FakeSlack,
    block_actions,
    slash_command,
    view_submission,
)

WAIT = 5.0


@pytest.fixture
def slack_users() -> dict[str, dict]:
    return {"U0REPORTER": {}, "U0EDITOR": {"admin": True}}


@pytest.fixture
def settings(tmp_path: Path, slack: FakeSlack) -> Settings:
    # Socket Mode needs no signing secret and no port (PLATFORM-RULES 5).
    return slack.settings(tmp_path / "pledgebot.db", socket_mode=True)


@pytest.fixture
async def connected(settings: Settings, slack: FakeSlack) -> AsyncIterator[FakeSlack]:
    bot = open_bot(settings)
    stopping = asyncio.Event()
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(bot.core, settings, stopping, ready=ready))
    done, _ = await asyncio.wait({task, ready}, timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
    assert ready in done and ready.result() == "socket-mode"
    await slack.wait_connected()
    yield slack
    stopping.set()
    await asyncio.wait_for(task, WAIT)
    bot.close()


async def test_connects_with_the_app_token(connected: FakeSlack):
    (call,) = connected.calls_to("apps.connections.open")
    assert call.token == APP_TOKEN
    assert connected.calls_to("auth.test")[0].token == BOT_TOKEN


async def test_slash_command_is_acked_and_answered_through_response_url(connected: FakeSlack):
    envelope_id = await connected.push(
        "slash_commands", slash_command("hotline", response_url=connected.response_url())
    )
    ack = await connected.wait_for_ack(envelope_id)
    # An empty ack: the answer follows through response_url, not in the ack.
    assert ack == {"envelope_id": envelope_id}
    (call,) = await connected.wait_for_calls("response_url")
    text = json.dumps(call.body, ensure_ascii=False)
    assert HOTLINE_QUOTE in text and "2025-05-26" in text
    assert call.body["response_type"] == "ephemeral"


async def test_share_button_posts_to_the_channel(connected: FakeSlack):
    payload = block_actions(
        "pledge_share_0", "show inter-korean-hotline", response_url=connected.response_url()
    )
    envelope_id = await connected.push("interactive", payload)
    await connected.wait_for_ack(envelope_id)
    (call,) = await connected.wait_for_calls("chat.postMessage")
    assert call.body["channel"] == "C0POLITICS"
    assert "Shared by <@U0REPORTER>" in call.body["text"]
    assert HOTLINE_QUOTE in json.dumps(call.body, ensure_ascii=False)


async def test_a_form_submission_is_acked_with_a_checking_view_then_updated(connected: FakeSlack):
    await connected.push(
        "slash_commands", slash_command("quote", user_id="U0EDITOR", response_url=connected.response_url())
    )
    await connected.wait_for_calls("views.open")
    [view] = connected.views.values()
    # A link the fetcher may not reach (no PLEDGEBOT_FETCH_ALLOW here): refused beside its field.
    values = {"pledge": "inter-korean-hotline", "words": "hotlines", "url": "http://127.0.0.1:9/page"}
    envelope_id = await connected.push("interactive", view_submission(view, values, user_id="U0EDITOR"))
    ack = await connected.wait_for_ack(envelope_id)
    assert ack["payload"]["response_action"] == "update"
    assert "Checking the source…" in json.dumps(ack["payload"]["view"], ensure_ascii=False)
    [update] = await connected.wait_for_calls("views.update")
    errors = [b for b in update.body["view"]["blocks"] if b.get("block_id") == "error:url"]
    assert len(errors) == 1


async def test_stopping_closes_the_websocket(settings: Settings, slack: FakeSlack):
    bot = open_bot(settings)
    stopping = asyncio.Event()
    task = asyncio.create_task(serve(bot.core, settings, stopping))
    await slack.wait_connected()
    stopping.set()
    await asyncio.wait_for(task, WAIT)
    await slack.wait_disconnected()
    bot.close()
