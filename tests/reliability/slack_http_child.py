"""`python -m tests.reliability.slack_http_child`: the Slack HTTP server with the real core, started the way
`pledgebot slack` starts it but with chosen connection limits, for the file-descriptor exhaustion test.

`pledgebot slack` derives its connection cap from the open-file limit, so it never runs out of descriptors
on its own connections; this child sets a cap above the limit to show what happens when it does.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from adapters.slack_app.connections import Limits
from adapters.slack_app.server import serve
from bot.cli import open_bot
from bot.config import load_settings
from bot.core import Core


async def _run(core: Core, limits: Limits) -> None:
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    await serve(core, load_settings(), stopping, limits=limits)


def main() -> int:
    """Serve until SIGTERM with the limits given on the command line."""
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.slack_http_child")
    parser.add_argument("--header-timeout", type=float, required=True)
    parser.add_argument("--max-connections", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(
        level="INFO", stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    limits = Limits(header_timeout=args.header_timeout, max_connections=args.max_connections)
    bot = open_bot(load_settings())
    try:
        asyncio.run(_run(bot.core, limits))
    finally:
        bot.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
