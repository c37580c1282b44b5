"""One side of `bench/compare.py`: run inside a checkout of either commit, with that checkout's own code.

`bench/compare.py` runs this file's text with `python -c` in the checkout's folder, so `bot` and `bench`
are that commit's. It keeps to what both the commit before the redesign (59ded62) and later ones have,
and says where they differ.

    setup DB DATA [URL]  subscriptions from DATA's subscriptions.jsonl into the state store (PostgreSQL at
                         URL, else DB); prints JSON
    ask DB DATA          prints READY, then for each question read from stdin (a JSON string) the
                         milliseconds `core.handle` took to answer it, worked out afresh
    round DB DATA [URL]  each day's plan (ms) and a delivery pass of every subscription (s); prints JSON
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import sys
import time
from pathlib import Path

from bench import delivery, generate, planning
from bot.cli import open_bot
from bot.config import Secret, Settings
from bot.replies import Context

SUBSCRIBED_AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
PLANNING_DAY = dt.date(2026, 5, 26)
PLANNING_DAYS = 3
DELIVERY_AT = dt.datetime(2026, 5, 27, 12, 0, 30, tzinfo=dt.UTC)


def _settings(db: Path, data: Path, url: str | None) -> Settings:
    return Settings(db_path=db, data_dir=data, database_url=Secret(url) if url else None)


def setup(db: Path, data: Path, url: str | None) -> dict:
    bot = open_bot(_settings(db, data, url))
    try:
        added = generate.bulk_insert_subscriptions(bot.backend, data / "subscriptions.jsonl", SUBSCRIBED_AT)
    finally:
        bot.close()
    return {"subscriptions": added}


def ask(db: Path, data: Path) -> None:
    bot = open_bot(Settings(db_path=db, data_dir=data))
    # Later commits keep answers until the catalogue changes; every question here is worked out afresh, as
    # the commit before the redesign answers it.
    forget = getattr(bot.searcher, "forget", lambda: None)
    ctx = Context(platform="console")
    clock = time.perf_counter
    print("READY", flush=True)
    for line in sys.stdin:
        text = json.loads(line)
        forget()
        start = clock()
        bot.core.handle(text, ctx)
        print(f"{(clock() - start) * 1000:.6f}", flush=True)
    bot.close()


def round_(db: Path, data: Path, url: str | None) -> dict:
    bot = open_bot(_settings(db, data, url))
    if url and bot.backend.name != "postgres":
        raise SystemExit("the state store is not on PostgreSQL")
    try:
        # Before the redesign, digests were the core's: planning.measure took the core, since then the bot.
        takes = next(iter(inspect.signature(planning.measure).parameters))
        planner = bot.core if takes == "core" else bot
        days, _, due = planning.measure(planner, PLANNING_DAY, PLANNING_DAYS)  # type: ignore[arg-type]
        passed = delivery.measure(bot, DELIVERY_AT)
    finally:
        bot.close()
    return {
        "plan_ms": [t * 1000 for t in days],
        "plan_due": due,
        "delivery_s": [passed["seconds"]],
        "delivery_claims": passed["claims"],
    }


if __name__ == "__main__":
    job, db_path, data_path = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    url = sys.argv[4] if len(sys.argv) > 4 else None
    if job == "ask":
        ask(db_path, data_path)
    else:
        result = setup(db_path, data_path, url) if job == "setup" else round_(db_path, data_path, url)
        print(json.dumps(result), flush=True)
