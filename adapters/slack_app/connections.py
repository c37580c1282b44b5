"""Connections to the Slack HTTP endpoint: how many may be open, how long each may take, and what the server
does when there are too many.

aiohttp alone gives a client as long as its keep-alive timeout to finish its request headers and as long as
it likes to send a body, and asyncio's own accept loop, once the process is out of file descriptors, logs a
traceback for every failed accept (up to 100 per turn of the loop, each scheduling one more retry). Six
hundred connections that never finish their headers were enough to stop `/healthz` and every command on a
process limited to 512 files. So the server accepts its own connections:

- at most `cap` are open at once (by default half the open-file limit: the database, the outgoing
  connections to Slack and the interpreter need the rest); one more gets a minimal 503 and is closed;
- a client must finish its request headers within `header_timeout` of connecting, or of the first byte of
  its next request, and its body within `body_timeout` (checked by the handler); an idle kept-alive
  connection is closed after `idle_timeout` (aiohttp's keepalive_timeout);
- an accept that fails for want of descriptors answers the waiting client with a 503 if it can, and retries
  shortly after;
- each kind of overload, and requests aiohttp cannot parse, are logged at most once a minute, with a count,
  and never with a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.log import server_logger

try:
    import resource
except ImportError:  # not on Windows; the cap then falls back to its ceiling
    resource = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

# Slack sends a request in one go; a client still sending headers or a body after this long is not Slack.
HEADER_TIMEOUT = 10.0
BODY_TIMEOUT = 10.0
# Longer than the headers' limit, so a kept-alive connection that starts a request is judged on its headers.
IDLE_TIMEOUT = 15.0
# Bounds for the default connection cap; Slack's own traffic needs a few dozen at most.
MIN_CONNECTIONS = 16
MAX_CONNECTIONS = 1024
# A shed connection is half-closed and kept this long (or until the client closes), so that the client reads
# the 503 rather than a reset; past `shed_cap` of them, only until the request arrives (at most SHED_GRACE).
SHED_LINGER = 1.0
SHED_GRACE = 0.1
# After a failed accept (no descriptors), wait this long before accepting again.
ACCEPT_RETRY = 0.25
LOG_INTERVAL = 60.0
BACKLOG = 128
_NO_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}

_OVERLOADED_BODY = b'{"ok": false, "error": "overloaded"}'
OVERLOADED = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: application/json\r\n"
    b"Content-Length: " + str(len(_OVERLOADED_BODY)).encode() + b"\r\n"
    b"Retry-After: 5\r\n"
    b"Connection: close\r\n"
    b"\r\n" + _OVERLOADED_BODY
)


@dataclass(frozen=True)
class Limits:
    """How long a client may take, and how many connections may be open (None: from the open-file limit)."""

    header_timeout: float = HEADER_TIMEOUT
    body_timeout: float = BODY_TIMEOUT
    idle_timeout: float = IDLE_TIMEOUT
    max_connections: int | None = None

    @property
    def cap(self) -> int:
        """The connection cap: `max_connections`, or half the soft open-file limit within bounds."""
        return self.max_connections if self.max_connections is not None else connection_cap()


def connection_cap(open_files: int | None = None) -> int:
    """Half of `open_files` (default: this process's soft RLIMIT_NOFILE), within MIN_ and MAX_CONNECTIONS."""
    if open_files is None:
        if resource is None:
            return MAX_CONNECTIONS
        open_files = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if open_files == resource.RLIM_INFINITY:
            return MAX_CONNECTIONS
    return max(MIN_CONNECTIONS, min(MAX_CONNECTIONS, open_files // 2))


class OverloadLog:
    """Logs each kind of overload at most once per `interval` seconds, counting the events it held back."""

    def __init__(
        self,
        logger: logging.Logger = log,
        interval: float = LOG_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.interval = interval
        self._clock = clock
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def warning(self, kind: str, message: str, *args: object) -> None:
        """Log `message % args` unless a `kind` line was logged less than `interval` seconds ago."""
        now = self._clock()
        last = self._last.get(kind)
        if last is not None and now - last < self.interval:
            self._held[kind] = self._held.get(kind, 0) + 1
            return
        self._last[kind] = now
        held = self._held.pop(kind, 0)
        if held:
            message += f" ({held} more since the last such line)"
        self.logger.warning(message, *args)


class ServerLog:
    """The logger aiohttp's server reports through (`logger=`): a request aiohttp cannot parse (its own 400)
    or a client gone mid-request is one rate-limited line, not a traceback per connection; the rest as is.
    """

    def __init__(self, overload: OverloadLog, logger: logging.Logger = server_logger) -> None:
        self._overload = overload
        self._logger = logger

    def exception(self, msg: str, *args: object, exc_info: Any = True, **kwargs: Any) -> None:
        """Log an error aiohttp met while handling a request."""
        error = exc_info if isinstance(exc_info, BaseException) else sys.exc_info()[1]
        if isinstance(error, (HttpProcessingError, ConnectionError)):
            self._overload.warning(
                "malformed", "refusing malformed or cut-off HTTP requests (%s)", type(error).__name__
            )
            return
        self._logger.exception(msg, *args, exc_info=exc_info, **kwargs)

    def __getattr__(self, name: str) -> Any:
        # debug, warning and the rest, as the server logger has them.
        return getattr(self._logger, name)


class ConnectionGuard:
    """Accepts connections for an aiohttp server, holding them to `limits`; see the module's docstring."""

    def __init__(self, limits: Limits, overload: OverloadLog | None = None) -> None:
        self.limits = limits
        self.cap = limits.cap
        # Shed connections linger half-closed for SHED_LINGER; past this many, only until the request arrives.
        self.shed_cap = max(8, self.cap // 4)
        self.overload = overload or OverloadLog()
        self.open = 0
        self.shedding = 0
        self._connections: dict[asyncio.BaseTransport, _Connection] = {}
        self._shed: set[_Connection] = set()
        self._factory: Callable[[], asyncio.Protocol] | None = None
        self._listening: socket.socket | None = None
        self._accepting: asyncio.Task[None] | None = None
        self._spare: int | None = None

    async def listen(self, factory: Callable[[], asyncio.Protocol], host: str, port: int) -> int:
        """Listen on `host:port`, serving each connection with a protocol from `factory`; return the port."""
        loop = asyncio.get_running_loop()
        self._factory = factory
        family, kind, proto, _, address = (
            await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        )[0]
        sock = socket.socket(family, kind, proto)
        try:
            if os.name == "posix":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(BACKLOG)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self._listening = sock
        # One descriptor kept in reserve: out of them, it is given up to accept a waiting client and say 503.
        self._spare = _open_spare()
        self._accepting = asyncio.create_task(self._accept(sock))
        return int(sock.getsockname()[1])

    async def stop_accepting(self) -> None:
        """Stop accepting connections (those open stay open) and close the listening socket."""
        if self._accepting is not None:
            self._accepting.cancel()
            await asyncio.gather(self._accepting, return_exceptions=True)
            self._accepting = None
        if self._listening is not None:
            self._listening.close()
            self._listening = None
        if self._spare is not None:
            os.close(self._spare)
            self._spare = None

    def close(self) -> None:
        """Close every connection still open (after the server has shut its handlers down)."""
        for connection in [*self._connections.values(), *self._shed]:
            connection.abort()

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """aiohttp middleware: a connection whose request is being handled is not waiting for headers."""
        connection = self._connections.get(request.transport) if request.transport is not None else None
        if connection is not None:
            connection.request_started()
        try:
            return await handler(request)
        finally:
            if connection is not None:
                connection.request_finished()

    # -- accepting ---------------------------------------------------------------------------------------

    async def _accept(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, _ = await loop.sock_accept(sock)
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                continue
            except OSError as e:
                self._accept_failed(sock, e)
                await asyncio.sleep(ACCEPT_RETRY)
                continue
            try:
                await loop.connect_accepted_socket(lambda: _Connection(self), conn)
            except OSError:
                conn.close()

    def _accept_failed(self, sock: socket.socket, error: OSError) -> None:
        if error.errno not in _NO_RESOURCES:
            self.overload.warning("accept", "accepting a connection failed: %s", error.strerror or error)
            return
        self.overload.warning(
            "accept",
            "cannot accept connections: %s (%d open, cap %d); answering 503 while it lasts",
            os.strerror(error.errno or 0),
            self.open,
            self.cap,
        )
        # Give up the spare descriptor for one accept, so that a client is told 503 rather than left waiting.
        if self._spare is None:
            self._spare = _open_spare()
            return
        os.close(self._spare)
        self._spare = None
        try:
            conn, _ = sock.accept()
        except OSError:
            pass
        else:
            with conn:
                conn.setblocking(False)
                with contextlib.suppress(OSError):
                    # What the client already sent is read first: closing with it unread would be a reset.
                    conn.recv(65536)
                with contextlib.suppress(OSError):
                    conn.send(OVERLOADED)
        self._spare = _open_spare()

    # -- bookkeeping for _Connection -----------------------------------------------------------------------

    def admit(self, connection: _Connection, transport: asyncio.BaseTransport) -> asyncio.Protocol | None:
        """The protocol that will serve a new connection, or None if it must be shed (over the cap)."""
        if self.open >= self.cap or self._factory is None:
            self.overload.warning("shed", "shedding connections: %d open, cap %d", self.open, self.cap)
            return None
        self.open += 1
        self._connections[transport] = connection
        return self._factory()

    def hold_shed(self, connection: _Connection) -> bool:
        """Count a shed connection; True if it may stay half-open for SHED_LINGER, False for SHED_GRACE."""
        linger = self.shedding < self.shed_cap
        self.shedding += 1
        self._shed.add(connection)
        return linger

    def forget(self, connection: _Connection, transport: asyncio.BaseTransport | None) -> None:
        """A connection closed."""
        if transport is not None and self._connections.pop(transport, None) is not None:
            self.open -= 1
        if connection in self._shed:
            self._shed.discard(connection)
            self.shedding -= 1

    def headers_timed_out(self) -> None:
        """Count (and log, at most once a minute) a connection closed for its slow headers."""
        self.overload.warning(
            "headers",
            "closing connections that send no complete request headers within %g s (%d open, cap %d)",
            self.limits.header_timeout,
            self.open,
            self.cap,
        )


class _Connection(asyncio.Protocol):
    """One accepted connection: aiohttp's protocol inside, and the header timer and counting around it."""

    def __init__(self, guard: ConnectionGuard) -> None:
        self._guard = guard
        self._transport: asyncio.Transport | None = None
        self._inner: Any = None  # aiohttp's RequestHandler; None for a shed connection
        self._timer: asyncio.TimerHandle | None = None
        self._busy = False
        self._close_on_data = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._inner = self._guard.admit(self, transport)
        if self._inner is None:
            self._shed(transport)
            return
        self._inner.connection_made(transport)
        self._arm(self._guard.limits.header_timeout, self._headers_late)

    def _shed(self, transport: asyncio.Transport) -> None:
        # Answer, half-close and read (discarding) before closing: closing with the request unread would
        # reset the connection, and the reset can wipe out the 503 before the client reads it.
        transport.write(OVERLOADED)
        if transport.can_write_eof():
            transport.write_eof()
        linger = self._guard.hold_shed(self)
        self._close_on_data = not linger
        self._arm(SHED_LINGER if linger else SHED_GRACE, transport.close)

    def data_received(self, data: bytes) -> None:
        if self._inner is None:
            if self._close_on_data and self._transport is not None:
                self._transport.close()
            return
        # The first bytes of a request (the connection's first or its next) start the clock on its headers.
        if not self._busy and self._timer is None:
            self._arm(self._guard.limits.header_timeout, self._headers_late)
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        if self._inner is None:
            return False
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._guard.forget(self, self._transport)
        if self._inner is not None:
            self._inner.connection_lost(exc)

    def request_started(self) -> None:
        """The request's headers are in and a handler is working on it."""
        self._busy = True
        self._disarm()

    def request_finished(self) -> None:
        """The handler returned; what arrives next is a new request (aiohttp times out the idle wait)."""
        self._busy = False

    def abort(self) -> None:
        """Close at once, without flushing."""
        if self._transport is not None and not self._transport.is_closing():
            self._transport.abort()

    def _headers_late(self) -> None:
        self._timer = None
        if self._busy or self._transport is None or self._transport.is_closing():
            return
        self._guard.headers_timed_out()
        self._transport.close()

    def _arm(self, delay: float, callback: Callable[[], object]) -> None:
        self._disarm()
        self._timer = asyncio.get_running_loop().call_later(delay, callback)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def _open_spare() -> int | None:
    try:
        return os.open(os.devnull, os.O_RDONLY)
    except OSError:
        return None
