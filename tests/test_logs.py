"""LOG_FORMAT: validated, and a JSON line's fields, inside a request and outside, with an exception."""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging

import pytest

from bot import logs
from bot.config import ConfigError, load_settings


def test_log_format_is_text_or_json():
    assert load_settings({}).log_format == "text"
    assert load_settings({"LOG_FORMAT": " JSON "}).log_format == "json"
    with pytest.raises(ConfigError, match="LOG_FORMAT must be text or json") as error:
        load_settings({"LOG_FORMAT": "yaml-secret"})
    assert "yaml-secret" not in str(error.value)


def record(message: str, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("pledgebot.test", logging.ERROR, __file__, 1, message, (), exc_info)


def test_a_line_outside_a_request_has_no_request_fields():
    line = json.loads(logs.JsonFormatter().format(record("started")))
    assert line.keys() == {"time", "level", "logger", "message"}
    assert (line["level"], line["logger"], line["message"]) == ("ERROR", "pledgebot.test", "started")
    assert line["time"].endswith("+00:00")


async def test_a_request_s_fields_reach_the_threads_it_hands_work_to_and_its_exceptions_lose_their_message():
    def in_the_core() -> str:
        logs.command("show")
        try:
            typed = "hotline " + str(123)  # not in the source the stack quotes
            raise RuntimeError(f"while answering what the user typed: {typed}")
        except RuntimeError:
            import sys

            return logs.JsonFormatter().format(record("failed", sys.exc_info()))

    async def request() -> tuple[str, str]:
        logs.begin("discord", "4242", "77")
        in_thread = await asyncio.to_thread(in_the_core)
        # The command word named in the core's thread is seen back in the adapter's task.
        return in_thread, logs.JsonFormatter().format(record("answered"))

    in_thread, after = await asyncio.create_task(request(), context=contextvars.Context())
    line, later = json.loads(in_thread), json.loads(after)
    assert {k: line[k] for k in ("platform", "guild", "channel", "command")} == {
        "platform": "discord",
        "guild": "4242",
        "channel": "77",
        "command": "show",
    }
    assert (
        "workspace" not in line and line["request_id"] == later["request_id"] and later["command"] == "show"
    )
    assert line["error"] == "builtins.RuntimeError" and "in_the_core" in line["stack"]
    assert "hotline 123" not in in_thread
    # The request's task ended: this one has none.
    assert "request_id" not in json.loads(logs.JsonFormatter().format(record("idle")))
