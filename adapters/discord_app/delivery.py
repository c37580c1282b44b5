"""Scheduled digests to Discord channels by id, through REST, de-duplicated by nonce and by a footer key."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord

from adapters.discord_app.client import endpoints, post_to_channel
from adapters.discord_app.render import key_footer, split_digest
from bot.config import Settings
from bot.reminders.delivery import CannotCheck, part_key
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
        parts = split_digest(digest)
        if len(parts) == 1:
            if retry:
                existing = await self.find(channel_id, key)
                if existing is not None:
                    return existing
            return str(await post_to_channel(self.client, channel_id, digest, nonce=key, key=key))
        # A digest too long for one message goes out in parts, each with its own key (nonce and footer):
        # a retry looks for every part and posts only the ones missing, so each reaches the channel once.
        keys = [part_key(key, n) for n in range(1, len(parts) + 1)]
        found = await self.find_all(channel_id, keys) if retry else {}
        refs = []
        for part, part_id in zip(parts, keys, strict=True):
            ref = found.get(part_id)
            if ref is None:
                ref = str(await post_to_channel(self.client, channel_id, part, nonce=part_id, key=part_id))
            refs.append(ref)
        return ",".join(refs)

    async def find(self, channel_id: int, key: str) -> str | None:
        """The id of a message of this bot in the channel whose embeds carry `key`, if any.

        Any failure to read (no Read Message History, a lost connection, rate limits past discord.py's
        retries) raises `CannotCheck`: it says nothing about whether the digest is there.
        """
        return (await self.find_all(channel_id, [key])).get(key)

    async def find_all(self, channel_id: int, keys: list[str]) -> dict[str, str]:
        """The ids of this bot's messages in the channel carrying each of `keys` in an embed footer."""
        try:
            messages: list[dict[str, Any]] = await self.client.http.logs_from(channel_id, HISTORY_LIMIT)
        except (TimeoutError, discord.HTTPException, aiohttp.ClientError, OSError) as error:
            raise CannotCheck(f"reading channel {channel_id}: {error}") from error
        me = self.client.user.id if self.client.user is not None else None
        # The footer ends with the tag, so "pb-1-20260526-1" is not mistaken for "pb-1-20260526-10".
        tags = {key_footer(key): key for key in keys}
        found: dict[str, str] = {}
        for message in messages:
            author = message.get("author") or {}
            if me is not None and str(author.get("id")) != str(me):
                continue
            for embed in message.get("embeds") or []:
                text = str((embed.get("footer") or {}).get("text", ""))
                for tag, key in tags.items():
                    if text.endswith(tag):
                        found.setdefault(key, str(message["id"]))
        return found


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
