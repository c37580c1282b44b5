"""The composition root: `pledgebot` (and `python -m bot`) builds every part once and hands it in.

`open_bot` builds the local database, the state store (SQLite or PostgreSQL), the journal, the catalogue and
its loader, importer and exporter, the searcher, the ledger and the core; the commands below run adapters and
tools over them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import datetime as dt
import json
import logging
import signal
import sqlite3
import sys
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot import commands, logs, nec
from bot import dataset as ds
from bot.backends import Backend, StateUnavailable, open_backend
from bot.catalogue import Catalogue
from bot.channels.answers import Channels
from bot.clock import Clock, utc_now
from bot.config import DEFAULT_DATA_DIR, ConfigError, Settings, load_settings
from bot.core import Core
from bot.database import DatabaseFileError, Store
from bot.desk.answers import DeskAnswers
from bot.desk.drafts import Drafts
from bot.desk.edits import Desk
from bot.desk.provenance import Fetcher, FetchError, check_quote, snapshot_ok
from bot.exporting import Exporter
from bot.help import HelpAnswers
from bot.i18n import messages
from bot.importing import Importer, os_user
from bot.installations import Installations
from bot.journal import Journal
from bot.leadership import Lease
from bot.loading import Loader
from bot.lookups.answers import Lookups, Timeline
from bot.lookups.quotes import QuoteCards
from bot.metrics import Metrics
from bot.names import name_groups
from bot.nec import TYPES
from bot.nec_import import NecImport
from bot.nec_portal import Portal
from bot.officials.answers import OfficialsAnswers
from bot.officials.records import Officials
from bot.officials.terms import TermCalendar
from bot.readiness import Readiness
from bot.registry import handlers_of
from bot.reminders.answers import Subscribing
from bot.reminders.calendar import Calendars
from bot.reminders.delivery import Deliverer, DeliveryService, Leadership, PassReport
from bot.reminders.digests import Digests
from bot.reminders.items import OccurrenceItems
from bot.reminders.ledger import Ledger
from bot.reminders.schedule import Scheduler
from bot.search import Searcher, load_synonyms
from bot.state import Editors, Subscriptions

log = logging.getLogger("pledgebot")
# A coroutine function, not just any awaitable: each server runs as its own task.
Serve = Callable[[Core, Settings, asyncio.Event], Coroutine[Any, Any, None]]
# How often a serving process looks for edits made by other processes (the bound is 2 s).
FOLLOW_SECONDS = 1.0
# Where `pledgebot run` serves the site: this port, or the next free one of the following few.
SITE_PORT = 8080
SITE_PORT_TRIES = 20
# The commands that run the scheduler under its lock (`_serve(exclusive=True)`).
SCHEDULING = ("run", "worker")


@dataclass
class Bot:
    """Every part of the bot, built once by `open_bot`."""

    settings: Settings
    store: Store
    backend: Backend
    journal: Journal
    loader: Loader
    importer: Importer
    exporter: Exporter
    catalogue: Catalogue
    searcher: Searcher
    subscriptions: Subscriptions
    editors: Editors
    fetcher: Fetcher
    calendars: Calendars
    quote_cards: QuoteCards
    lookups: Lookups
    timeline: Timeline
    digests: Digests
    desk: Desk
    core: Core
    # The digests' ledger, and the one of the desk's posts to `updates now` channels (the same guarantees).
    ledger: Ledger[dt.date]
    announcements: Ledger[int]
    # Where the bot is installed (Slack distribution), with the OAuth states and the installation log.
    installations: Installations
    # Speakers as officials: offices, regions, terms, and the words that name them.
    officials: Officials
    # This process's series (`bot.metrics`), served at /metrics.
    metrics: Metrics
    clock: Clock = utc_now

    def delivery(
        self, deliverers: dict[str, Deliverer], leadership: Leadership | None = None
    ) -> DeliveryService:
        """A delivery service over these parts and the given platforms' deliverers; under `leadership`
        (the worker's scheduler) its claims carry the lease's fencing number."""
        return DeliveryService(
            self.digests,
            self.journal,
            self.subscriptions,
            self.ledger,
            deliverers,
            grace=dt.timedelta(hours=self.settings.reminder_grace_hours),
            clock=self.clock,
            announcements=self.announcements,
            metrics=self.metrics,
            batch=self.settings.delivery_batch,
            concurrency=self.settings.delivery_concurrency,
            leadership=leadership,
        )

    def readiness(self) -> Readiness:
        """What `/readyz` asks: the catalogue and the state store."""
        return Readiness(self.store.healthy, self.backend)

    def close(self) -> None:
        """Release the state store and the database file."""
        self.backend.close()
        self.store.close()


def open_bot(settings: Settings, *, clock: Clock = utc_now, metrics: Metrics | None = None) -> Bot:
    """Build every part, and bring the catalogue up to date with the data folder and the journal; `metrics`
    are the process's series (a fresh set without)."""
    metrics = metrics or Metrics()
    store = Store(settings.db_path)
    try:
        url = settings.database_url.value if settings.database_url is not None else None
        backend = open_backend(store, url)
    except sqlite3.DatabaseError as error:
        # Pages the header check cannot see may be garbage; say so in one line and leave the file alone.
        store.close()
        raise store.damaged(error) from None
    except BaseException:
        store.close()
        raise
    journal = Journal(backend)
    loader = Loader(store, journal, settings.data_dir, clock)
    try:
        loader.refresh()
    except sqlite3.DatabaseError as error:
        backend.close()
        store.close()
        raise store.damaged(error) from None
    except BaseException:
        backend.close()
        store.close()
        raise
    catalogue = Catalogue(store)
    searcher = Searcher(
        store,
        synonyms=load_synonyms(_search_table(settings.data_dir, "synonyms.yaml")),
        names=name_groups(_search_table(settings.data_dir, "names.yaml")),
    )
    subscriptions = Subscriptions(backend)
    editors = Editors(backend)
    lease = dt.timedelta(seconds=settings.claim_lease_seconds)
    fetcher = Fetcher(allow=settings.fetch_allow, clock=clock)
    zone = ZoneInfo(settings.timezone)
    # Each feature's service, then the dispatcher over their handlers.
    registry = commands.REGISTRY
    officials = Officials(store, catalogue)
    calendars = Calendars(catalogue, derived=TermCalendar(store, officials).rows)
    items = OccurrenceItems(catalogue)
    quote_cards = QuoteCards(catalogue, settings.public_url)
    lookups = Lookups(catalogue, searcher, quote_cards, registry, officials)
    timeline = Timeline(catalogue, calendars, items, journal, searcher, lookups.search)
    channels = Channels(subscriptions, editors, zone)
    subscribing = Subscribing(
        subscriptions,
        catalogue,
        lambda text, limit, language: [s.value for s in lookups.suggest(text, limit, language)],
        officials,
    )
    desk = Desk(catalogue, loader, journal, fetcher, Drafts(backend), clock)
    desk_answers = DeskAnswers(desk, registry)
    core = Core(
        registry,
        handlers_of(
            lookups,
            timeline,
            OfficialsAnswers(officials),
            subscribing,
            channels,
            desk_answers,
            HelpAnswers(registry),
        ),
        catalogue,
        lookups,
        channels,
        desk=desk_answers,
        clock=clock,
        timezone=settings.timezone,
        health=store.healthy,
        publisher=settings.publisher or "",
        officials=officials,
        metrics=metrics,
    )
    return Bot(
        settings,
        store,
        backend,
        journal,
        loader,
        Importer(store, journal, loader, clock),
        Exporter(store),
        catalogue,
        searcher,
        subscriptions,
        editors,
        fetcher,
        calendars,
        quote_cards,
        lookups,
        timeline,
        Digests(catalogue, calendars, items, journal, zone, officials),
        desk,
        core,
        Ledger.digests(backend, lease),
        Ledger.announcements(backend, lease),
        Installations(backend),
        officials,
        metrics,
        clock,
    )


def _search_table(data_dir: Path, name: str) -> Path:
    """A search table of the data folder (`search/<name>`), or the one shipped with pledgebot when the folder
    has none: a newsroom's own data folder would otherwise search without the names of the world."""
    own = data_dir / "search" / name
    return own if own.is_file() else DEFAULT_DATA_DIR / "search" / name


def build_parser() -> argparse.ArgumentParser:
    """The command-line grammar."""
    parser = argparse.ArgumentParser(prog="pledgebot", description="A politician's exact words, on request.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser(
        "run",
        help="every configured adapter and the reminder scheduler, or the console when none is (default)",
    )
    sub.add_parser(
        "web",
        help="the public site on $PORT, beside Slack's HTTP endpoint when Slack is configured, no scheduler "
        "(the Procfile's web process)",
    )
    site = sub.add_parser("site", help="the public tracker site alone, read-only")
    site.add_argument("--port", type=int, default=8080, help="the port to listen on (default 8080)")
    site.add_argument(
        "--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1; 0.0.0.0 for all)"
    )
    sub.add_parser(
        "worker", help="Discord, Slack Socket Mode and the reminder scheduler (the Procfile's worker process)"
    )
    sub.add_parser("console", help="answer /pledge commands typed in a terminal or piped in")
    ask = sub.add_parser("ask", help='answer one command, e.g. pledgebot ask "/pledge hotline"')
    ask.add_argument("text", nargs="+", help="the command, with or without /pledge")
    sub.add_parser(
        "slack", help="the Slack adapter alone (Socket Mode when SLACK_APP_TOKEN is set, else HTTP)"
    )
    disc = sub.add_parser("discord", help="the Discord adapter alone (the gateway client), or `discord sync`")
    disc_sub = disc.add_subparsers(dest="discord_command", metavar="ACTION")
    disc_sub.add_parser(
        "sync",
        help="register the app commands with Discord where they changed (in each DISCORD_GUILD_IDS guild, "
        "else globally), then exit",
    )
    rem = sub.add_parser("reminders", help="print what falls due on a date (the plan; sends nothing)")
    rem.add_argument("--date", type=_date_arg, help="YYYY-MM-DD (default: today in PLEDGEBOT_TIMEZONE)")
    rem.add_argument("--days", type=int, default=1, help="how many days from --date (default 1, at most 366)")
    rem.add_argument(
        "--ahead", type=int, default=0, help="also list what falls due N days after each day (0 to 30)"
    )
    rem.add_argument(
        "--topic",
        action="append",
        default=[],
        help="only this category's pledges (repeatable; English or Korean)",
    )
    rem.add_argument(
        "--official",
        action="append",
        default=[],
        help="only this official's pledges and terms (repeatable; an id, a name, or an office and place)",
    )
    rem.add_argument(
        "--region",
        action="append",
        default=[],
        help="only the pledges and terms of this place's officials (repeatable; e.g. 서울, Busan, 종로구)",
    )
    dlv = sub.add_parser("deliver", help="run one delivery pass now, or as if the clock read --at")
    dlv.add_argument(
        "--at", type=_datetime_arg, help="ISO 8601 time with offset, e.g. 2026-05-26T09:05:00+09:00"
    )
    imp = sub.add_parser(
        "import", help="add dataset files (YAML, JSON, CSV) to the catalogue, all or nothing"
    )
    imp.add_argument("files", nargs="*", type=Path)
    imp.add_argument(
        "--format",
        choices=("dataset", "nec"),
        default="dataset",
        help="dataset files (default), or the Election Commission's saved responses and operator files (nec)",
    )
    imp.add_argument(
        "--all-candidates",
        action="store_true",
        help="nec: import every candidate's pledges, not the winners'",
    )
    imp.add_argument(
        "--fetch",
        action="store_true",
        help="nec: fetch --election from the public data portal (needs DATA_GO_KR_SERVICE_KEY)",
    )
    imp.add_argument("--election", help="nec --fetch: the election's sgId, its day as YYYYMMDD")
    imp.add_argument(
        "--type",
        action="append",
        default=[],
        choices=sorted(TYPES, key=int),
        help="nec --fetch: election type (repeatable; 1 president, 3 metropolitan heads, 4 local heads, "
        "11 superintendents; default all four)",
    )
    imp.add_argument("--replace", action="store_true", help="replace records whose ids are already there")
    imp.add_argument("--by", default=None, help="who is importing (default: the OS user)")
    imp.add_argument("--note", default="", help="why: recorded in the journal with the edit")
    ret = sub.add_parser("retract", help="withdraw a pledge from answers (the journal keeps it)")
    ret.add_argument("pledge_id")
    ret.add_argument("--reason", required=True, help="why it is withdrawn: recorded in the journal")
    ret.add_argument("--by", default=None, help="who is retracting (default: the OS user)")
    his = sub.add_parser("history", help="a pledge's edits (when, who, what, why), or the latest edits")
    his.add_argument("pledge_id", nargs="?")
    sub.add_parser(
        "installations",
        help="the installation log, newest first: when each workspace installed the bot, and when and why it "
        "was removed with its subscriptions and editors",
    )
    exp = sub.add_parser("export", help="write the catalogue as JSON (to stdout or a file) or CSV (a folder)")
    exp.add_argument("--format", choices=("json", "csv"), default="json")
    exp.add_argument("--output", "-o", type=Path, help="file (JSON) or folder (CSV); JSON defaults to stdout")
    exp.add_argument(
        "--since",
        type=int,
        metavar="EDIT-ID",
        help="only what edits after this one added (history shows ids)",
    )
    ver = sub.add_parser(
        "verify",
        help="re-check every quote against its source's stored snapshot, and each snapshot's SHA-256",
    )
    ver.add_argument(
        "--refetch",
        action="store_true",
        help="also fetch each source again and report pages that changed or vanished",
    )
    val = sub.add_parser(
        "validate", help="check dataset files (default: the data folder) without loading them"
    )
    val.add_argument("files", nargs="*", type=Path)
    val.add_argument(
        "--replace",
        action="store_true",
        help="as import --replace: accept records whose ids are in the catalogue with other values",
    )
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
    tools = (
        "console",
        "ask",
        "import",
        "export",
        "validate",
        "reminders",
        "retract",
        "history",
        "verify",
        "installations",
    )
    chat = _configured_names(settings) or settings.discord_http
    syncing = getattr(args, "discord_command", None) == "sync"
    quiet = command in tools or syncing or (command == "run" and not chat)
    level = settings.log_level if settings.log_level_set or not quiet else "WARNING"
    logs.configure(level, settings.log_format)
    if command == "validate":
        return _validate(settings, args.files, replace=args.replace)
    # Only a scheduling process has a leadership to report.
    bot = _open(settings, Metrics(scheduler=command in SCHEDULING))
    if isinstance(bot, int):
        return bot
    try:
        return _COMMANDS[command](bot, args)
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); that is not an error worth a traceback.
        sys.stderr.close()
        return 0
    finally:
        bot.close()


def _open(settings: Settings, metrics: Metrics | None = None) -> Bot | int:
    """The bot, or the exit status after saying in one line why it cannot start."""
    try:
        return open_bot(settings, metrics=metrics)
    except ds.DatasetError as error:
        print(f"pledgebot: the data folder has problems; nothing was loaded.\n{error}", file=sys.stderr)
        return 1
    except (DatabaseFileError, StateUnavailable) as error:
        print(f"pledgebot: {error}", file=sys.stderr)
        return 2


def _console(bot: Bot, args: argparse.Namespace) -> int:
    from adapters.console import shell

    if not sys.stdin.isatty():
        # A pipe is a batch: answer every line and exit at its end, with nothing scheduled in between.
        shell.run(
            bot.core,
            sys.stdin,
            sys.stdout,
            interactive=False,
            locale=bot.settings.language,
            files=_files(bot.settings),
        )
        return 0
    return _serve(bot, [_console_serve], scheduler=True)


def _ask(bot: Bot, args: argparse.Namespace) -> int:
    from adapters.console import shell

    print(shell.answer(bot.core, " ".join(args.text), bot.settings.language, _files(bot.settings)))
    return 0


def _run(bot: Bot, args: argparse.Namespace) -> int:
    servers = [loader(bot) for name, loader in _ADAPTERS.items() if _enabled(bot.settings, name)]
    # The site on the first free port from 8080, its address on stderr so piped output stays the bot's;
    # Discord's interactions endpoint beside it when Discord sends interactions over HTTP.
    site = _site_serve(
        bot, "127.0.0.1", SITE_PORT, tries=SITE_PORT_TRIES, announce=_announce, mount=_discord_endpoint(bot)
    )
    if not servers and not bot.settings.discord_http:
        log.info("no Slack or Discord credentials configured: running the console")
        if not sys.stdin.isatty():
            # A batch of piped lines: the answers on stdout and nothing scheduled in between; the site is
            # served while the batch lasts (its address on stderr) and stops with it, so an open pipe
            # (`sleep 3600 | make run`) serves the site without a terminal.
            return _serve(bot, [_batch_serve, site], scheduler=False)
        return _serve(bot, [_console_serve, site], scheduler=True)
    return _serve(bot, [*servers, site], scheduler=True, exclusive=True)


def _web(bot: Bot, args: argparse.Namespace) -> int:
    settings = bot.settings
    discord = _discord_endpoint(bot)
    if settings.slack_enabled and not settings.slack_socket_mode:
        # Only this process receives HTTP on hosts like Heroku: the site (and Discord's interactions
        # endpoint) share Slack's port.
        return _serve(bot, [_slack_serve(bot, with_site=True, also=discord)], scheduler=False)
    servers = [_slack_serve(bot)] if settings.slack_enabled else []
    servers.append(_site_serve(bot, "0.0.0.0", settings.port, mount=discord))
    return _serve(bot, servers, scheduler=False)


def _ops(bot: Bot) -> Any:
    """The process's `/metrics` and `/readyz` (`adapters.ops.endpoints.Ops`)."""
    from adapters.ops.endpoints import Ops

    return Ops(bot.metrics, bot.readiness())


def _with_ops(bot: Bot, mount: Callable[[Any], None] | None) -> Callable[[Any], None]:
    """What adds `mount`'s routes (if any) and `/metrics` and `/readyz` to a web app."""
    ops = _ops(bot)

    def install(app: Any) -> None:
        if mount is not None:
            mount(app)
        ops.install(app)

    return install


def _discord_endpoint(bot: Bot) -> Callable[[Any], None] | None:
    """What adds Discord's interactions endpoint to a web app, with DISCORD_PUBLIC_KEY; else None."""
    if not bot.settings.discord_http:
        return None
    from adapters.discord_app.interactions import Endpoint

    return Endpoint(bot.core, bot.settings).install


def _site(bot: Bot, args: argparse.Namespace) -> int:
    if not 1 <= args.port <= 65535:
        print("pledgebot: --port must be from 1 to 65535", file=sys.stderr)
        return 2
    return _serve(bot, [_site_serve(bot, args.host, args.port, announce=_announce)], scheduler=False)


def _announce(address: str) -> None:
    print(f"pledgebot: the tracker site is at {address}", file=sys.stderr, flush=True)


def site_sources(bot: Bot) -> Any:
    """What the site reads, from the bot's parts (`adapters.site.app.Sources`), with the install page's
    links: Slack's install flow when distributed, Discord's invite when the application id is set."""
    from adapters.site.app import InstallLinks, Sources

    settings = bot.settings
    # Relative unless the site has a public address: `pledgebot web` serves both on one port.
    slack = f"{settings.public_url or ''}/slack/install" if settings.slack_oauth else None
    discord = None
    if settings.discord_application_id is not None:
        from adapters.discord_app.invite import invite_url

        discord = invite_url(settings.discord_application_id)
    links = InstallLinks(slack, discord)
    return Sources(
        bot.core, bot.catalogue, bot.searcher, bot.quote_cards, bot.calendars, links, bot.officials
    )


def _site_serve(
    bot: Bot,
    host: str,
    port: int,
    *,
    tries: int = 1,
    announce: Callable[[str], None] | None = None,
    mount: Callable[[Any], None] | None = None,
) -> Serve:
    from adapters.site.app import serve

    sources = site_sources(bot)
    routes = _with_ops(bot, mount)

    async def site(core: Core, settings: Settings, stopping: asyncio.Event) -> None:
        await serve(
            sources,
            settings.public_url,
            stopping,
            host=host,
            port=port,
            tries=tries,
            announce=announce,
            mount=routes,
        )

    return site


def _worker(bot: Bot, args: argparse.Namespace) -> int:
    # Slack HTTP mode belongs to the web process; Socket Mode holds a connection, like the Discord gateway.
    # Discord over HTTP needs no gateway: the scheduler posts digests through REST.
    servers = [_discord_serve()] if _enabled(bot.settings, "discord") else []
    if bot.settings.slack_socket_mode:
        servers.append(_slack_serve(bot))
    return _serve(bot, servers, scheduler=True, exclusive=True)


def _slack(bot: Bot, args: argparse.Namespace) -> int:
    if not bot.settings.slack_enabled:
        print(
            "pledgebot: SLACK_BOT_TOKEN (or, for distribution, SLACK_CLIENT_ID and SLACK_CLIENT_SECRET) is "
            "not set; see docs/deployment.md#slack.",
            file=sys.stderr,
        )
        return 2
    return _serve(bot, [_slack_serve(bot)], scheduler=False)


def _discord(bot: Bot, args: argparse.Namespace) -> int:
    if not bot.settings.discord_enabled:
        print("pledgebot: DISCORD_TOKEN is not set; see docs/deployment.md#discord.", file=sys.stderr)
        return 2
    if args.discord_command == "sync":
        return _discord_sync(bot)
    return _serve(bot, [_discord_serve()], scheduler=False)


def _discord_sync(bot: Bot) -> int:
    from adapters.discord_app.client import sync

    try:
        scopes = asyncio.run(sync(bot.core, bot.settings))
    except ConfigError as error:
        print(f"pledgebot: configuration error: {error}", file=sys.stderr)
        return 2
    for scope, synced in scopes:
        where = f"guild {scope}" if scope is not None else "the global scope"
        print(f"Discord commands {'synced to' if synced else 'unchanged in'} {where}")
    return 0


def _slack_serve(bot: Bot, *, with_site: bool = False, also: Callable[[Any], None] | None = None) -> Serve:
    """Slack's adapter over the bot's installations; `with_site`, the bot's site on the same port (a web
    process), and `also` other routes beside it (Discord's interactions endpoint)."""
    from adapters.site.app import Site
    from adapters.slack_app.app import serve

    site = Site(site_sources(bot), bot.settings.public_url) if with_site else None
    ops = _with_ops(bot, also)

    def mount(app: Any) -> None:
        if site is not None:
            site.install(app)
        ops(app)

    async def slack(core: Core, settings: Settings, stopping: asyncio.Event) -> None:
        await serve(core, settings, stopping, mount=mount, installations=bot.installations)

    return slack


def _discord_serve() -> Serve:
    from adapters.discord_app.client import serve

    return serve


async def _console_serve(core: Core, settings: Settings, stopping: asyncio.Event) -> None:
    from adapters.console import shell

    await shell.serve(core, sys.stdin, sys.stdout, stopping, settings.language, _files(settings))


async def _batch_serve(core: Core, settings: Settings, stopping: asyncio.Event) -> None:
    """Piped lines answered one by one until their end (or until told to stop)."""
    from adapters.console import shell

    loop = asyncio.get_running_loop()
    finished: asyncio.Future[None] = loop.create_future()

    def settle(error: BaseException | None) -> None:
        if not finished.done():
            finished.set_exception(error) if error else finished.set_result(None)

    def answer() -> None:
        error = None
        try:
            shell.run(
                core,
                sys.stdin,
                sys.stdout,
                interactive=False,
                locale=settings.language,
                files=_files(settings),
            )
        except Exception as exc:  # handed to the loop, which raises it as the batch's result
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop closed first: the process is stopping anyway
            loop.call_soon_threadsafe(settle, error)

    # A daemon thread, as for the interactive console: a read blocked on the pipe must not hold up SIGTERM.
    threading.Thread(target=answer, name="console-batch", daemon=True).start()
    stopper = asyncio.ensure_future(stopping.wait())
    either: set[asyncio.Future[Any]] = {finished, stopper}
    await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if finished.done():
        finished.result()


def _files(settings: Settings) -> Path:
    """Where the console writes the files of its answers (quote cards): `cards/` beside PLEDGEBOT_DB."""
    return settings.db_path.parent / "cards"


_ADAPTERS: dict[str, Callable[[Bot], Serve]] = {
    "slack": _slack_serve,
    "discord": lambda bot: _discord_serve(),
}


def _enabled(settings: Settings, name: str) -> bool:
    # Discord's adapter here is the gateway client; over HTTP, the web process answers instead.
    discord = settings.discord_enabled and not settings.discord_http
    return {"slack": settings.slack_enabled, "discord": discord}[name]


def _configured_names(settings: Settings) -> list[str]:
    return [name for name in _ADAPTERS if _enabled(settings, name)]


@contextlib.asynccontextmanager
async def _deliverers(bot: Bot, *, console: bool) -> AsyncIterator[dict[str, Deliverer]]:
    """A deliverer for every configured platform (and the console's), closed on exit."""
    settings = bot.settings
    async with contextlib.AsyncExitStack() as stack:
        found: dict[str, Deliverer] = {}
        if console:
            from adapters.console.shell import ConsoleDeliverer

            found["console"] = ConsoleDeliverer(sys.stdout)
        if settings.slack_enabled:
            from adapters.slack_app.delivery import deliverer as slack_deliverer

            found["slack"] = await stack.enter_async_context(slack_deliverer(settings, bot.installations))
        if settings.discord_enabled:
            from adapters.discord_app.delivery import deliverer as discord_deliverer

            found["discord"] = await stack.enter_async_context(discord_deliverer(settings))
        yield found


def _serve(bot: Bot, servers: list[Serve], *, scheduler: bool, exclusive: bool = False) -> int:
    """Run the adapters (and the scheduler) in one event loop until SIGTERM or SIGINT, then stop cleanly.

    `exclusive` (the worker): first wait, connecting nothing, until this process holds the scheduler's
    lease, so a second worker is a hot standby rather than a second gateway session and scheduler.
    """
    core, settings = bot.core, bot.settings
    lock = Lease(bot.backend, settings.lease_seconds) if exclusive else None
    lost = False

    async def main() -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        watched = _watched(bot, stopping) if scheduler and settings.metrics_port is not None else None
        if watched is not None:
            # A port that cannot be bound stops the process, as an adapter that cannot start does.
            watched.add_done_callback(lambda task: _stop_on_failure(task, stopping))
        try:
            await _scheduling(stopping)
        finally:
            stopping.set()
            if watched is not None:
                await watched

    async def _scheduling(stopping: asyncio.Event) -> None:
        nonlocal lost
        if lock is not None:
            bot.metrics.leading(False)
            if not await _lead(lock, stopping, settings.standby_retry_seconds):
                return
            bot.metrics.leading(True)
        console = _console_serve in servers
        async with _deliverers(bot, console=console) as deliverers:
            schedule = None
            if scheduler:
                schedule = Scheduler(bot.delivery(deliverers, lock))
                schedule.start()
            following = asyncio.create_task(_follow(bot.loader, stopping, bot.metrics, bot.calendars))
            # The servers', the lock watch's (a bool) and the stop's: only their ends and errors are read.
            tasks: list[asyncio.Task[Any]] = [
                asyncio.create_task(serve(core, settings, stopping)) for serve in servers
            ]
            if lock is not None:
                watching = asyncio.create_task(_watch(lock, stopping))
                tasks.append(watching)
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
                await following
        if lock is not None:
            lost = watching.result()
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                raise result

    try:
        asyncio.run(main())
    except ConfigError as error:
        print(f"pledgebot: configuration error: {error}", file=sys.stderr)
        return 2
    finally:
        if lock is not None:
            lock.release()
    return 1 if lost else 0


def _stop_on_failure(task: asyncio.Task[None], stopping: asyncio.Event) -> None:
    if not task.cancelled() and task.exception() is not None:
        stopping.set()


def _watched(bot: Bot, stopping: asyncio.Event) -> asyncio.Task[None]:
    """Serve `/metrics` and `/readyz` on PLEDGEBOT_METRICS_PORT until `stopping`, standing by or leading."""
    from adapters.ops.endpoints import serve

    port = bot.settings.metrics_port
    assert port is not None
    return asyncio.create_task(serve(_ops(bot), "0.0.0.0", port, stopping))


async def _lead(lock: Lease, stopping: asyncio.Event, retry: float) -> bool:
    """Stand by until this process holds the scheduler's lease, asking every `retry` seconds (the setting
    PLEDGEBOT_STANDBY_RETRY_SECONDS); False when told to stop first."""
    standing_by = False
    while not stopping.is_set():
        try:
            acquired = await asyncio.to_thread(lock.try_acquire)
        except Exception as error:  # the state store is unreachable for now: ask again later
            log.warning("cannot reach the state store for the scheduler lease (%s)", type(error).__name__)
            acquired = False
        if acquired:
            log.info("holding the scheduler lock: starting the scheduler and the gateway connections")
            return True
        if not standing_by:
            log.info("another worker holds the scheduler lock: standing by")
            standing_by = True
        else:
            log.debug("the scheduler lock is still taken; asking again in %g s", retry)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), retry)
    return False


async def _watch(lock: Lease, stopping: asyncio.Event) -> bool:
    """Until `stopping`, renew the lease every third of its length; True (and stop everything) once it
    could not be renewed in time (it ran out, or a standby took it over)."""
    every = lock.length.total_seconds() / 3
    while not stopping.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), every)
        if stopping.is_set():
            break
        try:
            renewed = await asyncio.to_thread(lock.renew)
        except Exception as error:  # unreachable for now; the lease lasts until it runs out
            log.warning("renewing the scheduler lease failed (%s); trying again", type(error).__name__)
            renewed = lock.held()
        if not renewed:
            log.error("lost the scheduler lock; stopping so that a standby takes over")
            return True
    return False


async def _follow(loader: Loader, stopping: asyncio.Event, metrics: Metrics, calendars: Calendars) -> None:
    """Apply other processes' edits to the local catalogue until `stopping`; lookups never wait for this.
    Each success is counted, so `metrics` tell how far behind the journal this process may be.

    The calendar is rebuilt here too, after start-up and after each change: built on a reader's request,
    it made the first `/pledge on`, `upcoming` or dated search after one wait seconds at 100,000 pledges."""
    while not stopping.is_set():
        try:
            await asyncio.to_thread(loader.follow)
            await asyncio.to_thread(calendars.current)
        except Exception:
            log.exception("applying new journal edits or rebuilding the calendar failed; trying again")
        else:
            metrics.followed()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), FOLLOW_SECONDS)


def _reminders(bot: Bot, args: argparse.Namespace) -> int:
    from adapters.console.render import render

    if not 1 <= args.days <= 366:
        print("pledgebot: --days must be from 1 to 366", file=sys.stderr)
        return 2
    if not 0 <= args.ahead <= 30:
        print("pledgebot: --ahead must be from 0 to 30", file=sys.stderr)
        return 2
    topics = []
    for name in args.topic:
        category = bot.catalogue.category(name)
        if category is None:
            known = ", ".join(name for name, _ in bot.catalogue.categories())
            print(f"pledgebot: no category called {name!r}; the categories are: {known}", file=sys.stderr)
            return 2
        topics.append(category)
    officials: list[str] = []
    for name in args.official:
        named = bot.officials.named(name)
        if not named:
            print(
                f"pledgebot: no official called {name!r}; pledgebot ask '/pledge officials' lists them",
                file=sys.stderr,
            )
            return 2
        officials += named
    for place in args.region:
        if not bot.officials.in_region(place):
            print(f"pledgebot: no official holds office in {place!r}", file=sys.stderr)
            return 2
    # As for a channel that follows them: a region stands for the officials holding office there now.
    speakers = bot.digests.followed(tuple(officials), tuple(args.region))
    start = args.date or bot.core.today()
    printed = False
    for offset in range(args.days):
        day = start + dt.timedelta(days=offset)
        digest = bot.digests.digest(
            day, args.ahead, language=bot.settings.language, topics=tuple(topics), speakers=speakers
        )
        if digest is not None:
            print(render(digest) + "\n")
            printed = True
    if not printed:
        end = start + dt.timedelta(days=args.days - 1)
        m = messages(bot.settings.language)
        print(
            m.gettext("Nothing falls due from {start} to {end}.").format(start=m.date(start), end=m.date(end))
        )
    return 0


def _deliver(bot: Bot, args: argparse.Namespace) -> int:
    async def main() -> PassReport:
        async with _deliverers(bot, console=True) as deliverers:
            return await bot.delivery(deliverers).run_pass(args.at, rerun=args.at is not None)

    report = asyncio.run(main())
    print(
        f"Delivery pass: {len(report.sent)} sent, {len(report.empty)} with nothing due, "
        f"{len(report.skipped)} skipped (too late, or no longer installed), {len(report.failed)} failed."
    )
    return 1 if report.failed else 0


def _import(bot: Bot, args: argparse.Namespace) -> int:
    if args.format == "nec":
        return _import_nec(bot, args)
    if not args.files:
        print("pledgebot: import needs the files to import", file=sys.stderr)
        return 2
    progress = _progress_bar() if sys.stderr.isatty() else None
    try:
        result = bot.importer.import_files(
            args.files, author=args.by or os_user(), note=args.note, replace=args.replace, progress=progress
        )
    except ds.DatasetError as error:
        print(f"pledgebot: import aborted, the catalogue is unchanged.\n{error}", file=sys.stderr)
        return 1
    present = f"; {result.present} already present" if result.present else ""
    edit = f" as edit {result.edit.id}" if result.edit is not None else ""
    print(f"Imported {result.added} records from {len(args.files)} file(s){edit}{present}.")
    return 0


def _import_nec(bot: Bot, args: argparse.Namespace) -> int:
    """`import --format nec`: saved responses (or, with --fetch, the portal's) into the catalogue."""
    try:
        responses, facts = nec.read_files(args.files)
        if args.fetch:
            key = bot.settings.data_go_kr_service_key
            if key is None:
                print(
                    "pledgebot: --fetch needs DATA_GO_KR_SERVICE_KEY (the portal's service key)",
                    file=sys.stderr,
                )
                return 2
            if not args.election:
                print("pledgebot: --fetch needs --election YYYYMMDD", file=sys.stderr)
                return 2
            portal = Portal(bot.settings.nec_url, key)
            fetched, found = portal.fetch(
                args.election, args.type or sorted(TYPES, key=int), all_candidates=args.all_candidates
            )
            responses += fetched
            for k, winner in found.winners.items():
                facts.winners.setdefault(k, winner)
        elif not args.files:
            print("pledgebot: import --format nec needs saved responses (FILE…) or --fetch", file=sys.stderr)
            return 2
        done = NecImport(bot.importer, bot.catalogue).run(
            args.files,
            responses,
            facts,
            author=args.by or os_user(),
            note=args.note,
            all_candidates=args.all_candidates,
        )
    except (nec.NecError, ds.DatasetError) as error:
        print(f"pledgebot: import aborted, the catalogue is unchanged.\n{error}", file=sys.stderr)
        return 1
    result = done.result
    edit = f" as edit {result.edit.id}" if result.edit is not None else ""
    present = f"; {result.present} already present" if result.present else ""
    skipped = f"; {done.skipped} candidate(s) who did not win left out" if done.skipped else ""
    print(f"Imported {result.added} records of {done.speakers} official(s){edit}{present}{skipped}.")
    for pledge, diff in sorted(done.diffs.items()):
        print(f"Changed since the last import: {pledge}\n{diff}")
    return 0


def _retract(bot: Bot, args: argparse.Namespace) -> int:
    try:
        edit = bot.importer.retract(args.pledge_id, author=args.by or os_user(), reason=args.reason)
    except KeyError:
        print(f"pledgebot: there is no pledge with the id '{args.pledge_id}'", file=sys.stderr)
        return 1
    print(f"Retracted {args.pledge_id} as edit {edit.id}; `pledgebot history {args.pledge_id}` shows it.")
    return 0


def _history(bot: Bot, args: argparse.Namespace) -> int:
    from adapters.console.render import render

    print(render(bot.timeline.edits(args.pledge_id)))
    return 0


def _installations(bot: Bot, args: argparse.Namespace) -> int:
    entries = bot.installations.log()
    if not entries:
        print("No installs or removals are logged yet.")
    for entry in entries:
        place = "/".join(p for p in (entry.enterprise, entry.team) if p)
        detail = entry.detail
        if entry.event == "installed":
            what = f"installed by {detail['by']}" if detail.get("by") else "installed"
        else:
            found = (
                "deleted the installation,"
                if detail.get("installation")
                else "no installation was left; deleted"
            )
            what = (
                f"{entry.event}: {found} {detail.get('subscriptions', 0)} subscription(s) and "
                f"{detail.get('editors', 0)} editor(s)"
            )
        print(f"{entry.at.isoformat(timespec='seconds')}  {entry.platform}  {place}  {what}")
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


def _export(bot: Bot, args: argparse.Namespace) -> int:
    tables = bot.exporter.export(since=args.since)
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
        # With a byte order mark ("utf-8-sig"), so that Excel reads Hangul as UTF-8; import skips it.
        with (args.output / f"{table}.csv").open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            for row in rows:
                writer.writerow({k: _cell(v) for k, v in row.items()})
    print(f"Wrote {len(tables)} CSV files to {args.output}")
    return 0


def _cell(value: Any) -> Any:
    """A field as one CSV cell: a list joined with "; ", a `due` rule as "100 days after <milestone>", a
    speaker's terms as "2026-07-01/2030-06-30 election; …"."""
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return ds.terms_text(value)
    if isinstance(value, list):
        return "; ".join(value)
    if isinstance(value, dict):
        return ds.due_text(value)
    return value


def _verify(bot: Bot, args: argparse.Namespace) -> int:
    """Every quote against its source's snapshot, each snapshot against its SHA-256, and with `--refetch`
    each page against what it says now; 1 when anything failed."""
    failures = changed = checked = 0
    for source_id, url, text, sha256 in bot.catalogue.snapshots():
        if sha256 and not snapshot_ok(text, sha256):
            print(f"{source_id}: the stored snapshot no longer matches its SHA-256")
            failures += 1
        for pledge, quote in bot.catalogue.quotes_of_source(source_id):
            checked += 1
            if not check_quote(quote, text).found:
                print(f"{source_id}: a quote of {pledge} is not in the snapshot: “{quote[:80]}”")
                failures += 1
        if args.refetch and url:
            try:
                page = bot.fetcher.fetch(url)
            except FetchError as error:
                print(f"{source_id}: {url} vanished ({error.problem.name.lower()}: {error.detail})")
                changed += 1
                continue
            if sha256 and page.sha256 != sha256:
                lost = [
                    q
                    for _, q in bot.catalogue.quotes_of_source(source_id)
                    if not check_quote(q, page.text).found
                ]
                note = f"; {len(lost)} quote(s) no longer on it" if lost else "; every quote is still on it"
                print(f"{source_id}: {url} changed since it was stored{note}")
                changed += 1
    print(
        f"Verified {checked} quotes: {failures} problem(s)"
        + (f", {changed} page(s) changed or vanished." if args.refetch else ".")
    )
    return 1 if failures or changed else 0


def _validate(settings: Settings, files: list[Path], *, replace: bool = False) -> int:
    if not files:
        # The data folder itself: checked alone, since the catalogue is built from it.
        paths = ds.data_files(settings.data_dir)
        try:
            data = ds.load(paths)
        except ds.DatasetError as error:
            print(f"pledgebot: {error}", file=sys.stderr)
            return 1
        return _validated(paths, data)
    # Files to import: the very checks `pledgebot import` makes, against the catalogue.
    bot = _open(settings)
    if isinstance(bot, int):
        return bot
    try:
        checked = bot.importer.check_files(files, replace=replace)
    except ds.DatasetError as error:
        print(f"pledgebot: {error}", file=sys.stderr)
        return 1
    finally:
        bot.close()
    return _validated(files, checked.data)


def _validated(paths: list[Path], data: ds.Dataset) -> int:
    counts = {t: len(data.rows(t)) for t in ds.TABLES}
    summary = ", ".join(f"{n} {t}" for t, n in counts.items() if n)
    print(
        f"OK: {len(paths)} file(s), {summary}; every quote is verbatim in its source text where we hold it."
    )
    return 0


_COMMANDS: dict[str, Callable[[Bot, argparse.Namespace], int]] = {
    "run": _run,
    "web": _web,
    "site": _site,
    "worker": _worker,
    "reminders": _reminders,
    "deliver": _deliver,
    "console": _console,
    "ask": _ask,
    "slack": _slack,
    "discord": _discord,
    "import": _import,
    "retract": _retract,
    "history": _history,
    "installations": _installations,
    "export": _export,
    "verify": _verify,
}
