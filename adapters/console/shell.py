"""A line-by-line loop over any text stream: a prompt on a terminal, none on a pipe."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import TextIO

from adapters.console.render import render
from bot.core import Core
from bot.i18n import N_, language_of, messages
from bot.importing import os_user
from bot.replies import Context, Policy, Reply
from bot.state import Subscription

PROMPT = "pledge> "
WELCOME = N_("pledgebot console. Type /pledge help, or quit to leave.")
QUIT = {"quit", "exit", ":q"}
# The console has no forms: a desk command there needs its arguments.
POLICY = Policy(other_editors=N_("In the console, the local operator may always edit."))


def context(locale: str = "en") -> Context:
    """The console's context: the local operator, who manages the one local channel, edits the catalogue and
    chooses editors (they hold the database file itself), in the terminal's language."""
    return Context(
        platform="console",
        workspace="local",
        channel="console",
        user=os_user(),
        locale=locale,
        can_manage=True,
        can_edit=True,
        can_choose_editors=True,
        policy=POLICY,
    )


def answer(core: Core, line: str, locale: str = "en", files: Path | None = None) -> str:
    """The rendered reply to one command line; its files (a quote card) are written into `files`."""
    return written(core.handle(line, context(locale)), files)


def written(reply: Reply, files: Path | None) -> str:
    """The reply as text, after writing its files into the folder `files`, each named with its path."""
    text = render(reply)
    if not reply.files or files is None:
        return text
    files.mkdir(parents=True, exist_ok=True)
    m = reply.messages
    for attachment in reply.files:
        # The core names files after pledge ids; only the last part of a name is ever used.
        path = files / Path(attachment.name).name
        path.write_bytes(attachment.data)
        text += "\n\n" + m.gettext("Image saved: {path}").format(path=path)
    return text


def run(
    core: Core,
    stdin: TextIO,
    stdout: TextIO,
    *,
    interactive: bool,
    locale: str = "en",
    files: Path | None = None,
) -> None:
    """Answer each line of `stdin` until end of input (or `quit`)."""
    if interactive:
        stdout.write(messages(language_of(locale)).gettext(WELCOME) + "\n")
    while True:
        if interactive:
            stdout.write(PROMPT)
            stdout.flush()
        line = stdin.readline()
        if not line or not _respond(core, line, stdout, locale, files):
            break


def _respond(core: Core, line: str, stdout: TextIO, locale: str, files: Path | None) -> bool:
    line = line.strip()
    if line.lower() in QUIT:
        return False
    if line:
        stdout.write(answer(core, line, locale, files) + "\n\n")
        stdout.flush()
    return True


async def serve(
    core: Core,
    stdin: TextIO,
    stdout: TextIO,
    stopping: asyncio.Event,
    locale: str = "en",
    files: Path | None = None,
) -> None:
    """The interactive console inside the event loop, so scheduled digests can print between commands."""
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str] = asyncio.Queue()

    def read() -> None:
        try:
            while not stopping.is_set() and (line := stdin.readline()):
                loop.call_soon_threadsafe(lines.put_nowait, line)
            loop.call_soon_threadsafe(lines.put_nowait, "")
        except RuntimeError:
            pass  # the loop closed while a line was being read: the console is gone, so is the line

    # A daemon thread, not the loop's executor: a read blocked on the terminal must not hold up shutdown.
    threading.Thread(target=read, name="console-stdin", daemon=True).start()
    stdout.write(messages(language_of(locale)).gettext(WELCOME) + "\n" + PROMPT)
    stdout.flush()
    while not stopping.is_set():
        getter = asyncio.ensure_future(lines.get())
        stopper = asyncio.ensure_future(stopping.wait())
        done, _ = await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if getter not in done:
            getter.cancel()
            break
        line = getter.result().strip()
        if not getter.result() or line.lower() in QUIT:
            break
        if line:
            text = await asyncio.to_thread(answer, core, line, locale, files)
            stdout.write(text + "\n\n")
        stdout.write(PROMPT)
        stdout.flush()


class ConsoleDeliverer:
    """Prints digests for the console's subscription to the terminal."""

    def __init__(self, stdout: TextIO):
        self.stdout = stdout

    async def deliver(self, subscription: Subscription, digest: Reply, key: str, *, retry: bool) -> str:
        """Print the digest; a terminal has no history to check, so a retry prints again."""
        when = f"{subscription.local_time:%H:%M} {subscription.timezone}"
        heading = digest.messages.gettext("[digest for the console, {when}]").format(when=when)
        self.stdout.write(f"\n{heading}\n{render(digest)}\n\n")
        self.stdout.flush()
        return key
