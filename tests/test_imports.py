"""Imports: date checks against cited records, `validate` agreeing with `import`, and CSV round trips.

Each test runs on both state backends (`state_settings`): the catalogue the checks resolve against is
built from the data folder and the journal either way.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot import cli
from bot import dataset as ds
from bot.cli import open_bot
from bot.config import Settings


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _late_quote_in_file(tmp_path: Path) -> Path:
    return _write(
        tmp_path / "late.yaml",
        "sources:\n"
        "  - id: x\n"
        "    kind: speech\n"
        "    outlet: Somewhere\n"
        "    headline: A speech\n"
        "    published_at: 2025-05-26T11:09:00+09:00\n"
        "quotes:\n"
        "  - pledge: inter-korean-hotline\n"
        "    text: Hello.\n"
        "    source: x\n"
        "    said_on: 2027-01-01\n",
    )


def _late_quote_citing_catalogue(tmp_path: Path) -> Path:
    return _write(
        tmp_path / "late-catalogue.yaml",
        "quotes:\n"
        "  - pledge: inter-korean-hotline\n"
        "    text: Hello.\n"
        "    source: lee-facebook-2025-05-26\n"
        "    said_on: 2027-01-01\n",
    )


def _early_status_citing_catalogue(tmp_path: Path) -> Path:
    return _write(
        tmp_path / "early-status.yaml",
        "statuses:\n  - pledge: inter-korean-hotline\n    status: kept\n    date: 2024-12-31\n",
    )


def _early_status_nested(tmp_path: Path) -> Path:
    return _write(
        tmp_path / "early-nested.yaml",
        "pledges:\n"
        "  - id: new-pledge\n"
        "    speaker: lee-jae-myung\n"
        "    title: A new pledge\n"
        "    category: Other\n"
        "    pledged_on: 2026-03-01\n"
        "    status:\n"
        "      - status: kept\n"
        "        date: 2026-02-01\n",
    )


def test_a_quote_said_after_its_source_was_published_is_refused_with_file_line_and_field(
    state_settings, tmp_path, clock
):
    bot = open_bot(state_settings, clock=clock)
    try:
        path = _late_quote_in_file(tmp_path)
        with pytest.raises(ds.DatasetError) as raised:
            bot.importer.import_files([path], author="test")
        assert [str(p) for p in raised.value.problems] == [
            f"{path}:8: field 'said_on': said_on 2027-01-01 is after its source 'x' was published on "
            "2025-05-26"
        ]
        # A source already in the catalogue is checked the same way.
        path = _late_quote_citing_catalogue(tmp_path)
        with pytest.raises(ds.DatasetError) as raised:
            bot.importer.import_files([path], author="test")
        assert [str(p) for p in raised.value.problems] == [
            f"{path}:2: field 'said_on': said_on 2027-01-01 is after its source 'lee-facebook-2025-05-26' "
            "was published on 2025-05-26"
        ]
        assert bot.journal.head() == 1  # only the data folder's load: nothing was appended
    finally:
        bot.close()


def test_a_status_dated_before_its_pledge_is_refused_in_the_file_or_against_the_catalogue(
    state_settings, tmp_path, clock
):
    bot = open_bot(state_settings, clock=clock)
    try:
        path = _early_status_citing_catalogue(tmp_path)
        with pytest.raises(ds.DatasetError) as raised:
            bot.importer.import_files([path], author="test")
        assert [str(p) for p in raised.value.problems] == [
            f"{path}:2: field 'date': date 2024-12-31 is before its pledge 'inter-korean-hotline' was "
            "pledged on 2025-05-26"
        ]
        path = _early_status_nested(tmp_path)
        with pytest.raises(
            ds.DatasetError, match="date 2026-02-01 is before its pledge 'new-pledge'"
        ) as raised:
            bot.importer.import_files([path], author="test")
        assert raised.value.problems[0].where == f"{path}:8"
    finally:
        bot.close()


def test_the_data_folder_load_applies_the_date_checks_too(tmp_path, clock):
    data = tmp_path / "data"
    data.mkdir()
    bad = _late_quote_citing_catalogue(data)
    original = Path(__file__).parent.parent / "data" / "lee-jae-myung-2025-05-26.yaml"
    (data / original.name).write_text(original.read_text(encoding="utf-8"), encoding="utf-8")
    (data / "sources").symlink_to(original.parent / "sources")
    with pytest.raises(ds.DatasetError, match="said_on 2027-01-01 is after its source") as raised:
        open_bot(Settings(db_path=tmp_path / "p.db", data_dir=data), clock=clock)
    assert raised.value.problems[0].where == f"{bad}:2"


def _run(monkeypatch, settings: Settings, *argv: str) -> int:
    monkeypatch.setattr(cli, "load_settings", lambda: settings)
    return cli.main(list(argv))


def test_validate_accepts_exactly_the_files_import_accepts(state_settings, tmp_path, monkeypatch, capsys):
    changed = _write(
        tmp_path / "changed.yaml",
        "pledges:\n"
        "  - id: inter-korean-hotline\n"
        "    speaker: lee-jae-myung\n"
        "    title: Something else\n"
        "    category: North Korea\n",
    )
    cites_catalogue = _write(
        tmp_path / "cites.yaml",
        "statuses:\n"
        "  - pledge: inter-korean-hotline\n"
        "    status: in the works\n"
        "    date: 2025-07-01\n"
        "    source: inauguration-2025-06-04\n",
    )
    unknown = _write(
        tmp_path / "unknown.yaml",
        "statuses:\n  - pledge: no-such-pledge\n    status: kept\n    date: 2025-07-01\n",
    )
    cases = [
        ([_late_quote_in_file(tmp_path)], [], 1),
        ([_late_quote_citing_catalogue(tmp_path)], [], 1),
        ([_early_status_citing_catalogue(tmp_path)], [], 1),
        ([_early_status_nested(tmp_path)], [], 1),
        ([unknown], [], 1),
        ([changed], [], 1),  # already in the catalogue with other values
        ([cites_catalogue], [], 0),  # a pledge and source only the catalogue holds
        ([changed], ["--replace"], 0),
    ]
    for paths, flags, expected in cases:
        files = [str(p) for p in paths]
        validated = _run(monkeypatch, state_settings, "validate", *flags, *files)
        validate_err = capsys.readouterr().err
        imported = _run(monkeypatch, state_settings, "import", *flags, *files)
        import_err = capsys.readouterr().err
        assert (validated, imported) == (expected, expected), (files, flags, validate_err, import_err)
        if expected:
            # The same problems, word for word.
            problems = [line for line in validate_err.splitlines() if line.startswith("  ")]
            assert problems and problems == [
                line for line in import_err.splitlines() if line.startswith("  ")
            ]
    # Once imported, the files are present: validate and import both accept them again.
    assert _run(monkeypatch, state_settings, "validate", str(changed)) == 0
    assert _run(monkeypatch, state_settings, "import", str(changed)) == 0


def test_csv_export_keeps_source_texts_so_the_verbatim_check_survives_a_round_trip(
    state_settings, tmp_path, monkeypatch, clock, capsys
):
    folder = tmp_path / "csv"
    assert _run(monkeypatch, state_settings, "export", "--format", "csv", "--output", str(folder)) == 0
    # Each file opens with a byte order mark, for Excel; the import skips it.
    assert all(path.read_bytes().startswith(b"\xef\xbb\xbf") for path in folder.glob("*.csv"))
    with (folder / "sources.csv").open(encoding="utf-8-sig", newline="") as handle:
        import csv

        sources = {row["id"]: row for row in csv.DictReader(handle)}
    assert "restore inter-Korean communication channels" in sources["joongang-2025-05-26-hotline"]["text"]
    assert (
        "text_file" not in sources["joongang-2025-05-26-hotline"]
        or not (sources["joongang-2025-05-26-hotline"]["text_file"])
    )
    # The export is the catalogue it came from, texts to their last line break: validated against that
    # catalogue, nothing in it differs (a stripped text read as "already in the catalogue with other values").
    assert _run(monkeypatch, state_settings, "validate", *map(str, sorted(folder.glob("*.csv")))) == 0
    empty = tmp_path / "empty-data"
    empty.mkdir()
    fresh = open_bot(Settings(db_path=tmp_path / "fresh.db", data_dir=empty), clock=clock)
    try:
        result = fresh.importer.import_files(sorted(folder.glob("*.csv")), author="test")
        assert result.added > 0
        texts = fresh.importer.source_texts()
        assert "restore inter-Korean communication channels" in texts["joongang-2025-05-26-hotline"]
        bad = _write(
            tmp_path / "bad.json",
            json.dumps(
                {
                    "quotes": [
                        {
                            "pledge": "inter-korean-hotline",
                            "text": "I will build a wall.",
                            "source": "joongang-2025-05-26-hotline",
                            "said_on": "2025-05-26",
                        }
                    ]
                }
            ),
        )
        with pytest.raises(ds.DatasetError, match="not found verbatim"):
            fresh.importer.import_files([bad], author="test")
    finally:
        fresh.close()


def test_a_streamed_replace_is_journalled_as_a_replace_with_chunked_records(state_settings, tmp_path, clock):
    bot = open_bot(state_settings, clock=clock)
    try:
        path = _write(
            tmp_path / "changed.yaml",
            "pledges:\n"
            "  - id: inter-korean-hotline\n"
            "    speaker: lee-jae-myung\n"
            "    title: Something else\n"
            "    category: North Korea\n",
        )
        result = bot.importer.import_files([path], author="test", replace=True)
        assert result.edit is not None and result.added == 1
        (edit,) = [e for e in bot.journal.since(0) if e.id == result.edit.id]
        assert edit.kind.value == "replace" and edit.payload["chunked"]
        assert edit.payload["replaces"] == ["pledges:inter-korean-hotline"]
        assert [b["values"]["title"] for c in bot.journal.records(edit.id) for b in c] == ["Something else"]
        # The quotes and statuses of the replaced pledge stay: the edit gives none of its own.
        assert bot.core.handle("show inter-korean-hotline", _ctx()) is not None
        quotes = bot.store.db.execute("SELECT COUNT(*) FROM quotes WHERE pledge = 'inter-korean-hotline'")
        assert quotes.fetchone()[0] == 1
        # A fresh catalogue rebuilt from the data folder and the journal replays the chunked edit.
        bot.store.db.execute("DELETE FROM meta WHERE key = 'data_fingerprint'")
        assert bot.loader.refresh() is True
        title = bot.store.db.execute("SELECT title FROM pledges WHERE id = 'inter-korean-hotline'")
        assert title.fetchone()[0] == "Something else"
    finally:
        bot.close()


def _ctx():
    from bot.replies import Context

    return Context(platform="console", workspace="local", channel="console", user="you", can_manage=True)


@pytest.mark.parametrize("suffix", [".csv", ".yaml", ".json"])
def test_a_file_saved_in_cp949_is_refused_with_save_it_as_utf8_naming_it(
    state_settings, tmp_path, monkeypatch, capsys, suffix
):
    """Excel saves a Korean spreadsheet in cp949: import and validate name the file and say what to do, and
    the catalogue is unchanged (never a UnicodeDecodeError)."""
    texts = {
        ".csv": "id,speaker,title,category\nstronger-defence,lee-jae-myung,국방력 강화,국방\n",
        ".yaml": "pledges:\n  - id: stronger-defence\n    speaker: lee-jae-myung\n    title: 국방력 강화\n"
        "    category: 국방\n",
        ".json": '{"pledges": [{"id": "stronger-defence", "speaker": "lee-jae-myung", '
        '"title": "국방력 강화", "category": "국방"}]}',
    }
    path = tmp_path / f"new-pledges{suffix}"
    path.write_bytes(texts[suffix].encode("cp949"))
    for command in ("validate", "import"):
        assert _run(monkeypatch, state_settings, command, str(path)) == 1
        err = capsys.readouterr().err
        assert f"{path}: is not UTF-8 text" in err and "save it as UTF-8" in err and "cp949" in err
        assert "UnicodeDecodeError" not in err and "Traceback" not in err
    bot = open_bot(state_settings)
    try:
        assert bot.catalogue.find_id("stronger-defence") is None
    finally:
        bot.close()
    # Saved again as UTF-8 (with Excel's byte order mark, for CSV), the same file imports.
    path.write_bytes(texts[suffix].encode("utf-8-sig" if suffix == ".csv" else "utf-8"))
    assert _run(monkeypatch, state_settings, "import", str(path)) == 0
