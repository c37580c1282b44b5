"""`/metrics` (Prometheus' text format) and `/readyz`, added to any aiohttp app, or served alone.

The web process adds them beside the site and Slack's and Discord's endpoints, on `$PORT`; the worker,
which receives no HTTP otherwise, serves them alone on `PLEDGEBOT_METRICS_PORT` (`serve`), from before it
asks for the scheduler's lock, so a standby is watched too.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler

from bot.config import ConfigError
from bot.metrics import Metrics
from bot.readiness import Readiness

log = logging.getLogger(__name__)

# Load balancers' probes give up after a few seconds; a store that cannot answer in this long is not ready.
READY_TIMEOUT = 3.0


@dataclass(frozen=True)
class Ops:
    """The process's metrics and its readiness check, as routes."""

    metrics: Metrics
    readiness: Readiness

    def install(self, app: web.Application) -> None:
        """Add `GET /metrics` and `GET /readyz` to `app`."""
        app.router.add_get("/metrics", make_aiohttp_handler(self.metrics.registry))
        app.router.add_get("/readyz", self.readyz)

    async def readyz(self, request: web.Request) -> web.Response:
        """200 `{"ready": true}` while the catalogue and the state store answer, else 503 with the reason."""
        try:
            async with asyncio.timeout(READY_TIMEOUT):
                problem = await asyncio.to_thread(self.readiness.check)
        except TimeoutError:
            problem = f"no answer within {READY_TIMEOUT:g} s"
        if problem is not None:
            return web.json_response({"ready": False, "error": problem}, status=503)
        return web.json_response({"ready": True})


async def serve(
    ops: Ops,
    host: str,
    port: int,
    stopping: asyncio.Event,
    *,
    ready: asyncio.Future[str] | None = None,
) -> None:
    """Serve `/metrics` and `/readyz` alone on `host:port` until `stopping` is set."""
    app = web.Application()
    ops.install(app)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as error:
            raise ConfigError(
                f"PLEDGEBOT_METRICS_PORT: cannot listen on port {port} ({error.strerror or error})"
            ) from None
        bound = runner.addresses[-1][1]
        log.info("serving /metrics and /readyz on %s:%s", host, bound)
        if ready is not None and not ready.done():
            ready.set_result(f"http://127.0.0.1:{bound}")
        await stopping.wait()
    finally:
        await runner.cleanup()
