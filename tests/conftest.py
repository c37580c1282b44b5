"""Shared fixtures: a fresh database built from the real data folder, contexts per platform, and the fake
Slack and Discord a test talks to."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.console.shell import POLICY as CONSOLE_POLICY
from adapters.discord_app.client import POLICY as DISCORD_POLICY
from adapters.slack_app.app import POLICY as SLACK_POLICY
from bot.cli import Bot, open_bot
from bot.config import DEFAULT_DATA_DIR, Secret, Settings
from bot.replies import Context, QuoteCard, SourceRef, Status
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.slack_api import FakeSlack

# A real PostgreSQL server on demand: the `postgres_server` and `database_url` fixtures; a page server on
# 127.0.0.1 for the desk's fetches: the `pages` fixture.
pytest_plugins = ["tests.postgres", "tests.pages"]

ROOT = Path(__file__).resolve().parent.parent
# Each adapter's policy (its refusal wording, whether it has forms), for contexts a test builds by hand.
POLICIES = {"slack": SLACK_POLICY, "discord": DISCORD_POLICY, "console": CONSOLE_POLICY}
ARTICLE = DEFAULT_DATA_DIR / "sources" / "2025-05-26-lee-jae-myung-pledges.txt"
HOTLINE_QUOTE = (
    "I will work to restore inter-Korean communication channels, such as military hotlines, to mutually stop "
    "tension-provoking acts and manage the situation stably."
)
# The hotline quote as a search for "hotline" shows it: the matching word in bold.
HOTLINE_QUOTE_SLACK_BOLD = HOTLINE_QUOTE.replace("hotlines", "*hotlines*")
HOTLINE_QUOTE_DISCORD_BOLD = HOTLINE_QUOTE.replace("hotlines", "**hotlines**")
HEADLINE = "Lee Jae-myung pledges to restore inter-Korean hotline, strengthen U.S. alliance"


def hotline_card(**changes) -> QuoteCard:
    """The seed dataset's hotline pledge as the core returns it, for renderer tests; `changes` override."""
    fields = dict(
        pledge_id="inter-korean-hotline",
        title="Restore inter-Korean hotlines and communication channels",
        speaker="Lee Jae-myung",
        quote=HOTLINE_QUOTE,
        said_on=dt.date(2025, 5, 26),
        source=SourceRef(
            headline=HEADLINE,
            outlet="Korea JoongAng Daily",
            published_at=dt.datetime(2025, 5, 26, 11, 9, tzinfo=dt.timezone(dt.timedelta(hours=9))),
            kind="news report",
        ),
        status=Status(label="not yet rated", as_of=dt.date(2025, 5, 26)),
        category="North Korea",
        translated=True,
        language="en",
    )
    fields.update(changes)
    return QuoteCard(**fields)


class FixedClock:
    """A clock the test sets; the core reads it instead of the real time."""

    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings pointing at a database of this test's own."""
    return Settings(db_path=tmp_path / "pledgebot.db")


@pytest.fixture
def clock() -> FixedClock:
    """Noon in Seoul on 2026-05-20, unless a test moves it."""
    return FixedClock(dt.datetime(2026, 5, 20, 3, 0, tzinfo=dt.UTC))


@pytest.fixture
def bot(settings: Settings, clock: FixedClock):
    """Every part of the bot over a fresh database loaded from data/."""
    bot = open_bot(settings, clock=clock)
    yield bot
    bot.close()


@pytest.fixture
def core(bot: Bot):
    """The core of that bot."""
    return bot.core


@pytest.fixture
def console_ctx() -> Context:
    """The console's context: a local user who may manage the channel and edit the catalogue."""
    return Context(
        platform="console", workspace="local", channel="console", user="you", can_manage=True, can_edit=True
    )


@pytest.fixture(params=["sqlite", "postgres"])
def state_backend(request) -> str:
    """The state backend (the journal, subscriptions and ledger live there): a test taking this fixture, or
    one built on it (`state_url`, `state_settings`), runs once on SQLite and once on PostgreSQL."""
    return request.param


@pytest.fixture
def state_url(request, state_backend: str) -> str | None:
    """On PostgreSQL, the URL of a database of this test's own; on SQLite, None."""
    # Asked for only on PostgreSQL, so that the SQLite run starts no server.
    return request.getfixturevalue("database_url") if state_backend == "postgres" else None


@pytest.fixture
def state_settings(tmp_path: Path, state_url: str | None) -> Settings:
    """Settings for a fresh bot on either state backend."""
    return Settings(db_path=tmp_path / "pledgebot.db", database_url=Secret(state_url) if state_url else None)


@pytest.fixture
def slack_users() -> dict[str, dict]:
    """The users the fake Slack's users.info knows, by id, with `FakeSlack.add_user`'s flags (admin, owner,
    locale): none here; a test file that needs its cast of users overrides this fixture."""
    return {}


@pytest.fixture
def slack_class() -> type[FakeSlack]:
    """The fake Slack's class; a test file needing a fake that behaves differently overrides this fixture
    with a subclass (tests/reliability/test_sigterm.py holds requests at a gate)."""
    return FakeSlack


@pytest.fixture
async def slack(slack_class: type[FakeSlack], slack_users: dict[str, dict]) -> AsyncIterator[FakeSlack]:
    """A fake Slack Web API on 127.0.0.1 (tests/fakes/slack_api.py) knowing `slack_users`."""
    async with slack_class() as fake:
        for user, flags in slack_users.items():
            fake.add_user(user, **flags)
        yield fake


@pytest.fixture
def discord_token() -> str:
    """The bot token the fake Discord accepts; a test file that needs a token of its own overrides this."""
    return "test-token"


@pytest.fixture
async def fake(discord_token: str) -> AsyncIterator[FakeDiscord]:
    """A fake Discord (REST and gateway) on 127.0.0.1 (tests/fakes/discord_api.py). Named `fake`, as the
    Discord tests have always called it."""
    server = FakeDiscord(token=discord_token)
    await server.start()
    yield server
    await server.close()
