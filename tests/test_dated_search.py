"""A date typed into a search answers as `on` that date does, the rest of the words filtering it; a date
without its year is the year on record. Over a catalogue beyond the seed: the same day of the year in two
years, two speakers on one day, a deadline ahead and a leap day."""

from __future__ import annotations

import dataclasses
import datetime as dt
import textwrap
from pathlib import Path

import pytest

from bot.cli import open_bot
from bot.search import informative
from tests.conftest import FixedClock

DATASET = textwrap.dedent(
    """\
    speakers:
      - id: kim-min-su
        name: Kim Min-su
        name_ko: 김민수
        role: Mayor of Incheon
        role_ko: 인천시장
    sources:
      - id: briefing-2023
        kind: press release
        outlet: Incheon City
        headline: Ferry plans for the harbour
        published_at: 2023-03-14
      - id: briefing-2024
        kind: press release
        outlet: Incheon City
        headline: Transport plans for the coast
        published_at: 2024-03-14
    pledges:
      - id: ferry-terminal
        speaker: lee-jae-myung
        title: Build a ferry terminal in Incheon
        title_ko: 인천 여객터미널 건설
        category: Transport
        pledged_on: 2023-03-14
        quotes:
          - text: We will build a new ferry terminal.
            source: briefing-2023
            said_on: 2023-03-14
      - id: coastal-railway
        speaker: lee-jae-myung
        title: Extend the coastal railway
        title_ko: 해안 철도 연장
        category: Transport
        pledged_on: 2024-03-14
        quotes:
          - text: The coastal railway will reach the islands.
            source: briefing-2024
            said_on: 2024-03-14
      - id: bridge-repair
        speaker: kim-min-su
        title: Repair the harbour bridges
        title_ko: 항만 교량 보수
        category: Transport
        pledged_on: 2024-03-14
        quotes:
          - text: Every harbour bridge will be repaired.
            source: briefing-2024
            said_on: 2024-03-14
      - id: maritime-museum
        speaker: kim-min-su
        title: Open a maritime museum
        title_ko: 해양 박물관 개관
        category: Culture
        pledged_on: 2024-01-10
        due_on: 2027-08-09
      - id: leap-day-library
        speaker: kim-min-su
        title: Open a harbour library
        title_ko: 항만 도서관 개관
        category: Culture
        pledged_on: 2024-02-29
    milestones:
      - id: mayoral-election-2024
        date: 2024-03-14
        kind: election
        title: Kim Min-su was elected mayor
        title_ko: 김민수 시장 당선
        speaker: kim-min-su
    """
)


@pytest.fixture
def incheon(state_settings, tmp_path: Path):
    """The bot over the seed and this dataset, on 20 May 2026 (noon in Seoul)."""
    bot = open_bot(state_settings, clock=FixedClock(dt.datetime(2026, 5, 20, 3, 0, tzinfo=dt.UTC)))
    path = tmp_path / "incheon.yaml"
    path.write_text(DATASET, encoding="utf-8")
    bot.importer.import_files([path], author="test")
    yield bot
    bot.close()


@pytest.fixture
def korean(console_ctx):
    return dataclasses.replace(console_ctx, locale="ko")


def ids(reply) -> list[str | None]:
    return [i.pledge_id for i in reply.items]


def notices(reply) -> list[str]:
    return [n.text for n in reply.notices]


def test_a_day_without_its_year_is_the_latest_year_on_record(incheon, console_ctx):
    reply = incheon.core.handle("/pledge March 14", console_ctx)
    assert reply.title == "On 2024-03-14"
    # With the first anniversary of the ferry pledge of 2023, as `on 2024-03-14` lists it.
    assert set(ids(reply)) == {"coastal-railway", "bridge-repair", None, "ferry-terminal"}
    assert notices(reply) == ["No year given: showing 2024-03-14, the latest such day on record."]


def test_the_words_pick_the_year_that_has_them(incheon, console_ctx):
    # 2024-03-14 has the ferry pledge's first anniversary, but the ferry was promised in 2023.
    reply = incheon.core.handle("/pledge March 14 ferry", console_ctx)
    assert reply.title == "On 2023-03-14"
    assert ids(reply) == ["ferry-terminal"]
    assert notices(reply) == [
        "No year given: showing 2023-03-14, the latest such day on record.",
        "Only what matches “ferry”.",
    ]


def test_a_speakers_name_filters_the_day(incheon, console_ctx):
    lee = incheon.core.handle("/pledge what did Lee promise on 14 March 2024?", console_ctx)
    assert ids(lee) == ["coastal-railway", "ferry-terminal"]
    assert notices(lee) == ["Only what matches “Lee”."]
    # The election belongs to no pledge: its label names Kim.
    kim = incheon.core.handle("/pledge Kim March 14, 2024", console_ctx)
    assert set(ids(kim)) == {"bridge-repair", None}


def test_a_korean_reader_reads_the_notices_in_korean(incheon, korean):
    reply = incheon.core.handle("/pledge 3월 14일 이재명 공약", korean)
    assert reply.title == "2024년 3월 14일"
    assert ids(reply) == ["coastal-railway", "ferry-terminal"]
    assert notices(reply) == [
        "연도가 없어 기록이 있는 가장 최근의 같은 날을 보여 드립니다: 2024년 3월 14일.",
        "“이재명”에 해당하는 내용만 보여 드립니다.",
    ]


def test_a_day_on_record_only_ahead_is_the_next_one(incheon, console_ctx):
    reply = incheon.core.handle("/pledge Aug 9", console_ctx)
    assert reply.title == "On 2027-08-09"
    assert ids(reply) == ["maritime-museum"]
    assert notices(reply) == ["No year given: showing 2027-08-09, the next such day on record."]


def test_a_leap_day_without_its_year_is_the_last_leap_year_on_record(incheon, console_ctx):
    reply = incheon.core.handle("/pledge Feb 29", console_ctx)
    assert reply.title == "On 2024-02-29"
    assert ids(reply) == ["leap-day-library"]


def test_a_date_alone_with_nothing_that_day_answers_as_on_does(incheon, console_ctx):
    on = incheon.core.handle("/pledge on 2024-07-07", console_ctx)
    assert on.title == "2024-07-07"
    assert notices(on) == ["Nothing on record for 2024-07-07."]
    for typed in ("/pledge July 7 2024", "/pledge 2024년 7월 7일", "/pledge what happened on 7 July 2024?"):
        reply = incheon.core.handle(typed, console_ctx)
        assert (reply.title, notices(reply)) == (on.title, notices(on)), typed
    # Without its year: the latest such day so far, said so.
    yearless = incheon.core.handle("/pledge July 7", console_ctx)
    assert notices(yearless) == ["No year given: showing 2025-07-07.", "Nothing on record for 2025-07-07."]


def test_words_nothing_that_day_matches_answer_as_a_search(incheon, console_ctx):
    reply = incheon.core.handle("/pledge 2024-03-14 hotline", console_ctx)
    assert notices(reply)[0] == "Nothing on record on 2024-03-14 matches “hotline”."
    assert reply.cards and reply.total >= 1  # the seed's hotline pledges, as the search finds them
    yearless = incheon.core.handle("/pledge March 14 museum", console_ctx)
    assert notices(yearless)[0] == "Nothing on record on March 14 in any year matches “museum”."
    # Nothing at all: the search's own "No pledge found", never a bare one.
    nothing = incheon.core.handle("/pledge zebra 2024-03-14", console_ctx)
    assert nothing.title == "No pledge found"
    assert notices(nothing)[0] == "Nothing on record on 2024-03-14 matches “zebra”."


def test_on_reads_every_form(incheon, console_ctx):
    assert incheon.core.handle("/pledge on May 26", console_ctx).title == "On 2025-05-26"
    assert incheon.core.handle("/pledge on 26 May 2025", console_ctx).title == "On 2025-05-26"


def test_what_is_not_a_day_or_not_a_date(incheon, console_ctx):
    for typed, shown in (
        ("2025-02-30", "2025-02-30"),
        ("Feb 30", "Feb 30"),
        ("2025년 2월 30일", "2025년 2월 30일"),
    ):
        reply = incheon.core.handle(f"/pledge on {typed}", console_ctx)
        assert f"{shown} is not a real calendar date." in notices(reply)
    # In a search, a day no calendar has and a year alone are words.
    assert incheon.core.handle("/pledge 2025 budget", console_ctx).title == "No pledge found"
    assert incheon.core.handle("/pledge Feb 30 hotline", console_ctx).title != "2025-02-30"


def test_only_informative_words_filter():
    # Question words count for nothing here even alone: "what happened on May 26?" is the whole day.
    assert informative("what did Lee promise on ?") == ["Lee"]
    assert informative("what happened on ?") == []
    assert informative("무슨 공약을 했나요 이재명") == ["이재명"]
    assert informative("핫라인에 대한 약속") == ["핫라인"]


def test_matching_is_one_query_over_the_ids_given(incheon):
    searcher = incheon.searcher
    everything = {"ferry-terminal", "coastal-railway", "bridge-repair", "inter-korean-hotline"}
    # Korean particles cut, speakers by their Korean names, synonyms as in a search.
    assert searcher.matching("핫라인을", everything) == {"inter-korean-hotline"}
    assert searcher.matching("이재명", everything) == everything - {"bridge-repair"}
    assert searcher.matching("Kim", everything) == {"bridge-repair"}
    assert searcher.matching("hotline", {"ferry-terminal"}) == set()
    # Nothing informative: no filter.
    assert searcher.matching("what did he promise", everything) is None
