"""Scheduled digests to Slack channels: chat.postMessage with metadata, checked before any retry."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack_app.app import ChannelPacer, make_client, post_message
from adapters.slack_app.render import render
from bot.config import Settings
from bot.delivery import CannotCheck
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
        """Post the digest tagged with `key` in its metadata; on a retry, first look for that tag."""
        if retry:
            existing = await self.find(subscription.channel, key)
            if existing:
                return existing
        await self.pacer.wait(subscription.channel)
        metadata = {"event_type": EVENT_TYPE, "event_payload": {"key": key}}
        return await post_message(self.client, subscription.channel, render(digest), metadata=metadata)

    async def find(self, channel: str, key: str) -> str | None:
        """The ts of a digest already posted to `channel` under `key`, if any.

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
        for message in response.get("messages", []):
            metadata: dict[str, Any] = message.get("metadata") or {}
            if (
                metadata.get("event_type") == EVENT_TYPE
                and (metadata.get("event_payload") or {}).get("key") == key
            ):
                return str(message["ts"])
        return None


@contextlib.asynccontextmanager
async def deliverer(settings: Settings) -> AsyncIterator[SlackDeliverer]:
    """A Slack deliverer with its own Web API client, for the scheduler and `pledgebot deliver`."""
    client = make_client(settings)
    try:
        yield SlackDeliverer(client)
    finally:
        if client.session is not None and not client.session.closed:
            await client.session.close()
