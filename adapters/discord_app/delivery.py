"""Scheduled digests to Discord channels by id, through REST, de-duplicated by nonce and by a footer key."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord

from adapters.discord_app.client import endpoints, post_to_channel
from adapters.discord_app.render import key_footer
from bot.config import Settings
from bot.delivery import CannotCheck
from bot.replies import Reply
from bot.state import Subscription

# How far back a retry looks for a copy already posted (Discord returns at most 100 per request).
HISTORY_LIMIT = 50


class DiscordDeliverer:
    """Posts digests with a REST-only client: no gateway connection and no channel cache needed."""

    def __init__(self, client: discord.Client):
        self.client = client

    async def deliver(self, subscription: Subscription, digest: Reply, key: str, *, retry: bool) -> str:
        """Post with `key` as the nonce and in the last embed's footer.

        Discord answers a repeated nonce with the message it already made, but only for a few minutes; on a
        retry the channel's recent messages are read first, so a copy posted longer ago is found by its key.
        """
        channel_id = int(subscription.channel)
        if retry:
            existing = await self.find(channel_id, key)
            if existing is not None:
                return existing
        return str(await post_to_channel(self.client, channel_id, digest, nonce=key, key=key))

    async def find(self, channel_id: int, key: str) -> str | None:
        """The id of a message of this bot in the channel whose embeds carry `key`, if any.

        Any failure to read (no Read Message History, a lost connection, rate limits past discord.py's
        retries) raises `CannotCheck`: it says nothing about whether the digest is there.
        """
        try:
            messages: list[dict[str, Any]] = await self.client.http.logs_from(channel_id, HISTORY_LIMIT)
        except (TimeoutError, discord.HTTPException, aiohttp.ClientError, OSError) as error:
            raise CannotCheck(f"reading channel {channel_id}: {error}") from error
        me = self.client.user.id if self.client.user is not None else None
        tag = key_footer(key)
        for message in messages:
            author = message.get("author") or {}
            if me is not None and str(author.get("id")) != str(me):
                continue
            for embed in message.get("embeds") or []:
                if tag in str((embed.get("footer") or {}).get("text", "")):
                    return str(message["id"])
        return None


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
