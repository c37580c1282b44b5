"""This checkout against an earlier commit, in one run: lookups, planning and the delivery pass, interleaved.

Two runs of the same code on a shared 2-core machine differ by up to 30%, so figures from two separate
`make bench` runs cannot show a 10% difference. Here both commits work on the same data at the same time:
the earlier commit's tree is taken from git, the data is generated once by the earlier commit's generator
(which both can read), each side imports it into a database of its own, and then rounds alternate between
the sides (earlier, this, this, earlier, ...), each round a fresh process. A side's figure is taken over the
samples of all its rounds; beside the ratio is the range of the rounds' own ratios, which shows the noise.

    python -m bench.compare [--base 59ded62] [--head REV] [--pledges 100000] [--rounds 6] [--output F]

Without `--head` the later side is this checkout as it is.
The section it writes replaces the one of the same title in the output, or is added at its end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import compare_side, query_mix
from bench.child import SEARCH_QUERIES

ROOT = Path(__file__).resolve().parent.parent
# The commit before the redesign (issue 20): the registry, the feature packages and the guides came after it.
BEFORE_REDESIGN = "59ded62"
# A section's title names both sides ("This checkout" for the working tree), so that each pair has its own.
TITLE = "## {after} against {before}, in one run"
SIDE = Path(__file__).with_name("compare_side.py")
# A side's round: open the catalogue, 5 x the lookups, the mix, three days' planning, one delivery pass.
ROUND_TIMEOUT = 900
# Worse than this, a figure is reported as worse (issue 20's bound).
WORSE = 1.10


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass(frozen=True)
class Figure:
    """One figure: which samples of a round (`bench/compare_side.py`) and how they are summed up."""

    samples: str
    name: str
    unit: str
    statistic: Callable[[list[float]], float]


FIGURES = (
    Figure("lookups", "Lookup p50 (`core.handle`, fixed queries)", "ms", statistics.median),
    Figure("lookups", "Lookup p99 (`core.handle`, fixed queries)", "ms", lambda s: _percentile(s, 0.99)),
    Figure("mix", "Lookup mix p50 (`core.handle`, each afresh)", "ms", statistics.median),
    Figure("mix", "Lookup mix p99 (`core.handle`, each afresh)", "ms", lambda s: _percentile(s, 0.99)),
    Figure("plan_ms", "Plan one day (median of the days)", "ms", statistics.median),
    Figure("delivery_s", "Delivery pass, every subscription due (median)", "s", statistics.median),
)


def _say(message: str) -> None:
    print(f"[compare {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def checkout(commit: str, into: Path) -> None:
    """The commit's tree, as files (no worktree is registered in the repository)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], check=True, capture_output=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")


def _python(tree: Path, code: str, *args: str, timeout: float) -> dict[str, Any]:
    """Run `code` with `tree` first on the path and as the working folder; its last JSON line."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=tree,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{tree.name}: exit status {done.returncode}\n{done.stderr[-4000:]}")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"{tree.name}: printed no result\n{done.stderr[-4000:]}")
    return json.loads(lines[-1])


GENERATE = (
    "import json, sys; from pathlib import Path; from bench.generate import generate; "
    "made = generate(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])); "
    "print(json.dumps({'pledges': made.pledges}))"
)
IMPORT = (
    "import json, sys; from pathlib import Path; from bot.cli import open_bot; "
    "from bot.config import Settings; "
    "bot = open_bot(Settings(db_path=Path(sys.argv[1]), data_dir=Path(sys.argv[2]))); "
    "n = bot.store.db.execute('SELECT COUNT(*) FROM pledges').fetchone()[0]; bot.close(); "
    "print(json.dumps({'pledges': n}))"
)


def questions(db: Path, count: int) -> dict[str, list[str]]:
    """The questions both sides answer: this checkout's fixed lookups and its seeded mix over the titles."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT title, coalesce(title_ko, '') FROM pledges").fetchall()
    mix = query_mix.query_mix([r[0] for r in rows], [r[1] for r in rows], count)
    return {"lookups": list(SEARCH_QUERIES), "mix": mix}


def run(
    base: str, head: str | None, pledges: int, subscriptions: int, rounds: int, mix: int, work: Path
) -> dict[str, Any]:
    """Set both sides up and measure `rounds` alternating rounds; the rounds' figures per side."""
    sides = {"before": work / "before", "after": work / "after" if head else ROOT}
    checkout(base, sides["before"])
    if head:
        checkout(head, sides["after"])
    data = work / "data"
    _say(f"generating {pledges:,} pledges and {subscriptions:,} subscriptions with {base}'s generator")
    made = _python(sides["before"], GENERATE, str(data), str(pledges), str(subscriptions), timeout=1800)
    dbs = {name: work / f"{name}.db" for name in sides}
    for name, tree in sides.items():
        _say(f"{name}: importing into a database of its own, and subscribing")
        imported = _python(tree, IMPORT, str(dbs[name]), str(data), timeout=3600)
        if imported["pledges"] != made["pledges"]:
            raise RuntimeError(f"{name} imported {imported['pledges']} of {made['pledges']} pledges")
        _python(tree, SIDE.read_text(encoding="utf-8"), "setup", str(dbs[name]), str(data), timeout=600)
    asked = work / "questions.json"
    asked.write_text(json.dumps(questions(dbs["after"], mix), ensure_ascii=False), encoding="utf-8")
    measured: dict[str, list[dict[str, Any]]] = {name: [] for name in sides}
    loads = []
    for round_ in range(rounds):
        # before, after; after, before; ...: neither side always goes first.
        order = ["before", "after"] if round_ % 2 == 0 else ["after", "before"]
        for name in order:
            _say(f"round {round_ + 1} of {rounds}: {name}")
            loads.append(os.getloadavg()[0])
            args = ("measure", str(dbs[name]), str(data), str(asked))
            measured[name].append(
                _python(sides[name], SIDE.read_text(encoding="utf-8"), *args, timeout=ROUND_TIMEOUT)
            )
    return {
        "base": _git("rev-parse", "--short", base),
        "head": _git("rev-parse", "--short", head or "HEAD"),
        "checkout": not head,
        "dirty": not head and bool(_git("status", "--porcelain", "--untracked-files=no")),
        "pledges": made["pledges"],
        "subscriptions": subscriptions,
        "mix": mix,
        "rounds": measured,
        "loads": loads,
        "when": dt.datetime.now(dt.UTC),
    }


def section(result: dict[str, Any]) -> str:
    """The Markdown section: each figure per side, the ratio of the rounds and whether it is within 10%."""
    before, after = result["rounds"]["before"], result["rounds"]["after"]
    head = result["head"] + (" with uncommitted changes" if result["dirty"] else "")
    head = f"this checkout ({head})" if result["checkout"] else head
    lines = [
        title(result),
        "",
        f"`python -m bench.compare` at {result['when']:%Y-%m-%d %H:%M} UTC: {head} against "
        f"{result['base']}, on the same {result['pledges']:,} pledges and {result['subscriptions']:,} "
        f"subscriptions (generated by {result['base']}'s generator, imported by each side into its own "
        f"database), {len(before)} rounds a side, alternating, each a fresh process. Load average during "
        f"the rounds {min(result['loads']):.1f} to {max(result['loads']):.1f}. Each round asks "
        f"{compare_side.LOOKUP_REPEATS} x {len(SEARCH_QUERIES)} fixed queries and {result['mix']:,} of the "
        "seeded mix, every one worked out afresh (later commits keep answers; none is kept here), plans "
        f"{compare_side.PLANNING_DAYS} days and runs one delivery pass. A side's figure is taken over all "
        "its rounds' samples together, as the rounds alternate under the same load; the ratio is after / "
        f"before, beside the range of the rounds' own ratios (the noise); more than {WORSE:.2f}x is worse.",
        "",
        "| Figure | Before | After | Ratio | Rounds' ratios | Within 10% |",
        "|---|---:|---:|---:|---:|:---:|",
    ]
    for figure in FIGURES:
        rounds = [
            figure.statistic(a[figure.samples]) / figure.statistic(b[figure.samples])
            for a, b in zip(after, before, strict=True)
        ]
        b = figure.statistic([x for r in before for x in r[figure.samples]])
        a = figure.statistic([x for r in after for x in r[figure.samples]])
        lines.append(
            f"| {figure.name} | {b:,.2f} {figure.unit} | {a:,.2f} {figure.unit} | {a / b:.2f}x | "
            f"{min(rounds):.2f}x to {max(rounds):.2f}x | {'yes' if a / b <= WORSE else '**no**'} |"
        )
    due = {name: sorted({r["plan_due"] for r in rounds}) for name, rounds in result["rounds"].items()}
    claims = {
        name: sorted({r["delivery_claims"] for r in rounds}) for name, rounds in result["rounds"].items()
    }
    lines += [
        "",
        f"Digests due on the planned days: before {due['before']}, after {due['after']}; claims in a "
        f"delivery pass: before {claims['before']}, after {claims['after']} (the same work on both sides).",
        "",
    ]
    return "\n".join(lines)


def title(result: dict[str, Any]) -> str:
    after = "This checkout" if result["checkout"] else result["head"]
    return TITLE.format(after=after, before=result["base"])


def write(output: Path, heading: str, text: str) -> None:
    """Replace the section titled `heading` in `output` (up to the next `## `), or add it at the end."""
    old = output.read_text(encoding="utf-8") if output.exists() else ""
    if heading in old:
        start = old.index(heading)
        end = old.find("\n## ", start + len(heading))
        rest = "\n" + old[end + 1 :] if end >= 0 else ""
        new = old[:start] + text.rstrip("\n") + "\n" + rest
    else:
        new = old.rstrip("\n") + ("\n\n" if old else "") + text
    output.write_text(new, encoding="utf-8")


def sections(output: Path) -> str:
    """Every section this module wrote in `output`, for `python -m bench` to keep when it rewrites it."""
    if not output.exists():
        return ""
    kept = []
    for part in re.split(r"(?m)^(?=## )", output.read_text(encoding="utf-8")):
        if re.match(r"## .+ against .+, in one run\n", part):
            kept.append(part.rstrip("\n") + "\n")
    return "\n".join(kept)


def main(argv: list[str] | None = None) -> int:
    """Compare, and write the section."""
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--base", default=BEFORE_REDESIGN, help=f"the earlier commit (default {BEFORE_REDESIGN})"
    )
    parser.add_argument("--head", help="the later commit (default: this checkout as it is)")
    parser.add_argument("--pledges", type=int, default=100_000)
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--mix", type=int, default=1000, help="questions of the seeded mix a round")
    parser.add_argument("--output", type=Path, default=Path("BENCHMARKS.md"))
    parser.add_argument("--workdir", type=Path, help="where to put the trees, data and databases")
    args = parser.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="pledgebot-compare-"))
    try:
        result = run(args.base, args.head, args.pledges, args.subscriptions, args.rounds, args.mix, work)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    text = section(result)
    write(args.output, title(result), text)
    print(text)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
