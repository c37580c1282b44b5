"""Which signed request bodies Bolt can read: parsed the way Bolt parses them, then checked field by field.

Bolt reads fields without checking their types: the ids it puts in the context
(`slack_bolt/request/internals.py`), the event, action or view its middleware and listener matchers compare
(`request/payload_utils.py`, `listener_matcher/builtins.py`), and the fields its "unhandled request" hint
formats (`logger/messages.py`). A signed body whose `event` is a string, whose `team` is a number or whose
`action_id` is a list makes it answer 500 with a traceback, and JSON nested a few thousand levels deep makes
`json.loads` itself raise RecursionError. Slack sends none of these, so the endpoint refuses them with 400
before Bolt sees them; the rules below name each field Bolt and our listeners read, with the type Slack sends.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from slack_bolt.request.internals import parse_body

JSON = "application/json"
# Real payloads nest a handful of levels (Block Kit state values the deepest); json.loads fails near 1,000.
MAX_DEPTH = 64

# Ids Bolt copies into the context, from the body and from every object it descends into looking for them.
_ID_FIELDS = (
    "enterprise_id",
    "team_id",
    "user_id",
    "channel_id",
    "thread_ts",
    "app_installed_team_id",
    "function_execution_id",
    "bot_access_token",
    "response_url",
)
# Each is null, an id, or an object whose `id` is one; Bolt tests `"id" in value`, then calls `.get`.
_ID_OBJECTS = ("enterprise", "team", "user", "channel")
# Objects Bolt descends into for ids when they are objects (it skips them when they are not).
_DESCENDED = ("event", "message", "previous_message", "item", "assistant_thread", "function_data", "view")
# Compared by listener matchers (a regex search needs a string) and formatted by the unhandled-request hint.
_TOP_STRINGS = ("type", "command", "text", "callback_id", "action_id")
# The button listener reads these as objects.
_CLICK_OBJECTS = ("user", "team", "channel", "container")

# A JSON string, escapes included, so that brackets inside strings are not counted as nesting.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def bolt_body(body: str, content_type: str) -> dict[str, Any] | None:
    """The body as Bolt will parse it, if it is an object Bolt can read; None if it is not.

    `content_type` is the header's media type as Bolt reads it (`extract_content_type`: no parameters).
    """
    payload_field = False
    if content_type == JSON or body.startswith("{"):
        # Bolt parses any body that starts with "{" as JSON, whatever its content type.
        json_text = body
    else:
        fields = _form(body)
        if fields is None:
            return None
        payload_field = "payload" in fields
        if payload_field and len(fields["payload"]) != 1:
            return None
        json_text = fields["payload"][0] if payload_field else ""
    if nesting_depth(json_text) > MAX_DEPTH:
        return None
    try:
        parsed = parse_body(body, content_type)
    except (ValueError, RecursionError):
        return None
    if not isinstance(parsed, dict) or not shape_ok(parsed):
        return None
    # An interactive payload is dispatched on its type, so it must have one.
    if payload_field and not isinstance(parsed.get("type"), str):
        return None
    return parsed


def _form(body: str) -> dict[str, list[str]] | None:
    try:
        return urllib.parse.parse_qs(body, keep_blank_values=True, strict_parsing=bool(body))
    except ValueError:
        return None


def nesting_depth(text: str) -> int:
    """How deeply the JSON `text` nests arrays and objects, without parsing it (brackets in strings ignored).

    Text that is not JSON gets a number too (an unterminated string's brackets count); it fails to parse.
    """
    depth = deepest = 0
    for bracket in _BRACKET.findall(_JSON_STRING.sub("", text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def shape_ok(body: dict[str, Any]) -> bool:
    """True if every field Bolt and our listeners read from `body` has the type Slack sends."""
    if not _ids_ok(body) or not all(_absent_or(body, key, str) for key in _TOP_STRINGS):
        return False
    # Bolt's middleware reads body.get("event", {}).get(...) on every request, and its unhandled-request hint
    # body["view"].get(...), so either, when present, must be an object (null included).
    if any(key in body and not isinstance(body[key], dict) for key in ("event", "view")):
        return False
    # Without a response_url, Bolt takes len() of response_urls and .get() on its first item.
    response_urls = body.get("response_urls", [])
    if not (
        isinstance(response_urls, list)
        and all(isinstance(r, dict) and _absent_or(r, "response_url", str) for r in response_urls)
    ):
        return False
    kind = body.get("type")
    if kind == "block_actions":
        return _click_ok(body)
    if kind == "interactive_message" and "callback_id" in body:
        return _actions_ok(body.get("actions"), "name")
    if kind in ("view_submission", "view_closed"):
        view = body.get("view")
        return isinstance(view, dict) and isinstance(view.get("type"), str)
    if kind == "event_callback" and "event" in body:
        # Without an event it is an unhandled request (Bolt's 404); with one, Bolt compares its type.
        event = body["event"]
        function_ok = "function" not in event or isinstance(event["function"], dict)
        return isinstance(event.get("type"), str) and function_ok
    return True


def _actions_ok(actions: object, id_field: str) -> bool:
    """A non-empty list of objects, each with a string `id_field`: Bolt hands the first to the listener."""
    return (
        isinstance(actions, list)
        and bool(actions)
        and all(isinstance(a, dict) and isinstance(a.get(id_field), str) for a in actions)
    )


def _click_ok(body: dict[str, Any]) -> bool:
    if not _actions_ok(body.get("actions"), "action_id"):
        return False
    if not all(body.get(key) is None or isinstance(body[key], dict) for key in _CLICK_OBJECTS):
        return False
    return _absent_or(body.get("container") or {}, "channel_id", str)


def _ids_ok(obj: dict[str, Any]) -> bool:
    """The ids in `obj`, and in the objects Bolt descends into from it, are strings (or null)."""
    if not all(_absent_or(obj, key, str) for key in _ID_FIELDS):
        return False
    for key in _ID_OBJECTS:
        value = obj.get(key)
        if isinstance(value, dict):
            if not all(_absent_or(value, k, str) for k in ("id", "team_id", "enterprise_id")):
                return False
        elif value is not None and not isinstance(value, str):
            return False
    authorizations = obj.get("authorizations")
    if authorizations is not None and not (
        isinstance(authorizations, list) and all(isinstance(a, dict) and _ids_ok(a) for a in authorizations)
    ):
        return False
    return all(
        _ids_ok(obj[key]) and _absent_or(obj[key], "type", str) and _absent_or(obj[key], "callback_id", str)
        for key in _DESCENDED
        if isinstance(obj.get(key), dict)
    )


def _absent_or(obj: dict[str, Any], key: str, kind: type) -> bool:
    """True if `obj[key]` is missing, null, or of type `kind`."""
    value = obj.get(key)
    return value is None or isinstance(value, kind)
