"""What the benchmark runs in fresh processes, so that imports count and peak RSS is one job's own.

`python -m bench.child import|open|lookup|lookup-pg|slack-server ...` prints (at most) one `READY ...` line
and then one JSON line of results on stdout. The parent (`bench.run`) starts these and reads the lines with a
bound.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402  (the clock above must start before any import)
import asyncio  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from bench.stats import ms, percentile  # noqa: E402

# Search: English words (common, stemmed plural, rarer), Korean of 1, 2 and 3+ syllables, several words in
# either language, and a typo that only the vocabulary correction finds.
SEARCH_QUERIES = (
    "housing",
    "hotlines",
    "pensioners",
    "병",
    "교통",
    "일자리",
    "solar power",
    "청년 일자리",
    "public housing for families",
    "recyclng",
)
# Autocomplete: what a user has typed so far (the last word is a prefix).
PREFIXES = ("hou", "sol", "pens", "병", "교", "일자", "청년 일", "recyc", "public ho")
FLOOR_SQL = "SELECT rowid FROM pledge_index_fts WHERE pledge_index_fts MATCH ? ORDER BY rank LIMIT ?"


def _rss_kb() -> int:
    """This process's peak RSS in KiB: VmHWM, which starts afresh at exec.

    `ru_maxrss` does not: Linux carries the high-water mark over fork and exec, so a child of a large
    parent (the benchmark, holding the generated data) would report the parent's size.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _emit(data: dict) -> None:
    print(json.dumps(data), flush=True)


def _settings(args: argparse.Namespace, **extra):
    from bot.config import Settings

    return Settings(db_path=Path(args.db), data_dir=Path(args.data), **extra)


class _LoadWatch(logging.Handler):
    """Notices the catalogue loader's "built the catalogue from N records" line, i.e. that the data folder
    was (re)loaded."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.loaded = False

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("built the catalogue "):
            self.loaded = True


def _watch_loads() -> _LoadWatch:
    watch = _LoadWatch()
    logger = logging.getLogger("bot.loading")
    logger.setLevel(logging.INFO)
    logger.addHandler(watch)
    return watch


def cmd_import(args: argparse.Namespace) -> None:
    """Open an empty database on the data folder: validate, write and index every record."""
    watch = _watch_loads()
    from bot.cli import open_bot

    imported = time.perf_counter()
    bot = open_bot(_settings(args))
    opened = time.perf_counter()
    pledges = bot.store.db.execute("SELECT COUNT(*) FROM pledges").fetchone()[0]
    bot.close()
    _emit(
        {
            "seconds": opened - imported,
            "pledges": pledges,
            "loaded": watch.loaded,
            "rss_kb": _rss_kb(),
        }
    )


def cmd_open(args: argparse.Namespace) -> None:
    """Cold start: import the bot and open the built database; READY when it can answer."""
    watch = _watch_loads()
    from bot.cli import open_bot
    from bot.replies import Context

    imported = time.perf_counter()
    bot = open_bot(_settings(args))
    core = bot.core
    opened = time.perf_counter()
    print("READY", flush=True)
    # After ready, and not counted in it: the first answer, the first calendar use, the adapters' imports.
    start = time.perf_counter()
    core.handle("hotlines", Context(platform="console"))
    first = time.perf_counter() - start
    start = time.perf_counter()
    milestones = len(bot.calendars.current())
    calendar = time.perf_counter() - start
    start = time.perf_counter()
    import adapters.discord_app.client
    import adapters.slack_app.server  # noqa: F401

    adapters_seconds = time.perf_counter() - start
    bot.close()
    _emit(
        {
            "imports": imported - STARTED,
            "open": opened - imported,
            "ready": opened - STARTED,
            "rebuilt": watch.loaded,
            "first_answer": first,
            "calendar": calendar,
            "milestones": milestones,
            "adapter_imports": adapters_seconds,
            "rss_kb": _rss_kb(),
        }
    )


def floor_expression(searcher, query: str, prefix: bool) -> str:
    """The FTS5 expression that produces the core's answer for `query`: the floor runs exactly this.

    It is the expression `Searcher.search` ended with (all parts, a safe correction, or the parts that
    matched), computed once per query, outside the timings.
    """
    return searcher.search(query, prefix=prefix).expression or '""'


def _time_pairs(core_call, floor_call, items, rounds: int) -> tuple[dict, dict]:
    """Interleaved timings of the core and its floor, per item: {item: [seconds, ...]} for each."""
    ours: dict[str, list[float]] = {i: [] for i in items}
    floor: dict[str, list[float]] = {i: [] for i in items}
    clock = time.perf_counter
    for _ in range(rounds):
        for item in items:
            start = clock()
            core_call(item)
            ours[item].append(clock() - start)
            start = clock()
            floor_call(item)
            floor[item].append(clock() - start)
    return ours, floor


def cmd_lookup(args: argparse.Namespace) -> None:
    """Lookup and autocomplete latency through the core, each beside the raw FTS5 MATCH on the same file."""
    from bot.cli import open_bot
    from bot.lookups.answers import PAGE_SIZE
    from bot.replies import Context

    bot = open_bot(_settings(args))
    core = bot.core
    conn = bot.store.db.conn
    ctx = Context(platform="slack", workspace="T0BENCH", channel="C0BENCH", user="U0BENCH")
    search_floor = {q: floor_expression(bot.searcher, q, False) for q in SEARCH_QUERIES}
    prefix_floor = {p: floor_expression(bot.searcher, p, True) for p in PREFIXES}
    answers = {q: core.handle(q, ctx) for q in SEARCH_QUERIES}

    def afresh(query: str) -> None:
        # Each round asks the same questions: timed as first askings, not as answers kept from the last.
        bot.searcher.forget()
        core.handle(query, ctx)

    # Warm the page cache and SQLite's statement cache for both sides alike.
    _time_pairs(
        afresh,
        lambda q: conn.execute(FLOOR_SQL, [search_floor[q], PAGE_SIZE]).fetchall(),
        SEARCH_QUERIES,
        3,
    )
    ours, floor = _time_pairs(
        afresh,
        lambda q: conn.execute(FLOOR_SQL, [search_floor[q], PAGE_SIZE]).fetchall(),
        SEARCH_QUERIES,
        args.rounds,
    )

    def suggest_afresh(prefix: str) -> None:
        bot.searcher.forget()
        core.suggest(prefix, 25)

    s_ours, s_floor = _time_pairs(
        suggest_afresh,
        lambda p: conn.execute(FLOOR_SQL, [prefix_floor[p], 25]).fetchall(),
        PREFIXES,
        args.rounds,
    )
    bot.close()

    def summary(samples: dict[str, list[float]]) -> dict:
        flat = [s for values in samples.values() for s in values]
        return {"p50": ms(percentile(flat, 50)), "p99": ms(percentile(flat, 99)), "n": len(flat)}

    _emit(
        {
            "search": {"core": summary(ours), "floor": summary(floor)},
            "suggest": {"core": summary(s_ours), "floor": summary(s_floor)},
            "queries": [
                {
                    "query": q,
                    "expression": search_floor[q],
                    "total": answers[q].total,
                    "core_p50": ms(percentile(ours[q], 50)),
                    "floor_p50": ms(percentile(floor[q], 50)),
                }
                for q in SEARCH_QUERIES
            ],
            "prefixes": [
                {
                    "query": p,
                    "expression": prefix_floor[p],
                    "core_p50": ms(percentile(s_ours[p], 50)),
                    "floor_p50": ms(percentile(s_floor[p], 50)),
                }
                for p in PREFIXES
            ],
            "rss_kb": _rss_kb(),
        }
    )


def cmd_lookup_pg(args: argparse.Namespace) -> None:
    """Lookups with DATABASE_URL set beside SQLite-only: two bots in this process, interleaved call by call.

    `--db` is the SQLite-only catalogue; `--pg-db` is the catalogue built from the PostgreSQL journal (a
    catalogue belongs to one journal). Both are loaded from the same data folder, so they hold the same rows.
    """
    from unittest import mock

    from bot.cli import open_bot
    from bot.config import Secret, Settings
    from bot.replies import Context

    sqlite_only = open_bot(_settings(args))
    with_url = open_bot(
        Settings(db_path=Path(args.pg_db), data_dir=Path(args.data), database_url=Secret(args.database_url))
    )
    if with_url.backend.name != "postgres":
        raise SystemExit("the DATABASE_URL bot is not on PostgreSQL")
    ctx = Context(platform="slack", workspace="T0BENCH", channel="C0BENCH", user="U0BENCH")
    bots = {"sqlite": sqlite_only, "postgres": with_url}
    # Count what the lookups ask of the PostgreSQL backend (the catalogue is SQLite in both bots).
    calls = {"n": 0}
    backend = with_url.backend
    read, transaction = backend.read, backend.transaction

    def counted(original):
        def call(*args, **kwargs):
            calls["n"] += 1
            return original(*args, **kwargs)

        return call

    samples: dict[str, list[float]] = {name: [] for name in bots}
    clock = time.perf_counter
    order = list(bots)
    with (
        mock.patch.object(backend, "read", counted(read)),
        mock.patch.object(backend, "transaction", counted(transaction)),
    ):
        for round_ in range(args.rounds + 3):  # the first 3 rounds warm both alike and are not kept
            for query in SEARCH_QUERIES:
                for name in order:
                    bots[name].searcher.forget()  # first askings, as for the SQLite lookups
                    start = clock()
                    bots[name].core.handle(query, ctx)
                    seconds = clock() - start
                    if round_ >= 3:
                        samples[name].append(seconds)
                order.reverse()  # neither side always goes first
    sqlite_only.close()
    with_url.close()
    _emit(
        {
            **{
                name: {"p50": ms(percentile(s, 50)), "p99": ms(percentile(s, 99)), "n": len(s)}
                for name, s in samples.items()
            },
            "state_calls": calls["n"],
        }
    )


def cmd_slack_server(args: argparse.Namespace) -> None:
    """Serve Slack HTTP mode on 127.0.0.1 (pledgebot's app, or a bare Bolt app) until stdin closes."""
    asyncio.run(_slack_server(args))
    _emit({"rss_kb": _rss_kb()})


async def _slack_server(args: argparse.Namespace) -> None:
    from bot.config import Secret

    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def wait_for_eof() -> None:
        sys.stdin.read()
        loop.call_soon_threadsafe(stopping.set)

    threading.Thread(target=wait_for_eof, daemon=True).start()
    settings = _settings(
        args,
        slack_bot_token=Secret(args.token),
        slack_signing_secret=Secret(args.secret),
        slack_api_url=args.api_url,
        port=0,
    )
    if args.mode == "pledgebot":
        from adapters.slack_app.app import serve
        from bot.cli import open_bot

        bot = open_bot(settings)
        ready: asyncio.Future[str] = loop.create_future()
        task = asyncio.create_task(serve(bot.core, settings, stopping, host="127.0.0.1", ready=ready))
        either: set[asyncio.Future[Any]] = {task, ready}
        done, _ = await asyncio.wait(either, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            raise SystemExit("the Slack app did not start")
        print(f"READY {ready.result()}", flush=True)
        await task
        bot.close()
        return
    await _serve_bare(args, settings, stopping)


async def _serve_bare(args: argparse.Namespace, settings, stopping: asyncio.Event) -> None:
    """A bare Bolt AsyncApp whose /pledge acks and responds with a constant, behind the same server."""
    from aiohttp import web
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    from adapters.slack_app.server import build_web_app

    app = AsyncApp(
        client=AsyncWebClient(token=args.token, base_url=args.api_url),
        signing_secret=args.secret,
        process_before_response=False,
    )

    @app.command("/pledge")
    async def pledge(ack, respond) -> None:
        await ack()
        await respond("A constant answer.")

    runner = web.AppRunner(build_web_app(app, args.secret), handle_signals=False, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        print(f"READY http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
        await stopping.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    """The child's command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.child")
    parser.add_argument("job", choices=("import", "open", "lookup", "lookup-pg", "slack-server"))
    parser.add_argument("--db", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--pg-db", default="")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--mode", choices=("pledgebot", "bare"), default="pledgebot")
    parser.add_argument("--api-url", default="")
    parser.add_argument("--token", default="")
    parser.add_argument("--secret", default="")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    jobs = {
        "import": cmd_import,
        "open": cmd_open,
        "lookup": cmd_lookup,
        "lookup-pg": cmd_lookup_pg,
        "slack-server": cmd_slack_server,
    }
    jobs[args.job](args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
