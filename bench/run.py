"""`python -m bench`: generate the data, run every measurement beside its floor, write the report."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from bench import compare, generate, query_mix, reporters
from bench.child import SEARCH_QUERIES
from bench.process import Child, run_child
from bench.report import Report, machine
from bench.stats import Row, ms

PLANNING_DAY = dt.date(2026, 5, 26)
CONCURRENCY = 16
# The delivery pass runs at this moment (inside the planned days, so both stores' digests are built alike).
DELIVERY_AT = dt.datetime(2026, 5, 27, 12, 0, 30, tzinfo=dt.UTC)
PLANNING_GAP = 10  # days after PLANNING_DAY where the planning beside PostgreSQL starts (none planned yet)
PASS_TARGET = 60.0  # seconds: the scheduler's catch-up pass runs every minute
LOOKUP_SLACK = 1.10  # lookups with DATABASE_URL set: within 10% of SQLite-only


@dataclass(frozen=True)
class Profile:
    """How much of everything to do: the full run, or the smoke run the test suite uses."""

    pledges: int
    subscriptions: int
    lookup_rounds: int
    slack_requests: int
    slack_warmup: int
    discord_interactions: int
    discord_warmup: int
    repeats: int
    cold_starts: int
    planning_days: int
    # The delivery pass's subscriptions: the generated ones, topped up with copies (100,000 due at once).
    delivery_subscriptions: int
    # The national dataset's officials (ten pledges each) and rounds of its scoped lookups.
    officials: int = 260
    national_rounds: int = 50


FULL = Profile(100_000, 10_000, 100, 2000, 200, 300, 30, 2, 3, 5, 100_000)
QUICK = Profile(300, 50, 3, 40, 8, 12, 3, 1, 1, 2, 80, officials=40, national_rounds=2)
PASS_SLACK = 1.5  # the delivery pass: within 1.5x its floor
FLOOR_SLACK = 2.0  # import and planning: within 2x theirs


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write the report; returns an exit status."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--pledges", type=int, help=f"pledges to generate (default {FULL.pledges})")
    parser.add_argument("--subscriptions", type=int, help=f"subscriptions (default {FULL.subscriptions})")
    parser.add_argument(
        "--delivery-subscriptions",
        type=int,
        help=f"subscriptions due in the delivery pass (default {FULL.delivery_subscriptions})",
    )
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run (seconds, not minutes)")
    parser.add_argument("--output", type=Path, default=Path("BENCHMARKS.md"), help="report to write")
    parser.add_argument("--workdir", type=Path, help="where to put data and databases (default: a temp dir)")
    args = parser.parse_args(argv)
    base = QUICK if args.quick else FULL
    profile = replace(
        base,
        pledges=args.pledges or base.pledges,
        subscriptions=args.subscriptions if args.subscriptions is not None else base.subscriptions,
        delivery_subscriptions=args.delivery_subscriptions or base.delivery_subscriptions,
    )
    logging.basicConfig(level=logging.WARNING)
    # discord.py warns that voice support is not installed; nothing here uses voice.
    logging.getLogger("discord").setLevel(logging.ERROR)
    command = " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])])
    work = args.workdir or Path(tempfile.mkdtemp(prefix="pledgebot-bench-"))
    try:
        report = run(profile, work, command)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    text = report.markdown()
    # What `python -m bench.compare` measured stays until it measures again.
    if kept := compare.sections(args.output):
        text = text.rstrip("\n") + "\n\n" + kept
    args.output.write_text(text, encoding="utf-8")
    print(report.table())
    print(f"\nwrote {args.output}", file=sys.stderr)
    return 0


def _say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(profile: Profile, work: Path, command: str) -> Report:
    """Every measurement, in order; returns the report."""
    from bot.cli import open_bot
    from bot.config import Settings

    data = work / "data"
    db = work / "bench.db"
    report = Report(command=command, machine=machine(), started=dt.datetime.now(dt.UTC))
    report.load.append(os.getloadavg()[0])

    _say(f"generating {profile.pledges:,} pledges and {profile.subscriptions:,} subscriptions")
    made = generate.generate(data, profile.pledges, profile.subscriptions)
    report.dataset = made

    _say("import: loading the data folder into an empty database (fresh process)")
    imported = run_child("import", "--db", str(db), "--data", str(data), timeout=1800)
    if imported["pledges"] != made.pledges or not imported["loaded"]:
        raise RuntimeError(f"the import did not load every pledge: {imported}")
    from bench import bulk_load

    floor, loaded = bulk_load.measure(db, work / "bulk-load.db")
    report.add(
        Row(
            f"Import of {made.pledges:,} pledges (cold, empty db)",
            imported["seconds"],
            "s",
            floor,
            "the same rows: sqlite3 executemany + FTS rebuild",
            target="< 30 s and ≤ 2x floor",
            met=imported["seconds"] < 30 and imported["seconds"] <= FLOOR_SLACK * floor,
            note=f"validate + write + index, `open_bot` on the data folder; floor loads {loaded:,} rows",
        )
    )
    report.add(
        Row(
            "Peak RSS, importing process",
            imported["rss_kb"] / 1024,
            "MB",
            target="< 150 MB",
            met=imported["rss_kb"] / 1024 < 150,
        )
    )

    settings = Settings(db_path=db, data_dir=data)
    bot = open_bot(settings)
    # Setup only, not measured: one transaction per subscription without waiting for the disk each time.
    bot.store.db.execute("PRAGMA synchronous = NORMAL")
    generate.insert_subscriptions(
        bot.subscriptions, data / generate.SUBSCRIPTIONS_FILE, dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )
    bot.store.db.execute("PRAGMA synchronous = FULL")

    _say("cold start (fresh processes)")
    starts, floors, details = [], [], []
    for _ in range(profile.cold_starts):
        wall, detail = asyncio.run(_cold_start(db, data))
        starts.append(wall)
        details.append(detail)
        floors.append(_python_sqlite_floor(db))
    if any(d["rebuilt"] for d in details):
        raise RuntimeError("cold start reloaded the data folder although nothing changed")
    cold = statistics.median(starts)
    report.cold_start = details[starts.index(cold)] | {"wall": cold}
    report.add(
        Row(
            "Cold start to ready (db built)",
            ms(cold),
            "ms",
            floor=ms(statistics.median(floors)),
            floor_label="python + sqlite3 open + one query",
            target="< 1000 ms",
            met=cold < 1.0,
            note=f"median of {profile.cold_starts}; no rebuild (fingerprint unchanged)",
        )
    )

    _say("lookup and autocomplete latency (fresh process)")
    lookup = run_child(
        "lookup", "--db", str(db), "--data", str(data), "--rounds", str(profile.lookup_rounds), timeout=1800
    )
    report.lookup = lookup
    search, suggest = lookup["search"], lookup["suggest"]
    floor_label = "FTS5 MATCH … ORDER BY rank LIMIT 3"
    report.add(
        Row("Lookup p50 (`core.handle`)", search["core"]["p50"], "ms", search["floor"]["p50"], floor_label)
    )
    p99 = search["core"]["p99"]
    report.add(
        Row(
            "Lookup p99 (`core.handle`)",
            p99,
            "ms",
            search["floor"]["p99"],
            floor_label,
            target="≤ 2x floor and < 5 ms",
            met=p99 <= 2 * search["floor"]["p99"] and p99 < 5,
        )
    )
    _say("frequency-weighted lookup mix (bench/query_mix.py)")
    mix = query_mix.measure(db, data, count=200 if profile.pledges < 10_000 else 2000)
    mix_label = "naive: same MATCH, bm25 over every hit"
    report.add(
        Row(
            "Lookup mix p50 (`Searcher.search`)",
            mix["p50"],
            "ms",
            mix["floor_p50"],
            mix_label,
            target="< 1 ms",
            met=mix["p50"] < 1,
        )
    )
    report.add(
        Row(
            "Lookup mix p99 (`Searcher.search`)",
            mix["p99"],
            "ms",
            mix["floor_p99"],
            mix_label,
            target="< 5 ms",
            met=mix["p99"] < 5,
        )
    )
    # The whole answer a reader waits for, on the same mix: parsing, search and the cards; the questions
    # asked before answered from the searcher's kept answers, as a serving process does, and first askings
    # on their own.
    askings = (
        (
            "",
            "core",
            f"in order, {mix['queries'] - mix['first_askings']:,} of {mix['queries']:,} asked before",
        ),
        (", first askings", "core_first", f"the {mix['first_askings']:,} questions not asked before"),
    )
    for label, key, note in askings:
        for measure, target in (("p50", 1), ("p99", 5)):
            report.add(
                Row(
                    f"Lookup mix {measure} (`core.handle`{label})",
                    mix[f"{key}_{measure}"],
                    "ms",
                    mix[f"floor_{measure}"],
                    mix_label,
                    target=f"< {target} ms",
                    met=mix[f"{key}_{measure}"] < target,
                    note=note,
                )
            )
    _say("reporters' questions (bench/reporters.py)")
    asked = reporters.measure(min(profile.pledges, reporters.PLEDGES))
    report.reporters = asked
    for measure in ("hits@1", "recall@5"):
        report.add(
            Row(
                f"Reporters' questions {measure}",
                asked["all"][measure],
                "",
                note=f"{asked['all']['questions']} questions in five classes, by class below",
            )
        )
    s_label = "FTS5 prefix MATCH … ORDER BY rank LIMIT 25"
    report.add(
        Row(
            "Autocomplete p50 (`core.suggest`)",
            suggest["core"]["p50"],
            "ms",
            suggest["floor"]["p50"],
            s_label,
        )
    )
    report.add(
        Row(
            "Autocomplete p99 (`core.suggest`)",
            suggest["core"]["p99"],
            "ms",
            suggest["floor"]["p99"],
            s_label,
        )
    )
    report.add(
        Row(
            "Peak RSS, process answering lookups",
            lookup["rss_kb"] / 1024,
            "MB",
            target="< 150 MB",
            met=lookup["rss_kb"] / 1024 < 150,
        )
    )

    _say("planning a day's reminders")
    from bench import planning

    times, subs, due = planning.measure(bot, PLANNING_DAY, profile.planning_days)
    plan = statistics.median(times)
    walk = statistics.median(planning.measure_floor(bot, PLANNING_DAY, profile.planning_days))
    report.add(
        Row(
            f"Plan one day: {subs:,} subscriptions ({made.topic_filtered:,} following topics, "
            f"{made.pledge_filtered:,} following pledges), {made.milestones:,} milestones and "
            f"{made.deadlines:,} pledge deadlines",
            ms(plan),
            "ms",
            ms(walk),
            "bare loop: the same occurrences and subscriptions, no grouping or rendering",
            target="< 200 ms and ≤ 2x floor",
            met=plan < 0.2 and plan <= FLOOR_SLACK * walk,
            note=f"median of {len(times)} days (max {ms(max(times)):.0f} ms); {due:,} digests due",
        )
    )

    _say(
        f"Slack HTTP: {profile.slack_requests} signed slash commands, {CONCURRENCY} in flight, "
        f"x{profile.repeats}"
    )
    from bench import slack_load

    slack = asyncio.run(
        slack_load.measure(
            db,
            data,
            SEARCH_QUERIES,
            profile.slack_requests,
            CONCURRENCY,
            profile.slack_warmup,
            profile.repeats,
        )
    )
    ours, bare = slack["pledgebot"], slack["bare"]
    report.add(
        Row(
            "Slack HTTP throughput",
            ours.throughput,
            "req/s",
            bare.throughput,
            "bare Bolt AsyncApp, same server",
            target="≥ 0.8x floor",
            met=ours.throughput >= 0.8 * bare.throughput,
            note=f"{ours.requests:,} requests, {CONCURRENCY} in flight",
        )
    )
    report.add(Row("Slack HTTP p50 (command → response_url)", ours.p50_ms, "ms", bare.p50_ms, "bare Bolt"))
    report.add(Row("Slack HTTP p99 (command → response_url)", ours.p99_ms, "ms", bare.p99_ms, "bare Bolt"))
    # `show <id>`: a point lookup, the quick command adapters answer on their loop (`Core.answer_now`).
    cheap = (f"show {bot.store.db.execute('SELECT id FROM pledges ORDER BY id LIMIT 1').fetchone()[0]}",)
    slack_cheap = asyncio.run(
        slack_load.measure(
            db, data, cheap, profile.slack_requests, CONCURRENCY, profile.slack_warmup, profile.repeats
        )
    )
    c_ours, c_bare = slack_cheap["pledgebot"], slack_cheap["bare"]
    report.add(
        Row(
            "Slack HTTP throughput, a pledge id (adapter cost)",
            c_ours.throughput,
            "req/s",
            c_bare.throughput,
            "bare Bolt AsyncApp, same server",
            target="≥ 0.8x floor",
            met=c_ours.throughput >= 0.8 * c_bare.throughput,
            note=f"`/pledge {cheap[0]}`: the core answers in well under 1 ms, on the loop",
        )
    )
    report.add(Row("Slack HTTP p99, a pledge id", c_ours.p99_ms, "ms", c_bare.p99_ms, "bare Bolt"))
    report.add(
        Row(
            "Peak RSS, Slack server process",
            ours.rss_kb / 1024,
            "MB",
            bare.rss_kb / 1024,
            "bare Bolt server",
            target="< 150 MB",
            met=ours.rss_kb / 1024 < 150,
        )
    )

    _say(f"Discord: {profile.discord_interactions} interactions one at a time, x{profile.repeats}")
    from bench import discord_load

    discord = asyncio.run(
        discord_load.measure(
            bot, SEARCH_QUERIES, profile.discord_interactions, profile.discord_warmup, profile.repeats
        )
    )
    d_ours, d_bare = discord["pledgebot"], discord["bare"]
    discord_cheap = asyncio.run(
        discord_load.measure(
            bot, cheap, profile.discord_interactions, profile.discord_warmup, profile.repeats
        )
    )
    dc_ours, dc_bare = discord_cheap["pledgebot"], discord_cheap["bare"]
    for name, value, floor in (
        ("p50", d_ours.p50_ms, d_bare.p50_ms),
        ("p99", d_ours.p99_ms, d_bare.p99_ms),
        ("p50, a pledge id", dc_ours.p50_ms, dc_bare.p50_ms),
        ("p99, a pledge id", dc_ours.p99_ms, dc_bare.p99_ms),
    ):
        report.add(
            Row(
                f"Discord interaction → callback {name}",
                value,
                "ms",
                floor,
                "bare discord.py client, same fake",
                target="≤ 1.25x floor",
                met=value <= 1.25 * floor,
                note=f"{len(d_ours.samples):,} interactions",
            )
        )

    _say(f"delivery pass: {profile.delivery_subscriptions:,} subscriptions due, no-op deliverer (SQLite)")
    from bench import delivery

    delivery.add_subscriptions(bot, profile.delivery_subscriptions, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    sqlite_pass = delivery.measure(bot, DELIVERY_AT)
    delivery.drop_copies(bot)
    report.add(_pass_row("Delivery pass", sqlite_pass, profile.delivery_subscriptions))
    try:
        _postgres(profile, work, data, report, bot, plan, sqlite_pass)
        # Last, since it adds to the catalogue every figure above was measured on.
        _say(
            f"national dataset: {profile.officials} officials' NEC responses, their 100th day, scoped lookups"
        )
        from bench import national

        for row in national.measure(bot, work, profile.officials, plan, profile.national_rounds):
            report.add(row)
    finally:
        bot.close()
    report.load.append(os.getloadavg()[0])
    report.finished = dt.datetime.now(dt.UTC)
    return report


def _read_subscriptions(bot) -> float:
    """Median seconds of `Subscriptions.all()` on a bot's state store (of 5)."""
    times = []
    for _ in range(5):
        start = time.perf_counter()
        bot.subscriptions.all()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _pass_row(name: str, measured: dict, subscriptions: int) -> Row:
    """A delivery pass beside its floor: the same ledger rows in plain SQL batches on the same state store."""
    claims = measured["claims"]
    ledger = measured["claim_seconds"] + measured["record_seconds"]
    seconds, floor = measured["seconds"], measured["floor_seconds"]
    return Row(
        f"{name}: {subscriptions:,} subscriptions due, claim + record",
        seconds,
        "s",
        floor=floor,
        floor_label=f"the same rows, executemany in batches of {measured['batch']:,} (claim, then record)",
        target=f"< {PASS_TARGET:.0f} s and ≤ {PASS_SLACK}x floor",
        met=seconds < PASS_TARGET and seconds <= PASS_SLACK * floor and claims == subscriptions,
        note=f"{claims:,} claims ({measured['sent']:,} sent, {measured['empty']:,} empty); ledger "
        f"{ledger:.1f} s = {ms(ledger / max(claims, 1)):.2f} ms per claim + record",
    )


def _postgres(
    profile: Profile, work: Path, data: Path, report: Report, sqlite_bot, sqlite_plan: float, sqlite_pass
):
    """The rows with the state store on PostgreSQL: a server of our own, started here and stopped after."""
    from bench import delivery, pg, planning
    from bot.cli import open_bot
    from bot.config import Secret, Settings

    names = (
        "PostgreSQL state: lookup p50 (DATABASE_URL set)",
        "PostgreSQL state: lookup p99 (DATABASE_URL set)",
        f"PostgreSQL state: plan one day, {profile.subscriptions:,} subscriptions",
        f"PostgreSQL state: delivery pass: {profile.delivery_subscriptions:,} subscriptions due, "
        "claim + record",
    )
    _say("PostgreSQL: starting a server on 127.0.0.1")
    server, why = pg.start()
    if server is None:
        _say(why)
        for name in names:
            report.add(Row(name, None, "", note=why))
        return
    try:
        url = server.url(server.create_database())
        pg_db = work / "bench-pg.db"
        _say("PostgreSQL: building the catalogue from the PostgreSQL journal (setup, not measured)")
        start = time.perf_counter()
        bot = open_bot(Settings(db_path=pg_db, data_dir=data, database_url=Secret(url)))
        built = time.perf_counter() - start
        if bot.backend.name != "postgres":
            raise RuntimeError("DATABASE_URL did not put the state store on PostgreSQL")
        generate.bulk_insert_subscriptions(
            bot.backend, data / generate.SUBSCRIPTIONS_FILE, dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        )
        try:
            _say("PostgreSQL: lookups with DATABASE_URL set beside SQLite-only (fresh process)")
            looked = run_child(
                "lookup-pg",
                "--db",
                str(work / "bench.db"),
                "--pg-db",
                str(pg_db),
                "--data",
                str(data),
                "--database-url",
                url,
                "--rounds",
                str(profile.lookup_rounds),
                timeout=1800,
            )
            for name, pct in zip(names[:2], ("p50", "p99"), strict=True):
                value, floor = looked["postgres"][pct], looked["sqlite"][pct]
                report.add(
                    Row(
                        name,
                        value,
                        "ms",
                        floor,
                        "SQLite-only, same queries, interleaved",
                        target="≤ 1.1x floor",
                        met=value <= LOOKUP_SLACK * floor,
                        note=f"{looked['postgres']['n']:,} lookups each; the catalogue is SQLite in both",
                    )
                )

            _say("PostgreSQL: planning a day's reminders, beside SQLite in this same process")
            # Days neither core has planned, alternating stores day by day, so both run in the same process
            # state (this process now holds two catalogues' calendars, which makes every collection dearer).
            pg_times, lite_times = [], []
            bot.calendars.current()
            for offset in range(profile.planning_days):
                day = PLANNING_DAY + dt.timedelta(days=PLANNING_GAP + offset)
                lite_times += planning.measure(sqlite_bot, day, 1)[0]
                times, _, due = planning.measure(bot, day, 1)
                pg_times += times
            # Untimed: the days the delivery pass falls in, planned as the SQLite core planned them above.
            planning.measure(bot, PLANNING_DAY, profile.planning_days)
            plan, lite_plan = statistics.median(pg_times), statistics.median(lite_times)
            report.add(
                Row(
                    names[2],
                    ms(plan),
                    "ms",
                    ms(lite_plan),
                    "the same days planned on SQLite state, alternating",
                    target="< 200 ms",
                    met=plan < 0.2,
                    note=f"median of {len(pg_times)} days (max {ms(max(pg_times)):.0f} ms); {due:,} digests "
                    f"due; SQLite's own row, in a process with one catalogue: {ms(sqlite_plan):.0f} ms",
                )
            )

            _say(f"PostgreSQL: delivery pass, {profile.delivery_subscriptions:,} subscriptions due")
            delivery.add_subscriptions(
                bot, profile.delivery_subscriptions, dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
            )
            pg_pass = delivery.measure(bot, DELIVERY_AT)
            row = _pass_row("PostgreSQL state: delivery pass", pg_pass, profile.delivery_subscriptions)
            report.add(row)
            report.postgres = {
                "read_sqlite": _read_subscriptions(sqlite_bot),
                "read_pg": _read_subscriptions(bot),
                "version": server.admin.execute("SHOW server_version").fetchone()[0],
                "built": built,
                "sqlite_pass": sqlite_pass,
                "pg_pass": pg_pass,
                "lookup": looked,
            }
        finally:
            bot.close()
    finally:
        server.stop()


async def _cold_start(db: Path, data: Path) -> tuple[float, dict]:
    child = Child("open", "--db", str(db), "--data", str(data))
    start = time.perf_counter()
    await child.start()
    try:
        line = await child.line(timeout=120)
    except BaseException:
        await child.finish(timeout=10)
        raise
    wall = time.perf_counter() - start
    if line != "READY":
        raise RuntimeError(f"cold start printed {line!r}")
    return wall, await child.finish(timeout=120)


def _python_sqlite_floor(db: Path) -> float:
    code = (
        "import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute('SELECT COUNT(*) FROM pledges').fetchone()"
    )
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(db)], check=True, timeout=60)
    return time.perf_counter() - start
