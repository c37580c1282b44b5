"""A protocol-level fake of Discord on 127.0.0.1: the REST API under /api/v10 and the gateway websocket.

It speaks the real wire format so the real discord.py client runs against it unchanged: JSON bodies with
exactly `Content-Type: application/json` (discord.py compares the header for equality), 429s carrying `Via`
and a JSON `retry_after`, and a gateway that sends plain JSON text frames. discord.py asks for
`compress=zlib-stream` in the gateway URL, but it only inflates *binary* frames, so text frames are valid
uncompressed traffic and the fake records the query instead of implementing zlib.

Everything the bot sends (REST requests and gateway frames) is appended to a `Log` that tests await with a
bound (`await fake.requests.wait_for(pred)`), never a sleep.

For a bot that takes interactions over HTTP, the fake plays Discord's other part too: it signs each
interaction with the application's Ed25519 key (its public half is the application's `verify_key`), POSTs it
to the bot's endpoint and takes the answer as the interaction's first response, with the same checks and the
same 3 s deadline as a response sent to the callback endpoint.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import aiohttp
from aiohttp import WSMsgType, web
from nacl.signing import SigningKey

from bot.config import Secret, Settings

API = "/api/v10"
DISCORD_EPOCH_MS = 1_420_070_400_000
INTERACTION_DEADLINE = 3.0  # seconds to send the initial interaction response
NONCE_WINDOW = 300.0  # Discord de-duplicates an enforced nonce for "a few minutes"
EPHEMERAL = 64
LOADING = 128

T = TypeVar("T")

MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
# What a plain member usually has: view channel, send messages, read history, use application commands.
MEMBER_PERMISSIONS = (1 << 10) | (1 << 11) | (1 << 16) | (1 << 31)


class Log(Generic[T]):
    """An append-only record that tests wait on with a timeout."""

    def __init__(self) -> None:
        self.items: list[T] = []
        self._changed = asyncio.Condition()

    async def add(self, item: T) -> None:
        """Record `item` and wake every waiter."""
        async with self._changed:
            self.items.append(item)
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[T], bool], timeout: float = 5.0, after: int = 0) -> T:
        """The first item (from index `after`) matching `predicate`, waiting at most `timeout` seconds."""

        async def first() -> T:
            async with self._changed:
                while True:
                    for item in self.items[after:]:
                        if predicate(item):
                            return item
                    await self._changed.wait()

        return await asyncio.wait_for(first(), timeout)

    def matching(self, predicate: Callable[[T], bool]) -> list[T]:
        """Every item recorded so far that matches `predicate`."""
        return [i for i in self.items if predicate(i)]

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True)
class Request:
    """One REST request the bot made."""

    method: str
    path: str  # without the /api/v10 prefix, e.g. "/users/@me"
    query: dict[str, str]
    body: Any
    authorization: str | None


@dataclass(frozen=True)
class HttpAnswer:
    """What the bot's interactions endpoint answered to one interaction the fake POSTed to it."""

    status: int
    body: Any  # the JSON answer, else its text ("" for none)
    seconds: float  # from sending the interaction to the whole answer
    problems: tuple[str, ...] = ()  # why Discord would not show the answer (limits, lateness)


@dataclass(frozen=True)
class UserOption:
    """A user picked for a command's user option (type 6): sent as its id, with the user in `resolved`."""

    id: int


@dataclass
class Injected:
    """A canned failure for the next matching request."""

    method: str
    path: str
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def snowflake_counter() -> Callable[[], int]:
    """A generator of increasing snowflakes stamped with the current time (ids only, never logic)."""
    counter = itertools.count(1)

    def next_id() -> int:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (next(counter) & 0xFFF)

    return next_id


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # Built by hand: aiohttp's json_response appends "; charset=utf-8", which discord.py would not parse.
    return web.Response(
        status=status,
        body=json.dumps(data).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _error(status: int, code: int, message: str) -> web.Response:
    return _json({"message": message, "code": code}, status)


def _iso(moment: dt.datetime | None = None) -> str:
    return (moment or dt.datetime.now(dt.UTC)).isoformat()


class FakeDiscord:
    """Discord's REST API and gateway for one bot user, one application and one guild."""

    def __init__(
        self,
        token: str = "test-token",
        *,
        guild_id: int = 111_000_000_000_000_001,
        channel_id: int = 222_000_000_000_000_002,
        application_id: int = 333_000_000_000_000_003,
        bot_id: int = 333_000_000_000_000_003,
        interactions_endpoint_url: str | None = None,
        shards: int = 1,
    ) -> None:
        self.token = token
        self.guild_id = guild_id
        self.channel_id = channel_id
        self.application_id = application_id
        self.bot_id = bot_id
        self.interactions_endpoint_url = interactions_endpoint_url
        # The shard count /gateway/bot recommends. With more than one, each shard's connection stays open
        # beside the others, and the guild (with its events) belongs to shard (guild_id >> 22) % shards.
        self.shards = shards
        self._shard_ws: dict[int, web.WebSocketResponse] = {}
        self.next_id = snowflake_counter()

        self.requests: Log[Request] = Log()
        self.gateway_received: Log[dict[str, Any]] = Log()
        self.gateway_sent: Log[dict[str, Any]] = Log()
        self.connections: Log[dict[str, str]] = Log()  # the query of each gateway connection

        # Registered commands by scope: None is global, an int is a guild id.
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.command_puts: list[tuple[int | None, list[dict[str, Any]]]] = []
        self.channel_messages: dict[int, list[dict[str, Any]]] = {}
        self.interactions: dict[str, dict[str, Any]] = {}  # by token: {"sent_at", "responded", "original"}
        self.followups: dict[str, list[dict[str, Any]]] = {}
        self._nonces: dict[tuple[int, str], tuple[float, dict[str, Any]]] = {}
        self._injected: list[Injected] = []
        # The guild's roles besides @everyone (GUILD_CREATE and GET /guilds/{id}/roles).
        self.roles: list[dict[str, Any]] = []
        # The application's key pair for HTTP interactions: Discord signs with the private half.
        self.signing_key = SigningKey.generate()

        self._ws: web.WebSocketResponse | None = None
        self._seq = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle -------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The URL to use as DISCORD_API_BASE (the host root, ending in "/")."""
        return f"http://127.0.0.1:{self.port}/"

    @property
    def public_key(self) -> str:
        """The application's public key, as the Developer Portal shows it (DISCORD_PUBLIC_KEY)."""
        return self.signing_key.verify_key.encode().hex()

    def settings(self, db_path: Path, **extra: Any) -> Settings:
        """Settings pointing the bot at this fake with its token, syncing commands to its guild."""
        return Settings(
            db_path=db_path,
            discord_token=Secret(self.token),
            discord_api_base=self.base_url,
            discord_guild_ids=(self.guild_id,),
            **extra,
        )

    async def start(self) -> str:
        """Listen on 127.0.0.1 on a free port; return the base URL."""
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", API + "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self.base_url

    async def close(self) -> None:
        """Close the gateway connection and stop listening."""
        for ws in {self._ws, *self._shard_ws.values()}:
            if ws is not None and not ws.closed:
                await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def inject(self, method: str, path: str, status: int, body: dict[str, Any], **headers: str) -> None:
        """Answer the next `method path` request with this status and body instead of handling it."""
        self._injected.append(Injected(method, path, status, body, headers))

    def forget_nonces(self) -> None:
        """Let the nonce de-duplication window pass: a repeated nonce now creates a new message."""
        self._nonces.clear()

    def inject_rate_limit(self, method: str, path: str, retry_after: float) -> None:
        """Answer the next `method path` request with a 429 as Discord's edge sends it (with `Via`)."""
        self.inject(
            method,
            path,
            429,
            {"message": "You are being rate limited.", "retry_after": retry_after, "global": False},
            Via="1.1 google",
        )

    # -- REST --------------------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        body: Any = None
        if request.content_type == "multipart/form-data":
            # A message with files: its JSON in payload_json, each file a part named files[n].
            form = await request.post()
            body = json.loads(str(form["payload_json"]))
            files = {
                part.filename: part.file.read()
                for name, part in form.items()
                if name.startswith("files[") and isinstance(part, web.FileField)
            }
            # Kept beside the message they come with: an interaction callback's is under "data".
            (body["data"] if isinstance(body.get("data"), dict) else body)["files"] = files
        elif request.can_read_body:
            raw = await request.read()
            if request.content_type == "application/json":
                body = json.loads(raw)
            else:
                body = raw.decode(errors="replace")
        await self.requests.add(
            Request(request.method, path, dict(request.query), body, request.headers.get("Authorization"))
        )

        for injected in self._injected:
            if injected.method == request.method and injected.path == path:
                self._injected.remove(injected)
                return _json(injected.body, injected.status, injected.headers)

        parts = path.strip("/").split("/")
        method = request.method
        open_routes = parts[0] in ("interactions", "webhooks")
        if not open_routes and request.headers.get("Authorization") != f"Bot {self.token}":
            return _error(401, 0, "401: Unauthorized")

        match method, parts:
            case "GET", ["users", "@me"]:
                return _json(self.bot_user(verified=True))
            case "GET", ["oauth2", "applications", "@me"]:
                return _json(self.application_info())
            case "GET", ["gateway", "bot"]:
                return _json(
                    {
                        "url": f"ws://127.0.0.1:{self.port}/gateway",
                        "shards": self.shards,
                        "session_start_limit": {
                            "total": 1000,
                            "remaining": 999,
                            "reset_after": 14_400_000,
                            "max_concurrency": 1,
                        },
                    }
                )
            case "GET", ["applications", app, "commands"]:
                return self._get_commands(app, None, request.query)
            case "PUT", ["applications", app, "commands"]:
                return self._put_commands(app, None, body)
            case "GET", ["applications", app, "guilds", guild, "commands"]:
                return self._get_commands(app, int(guild), request.query)
            case "PUT", ["applications", app, "guilds", guild, "commands"]:
                return self._put_commands(app, int(guild), body)
            case "POST", ["interactions", _, token, "callback"]:
                return self._callback(token, body)
            case "POST", ["webhooks", _, token]:
                return self._followup(token, body)
            case "GET", ["webhooks", _, token, "messages", "@original"]:
                return self._original(token, None)
            case "PATCH", ["webhooks", _, token, "messages", "@original"]:
                return self._original(token, body)
            case "GET", ["guilds", guild, "roles"] if int(guild) == self.guild_id:
                return _json(self._roles())
            case "POST", ["channels", channel, "messages"]:
                return self._create_message(int(channel), body)
            case "GET", ["channels", channel, "messages"]:
                return self._list_messages(int(channel), request.query)
        return _error(404, 0, "404: Not Found")

    def bot_user(self, verified: bool = False) -> dict[str, Any]:
        """The bot's user object."""
        user = {
            "id": str(self.bot_id),
            "username": "pledgebot",
            "discriminator": "0",
            "global_name": None,
            "avatar": None,
            "bot": True,
            "flags": 0,
            "public_flags": 0,
        }
        if verified:
            user |= {"verified": True, "mfa_enabled": False, "locale": "en-US", "email": None}
        return user

    def application_info(self) -> dict[str, Any]:
        """GET /oauth2/applications/@me."""
        return {
            "id": str(self.application_id),
            "name": "pledgebot",
            "icon": None,
            "description": "",
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": self.public_key,
            "flags": 1 << 19,  # GATEWAY_MESSAGE_CONTENT_LIMITED: not privileged content access
            "owner": {
                "id": "1",
                "username": "owner",
                "discriminator": "0",
                "avatar": None,
                "global_name": None,
            },
            "team": None,
            "interactions_endpoint_url": self.interactions_endpoint_url,
            "bot": self.bot_user(),
        }

    def _get_commands(self, app: str, guild: int | None, query: Any) -> web.Response:
        if app != str(self.application_id):
            return _error(403, 50001, "Missing Access")
        # Like Discord, localisation dictionaries are only returned when asked for.
        with_localizations = query.get("with_localizations") in ("true", "True", "1")
        out = []
        for command in self.commands.get(guild, []):
            command = dict(command)
            if not with_localizations:
                command.pop("name_localizations", None)
                command.pop("description_localizations", None)
            out.append(command)
        return _json(out)

    def _put_commands(self, app: str, guild: int | None, body: Any) -> web.Response:
        if app != str(self.application_id):
            return _error(403, 50001, "Missing Access")
        problems = [p for c in body for p in command_problems(c)]
        if len(body) > 100 or problems:
            return _json({"message": "Invalid Form Body", "code": 50035, "errors": problems}, 400)
        stored = []
        existing = {c["name"]: c["id"] for c in self.commands.get(guild, [])}
        for command in body:
            stored.append(self.as_registered(command, guild, existing.get(command["name"])))
        self.commands[guild] = stored
        self.command_puts.append((guild, body))
        return _json(stored)

    def as_registered(
        self, command: dict[str, Any], guild: int | None, known_id: str | None
    ) -> dict[str, Any]:
        # What Discord stores and returns: ids added, permissions as a string, unset booleans dropped.
        out = {
            "id": known_id or str(self.next_id()),
            "application_id": str(self.application_id),
            "version": str(self.next_id()),
            "type": command.get("type", 1),
            "name": command["name"],
            "description": command.get("description", ""),
            "default_member_permissions": (
                None
                if command.get("default_member_permissions") is None
                else str(command["default_member_permissions"])
            ),
            "nsfw": bool(command.get("nsfw", False)),
            "contexts": command.get("contexts"),
            "integration_types": command.get("integration_types") or [0],
            "name_localizations": command.get("name_localizations") or None,
            "description_localizations": command.get("description_localizations") or None,
        }
        if guild is not None:
            out["guild_id"] = str(guild)
        else:
            out["dm_permission"] = command.get("dm_permission", True)
        if command.get("options"):
            out["options"] = [_registered_option(o) for o in command["options"]]
        return out

    # -- interactions -------------------------------------------------------------------------------------

    def _message(
        self, channel_id: int, body: dict[str, Any], *, flags: int = 0, **extra: Any
    ) -> dict[str, Any]:
        """A message object as Discord returns it."""
        return {
            "id": str(self.next_id()),
            "type": extra.pop("type", 0),
            "channel_id": str(channel_id),
            "guild_id": str(self.guild_id),
            "author": self.bot_user(),
            "content": body.get("content") or "",
            "timestamp": _iso(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts", False)),
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [
                # Addresses under .invalid, which never resolves: nothing ever fetches them.
                {
                    "id": str(n),
                    "filename": name,
                    "size": len(data),
                    "url": f"https://cdn.invalid/{name}",
                    "proxy_url": f"https://media.invalid/{name}",
                }
                for n, (name, data) in enumerate((body.get("files") or {}).items())
            ],
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "pinned": False,
            "flags": flags | int(body.get("flags") or 0),
            **extra,
        }

    def _callback(self, token: str, body: dict[str, Any]) -> web.Response:
        state = self.interactions.get(token)
        if state is None:
            return _error(404, 10062, "Unknown interaction")
        if state["responded"]:
            return _error(400, 40060, "Interaction has already been acknowledged.")
        if asyncio.get_running_loop().time() - state["sent_at"] > INTERACTION_DEADLINE:
            return _error(404, 10062, "Unknown interaction")
        problems = self._response_problems(state, body)
        if problems:
            return _json({"message": "Invalid Form Body", "code": 50035, "errors": problems}, 400)
        return _json(self._respond(state, body))

    def _response_problems(self, state: dict[str, Any], body: dict[str, Any]) -> list[str]:
        """Why Discord would refuse `body` as the first response to this interaction."""
        problems = message_problems(body.get("data") or {})
        if body["type"] == 9:
            problems += modal_problems(body.get("data") or {})
            if state["payload"]["type"] == 5:
                problems.append("a modal submission cannot be answered with a modal")
        return problems

    def _respond(self, state: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        """Take `body` as the interaction's first response; return the callback response Discord makes."""
        state["responded"] = True
        kind = body["type"]
        data = body.get("data") or {}
        interaction = state["payload"]
        result: dict[str, Any] = {
            "interaction": {"id": interaction["id"], "type": interaction["type"]},
        }
        message = None
        if kind == 4:  # CHANNEL_MESSAGE_WITH_SOURCE
            message = self._message(
                self.channel_id, data, type=20, interaction_metadata=self._metadata(state)
            )
            state["original"] = message
        elif kind == 5:  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE: a "thinking…" message
            message = self._message(self.channel_id, {}, flags=LOADING | int(data.get("flags") or 0), type=20)
            state["original"] = message
        elif kind == 9:  # MODAL: the form opens; no message
            state["modal"] = data
        elif kind == 7:  # UPDATE_MESSAGE: edit the message the component was on
            message = dict(interaction["message"]) | {
                k: v for k, v in data.items() if k in ("content", "embeds", "components")
            }
            message["edited_timestamp"] = _iso()
            state["original"] = message
        elif kind == 6:  # DEFERRED_UPDATE_MESSAGE: the message the component was on is edited later
            state["original"] = dict(interaction["message"])
        if message is not None:
            result["interaction"] |= {
                "response_message_id": message["id"],
                "response_message_loading": bool(message["flags"] & LOADING),
                "response_message_ephemeral": bool(message["flags"] & EPHEMERAL),
            }
            result["resource"] = {"type": kind, "message": message}
        return result

    def _metadata(self, state: dict[str, Any]) -> dict[str, Any]:
        payload = state["payload"]
        return {
            "id": payload["id"],
            "type": payload["type"],
            "user": payload["member"]["user"],
            "authorizing_integration_owners": payload["authorizing_integration_owners"],
        }

    def _followup(self, token: str, body: dict[str, Any]) -> web.Response:
        state = self.interactions.get(token)
        if state is None or not state["responded"]:
            return _error(404, 10015, "Unknown Webhook")
        problems = message_problems(body)
        if problems:
            return _json({"message": "Invalid Form Body", "code": 50035, "errors": problems}, 400)
        message = self._message(self.channel_id, body, webhook_id=str(self.application_id))
        self.followups.setdefault(token, []).append(message)
        return _json(message)

    def _original(self, token: str, edit: dict[str, Any] | None) -> web.Response:
        state = self.interactions.get(token)
        if state is None or state.get("original") is None:
            return _error(404, 10008, "Unknown Message")
        if edit is not None:
            problems = message_problems(edit)
            if problems:
                return _json({"message": "Invalid Form Body", "code": 50035, "errors": problems}, 400)
            original = state["original"]
            original.update({k: v for k, v in edit.items() if k in ("content", "embeds", "components")})
            original["flags"] &= ~LOADING
            original["edited_timestamp"] = _iso()
        return _json(state["original"])

    def _list_messages(self, channel_id: int, query: Mapping[str, str]) -> web.Response:
        """A channel's latest messages, newest first, as `GET /channels/{id}/messages?limit=` returns them."""
        limit = int(query.get("limit") or 50)
        if not 1 <= limit <= 100:
            return _json({"message": "Invalid Form Body", "code": 50035, "errors": ["limit"]}, 400)
        return _json(list(reversed(self.channel_messages.get(channel_id, [])))[:limit])

    def _create_message(self, channel_id: int, body: dict[str, Any]) -> web.Response:
        problems = message_problems(body)
        if problems:
            return _json({"message": "Invalid Form Body", "code": 50035, "errors": problems}, 400)
        nonce = body.get("nonce")
        now = asyncio.get_running_loop().time()
        if nonce is not None:
            if len(str(nonce)) > 25:
                return _json({"message": "Invalid Form Body", "code": 50035, "errors": ["nonce"]}, 400)
            seen = self._nonces.get((channel_id, str(nonce)))
            if body.get("enforce_nonce") and seen is not None and now - seen[0] < NONCE_WINDOW:
                # Discord answers a duplicate enforced nonce with the message it already created.
                return _json(seen[1])
        message = self._message(channel_id, body, nonce=nonce)
        self.channel_messages.setdefault(channel_id, []).append(message)
        if nonce is not None:
            self._nonces[(channel_id, str(nonce))] = (now, message)
        return _json(message)

    # -- gateway -------------------------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await self.connections.add(dict(request.query))
        if self.shards == 1:
            previous, self._ws = self._ws, ws
            if previous is not None and not previous.closed:
                await previous.close()
        self._seq = 0
        await self._send(ws, {"op": 10, "d": {"heartbeat_interval": 41_250}, "s": None, "t": None})
        async for frame in ws:
            if frame.type is not WSMsgType.TEXT:
                continue
            message = json.loads(frame.data)
            await self.gateway_received.add(message)
            op = message.get("op")
            if op == 1:
                await self._send(ws, {"op": 11, "d": None, "s": None, "t": None})
            elif op == 2:
                if message["d"].get("token") != self.token:
                    await ws.close(code=4004, message=b"Authentication failed.")
                    break
                await self._identified(ws, message["d"])
            elif op == 6:
                await self.dispatch("RESUMED", {}, ws)
        if self._ws is ws:
            self._ws = None
        return ws

    def guild_shard(self) -> int:
        """The shard the guild's events go to (Discord's formula)."""
        return (self.guild_id >> 22) % self.shards

    async def _identified(self, ws: web.WebSocketResponse, identify: dict[str, Any]) -> None:
        port = self.port
        shard = identify.get("shard") or [0, 1]
        owns = shard[0] == self.guild_shard() if self.shards > 1 else True
        if self.shards > 1:
            previous = self._shard_ws.get(shard[0])
            self._shard_ws[shard[0]] = ws
            if previous is not None and previous is not ws and not previous.closed:
                await previous.close()
            if owns:
                self._ws = ws
        await self.dispatch(
            "READY",
            {
                "v": 10,
                "user": self.bot_user(verified=True),
                "guilds": [{"id": str(self.guild_id), "unavailable": True}] if owns else [],
                "session_id": secrets.token_hex(16),
                "resume_gateway_url": f"ws://127.0.0.1:{port}/gateway",
                "shard": shard,
                "application": {"id": str(self.application_id), "flags": 1 << 19},
                "private_channels": [],
                "relationships": [],
                "user_settings": {},
                "presences": [],
                "guild_join_requests": [],
                "geo_ordered_rtc_regions": [],
                "auth": {},
            },
            ws,
        )
        if owns:
            await self.dispatch("GUILD_CREATE", self.guild_payload(), ws)

    async def _send(self, ws: web.WebSocketResponse, message: dict[str, Any]) -> None:
        await ws.send_str(json.dumps(message))
        await self.gateway_sent.add(message)

    async def dispatch(
        self, event: str, data: dict[str, Any], ws: web.WebSocketResponse | None = None
    ) -> None:
        """Send a DISPATCH (op 0) event to the connected bot."""
        ws = ws or self._ws
        if ws is None:
            raise RuntimeError("no bot is connected to the fake gateway")
        self._seq += 1
        await self._send(ws, {"op": 0, "t": event, "s": self._seq, "d": data})

    async def wait_identified(self, timeout: float = 10.0, after: int = 0) -> dict[str, Any]:
        """Wait for the bot's IDENTIFY (op 2) and return its payload."""
        frame = await self.gateway_received.wait_for(lambda m: m.get("op") == 2, timeout, after)
        return frame["d"]

    def guild_payload(self) -> dict[str, Any]:
        """GUILD_CREATE for the one guild, with one text channel."""
        guild = str(self.guild_id)
        return {
            "id": guild,
            "name": "Pledge watchers",
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": "1",
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": self._roles(),
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "public_updates_channel_id": None,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "joined_at": _iso(),
            "large": False,
            "unavailable": False,
            "member_count": 2,
            "members": [],
            "voice_states": [],
            "presences": [],
            "channels": [self.channel_payload()],
            "threads": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    def _roles(self) -> list[dict[str, Any]]:
        everyone = {"id": str(self.guild_id), "name": "@everyone", "permissions": str(MEMBER_PERMISSIONS)}
        return [
            {
                "color": 0,
                "hoist": False,
                "position": n,
                "managed": False,
                "mentionable": False,
                "flags": 0,
                **role,
            }
            for n, role in enumerate([everyone, *self.roles])
        ]

    def add_role(self, name: str) -> int:
        """Give the guild a role named `name` (no permissions of its own); return its id."""
        role_id = self.next_id()
        self.roles.append({"id": str(role_id), "name": name, "permissions": "0"})
        return role_id

    def channel_payload(self) -> dict[str, Any]:
        """The guild's text channel."""
        return {
            "id": str(self.channel_id),
            "type": 0,
            "guild_id": str(self.guild_id),
            "name": "general",
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
        }

    # -- building and sending INTERACTION_CREATE -------------------------------------------------------

    def _member(self, user_id: int, permissions: int, roles: tuple[int, ...] = ()) -> dict[str, Any]:
        return {
            "user": {
                "id": str(user_id),
                "username": f"user{user_id % 1000}",
                "discriminator": "0",
                "global_name": None,
                "avatar": None,
                "public_flags": 0,
            },
            "roles": [str(r) for r in roles],
            "nick": None,
            "avatar": None,
            "premium_since": None,
            "joined_at": _iso(),
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
            "permissions": str(permissions),
        }

    def interaction(
        self,
        kind: int,
        data: dict[str, Any],
        *,
        user_id: int = 444_000_000_000_000_004,
        permissions: int = MEMBER_PERMISSIONS,
        locale: str = "en-US",
        message: dict[str, Any] | None = None,
        app_permissions: int = MEMBER_PERMISSIONS | (1 << 14) | (1 << 15),
        roles: tuple[int, ...] = (),
    ) -> dict[str, Any]:
        """An INTERACTION_CREATE payload as Discord sends it for a guild text channel."""
        payload: dict[str, Any] = {
            "id": str(self.next_id()),
            "application_id": str(self.application_id),
            "type": kind,
            "data": data,
            "guild_id": str(self.guild_id),
            "guild": {"id": str(self.guild_id), "locale": "en-US", "features": []},
            "channel_id": str(self.channel_id),
            "channel": self.channel_payload(),
            "member": self._member(user_id, permissions, roles),
            "token": "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(24),
            "version": 1,
            "locale": locale,
            "guild_locale": "en-US",
            "app_permissions": str(app_permissions),
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(self.guild_id)},
            "context": 0,
            "attachment_size_limit": 10_485_760,
        }
        if message is not None:
            payload["message"] = message
        return payload

    def _command_data(self, path: list[str], options: list[dict[str, Any]]) -> dict[str, Any]:
        """Application command data for `/a b c` with leaf options, nested the way Discord nests them."""
        scope: int | None = self.guild_id if self.guild_id in self.commands else None
        registered = next((c for c in self.commands.get(scope, []) if c["name"] == path[0]), None)
        if registered is None:
            raise LookupError(f"/{path[0]} is not registered with the fake")
        for name in reversed(path[1:]):
            options = [{"type": 1, "name": name, "options": options}]
        data = {"id": registered["id"], "name": path[0], "type": 1, "options": options}
        if scope is not None:
            data["guild_id"] = str(scope)
        return data

    def command(self, command: str, *, focused: str | None = None, **options: Any) -> dict[str, Any]:
        """Interaction data for a slash command, e.g. `command("reminders subscribe", time="09:00")`."""
        leaf = []
        users: dict[str, Any] = {}
        for name, value in options.items():
            kind = 4 if isinstance(value, int) and not isinstance(value, bool) else 3
            if isinstance(value, UserOption):
                kind, value = 6, str(value.id)
                users[value] = self._member(int(value), MEMBER_PERMISSIONS)["user"]
            option: dict[str, Any] = {"type": kind, "name": name, "value": value}
            if name == focused:
                option["focused"] = True
            leaf.append(option)
        data = self._command_data(command.split(), leaf)
        if users:
            data["resolved"] = {"users": users}
        return data

    async def send_interaction(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Dispatch INTERACTION_CREATE; the interaction's deadline starts now. Returns the payload."""
        self.interactions[payload["token"]] = {
            "payload": payload,
            "sent_at": asyncio.get_running_loop().time(),
            "responded": False,
            "original": None,
        }
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    # -- interactions over HTTP ------------------------------------------------------------------------------

    def signed(self, body: bytes, *, timestamp: int | None = None, key: SigningKey | None = None) -> dict:
        """The headers Discord sends with `body`: the Ed25519 signature of timestamp + body (by the
        application's key unless `key` is given), the timestamp (now unless given) and the content type."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = (key or self.signing_key).sign(stamp.encode() + body).signature.hex()
        return {
            "X-Signature-Ed25519": signature,
            "X-Signature-Timestamp": stamp,
            "Content-Type": "application/json",
        }

    async def post_interaction(
        self,
        url: str,
        payload: dict[str, Any],
        *,
        headers: dict[str, str] | None = None,
        timeout: float = 10.0,
    ) -> HttpAnswer:
        """POST an interaction to the bot's endpoint as Discord does (signed, unless `headers` are given);
        a 200's JSON is taken as the first response, a 202 means the callback endpoint got it."""
        body = json.dumps(payload).encode()
        loop = asyncio.get_running_loop()
        state: dict[str, Any] = {
            "payload": payload,
            "sent_at": loop.time(),
            "responded": False,
            "original": None,
        }
        if payload.get("type") != 1:
            self.interactions[payload["token"]] = state
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                url,
                data=body,
                headers=self.signed(body) if headers is None else headers,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as response,
        ):
            raw = await response.read()
            status, content_type = response.status, response.content_type
        seconds = loop.time() - state["sent_at"]
        answer: Any = json.loads(raw) if raw and content_type == "application/json" else raw.decode()
        problems: list[str] = []
        if seconds > INTERACTION_DEADLINE:
            problems.append(f"answered after {seconds:.1f} s")
        if status == 200 and isinstance(answer, dict) and payload.get("type") != 1:
            problems += self._response_problems(state, answer)
            if not problems:
                self._respond(state, answer)
        elif status == 202 and not state["responded"]:
            problems.append("a 202 without a response to the callback endpoint")
        return HttpAnswer(status, answer, seconds, tuple(problems))

    async def run_command(self, command: str, *, timeout: float = 5.0, **kwargs: Any) -> dict[str, Any]:
        """Send a slash command interaction and return the body of the bot's callback for it."""
        interaction_options = {
            k: kwargs.pop(k)
            for k in ("user_id", "permissions", "locale", "app_permissions", "roles")
            if k in kwargs
        }
        payload = self.interaction(2, self.command(command, **kwargs), **interaction_options)
        await self.send_interaction(payload)
        return await self.callback_for(payload, timeout)

    async def autocomplete(self, command: str, focused: str, *, timeout: float = 5.0, **kwargs: Any) -> dict:
        """Send an autocomplete interaction (type 4) and return the bot's callback body."""
        interaction_options = {k: kwargs.pop(k) for k in ("user_id", "locale") if k in kwargs}
        payload = self.interaction(4, self.command(command, focused=focused, **kwargs), **interaction_options)
        await self.send_interaction(payload)
        return await self.callback_for(payload, timeout)

    async def click(
        self,
        message: dict[str, Any],
        custom_id: str,
        *,
        user_id: int = 444_000_000_000_000_005,
        timeout=5.0,
        **options: Any,
    ) -> dict[str, Any]:
        """Click a button on `message` (a message object the fake created); return the callback body."""
        data = {"custom_id": custom_id, "component_type": 2}
        payload = self.interaction(3, data, user_id=user_id, message=message, **options)
        await self.send_interaction(payload)
        return await self.callback_for(payload, timeout)

    async def submit_modal(
        self,
        modal: dict[str, Any],
        values: Mapping[str, str],
        *,
        user_id: int = 444_000_000_000_000_005,
        **options,
    ) -> dict[str, Any]:
        """Submit a modal the bot opened (its callback data) with `values` by input custom_id; return the
        interaction payload (type 5, MODAL_SUBMIT), as Discord sends it: one text input per action row."""
        rows = [
            {
                "type": 1,
                "components": [
                    {"type": 4, "custom_id": c["custom_id"], "value": values.get(c["custom_id"], "")}
                    for c in row["components"]
                ],
            }
            for row in modal["components"]
        ]
        data = {"custom_id": modal["custom_id"], "components": rows}
        return await self.send_interaction(self.interaction(5, data, user_id=user_id, **options))

    async def followup_for(self, payload: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
        """The body of the bot's first followup message for this interaction."""
        path = f"/webhooks/{self.application_id}/{payload['token']}"
        request = await self.requests.wait_for(lambda r: r.method == "POST" and r.path == path, timeout)
        return request.body

    async def callback_for(self, payload: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
        """The JSON body of the bot's POST /interactions/{id}/{token}/callback for this interaction."""
        path = f"/interactions/{payload['id']}/{payload['token']}/callback"
        request = await self.requests.wait_for(lambda r: r.method == "POST" and r.path == path, timeout)
        return request.body

    def original(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        """The message the interaction's response created (after edits), as Discord stores it."""
        return self.interactions[payload["token"]]["original"]


def _registered_option(option: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in option.items() if v is not None}
    # Discord leaves out `required: false` and empty localisation maps.
    if not out.get("required"):
        out.pop("required", None)
    for key in ("name_localizations", "description_localizations"):
        if not out.get(key):
            out.pop(key, None)
    if "options" in out:
        out["options"] = [_registered_option(o) for o in out["options"]]
    return out


NAME_RE = r"^[-_'\w]{1,32}$"


def command_problems(command: dict[str, Any], depth: int = 0) -> list[str]:
    """Why Discord would reject this command (or option) definition; empty when it is valid."""
    problems = []
    names = [command["name"], *(command.get("name_localizations") or {}).values()]
    for name in names:
        if not re.match(NAME_RE, name) or name != name.lower():
            problems.append(f"name {name!r}")
    descriptions = [
        command.get("description", ""),
        *(command.get("description_localizations") or {}).values(),
    ]
    # Slash commands and every option need a description; user and message commands have none.
    if depth > 0 or command.get("type", 1) == 1:
        for text in descriptions:
            if not 1 <= len(text) <= 100:
                problems.append(f"description of {command['name']!r} has {len(text)} characters")
    options = command.get("options") or []
    if len(options) > 25:
        problems.append(f"{command['name']!r} has {len(options)} options")
    for choice in command.get("choices") or []:
        if not 1 <= len(choice["name"]) <= 100:
            problems.append("choice name")
    for option in options:
        if option.get("type") in (1, 2) and depth >= 2:
            problems.append("subcommands nested too deep")
        problems.extend(command_problems(option, depth + 1))
    if depth == 0 and len(json.dumps(command, ensure_ascii=False)) > 8000:
        problems.append(f"{command['name']!r} is over 8000 characters")
    return problems


def modal_problems(data: dict[str, Any]) -> list[str]:
    """Why Discord would reject this modal (a MODAL callback's data); empty when it is valid."""
    problems = []
    if not 1 <= len(data.get("title") or "") <= 45:
        problems.append("modal title must be 1 to 45 characters")
    if not 1 <= len(data.get("custom_id") or "") <= 100:
        problems.append("modal custom_id must be 1 to 100 characters")
    rows = data.get("components") or []
    if not 1 <= len(rows) <= 5:
        problems.append("a modal has 1 to 5 components")
    for row in rows:
        for c in row.get("components") or []:
            if c.get("type") != 4:
                problems.append("only text inputs in a modal's action rows")
            if not 1 <= len(c.get("label") or "") <= 45:
                problems.append("text input label must be 1 to 45 characters")
            if not 0 <= int(c.get("max_length") or 4000) <= 4000 or len(c.get("value") or "") > 4000:
                problems.append("text input over 4000")
            if len(c.get("placeholder") or "") > 100:
                problems.append("placeholder over 100")
    return problems


def message_problems(body: dict[str, Any]) -> list[str]:
    """Why Discord would reject this message body (content and embed limits)."""
    problems = []
    if len(body.get("content") or "") > 2000:
        problems.append("content over 2000")
    embeds = body.get("embeds") or []
    if len(embeds) > 10:
        problems.append("more than 10 embeds")
    total = 0
    for embed in embeds:
        title = embed.get("title") or ""
        description = embed.get("description") or ""
        fields = embed.get("fields") or []
        footer = (embed.get("footer") or {}).get("text") or ""
        if len(title) > 256:
            problems.append("title over 256")
        if len(description) > 4096:
            problems.append("description over 4096")
        if len(fields) > 25:
            problems.append("more than 25 fields")
        for f in fields:
            if len(f["name"]) > 256 or len(f["value"]) > 1024:
                problems.append("field too long")
        total += len(title) + len(description) + len(footer)
        total += sum(len(f["name"]) + len(f["value"]) for f in fields)
    if total > 6000:
        problems.append("embeds over 6000 in total")
    for row in body.get("components") or []:
        for component in row.get("components", []):
            if len(component.get("custom_id", "")) > 100:
                problems.append("custom_id over 100")
    if "choices" in body and len(body["choices"]) > 25:
        problems.append("more than 25 choices")
    for choice in body.get("choices") or []:
        if not 1 <= len(choice["name"]) <= 100 or len(str(choice["value"])) > 100:
            problems.append("choice name or value length")
    return problems
