"""A Korean word with one letter wrong is corrected by its letters (jamo), not its syllables: 북헌 is one
jamo from 북한. Only to a word of the catalogue that finds pledges on its own, never to or from a speaker's
name, and said so as English corrections are."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.replies import Context
from bot.search import edit_distance
from bot.search_index import hangul_variants, hangul_words

CONSOLE = Context(platform="console")
KOREAN = Context(platform="console", locale="ko")


def _notices(reply) -> str:
    return " ".join(n.text for n in reply.notices)


@pytest.mark.parametrize(
    ("typed", "meant", "pledge"),
    [
        ("북헌 인권", "북한 인권", "humanitarian-human-rights"),  # a vowel: ㅓ for ㅏ
        ("헷라인", "핫라인", "inter-korean-hotline"),  # ㅔ for ㅏ
        ("이산가쪽", "이산가족", "humanitarian-human-rights"),  # a doubled consonant: ㅉ for ㅈ
        ("비학화", "비핵화", "peace-denuclearization"),  # ㅏ for ㅐ
        ("문민통재", "문민통제", "armed-forces-reform"),  # ㅐ for ㅔ, the commonest slip of all
        ("우크라아나", "우크라이나", "russia-ukraine"),  # a word a particle-cutter would cut (…이나)
        ("확장억재 강화", "확장억제 강화", "defense-deterrence"),  # the other word right
        ("하라인은", "핫라인", "inter-korean-hotline"),  # a final dropped, and the particle cut first
    ],
)
def test_a_one_letter_slip_is_corrected_and_said_so(core, typed, meant, pledge):
    reply = core.handle(typed, CONSOLE)
    assert reply.cards[0].pledge_id == pledge
    assert f"No exact match; showing results for “{meant}”." in _notices(reply)


def test_a_korean_reader_is_told_in_korean(core):
    reply = core.handle("헷라인에 대한 공약은?", KOREAN)
    assert reply.cards[0].pledge_id == "inter-korean-hotline"
    assert "정확히 일치하는 결과가 없어 “핫라인” 검색 결과를 보여 드립니다." in _notices(reply)


@pytest.mark.parametrize(
    "typed",
    [
        "이재멍",  # one letter from the speaker's name: a name is never guessed at (another person may be it)
        "헷라언",  # two letters wrong, in two syllables
        "헷",  # one syllable tells a slip from another word too little
        "퓨퓨퓨",  # no word of the catalogue near it
    ],
)
def test_no_correction_beyond_one_letter_or_to_a_name(core, typed):
    reply = core.handle(typed, CONSOLE)
    assert "showing results for" not in _notices(reply)
    assert not reply.cards


def test_a_word_that_matches_is_never_corrected(core):
    # 북한 matches; one of its variants (북측) is also a word of the catalogue.
    reply = core.handle("북한", CONSOLE)
    assert reply.cards and "showing results for" not in _notices(reply)


def _import(bot, tmp_path, pledge, **options):
    path = tmp_path / "extra.json"
    path.write_text(json.dumps({"pledges": [pledge]}, ensure_ascii=False), encoding="utf-8")
    bot.importer.import_files([path], author="test", **options)


def _pledge(title_ko: str) -> dict:
    return {
        "id": "carbon-neutral",
        "speaker": "lee-jae-myung",
        "title": "Carbon neutrality by 2050",
        "title_ko": title_ko,
        "category": "Environment",
        "category_ko": "환경",
    }


def test_an_imported_word_is_a_correction_at_once_and_a_replaced_one_is_not(bot, tmp_path):
    _import(bot, tmp_path, _pledge("탄소중립 2050"))
    assert bot.searcher.search("탄소중닙").ids == ["carbon-neutral"]
    assert bot.searcher.search("탄소중닙").corrected == "탄소중립"
    # Retitled: the old word stays in the vocabulary, but finds nothing, so nothing is corrected to it.
    _import(bot, tmp_path, _pledge("넷제로 2050"), replace=True)
    result = bot.searcher.search("탄소중닙")
    assert not result.ids and result.corrected is None


def test_a_speaker_s_name_in_a_pledge_s_words_is_still_never_a_correction(bot, tmp_path):
    _import(bot, tmp_path, _pledge("이재명 정부의 탄소중립"))
    assert "이재명" in {r[0] for r in bot.store.db.execute("SELECT term FROM hangul_terms")}
    result = bot.searcher.search("이재멍")
    assert result.corrected is None and not result.ids


def test_the_variants_are_looked_up_by_key(bot):
    plan = bot.store.db.execute(
        "EXPLAIN QUERY PLAN SELECT term FROM hangul_terms WHERE term IN (SELECT value FROM json_each(?))",
        ['["북한"]'],
    ).fetchall()
    assert any("USING PRIMARY KEY" in row[-1] for row in plan), plan


def test_the_vocabulary_holds_words_and_their_stems_of_two_syllables_or_more():
    assert hangul_words("북한의 비핵화와 핫라인, 군 통신선 English") == {
        "북한의",
        "북한",
        "비핵화와",
        "비핵화",
        "핫라인",
        "통신선",
    }


_SYLLABLES = st.text(st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3), min_size=1, max_size=5)


@given(_SYLLABLES)
def test_every_variant_is_one_jamo_from_the_word(word):
    variants = hangul_variants(word)
    # Per syllable: 18 other initials, 20 other vowels, 27 other finals (none among them).
    assert len(variants) == len(set(variants)) == 65 * len(word)
    jamo = unicodedata.normalize("NFD", word)
    for variant in variants[:: max(1, len(variants) // 40)]:
        assert edit_distance(unicodedata.normalize("NFD", variant), jamo) == 1
