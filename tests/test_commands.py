"""The grammar: every command and its arguments, parsed once."""

from __future__ import annotations

import datetime as dt

import pytest

from bot import commands as cmd


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hotline", cmd.Search("hotline")),
        ("/pledge hotline", cmd.Search("hotline")),
        ("north korea page 3", cmd.Search("north korea", 3)),
        ("page 2 hotline", cmd.Search("hotline", 2)),
        ("show Inter-Korean-Hotline", cmd.Show("inter-korean-hotline")),
        ("list", cmd.ListPledges()),
        ("list North Korea", cmd.ListPledges("North Korea")),
        ("list defense page 2", cmd.ListPledges("defense", 2)),
        ("on 2025-05-26", cmd.On(dt.date(2025, 5, 26))),
        ("upcoming", cmd.Upcoming(30)),
        ("upcoming 90", cmd.Upcoming(90)),
        ("subscribe", cmd.Subscribe()),
        ("subscribe 08:30 America/New_York", cmd.Subscribe(dt.time(8, 30), "America/New_York")),
        ("subscribe europe/berlin 7:05 ahead 7", cmd.Subscribe(dt.time(7, 5), "Europe/Berlin", 7)),
        ("subscribe UTC", cmd.Subscribe(timezone="UTC")),
        ("unsubscribe", cmd.Unsubscribe()),
        ("subscriptions", cmd.Subscriptions()),
        ("HELP", cmd.Help()),
        ("", cmd.Help()),
        ("목록", cmd.ListPledges()),
        # Words that name a command but do not fit it are searched for instead.
        ("show", cmd.Search("show")),
        ("help me find the hotline", cmd.Search("help me find the hotline")),
    ],
)
def test_parse(text, expected):
    assert cmd.parse(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "on 2025-13-01",
        "on 26/05/2025",
        "upcoming -1",
        "upcoming 9999",
        "subscribe 24:00",
        "subscribe 9:60",
        "subscribe ahead",
        "subscribe ahead 99",
        "subscribe Nowhere/City",
    ],
)
def test_bad_arguments_are_usage_errors(text):
    assert isinstance(cmd.parse(text), cmd.Usage)


def test_every_command_has_a_summary_in_both_languages_within_discord_limits():
    for spec in cmd.COMMANDS:
        assert 1 <= len(spec.summary) <= 100 and 1 <= len(spec.summary_ko) <= 100
        assert spec.example.startswith("/pledge")
