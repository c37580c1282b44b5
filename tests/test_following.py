"""Following an official: `/pledge subscribe … official <id>` and `… region <name>` (repeatable, beside topic
and pledge) deliver that official's term anniversaries, milestones, deadlines and the desk's updates, and
not other officials'."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from bot import commands as cmd
from bot.cli import open_bot
from bot.journal import EditKind
from bot.replies import Context
from tests.test_officials_commands import NATION

SEOUL = ZoneInfo("Asia/Seoul")


def manager(channel: str, locale: str = "en") -> Context:
    return Context(
        platform="test", workspace="W1", channel=channel, user="U1", can_manage=True, locale=locale
    )


class Channel:
    """A platform stand-in that keeps each digest it is given."""

    def __init__(self) -> None:
        self.digests: dict[str, object] = {}

    async def deliver(self, subscription, digest, key: str, *, retry: bool) -> str:
        self.digests[subscription.channel] = digest
        return key


class Known:
    def is_pledge_id(self, text: str) -> bool:
        return False

    def category(self, text: str) -> str | None:
        return None

    def officials(self, text: str) -> tuple[str, ...]:
        return ("a", "b") if text.casefold() in ("south chungcheong", "부산") else ()


def test_subscribe_parses_officials_and_regions_repeatable_in_both_languages():
    parsed = cmd.parse(
        "subscribe 08:00 official busan-mayor region south chungcheong official x topic y", Known()
    )
    assert parsed.officials == ("busan-mayor", "x") and parsed.regions == ("south chungcheong",)
    assert parsed.topics == ("y",) and parsed.at == dt.time(8)
    korean = cmd.parse("구독 공직자 busan-mayor 지역 부산", Known())
    assert korean.officials == ("busan-mayor",) and korean.regions == ("부산",)
    assert isinstance(cmd.parse("subscribe official", Known()), cmd.Usage)
    assert isinstance(cmd.parse("subscribe region topic x", Known()), cmd.Usage)


def _bot(state_settings, clock, tmp_path):
    bot = open_bot(state_settings, clock=clock)
    path = tmp_path / "nation.yaml"
    path.write_text(NATION, encoding="utf-8")
    bot.importer.import_files([path], author="test")
    return bot


async def test_a_channel_following_an_official_gets_their_term_in_korean_and_not_others(
    state_settings, clock, tmp_path
):
    bot = _bot(state_settings, clock, tmp_path)
    try:
        bot.core.handle("language ko", manager("C-busan"))
        reply = bot.core.handle("subscribe 09:00 official busan-mayor", manager("C-busan", "ko"))
        assert not reply.is_error, reply
        assert bot.core.handle("subscribe 09:00 region 서울", manager("C-seoul")).is_error is False
        bot.core.handle("subscribe 09:00 topic defense", manager("C-defense"))
        bot.core.handle("subscribe 09:00", manager("C-all"))
        channel = Channel()
        service = bot.delivery({"test": channel})
        await service.run_pass(dt.datetime(2026, 10, 8, 9, 5, tzinfo=SEOUL))
        busan = [i.label for i in channel.digests["C-busan"].items]
        assert "박부산 부산광역시장 취임 100일" in busan
        assert not any("서울" in label for label in busan)
        seoul = [i.label for i in channel.digests["C-seoul"].items]
        assert "100 days since Hong Seoul took office as Mayor of Seoul" in seoul
        assert "100 days since Choi Seoul took office as Superintendent of Education of Seoul" in seoul
        assert not any("Busan" in label for label in seoul)
        # Everything: every official's 100th day; a topic channel: none of them.
        assert len([i for i in channel.digests["C-all"].items if "100 days since" in i.label]) == 6
        assert "C-defense" not in channel.digests or not any(
            "took office" in i.label for i in channel.digests["C-defense"].items
        )
        await service.run_pass(dt.datetime(2027, 7, 1, 9, 5, tzinfo=SEOUL))
        assert "박부산 부산광역시장 취임 1주년" in [i.label for i in channel.digests["C-busan"].items]
        # The official's own pledges: their anniversary reaches the channel, Seoul's does not.
        await service.run_pass(dt.datetime(2027, 5, 20, 9, 5, tzinfo=SEOUL))
        pledged = {i.pledge_id for i in channel.digests["C-busan"].items if i.pledge_id}
        assert pledged == {"busan-housing"}
        shown = bot.core.handle("subscriptions", manager("C-busan"))
        assert [i.label for i in shown.items][1] == "Follows only: Park Busan"
        assert [i.label for i in bot.core.handle("subscriptions", manager("C-seoul")).items][1] == (
            "Follows only: region 서울"
        )
    finally:
        bot.close()


def test_unknown_officials_and_regions_are_refused_and_nothing_is_written(state_settings, clock, tmp_path):
    bot = _bot(state_settings, clock, tmp_path)
    try:
        reply = bot.core.handle("subscribe official nobody", manager("C1"))
        assert reply.is_error and "There is no official with the id “nobody”" in reply.notices[0].text
        reply = bot.core.handle("subscribe region atlantis", manager("C1"))
        assert reply.is_error and "No official is in “atlantis”" in reply.notices[0].text
        assert bot.subscriptions.subscription("test", "W1", "C1") is None
        many = " ".join("official busan-mayor region 부산 official seoul-mayor" for _ in range(6))
        assert bot.core.handle(f"subscribe {many}", manager("C1")).is_error
    finally:
        bot.close()


def test_the_desks_rating_of_an_officials_pledge_reaches_their_followers(state_settings, clock, tmp_path):
    bot = _bot(state_settings, clock, tmp_path)
    try:
        values = {"pledge": "busan-breakfast", "status": "in the works", "date": "2027-02-01"}
        edit = bot.journal.append(
            EditKind.RATE,
            author="desk",
            reason="",
            summary="rated busan-breakfast",
            pledges=["busan-breakfast"],
            payload={"records": [{"table": "statuses", "values": values}], "desk": {}},
            at=clock(),
        )
        bot.loader.follow()
        busan = bot.digests.announcement(edit, speakers=bot.digests.followed((), ("부산",)))
        assert [i.pledge_id for i in busan.items] == ["busan-breakfast"]
        assert bot.digests.announcement(edit, speakers=bot.digests.followed(("seoul-mayor",), ())) is None
    finally:
        bot.close()
