"""Log lines: text for a terminal, or one JSON object a line (`LOG_FORMAT=json`) for a log pipeline.

A JSON line carries the time, level, logger and message, and, inside a request, the request's fields: the
platform, the workspace (Slack) or guild (Discord), the channel, the command's English word and a request
id. The adapters start a request (`begin`) when they know where it comes from; the core names its command
(`command`) once parsed. The fields live in a context variable: every request runs in a task of its own,
and a thread the core runs in (`asyncio.to_thread`) copies the context, so the same fields are seen there.
Nothing else of the request is logged: never a token, and never what the user typed beyond the command word.
An exception is given by its type and stack, not its message, which may quote what the user typed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import sys
import traceback
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

FORMATS = ("text", "json")
TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@dataclass
class RequestFields:
    """Where one request comes from, and (once the core has parsed it) its command word."""

    platform: str
    place: str
    channel: str
    command: str = ""
    request_id: str = field(default_factory=lambda: secrets.token_hex(8))


_CURRENT: ContextVar[RequestFields | None] = ContextVar("pledgebot_request", default=None)


def begin(platform: str, place: str, channel: str) -> RequestFields:
    """Start a request's fields for every log line of the current task (and the threads it hands work to)."""
    fields = RequestFields(platform, place, channel)
    _CURRENT.set(fields)
    return fields


def command(word: str) -> None:
    """Name the current request's command (its English word), once the core has parsed it."""
    fields = _CURRENT.get()
    if fields is not None:
        fields.command = word


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as JSON, with the current request's fields."""
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = _CURRENT.get()
        if fields is not None:
            line["platform"] = fields.platform
            line["guild" if fields.platform == "discord" else "workspace"] = fields.place
            line["channel"] = fields.channel
            if fields.command:
                line["command"] = fields.command
            line["request_id"] = fields.request_id
        if record.exc_info and record.exc_info[0] is not None:
            kind, _, tb = record.exc_info
            line["error"] = f"{kind.__module__}.{kind.__qualname__}"
            line["stack"] = "".join(traceback.format_tb(tb))
        return json.dumps(line, ensure_ascii=False)


def handler(log_format: str) -> logging.Handler:
    """A handler writing to stderr in `log_format` ("text" or "json")."""
    out = logging.StreamHandler(sys.stderr)
    out.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT))
    return out


def configure(level: str, log_format: str) -> None:
    """Send the process's logs to stderr at `level`, as text or JSON lines."""
    logging.basicConfig(level=level, handlers=[handler(log_format)])
