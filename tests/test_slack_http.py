"""The Slack adapter in HTTP mode, end to end: `serve()` on 127.0.0.1, the real Bolt app and the real core,
signed requests built as Slack builds them, and a fake Slack Web API recording what the app sends back."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from adapters.slack_app.app import ChannelPacer, make_client, post_message, serve
from adapters.slack_app.server import SlackStartError
from bot.config import Settings
from bot.core import Core
from bot.replies import Context, Reply
from tests.conftest import HOTLINE_QUOTE, HOTLINE_QUOTE_SLACK_BOLD
from tests.fakes.slack_api import (
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    block_actions,
    form_body,
    interactive_body,
    signed_headers,
    slash_command,
)

HOTLINE_HEADLINE = "Lee Jae-myung pledges to restore inter-Korean hotline, strengthen U.S. alliance"
REPORTER = "U0REPORTER"  # an ordinary member
EDITOR = "U0EDITOR"  # a Slack workspace admin
DESK_CHIEF = "U0DESKCHIEF"  # on SLACK_ADMINS, not a workspace admin
SEOUL_READER = "U0SEOUL"  # an ordinary member whose Slack is set to Korean
CHANNEL = "C0POLITICS"
WAIT = 5.0


@pytest.fixture
def slack_users() -> dict[str, dict]:
    return {REPORTER: {}, EDITOR: {"admin": True}, DESK_CHIEF: {}, SEOUL_READER: {"locale": "ko-KR"}}


@pytest.fixture
def settings(tmp_path: Path, slack: FakeSlack) -> Settings:
    return slack.settings(tmp_path / "pledgebot.db", slack_admins=frozenset({DESK_CHIEF}))


class Running:
    """A running `serve()` task and an HTTP session to talk to it."""

    def __init__(self, url: str, session: aiohttp.ClientSession, slack: FakeSlack) -> None:
        self.url = url
        self.session = session
        self.slack = slack
        self._responses = 0

    async def post(self, body: str | bytes, headers: dict[str, str]) -> tuple[int, str]:
        """POST to /slack/events; return status and body text."""
        async with self.session.post(f"{self.url}/slack/events", data=body, headers=headers) as response:
            return response.status, await response.text()

    def new_response_url(self) -> str:
        """A fresh response_url, so each request's answers can be told apart."""
        self._responses += 1
        return self.slack.response_url(str(self._responses))

    async def command(self, text: str, user: str = REPORTER) -> dict:
        """Send a signed `/pledge text`, check the immediate empty ack, return what reaches response_url."""
        response_url = self.new_response_url()
        body = form_body(slash_command(text, user_id=user, response_url=response_url))
        status, answer = await self.post(body, signed_headers(body))
        assert (status, answer) == (200, "")
        return await self.answer_at(response_url)

    async def click(self, action_id: str, value: str, user: str = REPORTER) -> str:
        """Send a signed block_actions button click; return its response_url."""
        response_url = self.new_response_url()
        body = interactive_body(block_actions(action_id, value, user_id=user, response_url=response_url))
        status, answer = await self.post(body, signed_headers(body))
        assert (status, answer) == (200, "")
        return response_url

    async def answer_at(self, response_url: str) -> dict:
        """Wait (bounded) for the first post to `response_url`."""
        path = response_url.removeprefix(self.slack.url.rstrip("/"))

        def posted() -> list:
            return [c for c in self.slack.calls_to("response_url") if c.path == path]

        deadline = time.monotonic() + WAIT
        while not posted():
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"nothing was posted to {path}"
            count = len(self.slack.calls_to("response_url"))
            await self.slack.wait_for_calls("response_url", count + 1, timeout=remaining)
        return posted()[0].body


async def start(core, settings: Settings, slack: FakeSlack, **options) -> AsyncIterator[Running]:
    stopping = asyncio.Event()
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(core, settings, stopping, host="127.0.0.1", ready=ready, **options))
    done, _ = await asyncio.wait({task, ready}, timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
    assert ready in done, "serve() did not start"
    async with aiohttp.ClientSession() as session:
        yield Running(ready.result(), session, slack)
    stopping.set()
    await asyncio.wait_for(task, WAIT)


@pytest.fixture
async def running(core: Core, settings: Settings, slack: FakeSlack) -> AsyncIterator[Running]:
    async for r in start(core, settings, slack):
        yield r


def text_of(payload: dict) -> str:
    """Everything a person would read in a message payload."""
    return json.dumps(payload, ensure_ascii=False)


async def test_hotline_quote_date_and_source_reach_response_url(running: Running, slack: FakeSlack):
    answer = await running.command("hotline")
    assert answer["response_type"] == "ephemeral"
    quote_blocks = [
        b
        for b in answer["blocks"]
        if b["type"] == "section" and HOTLINE_QUOTE_SLACK_BOLD in b["text"]["text"]
    ]
    assert len(quote_blocks) == 1
    # The searched word is in bold in the quote; the quote itself is unchanged.
    assert f">{HOTLINE_QUOTE_SLACK_BOLD}" in quote_blocks[0]["text"]["text"]
    assert "2025-05-26" in quote_blocks[0]["text"]["text"]
    assert HOTLINE_HEADLINE in text_of(answer) and "Korea JoongAng Daily" in text_of(answer)
    assert HOTLINE_QUOTE in answer["text"]
    buttons = [e for b in answer["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert {"action_id": "pledge_share_0", "value": "show inter-korean-hotline"}.items() <= buttons[0].items()
    # Bolt authorised the request with auth.test, using the bot token from settings.
    assert slack.calls_to("auth.test")[0].token == BOT_TOKEN


async def test_a_search_shows_the_quote_that_matches_with_its_words_in_bold(running: Running):
    answer = await running.command("stalled denuclearization")
    text = " ".join(b["text"]["text"] for b in answer["blocks"] if b["type"] == "section")
    assert ">The North Korean *denuclearization* process has long been *stalled*" in text
    assert "3 more quotes" in text


async def test_a_korean_user_is_answered_in_korean_and_others_in_english(running: Running, slack: FakeSlack):
    answer = await running.command("hotline", user=SEOUL_READER)
    text = text_of(answer)
    assert "남북 핫라인·통신선 복원" in text and "— 이재명, 2025년 5월 26일" in text
    assert (
        "이행 상태: 미평가" in text and "출처:" in text and "2025년 5월 26일 11:09 (UTC+09:00) 게시" in text
    )
    buttons = [e for b in answer["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons[0]["text"]["text"] == "채널에 공유"
    assert HOTLINE_QUOTE in text  # the quote itself stays verbatim
    english = text_of(await running.command("hotline"))
    assert "Status: Not yet rated" in english and "이행 상태" not in english


async def test_healthz(running: Running):
    async with running.session.get(f"{running.url}/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"ok": True}


async def test_the_site_shares_the_slack_port_for_pledgebot_web(core, bot, settings, slack):
    """`pledgebot web` on hosts where only one process receives HTTP: the site beside /slack/events."""
    from adapters.site.app import Site
    from bot.cli import site_sources

    async for running in start(core, settings, slack, mount=Site(site_sources(bot)).install):
        async with running.session.get(f"{running.url}/pledges/inter-korean-hotline") as response:
            assert response.status == 200 and HOTLINE_QUOTE in await response.text()
        async with running.session.get(f"{running.url}/no-such-page") as response:
            assert response.status == 404 and "Page not found" in await response.text()
        async with running.session.get(f"{running.url}/healthz") as response:
            assert await response.json() == {"ok": True}
        assert "Restore inter-Korean hotlines" in text_of(await running.command("hotline"))


async def assert_no_side_effect(running: Running, response_url: str) -> None:
    """A later good request is answered, and nothing ever reached the rejected request's response_url."""
    await running.command("help")
    path = response_url.removeprefix(running.slack.url.rstrip("/"))
    assert [c for c in running.slack.calls_to("response_url") if c.path == path] == []


async def test_bad_signature_is_401_without_side_effect(running: Running):
    response_url = running.new_response_url()
    body = form_body(slash_command("subscribe", user_id=EDITOR, response_url=response_url))
    status, _ = await running.post(body, signed_headers(body, secret="not-the-signing-secret"))
    assert status == 401
    await assert_no_side_effect(running, response_url)
    assert "No subscription" in text_of(await running.command("subscriptions"))


async def test_stale_timestamp_is_401_without_side_effect(running: Running):
    response_url = running.new_response_url()
    body = form_body(slash_command("hotline", response_url=response_url))
    status, _ = await running.post(body, signed_headers(body, timestamp=int(time.time()) - 301))
    assert status == 401
    await assert_no_side_effect(running, response_url)


def _signed(body: str | bytes, **options) -> tuple[str | bytes, dict[str, str]]:
    text = body.decode("latin-1") if isinstance(body, bytes) else body
    headers = signed_headers(text, **options)
    if isinstance(body, bytes):
        # Sign the raw bytes as Slack would: the signature covers the body exactly as sent.
        ts = headers["X-Slack-Request-Timestamp"]
        digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
        headers["X-Slack-Signature"] = f"v0={digest}"
    return body, headers


def _unsigned_garbage() -> list[tuple[str, str | bytes, dict[str, str], int]]:
    ok_body = form_body(slash_command("hotline", response_url="http://127.0.0.1:9/x"))
    headers = signed_headers(ok_body)
    no_sig = {k: v for k, v in headers.items() if k != "X-Slack-Signature"}
    no_ts = {k: v for k, v in headers.items() if k != "X-Slack-Request-Timestamp"}
    return [
        ("missing signature", ok_body, no_sig, 401),
        ("missing timestamp", ok_body, no_ts, 401),
        ("non-numeric timestamp", ok_body, {**headers, "X-Slack-Request-Timestamp": "yesterday"}, 400),
        ("huge timestamp", ok_body, {**headers, "X-Slack-Request-Timestamp": "9" * 40}, 400),
        ("non-ascii signature", ok_body, {**headers, "X-Slack-Signature": "v0=ü"}, 401),
        ("wrong content type", ok_body, {**headers, "Content-Type": "text/plain"}, 415),
        ("unsigned bad payload", "payload=%7Bnot-json", {**headers}, 401),
        ("oversized body", "text=" + "x" * 70_000, signed_headers("text=" + "x" * 70_000), 413),
    ]


@pytest.mark.parametrize(
    ("name", "body", "headers", "status"), _unsigned_garbage(), ids=lambda v: str(v)[:24]
)
async def test_malformed_requests_get_a_4xx(running: Running, name, body, headers, status):
    assert (await running.post(body, headers))[0] == status


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"text=\xff\xfe", "application/x-www-form-urlencoded", 400),
        ("payload=%7Bnot-json", "application/x-www-form-urlencoded", 400),
        ("payload=%5B1%2C2%5D", "application/x-www-form-urlencoded", 400),
        ("payload=%7B%7D&payload=%7B%7D", "application/x-www-form-urlencoded", 400),
        ("%%%", "application/x-www-form-urlencoded", 400),
        ("[1, 2]", "application/json", 400),
        ("{not json", "application/json", 400),
        ("", "application/x-www-form-urlencoded", 404),
        ('{"type": "event_callback"}', "application/json", 404),
        ("payload=%7B%22type%22%3A5%7D", "application/x-www-form-urlencoded", 400),
    ],
)
async def test_signed_garbage_gets_a_4xx(running: Running, body, content_type, status):
    # Only a holder of the signing secret can send these, but a bug on Slack's side must still not be a 500.
    body, headers = _signed(body, content_type=content_type)
    assert (await running.post(body, headers))[0] == status


@pytest.mark.parametrize("manager", [EDITOR, DESK_CHIEF], ids=["workspace-admin", "SLACK_ADMINS"])
async def test_subscribe_is_stored_and_listed(running: Running, manager: str):
    answer = await running.command("subscribe 08:30 America/New_York", user=manager)
    assert "08:30 America/New_York" in text_of(answer)
    listed = await running.command("subscriptions", user=REPORTER)
    assert "08:30 America/New_York" in text_of(listed)


async def test_subscribe_with_bad_time_and_zone_is_refused_and_stores_nothing(running: Running):
    answer = await running.command("subscribe 25:00 Mars/Olympus", user=EDITOR)
    assert answer["blocks"][0]["text"]["text"].startswith(":x: ")
    assert "25:00" in text_of(answer) or "Mars/Olympus" in text_of(answer)
    assert "No subscription" in text_of(await running.command("subscriptions"))


async def test_non_admin_may_not_subscribe(running: Running, slack: FakeSlack):
    answer = await running.command("subscribe 08:30 America/New_York", user=REPORTER)
    assert "Only a workspace admin" in text_of(answer)
    assert "No subscription" in text_of(await running.command("subscriptions"))
    # Whether the user is an admin was asked of Slack, not assumed.
    assert any(c.body.get("user") == REPORTER for c in slack.calls_to("users.info"))


async def test_share_posts_the_card_to_the_channel(running: Running, slack: FakeSlack):
    await running.click("pledge_share_0", "show inter-korean-hotline")
    (call,) = await slack.wait_for_calls("chat.postMessage")
    assert call.token == BOT_TOKEN
    assert call.body["channel"] == CHANNEL
    assert call.body["blocks"][0] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": f"Shared by <@{REPORTER}>"}],
    }
    assert HOTLINE_QUOTE in text_of(call.body) and "2025-05-26" in text_of(call.body)
    assert "response_type" not in call.body
    # The public copy has no Share button of its own.
    assert "pledge_share" not in text_of(call.body)
    assert len(slack.messages[CHANNEL]) == 1


async def test_a_shared_quote_card_is_posted_then_its_image_uploaded(running: Running, slack: FakeSlack):
    """files upload v2: the upload URL, the PNG's bytes, then the completion naming the channel."""
    answer = await running.command("card inter-korean-hotline")
    assert "Share in channel to post the card's image there." in text_of(answer)
    assert not slack.calls_to("files.getUploadURLExternal")  # a private answer uploads nothing
    await running.click("pledge_share_0", "card inter-korean-hotline 1")
    (message,) = await slack.wait_for_calls("chat.postMessage")
    assert HOTLINE_QUOTE in text_of(message.body)
    (asked,) = await slack.wait_for_calls("files.getUploadURLExternal")
    assert asked.body["filename"] == "inter-korean-hotline-1-en.png"
    assert HOTLINE_QUOTE in asked.body["alt_txt"]
    (done,) = await slack.wait_for_calls("files.completeUploadExternal")
    assert done.body["channel_id"] == CHANNEL
    (uploaded,) = slack.uploads.values()
    assert uploaded.startswith(b"\x89PNG") and int(asked.body["length"]) == len(uploaded)


async def test_a_refused_upload_is_told_to_the_sharer(running: Running, slack: FakeSlack):
    slack.fail_next("files.getUploadURLExternal", error="missing_scope")
    response_url = await running.click("pledge_share_0", "card inter-korean-hotline 1")
    answer = await running.answer_at(response_url)
    assert "its image could not be uploaded (missing_scope)" in text_of(answer)
    assert len(slack.messages[CHANNEL]) == 1  # the card itself was shared


async def test_an_admin_sets_the_channel_language_and_shared_cards_follow_it(
    running: Running, slack: FakeSlack
):
    refused = await running.command("language ko")
    assert "can change this channel's language" in text_of(refused)
    answer = await running.command("language ko", user=EDITOR)
    assert "채널 언어: 한국어" in text_of(answer)
    # The reporter reads English privately; the card they share is posted in the channel's Korean.
    assert "Status: Not yet rated" in text_of(await running.command("hotline"))
    await running.click("pledge_share_0", "show inter-korean-hotline")
    (call,) = await slack.wait_for_calls("chat.postMessage")
    assert call.body["blocks"][0]["elements"][0]["text"] == f"<@{REPORTER}> 님이 공유"
    assert "남북 핫라인·통신선 복원" in text_of(call.body) and "이행 상태: 미평가" in text_of(call.body)


async def test_share_rate_limited_is_retried_and_posted_once(running: Running, slack: FakeSlack):
    slack.fail_next("chat.postMessage", 1, retry_after=0)
    await running.click("pledge_share_0", "show inter-korean-hotline")
    calls = await slack.wait_for_calls("chat.postMessage", 2)
    assert len(calls) == 2
    assert len(slack.messages[CHANNEL]) == 1


async def test_more_button_answers_privately_in_place(running: Running):
    response_url = await running.click("pledge_more_1", "show inter-korean-hotline")
    answer = await running.answer_at(response_url)
    assert answer["response_type"] == "ephemeral"
    assert answer["replace_original"] is True
    assert HOTLINE_QUOTE in text_of(answer)


class GatedCore:
    """A core that waits for a gate before answering, to stand in for a slow database."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.gate = threading.Event()
        self.finished = threading.Event()

    def handle(self, text: str, ctx: Context) -> Reply:
        """Answer once the gate opens (bounded, so a failed test cannot hang a thread)."""
        try:
            self.gate.wait(WAIT)
            return self.core.handle(text, ctx)
        finally:
            self.finished.set()

    def is_editor(self, platform: str, workspace: str, user: str) -> bool:
        """The real core's editors list."""
        return self.core.is_editor(platform, workspace, user)

    def healthy(self) -> bool:
        """The real core's health."""
        return self.core.healthy()


class BrokenCore:
    """A core whose every call fails, as a corrupt database would."""

    def handle(self, text: str, ctx: Context) -> Reply:
        """Fail."""
        raise RuntimeError("database disk image is malformed at /secret/path")

    def healthy(self) -> bool:
        """Unhealthy, as a corrupt database is."""
        return False


async def test_ack_is_immediate_and_a_slow_core_gets_a_friendly_error(core, settings, slack):
    gated = GatedCore(core)
    try:
        async for running in start(gated, settings, slack, core_timeout=0.2):
            started = time.monotonic()
            answer = await running.command("hotline")
            assert time.monotonic() - started < 3
            assert "took too long" in text_of(answer)
            assert answer["response_type"] == "ephemeral"
    finally:
        gated.gate.set()
        # The abandoned thread must finish before the fixture closes the database under it.
        assert await asyncio.to_thread(gated.finished.wait, WAIT)


async def test_answers_in_flight_are_delivered_before_serve_returns(core, settings, slack):
    gated = GatedCore(core)
    stopping = asyncio.Event()
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(gated, settings, stopping, host="127.0.0.1", ready=ready))
    url = await asyncio.wait_for(ready, WAIT)
    body = form_body(slash_command("hotline", response_url=slack.response_url("late")))
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{url}/slack/events", data=body, headers=signed_headers(body)) as response,
    ):
        assert response.status == 200
    stopping.set()
    gated.gate.set()
    await asyncio.wait_for(task, WAIT)
    (call,) = slack.calls_to("response_url")
    assert HOTLINE_QUOTE in text_of(call.body)


async def test_failing_core_gets_a_friendly_error_not_a_traceback(settings, slack):
    async for running in start(BrokenCore(), settings, slack):
        answer = await running.command("hotline")
        assert "Sorry, something went wrong" in text_of(answer)
        assert "malformed" not in text_of(answer) and "Traceback" not in text_of(answer)


async def test_tokens_and_secrets_never_reach_the_log(core, settings, slack, caplog):
    caplog.set_level(logging.DEBUG)
    async for running in start(core, settings, slack):
        await running.command("hotline")
        await running.click("pledge_share_0", "show inter-korean-hotline")
        await slack.wait_for_calls("chat.postMessage")
    assert caplog.records
    assert BOT_TOKEN not in caplog.text
    assert SIGNING_SECRET not in caplog.text


async def test_rejected_bot_token_stops_start_up_with_a_clear_error(core, settings, slack):
    slack.invalid_tokens.add(BOT_TOKEN)
    with pytest.raises(SlackStartError, match=r"SLACK_BOT_TOKEN \(invalid_auth\)") as error:
        await asyncio.wait_for(serve(core, settings, asyncio.Event(), host="127.0.0.1"), WAIT)
    assert BOT_TOKEN not in str(error.value)


async def test_post_message_returns_ts_and_keeps_metadata(settings, slack):
    client = make_client(settings)
    metadata = {"event_type": "pledge_digest", "event_payload": {"date": "2026-05-26"}}
    ts = await post_message(client, CHANNEL, {"text": "hi", "blocks": []}, metadata=metadata)
    history = await client.conversations_history(channel=CHANNEL, include_all_metadata=True)
    assert [(m["ts"], m["metadata"]) for m in history["messages"]] == [(ts, metadata)]


async def test_post_message_waits_out_429s(settings, slack):
    slack.fail_next("chat.postMessage", 2, retry_after=0)
    ts = await post_message(make_client(settings), CHANNEL, {"text": "hi"})
    assert len(slack.calls_to("chat.postMessage")) == 3
    assert [m["ts"] for m in slack.messages[CHANNEL]] == [ts]


def test_pacer_spaces_posts_per_channel():
    now = [100.0]
    pacer = ChannelPacer(interval=1.0, clock=lambda: now[0])
    assert [pacer.delay("C1"), pacer.delay("C1"), pacer.delay("C2"), pacer.delay("C1")] == [0, 1, 0, 2]
    now[0] = 110.0
    assert pacer.delay("C1") == 0
