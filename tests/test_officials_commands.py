"""`/pledge officials [region]`, `/pledge list <official or region>`, and searches scoped by office, place
and name (`/pledge 서울 교통`, `/pledge mayor of busan housing`, `/pledge 교육감 급식`)."""

from __future__ import annotations

import dataclasses

import pytest

NATION = """
speakers:
  - {id: busan-mayor, name: Park Busan, name_ko: 박부산, office: Mayor of Busan, office_ko: 부산광역시장,
     sido: 부산광역시, sgg: 부산광역시, party_ko: 가상정당,
     terms: [{start: 2026-07-01, end: 2030-06-30, election: local-2026}]}
  - {id: seoul-mayor, name: Hong Seoul, name_ko: 홍서울, office: Mayor of Seoul, office_ko: 서울특별시장,
     sido: 서울특별시, sgg: 서울특별시, terms: [{start: 2026-07-01, end: 2030-06-30}]}
  - {id: incheon-mayor, name: Kim Incheon, name_ko: 김인천, office: Mayor of Incheon, office_ko: 인천광역시장,
     sido: 인천광역시, terms: [{start: 2026-07-01, end: 2030-06-30}]}
  - {id: busan-edu, name: Lee Busan, name_ko: 이부산, office: Superintendent of Education of Busan,
     office_ko: 부산광역시교육감, sido: 부산광역시, terms: [{start: 2026-07-01, end: 2030-06-30}]}
  - {id: seoul-edu, name: Choi Seoul, name_ko: 최서울, office: Superintendent of Education of Seoul,
     office_ko: 서울특별시교육감, sido: 서울특별시, terms: [{start: 2026-07-01, end: 2030-06-30}]}
  - {id: haeundae-head, name: Jung Haeundae, name_ko: 정해운, office: "Head of 해운대구, Busan",
     office_ko: 해운대구청장, sido: 부산광역시, sgg: 해운대구, wiw: 해운대구,
     terms: [{start: 2026-07-01, end: 2030-06-30}]}
sources:
  - {id: registry, kind: official record, outlet: National Election Commission, headline: Registry,
     published_at: 2026-05-20, language: ko}
pledges:
  - {id: incheon-transport, speaker: incheon-mayor, title: Bus rapid transit lines,
     title_ko: 간선급행버스 교통망,
     category: Transport, category_ko: 교통, pledged_on: 2026-05-20}
  - {id: seoul-transport, speaker: seoul-mayor, title: Night buses, title_ko: 심야버스 교통 확대,
     category: Transport, category_ko: 교통, pledged_on: 2026-05-20}
  - {id: seoul-housing, speaker: seoul-mayor, title: Youth housing, title_ko: 청년 주택,
     category: Housing, category_ko: 주거, pledged_on: 2026-05-20}
  - {id: seoul-meals, speaker: seoul-mayor, title: Meals for the elderly, title_ko: 어르신 급식 지원,
     category: Welfare, category_ko: 복지, pledged_on: 2026-05-20}
  - {id: busan-housing, speaker: busan-mayor, title: Affordable housing near the port,
     title_ko: 항만 공공주택,
     category: Housing, category_ko: 주거, pledged_on: 2026-05-20}
  - {id: busan-breakfast, speaker: busan-edu, title: Free school breakfast, title_ko: 무상 아침 급식,
     category: Education, category_ko: 교육, pledged_on: 2026-05-20}
  - {id: seoul-lunch, speaker: seoul-edu, title: Better school lunches, title_ko: 학교 급식 개선,
     category: Education, category_ko: 교육, pledged_on: 2026-05-20}
  - {id: haeundae-beach, speaker: haeundae-head, title: Beach at night, title_ko: 해변 야간 관광,
     category: Tourism, category_ko: 관광, pledged_on: 2026-05-20}
statuses:
  - {pledge: busan-housing, status: kept, date: 2027-01-10}
"""


@pytest.fixture
def nation(bot, tmp_path):
    """The seed and six officials of three cities, with a pledge or three each."""
    path = tmp_path / "nation.yaml"
    path.write_text(NATION, encoding="utf-8")
    bot.importer.import_files([path], author="test")
    return bot


def ask(bot, text, ctx):
    return bot.core.handle(text, ctx)


def test_officials_lists_office_term_and_pledges_kept(nation, console_ctx):
    reply = ask(nation, "officials", console_ctx)
    assert reply.title == "7 officials"
    labels = [i.label for i in reply.items]
    # The widest office first: the president, then each city's heads, then its districts'.
    assert labels[0] == "Lee Jae-myung, President"
    assert labels.index("Park Busan, Mayor of Busan") < labels.index("Jung Haeundae, Head of 해운대구, Busan")
    busan = next(i for i in reply.items if i.label == "Park Busan, Mayor of Busan")
    assert (
        busan.detail
        == "term 2026-07-01 to 2030-06-30; 가상정당; 1 of 1 pledge kept; /pledge list busan-mayor"
    )
    lee = reply.items[0]
    assert "term 2025-06-04 to 2030-06-03" in lee.detail and "0 of 14 pledges kept" in lee.detail


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("officials 부산", ["busan-mayor", "busan-edu", "haeundae-head"]),
        ("officials Busan", ["busan-mayor", "busan-edu", "haeundae-head"]),
        ("officials 부산광역시", ["busan-mayor", "busan-edu", "haeundae-head"]),
        ("officials 해운대", ["haeundae-head"]),
        ("officials 교육감", ["busan-edu", "seoul-edu"]),
        ("공직자 서울", ["seoul-mayor", "seoul-edu"]),
    ],
)
def test_officials_of_a_region_in_english_or_korean(nation, console_ctx, text, expected):
    reply = ask(nation, text, console_ctx)
    ids = [i.detail.rsplit("/pledge list ", 1)[1] for i in reply.items]
    assert ids == expected


def test_officials_of_nowhere_says_so(nation, console_ctx):
    reply = ask(nation, "officials atlantis", console_ctx)
    assert reply.is_error and reply.notices[0].text == "No official is in or named by “atlantis”."


def test_officials_in_korean(nation, console_ctx):
    korean = dataclasses.replace(console_ctx, locale="ko")
    reply = ask(nation, "공직자 부산", korean)
    assert reply.items[0].label == "박부산, 부산광역시장"
    assert "1건 중 1건 이행" in reply.items[0].detail


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("list 부산", {"busan-housing", "busan-breakfast", "haeundae-beach"}),
        ("list mayor of busan", {"busan-housing"}),
        ("list seoul-edu", {"seoul-lunch"}),
        ("목록 서울특별시장", {"seoul-transport", "seoul-housing", "seoul-meals"}),
    ],
)
def test_list_of_an_official_or_a_region(nation, console_ctx, text, expected):
    reply = ask(nation, text, console_ctx)
    assert {i.pledge_id for i in reply.items} == expected
    assert reply.title.endswith(text.split(" ", 1)[1])


@pytest.mark.parametrize(
    ("query", "first", "also"),
    [
        ("서울 교통", ["seoul-transport"], "incheon-transport"),
        ("mayor of busan housing", ["busan-housing"], "seoul-housing"),
        ("교육감 급식", ["busan-breakfast", "seoul-lunch"], "seoul-meals"),
    ],
)
def test_office_and_place_words_rank_that_officials_pledges_first_never_filtering(
    nation, console_ctx, query, first, also
):
    reply = ask(nation, query, console_ctx)
    ids = [c.pledge_id for c in reply.cards]
    assert sorted(ids[: len(first)]) == sorted(first), ids
    # The others still follow: a scope ranks, it does not filter.
    assert also in ids or reply.total > len(ids)
    assert reply.notices[0].text.startswith("Pledges of ") and reply.notices[0].text.endswith(
        "first; the others follow."
    )


def test_a_name_alone_lists_that_officials_pledges(nation, console_ctx):
    reply = ask(nation, "Park Busan", console_ctx)
    assert reply.cards[0].pledge_id == "busan-housing"
    assert reply.notices[0].text == "Pledges of Park Busan, Mayor of Busan first; the others follow."


def test_words_that_name_no_official_search_as_before(nation, console_ctx):
    reply = ask(nation, "hotline", console_ctx)
    assert reply.cards[0].pledge_id == "inter-korean-hotline"
    assert not any(n.text.startswith("Pledges of") for n in reply.notices)
