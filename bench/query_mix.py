"""A frequency-weighted mix of lookups, drawn from the catalogue's own titles, and its latency.

Words are drawn with replacement by how often they occur in titles, so the commonest words are asked for
most, as readers do: about 45% single English words, 20% two words, 20% Korean words, 10% typos of longer
words and 5% beginnings of titles. Stop words appear only inside those beginnings. The mix is seeded, so
two runs ask the same questions.

    python -m bench.query_mix --db /path/to/pledgebot.db --data /path/to/data [--count 2000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import string
import sys
import time
from collections import Counter
from pathlib import Path

from bot.search import STOP_WORDS, words
from bot.search_index import is_hangul

SEED = 14
SHARES = (("single", 0.45), ("two", 0.20), ("korean", 0.20), ("typo", 0.10), ("title", 0.05))


def query_mix(titles: list[str], titles_ko: list[str], count: int, seed: int = SEED) -> list[str]:
    """`count` queries drawn from these titles (English) and Korean titles, as described above."""
    rng = random.Random(seed)
    english = Counter(w for t in titles for w in words(t) if w not in STOP_WORDS and w.isalpha())
    korean = Counter(w for t in titles_ko for w in t.split() if w and all(is_hangul(c) for c in w))
    en_words, en_weights = list(english), list(english.values())
    long_words = [w for w in en_words if len(w) >= 7]
    long_weights = [english[w] for w in long_words]
    ko_words, ko_weights = list(korean) or en_words, list(korean.values()) or en_weights
    kinds, shares = [kind for kind, _ in SHARES], [share for _, share in SHARES]
    out = []
    for kind in rng.choices(kinds, shares, k=count):
        if kind == "single":
            out.append(rng.choices(en_words, en_weights)[0])
        elif kind == "two":
            out.append(" ".join(rng.choices(en_words, en_weights, k=2)))
        elif kind == "korean":
            out.append(rng.choices(ko_words, ko_weights)[0])
        elif kind == "typo" and long_words:
            out.append(_typo(rng, rng.choices(long_words, long_weights)[0]))
        else:
            title = rng.choice(titles).split()
            out.append(" ".join(title[: rng.randint(1, min(3, len(title)))]))
    return out


def _typo(rng: random.Random, word: str) -> str:
    """One edit after the first letter: a letter dropped, doubled, swapped with the next, or replaced."""
    at = rng.randrange(1, len(word) - 1)
    match rng.randrange(4):
        case 0:
            return word[:at] + word[at + 1 :]
        case 1:
            return word[:at] + word[at] + word[at:]
        case 2:
            return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
        case _:
            return word[:at] + rng.choice(string.ascii_lowercase) + word[at + 1 :]


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


NAIVE_FLOOR = "SELECT rowid FROM pledge_index_fts WHERE pledge_index_fts MATCH ? ORDER BY rank LIMIT 3"


def measure(db: Path, data: Path, count: int = 2000, seed: int = SEED) -> dict[str, float]:
    """p50 and p99 (ms) over the mix of `Searcher.search` (a first page of three, worked out afresh each
    time), of `core.handle` (the whole answer a reader waits for: parsing, search, the cards with their
    matching quotes) and of the naive floor: the same FTS5 expression ranked by bm25 over every hit (`ORDER
    BY rank LIMIT 3`), the last two interleaved.

    `core.handle` answers the mix first, in order, as a process serving readers would: a question asked
    before is answered from the searcher's kept answers. It is reported over every question and over first
    askings alone."""
    from bot.cli import open_bot
    from bot.config import Settings
    from bot.replies import Context

    bot = open_bot(Settings(db_path=db, data_dir=data))
    try:
        rows = bot.store.db.execute("SELECT title, coalesce(title_ko, '') FROM pledges").fetchall()
        mix = query_mix([r[0] for r in rows], [r[1] for r in rows], count, seed)
        conn = bot.store.db.conn
        expressions = {q: bot.searcher.search(q).expression or '""' for q in set(mix)}
        ctx = Context(platform="console")
        answers, first, ours, floor = [], [], [], []
        asked: set[str] = set()
        clock = time.perf_counter
        bot.searcher.forget()
        for query in mix:
            start = clock()
            bot.core.handle(query, ctx)
            answers.append((clock() - start) * 1000)
            if query not in asked:
                first.append(answers[-1])
                asked.add(query)
        for query in mix:
            bot.searcher.forget()
            start = clock()
            bot.searcher.search(query)
            ours.append((clock() - start) * 1000)
            start = clock()
            conn.execute(NAIVE_FLOOR, [expressions[query]]).fetchall()
            floor.append((clock() - start) * 1000)
    finally:
        bot.close()
    return {
        "queries": len(mix),
        "first_askings": len(first),
        "p50": statistics.median(ours),
        "p99": _percentile(ours, 0.99),
        "core_p50": statistics.median(answers),
        "core_p99": _percentile(answers, 0.99),
        "core_first_p50": statistics.median(first),
        "core_first_p99": _percentile(first, 0.99),
        "floor_p50": statistics.median(floor),
        "floor_p99": _percentile(floor, 0.99),
    }


def main(argv: list[str] | None = None) -> int:
    """Time `Searcher.search` and `core.handle` over the mix on an existing database, beside the naive
    floor."""
    parser = argparse.ArgumentParser(prog="python -m bench.query_mix", description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    r = measure(args.db, args.data, args.count, args.seed)
    print(
        f"{r['queries']} queries: Searcher.search p50 {r['p50']:.2f} ms, p99 {r['p99']:.2f} ms; "
        f"core.handle p50 {r['core_p50']:.2f} ms, p99 {r['core_p99']:.2f} ms "
        f"(first askings, {r['first_askings']}: p50 {r['core_first_p50']:.2f} ms, "
        f"p99 {r['core_first_p99']:.2f} ms); "
        f"naive floor p50 {r['floor_p50']:.2f} ms, p99 {r['floor_p99']:.2f} ms",
        file=sys.stdout,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
