"""Discord interactions over HTTP, end to end: the fake Discord signs each interaction with the application's
Ed25519 key and POSTs it to the web process's `/discord/interactions` on 127.0.0.1, which answers through the
real discord.py client and the same `Responder` as the gateway; follow-ups reach the fake's webhook REST.

Also here: what refuses a request before anything runs (bad, missing and stale signatures), the settings
(DISCORD_PUBLIC_KEY), `pledgebot discord sync`, and the worker that connects no gateway in this mode.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route
from nacl.signing import SigningKey

from adapters.discord_app.client import sync
from adapters.discord_app.interactions import MAX_CLOCK_SKEW, PATH, Endpoint
from adapters.site.app import serve as serve_site
from bot.cli import Bot, site_sources
from bot.config import ConfigError, Settings, load_settings
from bot.core import Core
from bot.replies import Notice, Reply
from tests.conftest import HOTLINE_QUOTE, HOTLINE_QUOTE_DISCORD_BOLD, ROOT
from tests.fakes.discord_api import MANAGE_GUILD, MEMBER_PERMISSIONS, FakeDiscord, HttpAnswer
from tests.test_slack_desk import DeskCore

EPHEMERAL = 64
ENDPOINT_URL = "https://pledgebot.example/discord/interactions"
WAIT = 15.0


@pytest.fixture(autouse=True)
def discord_defaults() -> AsyncIterator[None]:
    """Fail a test that leaves discord.py's process-wide endpoints changed, and restore them anyway."""
    base, gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    yield
    leaked = (base, gateway) != (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = base, gateway
    assert not leaked, "the Discord adapter left Route.BASE or DEFAULT_GATEWAY changed"


@pytest.fixture
async def fake(discord_token: str) -> AsyncIterator[FakeDiscord]:
    """A fake Discord whose application sends interactions to an Interactions Endpoint URL."""
    server = FakeDiscord(token=discord_token, interactions_endpoint_url=ENDPOINT_URL)
    await server.start()
    yield server
    await server.close()


@pytest.fixture
def settings(tmp_path: Path, fake: FakeDiscord) -> Settings:
    """Settings for Discord over HTTP: the fake's token, API and public key."""
    return fake.settings(tmp_path / "pledgebot.db", discord_public_key=fake.public_key)


class Spy:
    """A core that records the name of every call made to it, then makes it on the real core."""

    def __init__(self, core: Any) -> None:
        self.core = core
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.core, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return attribute(*args, **kwargs)

        return call


class Web:
    """The web process's app (the site, with Discord's endpoint mounted as `pledgebot web` mounts it)."""

    def __init__(self, fake: FakeDiscord, endpoint: Endpoint, url: str) -> None:
        self.fake = fake
        self.endpoint = endpoint
        self.url = url

    async def send(self, payload: dict[str, Any], **options: Any) -> HttpAnswer:
        """Deliver an interaction as Discord does; return the endpoint's answer."""
        return await self.fake.post_interaction(self.url, payload, **options)

    async def command(self, command: str, **options: Any) -> tuple[dict[str, Any], HttpAnswer]:
        """Run a slash command; return its interaction payload and the answer."""
        extra = {k: options.pop(k) for k in ("user_id", "permissions", "roles", "locale") if k in options}
        payload = self.fake.interaction(2, self.fake.command(command, **options), **extra)
        return payload, await self.send(payload)

    async def click(self, message: dict[str, Any], custom_id: str, **options: Any) -> HttpAnswer:
        """Press a button on `message` (one the fake holds)."""
        data = {"custom_id": custom_id, "component_type": 2}
        return await self.send(self.fake.interaction(3, data, message=message, **options))


async def serve(
    fake: FakeDiscord, bot: Bot, core: Any, settings: Settings, *, register: bool = True, **options: Any
) -> AsyncIterator[Web]:
    """Register the commands (the deploy's `pledgebot discord sync`) unless told not to, then serve the site
    and the endpoint on 127.0.0.1 until the test ends, and stop as SIGTERM would."""
    if register:
        await sync(core, settings)
    endpoint = Endpoint(core, settings, **options)
    stopping = asyncio.Event()
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        serve_site(
            site_sources(bot),
            None,
            stopping,
            host="127.0.0.1",
            port=0,
            ready=ready,
            mount=endpoint.install,
        )
    )
    done, _ = await asyncio.wait({ready, task}, timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()  # raises the start-up failure
    assert ready in done, "the web process did not start"
    try:
        yield Web(fake, endpoint, ready.result().rstrip("/") + PATH)
    finally:
        stopping.set()
        await asyncio.wait_for(task, WAIT)


@pytest.fixture
def spy(core: Core) -> Spy:
    return Spy(core)


@pytest.fixture
async def web(fake: FakeDiscord, bot: Bot, spy: Spy, settings: Settings) -> AsyncIterator[Web]:
    async for served in serve(fake, bot, spy, settings):
        yield served


def field(embed: dict, name: str) -> str:
    return next(f["value"] for f in embed["fields"] if f["name"] == name)


def callbacks(fake: FakeDiscord, payload: dict[str, Any]) -> list[Any]:
    """The bodies the bot POSTed to the callback endpoint for this interaction."""
    path = f"/interactions/{payload['id']}/{payload['token']}/callback"
    return [r.body for r in fake.requests.matching(lambda r: r.path == path)]


# -- answering -------------------------------------------------------------------------------------------


async def test_a_ping_is_answered_with_a_pong(web: Web, spy: Spy):
    answer = await web.send(
        {"id": "1", "application_id": str(web.fake.application_id), "type": 1, "version": 1}
    )
    assert (answer.status, answer.body) == (200, {"type": 1})
    assert spy.calls == []


async def test_pledge_hotline_is_answered_with_the_verbatim_quote_in_the_http_answer(web: Web, fake):
    payload, answer = await web.command("pledge", query="hotline")
    assert answer.status == 200 and not answer.problems
    assert answer.body["type"] == 4 and answer.body["data"]["flags"] == EPHEMERAL
    embed = answer.body["data"]["embeds"][0]
    assert embed["description"] == "> " + HOTLINE_QUOTE_DISCORD_BOLD
    assert field(embed, "Said on") == "2025-05-26"
    assert "Korea JoongAng Daily" in field(embed, "Source")
    assert answer.body["data"]["allowed_mentions"] == {"parse": []}
    # The first response was the HTTP answer: nothing went to the callback endpoint.
    assert callbacks(fake, payload) == []


async def test_a_slow_answer_is_deferred_then_followed_up_through_the_webhook(
    web: Web, fake: FakeDiscord, core: Core, monkeypatch
):
    handle = core.handle

    def slow_handle(text, ctx):
        time.sleep(0.3)
        return handle(text, ctx)

    monkeypatch.setattr(core, "handle", slow_handle)
    assert web.endpoint.client is not None
    web.endpoint.client.responder.defer_after = 0.05
    payload, answer = await web.command("pledge", query="hotline")
    assert answer.body == {"type": 5, "data": {"flags": EPHEMERAL}}
    assert answer.seconds < 3 and not answer.problems
    followup = await fake.followup_for(payload)
    assert followup["embeds"][0]["description"] == "> " + HOTLINE_QUOTE_DISCORD_BOLD
    assert callbacks(fake, payload) == []


async def test_a_deferred_answer_is_still_followed_up_when_the_process_stops(
    fake: FakeDiscord, bot: Bot, core: Core, settings: Settings, monkeypatch
):
    handle = core.handle

    def slow_handle(text, ctx):
        time.sleep(0.5)
        return handle(text, ctx)

    monkeypatch.setattr(core, "handle", slow_handle)
    serving = serve(fake, bot, core, settings)
    web = await anext(serving)
    assert web.endpoint.client is not None
    web.endpoint.client.responder.defer_after = 0.05
    payload, answer = await web.command("pledge", query="hotline")
    assert answer.body["type"] == 5
    await serving.aclose()  # SIGTERM now, while the follow-up is still being worked on
    path = f"/webhooks/{fake.application_id}/{payload['token']}"
    [followup] = [r.body for r in fake.requests.items if r.method == "POST" and r.path == path]
    assert followup["embeds"][0]["description"] == "> " + HOTLINE_QUOTE_DISCORD_BOLD


async def test_autocomplete_is_answered_directly_within_discords_limits(web: Web):
    payload = web.fake.interaction(4, web.fake.command("pledge", focused="query", query="hot"))
    answer = await web.send(payload)
    assert answer.status == 200 and answer.body["type"] == 8 and answer.seconds < 3
    choices = answer.body["data"]["choices"]
    assert 1 <= len(choices) <= 25
    assert all(1 <= len(c["name"]) <= 100 and len(c["value"]) <= 100 for c in choices)
    assert "inter-korean-hotline" in [c["value"] for c in choices]


async def test_the_share_button_posts_the_card_publicly_naming_the_sharer(web: Web, fake: FakeDiscord):
    payload, _ = await web.command("pledge", query="hotline")
    message = fake.original(payload)
    share = next(
        b["custom_id"]
        for b in message["components"][0]["components"]
        if b["custom_id"].startswith("pledgebot:share:")
    )
    answer = await web.click(message, share, user_id=555)
    assert answer.status == 200 and answer.body["type"] == 4
    data = answer.body["data"]
    assert data["content"] == "Shared by <@555>" and not (data.get("flags") or 0) & EPHEMERAL
    assert data["embeds"][0]["description"] == "> " + HOTLINE_QUOTE


async def test_the_more_button_replaces_the_results_in_place(web: Web, fake: FakeDiscord):
    payload, first = await web.command("pledge", query="korea")
    assert first.body["data"]["content"].startswith("**12 pledges found")
    message = fake.original(payload)
    more = next(
        b["custom_id"]
        for b in message["components"][0]["components"]
        if b["custom_id"].startswith("pledgebot:more:")
    )
    answer = await web.click(message, more)
    assert answer.body["type"] == 7
    assert answer.body["data"]["content"].startswith("**Results 4–6 of 12")


async def test_a_quote_card_with_its_image_goes_to_the_callback_endpoint_and_the_answer_is_a_202(
    web: Web, fake: FakeDiscord
):
    payload, _ = await web.command("pledge", query="hotline")
    message = fake.original(payload)
    card = next(
        b["custom_id"]
        for b in message["components"][0]["components"]
        if b["custom_id"].startswith("pledgebot:run:card")
    )
    clicked = fake.interaction(3, {"custom_id": card, "component_type": 2}, message=message)
    answer = await web.send(clicked)
    # A response with files is multipart: Discord takes it at the callback endpoint, then wants a bare 202.
    assert (answer.status, answer.body, answer.problems) == (202, "", ())
    [body] = callbacks(fake, clicked)
    assert body["type"] == 7
    assert list(body["data"]["files"]) == ["inter-korean-hotline-1-en.png"]


async def test_an_unknown_button_is_answered_privately(web: Web, fake: FakeDiscord):
    payload, _ = await web.command("pledge", query="hotline")
    answer = await web.click(fake.original(payload), "someone-else:button")
    assert answer.body["type"] == 4 and answer.body["data"]["flags"] == EPHEMERAL
    assert "no longer does anything" in answer.body["data"]["content"]


async def test_an_interaction_nothing_answers_gets_an_error_within_the_budget(fake, bot, spy, settings):
    async for web in serve(fake, bot, spy, settings, budget=0.2):
        # A modal no form of ours opened: discord.py finds no handler for it, and nothing responds.
        payload = fake.interaction(5, {"custom_id": "someone-else:modal", "components": []})
        answer = await web.send(payload)
        assert (answer.status, answer.body) == (500, {"error": "no_response"})
        assert answer.seconds < 3
        assert callbacks(fake, payload) == []


# -- the desk: rights and forms --------------------------------------------------------------------------

ADMIN = 444_000_000_000_000_010
MEMBER = 444_000_000_000_000_011
REPORTER = 444_000_000_000_000_012


@pytest.fixture
def desk_core(core: Core) -> DeskCore:
    return DeskCore(core)


@pytest.fixture
async def desk(
    fake: FakeDiscord, bot: Bot, desk_core: DeskCore, settings: Settings
) -> AsyncIterator[tuple[Web, int]]:
    """The endpoint over a core whose `quote` opens a form, with the editor role "Desk"."""
    role = fake.add_role("Desk")
    desk_settings = dataclasses.replace(settings, discord_editor_role="Desk")
    async for served in serve(fake, bot, desk_core, desk_settings):
        yield served, role
    desk_core.gate.set()
    desk_core.slow.set()


async def test_manage_server_the_editor_role_and_nothing_decide_who_may_edit(desk, desk_core: DeskCore):
    web, role = desk
    await web.command("pledge", query="hotline", user_id=MEMBER)
    await web.command("pledge", query="hotline", user_id=ADMIN, permissions=MEMBER_PERMISSIONS | MANAGE_GUILD)
    # No gateway, so no guild cache: the role is read from the interaction's member and the server's roles.
    await web.command("pledge", query="hotline", user_id=REPORTER, roles=(role,))
    rights = {int(ctx.user): (ctx.can_edit, ctx.can_choose_editors) for _, ctx in desk_core.contexts}
    assert rights == {MEMBER: (False, False), ADMIN: (True, True), REPORTER: (True, False)}


async def test_a_form_opens_as_a_modal_and_its_submission_is_deferred_then_followed_up(
    desk, fake: FakeDiscord, desk_core: DeskCore
):
    web, _ = desk
    admin = {"user_id": ADMIN, "permissions": MEMBER_PERMISSIONS | MANAGE_GUILD}
    _, opened = await web.command("pledge", query="quote", **admin)
    assert opened.status == 200 and opened.body["type"] == 9 and not opened.problems
    modal = opened.body["data"]
    assert modal["custom_id"].startswith("pledgebot:form:")
    assert [c["custom_id"] for row in modal["components"] for c in row["components"]] == [
        "words",
        "url",
        "said_on",
        "language",
    ]
    desk_core.answers.append(Reply(title="Quote added", notices=[Notice("Added to inter-korean-hotline.")]))
    values = {"words": "restore inter-Korean communication", "url": "http://127.0.0.1:9/a", "language": "en"}
    rows = [
        {
            "type": 1,
            "components": [{"type": 4, "custom_id": c["custom_id"], "value": values.get(c["custom_id"], "")}],
        }
        for row in modal["components"]
        for c in row["components"]
    ]
    submission = fake.interaction(5, {"custom_id": modal["custom_id"], "components": rows}, **admin)
    deferred = await web.send(submission)
    assert deferred.body == {"type": 5, "data": {"flags": EPHEMERAL}}
    followup = await fake.followup_for(submission)
    assert "Quote added" in json.dumps(followup) and followup["flags"] & EPHEMERAL
    [(form, state, submitted, ctx)] = desk_core.submissions
    assert (form, state, submitted) == ("quote", "inter-korean-hotline", {**values, "said_on": ""})
    assert (ctx.user, ctx.can_edit) == (str(ADMIN), True)


# -- refusals: nothing runs ------------------------------------------------------------------------------


def _spaced(fake: FakeDiscord, body: bytes) -> dict[str, str]:
    """A good signature with a space in it, which `bytes.fromhex` alone would read as the same bytes."""
    headers = fake.signed(body)
    signature = headers["X-Signature-Ed25519"]
    return headers | {"X-Signature-Ed25519": f"{signature[:64]} {signature[64:]}"}


REFUSED = {
    "signed-by-another-key": lambda fake, body: fake.signed(body, key=SigningKey.generate()),
    "signature-of-another-body": lambda fake, body: fake.signed(body + b" "),
    "no-signature": lambda fake, body: {
        k: v for k, v in fake.signed(body).items() if k != "X-Signature-Ed25519"
    },
    "no-timestamp": lambda fake, body: {
        k: v for k, v in fake.signed(body).items() if k != "X-Signature-Timestamp"
    },
    "no-headers": lambda fake, body: {"Content-Type": "application/json"},
    "signature-not-hex": lambda fake, body: fake.signed(body) | {"X-Signature-Ed25519": "z" * 128},
    "signature-with-a-space": _spaced,
    "timestamp-not-a-number": lambda fake, body: fake.signed(body) | {"X-Signature-Timestamp": "²"},
    "stale-timestamp": lambda fake, body: fake.signed(body, timestamp=int(time.time()) - MAX_CLOCK_SKEW - 60),
    "timestamp-from-the-future": lambda fake, body: fake.signed(
        body, timestamp=int(time.time()) + MAX_CLOCK_SKEW + 60
    ),
}
REASONS = {
    "no-signature": "missing_signature",
    "no-timestamp": "missing_signature",
    "no-headers": "missing_signature",
    "stale-timestamp": "stale_timestamp",
    "timestamp-from-the-future": "stale_timestamp",
}


@pytest.mark.parametrize("case", list(REFUSED))
@pytest.mark.parametrize("kind", ["command", "ping"])
async def test_a_request_without_a_good_fresh_signature_is_refused_and_nothing_runs(
    web: Web, fake: FakeDiscord, spy: Spy, case: str, kind: str
):
    if kind == "ping":
        payload = {"id": "1", "application_id": str(fake.application_id), "type": 1, "version": 1}
    else:
        payload = fake.interaction(2, fake.command("pledge", query="hotline"))
    body = json.dumps(payload).encode()
    made = len(fake.requests)
    answer = await web.send(payload, headers=REFUSED[case](fake, body))
    assert answer.status == 401
    assert answer.body == {"error": REASONS.get(case, "invalid_signature")}
    assert spy.calls == []
    # Nothing was sent to Discord for it either (no deferral, no follow-up).
    assert fake.requests.items[made:] == []


async def test_a_timestamp_four_minutes_old_is_still_accepted(web: Web, fake: FakeDiscord):
    payload = fake.interaction(2, fake.command("pledge", query="hotline"))
    body = json.dumps(payload).encode()
    answer = await web.send(payload, headers=fake.signed(body, timestamp=int(time.time()) - 240))
    assert answer.status == 200 and answer.body["type"] == 4


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"not json", 400), (b"[1, 2]", 400), (b'{"type": 99}', 400), (b'{"type": 2}', 400)],
    ids=["not-json", "not-an-object", "unknown-type", "no-fields"],
)
async def test_signed_garbage_gets_a_4xx_and_nothing_runs(
    web: Web, fake: FakeDiscord, spy: Spy, body, status
):
    async with (
        aiohttp.ClientSession() as session,
        session.post(web.url, data=body, headers=fake.signed(body)) as response,
    ):
        assert response.status == status
    assert spy.calls == []


async def test_a_public_key_that_is_not_the_applications_stops_the_start(fake, bot, core, settings):
    other = SigningKey.generate().verify_key.encode().hex()
    wrong = dataclasses.replace(settings, discord_public_key=other)
    with pytest.raises(ConfigError, match="DISCORD_PUBLIC_KEY is not the public key of the application"):
        async for _ in serve(fake, bot, core, wrong, register=False):
            pass


# -- settings --------------------------------------------------------------------------------------------

KEY = SigningKey.generate().verify_key.encode().hex()


@pytest.mark.parametrize(
    "value",
    [
        "not-a-key",
        KEY[:-2],
        KEY + "00",
        "g" * 64,
        "00" * 32,  # hex, but no point of the curve a key could be
        "MTk4NjIy.discord-bot-token",
    ],
    ids=["words", "short", "long", "not-hex", "small-order-point", "a-bot-token"],
)
def test_a_malformed_public_key_is_a_configuration_error_naming_it(value: str):
    with pytest.raises(ConfigError, match="DISCORD_PUBLIC_KEY must be the application's public key") as error:
        load_settings({"DISCORD_TOKEN": "t", "DISCORD_PUBLIC_KEY": value})
    assert value not in str(error.value)


def test_the_public_key_needs_the_bot_token_and_turns_http_interactions_on():
    with pytest.raises(ConfigError, match="DISCORD_PUBLIC_KEY is set but DISCORD_TOKEN is missing"):
        load_settings({"DISCORD_PUBLIC_KEY": KEY})
    settings = load_settings({"DISCORD_TOKEN": "t", "DISCORD_PUBLIC_KEY": f"  {KEY.upper()}\n"})
    assert settings.discord_http and settings.discord_public_key == KEY
    assert not load_settings({"DISCORD_TOKEN": "t"}).discord_http


# -- the processes ---------------------------------------------------------------------------------------


def _env(fake: FakeDiscord, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "DISCORD_TOKEN": fake.token,
        "DISCORD_API_BASE": fake.base_url,
        "DISCORD_PUBLIC_KEY": fake.public_key,
        "PLEDGEBOT_DB": str(tmp_path / "pledgebot.db"),
        **extra,
    }


async def _bot(tmp_path: Path, env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    # cwd is the test's own folder so that no developer `.env` is read.
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _line(stream: asyncio.StreamReader, text: str) -> str:
    """Read `stream` until a line containing `text` (bounded by the caller)."""
    while True:
        line = (await stream.readline()).decode()
        assert line, f"the process ended before saying {text!r}"
        if text in line:
            return line


async def _stop(process: asyncio.subprocess.Process) -> str:
    process.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(process.communicate(), 20)
    return stderr.decode()


async def test_pledgebot_web_answers_discord_over_http_and_stops_on_sigterm(fake: FakeDiscord, tmp_path):
    from tests.test_cli import _free_port

    port = _free_port()
    env = _env(fake, tmp_path, PORT=str(port))
    # The deploy registers the commands once; the web processes never do.
    syncing = await _bot(tmp_path, env, "discord", "sync")
    await asyncio.wait_for(syncing.communicate(), 60)
    assert syncing.returncode == 0 and len(fake.command_puts) == 1
    process = await _bot(tmp_path, env, "web")
    try:
        assert process.stderr is not None
        await asyncio.wait_for(_line(process.stderr, "answering interactions at /discord/interactions"), 30)
        await asyncio.wait_for(_line(process.stderr, f"site: serving on http://127.0.0.1:{port}/"), 30)
        url = f"http://127.0.0.1:{port}{PATH}"
        ping = {"id": "1", "application_id": str(fake.application_id), "type": 1, "version": 1}
        assert (await fake.post_interaction(url, ping)).body == {"type": 1}
        answer = await fake.post_interaction(
            url, fake.interaction(2, fake.command("pledge", query="hotline"))
        )
        assert answer.body["data"]["embeds"][0]["description"] == "> " + HOTLINE_QUOTE_DISCORD_BOLD
        stderr = await _stop(process)
        assert process.returncode == 0, stderr
        assert fake.token not in stderr
        # The web process neither connects a gateway nor registers commands.
        assert not fake.connections.items and len(fake.command_puts) == 1
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_pledgebot_web_serves_slack_and_discord_over_http_on_one_port(
    fake: FakeDiscord, slack, tmp_path
):
    """Hosts send HTTP to the web process only: with Slack's HTTP mode too, both endpoints share $PORT."""
    from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, form_body, signed_headers, slash_command
    from tests.test_cli import _free_port

    port = _free_port()
    env = _env(
        fake,
        tmp_path,
        PORT=str(port),
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
    )
    process = await _bot(tmp_path, env, "web")
    try:
        assert process.stderr is not None
        await asyncio.wait_for(_line(process.stderr, f"Slack: serving HTTP on 0.0.0.0:{port}"), 30)
        ping = {"id": "1", "application_id": str(fake.application_id), "type": 1, "version": 1}
        answer = await fake.post_interaction(f"http://127.0.0.1:{port}{PATH}", ping)
        assert answer.body == {"type": 1}
        body = form_body(slash_command("hotline", response_url=slack.response_url("web")))
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"http://127.0.0.1:{port}/slack/events", data=body, headers=signed_headers(body)
            ) as r,
        ):
            assert r.status == 200
        await slack.wait_for_calls("response_url", 1)
        stderr = await _stop(process)
        assert process.returncode == 0, stderr
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_pledgebot_run_serves_the_endpoint_beside_the_site(fake: FakeDiscord, tmp_path):
    process = await _bot(tmp_path, _env(fake, tmp_path), "run")
    try:
        assert process.stderr is not None
        line = await asyncio.wait_for(_line(process.stderr, "the tracker site is at "), 30)
        url = line.split("the tracker site is at ")[1].strip().rstrip("/") + PATH
        ping = {"id": "1", "application_id": str(fake.application_id), "type": 1, "version": 1}
        assert (await fake.post_interaction(url, ping)).body == {"type": 1}
        stderr = await _stop(process)
        assert process.returncode == 0, stderr
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert not fake.connections.items


async def test_the_worker_connects_no_gateway_when_discord_uses_http(fake: FakeDiscord, tmp_path):
    process = await _bot(tmp_path, _env(fake, tmp_path), "worker")
    try:
        assert process.stderr is not None
        await asyncio.wait_for(_line(process.stderr, "holding the scheduler lock"), 30)
        # The digests' REST deliverer logs in before the adapters start; then the process is stopped.
        await fake.requests.wait_for(lambda r: r.path == "/users/@me", timeout=30)
        stderr = await _stop(process)
        assert process.returncode == 0, stderr
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    # A gateway client would have asked /gateway/bot before it could stop.
    assert not fake.requests.matching(lambda r: r.path == "/gateway/bot")
    assert not fake.connections.items


@pytest.mark.parametrize("guilds", [False, True], ids=["global", "per-guild"])
async def test_pledgebot_discord_sync_registers_the_commands_once(fake: FakeDiscord, tmp_path, guilds: bool):
    extra = {"DISCORD_GUILD_IDS": str(fake.guild_id)} if guilds else {}
    env = _env(fake, tmp_path, **extra)
    scope = fake.guild_id if guilds else None
    where = f"guild {fake.guild_id}" if guilds else "the global scope"
    first = await _bot(tmp_path, env, "discord", "sync")
    out, err = await asyncio.wait_for(first.communicate(), 60)
    assert first.returncode == 0, err.decode()
    assert out.decode() == f"Discord commands synced to {where}\n"
    [(synced, payload)] = fake.command_puts
    assert synced == scope
    assert {c["name"] for c in payload} == {"pledge", "pledges", "reminders", "desk"}
    assert {c["name"] for c in fake.commands[scope]} == {"pledge", "pledges", "reminders", "desk"}
    again = await _bot(tmp_path, env, "discord", "sync")
    out, err = await asyncio.wait_for(again.communicate(), 60)
    assert again.returncode == 0, err.decode()
    assert out.decode() == f"Discord commands unchanged in {where}\n"
    assert len(fake.command_puts) == 1
    assert not fake.connections.items


async def test_pledgebot_discord_sync_with_a_rejected_token_says_so_in_one_line(fake: FakeDiscord, tmp_path):
    wrong = "MTk4NjIy.rejected.token"
    process = await _bot(tmp_path, _env(fake, tmp_path, DISCORD_TOKEN=wrong), "discord", "sync")
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    assert err.decode().endswith("Discord rejected DISCORD_TOKEN (reset it under Bot, then paste it again)\n")
    assert "Traceback" not in err.decode()
    assert wrong not in out.decode() + err.decode() and not fake.command_puts
