"""Pledges with deadlines: validated with file and line, stored and exported, and announced on their day,
ahead of it and, while the pledge is open, as overdue on the day-count marks and yearly."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import os
import shutil
import sys
import textwrap
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import dataset as ds
from bot.cli import open_bot
from bot.config import Settings
from bot.reminders.occurrences import DUE, Calendar, Milestone
from bot.replies import Context
from tests.conftest import ROOT

SEOUL = ZoneInfo("Asia/Seoul")
DUE_DAY = dt.date(2027, 1, 15)

# Two deadlines: a date, and day 100 after the 2025-06-04 inauguration (2025-09-11); and a deadline milestone.
DEADLINES = textwrap.dedent(
    """\
    sources:
      - id: white-paper-briefing
        kind: press release
        outlet: Ministry of National Defense
        headline: Defense white paper due in January 2027
        published_at: 2025-05-26
    pledges:
      - id: defense-white-paper
        speaker: lee-jae-myung
        title: Publish a defense white paper
        title_ko: 국방백서 발간
        category: Defense
        category_ko: 국방
        pledged_on: 2025-05-26
        due_on: 2027-01-15
        quotes:
          - text: We will publish the white paper by January 2027.
            source: white-paper-briefing
            said_on: 2025-05-26
        status:
          - status: in the works
            date: 2025-07-01
      - id: hotline-in-100-days
        speaker: lee-jae-myung
        title: Reopen the hotline within 100 days
        category: North Korea
        pledged_on: 2025-05-26
        due:
          after: inauguration-2025
          days: 100
    milestones:
      - id: white-paper-deadline
        date: 2027-01-15
        kind: deadline
        title: Deadline to publish the defense white paper
        pledge: defense-white-paper
    """
)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def deadlines_bot(state_settings, clock, tmp_path):
    bot = open_bot(state_settings, clock=clock)
    bot.importer.import_files([write(tmp_path, "deadlines.yaml", DEADLINES)], author="test")
    yield bot
    bot.close()


def labels(reply) -> list[str]:
    return [i.label for i in reply.items] if reply else []


# -- the calendar -----------------------------------------------------------------------------------------


def test_a_deadline_is_due_on_its_day_ahead_of_it_and_overdue_on_the_marks_and_yearly():
    due = Milestone("due:p", DUE_DAY, DUE, "Publish a defense white paper", "p")
    calendar = Calendar([due])
    assert [o.headline() for o in calendar.on(DUE_DAY)] == ["Due today: Publish a defense white paper"]
    assert [o.headline() for o in calendar.on(DUE_DAY - dt.timedelta(days=7), lead_days=7)] == [
        "Due in 7 days: Publish a defense white paper"
    ]
    assert [o.headline() for o in calendar.on(DUE_DAY - dt.timedelta(days=1), lead_days=1)] == [
        "Due tomorrow: Publish a defense white paper"
    ]
    # Overdue by N days is N days after the deadline: the day after it is the first day overdue.
    assert calendar.on(DUE_DAY + dt.timedelta(days=99)) == []
    assert [o.headline() for o in calendar.on(DUE_DAY + dt.timedelta(days=100))] == [
        "Overdue by 100 days: Publish a defense white paper"
    ]
    assert [o.headline() for o in calendar.on(dt.date(2028, 1, 15))] == [
        "Overdue by 1 year: Publish a defense white paper"
    ]
    assert [o.headline() for o in calendar.on(DUE_DAY + dt.timedelta(days=1000))] == [
        "Overdue by 1,000 days: Publish a defense white paper"
    ]
    # Never "N days since" the deadline (day 100 counting its day as day 1), nothing before it.
    assert calendar.on(DUE_DAY - dt.timedelta(days=1)) == []


# -- the dataset ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pledge", "field", "message"),
    [
        ("due_on: 2027-01-15\n    due: {after: inauguration-2025, days: 100}", "due", "not both"),
        ("due: {after: coronation-2025, days: 100}", "due", "'coronation-2025' does not match any milestone"),
        ("due: {after: inauguration-2025, days: 0}", "due", "days: 0 is not a whole number of days"),
        ("due: {after: inauguration-2025, days: many}", "due", "days: 'many' is not a whole number"),
        ("due: {after: inauguration-2025, days: true}", "due", "days: True is not a whole number"),
        ("due: inauguration-2025", "due", "must be a mapping"),
        (
            "due_on: 2025-05-01",
            "due_on",
            "due date 2025-05-01 is before the pledge was pledged on 2025-05-26",
        ),
        ("due: {after: presidential-election-2025, days: 1}", "", ""),
        ("due: {after: pledged-late-pledge, days: 1}", "", ""),
    ],
)
def test_bad_deadlines_are_refused_with_file_line_and_field(tmp_path, pledge, field, message):
    path = write(
        tmp_path,
        "bad.yaml",
        textwrap.dedent(
            """\
            pledges:
              - id: late-pledge
                speaker: lee-jae-myung
                title: A pledge
                category: Defense
                pledged_on: 2025-05-26
                {pledge}
            """
        ).format(pledge=pledge),
    )
    seed = ds.data_files(ROOT / "data")
    if not message:
        # Day 1 of the election (2025-06-03) is after the pledge, and a pledge's own `pledged-<id>`
        # milestone may be followed.
        ds.load([*seed, path])
        return
    with pytest.raises(ds.DatasetError) as error:
        ds.load([*seed, path])
    [problem] = error.value.problems
    assert problem.where == f"{path}:2" and problem.field == field and message in problem.message


def test_a_due_rule_before_the_pledge_is_refused(tmp_path):
    path = write(
        tmp_path,
        "early.json",
        json.dumps(
            {
                "pledges": [
                    {
                        "id": "late-pledge",
                        "speaker": "lee-jae-myung",
                        "title": "A pledge",
                        "category": "Defense",
                        "pledged_on": "2025-09-01",
                        "due": {"after": "inauguration-2025", "days": 10},
                    }
                ]
            }
        ),
    )
    with pytest.raises(ds.DatasetError) as error:
        ds.load([*ds.data_files(ROOT / "data"), path])
    [problem] = error.value.problems
    assert problem.message == "due date 2025-06-13 is before the pledge was pledged on 2025-09-01"


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_import_and_validate_refuse_a_bad_due_rule_and_write_nothing(state_settings, clock, tmp_path, suffix):
    bad = {
        "pledges": [
            {
                "id": "late-pledge",
                "speaker": "lee-jae-myung",
                "title": "A pledge",
                "category": "Defense",
                "due": {"after": "coronation-2025", "days": 100},
            }
        ]
    }
    # JSON takes the streamed import path, YAML the exact one; both must name the problem.
    path = tmp_path / f"bad{suffix}"
    path.write_text(json.dumps(bad), encoding="utf-8")
    bot = open_bot(state_settings, clock=clock)
    try:
        head = bot.journal.head()
        with pytest.raises(ds.DatasetError) as error:
            bot.importer.import_files([path], author="test")
        assert "'coronation-2025' does not match any milestone id" in str(error.value)
        with pytest.raises(ds.DatasetError):
            bot.importer.check_files([path])
        assert bot.journal.head() == head
        assert bot.catalogue.find_id("late-pledge") is None
    finally:
        bot.close()


def test_a_streamed_import_stores_both_kinds_of_deadline(state_settings, clock, tmp_path):
    """A JSON import goes through the streamed path, where milestones come after the pledges that follow
    them; the deadlines still resolve."""
    import yaml

    data = yaml.safe_load(DEADLINES)
    for source in data["sources"]:
        source["published_at"] = str(source["published_at"])
    for pledge in data["pledges"]:
        pledge["pledged_on"] = str(pledge["pledged_on"])
        if "due_on" in pledge:
            pledge["due_on"] = str(pledge["due_on"])
        for child in pledge.get("quotes", []) + pledge.get("status", []):
            for key in ("said_on", "date"):
                if key in child:
                    child[key] = str(child[key])
    for milestone in data["milestones"]:
        milestone["date"] = str(milestone["date"])
    path = write(tmp_path, "deadlines.json", json.dumps(data))
    bot = open_bot(state_settings, clock=clock)
    try:
        bot.importer.import_files([path], author="test")
        due = {r.pledge: r.date for r in bot.catalogue.due_rows()}
        assert due == {"defense-white-paper": DUE_DAY, "hotline-in-100-days": dt.date(2025, 9, 11)}
    finally:
        bot.close()


def test_export_writes_the_deadlines_back_and_round_trips(deadlines_bot, tmp_path):
    exported = deadlines_bot.exporter.export()
    pledges = {p["id"]: p for p in exported["pledges"]}
    assert pledges["defense-white-paper"]["due_on"] == "2027-01-15"
    assert pledges["hotline-in-100-days"]["due"] == {"after": "inauguration-2025", "days": 100}
    path = write(tmp_path, "export.json", json.dumps(exported, ensure_ascii=False))
    # Everything exported is already present: importing it back changes nothing.
    result = deadlines_bot.importer.import_files([path], author="test")
    assert result.edit is None and result.added == 0


async def test_csv_export_round_trips_a_due_rule(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "DATABASE_URL"))}
    env["PLEDGEBOT_DB"] = str(tmp_path / "one.db")
    source = write(tmp_path, "deadlines.yaml", DEADLINES)
    assert (await pledgebot(env, "import", str(source)))[0] == 0
    assert (await pledgebot(env, "export", "--format", "csv", "--output", str(tmp_path / "csv")))[0] == 0
    assert "100 days after inauguration-2025" in (tmp_path / "csv" / "pledges.csv").read_text()
    # The CSV files are a whole dataset: the rule reads back as it was written.
    data = ds.load(sorted((tmp_path / "csv").glob("*.csv")))
    due = {p["id"]: p.get("due") for p in data.rows("pledges")}
    assert due["hotline-in-100-days"] == {"after": "inauguration-2025", "days": 100}


# -- digests, upcoming and the plan -------------------------------------------------------------------------


async def pledgebot(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode, out.decode(), err.decode()


async def test_reminders_print_deadlines_on_the_day_ahead_and_overdue(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "DATABASE_URL"))}
    env["PLEDGEBOT_DB"] = str(tmp_path / "cli.db")
    code, _, err = await pledgebot(env, "import", str(write(tmp_path, "deadlines.yaml", DEADLINES)))
    assert code == 0, err
    _, today, _ = await pledgebot(env, "reminders", "--date", "2027-01-15")
    assert "Due today: Deadline to publish the defense white paper" in today
    assert "Due today: Publish a defense white paper" in today
    assert "We will publish the white paper by January 2027." in today
    assert "status: In the works" in today
    _, ahead, _ = await pledgebot(env, "reminders", "--date", "2027-01-08", "--ahead", "7")
    assert "Due in 7 days: Deadline to publish the defense white paper" in ahead
    assert "Due in 7 days: Publish a defense white paper" in ahead
    _, overdue, _ = await pledgebot(env, "reminders", "--date", "2027-04-25", "--topic", "defense")
    assert "Overdue by 100 days: Publish a defense white paper" in overdue
    assert "Overdue by 100 days: Deadline to publish the defense white paper" in overdue
    _, other, _ = await pledgebot(env, "reminders", "--date", "2027-04-25", "--topic", "north korea")
    assert "Overdue" not in other


def test_upcoming_lists_deadlines_nearest_first(deadlines_bot, clock):
    clock.now = dt.datetime(2027, 1, 1, 3, tzinfo=dt.UTC)
    reply = deadlines_bot.core.handle("upcoming 30", Context(platform="test", user="U1"))
    assert sorted(labels(reply)[:2]) == [
        "Due in 14 days: Deadline to publish the defense white paper",
        "Due in 14 days: Publish a defense white paper",
    ]


def test_a_due_rule_counts_from_its_milestone(deadlines_bot):
    # Day 100 after the 2025-06-04 inauguration, counting its day as day 1.
    assert "Due today: Reopen the hotline within 100 days" in labels(
        deadlines_bot.digests.digest(dt.date(2025, 9, 11))
    )


def test_overdue_stops_once_the_pledge_is_kept(deadlines_bot, tmp_path):
    day = DUE_DAY + dt.timedelta(days=100)
    digest = deadlines_bot.digests.digest(day)
    [item, milestone] = [i for i in digest.items if i.pledge_id == "defense-white-paper"]
    assert item.label == "Overdue by 100 days: Publish a defense white paper"
    assert milestone.label == "Overdue by 100 days: Deadline to publish the defense white paper"
    assert item.detail.endswith("— status: In the works")
    assert "Ministry of National Defense" in item.detail
    kept = "statuses:\n  - pledge: defense-white-paper\n    status: kept\n    date: 2027-03-01\n"
    deadlines_bot.importer.import_files([write(tmp_path, "kept.yaml", kept)], author="test")
    # The catalogue changed: the digest cached for this day is planned again with the new status.
    deadlines_bot.calendars._version_checked_at = -10.0
    digest = deadlines_bot.digests.digest(day)
    assert digest is None or "defense-white-paper" not in {i.pledge_id for i in digest.items}


def test_korean_deadline_headlines(deadlines_bot):
    assert "오늘 마감: 국방백서 발간" in labels(deadlines_bot.digests.digest(DUE_DAY, language="ko"))
    assert "마감 7일 전: 국방백서 발간" in labels(
        deadlines_bot.digests.digest(DUE_DAY - dt.timedelta(days=7), 7, language="ko")
    )
    [item, _milestone] = [
        i
        for i in deadlines_bot.digests.digest(DUE_DAY + dt.timedelta(days=100), language="ko").items
        if i.pledge_id
    ]
    assert item.label == "마감 100일 경과: 국방백서 발간"
    assert item.detail.endswith("현재 상태: 추진 중")


async def test_a_defense_channel_gets_the_defense_deadline_once_ahead_and_on_the_day(deadlines_bot):
    manager = {"platform": "test", "workspace": "W1", "user": "U1", "can_manage": True}
    assert not deadlines_bot.core.handle(
        "subscribe 09:00 topic defense ahead 7", Context(channel="C-d", **manager)
    ).is_error
    assert not deadlines_bot.core.handle(
        "subscribe 09:00 topic north korea", Context(channel="C-nk", **manager)
    ).is_error

    class Channel:
        def __init__(self) -> None:
            self.posts: list[tuple[str, list[str]]] = []

        async def deliver(self, subscription, digest, key: str, *, retry: bool) -> str:
            self.posts.append((subscription.channel, sorted(labels(digest))))
            return key

    channel = Channel()
    service = deadlines_bot.delivery({"test": channel})
    for day in (dt.date(2027, 1, 8), DUE_DAY):
        at = dt.datetime.combine(day, dt.time(9, 5), SEOUL)
        await service.run_pass(at)
        await service.run_pass(at)  # a second pass posts nothing again
    assert channel.posts == [
        (
            "C-d",
            [
                "Due in 7 days: Deadline to publish the defense white paper",
                "Due in 7 days: Publish a defense white paper",
            ],
        ),
        (
            "C-d",
            [
                "Due today: Deadline to publish the defense white paper",
                "Due today: Publish a defense white paper",
            ],
        ),
    ]


def test_the_data_folder_loads_deadlines_in_one_streamed_pass(tmp_path, clock, monkeypatch):
    folder = tmp_path / "data"
    shutil.copytree(ROOT / "data", folder)
    write(folder, "zz-deadlines.yaml", DEADLINES)

    def exact_path(*args, **kwargs):
        raise AssertionError("the streamed load fell back to the exact path")

    # The deploy's load must not need the exact path (which holds every record in memory).
    monkeypatch.setattr("bot.loading.ds.load", exact_path)
    bot = open_bot(Settings(db_path=tmp_path / "p.db", data_dir=folder), clock=clock)
    try:
        due = {r.pledge: r.date for r in bot.catalogue.due_rows()}
        assert due == {"defense-white-paper": DUE_DAY, "hotline-in-100-days": dt.date(2025, 9, 11)}
    finally:
        bot.close()


def test_import_replace_changes_a_deadline(deadlines_bot, tmp_path):
    changed = DEADLINES.replace("due_on: 2027-01-15", "due_on: 2027-03-01")
    result = deadlines_bot.importer.import_files(
        [write(tmp_path, "changed.yaml", changed)], author="test", replace=True
    )
    assert result.edit is not None
    due = {r.pledge: r.date for r in deadlines_bot.catalogue.due_rows()}
    assert due["defense-white-paper"] == dt.date(2027, 3, 1)
    # A rule replaced by a date leaves no rule behind.
    by_date = DEADLINES.replace("due:\n      after: inauguration-2025\n      days: 100", "due_on: 2025-12-31")
    deadlines_bot.importer.import_files([write(tmp_path, "dated.yaml", by_date)], author="test", replace=True)
    pledges = {p["id"]: p for p in deadlines_bot.exporter.export()["pledges"]}
    assert pledges["hotline-in-100-days"]["due_on"] == "2025-12-31"
    assert "due" not in pledges["hotline-in-100-days"]


# -- deadline milestones: the same rule as a pledge's due date -----------------------------------------------

TODAY = dt.date(2026, 5, 20)  # the `clock` fixture's day in Seoul
# Deadline milestones around the test's clock: 30 days ahead, 100 days past while the pledge is unrated, 100
# days past for a pledge kept since, and 100 days past for no pledge (nothing says whether it was met).
AROUND_TODAY = textwrap.dedent(
    """\
    pledges:
      - id: hotline-by-june
        speaker: lee-jae-myung
        title: Reopen the hotline by June
        title_ko: 6월까지 통신선 재개
        category: North Korea
        pledged_on: 2025-05-26
      - id: white-paper-by-february
        speaker: lee-jae-myung
        title: Publish the white paper by February
        category: Defense
        pledged_on: 2025-05-26
      - id: summit-by-february
        speaker: lee-jae-myung
        title: Hold a summit by February
        category: Diplomacy
        pledged_on: 2025-05-26
        status:
          - status: kept
            date: 2026-03-01
    milestones:
      - id: hotline-by-june-deadline
        date: 2026-06-19
        kind: deadline
        title: Hotline reopened by 19 June
        pledge: hotline-by-june
      - id: white-paper-deadline-2026
        date: 2026-02-09
        kind: deadline
        title: White paper published by 9 February
        pledge: white-paper-by-february
      - id: summit-deadline-2026
        date: 2026-02-09
        kind: deadline
        title: Summit held by 9 February
        pledge: summit-by-february
      - id: budget-deadline-2026
        date: 2026-02-09
        kind: deadline
        title: Budget passed by 9 February
    """
)


@pytest.fixture
def around_today(settings, clock, tmp_path):
    bot = open_bot(settings, clock=clock)
    bot.importer.import_files([write(tmp_path, "around.yaml", AROUND_TODAY)], author="test")
    yield bot
    bot.close()


def test_a_deadline_milestone_counts_down_is_due_and_then_overdue_like_a_due_date():
    deadline = Milestone("d", DUE_DAY, "deadline", "Hotline restored by year end", "p")
    calendar = Calendar([deadline])
    assert [o.headline() for o in calendar.on(DUE_DAY)] == ["Due today: Hotline restored by year end"]
    assert [o.headline() for o in calendar.on(DUE_DAY - dt.timedelta(days=30), lead_days=30)] == [
        "Due in 30 days: Hotline restored by year end"
    ]
    # Day 100 counting the deadline as day 1 is no longer "100 days since" it: overdue comes a day later.
    assert calendar.on(DUE_DAY + dt.timedelta(days=99)) == []
    assert [o.headline() for o in calendar.on(DUE_DAY + dt.timedelta(days=100))] == [
        "Overdue by 100 days: Hotline restored by year end"
    ]
    assert [o.headline() for o in calendar.on(dt.date(2028, 1, 15))] == [
        "Overdue by 1 year: Hotline restored by year end"
    ]


def test_a_desk_deadline_is_overdue_while_the_pledge_is_unrated(bot, console_ctx):
    """The reviewer's case: a deadline added at the desk, and the plan 100 days after it."""
    editor = dataclasses.replace(console_ctx, can_edit=True)
    added = bot.core.handle(
        "milestone inter-korean-hotline deadline 2026-12-31 Hotline restored by year end", editor
    )
    assert not added.is_error, added
    assert bot.digests.digest(dt.date(2027, 4, 9)) is None
    [item] = bot.digests.digest(dt.date(2027, 4, 10)).items
    assert item.label == "Overdue by 100 days: Hotline restored by year end"
    assert item.detail.endswith("— status: Not yet rated")
    [korean] = bot.digests.digest(dt.date(2027, 4, 10), language="ko").items
    assert korean.label.startswith("마감 100일 경과: ")


def test_deadlines_around_today_in_digests_and_upcoming(around_today, console_ctx):
    digest = around_today.digests.digest(TODAY, 30)
    assert labels(digest) == [
        "Overdue by 100 days: White paper published by 9 February",
        "Due in 30 days: Hotline reopened by 19 June",
    ]
    assert digest.items[0].detail.endswith("— status: Not yet rated")
    korean = around_today.digests.digest(TODAY, 30, language="ko")
    assert labels(korean)[0].startswith("마감 100일 경과: ")
    assert labels(korean)[1].startswith("마감 30일 전: ")
    upcoming = labels(around_today.core.handle("upcoming 60", console_ctx))
    assert "Due in 30 days: Hotline reopened by 19 June" in upcoming
    assert "Overdue by 100 days: White paper published by 9 February" in upcoming
    # Neither the kept pledge's deadline, nor the deadline of no pledge, nor any "days since" a deadline.
    assert not [
        label
        for label in upcoming
        if "Summit held" in label
        or (" since " in label and ("Hotline reopened" in label or "White paper" in label))
    ]
    on_the_day = around_today.digests.digest(dt.date(2026, 6, 19))
    assert labels(on_the_day) == ["Due today: Hotline reopened by 19 June"]
