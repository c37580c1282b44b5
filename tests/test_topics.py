"""Subscriptions by topic and pledge: parsed, checked against the catalogue, stored on both backends, and
applied to the digests a channel gets."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot import commands as cmd
from bot.cli import open_bot
from bot.config import Settings
from bot.replies import Context, Level

SEOUL = ZoneInfo("Asia/Seoul")


def manager(channel: str = "C1") -> Context:
    return Context(platform="test", workspace="W1", channel=channel, user="U1", can_manage=True)


class Channel:
    """A platform stand-in that keeps each digest it is given."""

    def __init__(self) -> None:
        self.digests: dict[str, object] = {}

    async def deliver(self, subscription, digest, key: str, *, retry: bool) -> str:
        self.digests[subscription.channel] = digest
        return key


def test_subscribe_parses_topics_and_pledges():
    class Known:
        def is_pledge_id(self, text: str) -> bool:
            return False

        def category(self, text: str) -> str | None:
            return {"north korea": "North Korea", "defense": "Defense"}.get(text.lower())

    parsed = cmd.parse(
        "subscribe 08:00 topic north korea topic defense pledge x-1 ahead 7 Asia/Seoul", Known()
    )
    assert parsed == cmd.Subscribe(dt.time(8), "Asia/Seoul", 7, ("north korea", "defense"), ("x-1",))
    # An unknown topic is one word, answered by the core with the list of topics.
    assert cmd.parse("subscribe topic astrology 08:00", Known()).topics == ("astrology",)
    assert isinstance(cmd.parse("subscribe topic", Known()), cmd.Usage)
    assert isinstance(cmd.parse("subscribe pledge topic defense", Known()), cmd.Usage)


async def test_a_defense_channel_gets_only_defense_items_and_the_elections(state_settings, clock):
    bot = open_bot(state_settings, clock=clock)
    try:
        reply = bot.core.handle("subscribe 09:00 topic defense", manager("C-defense"))
        assert not reply.is_error, reply
        bot.core.handle("subscribe 09:00", manager("C-all"))
        channel = Channel()
        service = bot.delivery({"test": channel})
        await service.run_pass(dt.datetime(2026, 5, 26, 9, 5, tzinfo=SEOUL))
        everything, defense = channel.digests["C-all"], channel.digests["C-defense"]
        assert everything.total == 14
        ids = [i.pledge_id for i in defense.items if i.pledge_id]
        assert ids and {bot.catalogue.pledges([i])[i].category for i in ids} == {"Defense"}
        assert defense.total == len(ids) < 14
        # An election has no topic: every channel gets it.
        await service.run_pass(dt.datetime(2026, 6, 3, 9, 5, tzinfo=SEOUL))
        assert "1 year since Lee Jae-myung was elected president" in [
            i.label for i in channel.digests["C-defense"].items
        ]
        # The subscription shows its filter; subscribing again without one follows everything again.
        shown = bot.core.handle("subscriptions", manager("C-defense"))
        assert [i.label for i in shown.items][1] == "Follows only: Defense"
        bot.core.handle("subscribe 09:00", manager("C-defense"))
        assert bot.subscriptions.subscription("test", "W1", "C-defense").topics == ()
    finally:
        bot.close()


def test_a_pledge_filter_is_stored_and_shown(state_settings, clock):
    bot = open_bot(state_settings, clock=clock)
    try:
        reply = bot.core.handle("subscribe pledge inter-korean-hotline topic 북한", manager())
        assert not reply.is_error, reply
        sub = bot.subscriptions.subscription("test", "W1", "C1")
        assert sub.pledges == ("inter-korean-hotline",) and sub.topics == ("North Korea",)
        assert [s.id for s in bot.subscriptions.all()] == [sub.id]
        assert bot.subscriptions.all()[0].pledges == ("inter-korean-hotline",)
    finally:
        bot.close()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "subscribe topic astrology",
            "There is no topic “astrology”. Topics: Defense, Diplomacy, North Korea.",
        ),
        ("subscribe pledge hotline-restore", "There is no pledge with the id “hotline-restore”."),
        (
            "subscribe " + " ".join(f"pledge p{i}" for i in range(20)),
            "A channel can follow at most 5 topics and 10 pledges.",
        ),
        (
            "subscribe " + " ".join("topic defense" for _ in range(20)),
            "A channel can follow at most 5 topics and 10 pledges.",
        ),
    ],
)
def test_bad_filters_are_refused_and_nothing_is_written(state_settings, clock, text, expected):
    bot = open_bot(state_settings, clock=clock)
    try:
        reply = bot.core.handle(text, manager())
        assert reply.is_error and reply.notices[0].level is Level.ERROR
        assert reply.notices[0].text == expected
        assert bot.subscriptions.subscription("test", "W1", "C1") is None
    finally:
        bot.close()


def test_an_unknown_pledge_gets_suggestions(clock, tmp_path):
    bot = open_bot(Settings(db_path=tmp_path / "p.db"), clock=clock)
    try:
        reply = bot.core.handle("subscribe pledge hotline", manager())
        assert reply.is_error
        assert "inter-korean-hotline" in reply.notices[1].text
    finally:
        bot.close()


def test_subscriptions_all_lists_every_channel_for_managers_only(state_settings, clock):
    bot = open_bot(state_settings, clock=clock)
    try:
        bot.core.handle("subscribe 08:00 topic defense", manager("C1"))
        bot.core.handle("subscribe 09:30", manager("C2"))
        reply = bot.core.handle("subscriptions all", manager("C3"))
        assert [(i.label, i.detail) for i in reply.items] == [
            ("Channel C1: daily digest at 08:00 Asia/Seoul", "Follows only: Defense"),
            ("Channel C2: daily digest at 09:30 Asia/Seoul", "follows everything"),
        ]
        member = Context(platform="test", workspace="W1", channel="C3", user="U2", can_manage=False)
        assert bot.core.handle("subscriptions all", member).is_error
    finally:
        bot.close()


def test_a_filtered_digest_groups_what_the_channel_follows(clock, tmp_path):
    """Grouping counts a channel's own items: six North Korea pledges under one heading, two defense pledges
    listed plainly, and a pledge filter adding to a topic filter."""
    bot = open_bot(Settings(db_path=tmp_path / "p.db"), clock=clock)
    try:
        day = dt.date(2026, 5, 26)
        north = bot.digests.digest(day, topics=("north korea",))
        assert north.total == 6 and len(north.items) == 7
        assert north.items[0].label == "1 year since Lee Jae-myung's 6 pledges of 26 May 2025"
        defense = bot.digests.digest(day, topics=("Defense",))
        assert defense.total == len(defense.items) == 2
        assert all(i.label.startswith("1 year since Lee Jae-myung pledged: ") for i in defense.items)
        both = bot.digests.digest(
            dt.date(2026, 5, 19), 7, topics=("Defense",), pledges=("inter-korean-hotline",)
        )
        heading = "In 7 days: 1 year since Lee Jae-myung's 3 pledges of 26 May 2025"
        assert both.items[0].label == heading
        assert {i.pledge_id for i in both.items[1:]} == {
            "inter-korean-hotline",
            "armed-forces-reform",
            "defense-deterrence",
        }
        # The unfiltered digest is unchanged by the filtered ones built from the same day.
        assert bot.digests.digest(day).total == 14
    finally:
        bot.close()
