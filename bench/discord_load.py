"""Discord: interaction to callback latency, pledgebot's client beside a bare discord.py client, same fake.

Both clients run the real discord.py gateway and HTTP stack against `tests.fakes.discord_api.FakeDiscord` in
this process, one interaction at a time. Latency runs from the fake dispatching INTERACTION_CREATE to it
receiving the bot's POST .../callback.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket

from adapters.discord_app.client import build_client, run
from bench.stats import ms, percentile
from bot.cli import Bot
from bot.config import Secret, Settings
from tests.fakes.discord_api import FakeDiscord, Request

TOKEN = "bench-token"
START_TIMEOUT = 20.0
CALLBACK_TIMEOUT = 5.0


class BareClient(discord.Client):
    """A discord.py client with one `/pledge query:<text>` command that answers a constant."""

    def __init__(self, settings: Settings) -> None:
        intents = discord.Intents.none()
        intents.guilds = True  # as pledgebot's client
        super().__init__(intents=intents)
        self.settings = settings
        self.tree = app_commands.CommandTree(self)

        @self.tree.command(name="pledge", description="Find a pledge")
        async def pledge(interaction: discord.Interaction, query: str) -> None:
            await interaction.response.send_message("A constant answer.", ephemeral=True)

    async def setup_hook(self) -> None:
        """Ask the fake for its gateway (as pledgebot's client does) and sync the command to the guild."""
        _, url, _ = await self.http.get_bot_gateway()
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
        guild = discord.Object(id=self.settings.discord_guild_ids[0])
        self.tree.copy_global_to(guild=guild)
        await self.tree.sync(guild=guild)


@dataclass
class Latencies:
    """Interaction-to-callback latencies of one client."""

    samples: list[float]

    @property
    def p50_ms(self) -> float:
        """Median, in milliseconds."""
        return ms(percentile(self.samples, 50))

    @property
    def p99_ms(self) -> float:
        """99th percentile, in milliseconds."""
        return ms(percentile(self.samples, 99))


def _to(path: str) -> Callable[[Request], bool]:
    """Whether a request the bot made went to `path`."""
    return lambda request: request.path == path


async def _drive(fake: FakeDiscord, queries: tuple[str, ...], count: int) -> list[float]:
    samples = []
    for i in range(count):
        payload = fake.interaction(2, fake.command("pledge", query=queries[i % len(queries)]))
        path = f"/interactions/{payload['id']}/{payload['token']}/callback"
        seen = len(fake.requests)
        start = time.perf_counter()
        await fake.send_interaction(payload)
        await fake.requests.wait_for(_to(path), CALLBACK_TIMEOUT, after=seen)
        samples.append(time.perf_counter() - start)
    return samples


async def _one(kind: str, bot: Bot, queries: tuple[str, ...], count: int, warmup: int) -> list[float]:
    fake = FakeDiscord(token=TOKEN)
    await fake.start()
    settings = Settings(
        db_path=bot.settings.db_path,
        discord_token=Secret(TOKEN),
        discord_api_base=fake.base_url,
        discord_guild_ids=(fake.guild_id,),
    )
    client = build_client(bot.core, settings) if kind == "pledgebot" else BareClient(settings)
    stopping = asyncio.Event()
    # (The ignore: BareClient is no PledgeClient, but has the discord.Client and `settings` that `run` uses.)
    task = asyncio.create_task(run(client, stopping))  # type: ignore[arg-type]
    try:
        identified = asyncio.create_task(fake.wait_identified(timeout=START_TIMEOUT))
        done, _ = await asyncio.wait({identified, task}, timeout=START_TIMEOUT, return_when="FIRST_COMPLETED")
        if identified not in done:
            identified.cancel()
            if task.done():
                task.result()
            raise RuntimeError(f"the {kind} Discord client did not connect")
        # GUILD_CREATE follows IDENTIFY; wait until the client has the guild so interactions resolve.
        deadline = time.monotonic() + START_TIMEOUT
        while client.get_guild(fake.guild_id) is None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the {kind} Discord client never saw the guild")
            await asyncio.sleep(0.01)
        await _drive(fake, queries, warmup)
        return await _drive(fake, queries, count)
    finally:
        stopping.set()
        await asyncio.wait_for(task, START_TIMEOUT)
        await fake.close()


async def measure(
    bot: Bot, queries: tuple[str, ...], count: int, warmup: int, repeats: int
) -> dict[str, Latencies]:
    """Bare and pledgebot alternately, `repeats` times each; samples of a client are pooled."""
    pooled: dict[str, Latencies] = {"bare": Latencies([]), "pledgebot": Latencies([])}
    for _ in range(repeats):
        for kind in ("bare", "pledgebot"):
            pooled[kind].samples.extend(await _one(kind, bot, queries, count, warmup))
    return pooled
