"""Posting a digest in parts exactly once (bot/reminders/posting.py), written once for every platform.

Each test runs on both state backends (`state_settings`) and through both platforms' deliverers: the real
slack-sdk and discord.py clients against the protocol fakes on 127.0.0.1, driven by a real delivery pass.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

from adapters.discord_app.delivery import deliverer as discord_deliverer
from adapters.slack_app.app import ChannelPacer
from adapters.slack_app.delivery import deliverer as slack_deliverer
from bot.cli import Bot, open_bot
from bot.clock import Clock
from bot.config import Secret, Settings
from bot.reminders.delivery import digest_key, part_key
from bot.reminders.posting import PartedDeliverer
from bot.state import Subscription
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.slack_api import FakeSlack

SEOUL = ZoneInfo("Asia/Seoul")
# The first anniversary of the pledges `pledges_of_the_day` makes on 2025-05-27, a day the data leaves empty.
DAY = dt.date(2026, 5, 27)
LONG_AGO = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def at(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(DAY, dt.time(hour, minute), SEOUL)


@dataclasses.dataclass
class Platform:
    """One platform's fake, the settings that point a bot at it, and what a test reads back from it."""

    name: str
    settings: Settings
    channel: str
    # How many long pledges make a digest of three parts: Slack's message holds far more than an embed.
    three_parts: int
    opened: Callable[[], contextlib.AbstractAsyncContextManager[PartedDeliverer]]
    # The channel's messages, oldest first, as (key, reference) pairs.
    messages: Callable[[], list[tuple[str, str]]]
    # Everything the channel shows, for finding each item's text.
    text: Callable[[], str]
    reads: Callable[[], int]
    posts: Callable[[], int]
    fail_next_read: Callable[[], None]
    forget_nonces: Callable[[], None]


@contextlib.asynccontextmanager
async def slack_platform(settings: Settings) -> AsyncIterator[Platform]:
    async with FakeSlack() as fake:

        @contextlib.asynccontextmanager
        async def opened() -> AsyncIterator[PartedDeliverer]:
            async with slack_deliverer(platform.settings) as deliverer:
                # Slack's one-post-a-second pacing is tested on its own; here it would only make tests wait.
                deliverer.pacer = ChannelPacer(interval=0)
                yield deliverer

        def messages() -> list[tuple[str, str]]:
            posted = fake.messages.get("C0NEWS", [])
            return [(m["metadata"]["event_payload"]["key"], m["ts"]) for m in posted]

        platform = Platform(
            name="slack",
            settings=dataclasses.replace(
                settings,
                slack_bot_token=Secret("xoxb-test"),
                slack_signing_secret=Secret("secret"),
                slack_api_url=fake.api_url,
            ),
            channel="C0NEWS",
            three_parts=300,
            opened=opened,
            messages=messages,
            text=lambda: json.dumps(fake.messages.get("C0NEWS", []), ensure_ascii=False),
            reads=lambda: len(fake.calls_to("conversations.history")),
            posts=lambda: len(fake.calls_to("chat.postMessage")),
            fail_next_read=lambda: fake.fail_next("conversations.history", 1, error="missing_scope"),
            forget_nonces=lambda: None,  # Slack has no nonces: only the history read finds a copy
        )
        yield platform


@contextlib.asynccontextmanager
async def discord_platform(settings: Settings) -> AsyncIterator[Platform]:
    fake = FakeDiscord(token="test-token")
    await fake.start()
    path = f"/channels/{fake.channel_id}/messages"

    def messages() -> list[tuple[str, str]]:
        posted = fake.channel_messages.get(fake.channel_id, [])
        # The key ends the last embed's footer ("pledgebot · pb-1-20260527-2"), where a retry looks for it.
        return [(m["embeds"][-1]["footer"]["text"].rsplit(" · ", 1)[-1], str(m["id"])) for m in posted]

    def requests(method: str) -> int:
        return len([r for r in fake.requests.items if r.method == method and r.path == path])

    try:
        platform = Platform(
            name="discord",
            settings=dataclasses.replace(
                settings, discord_token=Secret("test-token"), discord_api_base=fake.base_url
            ),
            channel=str(fake.channel_id),
            three_parts=12,
            opened=lambda: discord_deliverer(platform.settings),
            messages=messages,
            text=lambda: json.dumps(fake.channel_messages.get(fake.channel_id, []), ensure_ascii=False),
            reads=lambda: requests("GET"),
            posts=lambda: requests("POST"),
            fail_next_read=lambda: fake.inject(
                "GET", path, 403, {"message": "Missing Access", "code": 50001}
            ),
            forget_nonces=fake.forget_nonces,
        )
        yield platform
    finally:
        await fake.close()


@pytest.fixture(params=["slack", "discord"])
async def platform(request, state_settings: Settings) -> AsyncIterator[Platform]:
    """Slack's or Discord's fake, with settings on either state backend."""
    opening = slack_platform if request.param == "slack" else discord_platform
    async with opening(state_settings) as platform:
        yield platform


def pledges_of_the_day(folder: Path, n: int) -> Path:
    """`n` pledges made on 2025-05-27 with long titles and quotes, so that their anniversary runs long."""
    path = folder / "pledges-of-the-day.json"
    source = {
        "id": "day-source",
        "kind": "news report",
        "outlet": "Outlet",
        "headline": "Pledges of the day",
        "published_at": "2025-05-27",
    }
    pledges = [
        {
            "id": f"day-{i}",
            "speaker": "lee-jae-myung",
            "title": f"Pledge {i:03} " + "with a long title " * 8,
            "category": "Defense",
            "pledged_on": "2025-05-27",
            "quotes": [
                {
                    "text": f"Quote {i}: " + "words said at length " * 30,
                    "source": "day-source",
                    "said_on": "2025-05-27",
                }
            ],
        }
        for i in range(n)
    ]
    path.write_text(json.dumps({"sources": [source], "pledges": pledges}), encoding="utf-8")
    return path


@contextlib.contextmanager
def bot_with(platform: Platform, pledges: int, clock: Clock):
    """A bot on the platform's settings with `pledges` long pledges of DAY, and a subscription at 09:00."""
    bot = open_bot(platform.settings, clock=clock)
    try:
        bot.importer.import_files(
            [pledges_of_the_day(platform.settings.db_path.parent, pledges)], author="test"
        )
        sub, _ = bot.subscriptions.subscribe(
            platform.name, "W1", platform.channel, dt.time(9), "Asia/Seoul", 0, "U1", LONG_AGO
        )
        yield bot, sub
    finally:
        bot.close()


def recorded_ref(bot: Bot, sub: Subscription) -> str:
    """The message reference the ledger recorded for the subscription's digest of DAY."""
    [(ref,)] = bot.ledger.backend.read(
        "SELECT message_ref FROM deliveries WHERE subscription_id = ? AND local_date = ?",
        [sub.id, DAY.isoformat()],
    )
    return ref


def three_part_keys(sub: Subscription) -> list[str]:
    return [part_key(digest_key(sub.id, DAY), n) for n in (1, 2, 3)]


async def test_a_long_digest_is_posted_once_in_parts(platform: Platform, clock: Clock):
    with bot_with(platform, platform.three_parts, clock) as (bot, sub):
        async with platform.opened() as deliverer:
            assert len(deliverer.split(bot.digests.digest(DAY))) == 3
            service = bot.delivery({platform.name: deliverer})
            assert (await service.run_pass(at(9, 5))).sent == [(sub.id, DAY)]
            assert (await service.run_pass(at(9, 6))).sent == []
        messages = platform.messages()
        # Each part once, in order, under its own key; a first attempt has nothing to look for.
        assert [key for key, _ in messages] == three_part_keys(sub)
        assert platform.posts() == 3 and platform.reads() == 0
        assert recorded_ref(bot, sub) == ",".join(ref for _, ref in messages)
        text = platform.text()
        assert all(f"Pledge {i:03} with" in text for i in range(platform.three_parts))


async def test_a_crash_between_parts_then_a_retry_posts_only_the_missing_parts(
    platform: Platform, clock: Clock
):
    with bot_with(platform, platform.three_parts, clock) as (bot, sub):
        keys = three_part_keys(sub)
        async with platform.opened() as deliverer:
            service = bot.delivery({platform.name: deliverer})
            parts = deliverer.split(bot.digests.digest(DAY))
            with time_machine.travel(at(9), tick=False) as traveller:
                # A process claimed the day, posted two of the three parts and died before the third and the
                # record; long enough ago that the claim ran out and Discord forgot the nonces.
                assert bot.ledger.claim(sub.id, DAY) is not None
                for part, key in zip(parts[:2], keys[:2], strict=True):
                    await deliverer.post(platform.channel, part, key)
                platform.forget_nonces()
                traveller.shift(dt.timedelta(minutes=10))
                assert (await service.run_pass(at(9, 10))).sent == [(sub.id, DAY)]
                assert (await service.run_pass(at(9, 20))).sent == []
        messages = platform.messages()
        assert [key for key, _ in messages] == keys
        # One read found both parts already there; only the third was posted again.
        assert platform.reads() == 1 and platform.posts() == 3
        # The recorded reference joins the parts found with the part posted, in order.
        assert recorded_ref(bot, sub) == ",".join(ref for _, ref in messages)


async def test_a_retry_that_cannot_read_the_channel_posts_nothing_until_it_can(
    platform: Platform, clock: Clock
):
    with bot_with(platform, platform.three_parts, clock) as (bot, sub):
        keys = three_part_keys(sub)
        async with platform.opened() as deliverer:
            service = bot.delivery({platform.name: deliverer})
            parts = deliverer.split(bot.digests.digest(DAY))
            with time_machine.travel(at(9), tick=False) as traveller:
                assert bot.ledger.claim(sub.id, DAY) is not None
                await deliverer.post(platform.channel, parts[0], keys[0])
                platform.forget_nonces()
                traveller.shift(dt.timedelta(minutes=10))
                platform.fail_next_read()
                report = await service.run_pass(at(9, 10))
                # The read failed: the day stays uncertain and nothing is posted blind.
                assert report.failed == [(sub.id, DAY)] and report.sent == []
                assert bot.ledger.state(sub.id, DAY) == "uncertain"
                assert platform.reads() == 1 and platform.posts() == 1
                # Once the channel can be read, the parts still missing go out, once each.
                assert (await service.run_pass(at(9, 11))).sent == [(sub.id, DAY)]
        assert [key for key, _ in platform.messages()] == keys
        assert platform.reads() == 2 and platform.posts() == 3


async def test_a_digest_that_fits_one_message_goes_under_the_plain_key_and_a_retry_finds_it(
    platform: Platform, clock: Clock
):
    with bot_with(platform, 1, clock) as (bot, sub):
        key = digest_key(sub.id, DAY)
        async with platform.opened() as deliverer:
            service = bot.delivery({platform.name: deliverer})
            digest = bot.digests.digest(DAY)
            assert len(deliverer.split(digest)) == 1
            with time_machine.travel(at(9), tick=False) as traveller:
                # Posted whole, then the process died before recording it.
                assert bot.ledger.claim(sub.id, DAY) is not None
                ref = await deliverer.deliver(sub, digest, key, retry=False)
                platform.forget_nonces()
                traveller.shift(dt.timedelta(minutes=10))
                assert (await service.run_pass(at(9, 10))).sent == [(sub.id, DAY)]
        assert platform.messages() == [(key, ref)]
        assert platform.reads() == 1 and platform.posts() == 1
        assert recorded_ref(bot, sub) == ref
