"""Scheduled digests to Slack channels: chat.postMessage with metadata, checked before any retry."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack_app.app import ChannelPacer, make_client, post_message
from adapters.slack_app.render import render, split_digest
from bot.config import Settings
from bot.reminders.delivery import CannotCheck, part_key
from bot.replies import Reply
from bot.state import Subscription

EVENT_TYPE = "pledgebot_digest"
# How far back a retry looks for a copy already posted: a claim goes stale after minutes, not hours.
HISTORY_LIMIT = 100


class SlackDeliverer:
    """Posts digests with the bot token; never through response_url, which is for answering commands."""

    def __init__(self, client: AsyncWebClient, pacer: ChannelPacer | None = None):
        self.client = client
        self.pacer = pacer or ChannelPacer()

    async def deliver(self, subscription: Subscription, digest: Reply, key: str, *, retry: bool) -> str:
        """Post the digest tagged with `key` in its metadata; on a retry, first look for that tag.

        A digest too long for one message (50 blocks) goes out in parts, each tagged with its own key
        (`part_key`): a retry looks for every part in one history read and posts only the missing ones, so
        each part reaches the channel once and no item is dropped.
        """
        parts = split_digest(digest)
        keys = [key] if len(parts) == 1 else [part_key(key, n) for n in range(1, len(parts) + 1)]
        found = await self.find_all(subscription.channel, keys) if retry else {}
        refs = []
        for part, part_id in zip(parts, keys, strict=True):
            ref = found.get(part_id)
            if ref is None:
                await self.pacer.wait(subscription.channel)
                metadata = {"event_type": EVENT_TYPE, "event_payload": {"key": part_id}}
                ref = await post_message(self.client, subscription.channel, render(part), metadata=metadata)
            refs.append(ref)
        return ",".join(refs)

    async def find_all(self, channel: str, keys: list[str]) -> dict[str, str]:
        """The ts of each message already posted to `channel` under one of `keys`, by key.

        Any failure to look (`missing_scope` without channels:history / groups:history, `not_in_channel`,
        429s past the client's retries, a lost connection) raises `CannotCheck`: not being able to see the
        channel says nothing about whether the digest is in it.
        """
        try:
            response = await self.client.conversations_history(
                channel=channel, limit=HISTORY_LIMIT, include_all_metadata=True
            )
        except SlackApiError as error:
            raise CannotCheck(f"conversations.history: {error.response.get('error', 'error')}") from error
        except (TimeoutError, SlackClientError, aiohttp.ClientError, OSError) as error:
            raise CannotCheck(f"conversations.history: {type(error).__name__}") from error
        wanted = set(keys)
        found: dict[str, str] = {}
        for message in response.get("messages", []):
            metadata: dict[str, Any] = message.get("metadata") or {}
            tag = (metadata.get("event_payload") or {}).get("key")
            if metadata.get("event_type") == EVENT_TYPE and tag in wanted:
                found.setdefault(tag, str(message["ts"]))
        return found


@contextlib.asynccontextmanager
async def deliverer(settings: Settings) -> AsyncIterator[SlackDeliverer]:
    """A Slack deliverer with its own Web API client, for the scheduler and `pledgebot deliver`."""
    client = make_client(settings)
    try:
        yield SlackDeliverer(client)
    finally:
        if client.session is not None and not client.session.closed:
            await client.session.close()
