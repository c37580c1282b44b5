"""Discord attacks against the real discord.py client and the fake Discord: state changes need Manage Channels
on every use (in a guild, never from a DM), interactions from guilds the bot has not seen are answered on
their own permissions, and malformed interactions (missing or mistyped options, overlong strings, unknown
commands, unknown buttons) never crash the bot, never write, and get an ephemeral answer where Discord
expects one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord_app.client import PledgeClient
from bot.config import Secret, Settings
from bot.core import Core
from tests.fakes.discord_api import EPHEMERAL, MANAGE_CHANNELS, MEMBER_PERMISSIONS, FakeDiscord
from tests.reliability.conftest import Figures, guard_secret, snapshot
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
async def fake() -> AsyncIterator[FakeDiscord]:
    guard_secret(TOKEN)
    server = FakeDiscord(token=TOKEN)
    await server.start()
    yield server
    await server.close()


@pytest.fixture
def settings(tmp_path, fake: FakeDiscord) -> Settings:
    return Settings(
        db_path=tmp_path / "pledgebot.db",
        discord_token=Secret(TOKEN),
        discord_api_base=fake.base_url,
        discord_guild_ids=(fake.guild_id,),
    )


@pytest.fixture
def core(settings: Settings, clock) -> AsyncIterator[Core]:
    core = Core.open(settings, clock=clock)
    yield core
    core.close()


@pytest.fixture
async def bot(fake: FakeDiscord, core: Core, settings: Settings) -> AsyncIterator[PledgeClient]:
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
    fake, bot, core: Core, figures: Figures, custom_id: str
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
    before = snapshot(core.store.path)
    figures.add("discord.interactions")
    body = await fake.click(message, custom_id)
    assert snapshot(core.store.path) == before
    assert body["type"] in (4, 7), custom_id  # answered: a message, or the "More" page replaced in place
    if body["type"] == 4 and not ephemeral(body):
        # Share posts publicly by design, but only a card, never an error or a refusal.
        assert content(body).startswith("Shared by") and "⚠️" not in content(body), custom_id
    await assert_unanswered_and_alive(fake, fake.interaction(2, fake.command("pledge", query="x")))
