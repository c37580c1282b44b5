"""This checkout against an earlier commit, in one run: lookups, planning and the delivery pass, interleaved.

Two runs of the same code on a shared 2-core machine differ by up to 30%, so figures from two separate
`make bench` runs cannot show a 10% difference. Here both commits work on the same data at the same time:
the earlier commit's tree is taken from git, the data is generated once by the earlier commit's generator
(which both can read), and each side imports it into a database of its own. A process of each side then
answers the same lookups call by call, the first to answer alternating, and planning and the delivery pass
(seconds each) run in rounds that alternate between the sides, each a fresh process. A side's figure is
taken over all its samples; beside the ratio is the range of the ratios of its blocks (the rounds, or
stretches of the lookups), which shows the noise.

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
import select
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

from bench import compare_side, pg, query_mix
from bench.child import SEARCH_QUERIES
from bench.process import run_json

ROOT = Path(__file__).resolve().parent.parent
# The commit before the redesign (issue 20): the registry, the feature packages and the guides came after it.
BEFORE_REDESIGN = "59ded62"
# A section's title names both sides ("This checkout" for the working tree), so that each pair has its own.
TITLE = "## {after} against {before}, in one run"
SIDE = Path(__file__).with_name("compare_side.py")
# A side's round: open the catalogue, plan three days, run one delivery pass.
ROUND_TIMEOUT = 900
OPEN_TIMEOUT = 120
ANSWER_TIMEOUT = 30
# Each fixed query is asked this many times a side, the mix this many times over.
LOOKUP_REPEATS = 80
MIX_REPEATS = 4
BLOCKS = 8
# Worse than this, a figure is reported as worse (issue 20's bound).
WORSE = 1.10


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass(frozen=True)
class Figure:
    """One figure: which samples (`bench/compare_side.py`), how they are summed up, and on which state store
    its rounds ran ("" for the lookups, asked call by call)."""

    samples: str
    name: str
    unit: str
    statistic: Callable[[list[float]], float]
    state: str = ""


def _p99(samples: list[float]) -> float:
    return _percentile(samples, 0.99)


FIGURES = (
    Figure("lookups", "Lookup p50 (`core.handle`, fixed queries)", "ms", statistics.median),
    Figure("lookups", "Lookup p99 (`core.handle`, fixed queries)", "ms", _p99),
    Figure("mix", "Lookup mix p50 (`core.handle`, each afresh)", "ms", statistics.median),
    Figure("mix", "Lookup mix p99 (`core.handle`, each afresh)", "ms", _p99),
    Figure("plan_ms", "Plan one day (median of the days), SQLite", "ms", statistics.median, "sqlite"),
    Figure("delivery_s", "Delivery pass, every subscription due, SQLite", "s", statistics.median, "sqlite"),
    Figure("plan_ms", "Plan one day (median of the days), PostgreSQL", "ms", statistics.median, "postgres"),
    Figure(
        "delivery_s", "Delivery pass, every subscription due, PostgreSQL", "s", statistics.median, "postgres"
    ),
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
    return run_json([sys.executable, "-c", code, *args], cwd=tree, name=tree.name, timeout=timeout)


GENERATE = (
    "import json, sys; from pathlib import Path; from bench.generate import generate; "
    "made = generate(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])); "
    "print(json.dumps({'pledges': made.pledges}))"
)
IMPORT = (
    "import json, sys; from pathlib import Path; from bot.cli import open_bot; "
    "from bot.config import Secret, Settings; "
    "url = Secret(sys.argv[3]) if len(sys.argv) > 3 else None; "
    "bot = open_bot(Settings(db_path=Path(sys.argv[1]), data_dir=Path(sys.argv[2]), database_url=url)); "
    "n = bot.store.db.execute('SELECT COUNT(*) FROM pledges').fetchone()[0]; bot.close(); "
    "print(json.dumps({'pledges': n}))"
)


def questions(db: Path, count: int) -> dict[str, list[str]]:
    """The questions both sides answer: this checkout's fixed lookups and its seeded mix over the titles."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT title, coalesce(title_ko, '') FROM pledges").fetchall()
    mix = query_mix.query_mix([r[0] for r in rows], [r[1] for r in rows], count)
    return {"lookups": list(SEARCH_QUERIES), "mix": mix}


class Asker:
    """A side's `ask` process: one question in, the milliseconds its answer took out, every wait bounded."""

    def __init__(self, tree: Path, db: Path, data: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", SIDE.read_text(encoding="utf-8"), "ask", str(db), str(data)],
            cwd=tree,
            env={**os.environ, "PYTHONPATH": str(tree)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        if self._line(OPEN_TIMEOUT) != "READY":
            raise RuntimeError(f"{tree.name}: the asking process did not start")

    def ask(self, text: str) -> float:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(text).encode() + b"\n")
        self.process.stdin.flush()
        return float(self._line(ANSWER_TIMEOUT))

    def _line(self, timeout: float) -> str:
        assert self.process.stdout is not None
        # One line is read per line the child prints, so nothing waits in the reader's buffer unseen.
        if not select.select([self.process.stdout], [], [], timeout)[0]:
            self.close()
            raise RuntimeError(f"no answer within {timeout:.0f} s")
        line = self.process.stdout.readline().decode().strip()
        if not line:
            self.close()
            raise RuntimeError("the asking process exited")
        return line

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(OPEN_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def asking(
    sides: dict[str, Path], dbs: dict[str, Path], data: Path, asked: dict[str, list[str]], repeats: int
) -> dict[str, dict[str, list[float]]]:
    """Both sides answer the same questions call by call, the first to answer alternating: the fixed
    lookups `LOOKUP_REPEATS` times and the mix `repeats` times. Samples (ms) per side and kind."""
    askers = {name: Asker(tree, dbs[name], data) for name, tree in sides.items()}
    samples: dict[str, dict[str, list[float]]] = {name: {"lookups": [], "mix": []} for name in sides}
    try:
        plan = [("warm", q) for q in asked["lookups"] * 3]
        plan += [("lookups", q) for _ in range(LOOKUP_REPEATS) for q in asked["lookups"]]
        plan += [("mix", q) for _ in range(repeats) for q in asked["mix"]]
        order = list(sides)
        for kind, text in plan:
            for name in order:
                taken = askers[name].ask(text)
                if kind != "warm":
                    samples[name][kind].append(taken)
            order.reverse()
    finally:
        for asker in askers.values():
            asker.close()
    return samples


def run(
    base: str,
    head: str | None,
    pledges: int,
    subscriptions: int,
    rounds: int,
    mix: int,
    work: Path,
    postgres: bool = True,
) -> dict[str, Any]:
    """Set both sides up, ask them the same questions call by call, then `rounds` alternating rounds of
    planning and delivery; every sample per side."""
    sides = {"before": work / "before", "after": work / "after" if head else ROOT}
    checkout(base, sides["before"])
    if head:
        checkout(head, sides["after"])
    data = work / "data"
    _say(f"generating {pledges:,} pledges and {subscriptions:,} subscriptions with {base}'s generator")
    made = _python(sides["before"], GENERATE, str(data), str(pledges), str(subscriptions), timeout=1800)
    dbs = {name: work / f"{name}.db" for name in sides}
    stores: list[tuple[str, str | None]] = [("sqlite", None)]
    server, why = pg.start() if postgres else (None, "not asked for")
    try:
        if server is not None:
            stores += [(f"postgres-{name}", server.url(server.create_database())) for name in sides]
        for name, tree in sides.items():
            for store, url in stores:
                if store not in ("sqlite", f"postgres-{name}"):
                    continue
                _say(f"{name}: importing into a catalogue of its own, and subscribing ({store} state)")
                db = dbs[name] if url is None else work / f"{name}-pg.db"
                imported = _python(tree, IMPORT, str(db), str(data), *([url] if url else []), timeout=3600)
                if imported["pledges"] != made["pledges"]:
                    raise RuntimeError(f"{name} imported {imported['pledges']} of {made['pledges']} pledges")
                args = ("setup", str(db), str(data), *([url] if url else []))
                _python(tree, SIDE.read_text(encoding="utf-8"), *args, timeout=600)
        loads = [os.getloadavg()[0]]
        _say("lookups: both sides asked the same questions, call by call")
        asked = asking(sides, dbs, data, questions(dbs["after"], mix), MIX_REPEATS)
        measured: dict[str, dict[str, list[dict[str, Any]]]] = {"sqlite": {n: [] for n in sides}}
        if server is not None:
            measured["postgres"] = {n: [] for n in sides}
        for round_ in range(rounds):
            # before, after; after, before; ...: neither side always goes first.
            order = ["before", "after"] if round_ % 2 == 0 else ["after", "before"]
            for state in measured:
                for name in order:
                    _say(f"planning and delivery on {state}, round {round_ + 1} of {rounds}: {name}")
                    loads.append(os.getloadavg()[0])
                    url = dict(stores).get(f"postgres-{name}") if state == "postgres" else None
                    db = dbs[name] if url is None else work / f"{name}-pg.db"
                    args = ("round", str(db), str(data), *([url] if url else []))
                    side = SIDE.read_text(encoding="utf-8")
                    measured[state][name].append(_python(sides[name], side, *args, timeout=ROUND_TIMEOUT))
    finally:
        if server is not None:
            server.stop()
    return {
        "base": _git("rev-parse", "--short", base),
        "head": _git("rev-parse", "--short", head or "HEAD"),
        "checkout": not head,
        "dirty": not head and bool(_git("status", "--porcelain", "--untracked-files=no")),
        "pledges": made["pledges"],
        "subscriptions": subscriptions,
        "mix": mix,
        "asked": asked,
        "rounds": measured,
        "postgres": why or "",
        "loads": loads,
        "when": dt.datetime.now(dt.UTC),
    }


def _blocks(result: dict[str, Any], side: str, figure: Figure) -> list[list[float]]:
    """A figure's samples in blocks, to show the noise: each round's, or for the lookups eight stretches of
    the calls in order (both sides' stretch k ran at the same time)."""
    if not figure.state:
        samples = result["asked"][side][figure.samples]
        size = -(-len(samples) // BLOCKS)
        return [samples[i : i + size] for i in range(0, len(samples), size)]
    return [r[figure.samples] for r in result["rounds"][figure.state][side]]


def section(result: dict[str, Any]) -> str:
    """The Markdown section: each figure per side, their ratio, the blocks' ratios, within 10% or not."""
    head = result["head"] + (" with uncommitted changes" if result["dirty"] else "")
    head = f"this checkout ({head})" if result["checkout"] else head
    rounds = len(result["rounds"]["sqlite"]["before"])
    lookups = len(result["asked"]["before"]["lookups"])
    lines = [
        title(result),
        "",
        f"`python -m bench.compare` at {result['when']:%Y-%m-%d %H:%M} UTC: {head} against "
        f"{result['base']}, on the same {result['pledges']:,} pledges and {result['subscriptions']:,} "
        f"subscriptions (generated by {result['base']}'s generator, imported by each side into its own "
        f"database). Load average {min(result['loads']):.1f} to {max(result['loads']):.1f}. Lookups: a "
        "process of each side answers the same questions call by call, which goes first alternating, "
        f"every one worked out afresh (later commits keep answers; none is kept here): {lookups:,} "
        f"answers of the fixed queries and {MIX_REPEATS} x {result['mix']:,} of the seeded mix a side. "
        f"Planning ({compare_side.PLANNING_DAYS} days) and a delivery pass: {rounds} rounds a side on each "
        "state store (SQLite, and PostgreSQL on a durable server of the benchmark's own), alternating, each "
        "a fresh process. A side's figure is taken over all its samples; beside the ratio "
        "(after / before) is the range of the ratios of its blocks (the rounds, or eight stretches of the "
        f"lookups), which shows the noise. More than {WORSE:.2f}x is worse.",
        "",
        "| Figure | Before | After | Ratio | Blocks' ratios | Within 10% |",
        "|---|---:|---:|---:|---:|:---:|",
    ]
    for figure in FIGURES:
        if figure.state and figure.state not in result["rounds"]:
            continue
        before, after = _blocks(result, "before", figure), _blocks(result, "after", figure)
        blocks = [figure.statistic(a) / figure.statistic(b) for a, b in zip(after, before, strict=True)]
        b = figure.statistic([x for block in before for x in block])
        a = figure.statistic([x for block in after for x in block])
        lines.append(
            f"| {figure.name} | {b:,.2f} {figure.unit} | {a:,.2f} {figure.unit} | {a / b:.2f}x | "
            f"{min(blocks):.2f}x to {max(blocks):.2f}x | {'yes' if a / b <= WORSE else '**no**'} |"
        )
    lines.append("")
    if "postgres" not in result["rounds"]:
        lines += [f"PostgreSQL rows: {result['postgres']}.", ""]
    for state, rounds_ in result["rounds"].items():
        due = {name: sorted({r["plan_due"] for r in rs}) for name, rs in rounds_.items()}
        claims = {name: sorted({r["delivery_claims"] for r in rs}) for name, rs in rounds_.items()}
        lines += [
            f"On {state}, digests due on the planned days: before {due['before']}, after {due['after']}; "
            f"claims in a delivery pass: before {claims['before']}, after {claims['after']}.",
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
    parser.add_argument(
        "--no-postgres",
        action="store_true",
        help="SQLite state only (by default PostgreSQL too, if installed)",
    )
    parser.add_argument("--workdir", type=Path, help="where to put the trees, data and databases")
    args = parser.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="pledgebot-compare-"))
    try:
        result = run(
            args.base,
            args.head,
            args.pledges,
            args.subscriptions,
            args.rounds,
            args.mix,
            work,
            postgres=not args.no_postgres,
        )
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
