"""Questions as reporters type them, scored: names of countries and institutions, words only in a source's
headline, near-complete matches, reporters' forms (capitals, variants, capitalised typos, question words,
dates) and Korean typos, in English and Korean.

The catalogue is the seed data, the few pledges of `bench/reporters/catalogue.yaml` and a generated data set
(`bench/generate.py`) around them; the questions are `bench/reporters/questions.yaml`, each naming the pledges
it is after. An answer is what a reader sees: a date's pledges when the bot answers as `on`, else the
search's first five. Reported per class and overall: hits@1 (the first answer is one it is after),
recall@5 (of the pledges it is after, up to five, how many are in the first five) and the cost of one
answer (`core.handle`, p50/p99).

    python -m bench.reporters [--pledges 2000]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from bench import generate

HERE = Path(__file__).resolve().parent / "reporters"
SEED_DATA = Path(__file__).resolve().parent.parent / "data"
# Generated pledges around the questions' own: enough that a word is common, few enough to build in seconds.
PLEDGES = 2000


@dataclass(frozen=True)
class Question:
    """One question, its class, and the pledges it is after."""

    kind: str
    text: str
    wanted: tuple[str, ...]


def questions(path: Path = HERE / "questions.yaml") -> list[Question]:
    """The question set."""
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]
    return [Question(r["class"], str(r["q"]), tuple(r["want"])) for r in rows]


def answer_ids(bot, text: str) -> list[str]:
    """The pledges a reader is shown first for `text`: a date's pledges, or the search's first five."""
    from bot.replies import Context

    reply = bot.core.handle(text, Context(platform="console"))
    dated = [item.pledge_id for item in reply.items if item.pledge_id]
    if dated and not reply.cards:
        return list(dict.fromkeys(dated))[:5]
    return bot.searcher.search(text, limit=5).ids


def score(bot, asked: list[Question]) -> dict[str, dict[str, float]]:
    """hits@1, recall@5 and the answer's p50/p99 (ms) per class and for all questions."""
    from bot.replies import Context

    ctx = Context(platform="console")
    per: dict[str, list[tuple[bool, float, float]]] = {}
    for question in asked:
        start = time.perf_counter()
        bot.core.handle(question.text, ctx)
        cost = (time.perf_counter() - start) * 1000
        ids = answer_ids(bot, question.text)
        hit = bool(ids) and ids[0] in question.wanted
        recall = len(set(ids[:5]) & set(question.wanted)) / min(5, len(question.wanted))
        for kind in (question.kind, "all"):
            per.setdefault(kind, []).append((hit, recall, cost))
    out = {}
    for kind, rows in per.items():
        costs = sorted(c for _, _, c in rows)
        out[kind] = {
            "questions": len(rows),
            "hits@1": statistics.fmean(h for h, _, _ in rows),
            "recall@5": statistics.fmean(r for _, r, _ in rows),
            "p50 ms": costs[len(costs) // 2],
            "p99 ms": costs[min(len(costs) - 1, int(len(costs) * 0.99))],
        }
    return out


def build(folder: Path, pledges: int) -> Path:
    """A data folder of the seed data, the benchmark's own pledges and `pledges` generated ones."""
    data = folder / "data"
    generate.generate(data, pledges, 0)
    for path in SEED_DATA.glob("*.yaml"):
        shutil.copy(path, data / path.name)
    for path in (SEED_DATA / "sources").iterdir():
        shutil.copy(path, data / "sources" / path.name)
    shutil.copy(HERE / "catalogue.yaml", data / "reporters.yaml")
    return data


def measure(pledges: int = PLEDGES) -> dict[str, dict[str, float]]:
    """Build the catalogue in a temporary folder and score every question on it."""
    from bot.cli import open_bot
    from bot.config import Settings

    with tempfile.TemporaryDirectory() as folder:
        data = build(Path(folder), pledges)
        bot = open_bot(Settings(db_path=Path(folder) / "pledgebot.db", data_dir=data))
        try:
            asked = questions()
            bot.core.handle(asked[0].text, _console())  # warm
            # A serving process builds the calendar in the background (`bot/cli.py` `_follow`), not on the
            # first dated question.
            bot.calendars.current()
            return score(bot, asked)
        finally:
            bot.close()


def _console():
    from bot.replies import Context

    return Context(platform="console")


def main(argv: list[str] | None = None) -> int:
    """Print the scores per class."""
    parser = argparse.ArgumentParser(prog="python -m bench.reporters", description=__doc__.splitlines()[0])
    parser.add_argument("--pledges", type=int, default=PLEDGES, help="generated pledges beside the seed data")
    args = parser.parse_args(argv)
    for kind, row in measure(args.pledges).items():
        print(
            f"{kind:13}"
            + "  ".join(f"{k} {v:.3f}" if k != "questions" else f"{v:3d} q" for k, v in row.items())
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
