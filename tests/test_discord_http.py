"""Discord interactions over HTTP: the settings that turn them on (DISCORD_PUBLIC_KEY)."""

from __future__ import annotations

import pytest
from nacl.signing import SigningKey

from bot.config import ConfigError, load_settings

# -- settings --------------------------------------------------------------------------------------------

KEY = SigningKey.generate().verify_key.encode().hex()


@pytest.mark.parametrize(
    "value",
    [
        "not-a-key",
        KEY[:-2],
        KEY + "00",
        "g" * 64,
        "00" * 32,  # hex, but no point of the curve a key could be
        "MTk4NjIy.discord-bot-token",
    ],
    ids=["words", "short", "long", "not-hex", "small-order-point", "a-bot-token"],
)
def test_a_malformed_public_key_is_a_configuration_error_naming_it(value: str):
    with pytest.raises(ConfigError, match="DISCORD_PUBLIC_KEY must be the application's public key") as error:
        load_settings({"DISCORD_TOKEN": "t", "DISCORD_PUBLIC_KEY": value})
    assert value not in str(error.value)


def test_the_public_key_needs_the_bot_token_and_turns_http_interactions_on():
    with pytest.raises(ConfigError, match="DISCORD_PUBLIC_KEY is set but DISCORD_TOKEN is missing"):
        load_settings({"DISCORD_PUBLIC_KEY": KEY})
    settings = load_settings({"DISCORD_TOKEN": "t", "DISCORD_PUBLIC_KEY": f"  {KEY.upper()}\n"})
    assert settings.discord_http and settings.discord_public_key == KEY
    assert not load_settings({"DISCORD_TOKEN": "t"}).discord_http
