"""Settings from the environment (and an optional `.env`), validated once at start-up.

Errors name the variable and what is wrong with it, never its value: a mistyped token must not end up in a
log. `Secret` keeps tokens out of `repr`, tracebacks and f-strings.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nacl.bindings import crypto_core_ed25519_is_valid_point

from bot.desk.provenance import Network, parse_allow
from bot.i18n import environment_language
from bot.logs import FORMATS

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = ROOT / "data"
DEFAULT_DB = ROOT / "var" / "pledgebot.db"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable, never its value."""


class Secret(str):
    """A string that never shows itself in reprs or logs."""

    def __repr__(self) -> str:
        return "Secret('****')"

    def __str__(self) -> str:
        return "****"

    @property
    def value(self) -> str:
        """The real secret, for the one place that must send it."""
        return str.__str__(self)


NEC_URL = "http://apis.data.go.kr/9760000/"


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with the defaults a local run needs."""

    db_path: Path = DEFAULT_DB
    data_dir: Path = DEFAULT_DATA_DIR
    timezone: str = "Asia/Seoul"
    slack_bot_token: Secret | None = None
    slack_signing_secret: Secret | None = None
    slack_app_token: Secret | None = None
    slack_api_url: str | None = None
    # Slack distribution (OAuth v2): any workspace installs the app; each is answered with its own token.
    slack_client_id: str | None = None
    slack_client_secret: Secret | None = None
    slack_admins: frozenset[str] = field(default_factory=frozenset)
    # Slack user ids who may edit the catalogue besides workspace admins and the stored editors list.
    slack_editors: frozenset[str] = field(default_factory=frozenset)
    port: int = 3000
    # The worker's own port for /metrics and /readyz (the web process serves them on `port`); None: none.
    metrics_port: int | None = None
    discord_token: Secret | None = None
    discord_api_base: str | None = None
    discord_guild_ids: tuple[int, ...] = ()
    # The name of the Discord role whose members may edit the catalogue (besides Manage Server).
    discord_editor_role: str | None = None
    # Discord over HTTP: the application's Ed25519 public key (hex); set, interactions arrive at the web
    # process's /discord/interactions and the worker connects no gateway.
    discord_public_key: str | None = None
    # The Discord application's id: the site's install page builds the bot's invite link from it.
    discord_application_id: int | None = None
    # Where the catalogue is edited, when the deployment says (Slack team ids, Discord server ids): the desk's
    # commands work there only, and elsewhere answer with the publisher's name. Empty: everywhere.
    desk_workspaces: frozenset[str] = field(default_factory=frozenset)
    desk_guilds: frozenset[int] = field(default_factory=frozenset)
    publisher: str | None = None
    reminder_grace_hours: float = 6.0
    # A delivery claim's lease; renewed while a post is in flight, retaken by another pass once it runs out.
    claim_lease_seconds: float = 120.0
    database_url: Secret | None = None
    # How often a standby worker asks for the scheduler's lease.
    standby_retry_seconds: float = 10.0
    # The scheduler's lease (bot/leadership.py): renewed every third of it by the leader; a standby takes
    # over once it has run out.
    lease_seconds: float = 30.0
    # A delivery pass claims and records this many digests per transaction, and has at most this many
    # posts in flight.
    delivery_batch: int = 500
    delivery_concurrency: int = 8
    log_level: str = "INFO"
    # "text" for a terminal, "json" for one JSON object a line (`bot.logs`).
    log_format: str = "text"
    # The console's language (the `pledgebot` commands run in a terminal): LANGUAGE, LC_ALL, then LANG.
    language: str = "en"
    log_level_set: bool = False
    # Where the public site is reached (no trailing slash): chat answers link each pledge to its page there.
    public_url: str | None = None
    # Address ranges the source fetcher may reach despite the rule against private and loopback addresses.
    fetch_allow: tuple[Network, ...] = ()
    # The public data portal (`pledgebot import --format nec --fetch`): the service key, and the base URL of
    # the Election Commission's services (tests point it at 127.0.0.1).
    data_go_kr_service_key: Secret | None = None
    nec_url: str = NEC_URL

    @property
    def slack_enabled(self) -> bool:
        """True when Slack credentials are configured (one workspace's token, or distribution)."""
        return self.slack_bot_token is not None or self.slack_oauth

    @property
    def slack_oauth(self) -> bool:
        """True when Slack is distributed: workspaces install it through OAuth (`/slack/install`)."""
        return self.slack_client_id is not None and self.slack_client_secret is not None

    @property
    def slack_socket_mode(self) -> bool:
        """True when Slack should connect over Socket Mode rather than serve HTTP."""
        return self.slack_app_token is not None

    @property
    def discord_enabled(self) -> bool:
        """True when a Discord bot token is configured."""
        return self.discord_token is not None

    @property
    def discord_http(self) -> bool:
        """True when Discord sends interactions over HTTP (DISCORD_PUBLIC_KEY) rather than the gateway."""
        return self.discord_public_key is not None


def _secret(env: Mapping[str, str], name: str, prefix: str | None = None) -> Secret | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if prefix and not raw.startswith(prefix):
        raise ConfigError(f"{name} must start with '{prefix}' (check that the right token is in {name})")
    if any(c.isspace() for c in raw):
        raise ConfigError(f"{name} contains white space; paste the token without spaces or line breaks")
    return Secret(raw)


def _url(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if not re.match(r"^https?://[^\s/]+", raw):
        raise ConfigError(f"{name} must be an http:// or https:// URL")
    return raw.rstrip("/") + "/"


def _public_url(env: Mapping[str, str]) -> str | None:
    url = _url(env, "PLEDGEBOT_PUBLIC_URL")
    if url is not None and any(c.isspace() or c in '"<>' for c in url):
        raise ConfigError("PLEDGEBOT_PUBLIC_URL must be an http:// or https:// URL")
    return url.rstrip("/") if url is not None else None


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, between {lo} and {hi}") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name} must be between {lo} and {hi}")
    return value


def _float(
    env: Mapping[str, str], name: str, default: float, lo: float, hi: float, unit: str = "hours"
) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of {unit}, between {lo:g} and {hi:g}") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name} must be between {lo:g} and {hi:g}")
    return value


def _metrics_port(env: Mapping[str, str]) -> int | None:
    if not env.get("PLEDGEBOT_METRICS_PORT", "").strip():
        return None
    port = _int(env, "PLEDGEBOT_METRICS_PORT", 0, 1, 65535)
    # `pledgebot run` serves both; one port cannot be bound twice.
    if env.get("PORT", "").strip() and port == _int(env, "PORT", 3000, 1, 65535):
        raise ConfigError("PLEDGEBOT_METRICS_PORT must differ from PORT")
    return port


def _database_url(env: Mapping[str, str]) -> Secret | None:
    # A secret: the URL carries the database password.
    raw = env.get("DATABASE_URL", "").strip()
    if not raw:
        return None
    if not re.match(r"^postgres(ql)?://\S+$", raw):
        raise ConfigError("DATABASE_URL must be a postgres:// or postgresql:// URL")
    return Secret(raw)


def _ids(env: Mapping[str, str], name: str) -> tuple[int, ...]:
    raw = env.get(name, "").strip()
    if not raw:
        return ()
    parts = [p.strip() for p in raw.replace(" ", ",").split(",") if p.strip()]
    # isdecimal, not isdigit: int() cannot read "²"; snowflakes are 64-bit, at most 20 digits.
    if not all(p.isdecimal() and len(p) <= 20 for p in parts):
        raise ConfigError(f"{name} must be a comma-separated list of numeric ids")
    return tuple(int(p) for p in parts)


def _fetch_allow(env: Mapping[str, str]) -> tuple[Network, ...]:
    try:
        return parse_allow(env.get("PLEDGEBOT_FETCH_ALLOW", ""))
    except ValueError:
        raise ConfigError(
            "PLEDGEBOT_FETCH_ALLOW must be comma-separated CIDR ranges such as 10.20.0.0/16 "
            "(no host bits after the slash)"
        ) from None


def load_settings(env: Mapping[str, str] | None = None, dotenv: Path | None = None) -> Settings:
    """Read and validate settings from `env` (default: the process environment plus `.env`)."""
    if env is None:
        env = dict(os.environ)
        dotenv = dotenv or Path.cwd() / ".env"
        if dotenv.is_file():
            from dotenv import dotenv_values

            # The real environment wins over .env, as honcho and Heroku's local tools do.
            env = {**{k: v or "" for k, v in dotenv_values(dotenv).items()}, **env}

    tz = env.get("PLEDGEBOT_TIMEZONE", "").strip() or "Asia/Seoul"
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a folder of the zone database (e.g. "Asia") or a name too long for the file system.
        raise ConfigError("PLEDGEBOT_TIMEZONE must be an IANA time zone such as Asia/Seoul") from None

    log_level = env.get("LOG_LEVEL", "").strip().upper() or "INFO"
    if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError("LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR")

    log_format = env.get("LOG_FORMAT", "").strip().lower() or "text"
    if log_format not in FORMATS:
        raise ConfigError("LOG_FORMAT must be text or json")

    settings = Settings(
        db_path=Path(env.get("PLEDGEBOT_DB", "").strip() or DEFAULT_DB),
        data_dir=Path(env.get("PLEDGEBOT_DATA", "").strip() or DEFAULT_DATA_DIR),
        timezone=tz,
        slack_bot_token=_secret(env, "SLACK_BOT_TOKEN", "xoxb-"),
        slack_signing_secret=_secret(env, "SLACK_SIGNING_SECRET"),
        slack_app_token=_secret(env, "SLACK_APP_TOKEN", "xapp-"),
        slack_api_url=_url(env, "SLACK_API_URL"),
        slack_client_id=_client_id(env),
        slack_client_secret=_secret(env, "SLACK_CLIENT_SECRET"),
        slack_admins=frozenset(_words(env.get("SLACK_ADMINS", ""))),
        slack_editors=_slack_users(env, "SLACK_EDITORS"),
        port=_int(env, "PORT", 3000, 1, 65535),
        metrics_port=_metrics_port(env),
        discord_token=_secret(env, "DISCORD_TOKEN"),
        discord_api_base=_url(env, "DISCORD_API_BASE"),
        discord_guild_ids=_ids(env, "DISCORD_GUILD_IDS"),
        discord_editor_role=_role(env, "DISCORD_EDITOR_ROLE"),
        discord_public_key=_discord_public_key(env),
        discord_application_id=_application_id(env),
        desk_workspaces=_teams(env, "PLEDGEBOT_DESK_WORKSPACES"),
        desk_guilds=frozenset(_ids(env, "PLEDGEBOT_DESK_GUILDS")),
        publisher=_publisher(env),
        reminder_grace_hours=_float(env, "PLEDGEBOT_REMINDER_GRACE_HOURS", 6.0, 0.0, 24.0),
        claim_lease_seconds=_float(env, "PLEDGEBOT_CLAIM_LEASE_SECONDS", 120.0, 0.1, 3600.0, "seconds"),
        database_url=_database_url(env),
        standby_retry_seconds=_float(env, "PLEDGEBOT_STANDBY_RETRY_SECONDS", 10.0, 0.1, 300.0, "seconds"),
        lease_seconds=_float(env, "PLEDGEBOT_LEASE_SECONDS", 30.0, 0.5, 600.0, "seconds"),
        delivery_batch=_int(env, "PLEDGEBOT_DELIVERY_BATCH", 500, 1, 5000),
        delivery_concurrency=_int(env, "PLEDGEBOT_DELIVERY_CONCURRENCY", 8, 1, 64),
        log_level=log_level,
        log_format=log_format,
        language=environment_language(env),
        log_level_set=bool(env.get("LOG_LEVEL", "").strip()),
        public_url=_public_url(env),
        fetch_allow=_fetch_allow(env),
        data_go_kr_service_key=_secret(env, "DATA_GO_KR_SERVICE_KEY"),
        nec_url=_url(env, "PLEDGEBOT_NEC_URL") or NEC_URL,
    )
    _check_slack(settings)
    _check_discord(settings)
    _check_desk(settings)
    if not settings.data_dir.is_dir():
        raise ConfigError("PLEDGEBOT_DATA must name an existing folder of dataset files")
    return settings


def _words(raw: str) -> list[str]:
    return [w for w in re.split(r"[\s,]+", raw.strip()) if w]


def _slack_users(env: Mapping[str, str], name: str) -> frozenset[str]:
    users = _words(env.get(name, ""))
    # A name or an @handle would never match anyone, so that editor would silently have no rights.
    if not all(re.fullmatch(r"[UW][A-Z0-9]{2,31}", u) for u in users):
        raise ConfigError(
            f"{name} must be Slack user ids such as U0123ABCD (a member's profile → ⋮ → Copy member ID), "
            "separated by commas or spaces"
        )
    return frozenset(users)


def _role(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    # Discord role names are 1 to 100 characters; a longer one could never match a role.
    if len(raw) > 100 or raw.startswith("@"):
        raise ConfigError(
            f"{name} must be a role's name as the server shows it, without @, at most 100 characters"
        )
    return raw


def _client_id(env: Mapping[str, str]) -> str | None:
    raw = env.get("SLACK_CLIENT_ID", "").strip()
    if not raw:
        return None
    # Basic Information → App Credentials shows it as two numbers joined by a dot.
    if not re.fullmatch(r"\d{1,20}\.\d{1,20}", raw):
        raise ConfigError(
            "SLACK_CLIENT_ID must be the app's Client ID as Basic Information → App Credentials shows it "
            "(digits, a dot, digits)"
        )
    return raw


def _application_id(env: Mapping[str, str]) -> int | None:
    raw = env.get("DISCORD_APPLICATION_ID", "").strip()
    if not raw:
        return None
    if not (raw.isdecimal() and len(raw) <= 20):
        raise ConfigError("DISCORD_APPLICATION_ID must be the numeric id General Information shows")
    return int(raw)


def _teams(env: Mapping[str, str], name: str) -> frozenset[str]:
    teams = _words(env.get(name, ""))
    # A workspace's name or domain would never match a request's team id, so that desk would be nowhere.
    if not all(re.fullmatch(r"T[A-Z0-9]{2,31}", t) for t in teams):
        raise ConfigError(
            f"{name} must be Slack team ids, which start with T (a workspace's id, as its URL "
            "app.slack.com/client/<id> shows it), separated by commas or spaces"
        )
    return frozenset(teams)


def _publisher(env: Mapping[str, str]) -> str | None:
    raw = " ".join(env.get("PLEDGEBOT_PUBLISHER", "").split())
    if len(raw) > 100:
        raise ConfigError("PLEDGEBOT_PUBLISHER must be a name of at most 100 characters")
    return raw or None


def _check_slack(s: Settings) -> None:
    if (s.slack_client_id is None) != (s.slack_client_secret is None):
        have, missing = (
            ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")
            if s.slack_client_id
            else ("SLACK_CLIENT_SECRET", "SLACK_CLIENT_ID")
        )
        # Bolt switches to OAuth mode on these two; half of the pair is a mistake either way.
        raise ConfigError(
            f"{have} is set but {missing} is missing: distribution (OAuth) needs both, one workspace "
            "needs neither"
        )
    if s.slack_oauth:
        _check_distribution(s)
        return
    if s.slack_app_token and not s.slack_bot_token:
        raise ConfigError("SLACK_APP_TOKEN is set but SLACK_BOT_TOKEN is missing (Socket Mode needs both)")
    if s.slack_bot_token and not s.slack_app_token and not s.slack_signing_secret:
        raise ConfigError(
            "SLACK_SIGNING_SECRET is missing: HTTP mode needs it with SLACK_BOT_TOKEN "
            "(or set SLACK_APP_TOKEN for Socket Mode)"
        )
    if s.slack_signing_secret and not s.slack_bot_token:
        raise ConfigError(
            "SLACK_SIGNING_SECRET is set but SLACK_BOT_TOKEN is missing (or, for distribution, "
            "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET)"
        )


def _check_distribution(s: Settings) -> None:
    if s.slack_bot_token is not None:
        raise ConfigError(
            "SLACK_BOT_TOKEN is set with SLACK_CLIENT_ID: a distributed app answers each workspace with its "
            "own installation's token; unset SLACK_BOT_TOKEN (or the client id and secret, for one workspace)"
        )
    if s.slack_app_token is not None:
        raise ConfigError(
            "SLACK_APP_TOKEN is set with SLACK_CLIENT_ID: distribution serves HTTP (/slack/install, "
            "/slack/oauth_redirect, /slack/events); unset SLACK_APP_TOKEN"
        )
    if s.slack_signing_secret is None:
        raise ConfigError(
            "SLACK_SIGNING_SECRET is missing: distribution (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET) receives "
            "Slack's requests over HTTP and must verify them"
        )


def _check_desk(s: Settings) -> None:
    for name, places in (
        ("PLEDGEBOT_DESK_WORKSPACES", s.desk_workspaces),
        ("PLEDGEBOT_DESK_GUILDS", s.desk_guilds),
    ):
        # Everywhere else is told who edits the catalogue, so there must be a name to tell them.
        if places and s.publisher is None:
            raise ConfigError(
                f"{name} is set but PLEDGEBOT_PUBLISHER is missing: other workspaces and servers are told "
                "who edits the catalogue by that name"
            )


# -- Discord over HTTP -------------------------------------------------------------------------------------


def _discord_public_key(env: Mapping[str, str]) -> str | None:
    raw = env.get("DISCORD_PUBLIC_KEY", "").strip()
    if not raw:
        return None
    # Hex that is no point of the curve (a mistyped character, say) would verify no signature: every
    # interaction would get a 401. Better said at start-up than found in Discord's "did not respond".
    hex_key = re.fullmatch(r"[0-9a-fA-F]{64}", raw) is not None
    if not hex_key or not crypto_core_ed25519_is_valid_point(bytes.fromhex(raw)):
        raise ConfigError(
            "DISCORD_PUBLIC_KEY must be the application's public key, 64 hexadecimal characters "
            "(Developer Portal → General Information → Public Key)"
        )
    return raw.lower()


def _check_discord(s: Settings) -> None:
    if s.discord_public_key and not s.discord_token:
        raise ConfigError(
            "DISCORD_PUBLIC_KEY is set but DISCORD_TOKEN is missing (HTTP interactions need both: the token "
            "registers commands, reads the editor role and posts digests)"
        )
