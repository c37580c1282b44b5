"""Officials: speakers with offices, regions, parties and terms, loaded, exported and imported again; and
each term's anniversaries on the calendar."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from bot import dataset as ds
from bot.officials.records import Term

SEOUL = """
speakers:
  - id: oh-se-hoon
    name: Oh Se-hoon
    name_ko: 오세훈
    office: Mayor of Seoul
    office_ko: 서울특별시장
    sido: 서울특별시
    sgg: 서울특별시
    party: People Power Party
    party_ko: 국민의힘
    terms:
      - start: 2026-07-01
        end: 2030-06-30
        election: local-election-2026
sources:
  - id: seoul-registry
    kind: official record
    outlet: National Election Commission
    headline: Pledges of the 9th local elections
    published_at: 2026-05-20
    language: ko
pledges:
  - id: seoul-buses
    speaker: oh-se-hoon
    title: More night buses
    title_ko: 심야버스 확대
    category: Transport
    category_ko: 교통
    pledged_on: 2026-05-20
    quotes:
      - text: 심야버스를 두 배로 늘리겠습니다
        source: seoul-registry
        said_on: 2026-05-20
"""


@pytest.fixture
def seoul(bot, tmp_path):
    """The catalogue with the Mayor of Seoul imported beside the seed."""
    path = tmp_path / "seoul.yaml"
    path.write_text(SEOUL, encoding="utf-8")
    bot.importer.import_files([path], author="test")
    return bot


def at(clock, day: dt.date) -> None:
    clock.now = dt.datetime.combine(day, dt.time(3, 0), dt.UTC)


def test_the_seed_president_has_his_office_and_term(bot):
    lee = bot.officials.get("lee-jae-myung")
    assert (lee.office, lee.office_ko, lee.party_ko) == ("President", "대통령", "더불어민주당")
    assert lee.terms == (Term(dt.date(2025, 6, 4), dt.date(2030, 6, 3), "presidential-election-2025"),)
    assert lee.level == 0


def test_a_speaker_without_the_new_fields_loads_unchanged(bot, tmp_path):
    path = tmp_path / "old.yaml"
    path.write_text("speakers:\n  - id: kim\n    name: Kim\n    role: reporter\n", encoding="utf-8")
    assert bot.importer.import_files([path], author="test").added == 1
    kim = bot.officials.get("kim")
    assert (kim.office, kim.terms) == (None, ())
    assert "kim" not in {o.id for o in bot.officials.holders()}


@pytest.mark.parametrize(
    ("terms", "message"),
    [
        ("[{start: 2026-07-01, end: 2026-06-30}]", "a term ends (2026-06-30) before it starts (2026-07-01)"),
        ("[{end: 2030-06-30}]", "a term needs its start"),
        ("[{start: 2026-07-01, until: 2030-06-30}]", "unknown key 'until'"),
        ("[{start: 2026-02-30}]", "'2026-02-30' is not a real calendar date"),
        ("[just words]", "'just words' is not a term"),
    ],
)
def test_a_bad_term_is_refused_with_its_field(tmp_path, terms, message):
    path = tmp_path / "bad.yaml"
    path.write_text(f"speakers:\n  - id: x\n    name: X\n    terms: {terms}\n", encoding="utf-8")
    with pytest.raises(ds.DatasetError) as error:
        ds.load([path])
    assert f"{path}:2: field 'terms'" in str(error.value) and message in str(error.value)


def test_speaker_fields_round_trip_through_json_and_csv_exports(seoul, tmp_path, monkeypatch):
    exported = seoul.exporter.export()
    oh = next(s for s in exported["speakers"] if s["id"] == "oh-se-hoon")
    assert oh["terms"] == [{"start": "2026-07-01", "end": "2030-06-30", "election": "local-election-2026"}]
    assert oh["office_ko"] == "서울특별시장" and oh["sido"] == "서울특별시"
    # JSON: read back, the very records.
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(exported, ensure_ascii=False), encoding="utf-8")
    speakers = ds.load([path]).rows("speakers")
    back = next(s for s in speakers if s["id"] == "oh-se-hoon")
    assert back["terms"] == [
        {"start": dt.date(2026, 7, 1), "end": dt.date(2030, 6, 30), "election": "local-election-2026"}
    ]
    # Importing the export into the catalogue it came from changes nothing.
    assert seoul.importer.import_files([path], author="test").edit is None
    # CSV: the terms as one cell, read back the same.
    from bot import cli

    folder = tmp_path / "csv"
    monkeypatch.setattr(cli, "load_settings", lambda: seoul.settings)
    assert cli.main(["export", "--format", "csv", "--output", str(folder)]) == 0
    cell = (folder / "speakers.csv").read_text(encoding="utf-8")
    assert "2026-07-01/2030-06-30 local-election-2026" in cell
    rows = ds.load([folder / "speakers.csv"]).rows("speakers")
    assert next(s for s in rows if s["id"] == "oh-se-hoon")["terms"] == back["terms"]


def test_a_term_starting_2026_07_01_has_its_100th_day_and_first_anniversary_in_upcoming(
    seoul, console_ctx, clock
):
    at(clock, dt.date(2026, 10, 1))
    items = [(i.label, i.date) for i in seoul.core.handle("upcoming 10", console_ctx).items]
    assert ("100 days since Oh Se-hoon took office as Mayor of Seoul", dt.date(2026, 10, 8)) in items
    at(clock, dt.date(2027, 6, 25))
    korean = dataclasses.replace(console_ctx, locale="ko")
    items = [(i.label, i.date) for i in seoul.core.handle("upcoming 10", korean).items]
    assert ("오세훈 서울특별시장 취임 1주년", dt.date(2027, 7, 1)) in items


def test_a_korean_digest_names_the_official_by_office(seoul):
    digest = seoul.digests.digest(dt.date(2026, 10, 8), language="ko")
    assert "오세훈 서울특별시장 취임 100일" in [i.label for i in digest.items]
    english = seoul.digests.digest(dt.date(2027, 7, 1))
    assert "1 year since Oh Se-hoon took office as Mayor of Seoul" in [i.label for i in english.items]
    # The 1,000th day, the midpoint and the end, each once.
    assert "1,000 days since Oh Se-hoon took office as Mayor of Seoul" in [
        i.label for i in seoul.digests.digest(dt.date(2029, 3, 26)).items
    ]
    midpoint = seoul.digests.digest(dt.date(2028, 6, 30))
    assert [i.label for i in midpoint.items] == ["Today: Halfway through Oh Se-hoon's term as Mayor of Seoul"]
    end = seoul.digests.digest(dt.date(2030, 6, 30), language="ko")
    assert "오늘: 오세훈 서울특별시장 임기 만료" in [i.label for i in end.items]
    # The midpoint and the end come round once: no "1 year since the term ended".
    later = seoul.digests.digest(dt.date(2031, 6, 30))
    assert later is None or not any("Oh Se-hoon" in i.label for i in later.items)


def test_on_the_first_day_lists_the_term_and_the_seed_inauguration_is_not_repeated(seoul, console_ctx):
    on = seoul.core.handle("on 2026-07-01", console_ctx)
    assert "Today: Oh Se-hoon took office as Mayor of Seoul" in [i.label for i in on.items]
    first = seoul.core.handle("on 2025-06-04", console_ctx)
    assert [i.label for i in first.items].count("Lee Jae-myung was inaugurated as president") == 1
    assert not any("took office as President" in i.label for i in first.items)
