"""A line-by-line loop over any text stream: a prompt on a terminal, none on a pipe."""

from __future__ import annotations

from typing import TextIO

from adapters.console.render import render
from bot.core import Core
from bot.replies import Context

PROMPT = "pledge> "
QUIT = {"quit", "exit", ":q"}


def context() -> Context:
    """The console's context: one local user who manages the one local channel."""
    return Context(platform="console", workspace="local", channel="console", user="you", can_manage=True)


def answer(core: Core, line: str) -> str:
    """The rendered reply to one command line."""
    return render(core.handle(line, context()))


def run(core: Core, stdin: TextIO, stdout: TextIO, *, interactive: bool) -> None:
    """Answer each line of `stdin` until end of input (or `quit`)."""
    if interactive:
        stdout.write("pledgebot console. Type /pledge help, or quit to leave.\n")
    while True:
        if interactive:
            stdout.write(PROMPT)
            stdout.flush()
        line = stdin.readline()
        if not line:
            break
        line = line.strip()
        if not line:
            continue
        if line.lower() in QUIT:
            break
        stdout.write(answer(core, line) + "\n\n")
        stdout.flush()
