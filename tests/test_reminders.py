"""Reminders: the plan, per-channel schedules, and exactly-once delivery through restarts and races."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import sys
import threading
from zoneinfo import ZoneInfo

import pytest
import time_machine

from adapters.discord_app.delivery import DiscordDeliverer
from adapters.discord_app.delivery import deliverer as discord_deliverer
from adapters.discord_app.render import split_digest
from adapters.slack_app.delivery import EVENT_TYPE
from adapters.slack_app.delivery import deliverer as slack_deliverer
from bot.cli import Bot, open_bot
from bot.config import Secret, Settings
from bot.reminders.calendar import Calendars
from bot.reminders.delivery import digest_key, scheduled_at
from bot.reminders.digests import Digests
from bot.reminders.items import OccurrenceItems
from bot.reminders.schedule import Scheduler
from bot.state import Subscription
from tests.conftest import HOTLINE_QUOTE, ROOT
from tests.fakes.discord_api import FakeDiscord

SEOUL = ZoneInfo("Asia/Seoul")
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
LONG_AGO = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


class Channel:
    """A platform stand-in that keeps what was posted, and can fail or crash on demand."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, str, dt.datetime | None]] = []
        self.fail_next = 0
        self.lock = threading.Lock()
        self.digests: dict[str, object] = {}

    async def deliver(self, subscription: Subscription, digest, key: str, *, retry: bool) -> str:
        with self.lock:
            if self.fail_next:
                self.fail_next -= 1
                raise ConnectionError("platform unavailable")
            if retry and any(k == key for _, k, _ in self.posts):
                return key
            self.posts.append((subscription.channel, key, None))
            self.digests[key] = digest
        return key


def subscribe(bot: Bot, platform: str, channel: str, at: str, zone: str, lead: int = 0) -> Subscription:
    sub, _ = bot.subscriptions.subscribe(
        platform, "W1", channel, dt.time.fromisoformat(at), zone, lead, "U1", LONG_AGO
    )
    return sub


def local(zone: ZoneInfo, *args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=zone)


# -- the plan -------------------------------------------------------------------------------------------


def test_first_anniversary_of_the_pledges_lists_the_hotline_with_its_quote(core, bot):
    digest = bot.digests.digest(dt.date(2026, 5, 26))
    labels = [i.label for i in digest.items]
    # The 14 pledges of one day fall due together: one heading, then each pledge with its quote.
    assert len(labels) == 15 and digest.total == 14
    assert labels[0] == "1 year since Lee Jae-myung's 14 pledges of 26 May 2025"
    assert digest.items[0].date == dt.date(2026, 5, 26) and digest.items[0].pledge_id is None
    assert len({i.pledge_id for i in digest.items[1:]}) == 14
    hotline = next(i for i in digest.items if i.pledge_id == "inter-korean-hotline")
    assert hotline.label == "Restore inter-Korean hotlines and communication channels"
    assert HOTLINE_QUOTE in hotline.detail and "Korea JoongAng Daily" in hotline.detail
    assert not digest.private


def test_day_counts_and_inauguration_anniversary(core, bot):
    assert [i.label for i in bot.digests.digest(dt.date(2025, 9, 11)).items] == [
        "100 days since Lee Jae-myung was inaugurated as president"
    ]
    assert [i.label for i in bot.digests.digest(dt.date(2026, 6, 4)).items] == [
        "1 year since Lee Jae-myung was inaugurated as president"
    ]
    assert bot.digests.digest(dt.date(2026, 6, 5)) is None


def test_heads_up_days_ahead(core, bot):
    digest = bot.digests.digest(dt.date(2026, 5, 19), lead_days=7)
    assert digest.items[0].label == "In 7 days: 1 year since Lee Jae-myung's 14 pledges of 26 May 2025"


async def test_reminders_command_prints_the_plan(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    env["PLEDGEBOT_DB"] = str(tmp_path / "cli.db")
    outputs = {}
    for day in ("2026-05-26", "2025-09-11", "2026-06-04"):
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "reminders",
            "--date",
            day,
            env=env,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode()
        outputs[day] = out.decode()
    assert "1 year since Lee Jae-myung's 14 pledges of 26 May 2025" in outputs["2026-05-26"]
    assert "Restore inter-Korean hotlines" in outputs["2026-05-26"]
    assert HOTLINE_QUOTE in outputs["2026-05-26"]
    assert "100 days since Lee Jae-myung was inaugurated as president" in outputs["2025-09-11"]
    assert "1 year since Lee Jae-myung was inaugurated as president" in outputs["2026-06-04"]


# -- schedules and daylight saving ------------------------------------------------------------------


@pytest.fixture
def dst_bot(bot, tmp_path):
    """The seed data plus events whose first anniversaries fall on 2026's daylight-saving changes."""
    path = tmp_path / "dst.json"
    days = {
        "spring-us": "2025-03-08",
        "autumn-us": "2025-11-01",
        "spring-eu": "2025-03-29",
        "autumn-eu": "2025-10-25",
    }
    path.write_text(
        json.dumps(
            {"milestones": [{"id": k, "date": v, "kind": "event", "title": k} for k, v in days.items()]}
        )
    )
    bot.importer.import_files([path], author="test")
    return bot


@pytest.mark.parametrize(
    ("zone", "day", "offset"),
    [
        (NEW_YORK, dt.date(2026, 3, 8), -4),  # clocks went forward at 02:00 that morning
        (NEW_YORK, dt.date(2026, 11, 1), -5),  # and back at 02:00
        (BERLIN, dt.date(2026, 3, 29), 2),
        (BERLIN, dt.date(2026, 10, 25), 1),
    ],
)
async def test_daylight_saving_days_are_delivered_once_at_nine_local(dst_bot, zone, day, offset):
    channel = Channel()
    sub = subscribe(dst_bot, "test", "C1", "09:00", zone.key)
    service = dst_bot.delivery({"test": channel})
    # A pass every 15 minutes from the local midnight before to the midnight after, as the minute sync would.
    start = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(23, 0), zone).astimezone(dt.UTC)
    sent_at = []
    for step in range(4 * 27):
        now = start + dt.timedelta(minutes=15 * step)
        report = await service.run_pass(now)
        sent_at += [now for _ in report.sent]
    assert [key for _, key, _ in channel.posts] == [digest_key(sub.id, day)]
    assert sent_at[0].astimezone(zone) == dt.datetime.combine(day, dt.time(9, 0), zone)
    assert sent_at[0].utcoffset() == dt.timedelta(0)
    assert scheduled_at(sub, day).utcoffset() == dt.timedelta(hours=offset)


async def test_scheduler_jobs_fire_at_local_time_across_daylight_saving(bot):
    sub = subscribe(bot, "test", "C1", "09:00", "America/New_York")
    scheduler = Scheduler(bot.delivery({}))
    scheduler.scheduler.start(paused=True)
    try:
        scheduler.sync_jobs()
        job = scheduler.scheduler.get_job(f"digest-{sub.id}")
        fires = []
        previous = local(NEW_YORK, 2026, 3, 7, 12, 0)
        for _ in range(2):
            previous = job.trigger.get_next_fire_time(None, previous + dt.timedelta(minutes=1))
            fires.append(previous)
        assert [f.isoformat() for f in fires] == ["2026-03-08T09:00:00-04:00", "2026-03-09T09:00:00-04:00"]
        assert job.misfire_grace_time == 6 * 3600 and job.coalesce
        # Changing the time moves the job; unsubscribing removes it.
        subscribe(bot, "test", "C1", "07:15", "America/New_York")
        scheduler.sync_jobs()
        job = scheduler.scheduler.get_job(f"digest-{sub.id}")
        assert (job.trigger.fields[5].expressions[0].first, job.trigger.fields[6].expressions[0].first) == (
            7,
            15,
        )
        bot.subscriptions.unsubscribe("test", "W1", "C1")
        scheduler.sync_jobs()
        assert scheduler.scheduler.get_job(f"digest-{sub.id}") is None
    finally:
        scheduler.shutdown()


async def test_subscribing_after_todays_time_waits_for_tomorrow(bot):
    channel = Channel()
    sub, _ = bot.subscriptions.subscribe(
        "test", "W1", "C1", dt.time(9), "Asia/Seoul", 0, "U1", local(SEOUL, 2026, 5, 26, 10, 0)
    )
    service = bot.delivery({"test": channel})
    assert (await service.run_pass(local(SEOUL, 2026, 5, 26, 10, 5))).sent == []
    # An operator replaying the day is another matter.
    assert (await service.run_pass(local(SEOUL, 2026, 5, 26, 10, 5), rerun=True)).sent == [
        (sub.id, dt.date(2026, 5, 26))
    ]


# -- exactly once -----------------------------------------------------------------------------------


async def test_a_restart_mid_day_posts_nothing_twice(settings, clock):
    channel = Channel()
    first = open_bot(settings, clock=clock)
    sub = subscribe(first, "test", "C1", "09:00", "Asia/Seoul")
    await first.delivery({"test": channel}).run_pass(local(SEOUL, 2026, 5, 26, 9, 1))
    first.close()
    second = open_bot(settings, clock=clock)
    try:
        for minute in (2, 30, 59):
            await second.delivery({"test": channel}).run_pass(local(SEOUL, 2026, 5, 26, 13, minute))
    finally:
        second.close()
    assert [key for _, key, _ in channel.posts] == [digest_key(sub.id, dt.date(2026, 5, 26))]


async def test_missed_digest_is_posted_within_grace_and_skipped_after(bot, caplog):
    channel = Channel()
    service = bot.delivery({"test": channel})
    assert service.grace == dt.timedelta(hours=6)
    late = subscribe(bot, "test", "C-late", "09:00", "Asia/Seoul")
    report = await service.run_pass(local(SEOUL, 2026, 5, 26, 14, 59))
    assert report.sent == [(late.id, dt.date(2026, 5, 26))]
    too_late = subscribe(bot, "test", "C-too-late", "08:00", "Asia/Seoul")
    with caplog.at_level(logging.WARNING):
        report = await service.run_pass(local(SEOUL, 2026, 5, 26, 14, 59))
        again = await service.run_pass(local(SEOUL, 2026, 5, 26, 15, 30))
    # Yesterday's digests were long past their grace too: each missed day is skipped and logged once.
    assert (too_late.id, dt.date(2026, 5, 26)) in report.skipped and again.skipped == []
    today = [r for r in caplog.records if f"subscription {too_late.id} on 2026-05-26 missed" in r.message]
    assert len(today) == 1
    assert [c for c, _, _ in channel.posts] == ["C-late"]


async def test_a_digest_missed_by_a_10_hour_outage_is_posted_by_the_first_pass_after_it(settings, clock):
    channel = Channel()
    setup = open_bot(settings, clock=clock)
    sub = subscribe(setup, "test", "C1", "09:00", "Asia/Seoul")
    # The last pass before the outage ran at 05:00 on 2026-05-26; the worker came back at 19:00.
    await setup.delivery({"test": channel}).run_pass(local(SEOUL, 2026, 5, 26, 5, 0))
    setup.close()
    assert channel.posts == []
    back = open_bot(settings, clock=clock)
    try:
        service = back.delivery({"test": channel})
        report = await service.run_pass(local(SEOUL, 2026, 5, 26, 19, 0))
        assert report.missed == report.sent == [(sub.id, dt.date(2026, 5, 26))]
        # Once: later passes, that day and the next, do not post it again.
        assert (await service.run_pass(local(SEOUL, 2026, 5, 26, 19, 5))).sent == []
        assert (await service.run_pass(local(SEOUL, 2026, 5, 27, 19, 5))).missed == []
    finally:
        back.close()
    keys = [k for _, k, _ in channel.posts]
    assert keys.count(digest_key(sub.id, dt.date(2026, 5, 26))) == 1
    digest = channel.digests[digest_key(sub.id, dt.date(2026, 5, 26))]
    assert digest.title == "Missed while we were offline: On this day, Tuesday 26 May 2026"
    assert digest.total == 14


async def test_an_outage_posts_unclaimed_days_of_the_last_week_but_never_an_uncertain_one(bot):
    channel = Channel()
    sub = subscribe(bot, "test", "C1", "09:00", "Asia/Seoul")
    service = bot.delivery({"test": channel})
    # Passes ran on 2026-05-22; on 2026-05-24 a post may or may not have happened (uncertain, never checked);
    # then the worker was down until 2026-05-27 08:00.
    await service.run_pass(local(SEOUL, 2026, 5, 22, 9, 30))
    bot.ledger.uncertain(bot.ledger.claim(sub.id, dt.date(2026, 5, 24)))
    report = await service.run_pass(local(SEOUL, 2026, 5, 27, 8, 0))
    assert (sub.id, dt.date(2026, 5, 24)) in report.skipped
    caught_up = {d for _, d in report.missed} | {d for _, d in report.empty}
    assert caught_up == {dt.date(2026, 5, d) for d in (23, 25, 26)}
    assert report.missed == [(sub.id, dt.date(2026, 5, 26))]
    assert [k for _, k, _ in channel.posts].count(digest_key(sub.id, dt.date(2026, 5, 24))) == 0


def test_two_schedulers_at_once_post_once(settings, clock):
    open_bot(settings, clock=clock).close()
    setup = open_bot(settings, clock=clock)
    subs = [subscribe(setup, "test", f"C{i}", "09:00", "Asia/Seoul") for i in range(20)]
    setup.close()
    channel = Channel()
    barrier = threading.Barrier(2)
    now = local(SEOUL, 2026, 5, 26, 9, 0, 30)

    def scheduler_process() -> None:
        bot = open_bot(settings, clock=clock)
        try:
            barrier.wait(timeout=10)
            asyncio.run(bot.delivery({"test": channel}).run_pass(now))
        finally:
            bot.close()

    threads = [threading.Thread(target=scheduler_process) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    keys = sorted(key for _, key, _ in channel.posts)
    assert keys == sorted(digest_key(s.id, dt.date(2026, 5, 26)) for s in subs)


async def test_a_failed_post_is_retried_on_the_next_pass(bot):
    channel = Channel()
    channel.fail_next = 1
    sub = subscribe(bot, "test", "C1", "09:00", "Asia/Seoul")
    service = bot.delivery({"test": channel})
    first = await service.run_pass(local(SEOUL, 2026, 5, 26, 9, 0))
    second = await service.run_pass(local(SEOUL, 2026, 5, 26, 9, 1))
    assert first.failed == [(sub.id, dt.date(2026, 5, 26))] and second.sent == first.failed
    assert len(channel.posts) == 1


async def test_a_crash_after_claiming_loses_nothing(bot):
    channel = Channel()
    sub = subscribe(bot, "test", "C1", "09:00", "Asia/Seoul")
    with time_machine.travel(local(SEOUL, 2026, 5, 26, 9, 0), tick=False) as traveller:
        # The process claimed the day, then died before posting.
        assert bot.ledger.claim(sub.id, dt.date(2026, 5, 26)) is not None
        service = bot.delivery({"test": channel})
        traveller.shift(dt.timedelta(minutes=1))
        assert (await service.run_pass(local(SEOUL, 2026, 5, 26, 9, 1))).sent == []  # the lease is live
        traveller.shift(dt.timedelta(minutes=2))
        assert (await service.run_pass(local(SEOUL, 2026, 5, 26, 9, 3))).sent == [
            (sub.id, dt.date(2026, 5, 26))
        ]
    assert len(channel.posts) == 1
    assert ("2026-05-26", "sent", 2) in bot.ledger.entries(sub.id)


# -- through the real platforms' protocols ----------------------------------------------------------


def slack_settings(tmp_path, slack) -> Settings:
    return Settings(
        db_path=tmp_path / "pledgebot.db",
        slack_bot_token=Secret("xoxb-test"),
        slack_signing_secret=Secret("secret"),
        slack_api_url=slack.api_url,
    )


@pytest.fixture
async def slack_bot(tmp_path, slack, clock):
    """A bot and a Slack deliverer (the real one, with its own Web API client) pointed at the fake."""
    settings = slack_settings(tmp_path, slack)
    bot = open_bot(settings, clock=clock)
    async with slack_deliverer(settings) as deliverer:
        yield bot, deliverer
    bot.close()


async def test_slack_digest_is_posted_once_with_metadata(slack, slack_bot):
    bot, deliverer = slack_bot
    sub = subscribe(bot, "slack", "C0NEWS", "09:00", "Asia/Seoul")
    service = bot.delivery({"slack": deliverer})
    await service.run_pass(local(SEOUL, 2026, 5, 26, 9, 5))
    await service.run_pass(local(SEOUL, 2026, 5, 26, 9, 6))
    [post] = slack.calls_to("chat.postMessage")
    assert post.body["channel"] == "C0NEWS"
    assert HOTLINE_QUOTE in json.dumps(post.body["blocks"], ensure_ascii=False)
    assert slack.messages["C0NEWS"][0]["metadata"] == {
        "event_type": EVENT_TYPE,
        "event_payload": {"key": digest_key(sub.id, dt.date(2026, 5, 26))},
    }


async def test_slack_crash_between_posting_and_recording_is_not_posted_again(slack, slack_bot):
    bot, deliverer = slack_bot
    sub = subscribe(bot, "slack", "C0NEWS", "09:00", "Asia/Seoul")
    day = dt.date(2026, 5, 26)
    service = bot.delivery({"slack": deliverer})
    # A process claimed and posted the digest, then died before recording it; its lease ran out.
    with time_machine.travel(local(SEOUL, 2026, 5, 26, 9, 0), tick=False) as traveller:
        bot.ledger.claim(sub.id, day)
        await deliverer.deliver(sub, bot.digests.digest(day), digest_key(sub.id, day), retry=False)
        traveller.shift(dt.timedelta(minutes=10))
        report = await service.run_pass(local(SEOUL, 2026, 5, 26, 9, 10))
    assert report.sent == [(sub.id, day)]
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert len(slack.calls_to("conversations.history")) == 1


async def test_slack_429_during_delivery_is_waited_out(slack, slack_bot):
    bot, deliverer = slack_bot
    subscribe(bot, "slack", "C0NEWS", "09:00", "Asia/Seoul")
    slack.fail_next("chat.postMessage", 1, retry_after=0)
    report = await bot.delivery({"slack": deliverer}).run_pass(local(SEOUL, 2026, 5, 26, 9, 5))
    assert len(report.sent) == 1 and len(slack.messages["C0NEWS"]) == 1
    assert len(slack.calls_to("chat.postMessage")) == 2


async def test_deliver_command_posts_one_slack_digest_and_nothing_on_a_rerun(tmp_path, slack):
    settings = slack_settings(tmp_path, slack)
    setup = open_bot(settings)
    subscribe(setup, "slack", "C0NEWS", "09:00", "Asia/Seoul")
    setup.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    env.update(
        PLEDGEBOT_DB=str(settings.db_path),
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET="secret",
        SLACK_API_URL=slack.api_url,
    )
    outputs = []
    for _ in range(2):
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "deliver",
            "--at",
            "2026-05-26T09:05:00+09:00",
            env=env,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode()
        outputs.append(out.decode())
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert outputs[0].startswith("Delivery pass: 1 sent") and outputs[1].startswith("Delivery pass: 0 sent")


async def test_discord_digest_with_the_same_nonce_is_one_message(tmp_path, clock):
    fake = FakeDiscord(token="test-token")
    await fake.start()
    settings = Settings(
        db_path=tmp_path / "pledgebot.db", discord_token=Secret("test-token"), discord_api_base=fake.base_url
    )
    bot = open_bot(settings, clock=clock)
    try:
        sub = subscribe(bot, "discord", str(fake.channel_id), "09:00", "Asia/Seoul")
        async with discord_deliverer(settings) as deliverer:
            assert isinstance(deliverer, DiscordDeliverer)
            service = bot.delivery({"discord": deliverer})
            day = dt.date(2026, 5, 26)
            # The first attempt posts, then the ledger forgets (a crash): the retry reuses the nonce.
            await deliverer.deliver(sub, bot.digests.digest(day), digest_key(sub.id, day), retry=False)
            report = await service.run_pass(local(SEOUL, 2026, 5, 26, 9, 5))
        assert report.sent == [(sub.id, day)]
        # One message per part of the digest (two for the 14 pledges of 26 May), never a duplicate.
        assert len(fake.channel_messages[fake.channel_id]) == len(split_digest(bot.digests.digest(day))) == 2
    finally:
        bot.close()
        await fake.close()


def test_an_import_by_another_process_reaches_the_next_digest(settings, tmp_path):
    ticks = [0.0]
    bot = open_bot(settings)
    calendars = Calendars(bot.catalogue, monotonic=lambda: ticks[0])
    digests = Digests(bot.catalogue, calendars, OccurrenceItems(bot.catalogue), bot.journal, SEOUL)
    day = dt.date(2026, 7, 1)
    assert digests.digest(day) is None
    other = open_bot(settings)
    path = tmp_path / "more.json"
    path.write_text(
        json.dumps({"milestones": [{"id": "later", "date": "2025-07-01", "kind": "event", "title": "X"}]})
    )
    other.importer.import_files([path], author="test")
    other.close()
    # The catalogue version is read at most once a second, not once per digest of a pass.
    assert digests.digest(day) is None
    ticks[0] += 1.0
    assert [i.label for i in digests.digest(day).items] == ["1 year since X"]
    bot.close()


async def test_a_process_without_a_platform_leaves_its_digests_alone(bot):
    channel = Channel()
    slack_sub = subscribe(bot, "slack", "C0NEWS", "09:00", "Asia/Seoul")
    subscribe(bot, "test", "C1", "09:00", "Asia/Seoul")
    now = local(SEOUL, 2026, 5, 26, 9, 5)
    report = await bot.delivery({"test": channel}).run_pass(now)
    assert [c for c, _, _ in channel.posts] == ["C1"] and report.failed == []
    assert bot.ledger.entries(slack_sub.id) == []
