"""Milestones in the reader's language: a milestone's optional `title_ko` in the data, at the desk and in
every Korean digest and answer, and a short marker where a Korean reader is shown an English title."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import textwrap

from bot import dataset as ds
from bot.cli import open_bot
from bot.desk.forms import STEPS
from bot.i18n import messages
from bot.replies import Context
from tests.conftest import POLICIES

HOTLINE = "inter-korean-hotline"
# A milestone with its Korean title, one without (as every file written before `title_ko` is), both ahead of
# the test clock (2026-05-20).
MILESTONES = textwrap.dedent(
    """\
    milestones:
      - id: hotline-review-2026
        date: 2026-06-13
        kind: event
        title: Hotline review
        title_ko: 핫라인 점검
        pledge: inter-korean-hotline
      - id: alliance-talks-2026
        date: 2026-06-13
        kind: event
        title: Alliance talks
        pledge: alliance-trust
      - id: hotline-deadline-2026
        date: 2026-06-13
        kind: deadline
        title: Hotline restored by 13 June
        pledge: inter-korean-hotline
    """
)


def korean(ctx):
    return dataclasses.replace(ctx, locale="ko")


def labels(reply) -> list[str]:
    return [i.label for i in reply.items] if reply else []


def imported(bot, tmp_path, text: str = MILESTONES, name: str = "milestones.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return bot.importer.import_files([path], author="test")


def test_the_seed_s_election_and_inauguration_read_in_korean(core, bot, console_ctx):
    assert labels(bot.digests.digest(dt.date(2025, 6, 4), language="ko")) == ["오늘: 이재명 대통령 취임"]
    assert labels(bot.digests.digest(dt.date(2025, 6, 4))) == [
        "Today: Lee Jae-myung was inaugurated as president"
    ]
    on = core.handle("on 2025-06-03", korean(console_ctx))
    assert "이재명 대통령 당선" in labels(on)


def test_a_korean_channel_s_digest_names_milestones_with_and_without_a_korean_title(bot, tmp_path):
    imported(bot, tmp_path)
    day = dt.date(2026, 5, 20)
    assert labels(bot.digests.digest(day, 24, language="ko")) == [
        "24일 후: Alliance talks (영문 제목)",
        "마감 24일 전: Hotline restored by 13 June (영문 제목)",
        "24일 후: 핫라인 점검",
    ]
    # English readers see the titles as they are, unmarked.
    assert labels(bot.digests.digest(day, 24)) == [
        "In 24 days: Alliance talks",
        "Due in 24 days: Hotline restored by 13 June",
        "In 24 days: Hotline review",
    ]
    # An anniversary in Korean names the event by its Korean title.
    [anniversary] = [
        i.label
        for i in bot.digests.digest(dt.date(2027, 6, 13), language="ko").items
        if i.pledge_id == HOTLINE and "점검" in i.label
    ]
    assert anniversary == "사건 1주년: 핫라인 점검"


def test_on_and_upcoming_answer_in_korean(core, bot, console_ctx, tmp_path):
    imported(bot, tmp_path)
    ctx = korean(console_ctx)
    upcoming = labels(core.handle("upcoming 30", ctx))
    assert "24일 후: 핫라인 점검" in upcoming and "24일 후: Alliance talks (영문 제목)" in upcoming
    on = labels(core.handle("on 2026-06-13", ctx))
    assert "핫라인 점검" in on and "Alliance talks (영문 제목)" in on


def test_title_ko_is_exported_and_imported_back_and_old_files_load_unchanged(bot, tmp_path):
    imported(bot, tmp_path)
    exported = bot.exporter.export()
    milestones = {m["id"]: m for m in exported["milestones"]}
    assert milestones["hotline-review-2026"]["title_ko"] == "핫라인 점검"
    assert "title_ko" not in milestones["alliance-talks-2026"]
    assert milestones["inauguration-2025"]["title_ko"] == "이재명 대통령 취임"
    path = tmp_path / "export.json"
    path.write_text(json.dumps(exported, ensure_ascii=False), encoding="utf-8")
    again = bot.importer.import_files([path], author="test")
    assert again.edit is None and again.added == 0
    # A file without the field (every file before it) reads as it did.
    data = ds.load([tmp_path / "milestones.yaml"], known_ids={"pledges": {HOTLINE, "alliance-trust"}})
    assert "title_ko" not in next(r for r in data.rows("milestones") if r["id"] == "alliance-talks-2026")


def test_a_catalogue_from_before_title_ko_gets_the_column_and_the_seed_s_korean_titles(settings, clock):
    from sqlite_utils import Database

    open_bot(settings, clock=clock).close()
    # As the release before the migration left it: no column, the migration not applied.
    db = Database(settings.db_path)
    db.execute("ALTER TABLE milestones DROP COLUMN title_ko")
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm007_milestone_title_ko'")
    db.conn.commit()
    db.close()
    bot = open_bot(settings, clock=clock)
    try:
        assert labels(bot.digests.digest(dt.date(2025, 6, 4), language="ko")) == ["오늘: 이재명 대통령 취임"]
    finally:
        bot.close()


def test_the_desk_takes_a_korean_title_in_the_console_and_keeps_the_older_forms(bot, console_ctx):
    editor = dataclasses.replace(console_ctx, can_edit=True)
    added = bot.core.handle(
        f'milestone {HOTLINE} event 2026-06-13 Hotline review title_ko="핫라인 점검"', editor
    )
    assert not added.is_error, added
    # The older form, without a Korean title, still works; the title is every word after the date.
    assert not bot.core.handle(
        f"milestone {HOTLINE} deadline 2026-12-31 Hotline restored by year end", editor
    ).is_error
    rows = {m["title"]: m for m in bot.exporter.export()["milestones"] if m.get("pledge") == HOTLINE}
    assert rows["Hotline review"]["title_ko"] == "핫라인 점검"
    assert "title_ko" not in rows["Hotline restored by year end"]
    assert "24일 후: 핫라인 점검" in labels(bot.digests.digest(dt.date(2026, 5, 20), 24, language="ko"))


def test_the_milestone_form_asks_for_the_korean_title_within_discord_s_five_fields(bot):
    slack = Context(
        platform="slack", workspace="w", channel="c", user="editor", can_edit=True, policy=POLICIES["slack"]
    )
    first = bot.core.handle("milestone", slack).form
    assert "title_ko" in [f.name for f in first.fields] and len(first.fields) <= 5
    values = {"pledge": HOTLINE, "kind": "event", "date": "2026-06-13", "title": "Hotline review"}
    second = bot.core.submit(first.form, first.state, dict(values, title_ko="핫라인 점검"), slack).form
    assert second is not None and [f.name for f in second.fields] == ["url"]
    saved = bot.core.submit(second.form, second.state, {"url": ""}, slack)
    assert "Milestone added" in saved.title
    rows = {m["id"]: m for m in bot.exporter.export()["milestones"]}
    assert rows["inter-korean-hotline-event-2026-06-13"]["title_ko"] == "핫라인 점검"
    for form in (f for f in STEPS if f.startswith("milestone")):
        assert (
            len(STEPS[form].build(bot.catalogue, {"pledge": HOTLINE}, "0" * 16, messages("ko")).fields) <= 5
        )


def test_the_milestone_grammar_reads_title_ko_anywhere_after_the_date(core):
    from bot import commands as cmd
    from bot.desk.commands import AddMilestone

    day = dt.date(2026, 12, 31)
    url = "https://example.com/news"
    expected = AddMilestone(HOTLINE, "deadline", day, "Hotline restored by year end", url, "연내 통신선 복원")
    start = f"milestone {HOTLINE} deadline 2026-12-31 Hotline restored by year end"
    for line in (f'{start} {url} title_ko="연내 통신선 복원"', f"{start} title_ko=“연내 통신선 복원” {url}"):
        assert cmd.parse(line, core) == expected, line
    assert cmd.parse(f"milestone {HOTLINE} 기한 2026-12-31 Hotline restored title_ko=복원", core) == (
        AddMilestone(HOTLINE, "deadline", day, "Hotline restored", "", "복원")
    )
    # The form the command had before still reads as it did.
    assert cmd.parse(f"milestone {HOTLINE} deadline 2026-12-31 Hotline restored by year end {url}", core) == (
        AddMilestone(HOTLINE, "deadline", day, "Hotline restored by year end", url)
    )


async def test_a_korean_channel_is_posted_the_korean_titles_and_the_marker(bot, tmp_path):
    from zoneinfo import ZoneInfo

    imported(bot, tmp_path)
    posted = []

    class Channel:
        async def deliver(self, subscription, digest, key, *, retry):
            posted.append(digest)
            return key

    long_ago = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    bot.subscriptions.subscribe("test", "W1", "C-ko", dt.time(9), "Asia/Seoul", 24, "U1", long_ago)
    bot.subscriptions.set_language("test", "W1", "C-ko", "ko", "U1", long_ago)
    await bot.delivery({"test": Channel()}).run_pass(
        dt.datetime(2026, 5, 20, 9, 5, tzinfo=ZoneInfo("Asia/Seoul"))
    )
    [digest] = posted
    assert labels(digest) == [
        "24일 후: Alliance talks (영문 제목)",
        "마감 24일 전: Hotline restored by 13 June (영문 제목)",
        "24일 후: 핫라인 점검",
    ]
