"""The seed dataset's fidelity to its source, and the loader's all-or-nothing validation."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml

from bot import dataset as ds
from bot.cli import Bot, open_bot
from bot.config import DEFAULT_DATA_DIR, Settings
from tests.conftest import ARTICLE

SEED = DEFAULT_DATA_DIR / "lee-jae-myung-2025-05-26.yaml"
ARTICLE_TEXT = ARTICLE.read_text(encoding="utf-8")
SEED_QUOTES = [
    q["text"] for p in yaml.safe_load(SEED.read_text(encoding="utf-8"))["pledges"] for q in p["quotes"]
]


def test_article_is_a_verbatim_copy_of_the_shared_source():
    shared = Path(__file__).resolve().parents[2] / "shared" / "sources" / ARTICLE.name
    if not shared.exists():
        pytest.skip("../shared is not beside this checkout")
    assert ARTICLE.read_bytes() == shared.read_bytes()


@pytest.mark.parametrize("quote", SEED_QUOTES, ids=[q[:40] for q in SEED_QUOTES])
def test_every_seed_quote_is_verbatim_in_the_article(quote):
    assert quote in ARTICLE_TEXT


def test_seed_covers_every_pledge_in_the_article():
    data = ds.load(ds.data_files(DEFAULT_DATA_DIR))
    ids = {p["id"] for p in data.rows("pledges")}
    assert ids == {
        "inter-korean-hotline",
        "pragmatic-diplomacy",
        "alliance-trust",
        "korea-us-japan-cooperation",
        "japan-relations",
        "china-relations",
        "russia-ukraine",
        "peace-denuclearization",
        "korea-risk",
        "inter-korean-dialogue",
        "humanitarian-human-rights",
        "reunification-social-dialogue",
        "defense-deterrence",
        "armed-forces-reform",
    }
    for pledge in data.rows("pledges"):
        assert pledge["aliases"] and pledge["aliases_ko"], pledge["id"]
    kinds = {m["kind"]: m["date"].isoformat() for m in data.rows("milestones")}
    assert kinds == {"election": "2025-06-03", "inauguration": "2025-06-04"}
    assert all(m.get("source") for m in data.rows("milestones"))


def test_a_quote_that_is_not_verbatim_is_refused(tmp_path):
    folder = tmp_path / "data"
    (folder / "sources").mkdir(parents=True)
    (folder / "sources" / ARTICLE.name).write_text(ARTICLE_TEXT, encoding="utf-8")
    # Straight apostrophe where the article has a curly one: not the speaker's exact words as published.
    text = SEED.read_text(encoding="utf-8").replace("Ukraine’s reconstruction", "Ukraine's reconstruction")
    (folder / SEED.name).write_text(text, encoding="utf-8")
    with pytest.raises(ds.DatasetError) as error:
        ds.load(ds.data_files(folder))
    [problem] = error.value.problems
    assert problem.field == "text" and "verbatim" in problem.message
    line = int(problem.where.rsplit(":", 1)[1])
    assert "Ukraine's reconstruction" in text.splitlines()[line - 1]


BAD_YAML = textwrap.dedent(
    """\
    speakers:
      - id: kim
        name: Kim
    sources:
      - id: src
        kind: speech
        outlet: Outlet
        headline: Headline
        published_at: 2025-01-01
    pledges:
      - id: good-one
        speaker: kim
        title: Good
        category: Economy
      - id: bad-one
        speaker: kim
        title: Bad
        category: Economy
        pledged_on: 2025-02-30
    """
)


def _counts(bot: Bot) -> dict[str, int]:
    db = bot.store.db
    return {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in (*ds.TABLES, "pledge_index")}


def test_import_with_one_bad_row_changes_nothing_and_names_it(bot, tmp_path):
    before, head = _counts(bot), bot.journal.head()
    path = tmp_path / "new.yaml"
    path.write_text(BAD_YAML, encoding="utf-8")
    with pytest.raises(ds.DatasetError) as error:
        bot.importer.import_files([path], author="test")
    [problem] = error.value.problems
    assert problem.where == f"{path}:15"
    assert problem.field == "pledged_on"
    assert "2025-02-30" in problem.message
    assert _counts(bot) == before and bot.journal.head() == head


def test_csv_import_names_the_spreadsheet_row(bot, tmp_path):
    path = tmp_path / "pledges.csv"
    path.write_text(
        "id,speaker,title,category,aliases\n"
        "new-one,lee-jae-myung,A new pledge,Economy,jobs;work\n"
        "new-two,nobody,Another,Economy,\n",
        encoding="utf-8",
    )
    before, head = _counts(bot), bot.journal.head()
    with pytest.raises(ds.DatasetError) as error:
        bot.importer.import_files([path], author="test")
    assert [str(p) for p in error.value.problems] == [
        f"{path} row 3: field 'speaker': 'nobody' does not match any speaker id"
    ]
    assert _counts(bot) == before and bot.journal.head() == head


def test_import_adds_records_that_search_finds(bot, tmp_path):
    path = tmp_path / "more.json"
    path.write_text(
        json.dumps(
            {
                "pledges": [
                    {
                        "id": "basic-income",
                        "speaker": "lee-jae-myung",
                        "title": "Universal basic income",
                        "category": "Economy",
                        "aliases_ko": ["기본소득"],
                        "pledged_on": "2025-05-01",
                    }
                ],
                "quotes": [
                    {
                        "pledge": "basic-income",
                        "text": "I will work to restore inter-Korean communication channels",
                        "source": "joongang-2025-05-26-hotline",
                        "said_on": "2025-05-26",
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    assert bot.importer.import_files([path], author="test").added == 2
    assert bot.searcher.search("기본소득").ids == ["basic-income"]
    # Importing the same file again finds its records already there, instead of adding copies.
    before, head = _counts(bot), bot.journal.head()
    again = bot.importer.import_files([path], author="test")
    assert (again.edit, again.added, again.present) == (None, 0, 2)
    assert _counts(bot) == before and bot.journal.head() == head


def test_import_rejects_a_quote_missing_from_a_source_held_in_the_database(bot, tmp_path):
    path = tmp_path / "quotes.csv"
    path.write_text(
        "pledge,text,source,said_on\n"
        "inter-korean-hotline,I never said this,joongang-2025-05-26-hotline,2025-05-26\n",
        encoding="utf-8",
    )
    with pytest.raises(ds.DatasetError, match="row 2: field 'text': quote is not found verbatim"):
        bot.importer.import_files([path], author="test")


def test_duplicate_ids_and_unknown_fields_are_reported(tmp_path):
    path = tmp_path / "dupes.yaml"
    path.write_text(
        "speakers:\n  - id: a\n    name: A\n  - id: a\n    name: B\n    nickname: x\n", encoding="utf-8"
    )
    with pytest.raises(ds.DatasetError) as error:
        ds.load([path])
    messages = [str(p) for p in error.value.problems]
    assert f"{path}:4: field 'nickname': unknown field for speakers" in messages
    assert any("duplicate id 'a'" in m for m in messages)


def test_export_round_trips_through_import(bot, tmp_path):
    exported = bot.exporter.export()
    # The seed file's `title_ko_by: editors` travels with each pledge.
    assert {p.get("title_ko_by") for p in exported["pledges"]} == {"editors"}
    path = tmp_path / "export.json"
    path.write_text(json.dumps(exported, ensure_ascii=False), encoding="utf-8")
    # A fresh database over an empty data folder: the import alone fills it.
    empty = tmp_path / "empty"
    empty.mkdir()
    fresh = open_bot(Settings(db_path=tmp_path / "fresh.db", data_dir=empty))
    try:
        assert fresh.catalogue.pledges(["inter-korean-hotline"]) == {}
        fresh.importer.import_files([path], author="test")
        assert fresh.exporter.export() == exported
        assert fresh.searcher.search("hotline").ids == ["inter-korean-hotline"]
    finally:
        fresh.close()


def test_unchanged_data_is_not_reloaded(bot):
    assert bot.loader.refresh() is False


def test_a_dataset_level_title_ko_by_applies_to_its_pledges_unless_one_says_otherwise(tmp_path):
    path = tmp_path / "more.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            title_ko_by: editors
            speakers:
              - {id: kim, name: Kim}
            pledges:
              - {id: one, speaker: kim, title: One, title_ko: 하나, category: Economy}
              - {id: two, speaker: kim, title: Two, title_ko: 둘, category: Economy, title_ko_by: source}
            """
        ),
        encoding="utf-8",
    )
    pledges = {p["id"]: p["title_ko_by"] for p in ds.load([path]).rows("pledges")}
    assert pledges == {"one": "editors", "two": "source"}
    path.write_text(path.read_text(encoding="utf-8").replace("editors", "a reader"), encoding="utf-8")
    with pytest.raises(ds.DatasetError) as error:
        ds.load([path])
    assert [p.message for p in error.value.problems] == ["'a reader' is not one of: editors, source"]


def test_the_seed_s_korean_titles_are_marked_as_the_editors_translations(bot):
    rows = bot.catalogue.pledges(["inter-korean-hotline", "alliance-trust"])
    assert {r.title_ko_by for r in rows.values()} == {"editors"}
