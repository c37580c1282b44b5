"""Discord interactions over HTTP: `POST /discord/interactions` on the web process, verified, then answered by
the very client the gateway uses.

With an Interactions Endpoint URL set, Discord POSTs each interaction to it instead of sending it over the
gateway (the two are mutually exclusive), so web processes can answer commands behind the host's router with
no gateway shards. Each request carries an Ed25519 signature (`X-Signature-Ed25519`) over
`X-Signature-Timestamp` + the raw body, checked against the application's public key (DISCORD_PUBLIC_KEY) with
PyNaCl. A request whose timestamp is more than five minutes from our clock is refused as well: Discord
documents no window, but it signs each request as it sends it and wants an answer within 3 s, so an older
one can only be a replay; five minutes is Slack's bound (rule 4), wide enough for clock drift. A bad, missing
or stale signature gets a 401 and nothing runs.

A verified interaction becomes a discord.py `Interaction` handed to a `RestPledgeClient`: the same command
tree, `Responder`, buttons and forms as the gateway's, so the command text, rendering, forms, rights and
custom_ids are shared rather than copied. Only the first response travels differently. discord.py POSTs it to
the callback endpoint; here it becomes the body of the HTTP answer, which is what Discord waits for
(`InlineResponses`). Deferrals and follow-ups are the gateway path's: the `Responder` defers when the core is
slower than DEFER_AFTER and then follows up through the webhook API, and autocomplete answers directly.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, cast

import aiohttp
from aiohttp import web
from discord.http import MultipartParameters
from discord.webhook.async_ import AsyncWebhookAdapter, async_context
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from adapters.discord_app.client import RestPledgeClient, endpoints
from bot.config import Settings
from bot.core import Core

if TYPE_CHECKING:
    # Only for annotations: importing discord.types at run time here is circular within discord.py.
    from discord.types.interactions import InteractionCallback

log = logging.getLogger(__name__)

PATH = "/discord/interactions"
# Discord signs each request as it sends it; see the module's docstring for why five minutes.
MAX_CLOCK_SKEW = 5 * 60
# An interaction is a few kilobytes; a button's carries its message, at most 6,000 characters of embeds.
MAX_BODY_BYTES = 64 * 1024
BODY_TIMEOUT = 10.0
# Discord waits 3 s for the first response. The Responder defers by DEFER_AFTER (2 s); past this bound
# something failed to answer at all, and an error now beats Discord's own timeout.
ANSWER_BUDGET = 2.5
# At shutdown, follow-ups still being written get this long (hosts kill 30 s after SIGTERM).
DRAIN_SECONDS = 8.0
PING, PONG = 1, 1
# APPLICATION_COMMAND, MESSAGE_COMPONENT, APPLICATION_COMMAND_AUTOCOMPLETE, MODAL_SUBMIT
ANSWERED = (2, 3, 4, 5)
_SIGNATURE = re.compile(r"[0-9a-fA-F]{128}")


def _reject(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)


def refusal(key: VerifyKey, raw: bytes, timestamp: str, signature: str, now: float) -> str | None:
    """Why a request is refused ("invalid_signature", "stale_timestamp"), or None when Discord signed `raw`
    at `timestamp` and that is within MAX_CLOCK_SKEW of `now`."""
    if not (timestamp.isascii() and timestamp.isdecimal() and len(timestamp) <= 12):
        return "invalid_signature"
    # `bytes.fromhex` would skip spaces, so the form is checked first: exactly 64 bytes of hex.
    if _SIGNATURE.fullmatch(signature) is None:
        return "invalid_signature"
    try:
        key.verify(timestamp.encode() + raw, bytes.fromhex(signature))
    except BadSignatureError:
        return "invalid_signature"
    if abs(now - int(timestamp)) > MAX_CLOCK_SKEW:
        return "stale_timestamp"
    return None


class InlineResponses(AsyncWebhookAdapter):
    """discord.py's webhook adapter for one HTTP interaction: its first response is the HTTP answer.

    Follow-ups and edits of the original response are sent as discord.py sends them. A first response with
    files goes to the callback endpoint (the HTTP answer is then a 202 with no body, as Discord asks), and so
    does a response after the answer has gone, which Discord refuses there as it would on the gateway.
    """

    def __init__(self) -> None:
        super().__init__()
        # The first response's JSON, or None when the callback endpoint took it.
        self.answer: asyncio.Future[dict[str, Any] | None] = asyncio.get_running_loop().create_future()
        self.sent = asyncio.Event()

    async def create_interaction_response(
        self,
        interaction_id: int,
        token: str,
        *,
        session: aiohttp.ClientSession,
        proxy: str | None = None,
        proxy_auth: aiohttp.BasicAuth | None = None,
        params: MultipartParameters,
    ) -> InteractionCallback:
        """Hand the first response to the HTTP answer and wait until it is sent; otherwise send it as
        discord.py does."""
        if self.answer.done() or params.files:
            data = await super().create_interaction_response(
                interaction_id, token, session=session, proxy=proxy, proxy_auth=proxy_auth, params=params
            )
            if not self.answer.done():
                self.answer.set_result(None)
            return data
        self.answer.set_result(params.payload)
        # A follow-up must not reach Discord before the answer it follows.
        await self.sent.wait()
        # What the callback endpoint would have said, minus the message Discord has not shown us: discord.py
        # reads only the interaction's id from it.
        return cast("InteractionCallback", {"interaction": {"id": str(interaction_id)}})


class Endpoint:
    """`POST /discord/interactions` for an aiohttp app; its REST client is logged in while the app runs."""

    def __init__(
        self,
        core: Core,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
        budget: float = ANSWER_BUDGET,
    ) -> None:
        if settings.discord_public_key is None:
            raise ValueError("DISCORD_PUBLIC_KEY is not set")
        self.core = core
        self.settings = settings
        self.key = VerifyKey(bytes.fromhex(settings.discord_public_key))
        self.clock = clock
        self.budget = budget
        self.client: RestPledgeClient | None = None
        # What discord.py started for each interaction (the command, its follow-ups), drained at shutdown.
        self._handling: set[asyncio.Task[Any]] = set()

    def install(self, app: web.Application) -> None:
        """Add the route to `app`, and log the client in (and out) with it (before the app starts)."""
        app.router.add_post(PATH, self.interactions)
        app.cleanup_ctx.append(self._signed_in)

    async def _signed_in(self, app: web.Application) -> AsyncIterator[None]:
        client = RestPledgeClient(self.core, self.settings)
        # Route.BASE is read when each request is made, so it points at DISCORD_API_BASE while the app runs.
        with endpoints(self.settings.discord_api_base):
            await client.sign_in()
            self.client = client
            log.info("Discord: answering interactions at %s", PATH)
            try:
                yield
            finally:
                self.client = None
                await self.drain(DRAIN_SECONDS)
                await client.close()

    async def drain(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for the interactions being answered, then cancel what is left."""
        if self._handling:
            _, late = await asyncio.wait(set(self._handling), timeout=timeout)
            for task in late:
                task.cancel()

    async def interactions(self, request: web.Request) -> web.StreamResponse:
        """Verify an interaction, then answer it: PONG for a PING, the bot's first response otherwise."""
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return _reject(413, "body_too_large")
        signature = request.headers.get("X-Signature-Ed25519", "")
        timestamp = request.headers.get("X-Signature-Timestamp", "")
        if not signature or not timestamp:
            return _reject(401, "missing_signature")
        try:
            async with asyncio.timeout(BODY_TIMEOUT):
                raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _reject(413, "body_too_large")
        except (web.RequestPayloadError, ConnectionError):
            return _reject(400, "invalid_body")
        except TimeoutError:
            return _reject(408, "body_timeout")
        if len(raw) > MAX_BODY_BYTES:
            return _reject(413, "body_too_large")
        refused = refusal(self.key, raw, timestamp, signature, self.clock())
        if refused is not None:
            # Discord itself sends bad signatures now and then to check that they are refused: not a warning.
            log.debug("refused a Discord interaction: %s", refused)
            return _reject(401, refused)
        try:
            payload = json.loads(raw)
        except ValueError:
            return _reject(400, "invalid_json")
        kind = payload.get("type") if isinstance(payload, dict) else None
        if kind == PING:
            return web.json_response({"type": PONG})
        if kind not in ANSWERED:
            return _reject(400, "unsupported_interaction")
        if self.client is None:
            return _reject(503, "shutting_down")
        return await self._answer(request, self.client, payload)

    async def _answer(
        self, request: web.Request, client: RestPledgeClient, payload: dict[str, Any]
    ) -> web.StreamResponse:
        responses = InlineResponses()
        # Everything discord.py starts for this interaction copies the context, and with it this adapter.
        context = async_context.set(responses)
        try:
            before = asyncio.all_tasks()
            try:
                # The gateway's own entry point for INTERACTION_CREATE: the tree, the dynamic buttons and
                # `on_interaction`, exactly as a gateway client runs them.
                client._connection.parse_interaction_create(payload)  # type: ignore[arg-type]
            except (AttributeError, KeyError, TypeError, ValueError) as error:
                log.warning("a signed Discord interaction could not be read: %s", type(error).__name__)
                return _reject(400, "invalid_interaction")
            # Started synchronously by that call, so these are this interaction's tasks and no others.
            started = asyncio.all_tasks() - before
        finally:
            async_context.reset(context)
        for task in started:
            self._handling.add(task)
            task.add_done_callback(self._handling.discard)
        done, _ = await asyncio.wait({responses.answer}, timeout=self.budget)
        if not done:
            # Whatever answers later goes to the callback endpoint, where Discord refuses it as too late.
            responses.answer.cancel()
            responses.sent.set()
            log.warning("a Discord interaction got no response within %.1f s", self.budget)
            return _reject(500, "no_response")
        body = responses.answer.result()
        if body is None:
            response = web.Response(status=202)
        else:
            response = web.Response(
                body=json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(),
                headers={"Content-Type": "application/json"},
            )
        try:
            await response.prepare(request)
            await response.write_eof()
        finally:
            responses.sent.set()
        return response
