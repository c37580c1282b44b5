"""Secrets never reach a log line, a reply, or anything sent to Slack or Discord except the one header (or
gateway IDENTIFY) where they belong; configuration errors name the variable and never print its value.
"""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings

pytestmark = pytest.mark.fuzz


@pytest.mark.parametrize(
    ("name", "value"),
    [("DISCORD_GUILD_IDS", "123,²"), ("DISCORD_GUILD_IDS", "9" * 5000), ("PLEDGEBOT_TIMEZONE", "Etc")],
    ids=["superscript-digit", "5000-digits", "zone-folder"],
)
def test_malformed_values_are_config_errors_not_crashes(name: str, value: str):
    with pytest.raises(ConfigError, match=name) as error:
        load_settings({name: value})
    assert value not in str(error.value)
