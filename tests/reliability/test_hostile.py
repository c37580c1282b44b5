"""Hostile input, property-based: whatever text arrives after `/pledge`, and whoever sends it, the core
answers with something a person can read, no exception escapes, and nothing is written, except a valid
subscribe or unsubscribe by someone who may manage the channel. Dataset imports of bad rows leave the
database unchanged.

Run with the fast profile by `make test`, with the long one by `make fuzz` (PLEDGEBOT_PROFILE=long).
"""

from __future__ import annotations

import pytest

from bot.core import Core
from bot.replies import Context, Reply

pytestmark = pytest.mark.fuzz

# The core's own apology for a failure on its side: no user input should ever be answered with it.
INTERNAL_ERROR = "Something went wrong on our side"


def readable(reply: Reply) -> str:
    """Everything a person would read in the reply."""
    parts = [reply.title, *(n.text for n in reply.notices)]
    parts += [f"{i.label} {i.detail}" for i in reply.items] + [c.quote for c in reply.cards]
    return "\n".join(parts)


# -- regressions found by the properties below ----------------------------------------------------------


@pytest.mark.parametrize("text", ["hotline \ud800", "show \udfff", "\ud83d", "list \udc00"])
def test_lone_surrogates_are_ignored_not_an_internal_error(core: Core, console_ctx: Context, text: str):
    # JSON (a Slack payload, a Discord gateway frame) can carry them as "\ud800"; SQLite cannot store them.
    reply = core.handle(text, console_ctx)
    assert readable(reply).strip() and INTERNAL_ERROR not in readable(reply)


@pytest.mark.parametrize(
    "text",
    [
        "upcoming 𐩀",
        "subscribe ahead 𐩀",
        "page 𐩀 hotline",
        "upcoming " + "9" * 5000,
        "subscribe ahead " + "9" * 5000,
        "page 99999999999999999999 hotline",
        "list page 99999999999999999999",
    ],
    ids=lambda t: t[:30],
)
def test_numbers_that_int_or_sqlite_cannot_take_are_usage_errors(core: Core, console_ctx: Context, text: str):
    before = core.state.subscriptions()
    reply = core.handle(text, console_ctx)
    assert readable(reply).strip() and INTERNAL_ERROR not in readable(reply)
    assert core.state.subscriptions() == before
