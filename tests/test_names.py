"""Names of countries and institutions as data: CLDR's names in both languages and the curated table, each
form finding the same pledges as its canonical name, abbreviations understood only as written."""

from __future__ import annotations

import json

import pytest

from bot.names import load_table, name_groups, territory_names

CURATED = [(str(entry["forms"][0]), str(form)) for entry in load_table() for form in entry["forms"]]


def test_cldr_gives_country_names_in_english_and_korean():
    names = territory_names()
    assert names["US"] == ["United States", "미국"]
    assert names["KP"] == ["North Korea", "북한"]
    assert names["HK"][1] == "홍콩"  # CLDR's qualifier in parentheses left out
    assert "ZZ" not in names and "001" not in names


def test_every_curated_entry_has_forms_and_a_reason():
    for entry in load_table():
        assert len(entry["forms"]) >= 2 or entry.get("code"), entry
        assert len(entry["reason"]) > 20, entry


def test_each_form_is_in_one_group_only():
    forms = [f.lower() for group in name_groups() for f in group]
    assert len(forms) == len(set(forms))
    us = next(g for g in name_groups() if "US" in g)
    assert {"United States", "미국", "USA", "American", "Washington", "워싱턴"} <= set(us)


def _ids(bot, query):
    return set(bot.searcher.search(query, limit=100).ids)


@pytest.fixture
def institutions(bot, tmp_path):
    """Pledges naming institutions the seed data does not, each by one of its forms."""
    titles = {
        "nato-partnership": ("Deepen ties with the North Atlantic Treaty Organization", "나토와 협력"),
        "nations-sanctions": ("Work through the United Nations on sanctions", "유엔 제재 공조"),
        "eu-trade": ("Widen trade with the EU", "유럽연합과 교역 확대"),
        "thaad-talks": ("Settle the THAAD deployment through talks", "사드 배치의 외교적 해결"),
        "iaea-inspections": ("Welcome International Atomic Energy Agency inspections", "사찰 수용"),
        "g7-summit": ("Attend the G7 summit", "정상회의 참석"),
        "asean-ties": ("Widen ties with ASEAN", "아세안 협력"),
        "usfk-costs": ("Share the costs of United States Forces Korea fairly", "주한미군 분담금"),
        "opcon-transfer": ("Take back wartime operational control", "전작권 환수"),
        "uk-ties": ("A trade agreement with the United Kingdom", "영국과 무역협정"),
    }
    pledges = [
        {"id": pid, "speaker": "lee-jae-myung", "title": en, "title_ko": ko, "category": "Diplomacy"}
        for pid, (en, ko) in titles.items()
    ]
    path = tmp_path / "institutions.json"
    path.write_text(json.dumps({"pledges": pledges}, ensure_ascii=False), encoding="utf-8")
    bot.importer.import_files([path], author="test")
    return titles


@pytest.mark.parametrize(("canonical", "form"), CURATED)
def test_each_curated_form_finds_what_its_canonical_name_finds(bot, institutions, canonical, form):
    wanted = _ids(bot, canonical)
    assert wanted, canonical
    assert _ids(bot, form) == wanted


@pytest.mark.parametrize(
    ("query", "pledge"),
    [
        ("USA alliance", "alliance-trust"),
        ("American alliance", "alliance-trust"),
        ("NK nuclear", "peace-denuclearization"),
        ("N.K. nuclear", "peace-denuclearization"),
        ("N. Korea human rights", "humanitarian-human-rights"),
        ("DPRK human rights", "humanitarian-human-rights"),
        ("북조선 인권", "humanitarian-human-rights"),
        ("Pyongyang dialogue", "inter-korean-dialogue"),
        ("평양 대화", "inter-korean-dialogue"),
        ("Washington", "alliance-trust"),
        ("Kiev reconstruction", "russia-ukraine"),
        ("키이우 재건", "russia-ukraine"),
        ("Moscow", "russia-ukraine"),
        ("베이징", "china-relations"),
        ("도쿄", "japan-relations"),
        ("Chinese relations", "china-relations"),
        ("Japanese relations", "japan-relations"),
    ],
)
def test_reporters_names_find_the_pledge(bot, query, pledge):
    assert bot.searcher.search(query).ids[0] == pledge


def test_institutions_are_found_by_each_name(bot, institutions):
    for query, pledge in [
        ("NATO", "nato-partnership"),
        ("나토", "nato-partnership"),
        ("UN sanctions", "nations-sanctions"),
        ("유엔", "nations-sanctions"),
        ("European Union", "eu-trade"),
        ("사드", "thaad-talks"),
        ("IAEA", "iaea-inspections"),
        ("주한미군", "usfk-costs"),
        ("OPCON", "opcon-transfer"),
    ]:
        assert bot.searcher.search(query).ids[0] == pledge, query


def test_abbreviations_are_understood_only_as_written(bot, institutions):
    # "UN" is the United Nations; "un" is a word (the Un of Kim Jong Un), searched for as itself.
    assert "nations-sanctions" not in _ids(bot, "un")
    assert "nations-sanctions" in _ids(bot, "UN")
    # The United Nations is not found through the token "un" of an unrelated text.
    assert bot.searcher.search("United Nations").ids == ["nations-sanctions"]
    assert not bot.searcher.search("us").ids and bot.searcher.search("US").ids


def test_a_known_name_is_never_corrected(bot):
    # Chad is a country (CLDR): not "corrected" to a word of the catalogue.
    assert bot.searcher.search("Chad").corrected is None


@pytest.mark.parametrize(("typed", "fixed"), [("Rusia", "russia"), ("Jappan", "japan")])
def test_a_capitalised_typo_that_is_no_known_name_is_corrected(bot, typed, fixed):
    assert bot.searcher.search(typed).corrected == fixed


def test_a_data_folder_without_search_tables_uses_the_shipped_ones(tmp_path):
    """A newsroom's own PLEDGEBOT_DATA with datasets only still knows 나토 and 워싱턴; one with its own
    table uses that."""
    import shutil

    from bot.cli import open_bot
    from bot.config import DEFAULT_DATA_DIR, Settings

    data = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, data, ignore=shutil.ignore_patterns("search"))
    bot = open_bot(Settings(db_path=tmp_path / "shipped.db", data_dir=data))
    try:
        assert '"nato"' in bot.searcher.search("나토").expression
        assert "inter-korean-hotline" in bot.searcher.search("Pyongyang hotline").ids
    finally:
        bot.close()
    (data / "search").mkdir()
    (data / "search" / "names.yaml").write_text(
        "names:\n  - forms: [Hotline, 직통선]\n    reason: this newsroom's own word for the hotline\n",
        encoding="utf-8",
    )
    own = open_bot(Settings(db_path=tmp_path / "own.db", data_dir=data))
    try:
        assert '"nato"' not in own.searcher.search("나토").expression
        assert own.searcher.search("직통선").ids[0] == "inter-korean-hotline"
    finally:
        own.close()
