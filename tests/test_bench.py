"""The benchmark still runs end to end: a tiny smoke of `python -m bench --quick` (no timing assertions)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench import generate
from tests.postgres import find_bindir

ROOT = Path(__file__).resolve().parent.parent
ROWS = (
    "Import of 300 pledges",
    "Peak RSS, importing process",
    "Cold start to ready",
    "Lookup p50",
    "Lookup p99",
    "Lookup mix p50 (`Searcher.search`)",
    "Lookup mix p99 (`Searcher.search`)",
    "Lookup mix p50 (`core.handle`)",
    "Lookup mix p99 (`core.handle`)",
    "Lookup mix p50 (`core.handle`, first askings)",
    "Lookup mix p99 (`core.handle`, first askings)",
    "Reporters' questions hits@1",
    "Reporters' questions recall@5",
    "Autocomplete p50",
    "Autocomplete p99",
    "Peak RSS, process answering lookups",
    "Plan one day: 50 subscriptions (13 following topics, 1 following pledges), ",
    "Slack HTTP throughput |",
    "Slack HTTP p50 (",
    "Slack HTTP p99 (",
    "Slack HTTP throughput, a pledge id",
    "Slack HTTP p99, a pledge id",
    "Peak RSS, Slack server process",
    "Discord interaction → callback p50 |",
    "Discord interaction → callback p99 |",
    "Discord interaction → callback p50, a pledge id",
    "Discord interaction → callback p99, a pledge id",
    "Delivery pass: 80 subscriptions due",
    "National dataset: import of 40 officials × 10 pledges",
    # Every official's 100th day, each once, in the digest of a channel that follows everything.
    "Plan the officials' 100th day: 50 subscriptions, 40 term anniversaries",
    "Lookup scoped by region or office p50",
    "Lookup scoped by region or office p99",
)
# Measured when PostgreSQL server binaries are installed; otherwise present and "not measured".
POSTGRES_ROWS = (
    "PostgreSQL state: lookup p50",
    "PostgreSQL state: lookup p99",
    "PostgreSQL state: plan one day, 50 subscriptions",
    "PostgreSQL state: delivery pass: 80 subscriptions due",
)


def test_quick_run_writes_every_row(tmp_path: Path):
    output = tmp_path / "BENCHMARKS.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--output", str(output), "--workdir", str(tmp_path / "w")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    text = output.read_text(encoding="utf-8")
    table = [line for line in text.splitlines() if line.startswith("| ") and "|---" not in line]
    for name in ROWS:
        rows = [line for line in table if line.startswith(f"| {name}")]
        assert len(rows) == 1, name
        row = rows[0]
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1] not in ("", "—", "nan", "not measured"), row  # every row has a value
    measured = find_bindir() is not None
    for name in POSTGRES_ROWS:
        rows = [line for line in table if line.startswith(f"| {name}")]
        assert len(rows) == 1, name
        value = [c.strip() for c in rows[0].strip("|").split("|")][1]
        if measured:
            assert value not in ("", "—", "nan", "not measured"), rows[0]
        else:
            assert value == "not measured" and "no PostgreSQL server binaries" in rows[0], rows[0]
    assert "**CPU:**" in text and "**SQLite:**" in text and "python -m bench --quick" in text
    assert "Slack HTTP throughput" in done.stdout  # the table is printed too


def test_generator_is_deterministic_and_valid(tmp_path: Path):
    from bot import dataset

    first = generate.generate(tmp_path / "a", 120, 7)
    generate.generate(tmp_path / "b", 120, 7)
    for name in ("catalogue.json", "pledges.json", "milestones.json", generate.SUBSCRIPTIONS_FILE):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    loaded = dataset.load(dataset.data_files(tmp_path / "a"))  # validates, quotes verbatim included
    assert len(loaded.rows("pledges")) == first.pledges == 120
    quotes = loaded.rows("quotes")
    assert any(q.get("language") == "ko" for q in quotes)
    assert all(q["text"] in loaded.source_texts[q["source"]] for q in quotes)
    titles_ko = [p["title_ko"] for p in loaded.rows("pledges")]
    assert all(any("\uac00" <= c <= "\ud7a3" for c in t) for t in titles_ko)
    lines = (tmp_path / "a" / generate.SUBSCRIPTIONS_FILE).read_text().splitlines()
    assert len(lines) == 7 and all(json.loads(line)["timezone"] for line in lines)
    # Deadlines of both forms (they validated above), and subscriptions following topics and pledges.
    pledges = loaded.rows("pledges")
    assert any("due_on" in p for p in pledges) and any("due" in p for p in pledges)
    assert first.deadlines == sum(1 for p in pledges if "due_on" in p or "due" in p) == 24
    subs = [json.loads(line) for line in lines]
    assert first.topic_filtered == sum(1 for s in subs if s.get("topics")) == 2
    assert first.pledge_filtered == sum(1 for s in subs if s.get("pledges")) == 1


def test_korean_comparison_answers_its_questions(capsys):
    from bench import korean

    assert korean.main(["--pledges", "60"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "48 questions (24 on the seed data), 60 generated pledges"
    bigrams = lines[1].split()
    assert bigrams[:4] == ["bigrams", "+", "particles", "cut"]
    # The questions are answerable on this catalogue: most find what they ask for among the first ten.
    assert float(bigrams[bigrams.index("recall@10") + 1]) >= 0.5


def test_reporters_questions_are_scored_by_class(capsys):
    from bench import reporters

    assert reporters.main(["--pledges", "60"]) == 0
    lines = capsys.readouterr().out.splitlines()
    kinds = [line.split()[0] for line in lines]
    assert set(kinds) == {"all", "names", "sources", "near", "forms", "korean-typos"}
    overall = lines[kinds.index("all")].split()
    assert int(overall[1]) == len(reporters.questions())
    # Every question names pledges that exist in its catalogue: most are answerable.
    assert float(overall[overall.index("recall@5") + 1]) >= 0.5
