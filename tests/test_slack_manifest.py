"""The Slack app manifest declares what the adapter relies on, and its usage hint follows the grammar."""

from __future__ import annotations

import yaml

from adapters.slack_app.installations import SCOPES
from bot.commands import COMMANDS
from bot.config import ROOT


def manifest() -> dict:
    """The parsed slack-manifest.yaml."""
    return yaml.safe_load((ROOT / "slack-manifest.yaml").read_text(encoding="utf-8"))


def test_declares_pledge_command_scopes_interactivity_and_socket_mode():
    data = manifest()
    (command,) = data["features"]["slash_commands"]
    assert command["command"] == "/pledge"
    assert len(command["description"]) <= 100
    assert set(data["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "chat:write.public",
        "users:read",
        "channels:read",
        "groups:read",
        "channels:join",
        "channels:history",
        "groups:history",
        "files:write",
    }
    assert data["settings"]["interactivity"]["is_enabled"] is True
    assert data["settings"]["socket_mode_enabled"] is True


def test_usage_hint_names_every_command():
    hint = manifest()["features"]["slash_commands"][0]["usage_hint"]
    for spec in COMMANDS:
        if spec.name != "search":
            assert spec.name in hint, spec.name


def test_an_install_asks_for_exactly_the_manifests_bot_scopes():
    bot = manifest()["oauth_config"]["scopes"]["bot"]
    assert sorted(SCOPES) == sorted(bot) and len(set(SCOPES)) == len(SCOPES)
