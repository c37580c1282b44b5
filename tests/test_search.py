"""Search finds each pledge by the words readers use, in English and Korean, and survives any input."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.search import CANDIDATES, MAX_QUERY_CHARS, best_quote, best_quotes, korean_stem, load_synonyms

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
def test_every_pledge_is_found_first_by_an_english_and_a_korean_word(core, bot, pledge, english, korean):
    assert bot.searcher.search(english).ids[0] == pledge
    assert bot.searcher.search(korean).ids[0] == pledge


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
        ("북한", "peace-denuclearization"),  # two letters, North Korea in either language
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
def test_any_text_searches_without_error(core, bot, text):
    result = bot.searcher.search(text)
    assert len(result.ids) <= 3
    core.suggest(text)


def test_suggest_completes_a_prefix(core):
    assert "inter-korean-hotline" in [s.value for s in core.suggest("hot")]
    assert "inter-korean-hotline" in [s.value for s in core.suggest("핫라")]
    assert len(core.suggest("korea")) <= 25


def _ctx():
    from bot.replies import Context

    return Context(platform="console")


# Issue 14: answers a reporter can use.


def _search(core, text):
    return core.handle(text, _ctx())


def test_the_quote_that_matches_leads_the_card_with_its_words_marked(core):
    reply = _search(core, "stalled denuclearization")
    card = reply.cards[0]
    assert card.pledge_id == "peace-denuclearization"
    assert card.quote.startswith("The North Korean denuclearization process has long been stalled")
    assert card.more_quotes == 3
    marked = [card.quote[a:b].lower() for a, b in card.emphasis]
    assert "denuclearization" in marked and "stalled" in marked


def test_a_search_names_the_words_no_pledge_mentions(core):
    reply = _search(core, "hotline submarine")
    texts = " ".join(n.text for n in reply.notices)
    assert "No pledge mentions “submarine”; showing pledges that mention “hotline”." in texts
    assert reply.cards[0].pledge_id == "inter-korean-hotline"


def test_a_partial_match_on_generic_words_only_is_no_match(core):
    reply = _search(core, "policy xylophone")
    assert not reply.cards and reply.title == "No pledge found"


@pytest.mark.parametrize("query", ["the", "AND(", "the of and", "US the"])
def test_stop_words_alone_ask_for_a_more_specific_word(core, query):
    reply = _search(core, query)
    if query == "US the":
        # "US" written in capitals is the country, not the pronoun.
        assert reply.cards
        return
    assert not reply.cards and not reply.items
    assert "more specific word" in reply.notices[0].text


@pytest.mark.parametrize("query", ["Kim Jong Un", "kim jong un", "'; DROP TABLE pledgez; --", "Chad"])
def test_names_garbage_and_capitalised_words_are_never_corrected(core, query):
    reply = _search(core, query)
    assert not any("showing results for" in n.text for n in reply.notices)


def test_a_correction_keeps_the_first_letter_and_stays_within_its_edits(core):
    assert _search(core, "denuclearizaton").cards[0].pledge_id == "peace-denuclearization"
    # "notline" is one edit from "hotline" but does not keep its first letter.
    assert not any("hotline" in n.text for n in _search(core, "notline").notices)


@pytest.mark.parametrize("query", ["Lee Jae-myung", "lee", "Jae-myung", "이재명"])
def test_a_speaker_name_alone_lists_the_speaker_s_pledges(core, bot, query):
    reply = _search(core, query)
    assert reply.total == len(bot.catalogue.list_pledges(None, 100, 0)[0])


@pytest.mark.parametrize("query", ["DPRK", "North Korea", "북한"])
def test_names_of_north_korea_meet(core, bot, query):
    ids = set(bot.searcher.search(query, limit=50).ids)
    assert {"inter-korean-hotline", "peace-denuclearization"} <= ids


@pytest.mark.parametrize("query", ["US", "U.S.", "United States", "America", "미국"])
def test_names_of_the_united_states_meet(core, bot, query):
    ids = set(bot.searcher.search(query, limit=50).ids)
    assert {"pragmatic-diplomacy", "alliance-trust", "defense-deterrence"} <= ids


def test_the_pronoun_us_is_not_the_country(core):
    assert _search(core, "us").notices[0].text.endswith("give a more specific word.")


@pytest.mark.parametrize("query", ["martial law", "계엄"])
def test_martial_law_finds_both_pledges_in_either_language(core, bot, query):
    ids = set(bot.searcher.search(query, limit=50).ids)
    assert {"alliance-trust", "armed-forces-reform"} <= ids


def test_north_korea_lists_the_north_korea_category_first(core, bot):
    ids = bot.searcher.search("north korea", limit=6).ids
    assert {bot.catalogue.pledges([i])[i].category for i in ids} == {"North Korea"}


def test_missile_finds_the_quote_about_missiles(core):
    card = _search(core, "missile").cards[0]
    assert card.quote.startswith("North Korea’s nuclear and missile capabilities are growing daily.")


def test_the_korea_discount_alias_is_gone(core):
    assert not _search(core, "korea discount").cards or not any(
        c.pledge_id == "korea-risk" for c in _search(core, "discount").cards
    )


def test_a_near_miss_id_suggests_the_closest_ids(core):
    reply = _search(core, "show inter-korean-hotlin")
    assert "Did you mean /pledge show inter-korean-hotline?" in [n.text for n in reply.notices]


def test_paging_past_the_end_says_so(core):
    reply = _search(core, "north korea page 9")
    assert reply.notices[0].text == "There is no page 9 of results for “north korea”."


def test_the_synonym_table_is_groups_of_distinct_names():
    groups = load_synonyms()
    assert ["martial law", "계엄", "계엄령"] in groups
    entries = [e.lower() for g in groups for e in g]
    assert len(entries) == len(set(entries))


def test_best_quote_picks_the_quote_with_most_query_words_and_marks_them():
    index, spans = best_quote(["No words here.", "Hotlines and missiles, missiles."], ["hotline", "missile"])
    assert index == 1
    assert [("Hotlines and missiles, missiles."[a:b]) for a, b in spans] == [
        "Hotlines",
        "missiles",
        "missiles",
    ]


def test_ranking_is_bounded_and_a_larger_total_is_shown_with_a_plus(core, bot, monkeypatch):
    monkeypatch.setattr("bot.search.CANDIDATES", 2)
    result = bot.searcher.search("korea", limit=3)
    assert result.total == 3 and len(result.ids) == 2
    reply = _search(core, "korea")
    assert reply.title == "2+ pledges found"
    assert not [a for a in reply.actions if a.label == "More results"]


def test_the_query_mix_is_seeded_and_frequency_weighted():
    from bench.query_mix import query_mix

    titles = ["Restore the hotline", "Hotline for farmers", "Farmers first", "Hotline again"]
    korean = ["핫라인 복원", "농민 우선"]
    mix = query_mix(titles, korean, 400, seed=1)
    assert mix == query_mix(titles, korean, 400, seed=1)
    assert mix.count("hotline") > mix.count("restore")
    assert not any(q == "the" for q in mix)


def test_a_synonym_phrase_no_pledge_has_says_which_of_its_words_matched(core):
    reply = _search(core, "wartime operational control")
    texts = [n.text for n in reply.notices]
    assert "No pledge mentions “wartime operational”; showing pledges that mention “control”." in texts
    assert reply.cards[0].pledge_id == "armed-forces-reform"


def test_the_next_page_keeps_the_case_that_makes_us_the_country(core):
    reply = _search(core, "US")
    more = [a.command for a in reply.actions if a.label == "More results"]
    assert more == ["US page 2"]
    assert _search(core, more[0]).cards


# Korean as readers type it: compounds with or without their spaces, whole questions.
@pytest.mark.parametrize(
    "query",
    [
        "남북통신선",  # indexed as 남북 통신선
        "군통신선",  # indexed as 군 통신선 (a one-syllable word before the space)
        "핫라인에 대한 정책은?",
        "남북 통신선이 궁금해요",
        "핫라인을",
        "남북통신선에 대해 알려주세요",
        "핫라인을 복원하는 공약은?",
    ],
)
def test_korean_compounds_and_questions_find_the_pledge(core, bot, query):
    assert bot.searcher.search(query).ids[0] == "inter-korean-hotline"
    reply = _search(core, query)
    assert reply.cards[0].pledge_id == "inter-korean-hotline"
    assert not reply.notices


def test_a_korean_compound_is_found_with_or_without_its_space(bot, tmp_path):
    path = tmp_path / "judiciary.json"
    pledge = {"id": "judicial-reform", "speaker": "lee-jae-myung", "title": "Judicial reform"}
    pledge |= {"title_ko": "사법 개혁", "category": "Justice", "category_ko": "사법"}
    path.write_text(json.dumps({"pledges": [pledge]}, ensure_ascii=False), encoding="utf-8")
    bot.importer.import_files([path], author="test")
    for query in ("사법개혁", "사법 개혁", "사법개혁을", "사법개혁에 대한 공약은?"):
        assert bot.searcher.search(query).ids == ["judicial-reform"], query


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("사법개혁을", "사법개혁"),
        ("통신선이", "통신선"),
        ("일본과의", "일본"),
        ("핫라인에서는", "핫라인"),
        ("국가", "국가"),  # one syllable would be left: not a particle
        ("회의", "회의"),
        ("복원하는", "복원"),
        ("실용외교란", "실용외교"),
        ("hotline", "hotline"),
    ],
)
def test_korean_stem_cuts_particles_but_keeps_two_syllables(word, stem):
    assert korean_stem(word) == stem


def test_a_korean_question_of_question_words_alone_asks_for_a_better_word(core):
    reply = _search(core, "무엇이 궁금해요?")
    assert reply.title == "No pledge found" and not reply.cards
    assert "give a more specific word" in reply.notices[0].text


def test_a_catalogue_indexed_before_the_joins_column_is_rebuilt(settings, clock):
    from sqlite_utils import Database

    from bot.cli import open_bot

    open_bot(settings, clock=clock).close()
    # As a release before m003 left it: no joins column, the index over five columns, its data current.
    db = Database(settings.db_path)
    db["pledge_index"].disable_fts()
    db.execute("ALTER TABLE pledge_index DROP COLUMN joins")
    db["pledge_index"].enable_fts(
        ["title", "aliases", "summary", "quotes", "grams"],
        tokenize="porter unicode61 remove_diacritics 2",
        create_triggers=True,
    )
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm004_hangul_joins'")
    db.conn.commit()
    db.close()
    bot = open_bot(settings, clock=clock)
    try:
        assert bot.searcher.search("남북통신선").ids == ["inter-korean-hotline"]
        assert bot.searcher.search("hotline").ids == ["inter-korean-hotline"]
    finally:
        bot.close()


def test_best_quotes_finds_each_pledge_s_quote_in_one_pass():
    groups = [["No words here.", "Missiles again."], [], ["A hotline.", "Hotlines and missiles."]]
    assert best_quotes(groups, ["hotline", "missile"]) == [(1, ((0, 8),)), (0, ()), (1, ((0, 8), (13, 21)))]
    # The index is emptied after each page: the next page sees only its own quotes.
    assert best_quotes([["Missiles."]], ["hotline"]) == [(0, ())]


def test_an_exact_hit_older_than_the_ranked_candidates_still_leads(core, bot, monkeypatch):
    monkeypatch.setattr("bot.search.CANDIDATES", 1)
    # "alliance" is an alias of alliance-trust; the one candidate scored is a more recent pledge.
    result = bot.searcher.search("alliance")
    assert result.total == 2 and result.ids[0] == "alliance-trust"
    assert set(bot.searcher.search("martial law").ids) == {"alliance-trust", "armed-forces-reform"}


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("inter-korean-hotlin", "inter-korean-hotline"),  # the end mistyped
        ("nter-korean-hotline", "inter-korean-hotline"),  # the beginning mistyped
        ("hotline", "inter-korean-hotline"),  # a word of the id
    ],
)
def test_near_miss_ids_are_found_through_indexes_not_a_scan(bot, typed, expected):
    statements: list[str] = []
    conn = bot.store.db.conn
    conn.set_trace_callback(statements.append)
    try:
        assert bot.catalogue.closest_ids(typed)[0] == expected
    finally:
        conn.set_trace_callback(None)
    # FTS5's own statements, traced as comments ("-- SELECT pgno ..."), are its index reads.
    statements = [sql for sql in statements if not sql.startswith("--")]
    assert statements
    for sql in statements:
        plan = " | ".join(row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + sql))
        assert "SCAN pledges" not in plan and "SCAN pledge_index " not in plan + " ", plan


# Issue 23: questions as reporters type them.


@pytest.mark.parametrize(
    "query",
    [
        "what did Lee say about the hotline?",
        "What has Lee promised about hotlines",
        "did he mention the hotline",
    ],
)
def test_an_english_question_s_own_words_are_left_out(core, query):
    reply = _search(core, query)
    notices = " ".join(n.text for n in reply.notices)
    assert reply.cards and reply.cards[0].pledge_id == "inter-korean-hotline", (reply.title, notices)
    assert "No pledge mentions" not in notices, notices


def test_question_words_are_left_out_only_beside_other_words():
    from bot.search import _english_question

    assert _english_question(["did", "Lee", "say", "about", "hotline"]) == ["Lee", "hotline"]
    # Nothing else is asked about: the words are the query.
    assert _english_question(["what", "did", "he", "say"]) == ["what", "did", "he", "say"]


def test_an_answer_is_given_again_from_memory_until_the_catalogue_changes(bot, tmp_path):
    assert bot.searcher.search("judiciary").ids == []
    statements: list[str] = []
    bot.store.db.conn.set_trace_callback(statements.append)
    again = bot.searcher.search("judiciary")
    bot.store.db.conn.set_trace_callback(None)
    assert again.ids == [] and not [s for s in statements if "MATCH" in s]
    # A caller changing its answer changes no other.
    again.ids.append("invented")
    assert bot.searcher.search("judiciary").ids == []
    # The long candidate lists scoping asks for are worked out each time, not kept.
    bot.searcher.search("hotline", limit=CANDIDATES)
    statements.clear()
    bot.store.db.conn.set_trace_callback(statements.append)
    bot.searcher.search("hotline", limit=CANDIDATES)
    bot.store.db.conn.set_trace_callback(None)
    assert [s for s in statements if "MATCH" in s]

    path = tmp_path / "judiciary.json"
    pledge = {"id": "judicial-reform", "speaker": "lee-jae-myung", "title": "Judiciary reform"}
    path.write_text(json.dumps({"pledges": [pledge | {"category": "Justice"}]}), encoding="utf-8")
    bot.importer.import_files([path], author="test")
    assert bot.searcher.search("judiciary").ids == ["judicial-reform"]
    bot.importer.retract("judicial-reform", author="test", reason="a test")
    assert bot.searcher.search("judiciary").ids == []
