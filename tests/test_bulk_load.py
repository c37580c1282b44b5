"""The one-pass load of a data folder into an empty catalogue (`Loader._load_fresh`) against the exact path
(`ds.load` then `Loader._write`): the same rows, the same search results, the same problems."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from bench import generate
from bot import dataset as ds
from bot.backends import SQLiteBackend
from bot.database import Store
from bot.journal import Journal
from bot.loading import DATA_ORIGIN, Loader

TABLES = (*ds.TABLES, "search_terms", "pledge_aliases")
QUERIES = ("housing", "solar power", "청년 일자리", "일자리", "recyclng", "public housing for families", "병")


def _loader(store: Store, folder: Path) -> Loader:
    """A loader of `folder` into `store`, with the journal in the same file."""
    return Loader(
        store, Journal(SQLiteBackend(store)), folder, lambda: dt.datetime(2026, 5, 20, 3, 0, tzinfo=dt.UTC)
    )


def _exact(folder: Path, db_path: Path) -> Store:
    store = Store(db_path)
    data = ds.load(ds.data_files(folder))
    _loader(store, folder)._write(data.records, data.source_texts, lambda r: DATA_ORIGIN + r.file, clear=True)
    return store


def _bulk(folder: Path, db_path: Path) -> Store:
    store = Store(db_path)
    assert _loader(store, folder)._load_fresh(ds.data_files(folder)) is not None
    return store


def _rows(store: Store) -> dict[str, list[tuple]]:
    db = store.db
    out = {t: db.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in TABLES[:-2]}
    out["search_terms"] = db.execute("SELECT * FROM search_terms ORDER BY rowid").fetchall()
    out["pledge_aliases"] = db.execute("SELECT * FROM pledge_aliases ORDER BY alias, pledge_id").fetchall()
    out["pledge_index"] = db.execute("SELECT * FROM pledge_index ORDER BY pledge_id").fetchall()
    return out


def _search(store: Store) -> list[list[int]]:
    db = store.db
    return [
        [
            r[0]
            for r in db.execute(
                "SELECT p.pledge_id FROM pledge_index_fts f JOIN pledge_index p ON "
                "p.rowid = f.rowid WHERE pledge_index_fts MATCH ? ORDER BY rank",
                [q],
            )
        ]
        for q in ('"housing"', '"solar" AND "power"', '"청년" AND ("일자" AND "자리")', '"hou"*', '"병"*')
    ]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen")
    generate.generate(out, 400, 0)
    return out


def test_bulk_load_writes_the_rows_and_index_of_the_exact_path(folder, tmp_path):
    exact, bulk = _exact(folder, tmp_path / "exact.db"), _bulk(folder, tmp_path / "bulk.db")
    assert _rows(bulk) == _rows(exact)
    assert _search(bulk) == _search(exact)
    assert bulk.db.execute("SELECT COUNT(*) FROM pledge_index_fts").fetchone() == (400,)
    # The triggers are back, so a later import indexes its rows.
    triggers = "SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
    assert bulk.db.execute(triggers).fetchall() == exact.db.execute(triggers).fetchall()
    # So are the indexes the load dropped while it wrote (and the unique ones it kept).
    indexes = "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"
    assert bulk.db.execute(indexes).fetchall() == exact.db.execute(indexes).fetchall()
    assert ("statuses_latest",) in bulk.db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")


@pytest.mark.parametrize("keys", [("pledges", "quotes", "statuses"), ("statuses", "quotes", "pledges")])
def test_duplicate_quotes_and_json_out_of_table_order_load_as_before(folder, tmp_path, keys):
    data = tmp_path / "data"
    shutil.copytree(folder, data)
    pledges = json.loads((data / "pledges.json").read_text())
    # A quote repeated (the same content id: an IntegrityError in the bulk path), and keys out of `TABLES`
    # order: both left to the exact path.
    pledges["quotes"].append(dict(pledges["quotes"][0]))
    (data / "pledges.json").write_text(json.dumps({k: pledges[k] for k in keys}))
    store = Store(tmp_path / "bulk.db")
    assert _loader(store, data).refresh() is True
    assert _rows(store) == _rows(_exact(data, tmp_path / "exact.db"))


def _deadline(pledge: dict, **due) -> None:
    """Give a pledge made in 2020 this deadline (and no other)."""
    pledge.pop("due", None)
    pledge.pop("due_on", None)
    pledge.update(pledged_on="2020-01-01", **due)


@pytest.mark.parametrize(
    "edit",
    [
        # The last quote, so the bulk path has written everything else before it finds the problem.
        lambda d: d["quotes"][-1].update(text="Words nobody said."),
        lambda d: d["quotes"][-1].update(pledge="no-such-pledge"),
        lambda d: d["statuses"][-1].update(date="2025-02-30"),
        lambda d: d["pledges"].append(dict(d["pledges"][0])),
        # Deadlines: a date before the pledge; a rule after a milestone read earlier (another pledge's
        # `pledged-<id>`) that falls before the pledge; a rule after no milestone (checked at the end).
        lambda d: _deadline(d["pledges"][-1], due_on="2016-01-01"),
        lambda d: _deadline(d["pledges"][-1], due={"after": f"pledged-{d['pledges'][0]['id']}", "days": 1}),
        lambda d: _deadline(d["pledges"][-1], due={"after": "no-such-milestone", "days": 1}),
    ],
)
def test_a_bad_row_late_in_a_large_file_leaves_the_catalogue_as_it_was(folder, tmp_path, edit):
    data = tmp_path / "data"
    shutil.copytree(folder, data)
    store = Store(tmp_path / "bulk.db")
    loader = _loader(store, data)
    loader.refresh()
    before = _rows(store)
    pledges = json.loads((data / "pledges.json").read_text())
    edit(pledges)
    (data / "pledges.json").write_text(json.dumps(pledges, ensure_ascii=False))
    with pytest.raises(ds.DatasetError) as bulk_error:
        loader.refresh()
    with pytest.raises(ds.DatasetError) as exact_error:
        ds.load(ds.data_files(data))
    assert str(bulk_error.value) == str(exact_error.value)
    assert _rows(store) == before


def test_invalid_json_is_named_by_line(folder, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(folder, data)
    text = (data / "milestones.json").read_text()
    (data / "milestones.json").write_text(text[:-200] + "\n\n}")
    with pytest.raises(ds.DatasetError) as error:
        store = Store(tmp_path / "x.db")
        _loader(store, data).refresh()
    assert str(error.value).endswith(f"{data / 'milestones.json'}:1: not valid JSON")
    assert sqlite3.connect(tmp_path / "x.db").execute("SELECT COUNT(*) FROM pledges").fetchone() == (0,)
