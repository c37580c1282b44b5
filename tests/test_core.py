"""The one command handler: what each command answers, through the real store."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from bot import commands as cmd
from bot.i18n import messages
from bot.replies import ActionKind, Context
from bot.words import Kind
from tests.conftest import HEADLINE, HOTLINE_QUOTE, POLICIES


def test_hotline_lookup_answers_with_quote_date_source_and_status(core, console_ctx):
    reply = core.handle("/pledge hotline", console_ctx)
    card = reply.cards[0]
    assert card.pledge_id == "inter-korean-hotline"
    assert card.quote == HOTLINE_QUOTE
    assert card.said_on == dt.date(2025, 5, 26)
    assert card.source.headline == HEADLINE
    assert card.source.outlet == "Korea JoongAng Daily"
    assert card.source.kind == "news report"
    assert card.source.published_at == dt.datetime(
        2025, 5, 26, 11, 9, tzinfo=dt.timezone(dt.timedelta(hours=9))
    )
    assert card.status.describe() == "Not yet rated (last reviewed 2025-05-26)"
    assert card.translated
    assert reply.private
    assert [a.kind for a in reply.actions] == [ActionKind.SHARE, ActionKind.RUN]
    assert reply.actions[1].command == "card inter-korean-hotline"
    assert reply.actions[0].command == "show inter-korean-hotline"


def test_more_results_action_pages_through(core, console_ctx):
    first = core.handle("korea", console_ctx)
    more = [a for a in first.actions if a.kind is ActionKind.MORE]
    assert more and more[0].command == "korea page 2"
    second = core.handle(more[0].command, console_ctx)
    assert second.title.startswith("Results 4–6 of ")
    assert not {c.pledge_id for c in first.cards} & {c.pledge_id for c in second.cards}


def test_show_lists_every_quote_of_a_pledge(core, console_ctx):
    reply = core.handle("show china-relations", console_ctx)
    assert len(reply.cards) == 2
    assert reply.cards[0].quote.startswith("I will manage the South Korea-China relationship")


def test_list_and_categories(core, console_ctx):
    everything = core.handle("list", console_ctx)
    assert everything.total == 14 and len(everything.items) == 14
    defense = core.handle("list defense", console_ctx)
    assert {i.pledge_id for i in defense.items} == {"defense-deterrence", "armed-forces-reform"}
    assert defense.title == "2 pledges in Defense"
    north_korea = core.handle("list 북한", console_ctx)
    assert north_korea.title == "6 pledges in North Korea"
    assert "inter-korean-hotline" in {i.pledge_id for i in north_korea.items}
    # Not a category: the words are searched for, and the search points to the list.
    unknown = core.handle("list weather", console_ctx)
    assert unknown.is_error and unknown.title == "No pledge found"
    assert "/pledge list" in unknown.notices[-1].text


def rate(bot, tmp_path, *statuses: tuple[str, str, str]) -> None:
    """Give pledges statuses as (pledge, status, date), through `pledgebot import`'s path."""
    rows = "".join(f"  - {{pledge: {p}, status: {s}, date: {d}}}\n" for p, s, d in statuses)
    path = tmp_path / "statuses.yaml"
    path.write_text("statuses:\n" + rows, encoding="utf-8")
    bot.importer.import_files([path], author="test")


def test_list_by_latest_status_alone_or_in_a_category(bot, console_ctx, tmp_path):
    core = bot.core
    rate(
        bot,
        tmp_path,
        ("defense-deterrence", "kept", "2026-01-10"),
        ("china-relations", "kept", "2026-02-01"),
        ("japan-relations", "kept", "2026-01-05"),
        ("japan-relations", "broken", "2026-03-01"),  # the latest status counts
        ("armed-forces-reform", "in the works", "2026-02-02"),
    )
    kept = core.handle("list kept", console_ctx)
    assert kept.title == "2 pledges with status “kept”"
    assert {i.pledge_id for i in kept.items} == {"defense-deterrence", "china-relations"}
    defense_kept = core.handle("list defense kept", console_ctx)
    assert defense_kept.title == "1 pledge in Defense with status “kept”"
    assert [i.pledge_id for i in defense_kept.items] == ["defense-deterrence"]
    # Ordered by category, then id, as every list is.
    korean = core.handle("목록 이행 완료", console_ctx)
    assert [i.pledge_id for i in korean.items] == ["defense-deterrence", "china-relations"]
    assert [i.pledge_id for i in core.handle("list 국방 추진 중", console_ctx).items] == [
        "armed-forces-reform"
    ]
    assert [i.pledge_id for i in core.handle("list broken", console_ctx).items] == ["japan-relations"]
    assert core.handle("list 북한 stalled", console_ctx).notices[0].text == (
        "There are no pledges in North Korea with status “stalled”."
    )


def test_not_yet_rated_includes_pledges_with_no_status_at_all(bot, console_ctx, tmp_path):
    core = bot.core
    rate(bot, tmp_path, ("defense-deterrence", "kept", "2026-01-10"))
    bot.store.db.execute("DELETE FROM statuses WHERE pledge = 'armed-forces-reform'")
    unrated = core.handle("list defense not yet rated", console_ctx)
    assert [i.pledge_id for i in unrated.items] == ["armed-forces-reform"]
    assert core.handle("list 미평가", console_ctx).total == 13


def test_more_pledges_action_keeps_the_category_and_status(core, console_ctx, monkeypatch):
    monkeypatch.setattr("bot.lookups.answers.LIST_PAGE_SIZE", 4)
    first = core.handle("list north korea not yet rated", console_ctx)
    [more] = [a for a in first.actions if a.kind is ActionKind.MORE]
    assert more.command == "list North Korea not yet rated page 2"
    second = core.handle(more.command, console_ctx)
    assert len(second.items) == 2 and second.title == first.title


def test_on_a_date_lists_what_was_pledged_and_happened(core, console_ctx):
    reply = core.handle("on 2025-05-26", console_ctx)
    assert len(reply.items) == 14
    inauguration = core.handle("on 2025-06-04", console_ctx)
    assert inauguration.items[0].label == "Lee Jae-myung was inaugurated as president"


def test_on_an_anniversary_lists_the_occurrence_with_the_quote(core, console_ctx):
    reply = core.handle("on 2026-05-26", console_ctx)
    hotline = [i for i in reply.items if i.pledge_id == "inter-korean-hotline"]
    assert hotline[0].label.startswith("1 year since Lee Jae-myung pledged: Restore inter-Korean hotlines")
    assert HOTLINE_QUOTE in hotline[0].detail


def test_upcoming_reads_the_injected_clock(core, console_ctx, clock):
    clock.now = dt.datetime(2026, 5, 20, 3, 0, tzinfo=dt.UTC)
    reply = core.handle("upcoming 20", console_ctx)
    days = {i.date for i in reply.items}
    assert dt.date(2026, 5, 26) in days and dt.date(2026, 6, 4) in days
    assert reply.title == "Coming up, 2026-05-20 to 2026-06-08"
    clock.now = dt.datetime(2026, 7, 1, tzinfo=dt.UTC)
    assert core.handle("upcoming 7", console_ctx).items == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("on 2025-02-30", "2025-02-30 is not a real calendar date."),
        ("on yesterday", "'yesterday' is not a date in the form YYYY-MM-DD."),
        ("upcoming 0", "The number of days must be a whole number from 1 to 366."),
        ("subscribe 25:00 Mars/Olympus", "'25:00' is not a time of day; use HH:MM from 00:00 to 23:59."),
        ("subscribe 08:00 Mars/Olympus", "'Mars/Olympus' is not a time zone I know"),
        ("subscribe 08:00 soon", "I did not understand 'soon'."),
        ("subscribe Seoul", "'Seoul' is not a time zone I know; use an IANA name such as Asia/Seoul"),
    ],
)
def test_bad_arguments_get_a_usage_reply(core, console_ctx, text, message):
    reply = core.handle(text, console_ctx)
    assert reply.is_error
    assert reply.notices[0].text.startswith(message)
    assert reply.notices[1].text.startswith("Usage: /pledge")


def usage(name: str) -> tuple[str, str]:
    """The usage line of a command, in English and in Korean, as the core adds it after what was wrong."""
    return (cmd.SPECS[name].usage_line(messages("en")), cmd.SPECS[name].usage_line(messages("ko")))


LANGUAGES = "the languages are: English (en), 한국어 (ko)."
CATEGORIES = "Defense (국방), Diplomacy (외교), North Korea (북한)."


@pytest.mark.parametrize(
    ("text", "english", "korean", "then"),
    [
        ("show", "Which pledge? Give its id.", "어느 공약인가요? 공약 ID를 적어 주세요.", usage("show")),
        ("카드", "Which pledge? Give its id.", "어느 공약인가요? 공약 ID를 적어 주세요.", usage("card")),
        (
            "history inter-korean-hotlin",
            "There is no pledge with the id “inter-korean-hotlin”.",
            "ID가 “inter-korean-hotlin”인 공약이 없습니다.",
            (
                "Did you mean /pledge show inter-korean-hotline?",
                "혹시 /pledge show inter-korean-hotline 을(를) 찾으셨나요?",
            ),
        ),
        (
            "이력 no-such",
            "There is no pledge with the id “no-such”.",
            "ID가 “no-such”인 공약이 없습니다.",
            usage("history"),
        ),
        (
            "language xx",
            f"There is no catalogue for “xx”; {LANGUAGES}",
            "“xx” 언어는 번역이 없습니다. 쓸 수 있는 언어: English (en), 한국어 (ko).",
            usage("language"),
        ),
        (
            "언어 일본어",
            f"There is no catalogue for “일본어”; {LANGUAGES}",
            "“일본어” 언어는 번역이 없습니다. 쓸 수 있는 언어: English (en), 한국어 (ko).",
            usage("language"),
        ),
        (
            "list defence",
            "There is no category “defence”; did you mean Defense?",
            "“defence” 분야는 없습니다. 혹시 Defense 분야를 찾으셨나요?",
            usage("list"),
        ),
        (
            "목록 north-korea 추진 중",
            "There is no category “north-korea”; did you mean North Korea?",
            "“north-korea” 분야는 없습니다. 혹시 North Korea 분야를 찾으셨나요?",
            usage("list"),
        ),
        (
            "list nonsense-category",
            f"There is no category “nonsense-category”; the categories are: {CATEGORIES}",
            f"“nonsense-category” 분야는 없습니다. 분야: {CATEGORIES}",
            usage("list"),
        ),
        (
            "list kpet",
            "There is no status “kpet”; did you mean kept?",
            "“kpet” 이행 상태는 없습니다. 혹시 kept 상태를 찾으셨나요?",
            usage("list"),
        ),
    ],
)
def test_a_malformed_argument_is_told_what_it_is_not_in_english_and_korean(
    core, console_ctx, text, english, korean, then
):
    for ctx, wrong, after in (
        (console_ctx, english, then[0]),
        (dataclasses.replace(console_ctx, locale="ko"), korean, then[1]),
    ):
        reply = core.handle(text, ctx)
        assert reply.is_error and not reply.cards and not reply.items
        assert [n.text for n in reply.notices] == [wrong, after]


def test_words_after_list_and_history_that_try_to_be_nothing_are_still_searched_for(core, console_ctx):
    assert core.handle("list hotline", console_ctx).cards[0].pledge_id == "inter-korean-hotline"
    assert core.handle("list nonsense", console_ctx).title == "No pledge found"
    assert core.handle("history issues", console_ctx).cards
    assert core.handle("language barrier", console_ctx).title == "No pledge found"


def test_a_korean_subscription_follows_a_topic_named_by_korean_words(core, bot, console_ctx):
    ctx = dataclasses.replace(console_ctx, locale="ko")
    reply = core.handle("구독 07:00 주제 국방 미리 3 업데이트 즉시", ctx)
    assert not reply.is_error, reply.notices
    [sub] = bot.subscriptions.all()
    assert (sub.local_time, sub.timezone, sub.lead_days) == (dt.time(7, 0), "Asia/Seoul", 3)
    assert sub.topics == ("Defense",) and sub.updates_now
    core.handle("구독 07:00 주제 국방", ctx)
    [sub] = bot.subscriptions.all()
    assert sub.topics == ("Defense",) and not sub.updates_now


def test_subscribe_stores_and_lists_per_channel(core, bot, console_ctx):
    reply = core.handle("subscribe 08:30 america/new_york ahead 7", console_ctx)
    assert reply.title == "Subscribed: daily digest at 08:30 America/New_York, with 7 days' notice"
    listed = core.handle("subscriptions", console_ctx)
    assert listed.items[0].label == "Daily digest at 08:30 America/New_York, with 7 days' notice"
    again = core.handle("subscribe", console_ctx)
    assert again.title == "Updated: daily digest at 09:00 Asia/Seoul"
    assert len(bot.subscriptions.all()) == 1
    assert core.handle("unsubscribe", console_ctx).title == "Unsubscribed"
    assert bot.subscriptions.all() == []


def test_bad_subscription_stores_nothing(core, bot, console_ctx):
    core.handle("subscribe 25:00 Mars/Olympus", console_ctx)
    assert bot.subscriptions.all() == []


def test_subscribing_needs_permission(core, bot):
    member = Context(
        platform="discord",
        workspace="g1",
        channel="c1",
        user="u1",
        can_manage=False,
        policy=POLICIES["discord"],
    )
    reply = core.handle("subscribe 09:00 Asia/Seoul", member)
    assert reply.is_error and "Manage Channels" in reply.notices[0].text
    assert core.handle("unsubscribe", member).is_error
    assert bot.subscriptions.all() == []


def test_help_lists_every_command(core, console_ctx):
    for text in ("help", "", "/pledge", "도움말"):
        reply = core.handle(text, console_ctx)
        assert [i.label for i in reply.items] == [spec.usage for spec in cmd.COMMANDS]
    said = " ".join(n.text for n in reply.notices)
    for spec in cmd.COMMANDS:
        if spec.word:
            assert f"{spec.word.ko} ({spec.word.en})" in said
    for word in cmd.STATUSES:
        assert f"{word.en} ({word.ko})" in said


@pytest.mark.parametrize("language", ["en", "ko"])
def test_help_lists_the_korean_words_inside_commands_beside_the_command_words(core, console_ctx, language):
    reply = core.handle("help", dataclasses.replace(console_ctx, locale=language))
    words = next(n.text for n in reply.notices if "보기 (show)" in n.text)
    for word in (*cmd.VOCABULARY.of(Kind.VERB), *cmd.VOCABULARY.of(Kind.ARGUMENT)):
        assert f"{word.ko} ({word.en})" in words, word.en
    assert "주제 (topic)" in words and "공약 (pledge)" in words


def test_history_in_chat_lists_a_pledges_edits_and_history_words_elsewhere_still_search(bot, console_ctx):
    bot.importer.retract("china-relations", author="desk", reason="merged into another pledge")
    reply = bot.core.handle("history inter-korean-hotline", console_ctx)
    assert reply.title == "History of inter-korean-hotline"
    assert [i.label for i in reply.items] == ["#1 loaded from data/lee-jae-myung-2025-05-26.yaml"]
    # Dated by the pledge's own date in the data, not the day this database was built (the test's clock).
    [load] = reply.items
    assert load.date == dt.date(2025, 5, 26) and load.detail.startswith("pledged on 2025-05-26; loaded ")

    latest = bot.core.handle("이력", console_ctx)
    assert latest.title == "Latest edits" and latest.items[0].label.endswith("retracted china-relations")
    assert "by desk: merged into another pledge" in latest.items[0].detail
    # A retracted pledge is no longer a known id (the reply says so), and other words are searched for.
    assert not bot.core.handle("history china-relations", console_ctx).title.startswith("History")
    assert bot.core.handle("history issues", console_ctx).cards


def test_a_pledge_without_a_quote_still_answers_with_summary_status_and_source(bot, tmp_path):
    path = tmp_path / "tracker.yaml"
    path.write_text(
        "pledges:\n"
        "  - id: basic-income\n"
        "    speaker: lee-jae-myung\n"
        "    title: Universal basic income for young people\n"
        "    category: Welfare\n"
        "    summary: Pay every young adult a yearly basic income.\n"
        "    status:\n"
        "      - status: stalled\n"
        "        date: 2025-06-03\n"
        "        source: nec-2025-presidential-election\n",
        encoding="utf-8",
    )
    bot.importer.import_files([path], author="test")
    reply = bot.core.handle("basic income", Context(platform="console"))
    card = reply.cards[0]
    assert (card.pledge_id, card.quote, card.said_on) == ("basic-income", "", None)
    assert card.summary == "Pay every young adult a yearly basic income."
    assert card.status.label == "stalled" and card.source.outlet == "National Election Commission"
    from adapters.console.render import render as console
    from adapters.discord_app.render import card_embed
    from adapters.slack_app.render import render as slack

    text = console(reply)
    assert "No quote on record yet." in text and "Pay every young adult" in text and "Stalled" in text
    assert "National Election Commission" in text
    blocks = str(slack(reply)["blocks"])
    assert "No quote on record yet." in blocks and "National Election Commission" in blocks
    embed = card_embed(card)
    assert "No quote on record yet." in embed.description
    assert "Said on" not in [f.name for f in embed.fields]
    korean = bot.core.handle("basic income", Context(platform="console", locale="ko"))
    assert "아직 기록된 인용문이 없습니다." in console(korean)


def test_upcoming_lists_the_election_ahead_nearest_first(core, console_ctx, clock):
    clock.now = dt.datetime(2025, 5, 27, 0, 0, tzinfo=dt.UTC)  # 09:00 in Seoul
    reply = core.handle("upcoming 30", console_ctx)
    labels = [item.label for item in reply.items]
    assert labels[:2] == [
        "In 7 days: Lee Jae-myung was elected president",
        "In 8 days: Lee Jae-myung was inaugurated as president",
    ]
    assert [item.date for item in reply.items][:2] == [dt.date(2025, 6, 3), dt.date(2025, 6, 4)]


def test_a_topic_keeps_its_pledges_and_the_items_of_no_pledge(core, bot):
    everything = bot.digests.digest(dt.date(2026, 5, 26))
    assert everything is not None and everything.total == 14
    defense = bot.digests.digest(dt.date(2026, 5, 26), topics=("Defense",))
    assert defense is not None
    ids = [i.pledge_id for i in defense.items if i.pledge_id]
    categories = {bot.catalogue.pledges([i])[i].category for i in ids}
    assert categories == {"Defense"} and 0 < defense.total == len(ids) < 14
    # Elections and inaugurations belong to no topic, so every channel gets them.
    election = bot.digests.digest(dt.date(2025, 6, 3), topics=("Defense",))
    assert election is not None
    assert [i.label for i in election.items] == ["Today: Lee Jae-myung was elected president"]


def test_on_a_pledge_day_each_pledge_shows_its_quote_and_source(core, console_ctx):
    reply = core.handle("on 2025-05-26", console_ctx)
    pledged = [i for i in reply.items if i.label.startswith("Pledged: ")]
    assert len(pledged) == 14
    for item in pledged:
        assert (
            item.detail != "pledged" and item.detail.startswith("“") and "Korea JoongAng Daily" in item.detail
        )
    hotline = next(i for i in pledged if i.pledge_id == "inter-korean-hotline")
    assert HOTLINE_QUOTE in hotline.detail and HEADLINE in hotline.detail


def test_election_and_inauguration_items_name_their_source(core, bot, console_ctx):
    [inauguration] = bot.digests.digest(dt.date(2026, 6, 4)).items
    assert inauguration.detail == (
        "Inauguration on 2025-06-04 (“Inauguration of President Lee Jae-myung, 4 June 2025”, "
        "Office of the President)"
    )
    [election] = bot.digests.digest(dt.date(2025, 6, 3)).items
    assert "National Election Commission" in election.detail
    on = core.handle("on 2025-06-03", console_ctx)
    assert "“21st presidential election, held on 3 June 2025”" in on.items[0].detail
    korean = bot.digests.digest(dt.date(2026, 6, 4), language="ko").items[0]
    assert "대통령실" in korean.detail


def test_only_a_quick_command_is_answered_now(core, console_ctx):
    """`show <id>` of a pledge that exists is answered by `answer_now` (adapters call it on their loop), as
    `handle` would; a search, a mistyped id and a desk command are left for `handle` in a thread."""
    now = core.answer_now("show inter-korean-hotline", console_ctx)
    assert now is not None and now.cards == core.handle("show inter-korean-hotline", console_ctx).cards
    # A bare id is a search (it ranks the pledge first among others): not quick.
    for text in (
        "inter-korean-hotline",
        "hotline",
        "show inter-korean-hotlne",
        "rate inter-korean-hotline kept",
        "subscribe",
        "",
    ):
        assert core.answer_now(text, console_ctx) is None, text
