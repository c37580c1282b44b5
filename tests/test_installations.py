"""The state store's installations (`bot/installations.py`), on both backends: what an uninstall deletes and
logs, which installation serves a workspace, a locked read-modify-write, and OAuth states used once."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.cli import Bot, open_bot
from bot.config import Settings

AT = dt.datetime(2026, 5, 20, 3, 0, tzinfo=dt.UTC)


@pytest.fixture
def bot(state_settings: Settings, clock):
    bot = open_bot(state_settings, clock=clock)
    yield bot
    bot.close()


def _subscribe(bot: Bot, workspace: str, channel: str) -> None:
    bot.subscriptions.subscribe(
        "slack", workspace, channel, dt.time(9), "Asia/Seoul", 0, "U1", AT, topics=("x",)
    )
    bot.subscriptions.set_language("slack", workspace, channel, "ko", "U1", AT)
    bot.editors.add("slack", workspace, f"U{workspace}", "U1", AT)


def test_an_installation_serves_its_workspace_or_its_orgs_and_goes_with_everything_they_kept(bot: Bot):
    store = bot.installations
    store.save("slack", "", "T1", {"bot_token": "one"}, AT, by="U1")
    store.save("slack", "E1", "", {"bot_token": "org"}, AT)
    store.note_workspace("slack", "T2", "E1", AT)
    store.note_workspace("slack", "T3", "E1", AT)
    for workspace in ("T1", "T2", "T3", "T9"):
        _subscribe(bot, workspace, f"C{workspace}")
    bot.subscriptions.subscribe("discord", "T2", "C0", dt.time(9), "Asia/Seoul", 0, "U1", AT)
    assert store.serving("slack", "T1").body == {"bot_token": "one"}
    assert (store.serving("slack", "T3").enterprise, store.serving("slack", "T3").team) == ("E1", "")
    assert store.serving("slack", "T9") is None
    # A reinstall replaces the document.
    store.save("slack", "", "T1", {"bot_token": "two"}, AT)
    assert store.find("slack", "", "T1").body == {"bot_token": "two"}

    org = store.remove("slack", "E1", "", "app_uninstalled", AT)
    assert (org.workspaces, org.subscriptions, org.editors, org.installation) == (("T2", "T3"), 2, 2, True)
    assert {s.workspace for s in bot.subscriptions.all(platform="slack")} == {"T1", "T9"}
    assert bot.subscriptions.language("slack", "T2", "CT2") is None
    assert bot.editors.all("slack", "T3") == [] and bot.editors.all("slack", "T9") != []
    # Another platform's place of the same id is not Slack's to delete.
    assert [s.workspace for s in bot.subscriptions.all(platform="discord")] == ["T2"]
    assert store.serving("slack", "T2") is None

    team = store.remove("slack", "", "T1", "tokens_revoked", AT)
    assert (team.workspaces, team.subscriptions, team.installation) == (("T1",), 1, True)
    # Nothing left: still logged, as a repeated event would be.
    assert store.remove("slack", "", "T1", "app_uninstalled", AT).installation is False
    assert [(e.event, e.enterprise, e.team) for e in store.log()] == [
        ("app_uninstalled", "", "T1"),
        ("tokens_revoked", "", "T1"),
        ("app_uninstalled", "E1", ""),
        ("installed", "", "T1"),
        ("installed", "E1", ""),
        ("installed", "", "T1"),
    ]
    assert store.log()[-1].detail == {"by": "U1"}


def test_renew_stores_what_refresh_returns_and_nothing_when_it_needs_nothing_or_fails(bot: Bot):
    store = bot.installations
    store.save("slack", "", "T1", {"bot_token": "old", "n": 1}, AT)
    assert store.renew("slack", "", "T1", lambda body: None, AT) == {"bot_token": "old", "n": 1}
    fresh = store.renew("slack", "", "T1", lambda body: {**body, "bot_token": "new", "n": body["n"] + 1}, AT)
    assert fresh == store.find("slack", "", "T1").body == {"bot_token": "new", "n": 2}

    def refused(body):
        raise RuntimeError("invalid_refresh_token")

    with pytest.raises(RuntimeError):
        store.renew("slack", "", "T1", refused, AT)
    assert store.find("slack", "", "T1").body == {"bot_token": "new", "n": 2}
    assert store.renew("slack", "", "T0GONE", lambda body: {}, AT) is None


def test_an_oauth_state_is_good_once_and_not_once_expired(bot: Bot):
    store = bot.installations
    store.issue_state("fresh", expires_at=2_000, now=1_000)
    store.issue_state("stale", expires_at=1_500, now=1_000)
    assert store.consume_state("fresh", now=1_600)
    assert not store.consume_state("fresh", now=1_600)  # used
    assert not store.consume_state("stale", now=1_600)  # expired
    assert not store.consume_state("never issued", now=1_600)
    # Issuing a state drops the expired ones.
    store.issue_state("next", expires_at=3_000, now=2_500)
    assert [tuple(r) for r in bot.backend.read("SELECT state FROM oauth_states")] == [("next",)]
