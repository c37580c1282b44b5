"""Run the Slack app: Socket Mode when an app token is configured, otherwise a guarded HTTP endpoint.

HTTP mode is an aiohttp server (asyncio-native, production-grade) with `POST /slack/events` and
`GET /healthz`, and with distribution Bolt's OAuth flow at `GET /slack/install` and
`GET /slack/oauth_redirect`. Stock Bolt parses a body before it checks the signature and answers some
malformed requests with a 500 or nothing at all, so the endpoint checks size, content type, headers,
signature and the body's shape first and turns every client mistake into a 4xx. Bolt's own signature check
stays on behind it.
Connections are accepted by `connections.ConnectionGuard`: capped, timed, shed with a 503 when too many.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import build_normalized_headers, extract_content_type
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack_app.app import CORE_TIMEOUT, Handler, Listeners, build
from adapters.slack_app.bodies import bolt_body
from adapters.slack_app.connections import ConnectionGuard, Limits, OverloadLog, ServerLog
from bot.config import ConfigError, Settings
from bot.installations import Installations

log = logging.getLogger(__name__)

# Slack's own payloads are a few kilobytes; anything near this is not from Slack.
MAX_BODY_BYTES = 64 * 1024
# Slack rejects replays older than five minutes (slack_sdk/signature/__init__.py).
MAX_CLOCK_SKEW = 5 * 60
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
# Hosts send SIGTERM and kill 30 s later (PLATFORM-RULES 29); we promise an exit within 10 s. Answers in
# flight get this long, which leaves room for closing connections and the interpreter's own exit.
DRAIN_SECONDS = 8.0
# Bolt acknowledges within 3 s or gives up; requests already being handled at SIGTERM get that long.
ACK_SECONDS = 3.0
# Hosts' health checks give up after a few seconds; a database that cannot answer in this long is unhealthy.
HEALTH_TIMEOUT = 3.0


def _reject(status: int, reason: str) -> web.Response:
    return web.json_response({"ok": False, "error": reason}, status=status)


async def _answer_and_close(request: web.Request, response: web.Response) -> web.Response:
    """Send `response` now and close the connection, rather than wait (aiohttp's lingering) for the rest of a
    body that is already late."""
    response.force_close()
    await response.prepare(request)
    await response.write_eof()
    if request.transport is not None:
        request.transport.close()
    return response


def signature_ok(key: bytes, raw: bytes, timestamp: str, signature: str, now: float) -> bool:
    """Check Slack's v0 signature over the raw bytes and that the timestamp is within 5 minutes of `now`."""
    # slack_sdk's SignatureVerifier decodes the body first and raises on invalid UTF-8, hence our own check.
    if abs(now - int(timestamp)) > MAX_CLOCK_SKEW:
        return False
    digest = hmac.new(key, b"v0:" + timestamp.encode() + b":" + raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"v0={digest}".encode(), signature.encode())


def build_web_app(
    app: AsyncApp,
    signing_secret: str,
    stopping: asyncio.Event | None = None,
    *,
    health: Callable[[], bool] | None = None,
    health_timeout: float = HEALTH_TIMEOUT,
    limits: Limits | None = None,
    guard: ConnectionGuard | None = None,
) -> web.Application:
    """Wrap the Bolt app in an aiohttp application with a guarded `/slack/events` and a `/healthz`.

    Once `stopping` is set, requests still arriving (on a connection kept alive from before) get a 503 and
    are not acknowledged: an acknowledged command must get its answer, and a process shutting down may not.
    `/healthz` answers 200 when `health()` (run in a thread: it touches the database) returns True within
    `health_timeout` seconds, and 503 when it returns False, raises or takes longer; without `health`, 200.
    A body must arrive within `limits.body_timeout` (408 otherwise). With a `guard`, its middleware tells
    it which connections are busy with a request, and overloads are logged through its rate limit. An app
    with an OAuth flow (distribution) also gets its install page and redirect.
    """
    key = signing_secret.encode()
    body_timeout = (limits or Limits()).body_timeout
    overload = guard.overload if guard is not None else OverloadLog()

    async def events(request: web.Request) -> web.Response:
        if stopping is not None and stopping.is_set():
            response = _reject(503, "shutting_down")
            response.force_close()
            return response
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return _reject(413, "body_too_large")
        if request.content_type not in {FORM, JSON}:
            return _reject(415, "unsupported_content_type")
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if not timestamp or not signature:
            return _reject(401, "missing_signature")
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            return _reject(400, "invalid_timestamp")
        if not signature.isascii():
            return _reject(401, "invalid_signature")
        try:
            async with asyncio.timeout(body_timeout):
                raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _reject(413, "body_too_large")
        except web.RequestPayloadError:
            # A body aiohttp cannot decode (a bad chunk, a short body): the client's mistake.
            return _reject(400, "invalid_body")
        except ConnectionError:
            # The client went away mid-body; nobody will read the answer.
            return _reject(400, "body_incomplete")
        except TimeoutError:
            overload.warning("body", "closing connections whose body takes over %g s to arrive", body_timeout)
            return await _answer_and_close(request, _reject(408, "body_timeout"))
        if len(raw) > MAX_BODY_BYTES:
            return _reject(413, "body_too_large")
        if not signature_ok(key, raw, timestamp, signature, time.time()):
            return _reject(401, "invalid_signature")
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return _reject(400, "invalid_encoding")
        headers: dict[str, str | Sequence[str]] = dict(request.headers)
        # The content type exactly as Bolt will read it, so the body is checked as Bolt will parse it.
        if bolt_body(body, extract_content_type(build_normalized_headers(headers)) or "") is None:
            return _reject(400, "invalid_body")
        bolt_request = AsyncBoltRequest(body=body, query=request.query_string, headers=headers)
        try:
            bolt_response = await app.async_dispatch(bolt_request)
        except Exception:
            # The request was signed and well formed, so this is our fault: log it, answer without details.
            log.exception("the Slack app failed on a verified request")
            return _reject(500, "internal_error")
        return await to_aiohttp_response(bolt_response)

    async def healthz(request: web.Request) -> web.Response:
        if health is None:
            return web.json_response({"ok": True})
        try:
            async with asyncio.timeout(health_timeout):
                ok, reason = bool(await asyncio.to_thread(health)), "the core reported unhealthy"
        except TimeoutError:
            ok, reason = False, f"no answer within {health_timeout:g} s"
        except Exception as e:
            ok, reason = False, f"the check failed ({type(e).__name__})"
        if ok:
            return web.json_response({"ok": True})
        overload.warning("health", "/healthz answers 503: %s", reason)
        return _reject(503, "unhealthy")

    async def too_large(request: web.Request, handler: Any) -> web.StreamResponse:
        # aiohttp raises its own 413 for oversized bodies; keep the answer in the same JSON shape.
        try:
            return await handler(request)
        except web.HTTPRequestEntityTooLarge:
            return _reject(413, "body_too_large")

    middlewares: list[Any] = [web.middleware(too_large)]
    if guard is not None:
        middlewares.insert(0, guard.middleware)
    web_app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=middlewares)
    web_app.router.add_post("/slack/events", events)
    web_app.router.add_get("/healthz", healthz)
    flow = app.oauth_flow
    if flow is not None:

        async def oauth(request: web.Request) -> web.Response:
            if stopping is not None and stopping.is_set():
                return _reject(503, "shutting_down")
            # A browser's GET: the state cookie and the query are all Bolt reads.
            bolt_request = AsyncBoltRequest(
                body="", query=request.query_string, headers=dict(request.headers)
            )
            step = flow.handle_installation if request.path == flow.install_path else flow.handle_callback
            try:
                bolt_response = await step(bolt_request)
            except Exception:
                # A failure of ours (the state store, most likely): logged, the browser told nothing more.
                log.exception("the Slack install flow failed at %s", request.path)
                return _reject(500, "internal_error")
            return await to_aiohttp_response(bolt_response)

        web_app.router.add_get(flow.install_path, oauth)
        web_app.router.add_get(flow.redirect_uri_path, oauth)
    return web_app


async def serve(
    core: Handler,
    settings: Settings,
    stopping: asyncio.Event,
    *,
    client: AsyncWebClient | None = None,
    host: str = "0.0.0.0",
    ready: asyncio.Future[str] | None = None,
    core_timeout: float = CORE_TIMEOUT,
    health_timeout: float = HEALTH_TIMEOUT,
    limits: Limits | None = None,
    mount: Callable[[web.Application], None] | None = None,
    installations: Installations | None = None,
) -> None:
    """Serve Slack until `stopping` is set, then close cleanly; `ready` gets the HTTP URL or "socket-mode".

    In HTTP mode, `limits` bound each connection and their number (defaults: `connections.Limits`), and
    `mount` may add other routes beside `/slack/events` and `/healthz` (the public site, for `pledgebot web`).
    With distribution, `installations` keeps the workspaces' installations (see `app.build`).
    """
    app, listeners = build(
        core, settings, client=client, core_timeout=core_timeout, installations=installations
    )
    if not settings.slack_oauth:
        # A distributed app has no token of its own to check: each installation brings one.
        await _check_token(app)
    if settings.slack_app_token is not None:
        await _serve_socket_mode(app, listeners, settings.slack_app_token.value, stopping, ready)
        return

    if settings.slack_signing_secret is None:
        raise SlackStartError(
            "Slack HTTP mode needs SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN for Socket Mode)"
        )
    limits = limits or Limits()
    guard = ConnectionGuard(limits)
    web_app = build_web_app(
        app,
        settings.slack_signing_secret.value,
        stopping,
        health=core.healthy,
        health_timeout=health_timeout,
        limits=limits,
        guard=guard,
    )
    if mount is not None:
        mount(web_app)
    runner = web.AppRunner(
        web_app,
        handle_signals=False,
        access_log=None,
        # aiohttp closes a kept-alive connection idle this long (its default is an hour).
        keepalive_timeout=limits.idle_timeout,
        logger=ServerLog(guard.overload),
    )
    await runner.setup()
    try:
        assert runner.server is not None
        port = await guard.listen(runner.server, host, settings.port)
        log.info(
            "Slack: serving HTTP on %s:%s (/slack/events, /healthz%s; at most %d connections)",
            host,
            port,
            ", /slack/install, /slack/oauth_redirect" if app.oauth_flow is not None else "",
            guard.cap,
        )
        if ready is not None and not ready.done():
            ready.set_result(f"http://127.0.0.1:{port}")
        await stopping.wait()
        deadline = asyncio.get_running_loop().time() + DRAIN_SECONDS
        # Refuse new connections, close idle kept-alive ones (requests on busy ones get a 503), let the
        # requests being handled be acknowledged, then let the answers in flight reach their response_url.
        await guard.stop_accepting()
        runner.server.pre_shutdown()
        await runner.server.shutdown(ACK_SECONDS)
        await listeners.drain(deadline - asyncio.get_running_loop().time())
    finally:
        await guard.stop_accepting()
        await runner.cleanup()
        guard.close()
        await listeners.close()


class SlackStartError(ConfigError):
    """Slack cannot start: a credential is missing or rejected (the message names it, never its value)."""


async def _check_token(app: AsyncApp) -> None:
    # Fail at boot with a clear message rather than on the first command, when nobody is watching the log.
    try:
        await app.client.auth_test()
    except SlackApiError as e:
        error = e.response.get("error", "unknown error")
        raise SlackStartError(f"Slack rejected SLACK_BOT_TOKEN ({error})") from None


async def _serve_socket_mode(
    app: AsyncApp,
    listeners: Listeners,
    app_token: str,
    stopping: asyncio.Event,
    ready: asyncio.Future[str] | None,
) -> None:
    handler = AsyncSocketModeHandler(app, app_token)
    # connect_async() retries forever on failure; racing it with `stopping` keeps shutdown prompt.
    connecting = asyncio.ensure_future(handler.connect_async())
    stop = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({connecting, stop}, return_when=asyncio.FIRST_COMPLETED)
        if connecting.done():
            connecting.result()
            log.info("Slack: connected over Socket Mode")
            if ready is not None and not ready.done():
                ready.set_result("socket-mode")
            await stop
        # Stop taking new envelopes first (without the client's auto-reconnect undoing it), then let
        # answers in flight reach their response_url.
        handler.client.auto_reconnect_enabled = False
        await handler.disconnect_async()
        await listeners.drain(DRAIN_SECONDS)
    finally:
        connecting.cancel()
        stop.cancel()
        await handler.close_async()
        await listeners.close()
