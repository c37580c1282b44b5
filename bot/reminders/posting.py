"""Posting a digest in parts, each part exactly once: the half of "exactly once" that happens in the channel.

A platform supplies three operations (`PartChannel`): cut a digest into the messages its limits allow, find
the parts already in a channel by their keys, and post one part under its key. `PartedDeliverer` turns them
into the `Deliverer` that `DeliveryService` calls; the claim, its renewal and the recorded outcome stay there.
"""

from __future__ import annotations

from typing import Protocol

from bot.reminders.delivery import part_key
from bot.replies import Reply
from bot.state import Subscription


class PartChannel(Protocol):
    """What a platform supplies to post a digest in parts: split, find by key, post under a key."""

    def split(self, digest: Reply) -> list[Reply]:
        """The digest cut into as many messages as the platform's limits need (one when it fits), in order."""
        ...

    async def find(self, channel: str, keys: list[str]) -> dict[str, str]:
        """A reference to each message already in `channel` under one of `keys`, by key, in one read.

        Raises `CannotCheck` when the channel cannot be read: that says nothing about what is in it.
        """
        ...

    async def post(self, channel: str, part: Reply, key: str) -> str:
        """Post one part to `channel` tagged with `key`, so that `find` can see it; return its reference."""
        ...


class PartedDeliverer:
    """A `Deliverer` over the `PartChannel` operations of the class that inherits it (Slack's, Discord's)."""

    async def deliver(
        self: PartChannel, subscription: Subscription, digest: Reply, key: str, *, retry: bool
    ) -> str:
        """Post the digest's parts tagged with their keys and return their references joined by ",".

        A digest that fits one message is tagged with `key` itself, a longer one part by part with
        `part_key(key, n)`. On a retry every part is looked for in one read and only the missing ones are
        posted, so each part reaches the channel once and none is dropped; if the read fails, `CannotCheck`
        propagates before anything is posted.
        """
        parts = self.split(digest)
        keys = [key] if len(parts) == 1 else [part_key(key, n) for n in range(1, len(parts) + 1)]
        found = await self.find(subscription.channel, keys) if retry else {}
        refs = []
        for part, part_id in zip(parts, keys, strict=True):
            ref = found.get(part_id)
            if ref is None:
                ref = await self.post(subscription.channel, part, part_id)
            refs.append(ref)
        return ",".join(refs)
