"""Slack request attacks against the real HTTP endpoint (`serve()` on 127.0.0.1, the real Bolt app and core):
every forged, stale, replayed, malformed or oversized request is refused with the right status and has no
side effect: nothing reaches Slack (no response_url post, no chat.postMessage, not even users.info) and the
database is unchanged. Only a workspace admin or owner, or someone on SLACK_ADMINS, may subscribe a channel.

`tests/test_slack_http.py` covers the basic refusals; this file adds the rest and checks side effects.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import time_machine
from multidict import CIMultiDict

from adapters.slack_app.server import MAX_BODY_BYTES, MAX_CLOCK_SKEW
from bot.cli import Bot
from bot.config import Settings
from bot.core import Core
from tests.fakes.slack_api import (
    SIGNING_SECRET,
    FakeSlack,
    block_actions,
    form_body,
    interactive_body,
    signed_headers,
    slash_command,
)
from tests.reliability.conftest import LONG, Figures, scaled, snapshot
from tests.test_slack_http import CHANNEL, DESK_CHIEF, EDITOR, REPORTER, Running, start, text_of

pytestmark = pytest.mark.fuzz

ATTACKER = "U0ATTACKER"  # a member of the workspace, not an admin
OWNER = "U0OWNER"  # the workspace owner (not flagged admin)
GHOST = "U0GHOST"  # unknown to users.info
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def slack_users() -> dict[str, dict]:
    return {REPORTER: {}, ATTACKER: {}, DESK_CHIEF: {}, EDITOR: {"admin": True}, OWNER: {"owner": True}}


@pytest.fixture
def settings(tmp_path: Path, slack: FakeSlack) -> Settings:
    return slack.settings(tmp_path / "pledgebot.db", slack_admins=frozenset({DESK_CHIEF}))


@pytest.fixture
async def running(core: Core, settings: Settings, slack: FakeSlack) -> AsyncIterator[Running]:
    async for r in start(core, settings, slack):
        yield r


def sign(body: bytes, timestamp: int | str, *, prefix: str = "v0=", secret: str = SIGNING_SECRET) -> str:
    """A signature over the raw bytes, as Slack computes it, with a chosen version prefix."""
    base = f"v0:{timestamp}:".encode() + body
    return prefix + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def headers_for(body: bytes, *, timestamp: int | None = None, content_type: str = FORM, **extra) -> dict:
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": sign(body, ts),
        **extra,
    }


def subscribe_body(response_url: str, user: str = ATTACKER, text: str = "subscribe 08:30 UTC") -> bytes:
    return form_body(slash_command(text, user_id=user, response_url=response_url)).encode()


class Guard:
    """Counts what the fake Slack and the database saw, to prove a request had no side effect."""

    def __init__(self, running: Running, bot: Bot, figures: Figures) -> None:
        self.running = running
        self.bot = bot
        self.figures = figures

    async def refused(self, body, headers, status: int, *, url: str | None = None) -> None:
        """POST, expect `status`, and prove that nothing at all happened because of it."""
        slack = self.running.slack
        calls, before = len(slack.calls), snapshot(self.bot.store.path)
        got, answer = await self.running.post(body, headers)
        self.figures.add("slack.attack_requests")
        assert got == status, answer
        # A later good request is answered: whatever the refused one might have started had its chance.
        flush = self.running.new_response_url()
        await self.running.answer_at(await self._help(flush))
        flush_path = flush.removeprefix(slack.url.rstrip("/"))
        extra = [c for c in slack.calls[calls:] if c.path != flush_path and c.method != "users.info"]
        assert extra == [], f"a refused request reached Slack: {[c.method for c in extra]}"
        asked = [c.body.get("user") for c in slack.calls[calls:] if c.method == "users.info"]
        assert set(asked) <= {REPORTER}, "a refused request made the app look up its user"
        if url is not None:
            path = url.removeprefix(slack.url.rstrip("/"))
            assert not [c for c in slack.calls if c.path == path]
        assert snapshot(self.bot.store.path) == before, "a refused request wrote to the database"

    async def _help(self, response_url: str) -> str:
        body = form_body(slash_command("help", user_id=REPORTER, response_url=response_url))
        status, _ = await self.running.post(body, signed_headers(body))
        assert status == 200
        return response_url


@pytest.fixture
async def guard(running: Running, bot: Bot, figures: Figures) -> Guard:
    # One good request first, so that Bolt's one-time auth.test is not mistaken for a refused request's.
    await running.command("help")
    return Guard(running, bot, figures)


def subscription(bot: Bot):
    return bot.subscriptions.subscription("slack", "T0NEWSROOM", CHANNEL)


# -- signatures and timestamps -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "mutate", "status"),
    [
        ("future timestamp +310 s", lambda b, ts: {"X-Slack-Request-Timestamp": str(ts + 310),
                                                   "X-Slack-Signature": sign(b, ts + 310)}, 401),
        ("stale timestamp -310 s", lambda b, ts: {"X-Slack-Request-Timestamp": str(ts - 310),
                                                  "X-Slack-Signature": sign(b, ts - 310)}, 401),
        ("timestamp 0", lambda b, ts: {"X-Slack-Request-Timestamp": "0",
                                       "X-Slack-Signature": sign(b, 0)}, 401),
        ("negative timestamp", lambda b, ts: {"X-Slack-Request-Timestamp": str(-ts)}, 400),
        ("float timestamp", lambda b, ts: {"X-Slack-Request-Timestamp": f"{ts}.5"}, 400),
        ("full-width timestamp", lambda b, ts: {"X-Slack-Request-Timestamp": str(ts).translate(
            {ord(d): 0xFF10 + int(d) for d in "0123456789"})}, 400),
        ("timestamp changed after signing", lambda b, ts: {"X-Slack-Request-Timestamp": str(ts - 1)}, 401),
        ("version prefix v1=", lambda b, ts: {"X-Slack-Signature": sign(b, ts, prefix="v1=")}, 401),
        ("version prefix V0=", lambda b, ts: {"X-Slack-Signature": sign(b, ts, prefix="V0=")}, 401),
        ("no version prefix", lambda b, ts: {"X-Slack-Signature": sign(b, ts, prefix="")}, 401),
        ("upper-case digest", lambda b, ts: {"X-Slack-Signature": "v0=" + sign(b, ts)[3:].upper()}, 401),
        ("truncated digest", lambda b, ts: {"X-Slack-Signature": sign(b, ts)[:-1]}, 401),
        ("digest with a newline", lambda b, ts: {"X-Slack-Signature": sign(b, ts) + "0"}, 401),
        ("other app's secret", lambda b, ts: {"X-Slack-Signature": sign(b, ts, secret="other")}, 401),
        ("empty secret", lambda b, ts: {"X-Slack-Signature": sign(b, ts, secret="")}, 401),
        ("signature of the empty body", lambda b, ts: {"X-Slack-Signature": sign(b"", ts)}, 401),
        ("empty signature", lambda b, ts: {"X-Slack-Signature": ""}, 401),
        ("empty timestamp", lambda b, ts: {"X-Slack-Request-Timestamp": ""}, 401),
        ("both headers missing", lambda b, ts: {"X-Slack-Signature": None,
                                                "X-Slack-Request-Timestamp": None}, 401),
        ("signature missing", lambda b, ts: {"X-Slack-Signature": None}, 401),
        ("timestamp missing", lambda b, ts: {"X-Slack-Request-Timestamp": None}, 401),
        ("content type text/plain", lambda b, ts: {"Content-Type": "text/plain"}, 415),
        ("content type multipart", lambda b, ts: {"Content-Type": "multipart/form-data; boundary=x"}, 415),
        ("content type xml", lambda b, ts: {"Content-Type": "application/xml"}, 415),
        ("content type octet-stream", lambda b, ts: {"Content-Type": "application/octet-stream"}, 415),
        ("no content type", lambda b, ts: {"Content-Type": None}, 415),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)  # fmt: skip
async def test_forged_subscribe_is_refused_without_side_effect(
    guard: Guard, running: Running, name, mutate, status
):
    # The request is an admin's subscribe: had any of these got through, it would have written.
    url = running.new_response_url()
    body = subscribe_body(url, user=EDITOR)
    ts = int(time.time())
    headers = headers_for(body, timestamp=ts)
    for key, value in mutate(body, ts).items():
        if value is None:
            headers.pop(key, None)
        else:
            headers[key] = value
    if "Content-Type" not in headers:
        headers["Content-Type"] = ""  # aiohttp would otherwise fill in its own
    await guard.refused(body, headers, status, url=url)


async def test_timestamps_within_five_minutes_either_way_are_accepted(running: Running, core: Core):
    # The boundary of the check above: Slack's clock may be a little ahead or behind ours.
    for skew in (-(MAX_CLOCK_SKEW - 10), MAX_CLOCK_SKEW - 10):
        url = running.new_response_url()
        body = form_body(slash_command("help", response_url=url)).encode()
        ts = int(time.time()) + skew
        assert (await running.post(body, headers_for(body, timestamp=ts)))[0] == 200
        assert "pledgebot" in text_of(await running.answer_at(url))


async def test_a_valid_request_replayed_after_five_minutes_is_refused(
    guard: Guard, running: Running, bot: Bot
):
    url = running.new_response_url()
    body = subscribe_body(url, user=EDITOR)
    headers = headers_for(body)
    assert (await running.post(body, headers))[0] == 200
    assert "Subscribed" in text_of(await running.answer_at(url))
    # The admin changes their mind; an attacker who captured the request replays it later.
    assert "Unsubscribed" in text_of(await running.command("unsubscribe", user=EDITOR))
    with time_machine.travel(time.time() + MAX_CLOCK_SKEW + 1, tick=True):
        await guard.refused(body, headers, 401)
    assert subscription(bot) is None
    path = url.removeprefix(running.slack.url.rstrip("/"))
    assert len([c for c in running.slack.calls if c.path == path]) == 1, "the replay was answered"


# -- bodies and headers ------------------------------------------------------------------------------------


async def _chunks(data: bytes, size: int = 4096):
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def test_oversized_bodies_are_413_with_or_without_a_length(guard: Guard, running: Running):
    url = running.new_response_url()
    big = subscribe_body(url, user=EDITOR) + b"&pad=" + b"x" * MAX_BODY_BYTES
    await guard.refused(big, headers_for(big), 413, url=url)
    # Chunked, so the server cannot know the size up front: it must stop reading at the cap.
    await guard.refused(_chunks(big), headers_for(big), 413, url=url)


async def test_a_chunked_request_within_the_cap_is_served(running: Running):
    url = running.new_response_url()
    body = form_body(slash_command("hotline", response_url=url)).encode()
    assert (await running.post(_chunks(body, 50), headers_for(body)))[0] == 200
    assert "hotline" in text_of(await running.answer_at(url)).lower()


async def test_duplicated_security_headers_are_judged_on_the_first(guard: Guard, running: Running):
    url = running.new_response_url()
    body = subscribe_body(url, user=EDITOR)
    good = headers_for(body)
    stale_ts = int(time.time()) - 400
    cases = [
        [("X-Slack-Signature", "v0=" + "0" * 64), ("X-Slack-Signature", good["X-Slack-Signature"])],
        [("X-Slack-Request-Timestamp", str(stale_ts)),
         ("X-Slack-Request-Timestamp", good["X-Slack-Request-Timestamp"])],
        [("Content-Type", "text/plain"), ("Content-Type", FORM)],
    ]  # fmt: skip
    # aiohttp itself refuses a request with two Content-Type headers as a bad HTTP message.
    statuses = [401, 401, 400]
    for pairs, status in zip(cases, statuses, strict=True):
        headers = CIMultiDict((k, v) for k, v in good.items() if k not in {p[0] for p in pairs})
        for key, value in pairs:
            headers.add(key, value)
        await guard.refused(body, headers, status, url=url)


async def test_non_utf8_bodies(guard: Guard, running: Running):
    body = b"command=%2Fpledge&text=\xff\xfe\xc0\x80&user_id=U0EDITOR&response_url=x"
    await guard.refused(body, {**headers_for(body), "X-Slack-Signature": "v0=" + "a" * 64}, 401)
    await guard.refused(body, headers_for(body), 400)
    overlong = b"text=%C0%AF&command=%2Fpledge"  # an overlong '/' percent-encoded: valid ASCII bytes
    await guard.refused(overlong, headers_for(overlong, content_type="application/xml"), 415)


async def test_json_body_on_the_form_endpoint(guard: Guard, running: Running, bot: Bot):
    url = running.new_response_url()
    payload = slash_command("subscribe 08:30 UTC", user_id=ATTACKER, response_url=url)
    body = json.dumps(payload).encode()
    # Unsigned: refused like any other.
    await guard.refused(body, {**headers_for(body, content_type="application/json"),
                               "X-Slack-Signature": sign(body, 1)}, 401, url=url)  # fmt: skip
    # Signed (only the secret's holder can): still no subscription for a non-admin, whatever Bolt makes of it.
    status, _ = await running.post(body, headers_for(body, content_type="application/json"))
    assert status in (200, 404)
    await running.command("help")
    assert subscription(bot) is None


async def test_forged_block_actions_are_refused(guard: Guard, running: Running):
    url = running.new_response_url()
    payload = block_actions("pledge_share_0", "show inter-korean-hotline", user_id=ATTACKER, response_url=url)
    body = interactive_body(payload).encode()
    await guard.refused(body, {**headers_for(body), "X-Slack-Signature": sign(body, 1)}, 401, url=url)
    stale = int(time.time()) - 3600
    await guard.refused(body, headers_for(body, timestamp=stale), 401, url=url)
    # A genuine click, then the same payload with its value swapped after signing.
    tampered = interactive_body({**payload, "actions": [{**payload["actions"][0], "value": "subscribe"}]})
    await guard.refused(tampered.encode(), headers_for(body), 401, url=url)
    assert running.slack.calls_to("chat.postMessage") == []


@pytest.mark.parametrize(
    ("action_id", "value"),
    [("pledge_more_1", "subscribe 07:00 UTC"), ("pledge_share_0", "subscribe 07:00 UTC"),
     ("pledge_more_1", "unsubscribe"), ("pledge_share_0", "unsubscribe")],
)  # fmt: skip
async def test_signed_buttons_carrying_state_changes_do_nothing_for_members(
    running: Running, bot: Bot, action_id: str, value: str
):
    # Slack only sends values the bot put on its buttons, but the app must not rely on it.
    assert "Subscribed" in text_of(await running.command("subscribe 09:00 UTC", user=EDITOR))
    before = snapshot(bot.store.path)
    url = await running.click(action_id, value, user=ATTACKER)
    assert "Only a workspace admin" in text_of(await running.answer_at(url))
    assert snapshot(bot.store.path) == before
    assert running.slack.calls_to("chat.postMessage") == []


async def test_unknown_action_ids_and_payload_types_do_nothing(guard: Guard, running: Running):
    url = running.new_response_url()
    for payload, status in (
        (block_actions("evil_action", "subscribe", user_id=ATTACKER, response_url=url), 404),
        ({"type": "shortcut", "callback_id": "pledge", "user": {"id": ATTACKER}, "response_url": url}, 404),
        ({"type": "view_submission", "user": {"id": ATTACKER}, "view": {"type": "modal"}}, 404),
        # Bolt's own middleware would fail on these shapes (no actions; a view without a type) with a 500;
        # the endpoint refuses them before Bolt sees them.
        ({"type": "block_actions", "actions": [], "user": {"id": ATTACKER}, "response_url": url}, 400),
        ({"type": "view_submission", "user": {"id": ATTACKER}, "view": {"callback_id": "x"}}, 400),
        ({"user": {"id": ATTACKER}, "response_url": url}, 400),
    ):
        body = interactive_body(payload).encode()
        await guard.refused(body, headers_for(body), status, url=url)


async def test_random_corruptions_of_a_valid_request_are_all_refused(
    guard: Guard, running: Running, figures: Figures
):
    """Flip bytes of the body, the signature or the timestamp of a signed admin subscribe: never accepted."""
    rng = random.Random(7)
    url = running.new_response_url()
    body = subscribe_body(url, user=EDITOR)
    slack = running.slack
    calls, before = len(slack.calls), snapshot(guard.bot.store.path)
    for _ in range(scaled(200, 5000)):
        headers = headers_for(body)
        target = rng.choice(["body", "signature", "timestamp"])
        data = body
        if target == "body":
            data = bytearray(body)
            i = rng.randrange(len(data))
            data[i] = (data[i] + rng.randrange(1, 256)) % 256
            data = bytes(data)
        elif target == "signature":
            sig = list(headers["X-Slack-Signature"])
            i = rng.randrange(3, len(sig))
            sig[i] = rng.choice([c for c in "0123456789abcdef" if c != sig[i]])
            headers["X-Slack-Signature"] = "".join(sig)
        else:
            headers["X-Slack-Request-Timestamp"] = str(
                int(headers["X-Slack-Request-Timestamp"]) + rng.choice([-1, 1])
            )
        status, _ = await running.post(data, headers)
        figures.add("slack.corrupted_requests")
        assert status in (400, 401), (target, status)
    await running.command("help")
    assert [
        c.method for c in slack.calls[calls:] if c.method != "users.info" and c.method != "response_url"
    ] == []
    assert not [c for c in slack.calls if c.path == url.removeprefix(slack.url.rstrip("/"))]
    assert snapshot(guard.bot.store.path) == before


# -- markup in what users type -----------------------------------------------------------------------------


class RecordingCore:
    """The real core, recording the command text each call received."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.texts: list[str] = []

    def handle(self, text, ctx):
        """Record `text`, then answer it."""
        self.texts.append(text)
        return self.core.handle(text, ctx)

    def is_editor(self, platform: str, workspace: str, user: str) -> bool:
        """The real core's editors list."""
        return self.core.is_editor(platform, workspace, user)

    def healthy(self) -> bool:
        """The real core's health."""
        return self.core.healthy()


async def test_text_slack_escaped_reaches_the_core_as_typed_and_is_shown_once(core, settings, slack):
    # Slack escapes &, < and > in slash-command text; these are what it sends when the user types
    # `on 2025-<x>`, `on 2025-&lt;y&gt;` and `on 2025-<!channel>` (a malformed date is echoed in the answer).
    recording = RecordingCore(core)
    async for running in start(recording, settings, slack):
        answers = [
            text_of(await running.command(sent))
            for sent in ("on 2025-&lt;x&gt;", "on 2025-&amp;lt;y&amp;gt;", "on 2025-&lt;!channel&gt;")
        ]
    assert recording.texts == ["on 2025-<x>", "on 2025-&lt;y&gt;", "on 2025-<!channel>"]
    # Escaped once on the way out, so Slack shows each as typed: `<x>`, `&lt;y&gt;`, and no @channel ping.
    assert "'2025-&lt;x&gt;'" in answers[0]
    assert "'2025-&amp;lt;y&amp;gt;'" in answers[1]
    assert "'2025-&lt;!channel&gt;'" in answers[2] and "<!channel>" not in answers[2]


# -- who may subscribe ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "allowed"),
    [(EDITOR, True), (OWNER, True), (DESK_CHIEF, True), (REPORTER, False), (ATTACKER, False), (GHOST, False),
     ("u0deskchief", False), ("", False)],
)  # fmt: skip
async def test_only_admins_owners_and_the_admin_list_may_subscribe(
    running: Running, bot: Bot, figures: Figures, user: str, allowed: bool
):
    for verb in ("subscribe 06:00 Asia/Seoul", "구독 06:00 Asia/Seoul"):
        figures.add("slack.permission_checks")
        answer = text_of(await running.command(verb, user=user))
        assert (subscription(bot) is not None) is allowed, answer
        if allowed:
            assert "06:00 Asia/Seoul" in answer
            assert "Unsubscribed" in text_of(await running.command("unsubscribe", user=user))
        else:
            assert "Only a workspace admin" in answer


async def test_members_cannot_unsubscribe_a_channel(running: Running, bot: Bot):
    assert "Subscribed" in text_of(await running.command("subscribe 09:00 UTC", user=EDITOR))
    for user in (REPORTER, ATTACKER, GHOST):
        for verb in ("unsubscribe", "구독취소", "subscribe 03:00 UTC"):
            assert "Only a workspace admin" in text_of(await running.command(verb, user=user))
    sub = subscription(bot)
    assert sub is not None and sub.local_time.isoformat() == "09:00:00" and sub.created_by == EDITOR


async def test_when_slack_cannot_say_who_is_admin_the_answer_is_no(running: Running, bot: Bot):
    # users.info failing (HTTP 500, then rate limited beyond the retries) fails closed.
    running.slack.fail_next("users.info", 1, status=500)
    assert "Only a workspace admin" in text_of(await running.command("subscribe", user=EDITOR))
    assert subscription(bot) is None
    # Not cached: once Slack answers again, the admin may.
    assert "Subscribed" in text_of(await running.command("subscribe", user=EDITOR))


# -- signed payloads Bolt or the listeners would choke on --------------------------------------------------


def _nested(depth: int) -> str:
    """A JSON object holding lists `depth` levels deep."""
    return '{"type": "block_actions", "deep": ' + "[" * depth + "]" * depth + "}"


def _click(url: str, **changes) -> dict:
    """A genuine Share click with some fields replaced."""
    return {**block_actions("pledge_share_0", "show inter-korean-hotline", user_id=EDITOR, response_url=url),
            **changes}  # fmt: skip


def _action(url: str, **changes) -> dict:
    click = _click(url)
    return {**click, "actions": [{**click["actions"][0], **changes}]}


def _event(event) -> dict:
    return {"token": "x", "team_id": "T0NEWSROOM", "api_app_id": "A0PLEDGEBOT", "type": "event_callback",
            "event": event, "event_id": "Ev0", "event_time": 1748225345}  # fmt: skip


# Each is signed, so only Slack (or the secret's holder) could send it. Before they were refused, most made
# the endpoint answer 500 with a traceback; a null action_id got Bolt's 404, and the last two reached the
# click listener, which failed on them and logged a traceback.
MALFORMED_INTERACTIONS = {
    "block_actions with an empty action": lambda url: {**_click(url), "actions": [{}]},
    "action_id a number": lambda url: _action(url, action_id=5),
    "action_id a list": lambda url: _action(url, action_id=["pledge_share_0"]),
    "action_id null": lambda url: _action(url, action_id=None),
    "user a list holding 'id'": lambda url: _click(url, user=["id"]),
    "team a number": lambda url: _click(url, team=5),
    "enterprise a number": lambda url: _click(url, enterprise=5),
    "channel a list holding 'id'": lambda url: _click(url, channel=["id"]),
    "event a string on a click": lambda url: _click(url, event="x"),
    "authorizations holding a number": lambda url: _click(url, authorizations=[5]),
    "response_urls holding a number, without a response_url": lambda url: {
        k: v for k, v in _click(url, response_urls=[5]).items() if k != "response_url"},
    "interactive_message whose callback_id is a number": lambda url: {
        "type": "interactive_message", "callback_id": 5, "actions": [], "response_url": url},
    "dialog_submission whose callback_id is a list": lambda url: {
        "type": "dialog_submission", "callback_id": ["x"], "response_url": url},
    "block_suggestion whose action_id is a number": lambda url: {
        "type": "block_suggestion", "action_id": 5, "block_id": "b", "value": "v"},
    # Bolt accepts these; the click listener reads the user, team, channel and container as objects.
    "user a string": lambda url: _click(url, user=EDITOR),
    "container a string": lambda url: _click(url, container="message"),
    "nested 5,000 deep": None,
}  # fmt: skip


@pytest.mark.parametrize("name", list(MALFORMED_INTERACTIONS))
async def test_signed_interactions_of_a_shape_bolt_cannot_read_are_400(
    guard: Guard, running: Running, no_secret_in_logs: list[str], name: str
):
    url = running.new_response_url()
    build = MALFORMED_INTERACTIONS[name]
    payload = _nested(5000) if build is None else json.dumps(build(url))
    body = form_body({"payload": payload}).encode()
    await guard.refused(body, headers_for(body), 400, url=url)
    assert not [line for line in no_secret_in_logs if "Traceback" in line]


# As above; before, nesting 100 deep (under json's own limit) got Bolt's 404, and the slash command
# reached the core, which failed on a list and logged a traceback.
MALFORMED_JSON = {
    "event_callback whose event is a string": json.dumps(_event("app_mention")),
    "event_callback whose event is null": json.dumps(_event(None)),
    "event_callback whose event is a list holding 'type'": json.dumps(_event(["type"])),
    "event_callback whose event function is a string": json.dumps(_event(
        {"type": "function_executed", "function_execution_id": "Fx0", "function": "f"})),
    "block_actions sent as JSON with an empty action": json.dumps(
        {"type": "block_actions", "actions": [{}], "user": {"id": ATTACKER}}),
    "a slash command whose text is a list": json.dumps(
        {**slash_command("hotline", response_url=""), "text": ["hotline"]}),
    "nested 5,000 deep": _nested(5000),
    "nested 100 deep": _nested(100),
    "nested 5,000 deep inside a string-looking key": '{"a\\"": ' + "[" * 5000 + "]" * 5000 + "}",
}  # fmt: skip


@pytest.mark.parametrize("name", list(MALFORMED_JSON))
async def test_signed_json_bodies_of_a_shape_bolt_cannot_read_are_400(
    guard: Guard, running: Running, no_secret_in_logs: list[str], name: str
):
    body = MALFORMED_JSON[name].encode()
    await guard.refused(body, headers_for(body, content_type="application/json"), 400)
    assert not [line for line in no_secret_in_logs if "Traceback" in line]


async def test_a_form_body_that_bolt_would_read_as_broken_json_is_400(guard: Guard, running: Running):
    # Bolt parses any body that starts with "{" as JSON, whatever its content type.
    for body in (b'{"a=b', b'{"type=block_actions', b"{=" + b"[" * 5000):
        await guard.refused(body, headers_for(body), 400)


async def test_nesting_within_the_limit_is_served(running: Running):
    # Deep enough for any real payload (Block Kit state values nest a few levels), under the cap of 64.
    url = running.new_response_url()
    click = block_actions("pledge_more_1", "show inter-korean-hotline", response_url=url)
    click["state"] = {"values": {"deep": json.loads("[" * 40 + "]" * 40)}}
    body = interactive_body(click).encode()
    assert (await running.post(body, headers_for(body)))[0] == 200
    assert "hotline" in text_of(await running.answer_at(url)).lower()


_DELETE = object()
# Values of every JSON type, and those Bolt's `"id" in value` tests are fooled by; the long profile adds more.
_REPLACEMENTS = [None, 0, "", "x", [], ["id"], [{}], {}, {"id": 5}]
if LONG:
    _REPLACEMENTS += [1.5, True, -1, [5], [None], {"type": 5}, {"id": ["id"]}, "\ud800"]
_REPLACEMENTS.append(_DELETE)
# Fields Bolt or the listeners read, added where Slack would not put them.
_ADDED = ["event", "view", "authorizations", "response_urls", "enterprise", "team", "user", "channel",
          "user_id", "team_id", "channel_id", "callback_id", "action_id", "command", "text", "thread_ts",
          "function_execution_id", "function_data", "message", "item", "type"]  # fmt: skip


def _slack_bodies(url: str) -> list[tuple[str, dict]]:
    """One body of each kind Slack sends, with how it is sent ("payload" form field or "json")."""
    event = {
        "type": "app_mention",
        "user": "U0EDITOR",
        "text": "<@U0PLEDGEBOT> hi",
        "ts": "1.2",
        "channel": "C0POLITICS",
        "event_ts": "1.2",
        "message": {"user": "U0EDITOR", "thread_ts": "1.1"},
    }
    view = {
        "id": "V0",
        "type": "modal",
        "callback_id": "pledge_modal",
        "team_id": "T0NEWSROOM",
        "app_installed_team_id": "T0NEWSROOM",
        "state": {"values": {}},
    }
    user = {"id": EDITOR, "team_id": "T0NEWSROOM"}
    return [
        ("payload", block_actions("pledge_more_1", "help", user_id=EDITOR, response_url=url)),
        ("payload", {"type": "view_submission", "user": user, "view": view, "team": {"id": "T0NEWSROOM"}}),
        ("payload", {"type": "view_closed", "user": user, "view": view, "is_cleared": False}),
        ("payload", {"type": "shortcut", "callback_id": "pledge", "trigger_id": "t", "user": user}),
        ("payload", {"type": "message_action", "callback_id": "pledge", "user": user,
                     "channel": {"id": CHANNEL}, "message": {"ts": "1.2", "text": "x"}, "response_url": url}),
        ("payload", {"type": "block_suggestion", "action_id": "a", "block_id": "b", "value": "v",
                     "user": user}),
        ("payload", {"type": "interactive_message", "callback_id": "c", "actions": [{"name": "n"}],
                     "user": user, "response_url": url}),
        ("payload", {"type": "dialog_submission", "callback_id": "c", "submission": {}, "user": user,
                     "response_url": url}),
        ("json", {"type": "event_callback", "team_id": "T0NEWSROOM", "event": event,
                  "is_ext_shared_channel": True,
                  "authorizations": [{"team_id": "T0NEWSROOM", "user_id": "U0PLEDGEBOT", "is_bot": True}]}),
        ("json", {"type": "event_callback", "event": {"type": "function_executed",
                  "function_execution_id": "F", "function": {"callback_id": "f"}, "inputs": {},
                  "bot_access_token": "xwfp-1"}}),
        ("json", {"type": "url_verification", "challenge": "c", "token": "t"}),
        ("json", {**slash_command("help", user_id=EDITOR, response_url=url), "response_urls": [
            {"response_url": url, "channel_id": CHANNEL}]}),
    ]  # fmt: skip


def _paths(value, prefix=()):
    """Every path to a value inside `value` (dict keys and list indices)."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, child in items:
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


def _mutated(body: dict, path: tuple, replacement) -> dict:
    copy = json.loads(json.dumps(body))
    parent = copy
    for key in path[:-1]:
        parent = parent[key]
    if replacement is _DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    return copy


async def test_no_single_change_to_a_slack_body_makes_the_endpoint_fail(
    running: Running, no_secret_in_logs: list[str], figures: Figures
):
    """Every field of every kind of body Slack sends, replaced by each JSON type (or removed), and every field
    Bolt reads added where Slack would not put it: each is answered without a 5xx and without a traceback."""
    url = running.new_response_url()
    bodies: list[tuple[tuple, bytes, str]] = []
    for via, base in _slack_bodies(url):
        changes = [(path, r) for path in _paths(base) for r in _REPLACEMENTS]
        changes += [((key,), r) for key in _ADDED if key not in base for r in _REPLACEMENTS[:-1]]
        for path, replacement in changes:
            mutated = _mutated(base, path, replacement)
            what = (base.get("type") or "slash command", path, replacement)
            if via == "payload":
                bodies.append((what, form_body({"payload": json.dumps(mutated)}).encode(), FORM))
            else:
                bodies.append((what, json.dumps(mutated).encode(), "application/json"))
    # A slash command's form fields are strings, but a field Bolt reads as an object may still be added.
    for key in _ADDED:
        fields = {**slash_command("help", user_id=EDITOR, response_url=url), key: "x"}
        bodies.append((("slash command form", key, "x"), form_body(fields).encode(), FORM))

    # Sent a few at a time: the changes that leave a click or a command valid are answered by the core.
    lanes = asyncio.Semaphore(16)

    async def send(what: tuple, body: bytes, content_type: str) -> tuple | None:
        async with lanes:
            status, _ = await running.post(body, headers_for(body, content_type=content_type))
        return what if status >= 500 else None

    results = await asyncio.gather(*(send(*b) for b in bodies))
    assert [r for r in results if r is not None] == []
    await running.command("help")
    figures.add("slack.mutated_bodies", len(bodies))
    assert not [line for line in no_secret_in_logs if "Traceback" in line]
