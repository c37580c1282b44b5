"""The composition root: `pledgebot` (and `python -m bot`) builds the store, the core and the adapters."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from bot import dataset as ds
from bot.config import ConfigError, Settings, load_settings
from bot.core import Core

log = logging.getLogger("pledgebot")
Serve = Callable[[Core, Settings, asyncio.Event], Awaitable[None]]


def build_parser() -> argparse.ArgumentParser:
    """The command-line grammar."""
    parser = argparse.ArgumentParser(prog="pledgebot", description="A politician's exact words, on request.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("run", help="run every configured adapter, or the console when none is (the default)")
    sub.add_parser("console", help="answer /pledge commands typed in a terminal or piped in")
    ask = sub.add_parser("ask", help='answer one command, e.g. pledgebot ask "/pledge hotline"')
    ask.add_argument("text", nargs="+", help="the command, with or without /pledge")
    sub.add_parser("slack", help="run the Slack adapter (Socket Mode when SLACK_APP_TOKEN is set, else HTTP)")
    sub.add_parser("discord", help="run the Discord adapter")
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
    quiet = command in ("console", "ask", "import", "export", "validate") or (
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

    shell.run(core, sys.stdin, sys.stdout, interactive=sys.stdin.isatty())
    return 0


def _ask(core: Core, settings: Settings, args: argparse.Namespace) -> int:
    from adapters.console import shell

    print(shell.answer(core, " ".join(args.text)))
    return 0


def _run(core: Core, settings: Settings, args: argparse.Namespace) -> int:
    servers = _configured(settings)
    if not servers:
        log.info("no Slack or Discord credentials configured: running the console")
        return _console(core, settings, args)
    return _serve(core, settings, servers)


def _slack(core: Core, settings: Settings, args: argparse.Namespace) -> int:
    if not settings.slack_enabled:
        print("pledgebot: SLACK_BOT_TOKEN is not set; see README (Slack).", file=sys.stderr)
        return 2
    return _serve(core, settings, [_slack_serve()])


def _discord(core: Core, settings: Settings, args: argparse.Namespace) -> int:
    if not settings.discord_enabled:
        print("pledgebot: DISCORD_TOKEN is not set; see README (Discord).", file=sys.stderr)
        return 2
    return _serve(core, settings, [_discord_serve()])


def _slack_serve() -> Serve:
    from adapters.slack_app.app import serve

    return serve


def _discord_serve() -> Serve:
    from adapters.discord_app.client import serve

    return serve


def _configured_names(settings: Settings) -> list[str]:
    return [
        name for name, on in (("slack", settings.slack_enabled), ("discord", settings.discord_enabled)) if on
    ]


def _configured(settings: Settings) -> list[Serve]:
    loaders = {"slack": _slack_serve, "discord": _discord_serve}
    return [loaders[name]() for name in _configured_names(settings)]


def _serve(core: Core, settings: Settings, servers: list[Serve]) -> int:
    """Run the adapters in one event loop until SIGTERM or SIGINT, then stop them all cleanly."""

    async def main() -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        tasks = [asyncio.create_task(serve(core, settings, stopping)) for serve in servers]
        # One adapter failing must stop the others too, so the host restarts a whole, healthy process.
        _done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        stopping.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                raise result

    try:
        asyncio.run(main())
    except ConfigError as error:
        print(f"pledgebot: configuration error: {error}", file=sys.stderr)
        return 2
    return 0


def _import(core: Core, settings: Settings, args: argparse.Namespace) -> int:
    progress = _progress_bar() if sys.stderr.isatty() else None
    try:
        count = core.catalogue.import_files(args.files, progress)
    except ds.DatasetError as error:
        print(f"pledgebot: import aborted, the database is unchanged.\n{error}", file=sys.stderr)
        return 1
    core.reload()
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
    "console": _console,
    "ask": _ask,
    "slack": _slack,
    "discord": _discord,
    "import": _import,
    "export": _export,
}
