"""Scheduled digests to Discord channels by id, through REST, de-duplicated by nonce and by a footer key."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import aiohttp
import discord

from adapters.discord_app.client import endpoints, post_to_channel
from adapters.discord_app.render import key_footer, split_digest
from bot.config import Settings
from bot.reminders.delivery import CannotCheck
from bot.reminders.posting import PartedDeliverer
from bot.replies import Reply

# How far back a retry looks for a copy already posted (Discord returns at most 100 per request).
HISTORY_LIMIT = 50


class DiscordDeliverer(PartedDeliverer):
    """Discord's part operations over a REST-only client (no gateway connection and no channel cache
    needed); `PartedDeliverer` makes them a deliverer that posts each part once."""

    def __init__(self, client: discord.Client):
        self.client = client

    def split(self, digest: Reply) -> list[Reply]:
        """The digest in as many messages as one embed's description needs."""
        return split_digest(digest)

    async def find(self, channel: str, keys: list[str]) -> dict[str, str]:
        """The ids of this bot's messages in the channel carrying each of `keys` in an embed footer.

        Any failure to read (no Read Message History, a lost connection, rate limits past discord.py's
        retries) raises `CannotCheck`: it says nothing about whether the digest is there.
        """
        channel_id = int(channel)
        try:
            messages = await self.client.http.logs_from(channel_id, HISTORY_LIMIT)
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
                footer = embed.get("footer")
                text = str(footer.get("text", "")) if footer else ""
                for tag, key in tags.items():
                    if text.endswith(tag):
                        found.setdefault(key, str(message["id"]))
        return found

    async def post(self, channel: str, part: Reply, key: str) -> str:
        """Post one part with `key` as the nonce and in the last embed's footer.

        Discord answers a repeated nonce with the message it already made, but only for a few minutes; a
        retry after that finds the part by its footer key (`find`).
        """
        return str(await post_to_channel(self.client, int(channel), part, nonce=key, key=key))


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
