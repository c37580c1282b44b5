"""Discord interactions over HTTP: the settings that turn them on (DISCORD_PUBLIC_KEY), and
`pledgebot discord sync`, which registers the commands once instead of on every start.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from bot.config import ConfigError, load_settings
from tests.conftest import ROOT
from tests.fakes.discord_api import FakeDiscord

ENDPOINT_URL = "https://pledgebot.example/discord/interactions"


@pytest.fixture
async def fake(discord_token: str) -> AsyncIterator[FakeDiscord]:
    """A fake Discord whose application sends interactions to an Interactions Endpoint URL."""
    server = FakeDiscord(token=discord_token, interactions_endpoint_url=ENDPOINT_URL)
    await server.start()
    yield server
    await server.close()


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
