"""Slack distribution (OAuth v2): any workspace installs the app, and each is answered with its own token.

Bolt runs the OAuth flow (`/slack/install`, `/slack/oauth_redirect`); this module gives it what it stores and
how each request finds its token, over the project's state store (`bot/installations.py`, SQLite or
PostgreSQL) rather than slack_sdk's SQLite3 stores, which block the loop and need a disk of their own:

- `SlackInstallations`, slack_sdk's `AsyncInstallationStore`: installations kept as documents in the state
  store (in a thread, since the store blocks). With token rotation on, a token expiring within
  `ROTATE_MINUTES` is refreshed under the store's lock (a row lock on PostgreSQL, the write transaction on
  SQLite), the installation read again once the lock is held, so however many processes need it at the same
  moment, one refreshes and the others read what it stored.
- `OAuthStates`, slack_sdk's `AsyncOAuthStateStore`: each state usable once, by whichever process gets the
  redirect.
- `Authorize`: each request's own workspace's (or Enterprise Grid org's) token, read on every request so a
  refresh by another process counts at once; a workspace with no installation gets None, which Bolt answers
  with a 200 and a message, never a 5xx.
- `register`: `app_uninstalled` and `tokens_revoked` delete the workspace's installation, subscriptions and
  editors list in one transaction, logged in the installation log.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackClientError, SlackTokenRotationError
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.token_rotation import TokenRotator
from slack_sdk.web import WebClient
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock, utc_now
from bot.config import Settings
from bot.installations import Installations, Installed, Removal

log = logging.getLogger(__name__)

PLATFORM = "slack"
# The bot scopes an install asks for: those of slack-manifest.yaml (tests/test_slack_manifest.py checks).
SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "users:read",
    "channels:read",
    "groups:read",
    "channels:join",
    "channels:history",
    "groups:history",
    "files:write",
)
# Refresh a rotating token that expires within this long (Bolt's own default); Slack's last 12 hours.
ROTATE_MINUTES = 120
# A refresh holds the installation's lock (on SQLite, the whole file's write lock) while it waits for Slack,
# so it gets well under the 10 s other writers wait for a lock.
REFRESH_TIMEOUT = 5.0
STATE_SECONDS = 600
NOT_INSTALLED = (
    "pledgebot is not installed in this workspace (any more). A workspace admin can add it again from the "
    "tracker's install page."
)
# oauth.v2.access carries codes, client secrets and tokens, which slack_sdk logs at DEBUG with everything
# else it sends and receives; the clients that call it log through this logger, never below INFO.
_quiet = logging.getLogger("pledgebot.slack_oauth")


def quiet_logger() -> logging.Logger:
    """The logger of the clients that exchange codes and refresh tokens: INFO at most, so that slack_sdk's
    DEBUG lines (whole requests and answers) never write a token to the log."""
    if _quiet.level < logging.INFO:
        _quiet.setLevel(logging.INFO)
    return _quiet


def _key(enterprise_id: str | None, team_id: str | None, org: bool | None) -> tuple[str, str]:
    """The state store's key of an installation: an org-wide install has no team."""
    return enterprise_id or "", "" if org else team_id or ""


def _document(installation: Installation) -> dict[str, Any]:
    """An installation as JSON-ready data, times as Unix seconds, that `_installation` reads back."""
    body = installation.to_dict_for_copying()
    body["bot_token_expires_at"] = installation.bot_token_expires_at
    body["user_token_expires_at"] = installation.user_token_expires_at
    body["installed_at"] = installation.installed_at
    return body


def _installation(body: dict[str, Any]) -> Installation:
    return Installation(**body)


def _expiring(installation: Installation, now: float) -> bool:
    expires = installation.bot_token_expires_at
    return expires is not None and expires <= now + ROTATE_MINUTES * 60


class SlackInstallations(AsyncInstallationStore):
    """slack_sdk's installation store over the state store, refreshing rotating tokens under its lock."""

    def __init__(self, installations: Installations, settings: Settings, clock: Clock = utc_now):
        assert settings.slack_client_id is not None and settings.slack_client_secret is not None
        self.installations = installations
        self._clock = clock
        options: dict[str, Any] = {"base_url": settings.slack_api_url} if settings.slack_api_url else {}
        # Synchronous: a refresh runs in the state store's thread, inside the transaction holding the lock.
        self._rotator = TokenRotator(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret.value,
            client=WebClient(timeout=int(REFRESH_TIMEOUT), logger=quiet_logger(), **options),
        )
        # Workspaces this process has recorded as served by their org's install.
        self._noted: set[str] = set()

    @property
    def logger(self) -> logging.Logger:
        """Where slack_sdk and Bolt log about this store."""
        return log

    async def async_save(self, installation: Installation) -> None:
        """Store a new (or renewed) installation, as the OAuth flow's last step."""
        enterprise, team = _key(
            installation.enterprise_id, installation.team_id, installation.is_enterprise_install
        )
        await asyncio.to_thread(
            self.installations.save,
            PLATFORM,
            enterprise,
            team,
            _document(installation),
            self._clock(),
            installation.user_id or "",
        )

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        """The workspace's (or org's) installation as stored, whoever asks."""
        found = await asyncio.to_thread(
            self.installations.find, PLATFORM, *_key(enterprise_id, team_id, is_enterprise_install)
        )
        return _installation(found.body) if found is not None else None

    async def async_find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        """The bot part of the workspace's (or org's) installation."""
        installation = await self.async_find_installation(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install
        )
        return installation.to_bot() if installation is not None else None

    async def current(self, enterprise_id: str | None, team_id: str | None, org: bool) -> Installation | None:
        """The installation a request from this workspace is answered with, its token refreshed first when
        it expires soon; None when there is none."""
        found = await asyncio.to_thread(self.installations.find, PLATFORM, *_key(enterprise_id, team_id, org))
        return await self._fresh(found) if found is not None else None

    async def serving(self, workspace: str) -> Installation | None:
        """The installation that posts in `workspace` (its own or its org's), refreshed like `current`."""
        found = await asyncio.to_thread(self.installations.serving, PLATFORM, workspace)
        return await self._fresh(found) if found is not None else None

    async def _fresh(self, found: Installed) -> Installation | None:
        installation = _installation(found.body)
        # The real clock, as slack_sdk's rotator reads it: expiry times are Slack's, in Unix seconds.
        if not _expiring(installation, time.time()):
            return installation
        body = await asyncio.to_thread(
            self.installations.renew, PLATFORM, found.enterprise, found.team, self._refresh, self._clock()
        )
        return _installation(body) if body is not None else None

    def _refresh(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """Under the lock, with the installation as stored now: refresh its token if it still needs it."""
        rotated = self._rotator.perform_token_rotation(
            installation=_installation(body), minutes_before_expiration=ROTATE_MINUTES
        )
        if rotated is None:
            return None
        log.info("refreshed the bot token of Slack %s", body.get("team_id") or body.get("enterprise_id"))
        return _document(rotated)

    async def note(self, workspace: str, enterprise: str) -> None:
        """Record (once per process) that an org-wide install answered for `workspace`, so its digests find
        their token and an uninstall finds its subscriptions."""
        if workspace in self._noted:
            return
        await asyncio.to_thread(
            self.installations.note_workspace, PLATFORM, workspace, enterprise, self._clock()
        )
        self._noted.add(workspace)

    async def forget(self, enterprise_id: str | None, team_id: str | None, org: bool, event: str) -> Removal:
        """Delete the installation and everything of the workspaces it served, logged under `event`."""
        enterprise, team = _key(enterprise_id, team_id, org)
        removal = await asyncio.to_thread(
            self.installations.remove, PLATFORM, enterprise, team, event, self._clock()
        )
        self._noted.difference_update(removal.workspaces)
        return removal


class OAuthStates(AsyncOAuthStateStore):
    """slack_sdk's OAuth state store over the state store: a state is issued by one process and consumed,
    once, by whichever one the user's browser comes back to."""

    def __init__(self, installations: Installations, expiration_seconds: int = STATE_SECONDS):
        self.installations = installations
        self.expiration_seconds = expiration_seconds

    @property
    def logger(self) -> logging.Logger:
        """Where slack_sdk and Bolt log about this store."""
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        """A new state for an install about to start."""
        state = secrets.token_urlsafe(24)
        now = int(time.time())
        await asyncio.to_thread(self.installations.issue_state, state, now + self.expiration_seconds, now)
        return state

    async def async_consume(self, state: str) -> bool:
        """True once for a live state this store issued; every later or other call is False."""
        return await asyncio.to_thread(self.installations.consume_state, state, int(time.time()))


class Authorize(AsyncAuthorize):
    """Bolt's authorize for a distributed app: the installation of the request's own workspace (or org)."""

    def __init__(self, store: SlackInstallations):
        self.store = store

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        actor_enterprise_id: str | None = None,
        actor_team_id: str | None = None,
        actor_user_id: str | None = None,
    ) -> AuthorizeResult | None:
        """The request's token and bot, or None (refused) when its workspace has no installation."""
        org = bool(context.is_enterprise_install)
        try:
            installation = await self.store.current(enterprise_id, team_id, org)
        except (SlackClientError, OSError) as error:
            # Slack refused the refresh (a revoked refresh token), or could not be reached in time.
            log.error(
                "refreshing the bot token of Slack workspace %s failed (%s); the request is refused",
                team_id or enterprise_id,
                _why(error),
            )
            return None
        if installation is None or installation.bot_token is None:
            log.info("refused a request from Slack workspace %s, which has no installation", team_id)
            return None
        if org and team_id and enterprise_id:
            await self.store.note(team_id, enterprise_id)
        return AuthorizeResult(
            enterprise_id=installation.enterprise_id,
            team_id=team_id or installation.team_id,
            bot_user_id=installation.bot_user_id,
            bot_id=installation.bot_id,
            bot_token=installation.bot_token,
            bot_scopes=installation.bot_scopes,
            user_id=user_id,
        )


def _why(error: Exception) -> str:
    """Slack's error code for a refused refresh, else the kind of failure (never a message: it may quote)."""
    if isinstance(error, SlackTokenRotationError):
        return str(error.api_error.response.get("error", "error"))
    return type(error).__name__


def oauth_flow(settings: Settings, store: SlackInstallations, states: OAuthStates) -> AsyncOAuthFlow:
    """Bolt's OAuth flow over these stores, exchanging codes at `SLACK_API_URL` with a client that never
    logs below INFO."""
    assert settings.slack_client_id is not None and settings.slack_client_secret is not None
    options: dict[str, Any] = {"base_url": settings.slack_api_url} if settings.slack_api_url else {}
    return AsyncOAuthFlow(
        client=AsyncWebClient(logger=quiet_logger(), **options),
        logger=log,
        settings=AsyncOAuthSettings(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret.value,
            scopes=list(SCOPES),
            user_scopes=[],
            installation_store=store,
            state_store=states,
            state_expiration_seconds=states.expiration_seconds,
            token_rotation_expiration_minutes=ROTATE_MINUTES,
        ),
    )


def register(app: AsyncApp, store: SlackInstallations) -> None:
    """Forget a workspace when Slack says the app left it: `app_uninstalled`, or `tokens_revoked` naming
    the bot's token (user tokens alone change nothing: the app asks for none)."""

    async def uninstalled(context: AsyncBoltContext) -> None:
        await _forget(store, context, "app_uninstalled")

    async def revoked(event: dict[str, Any], context: AsyncBoltContext) -> None:
        if not (event.get("tokens") or {}).get("bot"):
            log.info("Slack revoked user tokens in %s; pledgebot holds none", context.team_id)
            return
        await _forget(store, context, "tokens_revoked")

    app.event("app_uninstalled")(uninstalled)
    app.event("tokens_revoked")(revoked)


async def _forget(store: SlackInstallations, context: AsyncBoltContext, event: str) -> None:
    org = bool(context.is_enterprise_install)
    try:
        removal = await store.forget(context.enterprise_id, context.team_id, org, event)
    except Exception:
        # Slack sends the event again when it was not acknowledged; Bolt acknowledged it already, so the
        # operator must see this one.
        log.exception("forgetting Slack %s after %s failed", context.team_id or context.enterprise_id, event)
        return
    log.info(
        "Slack %s: %s; deleted its installation (%s), %d subscription(s) and %d editor(s)",
        event,
        context.team_id or context.enterprise_id,
        "found" if removal.installation else "none was left",
        removal.subscriptions,
        removal.editors,
    )
