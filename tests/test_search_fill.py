"""A first page filled beyond the pledges that say every word: through their sources' headlines when none
does, and with near-complete matches, marked as such."""

from __future__ import annotations

import json

import pytest

from bot.replies import Context


def _import(bot, tmp_path, records):
    path = tmp_path / "extra.json"
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    bot.importer.import_files([path], author="test")


def _pledge(pid, title, title_ko, source=None):
    pledge = {"id": pid, "speaker": "lee-jae-myung", "title": title, "title_ko": title_ko}
    pledge |= {"category": "Housing", "category_ko": "주거"}
    if source:
        pledge["status"] = [{"status": "not yet rated", "date": "2025-04-10", "source": source}]
    return pledge


@pytest.fixture
def housing(bot, tmp_path):
    source = {"id": "speech", "kind": "speech", "outlet": "Party", "published_at": "2025-04-10"}
    source |= {"headline": "Toward a basic society", "headline_ko": "기본사회로 가는 길", "note": "test"}
    _import(
        bot,
        tmp_path,
        {
            "sources": [source],
            "pledges": [
                _pledge("livelihoods", "A minimum income for all", "최소 소득", "speech"),
                _pledge("exact-one", "Youth housing loans and rent support", "청년 주택 대출과 월세 지원"),
                _pledge("cheaper-credit", "Support youth housing, loans", "청년 주택 대출 지원"),
                _pledge("shared-flats", "Rent support for youth in shared housing", "청년 쉐어 월세 지원"),
                _pledge("relief-one", "Loans and rent relief", "대출과 월세 경감"),
            ],
        },
    )


@pytest.mark.parametrize("query", ["basic society", "기본사회", "기본사회에 대한 공약은?"])
def test_a_policy_named_only_in_its_source_is_found(bot, housing, query):
    result = bot.searcher.search(query)
    assert result.ids == ["livelihoods"] and result.total == 1


def test_a_source_s_words_add_nothing_beside_pledges_that_say_them(bot, housing):
    # Every seed pledge cites an article headlined "… restore inter-Korean hotline …": "hotline" still finds
    # the one pledge about it.
    assert bot.searcher.search("hotline", limit=20).ids == ["inter-korean-hotline"]


def test_a_changed_headline_is_searchable_at_once(bot, housing, tmp_path):
    source = {"id": "speech", "kind": "speech", "outlet": "Party", "published_at": "2025-04-10"}
    source |= {"headline": "Toward a caring state", "note": "test"}
    path = tmp_path / "source.json"
    path.write_text(json.dumps({"sources": [source]}), encoding="utf-8")
    bot.importer.import_files([path], author="test", replace=True)
    assert bot.searcher.search("caring state").ids == ["livelihoods"]
    assert not bot.searcher.search("basic society").ids


def test_near_complete_matches_fill_the_first_page_below_and_marked(bot, housing):
    result = bot.searcher.search("youth housing loans and rent support", limit=5)
    assert result.ids[0] == "exact-one" and result.total == 1
    assert set(result.near) == {"cheaper-credit", "shared-flats"} and result.ids[1:] == result.near
    reply = bot.core.handle("youth housing loans and rent support", Context(platform="console"))
    assert reply.title == "1 pledge found"
    assert reply.cards[0].pledge_id == "exact-one" and len(reply.cards) == 3
    assert "Also matching most of your words: " in " ".join(n.text for n in reply.notices)
    korean = bot.core.handle("청년 주택 대출 월세 지원", Context(platform="console", locale="ko"))
    assert [c.pledge_id for c in korean.cards] == ["exact-one", "cheaper-credit"]  # 쉐어 lacks two words
    assert any("대부분" in n.text for n in korean.notices)


def test_near_complete_matches_need_three_words_and_stay_off_later_pages(bot, housing):
    assert not bot.searcher.search("youth rent").near  # all but one of two words is one word
    assert not bot.searcher.search("youth housing loans and rent support", offset=3).near


def test_the_partial_match_notice_is_unchanged_when_nothing_has_every_word(core):
    reply = core.handle("hotline submarine", Context(platform="console"))
    texts = " ".join(n.text for n in reply.notices)
    assert "No pledge mentions “submarine”; showing pledges that mention “hotline”." in texts
    assert "most of your words" not in texts
