"""Discord attacks against the real discord.py client and the fake Discord: state changes need Manage Channels
on every use (in a guild, never from a DM), interactions from guilds the bot has not seen are answered on
their own permissions, and malformed interactions (missing or mistyped options, overlong strings, unknown
commands, unknown buttons) never crash the bot, never write, and get an ephemeral answer where Discord
expects one. Over HTTP, interactions Discord did not sign (or signed long ago) are refused before anything
runs.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route
from nacl.signing import SigningKey

from adapters.discord_app.client import PledgeClient
from adapters.discord_app.interactions import MAX_CLOCK_SKEW
from bot.cli import Bot
from bot.config import Settings
from bot.core import Core
from tests.fakes.discord_api import EPHEMERAL, MANAGE_CHANNELS, MEMBER_PERMISSIONS, FakeDiscord
from tests.reliability.conftest import Figures, guard_secret, scaled, snapshot
from tests.test_discord_gateway import start

pytestmark = pytest.mark.fuzz

TOKEN = "discord-attack-token-7f3a9c"
MANAGER = MEMBER_PERMISSIONS | MANAGE_CHANNELS
ADMINISTRATOR = 1 << 3
UNSEEN_GUILD = 999_000_000_000_000_009
UNSEEN_CHANNEL = 999_000_000_000_000_010
STATE_CHANGING = [
    ("reminders subscribe", {"time": "08:30", "timezone": "Asia/Seoul"}),
    ("reminders subscribe", {}),
    ("reminders subscribe", {"ahead": 3}),
    ("reminders unsubscribe", {}),
]


@pytest.fixture(autouse=True)
def discord_defaults() -> AsyncIterator[None]:
    """Restore discord.py's process-wide endpoints after each test."""
    base, gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    yield
    Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = base, gateway


@pytest.fixture
def discord_token() -> str:
    # A token of this file's own, which the log guard knows: no attack may get it into a log line.
    guard_secret(TOKEN)
    return TOKEN


@pytest.fixture
def settings(tmp_path, fake: FakeDiscord) -> Settings:
    return fake.settings(tmp_path / "pledgebot.db")


@pytest.fixture
async def client(fake: FakeDiscord, core: Core, settings: Settings) -> AsyncIterator[PledgeClient]:
    running = await start(fake, core, settings)
    yield running.client
    assert not running.task.done(), "the bot stopped while under attack"
    await running.stop()


def content(body: dict) -> str:
    return str((body.get("data") or {}).get("content", ""))


def ephemeral(body: dict) -> bool:
    return body["type"] in (4, 5) and bool((body.get("data") or {}).get("flags", 0) & EPHEMERAL)


def in_guild(fake: FakeDiscord, payload: dict, guild: int, channel: int) -> dict:
    """Move an interaction to another guild and channel, as Discord would send it from there."""
    payload = dict(payload)
    payload["guild_id"] = str(guild)
    payload["guild"] = {"id": str(guild), "locale": "en-US", "features": []}
    payload["channel_id"] = str(channel)
    payload["channel"] = {**fake.channel_payload(), "id": str(channel), "guild_id": str(guild)}
    payload["authorizing_integration_owners"] = {"0": str(guild)}
    return payload


def in_dm(payload: dict) -> dict:
    """The same interaction sent from a DM with the bot: no guild, no member, a user."""
    payload = {k: v for k, v in payload.items() if k not in ("guild_id", "guild", "member")}
    user = {"id": "444000000000000077", "username": "dm-user", "discriminator": "0", "avatar": None}
    payload["user"] = user
    payload["channel_id"] = "555000000000000001"
    payload["channel"] = {"id": "555000000000000001", "type": 1, "recipients": [user], "flags": 0}
    payload["context"] = 1
    payload["authorizing_integration_owners"] = {"1": user["id"]}
    return payload


async def send(fake: FakeDiscord, payload: dict, figures: Figures) -> dict:
    figures.add("discord.interactions")
    await fake.send_interaction(payload)
    return await fake.callback_for(payload)


async def assert_unanswered_and_alive(fake: FakeDiscord, payload: dict) -> None:
    """The bot did not respond to `payload` (bounded: a later command is answered first) and still runs."""
    body = await fake.run_command("pledge", query="hotline")
    assert body["data"]["embeds"], "the bot stopped answering"
    path = f"/interactions/{payload['id']}/{payload['token']}/callback"
    assert not fake.requests.matching(lambda r: r.path == path)


# -- permissions ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("command", "options"), STATE_CHANGING, ids=lambda v: str(v))
@pytest.mark.parametrize(
    "permissions",
    [0, MEMBER_PERMISSIONS, MEMBER_PERMISSIONS | (1 << 5) | (1 << 13)],
    ids=["none", "member", "mod"],
)
async def test_state_changes_need_manage_channels(
    fake, client, bot: Bot, figures: Figures, command: str, options: dict, permissions: int
):
    # A subscription to remove, for unsubscribe to be tempted.
    await fake.run_command("reminders subscribe", time="09:00", permissions=MANAGER)
    before = snapshot(bot.store.path)
    body = await send(
        fake, fake.interaction(2, fake.command(command, **options), permissions=permissions), figures
    )
    assert ephemeral(body) and "Manage Channels" in content(body)
    assert snapshot(bot.store.path) == before


@pytest.mark.parametrize(("command", "options"), STATE_CHANGING, ids=lambda v: str(v))
async def test_state_changes_from_a_dm_are_refused_whatever_the_permissions(
    fake, client, bot: Bot, figures: Figures, command: str, options: dict
):
    before = snapshot(bot.store.path)
    payload = in_dm(
        fake.interaction(2, fake.command(command, **options), permissions=MANAGER | ADMINISTRATOR)
    )
    body = await send(fake, payload, figures)
    assert ephemeral(body)
    assert snapshot(bot.store.path) == before


async def test_manage_channels_or_administrator_may_subscribe(fake, client, bot: Bot):
    for permissions in (MANAGER, MEMBER_PERMISSIONS | ADMINISTRATOR | MANAGE_CHANNELS):
        stored = await fake.run_command("reminders subscribe", time="07:15", permissions=permissions)
        assert "07:15 Asia/Seoul" in content(stored)
        assert bot.subscriptions.subscription("discord", str(fake.guild_id), str(fake.channel_id)) is not None
        gone = await fake.run_command("reminders unsubscribe", permissions=permissions)
        assert "Unsubscribed" in content(gone)


async def test_interactions_from_a_guild_the_bot_has_not_seen(fake, client, bot: Bot, figures: Figures):
    # Lookups are answered as anywhere else.
    asked = in_guild(
        fake, fake.interaction(2, fake.command("pledge", query="hotline")), UNSEEN_GUILD, UNSEEN_CHANNEL
    )
    body = await send(fake, asked, figures)
    assert body["type"] == 4 and body["data"]["embeds"]
    # State changes follow the member's permissions in that guild, as Discord computed them.
    before = snapshot(bot.store.path)
    refused = in_guild(
        fake,
        fake.interaction(2, fake.command("reminders subscribe", time="08:00")),
        UNSEEN_GUILD,
        UNSEEN_CHANNEL,
    )
    body = await send(fake, refused, figures)
    assert ephemeral(body) and "Manage Channels" in content(body)
    assert snapshot(bot.store.path) == before
    allowed = in_guild(
        fake,
        fake.interaction(2, fake.command("reminders subscribe", time="08:00"), permissions=MANAGER),
        UNSEEN_GUILD,
        UNSEEN_CHANNEL,
    )
    body = await send(fake, allowed, figures)
    assert "08:00 Asia/Seoul" in content(body)
    # ... and land on that guild's channel only, not on the guild the bot knows.
    assert bot.subscriptions.subscription("discord", str(UNSEEN_GUILD), str(UNSEEN_CHANNEL)) is not None
    assert bot.subscriptions.subscription("discord", str(fake.guild_id), str(fake.channel_id)) is None


# -- malformed interactions -------------------------------------------------------------------------------


def _option(name: str, kind: int, value: Any) -> dict:
    return {"type": kind, "name": name, "value": value}


def _malformed(fake: FakeDiscord) -> list[tuple[str, dict]]:
    """Interaction data Discord would not normally send for our commands, each as (name, data)."""
    pledge = fake.command("pledge", query="hotline")
    subscribe = fake.command("reminders subscribe", time="08:30")
    upcoming = fake.command("pledges upcoming", days=5)

    def with_leaf(data: dict, options: list[dict]) -> dict:
        data = {**data, "options": [dict(o) for o in data["options"]]}
        node = data
        while node["options"] and node["options"][0]["type"] in (1, 2):
            node["options"][0] = dict(node["options"][0])
            node = node["options"][0]
        node["options"] = options
        return data

    return [
        ("required option missing", {**pledge, "options": []}),
        ("options key absent", {k: v for k, v in pledge.items() if k != "options"}),
        ("query is an integer", with_leaf(pledge, [_option("query", 4, 5)])),
        ("query is a boolean", with_leaf(pledge, [_option("query", 5, True)])),
        ("query is null", with_leaf(pledge, [_option("query", 3, None)])),
        ("query is a list", with_leaf(pledge, [_option("query", 3, ["a", "b"])])),
        ("query of 6,000 characters", with_leaf(pledge, [_option("query", 3, "hotline " * 750)])),
        ("query of 100 KiB of Hangul", with_leaf(pledge, [_option("query", 3, "핫라인" * 34_000)])),
        ("query with NUL and RTL marks", with_leaf(pledge, [_option("query", 3, "hot\x00line\u202e")])),
        ("unknown option", with_leaf(pledge, [_option("query", 3, "x"), _option("evil", 3, "y")])),
        ("days is text", with_leaf(upcoming, [_option("days", 3, "many")])),
        ("days out of range", with_leaf(upcoming, [_option("days", 4, 10**30)])),
        ("days is a float", with_leaf(upcoming, [_option("days", 10, 2.5)])),
        ("time is 500 characters", with_leaf(subscribe, [_option("time", 3, "0" * 500)])),
        ("timezone smuggles arguments", with_leaf(subscribe, [_option("timezone", 3, "UTC ahead 30 09:00")])),
        ("ahead is negative", with_leaf(subscribe, [_option("ahead", 4, -5)])),
        ("unknown subcommand", {**subscribe, "options": [{"type": 1, "name": "explode", "options": []}]}),
        ("subcommand missing", {**subscribe, "options": []}),
        ("unknown command", {**pledge, "name": "drop-tables", "id": "1"}),
        ("command name of 10 KiB", {**pledge, "name": "p" * 10_240}),
        ("wrong command id", {**pledge, "id": "123"}),
    ]


async def test_malformed_commands_never_crash_never_write_and_are_answered_privately(
    fake, client, bot: Bot, figures: Figures
):
    await fake.run_command("reminders subscribe", time="09:00", permissions=MANAGER)
    before = snapshot(bot.store.path)
    for name, data in _malformed(fake):
        # Even a member with Manage Channels cannot get a write out of a malformed subscribe.
        payload = fake.interaction(2, data, permissions=MEMBER_PERMISSIONS)
        body = await send(fake, payload, figures)
        assert body["type"] in (4, 5), name
        if body["type"] == 4 and not body["data"].get("embeds"):
            assert ephemeral(body), f"{name}: an error was posted publicly"
        assert snapshot(bot.store.path) == before, f"{name} wrote to the database"
    await assert_unanswered_and_alive(fake, fake.interaction(2, fake.command("pledge", query="x")))


async def test_malformed_subscribes_by_a_manager_write_nothing(fake, client, bot: Bot, figures: Figures):
    subscribe = fake.command("reminders subscribe", time="08:30")
    leaf = subscribe["options"][0]
    cases = [
        [_option("time", 3, "25:99")],
        [_option("time", 3, "0" * 500)],
        [_option("timezone", 3, "Mars/Olympus")],
        [_option("timezone", 3, "../../etc/passwd")],
        [_option("timezone", 3, "Asia")],
        [_option("ahead", 4, 31)],
        [_option("ahead", 4, -1)],
        [_option("time", 4, 830)],
        [_option("timezone", 3, "Asia/Seoul"), _option("time", 3, "8:30pm")],
    ]
    for options in cases:
        before = snapshot(bot.store.path)
        data = {**subscribe, "options": [{**leaf, "options": options}]}
        body = await send(fake, fake.interaction(2, data, permissions=MANAGER), figures)
        assert ephemeral(body), options
        assert snapshot(bot.store.path) == before, f"{options} wrote to the database"


@pytest.mark.parametrize(
    "custom_id",
    [
        "evil",
        "pledgebot",
        "pledgebot:",
        "pledgebot:share:",
        "pledgebot:delete:everything",
        "pledgebot:more:subscribe 07:00 UTC",
        "pledgebot:share:unsubscribe",
        "pledgebot:more:" + "x" * 200,
        "pledgebot:share:\u202e",
    ],
    ids=lambda v: v[:30],
)
async def test_unknown_or_forged_buttons_never_write_and_get_a_private_answer(
    fake, client, bot: Bot, figures: Figures, custom_id: str
):
    await fake.run_command("reminders subscribe", time="09:00", permissions=MANAGER)
    asked = fake.interaction(2, fake.command("pledge", query="hotline"))
    await fake.send_interaction(asked)
    await fake.callback_for(asked)
    # Discord sends clicks only for buttons on the message: put the forged one there (an old version's
    # message, or one another bot posted in its place).
    message = dict(fake.original(asked))
    button = {"type": 2, "style": 2, "label": "Click", "custom_id": custom_id}
    message["components"] = [{"type": 1, "components": [button]}]
    before = snapshot(bot.store.path)
    figures.add("discord.interactions")
    body = await fake.click(message, custom_id)
    assert snapshot(bot.store.path) == before
    assert body["type"] in (4, 7), custom_id  # answered: a message, or the "More" page replaced in place
    if body["type"] == 4 and not ephemeral(body):
        # Share posts publicly by design, but only a card, never an error or a refusal.
        assert content(body).startswith("Shared by") and "⚠️" not in content(body), custom_id
    await assert_unanswered_and_alive(fake, fake.interaction(2, fake.command("pledge", query="x")))


async def test_a_storm_of_malformed_interactions_leaves_the_bot_answering(
    fake, client, bot: Bot, figures: Figures
):
    """Many malformed interactions at once: all answered, none written, the bot still answers afterwards."""
    before = snapshot(bot.store.path)
    payloads = [fake.interaction(2, data) for _, data in _malformed(fake)] * 3
    for payload in payloads:
        await fake.send_interaction(payload)
    figures.add("discord.interactions", len(payloads))
    bodies = await asyncio.gather(*(fake.callback_for(p, timeout=10) for p in payloads))
    assert all(b["type"] in (4, 5) for b in bodies)
    assert snapshot(bot.store.path) == before
    body = await fake.run_command("pledge", query="hotline")
    assert body["data"]["embeds"]


# -- forged HTTP interactions ------------------------------------------------------------------------------


def _forgeries(fake: FakeDiscord, rng: random.Random) -> Iterator[tuple[str, bytes, dict[str, str]]]:
    """Requests to the interactions endpoint that Discord did not sign, or not lately, as (kind, body,
    headers)."""
    real = fake.interaction(2, fake.command("reminders subscribe", time="08:30"), permissions=MANAGER)
    stranger = SigningKey.generate()
    while True:
        body = json.dumps(real).encode() if rng.random() < 0.7 else rng.randbytes(rng.randint(0, 2048))
        good = fake.signed(body)
        signature, stamp = good["X-Signature-Ed25519"], good["X-Signature-Timestamp"]
        flipped = bytearray(bytes.fromhex(signature))
        flipped[rng.randrange(64)] ^= 1 << rng.randrange(8)
        skew = MAX_CLOCK_SKEW + rng.randint(1, 10**6)
        old = str(int(stamp) - skew if rng.random() < 0.5 else int(stamp) + skew)
        forged = {
            "another key": fake.signed(body, key=stranger),
            "one bit flipped": good | {"X-Signature-Ed25519": flipped.hex()},
            "another body": fake.signed(body + rng.randbytes(1)),
            "another timestamp": good | {"X-Signature-Timestamp": str(int(stamp) - 1)},
            "stale": fake.signed(body, timestamp=int(old)),
            "random hex": good | {"X-Signature-Ed25519": rng.randbytes(64).hex()},
            "no signature": {"X-Signature-Timestamp": stamp},
            "no timestamp": {"X-Signature-Ed25519": signature},
            "garbage headers": {
                "X-Signature-Ed25519": rng.choice(["0", "x" * 200, "é", signature.upper() + "0"]),
                "X-Signature-Timestamp": rng.choice(["-1", "1e9", "²", stamp + " "]),
            },
        }
        kind = rng.choice(sorted(forged))
        yield kind, body, {"Content-Type": "application/json", **forged[kind]}


async def test_forged_http_interactions_are_refused_before_anything_runs(
    tmp_path, bot: Bot, core: Core, figures: Figures
):
    """Requests to `/discord/interactions` with forged, stale or missing signatures all get a 401; the core
    is never called and nothing is sent to Discord; what Discord did sign is answered afterwards."""
    from tests.test_discord_http import Spy, serve

    fake = FakeDiscord(
        token=TOKEN, interactions_endpoint_url="https://pledgebot.example/discord/interactions"
    )
    await fake.start()
    settings = fake.settings(tmp_path / "http.db", discord_public_key=fake.public_key)
    spy = Spy(core)
    rng = random.Random(20260526)
    try:
        async for web in serve(fake, bot, spy, settings):
            before = snapshot(bot.store.path)
            made = len(fake.requests)
            forgeries = _forgeries(fake, rng)
            async with aiohttp.ClientSession() as session:
                for _ in range(scaled(300, 5000)):
                    kind, body, headers = next(forgeries)
                    figures.add("discord.http_forgeries")
                    async with session.post(web.url, data=body, headers=headers) as response:
                        assert response.status == 401, kind
            assert spy.calls == []
            assert fake.requests.items[made:] == [], "a refused request reached Discord"
            assert snapshot(bot.store.path) == before
            answer = await web.send(fake.interaction(2, fake.command("pledge", query="hotline")))
            assert answer.status == 200 and answer.body["data"]["embeds"] and spy.calls
    finally:
        await fake.close()
