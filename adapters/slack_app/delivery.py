"""Scheduled digests to Slack channels: chat.postMessage with metadata, checked before any retry.

With one workspace the bot token posts everything; with distribution each digest is posted with the token of
its subscription's workspace, looked up (and refreshed, when it rotates) as it is posted, and a workspace
that no longer has an installation gets nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack_app.app import ChannelPacer, make_client, post_message
from adapters.slack_app.installations import SlackInstallations
from adapters.slack_app.render import render, split_digest
from bot.config import Settings
from bot.installations import Installations
from bot.reminders.delivery import CannotCheck, Deliverer, Unreachable
from bot.reminders.posting import PartedDeliverer
from bot.replies import Reply
from bot.state import Subscription

EVENT_TYPE = "pledgebot_digest"
# How far back a retry looks for a copy already posted: a claim goes stale after minutes, not hours.
HISTORY_LIMIT = 100


class SlackDeliverer(PartedDeliverer):
    """Slack's part operations, posted with the bot token (never through response_url, which is for
    answering commands); `PartedDeliverer` makes them a deliverer that posts each part once."""

    def __init__(self, client: AsyncWebClient, pacer: ChannelPacer | None = None):
        self.client = client
        self.pacer = pacer or ChannelPacer()

    def split(self, digest: Reply) -> list[Reply]:
        """The digest in as many messages as Block Kit's 50 blocks need."""
        return split_digest(digest)

    async def find(self, channel: str, keys: list[str]) -> dict[str, str]:
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
        messages: list[dict[str, Any]] = response.get("messages", [])
        for message in messages:
            metadata: dict[str, Any] = message.get("metadata") or {}
            tag = (metadata.get("event_payload") or {}).get("key")
            if metadata.get("event_type") == EVENT_TYPE and tag in wanted:
                found.setdefault(tag, str(message["ts"]))
        return found

    async def post(self, channel: str, part: Reply, key: str) -> str:
        """Post one part with chat.postMessage, `key` in its metadata, paced to Slack's 1 per second."""
        await self.pacer.wait(channel)
        metadata = {"event_type": EVENT_TYPE, "event_payload": {"key": key}}
        return await post_message(self.client, channel, render(part), metadata=metadata)


class WorkspaceDeliverer:
    """Posts each digest with its subscription's workspace's own token (distribution), through a
    `SlackDeliverer` for that token; every workspace shares one pacer, keyed by channel."""

    def __init__(self, client: AsyncWebClient, store: SlackInstallations):
        self.client = client
        self.store = store
        self.pacer = ChannelPacer()

    async def deliver(self, subscription: Subscription, digest: Reply, key: str, *, retry: bool) -> str:
        """Post `digest` with the token of the installation serving the subscription's workspace; raise
        `Unreachable` when there is none (the app was removed there), before anything is posted."""
        installation = await self.store.serving(subscription.workspace)
        if installation is None or installation.bot_token is None:
            raise Unreachable(f"Slack workspace {subscription.workspace} has no installation")
        client = AsyncWebClient(
            token=installation.bot_token,
            base_url=self.client.base_url,
            # As Bolt's own per-request clients do: an org-wide install's token needs the workspace named.
            team_id=subscription.workspace,
            retry_handlers=self.client.retry_handlers,
        )
        return await SlackDeliverer(client, self.pacer).deliver(subscription, digest, key, retry=retry)


@contextlib.asynccontextmanager
async def deliverer(
    settings: Settings, installations: Installations | None = None
) -> AsyncIterator[Deliverer]:
    """A Slack deliverer with its own Web API client, for the scheduler and `pledgebot deliver`: the bot
    token's, or with distribution (`installations`) each workspace's."""
    if settings.slack_oauth and installations is None:
        raise ValueError(
            "Slack distribution posts with each workspace's installation: pass the installations"
        )
    client = make_client(settings)
    try:
        if installations is not None and settings.slack_oauth:
            yield WorkspaceDeliverer(client, SlackInstallations(installations, settings))
        else:
            yield SlackDeliverer(client)
    finally:
        if client.session is not None and not client.session.closed:
            await client.session.close()
