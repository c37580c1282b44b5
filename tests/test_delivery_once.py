"""Delivery exactly once, under every failure we know of, on both state backends (SQLite and PostgreSQL).

Each test drives the real deliverers against the protocol fakes of Slack and Discord.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import discord
import time_machine

from adapters.discord_app.client import channel_access as discord_channel_access
from adapters.discord_app.client import post_to_channel
from adapters.discord_app.delivery import deliverer as discord_deliverer
from adapters.discord_app.render import split_digest
from adapters.slack_app.app import Listeners, make_client
from adapters.slack_app.delivery import deliverer as slack_deliverer
from bot.cli import Bot, open_bot
from bot.config import Secret, Settings
from bot.reminders.delivery import digest_key, part_key
from bot.replies import Context
from bot.state import Subscription
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.slack_api import FakeSlack

SEOUL = ZoneInfo("Asia/Seoul")
DAY = dt.date(2026, 5, 26)
LONG_AGO = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def at(hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, 5, 26, hour, minute, second, tzinfo=SEOUL)


def slack_settings(settings: Settings, slack: FakeSlack, **extra) -> Settings:
    return dataclasses.replace(
        settings,
        slack_bot_token=Secret("xoxb-test"),
        slack_signing_secret=Secret("secret"),
        slack_api_url=slack.api_url,
        **extra,
    )


def subscribe(bot: Bot, platform: str, channel: str) -> Subscription:
    sub, _ = bot.subscriptions.subscribe(platform, "W1", channel, dt.time(9), "Asia/Seoul", 0, "U1", LONG_AGO)
    return sub


async def test_slack_429s_past_the_client_retries_and_a_concurrent_pass_post_once(
    state_settings, slack, clock, monkeypatch
):
    """Ten 429s in a row outlast the lease and the client's 5 retries; a second pass runs meanwhile."""
    # slack_sdk waits Retry-After plus random() seconds; pin the random part so the test is quick and fixed.
    monkeypatch.setattr("slack_sdk.http_retry.builtin_async_handlers.random.random", lambda: 0.3)
    # Long enough that a loaded machine still renews in time (every lease/3), short enough to be outlasted.
    settings = slack_settings(state_settings, slack, claim_lease_seconds=0.6)
    bot = open_bot(settings, clock=clock)
    try:
        sub = subscribe(bot, "slack", "C0NEWS")
        slack.fail_next("chat.postMessage", 10, retry_after=0)
        async with slack_deliverer(settings) as deliverer:
            service = bot.delivery({"slack": deliverer})
            first = asyncio.create_task(service.run_pass(at(9, 5)))
            # By the fourth attempt the waits (3 x 0.3 s) have outlasted the 0.6 s lease, unless renewed.
            await slack.wait_for_calls("chat.postMessage", 4)
            second = await service.run_pass(at(9, 5))
            first_report = await asyncio.wait_for(first, 5)
            assert second.sent == [] and second.failed == []
            assert first_report.failed == [(sub.id, DAY)]
            assert ("2026-05-26", "uncertain", 1) in bot.ledger.entries(sub.id)
            # The next pass looks in the channel first, finds nothing, and posts through the last 429s.
            third = await service.run_pass(at(9, 6))
            assert third.sent == [(sub.id, DAY)]
            assert (await service.run_pass(at(9, 7))).sent == []
        assert len(slack.messages["C0NEWS"]) == 1
        assert len(slack.calls_to("conversations.history")) == 1
        assert len(slack.calls_to("chat.postMessage")) == 11
    finally:
        bot.close()


async def test_slack_crash_with_history_unreadable_waits_then_posts_once_or_skips(
    state_settings, slack, clock
):
    """After a crash the retry must look; while it cannot (missing_scope), nothing is posted blind."""
    settings = slack_settings(state_settings, slack)
    bot = open_bot(settings, clock=clock)
    try:
        sub = subscribe(bot, "slack", "C0NEWS")
        other = subscribe(bot, "slack", "C0OTHER")
        async with slack_deliverer(settings) as deliverer:
            service = bot.delivery({"slack": deliverer})
            with time_machine.travel(at(9, 0), tick=False) as traveller:
                # Both days claimed by a process that then died; its leases ran out.
                assert bot.ledger.claim(sub.id, DAY) is not None
                assert bot.ledger.claim(other.id, DAY) is not None
                traveller.shift(dt.timedelta(minutes=10))
                slack.fail_next("conversations.history", 2, error="missing_scope")
                report = await service.run_pass(at(9, 10))
                assert sorted(report.failed) == sorted([(sub.id, DAY), (other.id, DAY)])
                assert slack.calls_to("chat.postMessage") == []
                assert ("2026-05-26", "uncertain", 2) in bot.ledger.entries(sub.id)
                # History works again for one subscription: one post.
                report = await service.run_pass(at(9, 20), only=[sub.id])
                assert report.sent == [(sub.id, DAY)]
                # For the other, history keeps failing until the grace period ends: skipped, never posted.
                slack.fail_next("conversations.history", 1, error="not_in_channel")
                assert (await service.run_pass(at(12, 0), only=[other.id])).failed == [(other.id, DAY)]
                report = await service.run_pass(at(15, 1), only=[other.id])
                assert report.skipped == [(other.id, DAY)]
        assert [m["metadata"]["event_payload"]["key"] for m in slack.messages["C0NEWS"]] == [
            digest_key(sub.id, DAY)
        ]
        assert "C0OTHER" not in slack.messages
        assert ("2026-05-26", "skipped", 3) in bot.ledger.entries(other.id)
    finally:
        bot.close()


async def test_two_workers_on_one_state_store_post_once(state_settings, slack, clock):
    settings = slack_settings(state_settings, slack)
    setup = open_bot(settings, clock=clock)
    subs = [subscribe(setup, "slack", f"C{i}") for i in range(5)]
    setup.close()
    workers = [open_bot(settings, clock=clock) for _ in range(2)]
    try:
        async with slack_deliverer(settings) as one, slack_deliverer(settings) as two:
            reports = await asyncio.gather(
                workers[0].delivery({"slack": one}).run_pass(at(9, 5)),
                workers[1].delivery({"slack": two}).run_pass(at(9, 5)),
            )
    finally:
        for worker in workers:
            worker.close()
    assert sorted(reports[0].sent + reports[1].sent) == sorted((s.id, DAY) for s in subs)
    assert sorted(slack.messages) == sorted(s.channel for s in subs)
    assert all(len(messages) == 1 for messages in slack.messages.values())


async def test_deliver_at_earlier_today_beside_a_live_pass_posts_once(state_settings, slack, clock):
    """An operator's `deliver --at 09:05` replay and the scheduler's pass at 09:30 race for one digest."""
    settings = slack_settings(state_settings, slack)
    live, operator = open_bot(settings, clock=clock), open_bot(settings, clock=clock)
    try:
        sub = subscribe(live, "slack", "C0NEWS")
        with time_machine.travel(at(9, 30), tick=True):
            async with slack_deliverer(settings) as one, slack_deliverer(settings) as two:
                reports = await asyncio.gather(
                    live.delivery({"slack": one}).run_pass(at(9, 30)),
                    operator.delivery({"slack": two}).run_pass(at(9, 5), rerun=True),
                )
    finally:
        live.close()
        operator.close()
    assert reports[0].sent + reports[1].sent == [(sub.id, DAY)]
    assert len(slack.calls_to("chat.postMessage")) == 1


async def test_discord_retry_after_the_nonce_window_finds_the_footer_key(state_settings, clock):
    fake = FakeDiscord(token="test-token")
    await fake.start()
    settings = dataclasses.replace(
        state_settings, discord_token=Secret("test-token"), discord_api_base=fake.base_url
    )
    bot = open_bot(settings, clock=clock)
    try:
        sub = subscribe(bot, "discord", str(fake.channel_id))
        key = digest_key(sub.id, DAY)
        async with discord_deliverer(settings) as deliverer:
            service = bot.delivery({"discord": deliverer})
            with time_machine.travel(at(9, 0), tick=False) as traveller:
                # Claimed and posted, then the process died before recording; long enough ago that Discord
                # no longer remembers the nonce.
                assert bot.ledger.claim(sub.id, DAY) is not None
                await deliverer.deliver(sub, bot.digests.digest(DAY), key, retry=False)
                fake.forget_nonces()
                traveller.shift(dt.timedelta(minutes=10))
                report = await service.run_pass(at(9, 10))
        assert report.sent == [(sub.id, DAY)]
        # The 14-pledge digest of 2026-05-26 goes out in two parts, each tagged with its own key.
        messages = fake.channel_messages[fake.channel_id]
        assert len(messages) == len(split_digest(bot.digests.digest(DAY))) == 2
        for n, message in enumerate(messages, start=1):
            assert message["embeds"][-1]["footer"]["text"].endswith(f"pledgebot · {part_key(key, n)}")
        assert [r.method for r in fake.requests.items if r.path.endswith("/messages")] == [
            "POST",
            "POST",
            "GET",
        ]
    finally:
        bot.close()
        await fake.close()


async def test_discord_retry_that_cannot_read_the_channel_posts_nothing(state_settings, clock):
    fake = FakeDiscord(token="test-token")
    await fake.start()
    settings = dataclasses.replace(
        state_settings, discord_token=Secret("test-token"), discord_api_base=fake.base_url
    )
    bot = open_bot(settings, clock=clock)
    try:
        sub = subscribe(bot, "discord", str(fake.channel_id))
        path = f"/channels/{fake.channel_id}/messages"
        async with discord_deliverer(settings) as deliverer:
            service = bot.delivery({"discord": deliverer})
            with time_machine.travel(at(9, 0), tick=False) as traveller:
                assert bot.ledger.claim(sub.id, DAY) is not None
                traveller.shift(dt.timedelta(minutes=10))
                fake.inject("GET", path, 403, {"message": "Missing Access", "code": 50001})
                report = await service.run_pass(at(9, 10))
                assert report.failed == [(sub.id, DAY)]
                assert fake.channel_messages.get(fake.channel_id, []) == []
                assert (await service.run_pass(at(9, 11))).sent == [(sub.id, DAY)]
        assert len(fake.channel_messages[fake.channel_id]) == 2  # the digest's two parts, once each
    finally:
        bot.close()
        await fake.close()


async def test_discord_14_item_digest_reaches_the_channel_whole_once_per_part(state_settings, clock):
    fake = FakeDiscord(token="test-token")
    await fake.start()
    settings = dataclasses.replace(
        state_settings, discord_token=Secret("test-token"), discord_api_base=fake.base_url
    )
    bot = open_bot(settings, clock=clock)
    try:
        sub = subscribe(bot, "discord", str(fake.channel_id))
        key = digest_key(sub.id, DAY)
        digest = bot.digests.digest(DAY)
        # One heading ("1 year since Lee Jae-myung's 14 pledges of 26 May 2025") and the 14 pledges.
        assert digest is not None and digest.total == 14 and len(digest.items) == 15
        parts = split_digest(digest)
        assert len(parts) == 2
        async with discord_deliverer(settings) as deliverer:
            service = bot.delivery({"discord": deliverer})
            with time_machine.travel(at(9, 0), tick=False) as traveller:
                # The process posted part 1, then died before part 2 and before recording.
                assert bot.ledger.claim(sub.id, DAY) is not None
                await post_to_channel(
                    deliverer.client, fake.channel_id, parts[0], nonce=part_key(key, 1), key=part_key(key, 1)
                )
                fake.forget_nonces()
                traveller.shift(dt.timedelta(minutes=10))
                assert (await service.run_pass(at(9, 10))).sent == [(sub.id, DAY)]
                assert (await service.run_pass(at(9, 20))).sent == []
        messages = fake.channel_messages[fake.channel_id]
        # Each part exactly once, in order, numbered, and together every item of the digest: none is cut.
        assert [m["nonce"] for m in messages] == [part_key(key, 1), part_key(key, 2)]
        assert all(len(str(m["nonce"])) <= 25 for m in messages)
        assert [m["embeds"][0]["title"].endswith(f"({n}/2)") for n, m in enumerate(messages, 1)] == [
            True,
            True,
        ]
        text = "\n".join(m["embeds"][0]["description"] for m in messages)
        assert "…" not in [line.strip() for line in text.splitlines()]
        assert text.count("• ") == 15
        for item in digest.items:
            assert item.label in text
    finally:
        bot.close()
        await fake.close()


async def test_discord_digest_missed_by_a_10_hour_outage_is_posted_once_after_it(state_settings, clock):
    fake = FakeDiscord(token="test-token")
    await fake.start()
    settings = dataclasses.replace(
        state_settings, discord_token=Secret("test-token"), discord_api_base=fake.base_url
    )
    bot = open_bot(settings, clock=clock)
    try:
        sub = subscribe(bot, "discord", str(fake.channel_id))
        async with discord_deliverer(settings) as deliverer:
            service = bot.delivery({"discord": deliverer})
            # The last pass before the outage, then nothing from 05:00 to 19:00: 09:00 is 10 hours late.
            assert (await service.run_pass(at(5, 0))).sent == []
            report = await service.run_pass(at(19, 0))
            assert report.missed == report.sent == [(sub.id, DAY)]
            assert (await service.run_pass(at(19, 1))).sent == []
        messages = fake.channel_messages[fake.channel_id]
        assert len(messages) == 2  # the digest's two parts, once each
        assert messages[0]["embeds"][0]["title"].startswith(
            "Missed while we were offline: On this day, Tuesday 26 May 2026"
        )
    finally:
        bot.close()
        await fake.close()


# -- subscribing checks the bot can read the channel ------------------------------------------------------


async def test_slack_subscribe_is_refused_in_a_private_channel_and_joins_a_public_one(
    state_settings, slack, clock
):
    settings = slack_settings(state_settings, slack, slack_admins=frozenset({"U1"}))
    bot = open_bot(settings, clock=clock)
    client = make_client(settings)
    try:
        listeners = Listeners(bot.core, settings, client)
        slack.add_channel("G0SECRET", private=True, member=False)
        slack.add_channel("C0PUBLIC", private=False, member=False)
        refused = await asyncio.to_thread(
            bot.core.handle, "subscribe 09:00", await listeners.context("W1", "G0SECRET", "U1")
        )
        assert refused.is_error and "/invite @pledgebot" in refused.notices[0].text
        assert bot.subscriptions.subscription("slack", "W1", "G0SECRET") is None
        stored = await asyncio.to_thread(
            bot.core.handle, "subscribe 09:00", await listeners.context("W1", "C0PUBLIC", "U1")
        )
        assert not stored.is_error and bot.subscriptions.subscription("slack", "W1", "C0PUBLIC") is not None
        assert [c.body["channel"] for c in slack.calls_to("conversations.join")] == ["C0PUBLIC"]
        # Without channels:history the channel cannot be checked after a failed post: refused, naming it.
        slack.add_channel("C0NOSCOPE", member=True)
        slack.fail_next("conversations.history", 1, error="missing_scope")
        refused = await asyncio.to_thread(
            bot.core.handle, "subscribe 09:00", await listeners.context("W1", "C0NOSCOPE", "U1")
        )
        assert refused.is_error and "channels:history" in refused.notices[0].text
    finally:
        if client.session is not None:
            await client.session.close()
        bot.close()


def test_discord_subscribe_is_refused_without_read_message_history(state_settings, clock):
    bot = open_bot(state_settings, clock=clock)
    try:
        without = discord.Permissions(view_channel=True, send_messages=True, embed_links=True)
        ctx = Context(
            platform="discord",
            workspace="G1",
            channel="1",
            user="U1",
            can_manage=True,
            channel_access=lambda: discord_channel_access(without),
        )
        refused = bot.core.handle("subscribe 09:00", ctx)
        assert refused.is_error and "Read Message History" in refused.notices[0].text
        assert bot.subscriptions.subscription("discord", "G1", "1") is None
        full = discord.Permissions(
            view_channel=True, send_messages=True, embed_links=True, read_message_history=True
        )
        ctx = dataclasses.replace(ctx, channel_access=lambda: discord_channel_access(full))
        assert not bot.core.handle("subscribe 09:00", ctx).is_error
        assert bot.subscriptions.subscription("discord", "G1", "1") is not None
    finally:
        bot.close()
