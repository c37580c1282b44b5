"""bench/compare.py's report: ratios of interleaved rounds, the 10% verdict, and its sections kept."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bench import compare


def _round(scale: float) -> dict:
    return {
        "plan_ms": [300.0, 310.0, 290.0],
        "delivery_s": [6.0 / scale],
        "plan_due": 9,
        "delivery_claims": 10,
    }


def _asked(scales: list[float]) -> dict:
    # Eight stretches of lookups, the stretch k of each scale in `scales` (cycled).
    lookups = [1.0 * scales[k % len(scales)] for k in range(8) for _ in range(100)]
    return {"lookups": lookups, "mix": [1.0] * 800}


def _result(before: list[float], after: list[float], head: str | None = "6501d4d") -> dict:
    return {
        "base": "59ded62",
        "head": head or "abc1234",
        "checkout": head is None,
        "dirty": False,
        "pledges": 100_000,
        "subscriptions": 10_000,
        "mix": 1000,
        "asked": {"before": _asked(before), "after": _asked(after)},
        "rounds": {"sqlite": {"before": [_round(s) for s in before], "after": [_round(s) for s in after]}},
        "postgres": "not measured: no PostgreSQL server binaries",
        "loads": [1.0, 2.5],
        "when": dt.datetime(2026, 12, 7, 13, 0, tzinfo=dt.UTC),
    }


def test_a_figure_is_worse_when_its_value_over_every_round_is_over_10_percent_worse():
    # Lookups: rounds at 1.3x, 1.0x and 1.2x: the samples together are 1.2x at the median (worse).
    text = compare.section(_result([1.0, 1.0, 1.0], [1.3, 1.0, 1.2]))
    rows = {line.split(" | ")[0]: line for line in text.splitlines() if line.startswith("| ")}
    assert "| 1.20x | 1.00x to 1.30x | **no** |" in rows["| Lookup p50 (`core.handle`, fixed queries)"]
    assert "| 1.00x | 1.00x to 1.00x | yes |" in rows["| Plan one day (median of the days), SQLite"]
    assert "| 0.83x |" in rows["| Delivery pass, every subscription due, SQLite"]
    # Within 10%: a round 1.3x worse beside two the same is noise, not a worse figure.
    text = compare.section(_result([1.0, 1.0, 1.0], [1.3, 1.0, 1.0]))
    assert "| 1.00x | 1.00x to 1.30x | yes |" in text
    assert text.startswith("## 6501d4d against 59ded62, in one run\n")
    assert "PostgreSQL rows: not measured: no PostgreSQL server binaries." in text


def test_sections_are_replaced_by_title_and_kept_when_the_benchmark_rewrites_the_file(tmp_path: Path):
    output = tmp_path / "BENCHMARKS.md"
    output.write_text("# Benchmarks\n\n## Findings\n\nsome\n", encoding="utf-8")
    step = compare.section(_result([1.0], [1.0]))
    today = compare.section(_result([1.0], [1.5], head=None))
    compare.write(output, compare.title(_result([1.0], [1.0])), step)
    compare.write(output, compare.title(_result([1.0], [1.5], head=None)), today)
    again = compare.section(_result([1.0], [0.5]))
    compare.write(output, compare.title(_result([1.0], [0.5])), again)
    text = output.read_text(encoding="utf-8")
    assert text.count("## 6501d4d against 59ded62, in one run") == 1 and "| 0.50x |" in text
    assert "## This checkout against 59ded62, in one run" in text and "## Findings\n\nsome\n" in text
    assert "\n\n## This checkout" in text
    kept = compare.sections(output)
    assert "## Findings" not in kept and "| 0.50x |" in kept and "| 1.50x |" in kept
