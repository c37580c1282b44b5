"""Search finds each pledge by the words readers use, in English and Korean, and survives any input."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.search import MAX_QUERY_CHARS

# Every pledge, with an English and a Korean word a reader would type.
READER_WORDS = [
    ("inter-korean-hotline", "hotline", "핫라인"),
    ("inter-korean-hotline", "military hotlines", "남북 통신선"),
    ("pragmatic-diplomacy", "pragmatic diplomacy", "실용외교"),
    ("alliance-trust", "alliance trust", "한미동맹"),
    ("korea-us-japan-cooperation", "trilateral", "한미일"),
    ("japan-relations", "Japan", "일본"),
    ("china-relations", "China", "중국"),
    ("russia-ukraine", "Ukraine reconstruction", "우크라이나"),
    ("peace-denuclearization", "denuclearization", "비핵화"),
    ("korea-risk", "Korea risk", "코리아 리스크"),
    ("inter-korean-dialogue", "inter-Korean dialogue", "남북대화"),
    ("humanitarian-human-rights", "separated families", "이산가족"),
    ("reunification-social-dialogue", "reunification", "통일"),
    ("defense-deterrence", "extended deterrence", "확장억제"),
    ("armed-forces-reform", "civilian control", "문민통제"),
]


@pytest.mark.parametrize(("pledge", "english", "korean"), READER_WORDS)
def test_every_pledge_is_found_first_by_an_english_and_a_korean_word(core, pledge, english, korean):
    assert core.searcher.search(english).ids[0] == pledge
    assert core.searcher.search(korean).ids[0] == pledge


@pytest.mark.parametrize(
    ("query", "pledge"),
    [
        ("hotlines", "inter-korean-hotline"),  # plural
        ("hotlin", "inter-korean-hotline"),  # typo
        ("denuclearisation", "peace-denuclearization"),  # British spelling
        ("denuclearizaton", "peace-denuclearization"),  # typo corrected through the vocabulary
        ("POWs", "humanitarian-human-rights"),  # an alias only
        ("kill chain", "defense-deterrence"),  # an alias only, nowhere in the article
        ("통신", "inter-korean-hotline"),  # two Hangul letters, inside a longer word
        ("북한", "humanitarian-human-rights"),  # two letters; the alias 북한 인권 ranks first
        ("핫", "inter-korean-hotline"),  # one letter
        ("Inter-Korean-Hotline", "inter-korean-hotline"),  # an id, in any case
        # A command word whose arguments do not parse is searched for with them.
        ("/pledge history issues", "japan-relations"),  # "historical and territorial issues"
        ("show hotline", "inter-korean-hotline"),  # not an id
    ],
)
def test_variants_find_the_pledge(core, query, pledge):
    reply_ids = [c.pledge_id for c in core.handle(query, _ctx()).cards]
    assert reply_ids[0] == pledge


def test_typo_reply_says_what_it_searched_for(core):
    reply = core.handle("denuclearizaton", _ctx())
    assert any("denuclearization" in n.text for n in reply.notices)


def test_korean_two_letter_words_use_the_index_not_a_scan(bot):
    plan = bot.store.db.execute(
        "EXPLAIN QUERY PLAN SELECT rowid FROM pledge_index_fts WHERE pledge_index_fts MATCH ?", ['"북한"']
    ).fetchall()
    assert all("SCAN pledge_index " not in row[-1] for row in plan)
    assert any("VIRTUAL TABLE INDEX" in row[-1] for row in plan)


@pytest.mark.parametrize(
    "hostile",
    [
        '"',
        '""',
        "AND(",
        "*",
        "NEAR",
        "NEAR(a b)",
        "hotline OR",
        "-hotline",
        "^hot",
        "col:hotline",
        "🙂",
        "",
        "   ",
        "\x00\x1b[31m",
        "a" * 10_000,
        "hotline " * 2_000,
        "(((",
        "'; DROP TABLE pledges; --",
    ],
)
def test_hostile_input_gets_a_reply(core, hostile):
    reply = core.handle(hostile, _ctx())
    assert reply.title or reply.notices
    assert not any("went wrong" in n.text for n in reply.notices)


def test_long_query_is_cut_with_a_notice(core):
    reply = core.handle("hotline " + "x" * (MAX_QUERY_CHARS * 2), _ctx())
    assert any("first 200 characters" in n.text for n in reply.notices)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300))
def test_any_text_searches_without_error(core, text):
    result = core.searcher.search(text)
    assert len(result.ids) <= 3
    core.suggest(text)


def test_suggest_completes_a_prefix(core):
    assert "inter-korean-hotline" in [s.value for s in core.suggest("hot")]
    assert "inter-korean-hotline" in [s.value for s in core.suggest("핫라")]
    assert len(core.suggest("korea")) <= 25


def _ctx():
    from bot.replies import Context

    return Context(platform="console")
