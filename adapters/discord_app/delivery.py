"""Scheduled digests to Discord channels by id, through REST, de-duplicated by message nonce."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import discord

from adapters.discord_app.client import endpoints, post_to_channel
from bot.config import Settings
from bot.replies import Reply
from bot.state import Subscription


class DiscordDeliverer:
    """Posts digests with a REST-only client: no gateway connection and no channel cache needed."""

    def __init__(self, client: discord.Client):
        self.client = client

    async def deliver(self, subscription: Subscription, digest: Reply, key: str, *, retry: bool) -> str:
        """Post with `key` as the nonce; Discord answers a repeated nonce with the message it already made."""
        return str(await post_to_channel(self.client, int(subscription.channel), digest, nonce=key))


@contextlib.asynccontextmanager
async def deliverer(settings: Settings) -> AsyncIterator[DiscordDeliverer]:
    """A Discord deliverer logged in over REST only, for the scheduler and `pledgebot deliver`."""
    if settings.discord_token is None:
        raise ValueError("DISCORD_TOKEN is not set")
    client = discord.Client(intents=discord.Intents.none())
    with endpoints(settings.discord_api_base):
        await client.login(settings.discord_token.value)
        try:
            yield DiscordDeliverer(client)
        finally:
            await client.close()
