"""The composition root: `pledgebot` (and `python -m bot`) builds the store, the core and the adapters."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import datetime as dt
import json
import logging
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path

from bot import dataset as ds
from bot.config import ConfigError, Settings, load_settings
from bot.core import Core
from bot.delivery import Deliverer, DeliveryService, PassReport
from bot.schedule import Scheduler

log = logging.getLogger("pledgebot")
Serve = Callable[[Core, Settings, asyncio.Event], Awaitable[None]]


def build_parser() -> argparse.ArgumentParser:
    """The command-line grammar."""
    parser = argparse.ArgumentParser(prog="pledgebot", description="A politician's exact words, on request.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser(
        "run",
        help="every configured adapter and the reminder scheduler, or the console when none is (default)",
    )
    sub.add_parser("web", help="the Slack adapter alone, no scheduler (the Procfile's web process)")
    sub.add_parser(
        "worker", help="Discord, Slack Socket Mode and the reminder scheduler (the Procfile's worker process)"
    )
    sub.add_parser("console", help="answer /pledge commands typed in a terminal or piped in")
    ask = sub.add_parser("ask", help='answer one command, e.g. pledgebot ask "/pledge hotline"')
    ask.add_argument("text", nargs="+", help="the command, with or without /pledge")
    sub.add_parser(
        "slack", help="the Slack adapter alone (Socket Mode when SLACK_APP_TOKEN is set, else HTTP)"
    )
    sub.add_parser("discord", help="the Discord adapter alone")
    rem = sub.add_parser("reminders", help="print what falls due on a date (the plan; sends nothing)")
    rem.add_argument("--date", type=_date_arg, help="YYYY-MM-DD (default: today in PLEDGEBOT_TIMEZONE)")
    rem.add_argument("--days", type=int, default=1, help="how many days from --date (default 1, at most 366)")
    dlv = sub.add_parser("deliver", help="run one delivery pass now, or as if the clock read --at")
    dlv.add_argument(
        "--at", type=_datetime_arg, help="ISO 8601 time with offset, e.g. 2026-05-26T09:05:00+09:00"
    )
    imp = sub.add_parser("import", help="add dataset files (YAML, JSON, CSV) to the database, all or nothing")
    imp.add_argument("files", nargs="+", type=Path)
    exp = sub.add_parser("export", help="write the catalogue as JSON (to stdout or a file) or CSV (a folder)")
    exp.add_argument("--format", choices=("json", "csv"), default="json")
    exp.add_argument("--output", "-o", type=Path, help="file (JSON) or folder (CSV); JSON defaults to stdout")
    val = sub.add_parser(
        "validate", help="check dataset files (default: the data folder) without loading them"
    )
    val.add_argument("files", nargs="*", type=Path)
    return parser


def _date_arg(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date in the form YYYY-MM-DD") from None


def _datetime_arg(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not an ISO 8601 time such as 2026-05-26T09:05:00+09:00"
        ) from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"'{text}' needs a UTC offset, such as +09:00 or Z")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"pledgebot: configuration error: {error}", file=sys.stderr)
        return 2
    command = args.command or "run"
    # In a terminal the replies are the output; progress logs only matter for long-running servers.
    quiet = command in ("console", "ask", "import", "export", "validate", "reminders") or (
        command == "run" and not _configured_names(settings)
    )
    level = settings.log_level if settings.log_level_set or not quiet else "WARNING"
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if command == "validate":
        return _validate(settings, args.files)
    try:
        core = Core.open(settings)
    except ds.DatasetError as error:
        print(f"pledgebot: the data folder has problems; nothing was loaded.\n{error}", file=sys.stderr)
        return 1
    try:
        return _COMMANDS[command](core, settings, args)
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); that is not an error worth a traceback.
        sys.stderr.close()
        return 0
    finally:
        core.close()


def _console(core: Core, settings: Settings, args: argparse.Namespace) -> int:
    from adapters.console import shell

    if not sys.stdin.isatty():
        # A pipe is a batch: answer every line and exit at its end, with nothing scheduled in between.
        shell.run(core, sys.stdin, sys.stdout, interactive=False)
        return 0
    return _serve(core, settings, [_console_serve], scheduler=True)


def _ask(core: Core, settings: Settings, args: argparse.Namespace) -> int:
    from adapters.console import shell

    print(shell.answer(core, " ".join(args.text)))
    return 0


def _run(core: Core, settings: Settings, args: argparse.Namespace) -> int:
    servers = [loader() for name, loader in _ADAPTERS.items() if _enabled(settings, name)]
    if not servers:
        log.info("no Slack or Discord credentials configured: running the console")
        return _console(core, settings, args)
    return _serve(core, settings, servers, scheduler=True)


def _web(core: Core, settings: Settings, args: argparse.Namespace) -> int:
    return _slack(core, settings, args)


def _worker(core: Core, settings: Settings, args: argparse.Namespace) -> int:
    # Slack HTTP mode belongs to the web process; Socket Mode holds a connection, like the Discord gateway.
    servers = [_discord_serve()] if settings.discord_enabled else []
    if settings.slack_socket_mode:
        servers.append(_slack_serve())
    return _serve(core, settings, servers, scheduler=True)


def _slack(core: Core, settings: Settings, args: argparse.Namespace) -> int:
    if not settings.slack_enabled:
        print("pledgebot: SLACK_BOT_TOKEN is not set; see README (Slack).", file=sys.stderr)
        return 2
    return _serve(core, settings, [_slack_serve()], scheduler=False)


def _discord(core: Core, settings: Settings, args: argparse.Namespace) -> int:
    if not settings.discord_enabled:
        print("pledgebot: DISCORD_TOKEN is not set; see README (Discord).", file=sys.stderr)
        return 2
    return _serve(core, settings, [_discord_serve()], scheduler=False)


def _slack_serve() -> Serve:
    from adapters.slack_app.app import serve

    return serve


def _discord_serve() -> Serve:
    from adapters.discord_app.client import serve

    return serve


async def _console_serve(core: Core, settings: Settings, stopping: asyncio.Event) -> None:
    from adapters.console import shell

    await shell.serve(core, sys.stdin, sys.stdout, stopping)


_ADAPTERS = {"slack": _slack_serve, "discord": _discord_serve}


def _enabled(settings: Settings, name: str) -> bool:
    return {"slack": settings.slack_enabled, "discord": settings.discord_enabled}[name]


def _configured_names(settings: Settings) -> list[str]:
    return [name for name in _ADAPTERS if _enabled(settings, name)]


@contextlib.asynccontextmanager
async def _deliverers(settings: Settings, *, console: bool) -> AsyncIterator[dict[str, Deliverer]]:
    """A deliverer for every configured platform (and the console's), closed on exit."""
    async with contextlib.AsyncExitStack() as stack:
        found: dict[str, Deliverer] = {}
        if console:
            from adapters.console.shell import ConsoleDeliverer

            found["console"] = ConsoleDeliverer(sys.stdout)
        if settings.slack_enabled:
            from adapters.slack_app.delivery import deliverer as slack_deliverer

            found["slack"] = await stack.enter_async_context(slack_deliverer(settings))
        if settings.discord_enabled:
            from adapters.discord_app.delivery import deliverer as discord_deliverer

            found["discord"] = await stack.enter_async_context(discord_deliverer(settings))
        yield found


def _serve(core: Core, settings: Settings, servers: list[Serve], *, scheduler: bool) -> int:
    """Run the adapters (and the scheduler) in one event loop until SIGTERM or SIGINT, then stop cleanly."""

    async def main() -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        console = _console_serve in servers
        async with _deliverers(settings, console=console) as deliverers:
            schedule = None
            if scheduler:
                service = DeliveryService(
                    core, deliverers, grace=dt.timedelta(hours=settings.reminder_grace_hours)
                )
                schedule = Scheduler(service)
                schedule.start()
            tasks = [asyncio.create_task(serve(core, settings, stopping)) for serve in servers]
            if not tasks:
                tasks.append(asyncio.create_task(stopping.wait()))
            try:
                # One adapter ending must stop the others too, so the host restarts a whole, healthy process.
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopping.set()
                # The adapters drain their answers while a digest being posted is finished and recorded.
                draining = schedule.stop() if schedule is not None else asyncio.sleep(0)
                results, _ = await asyncio.gather(asyncio.gather(*tasks, return_exceptions=True), draining)
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                raise result

    try:
        asyncio.run(main())
    except ConfigError as error:
        print(f"pledgebot: configuration error: {error}", file=sys.stderr)
        return 2
    return 0


def _reminders(core: Core, settings: Settings, args: argparse.Namespace) -> int:
    from adapters.console.render import render

    if not 1 <= args.days <= 366:
        print("pledgebot: --days must be from 1 to 366", file=sys.stderr)
        return 2
    start = args.date or core.today()
    printed = False
    for offset in range(args.days):
        day = start + dt.timedelta(days=offset)
        digest = core.digest(day)
        if digest is not None:
            print(render(digest) + "\n")
            printed = True
    if not printed:
        end = start + dt.timedelta(days=args.days - 1)
        print(f"Nothing falls due from {start.isoformat()} to {end.isoformat()}.")
    return 0


def _deliver(core: Core, settings: Settings, args: argparse.Namespace) -> int:
    async def main() -> PassReport:
        async with _deliverers(settings, console=True) as deliverers:
            service = DeliveryService(
                core, deliverers, grace=dt.timedelta(hours=settings.reminder_grace_hours)
            )
            return await service.run_pass(args.at, rerun=args.at is not None)

    report = asyncio.run(main())
    print(
        f"Delivery pass: {len(report.sent)} sent, {len(report.empty)} with nothing due, "
        f"{len(report.skipped)} skipped (too late), {len(report.failed)} failed."
    )
    return 1 if report.failed else 0


def _import(core: Core, settings: Settings, args: argparse.Namespace) -> int:
    progress = _progress_bar() if sys.stderr.isatty() else None
    try:
        count = core.catalogue.import_files(args.files, progress)
    except ds.DatasetError as error:
        print(f"pledgebot: import aborted, the database is unchanged.\n{error}", file=sys.stderr)
        return 1
    print(f"Imported {count} records from {len(args.files)} file(s).")
    return 0


def _progress_bar() -> Callable[[int, int], None]:
    def show(done: int, total: int) -> None:
        width = 40
        filled = width * done // max(total, 1)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def _export(core: Core, settings: Settings, args: argparse.Namespace) -> int:
    tables = core.catalogue.export()
    if args.format == "json":
        text = json.dumps(tables, ensure_ascii=False, indent=2) + "\n"
        if args.output:
            args.output.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return 0
    if not args.output:
        print("pledgebot: CSV export writes one file per table; name a folder with --output", file=sys.stderr)
        return 2
    args.output.mkdir(parents=True, exist_ok=True)
    for table, rows in tables.items():
        fields = [name for name, _, _ in ds.SCHEMA[table]]
        with (args.output / f"{table}.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            for row in rows:
                writer.writerow({k: "; ".join(v) if isinstance(v, list) else v for k, v in row.items()})
    print(f"Wrote {len(tables)} CSV files to {args.output}")
    return 0


def _validate(settings: Settings, files: list[Path]) -> int:
    paths = files or ds.data_files(settings.data_dir)
    try:
        data = ds.load(paths)
    except ds.DatasetError as error:
        print(f"pledgebot: {error}", file=sys.stderr)
        return 1
    counts = {t: len(data.rows(t)) for t in ds.TABLES}
    summary = ", ".join(f"{n} {t}" for t, n in counts.items() if n)
    print(
        f"OK: {len(paths)} file(s), {summary}; every quote is verbatim in its source text where we hold it."
    )
    return 0


_COMMANDS: dict[str, Callable[[Core, Settings, argparse.Namespace], int]] = {
    "run": _run,
    "web": _web,
    "worker": _worker,
    "reminders": _reminders,
    "deliver": _deliver,
    "console": _console,
    "ask": _ask,
    "slack": _slack,
    "discord": _discord,
    "import": _import,
    "export": _export,
}
