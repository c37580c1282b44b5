"""A protocol-level fake of Slack: the Web API, response_url endpoints and a Socket Mode websocket.

It is a real aiohttp server on 127.0.0.1 (port 0) speaking Slack's wire format, in the manner of bolt-python's
`tests/mock_web_api_server`: the app under test reaches it through `AsyncWebClient(base_url=...)` and the
`response_url` in each request. Every call is recorded; tests wait for calls with a bound, never a sleep.
Failures (429 with Retry-After, invalid_auth) are injected per method.

It also installs the app as Slack's OAuth v2 does: `grant` stands for a user approving the install in a
workspace (or an Enterprise Grid org) and returns the code Slack would redirect with; `oauth.v2.access`
exchanges it for that workspace's own bot token (with a refresh token when token rotation is on), checking
the client id and secret; `grant_type=refresh_token` rotates a token, each refresh token working once; and
`auth.test` answers for whichever token asks.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from aiohttp import WSMsgType, web
from slack_sdk.signature import SignatureVerifier

from bot.config import Secret, Settings

TEAM_ID = "T0NEWSROOM"
TEAM_DOMAIN = "newsroom"
APP_ID = "A0PLEDGEBOT"
BOT_USER_ID = "U0PLEDGEBOT"
BOT_ID = "B0PLEDGEBOT"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-1111-2222-test"
APP_TOKEN = "xapp-1-A0PLEDGEBOT-3333-test"
# The app's credentials for distribution (Basic Information → App Credentials).
CLIENT_ID = "1111111111.2222222222"
CLIENT_SECRET = "c0ffee5ecret0f7he0aut4app1234567"
# Slack's rotated bot tokens last 12 hours.
ROTATED_TOKEN_SECONDS = 43200
DEFAULT_TIMEOUT = 5.0


@dataclass(frozen=True)
class Call:
    """One request the fake received: the API method (or "response_url"), headers and parsed body."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: dict[str, Any]

    @property
    def token(self) -> str | None:
        """The bearer token the caller sent, if any."""
        auth = self.headers.get("Authorization", "")
        return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else self.body.get("token")


@dataclass(frozen=True)
class Workspace:
    """Who a token speaks for: a workspace (or, for an org-wide install, an Enterprise Grid org) and the
    app's bot user there."""

    team_id: str | None
    team_name: str
    enterprise_id: str | None = None
    enterprise_name: str | None = None
    org: bool = False
    bot_user_id: str = BOT_USER_ID
    bot_id: str = BOT_ID


@dataclass(frozen=True)
class _Grant:
    workspace: Workspace
    installer: str
    rotation: bool
    expires_in: int


@dataclass
class _Failure:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class FakeSlack:
    """A fake Slack server; use `async with FakeSlack() as slack:` and point the app at `slack.api_url`."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.acks: list[dict[str, Any]] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.invalid_tokens: set[str] = set()
        # Channels `conversations.info` knows; any other channel is public with the bot in it.
        self.channels: dict[str, dict[str, Any]] = {}
        self._failures: dict[str, list[_Failure]] = {}
        # Who each token speaks for; the single-workspace bot token is the newsroom's.
        self.tokens: dict[str, Workspace] = {BOT_TOKEN: Workspace(TEAM_ID, "Newsroom")}
        self._grants: dict[str, _Grant] = {}
        # The app's client secret, as Slack knows it (a test may give the app a wrong one, or its own).
        self.client_secret = CLIENT_SECRET
        # Refresh tokens that still work (each works once), with what they refresh; and every one issued.
        self._refresh_tokens: dict[str, _Grant] = {}
        self.refresh_tokens: list[str] = []
        self._issued = itertools.count(1)
        # How long a token refresh takes to answer, so that refreshers racing each other overlap.
        self.refresh_delay = 0.0
        self._changed = asyncio.Condition()
        self._sockets: list[web.WebSocketResponse] = []
        self._ts = itertools.count(1)
        self._envelopes = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "users.info": self._users_info,
            "chat.postMessage": self._post_message,
            "chat.postEphemeral": self._post_ephemeral,
            "conversations.history": self._history,
            "conversations.info": self._conversation_info,
            "conversations.join": self._join,
            "apps.connections.open": self._connections_open,
            "files.getUploadURLExternal": self._upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "views.open": self._views_open,
            "views.update": self._views_update,
        }
        # Files uploaded to an upload URL (files upload v2), by file id: their bytes.
        self.uploads: dict[str, bytes] = {}
        self._files = itertools.count(1)
        # Modals open, by view id; a trigger_id opens one view at most (Slack's triggers are single-use).
        self.views: dict[str, dict[str, Any]] = {}
        self._used_triggers: set[str] = set()
        self._view_ids = itertools.count(1)

    # -- lifecycle ---------------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{name}", self._response_url)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/link/", self._socket)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        """The server's root URL."""
        return f"http://127.0.0.1:{self.port}/"

    @property
    def api_url(self) -> str:
        """The Web API base URL, as `AsyncWebClient(base_url=...)` expects it (trailing slash)."""
        return f"{self.url}api/"

    def settings(self, db_path: Path, *, socket_mode: bool = False, **extra: Any) -> Settings:
        """Settings pointing the bot at this fake: HTTP mode (signing secret, any port) or Socket Mode."""
        mode: dict[str, Any] = (
            {"slack_app_token": Secret(APP_TOKEN)}
            if socket_mode
            else {"slack_signing_secret": Secret(SIGNING_SECRET), "port": 0}
        )
        return Settings(
            db_path=db_path,
            slack_bot_token=Secret(BOT_TOKEN),
            slack_api_url=self.api_url,
            **{**mode, **extra},
        )

    def response_url(self, name: str = "1") -> str:
        """A response_url whose posts are recorded as calls to the method "response_url"."""
        return f"{self.url}response/{name}"

    # -- set-up ------------------------------------------------------------------------------------------

    def add_user(
        self, user_id: str, *, admin: bool = False, owner: bool = False, locale: str = "en-US"
    ) -> None:
        """Make `users.info` know a user, with workspace admin/owner flags."""
        self.users[user_id] = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": user_id.lower(),
            "is_admin": admin,
            "is_owner": owner,
            "is_bot": False,
            "locale": locale,
            "tz": "Asia/Seoul",
        }

    def grant(
        self,
        team_id: str | None,
        *,
        team_name: str = "",
        enterprise_id: str | None = None,
        org: bool = False,
        rotation: bool = False,
        expires_in: int = ROTATED_TOKEN_SECONDS,
        installer: str = "U0INSTALLER",
    ) -> str:
        """A user approves installing the app in a workspace (or, with `org`, in a whole Enterprise Grid
        org); return the one-time code Slack redirects to /slack/oauth_redirect with.

        With `rotation` (the app's token_rotation_enabled), the token expires after `expires_in` seconds and
        comes with a refresh token.
        """
        code = f"code-{next(self._issued)}"
        number = next(self._issued)
        workspace = Workspace(
            None if org else team_id,
            team_name or (team_id or enterprise_id or "").lower(),
            enterprise_id,
            f"{enterprise_id} org" if enterprise_id else None,
            org,
            bot_user_id=f"U0BOT{number:04d}",
            bot_id=f"B0BOT{number:04d}",
        )
        self._grants[code] = _Grant(workspace, installer, rotation, expires_in)
        return code

    def tokens_of(self, team_or_enterprise: str) -> list[str]:
        """Every token issued for a workspace (or org), oldest first."""
        return [
            t
            for t, w in self.tokens.items()
            if team_or_enterprise in (w.team_id, w.enterprise_id if w.org else None)
        ]

    def uninstall(self, team_or_enterprise: str) -> None:
        """The app is removed from a workspace (or org): its tokens stop working."""
        self.invalid_tokens.update(self.tokens_of(team_or_enterprise))

    def add_channel(self, channel_id: str, *, private: bool = False, member: bool = False) -> None:
        """Make `conversations.info` know a channel: public or private, with the bot in it or not."""
        self.channels[channel_id] = {
            "id": channel_id,
            "name": channel_id.lower(),
            "is_channel": not private,
            "is_group": private,
            "is_private": private,
            "is_member": member,
        }

    def fail_next(
        self,
        method: str,
        times: int = 1,
        *,
        status: int = 429,
        retry_after: float = 0,
        error: str | None = None,
    ) -> None:
        """Answer the next `times` calls to `method` with an HTTP error (429 carries Retry-After).

        With `error` (e.g. "missing_scope"), answer HTTP 200 with `{"ok": false, "error": error}` instead,
        as Slack does for API-level errors.
        """
        headers = {"Retry-After": str(retry_after)} if status == 429 and error is None else {}
        if error is not None:
            status = 200
        else:
            error = "ratelimited" if status == 429 else "fatal_error"
        failures = self._failures.setdefault(method, [])
        failures.extend(_Failure(status, {"ok": False, "error": error}, headers) for _ in range(times))

    # -- observation -------------------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        """Every call so far to `method`, oldest first."""
        return [c for c in self.calls if c.method == method]

    async def wait_for_calls(
        self, method: str, count: int = 1, timeout: float = DEFAULT_TIMEOUT
    ) -> list[Call]:
        """Wait (bounded) until `method` has been called at least `count` times; return those calls."""
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(self.calls_to(method)) >= count), timeout
            )
        return self.calls_to(method)

    async def wait_for_ack(self, envelope_id: str, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        """Wait (bounded) for the app to acknowledge a Socket Mode envelope; return the ack message."""

        def found() -> dict[str, Any] | None:
            return next((a for a in self.acks if a.get("envelope_id") == envelope_id), None)

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: found() is not None), timeout)
        return found()  # type: ignore[return-value]

    async def wait_connected(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait (bounded) until a Socket Mode client holds an open websocket."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: bool(self._sockets)), timeout)

    async def wait_disconnected(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait (bounded) until no Socket Mode client is connected."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: not self._sockets), timeout)

    async def push(self, kind: str, payload: dict[str, Any]) -> str:
        """Send a Socket Mode envelope ("slash_commands", "interactive") to the app; return its id."""
        await self.wait_connected()
        envelope_id = f"env-{next(self._envelopes)}"
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind == "slash_commands",
        }
        await self._sockets[-1].send_str(json.dumps(envelope))
        return envelope_id

    async def _record(self, call: Call) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    # -- HTTP endpoints ----------------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body: dict[str, Any] = dict(request.query)
        raw = await request.text()
        if request.content_type == "application/json" and raw:
            body.update(json.loads(raw))
        elif raw:
            body.update(dict(urllib.parse.parse_qsl(raw)))
        for key in ("blocks", "metadata", "view"):
            # Form-encoded calls carry structured arguments as JSON strings.
            if isinstance(body.get(key), str):
                body[key] = json.loads(body[key])
        call = Call(method, request.path, dict(request.headers), body)
        await self._record(call)

        failures = self._failures.get(method)
        if failures:
            failure = failures.pop(0)
            return web.json_response(failure.body, status=failure.status, headers=failure.headers)
        if method == "oauth.v2.access":
            # Authenticated by the app's client id and secret (HTTP Basic), not by a token.
            return web.json_response(await self._oauth_access(call))
        token = call.token
        if not token:
            return web.json_response({"ok": False, "error": "not_authed"})
        if token in self.invalid_tokens:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        handler = self._methods.get(method)
        if handler is None and method != "auth.test":
            return web.json_response({"ok": False, "error": "unknown_method"})
        if method == "apps.connections.open" and not token.startswith("xapp-"):
            return web.json_response({"ok": False, "error": "not_allowed_token_type"})
        if method == "auth.test" or handler is None:
            return web.json_response(self._auth_test(token))
        return web.json_response(handler(body))

    async def _response_url(self, request: web.Request) -> web.Response:
        body = await request.json()
        await self._record(Call("response_url", request.path, dict(request.headers), body))
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        self.uploads[file_id] = await request.read()
        await self._record(Call("upload", request.path, dict(request.headers), {"file_id": file_id}))
        return web.Response(text=f"OK - {len(self.uploads[file_id])}")

    # -- Web API methods ---------------------------------------------------------------------------------

    def _upload_url(self, body: dict[str, Any]) -> dict[str, Any]:
        file_id = f"F{next(self._files):08d}"
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.url}upload/{file_id}"}

    def _complete_upload(self, body: dict[str, Any]) -> dict[str, Any]:
        files = body["files"] if isinstance(body["files"], list) else json.loads(body["files"])
        if any(f["id"] not in self.uploads for f in files):
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "files": [{"id": f["id"], "title": f.get("title", "")} for f in files]}

    def _auth_test(self, token: str) -> dict[str, Any]:
        workspace = self.tokens.get(token, Workspace(TEAM_ID, "Newsroom"))
        answer: dict[str, Any] = {
            "ok": True,
            "url": f"https://{(workspace.team_id or workspace.enterprise_id or '').lower()}.slack.com/",
            "team": workspace.team_name,
            "user": "pledgebot",
            "team_id": workspace.team_id,
            "user_id": workspace.bot_user_id,
            "bot_id": workspace.bot_id,
            "is_enterprise_install": workspace.org,
        }
        if workspace.enterprise_id:
            answer["enterprise_id"] = workspace.enterprise_id
        return answer

    async def _oauth_access(self, call: Call) -> dict[str, Any]:
        """oauth.v2.access: a code for a new installation's token, or (grant_type=refresh_token) a refresh."""
        client = _basic_auth(call.headers.get("Authorization", ""))
        if client is None or client[0] != CLIENT_ID:
            return {"ok": False, "error": "invalid_client_id"}
        if client[1] != self.client_secret:
            return {"ok": False, "error": "bad_client_secret"}
        if call.body.get("grant_type") == "refresh_token":
            await asyncio.sleep(self.refresh_delay)
            grant = self._refresh_tokens.pop(str(call.body.get("refresh_token", "")), None)
            if grant is None:
                return {"ok": False, "error": "invalid_refresh_token"}
            return self._issue(grant, new=False)
        grant = self._grants.pop(str(call.body.get("code", "")), None)
        if grant is None:
            return {"ok": False, "error": "invalid_code"}
        return self._issue(grant, new=True)

    def _issue(self, grant: _Grant, *, new: bool) -> dict[str, Any]:
        """A token for the grant's workspace, shaped as oauth.v2.access answers (a refresh says less)."""
        workspace = grant.workspace
        n = next(self._issued)
        place = workspace.team_id or workspace.enterprise_id
        # Rotating tokens are "xoxe.xoxb-" tokens, refreshed with "xoxe-" refresh tokens.
        token = f"xoxe.xoxb-1-{place}-{n}" if grant.rotation else f"xoxb-{place}-{n}"
        self.tokens[token] = workspace
        answer: dict[str, Any] = {
            "ok": True,
            "app_id": APP_ID,
            "access_token": token,
            "token_type": "bot",
            "scope": "commands,chat:write",
            "bot_user_id": workspace.bot_user_id,
            "team": {"id": workspace.team_id, "name": workspace.team_name} if workspace.team_id else None,
            "enterprise": (
                {"id": workspace.enterprise_id, "name": workspace.enterprise_name}
                if workspace.enterprise_id
                else None
            ),
            "is_enterprise_install": workspace.org,
        }
        if new:
            answer["authed_user"] = {"id": grant.installer}
        if grant.rotation:
            refresh = f"xoxe-1-{place}-refresh-{n}"
            self._refresh_tokens[refresh] = grant
            self.refresh_tokens.append(refresh)
            answer |= {
                "refresh_token": refresh,
                "expires_in": ROTATED_TOKEN_SECONDS if not new else grant.expires_in,
            }
        return answer

    def _users_info(self, body: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(body.get("user", ""))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user}

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def _post_message(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = body.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not body.get("text") and not body.get("blocks"):
            return {"ok": False, "error": "no_text"}
        if (problem := _block_kit_problem(body.get("blocks") or [])) is not None:
            # Slack refuses the whole message when one Block Kit limit is exceeded.
            return {"ok": False, "error": "invalid_blocks", "errors": [problem]}
        message = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "text": body.get("text", ""),
            "blocks": body.get("blocks", []),
            "ts": self._next_ts(),
        }
        if body.get("metadata"):
            message["metadata"] = body["metadata"]
        self.messages.setdefault(channel, []).append(message)
        return {"ok": True, "channel": channel, "ts": message["ts"], "message": message}

    def _post_ephemeral(self, body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("channel") or not body.get("user"):
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _history(self, body: dict[str, Any]) -> dict[str, Any]:
        messages = list(reversed(self.messages.get(body.get("channel", ""), [])))
        if str(body.get("include_all_metadata", "")).lower() not in {"1", "true"}:
            messages = [{k: v for k, v in m.items() if k != "metadata"} for m in messages]
        limit = int(body.get("limit") or 100)
        return {"ok": True, "messages": messages[:limit], "has_more": len(messages) > limit}

    def _conversation_info(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = body.get("channel", "")
        info = self.channels.get(channel)
        if info is None:
            info = {"id": channel, "is_channel": True, "is_private": False, "is_member": True}
        elif info["is_private"] and not info["is_member"]:
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "channel": dict(info)}

    def _join(self, body: dict[str, Any]) -> dict[str, Any]:
        info = self.channels.get(body.get("channel", ""))
        if info is None:
            return {"ok": False, "error": "channel_not_found"}
        if info["is_private"]:
            return {"ok": False, "error": "method_not_supported_for_channel_type"}
        info["is_member"] = True
        return {"ok": True, "channel": dict(info)}

    def _views_open(self, body: dict[str, Any]) -> dict[str, Any]:
        trigger = str(body.get("trigger_id") or "")
        if not trigger or trigger in self._used_triggers:
            return {"ok": False, "error": "invalid_trigger_id" if not trigger else "expired_trigger_id"}
        problems = view_problems(body.get("view") or {})
        if problems:
            return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": problems}}
        self._used_triggers.add(trigger)
        view_id = f"V{next(self._view_ids):010d}"
        self.views[view_id] = {**body["view"], "id": view_id, "hash": f"hash-{view_id}-1"}
        return {"ok": True, "view": self.views[view_id]}

    def _views_update(self, body: dict[str, Any]) -> dict[str, Any]:
        view_id = str(body.get("view_id") or "")
        if view_id not in self.views:
            return {"ok": False, "error": "not_found"}
        problems = view_problems(body.get("view") or {})
        if problems:
            return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": problems}}
        self.views[view_id] = {**body["view"], "id": view_id, "hash": f"hash-{view_id}-2"}
        return {"ok": True, "view": self.views[view_id]}

    def close_view(self, view_id: str) -> None:
        """The user closes a modal: later views.update calls for it fail with not_found."""
        self.views.pop(view_id, None)

    def _connections_open(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link/?ticket=fake-ticket"}

    # -- Socket Mode -------------------------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await ws.send_str(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": 1,
                    "debug_info": {"host": "fake-slack", "approximate_connection_time": 18060},
                    "connection_info": {"app_id": APP_ID},
                }
            )
        )
        async with self._changed:
            self._sockets.append(ws)
            self._changed.notify_all()
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                data = json.loads(message.data)
                async with self._changed:
                    self.acks.append(data)
                    self._changed.notify_all()
        finally:
            async with self._changed:
                self._sockets.remove(ws)
                self._changed.notify_all()
        return ws


# -- Block Kit views, as Slack checks them ---------------------------------------------------------------


def view_problems(view: dict[str, Any]) -> list[str]:
    """Why Slack would refuse this modal view (docs.slack.dev/reference/views): empty when it is valid."""
    problems = []
    if view.get("type") != "modal":
        problems.append("type must be modal")
    for key in ("title", "submit", "close"):
        text = (view.get(key) or {}).get("text")
        if key == "title" and not text:
            problems.append("a title is required")
        if text is not None and not 1 <= len(text) <= 24:
            problems.append(f"{key} must be 1 to 24 characters")
    if len(view.get("private_metadata") or "") > 3000:
        problems.append("private_metadata over 3000")
    blocks = view.get("blocks") or []
    if len(blocks) > 100:
        problems.append("more than 100 blocks")
    inputs = [b for b in blocks if b.get("type") == "input"]
    if inputs and not view.get("submit"):
        problems.append("a view with inputs needs a submit button")
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    if len(block_ids) != len(set(block_ids)):
        problems.append("duplicate block_id")
    for block in inputs:
        element = block.get("element") or {}
        if not 1 <= len((block.get("label") or {}).get("text") or "") <= 2000:
            problems.append("input label")
        if element.get("type") == "plain_text_input" and not 1 <= element.get("max_length", 3000) <= 3000:
            problems.append("plain_text_input max_length over 3000")
        if len(element.get("initial_value") or "") > 3000:
            problems.append("initial_value over 3000")
        if element.get("type") == "static_select" and not 1 <= len(element.get("options") or []) <= 100:
            problems.append("static_select needs 1 to 100 options")
        for option in element.get("options") or []:
            if not 1 <= len(option.get("value") or "") <= 150:
                problems.append("option value must be 1 to 150 characters")
    return problems


# -- requests built exactly as Slack sends them ----------------------------------------------------------


def _block_kit_problem(blocks: list[dict[str, Any]]) -> str | None:
    """What Slack would refuse in these blocks: more than 50, a header over 150 characters, or a section or
    context text over 3,000 (docs.slack.dev/reference/block-kit)."""
    if len(blocks) > 50:
        return "no more than 50 items allowed [json-pointer:/blocks]"
    for n, block in enumerate(blocks):
        texts = [block.get("text") or {}, *(block.get("elements") or [])]
        limit = 150 if block.get("type") == "header" else 3000
        for text in texts:
            if isinstance(text, dict) and len(str(text.get("text", ""))) > limit:
                return f"must be less than {limit + 1} characters [json-pointer:/blocks/{n}/text]"
    return None


_TRIGGERS = itertools.count(1)


def slash_command(
    text: str,
    *,
    response_url: str,
    user_id: str = "U0REPORTER",
    channel_id: str = "C0POLITICS",
    trigger_id: str | None = None,
    team_id: str = TEAM_ID,
    enterprise_id: str | None = None,
    org: bool = False,
) -> dict[str, str]:
    """The fields of a `/pledge` slash command, in the order Slack posts them (each with its own trigger);
    from a workspace of an Enterprise Grid org, with its id and whether the app is installed org-wide."""
    fields = {
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "team_id": team_id,
        "team_domain": team_id.lower() if team_id != TEAM_ID else TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": "politics",
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": "/pledge",
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "true" if org else "false",
        "response_url": response_url,
        "trigger_id": trigger_id or f"13345224609.738474920.{next(_TRIGGERS):012x}",
    }
    if enterprise_id is not None:
        fields = {**fields, "enterprise_id": enterprise_id, "enterprise_name": f"{enterprise_id} org"}
    return fields


def block_actions(
    action_id: str,
    value: str,
    *,
    response_url: str,
    user_id: str = "U0REPORTER",
    channel_id: str = "C0POLITICS",
    ephemeral: bool = True,
    team_id: str = TEAM_ID,
) -> dict[str, Any]:
    """A `block_actions` payload for a button click, as Slack sends it (ephemeral messages carry no copy)."""
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id},
        "api_app_id": APP_ID,
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "container": {
            "type": "message",
            "message_ts": "1748225340.000200",
            "channel_id": channel_id,
            "is_ephemeral": ephemeral,
        },
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "team": {"id": team_id, "domain": team_id.lower()},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": "politics"},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": "pledge_actions",
                "text": {"type": "plain_text", "text": "Share in channel", "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": "1748225345.000300",
            }
        ],
    }


def _basic_auth(header: str) -> tuple[str, str] | None:
    """(client id, client secret) from an HTTP Basic Authorization header, or None."""
    if not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header.removeprefix("Basic ")).decode().partition(":")
    except ValueError:
        return None
    return user, password


_EVENTS = itertools.count(1)


def event_callback(
    event: dict[str, Any], *, team_id: str | None, enterprise_id: str | None = None, org: bool = False
) -> dict[str, Any]:
    """An Events API `event_callback` body as Slack posts it to the request URL (`app_uninstalled`,
    `tokens_revoked`), for a workspace or, with `org`, an org-wide install."""
    n = next(_EVENTS)
    return {
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "team_id": team_id,
        "enterprise_id": enterprise_id,
        "api_app_id": APP_ID,
        "event": {**event, "event_ts": f"1748225340.{n:06d}"},
        "type": "event_callback",
        "event_id": f"Ev{n:08d}",
        "event_time": 1748225340,
        "authorizations": [
            {
                "enterprise_id": enterprise_id,
                "team_id": None if org else team_id,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": org,
            }
        ],
        "is_ext_shared_channel": False,
    }


def form_body(fields: Mapping[str, str]) -> str:
    """Form-encode fields the way Slack does."""
    return urllib.parse.urlencode(fields)


def interactive_body(payload: dict[str, Any]) -> str:
    """Form-encode an interactivity payload (`payload=<json>`) the way Slack does."""
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


def signed_headers(
    body: str,
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, str]:
    """Headers Slack sends with a request: a v0 HMAC-SHA256 signature over `v0:{ts}:{body}`."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature or "",
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }


def users_select(
    block_id: str,
    action_id: str,
    selected_user: str,
    *,
    response_url: str,
    user_id: str = "U0REPORTER",
    channel_id: str = "C0POLITICS",
) -> dict[str, Any]:
    """A `block_actions` payload for a person picked in a users_select on an ephemeral message."""
    payload = block_actions(
        action_id, "", response_url=response_url, user_id=user_id, channel_id=channel_id, ephemeral=True
    )
    payload["actions"] = [
        {
            "type": "users_select",
            "action_id": action_id,
            "block_id": block_id,
            "selected_user": selected_user,
            "action_ts": "1748225345.000400",
        }
    ]
    return payload


def view_submission(
    view: dict[str, Any], values: Mapping[str, str], *, user_id: str = "U0REPORTER"
) -> dict[str, Any]:
    """A `view_submission` payload for `view` (as views.open returned it) filled in with `values`, by block
    id: text inputs give `value`, date pickers `selected_date`, selects `selected_option`."""
    state: dict[str, dict[str, Any]] = {}
    for block in view.get("blocks") or []:
        if block.get("type") != "input":
            continue
        element = block["element"]
        value = values.get(block["block_id"])
        entry: dict[str, Any] = {"type": element["type"]}
        if element["type"] == "datepicker":
            entry["selected_date"] = value
        elif element["type"] == "static_select":
            chosen = [o for o in element["options"] if o["value"] == value]
            entry["selected_option"] = chosen[0] if chosen else None
        else:
            entry["value"] = value
        state[block["block_id"]] = {element["action_id"]: entry}
    return {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "trigger_id": "13345224609.738474920.submission",
        "view": {**view, "state": {"values": state}, "team_id": TEAM_ID, "app_id": APP_ID},
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
