"""The core's forms as Discord modals: building one, reading a submission, keeping forms between steps.

A modal's custom_id (100 characters) cannot carry a form's fields and the core's state, and a "Continue"
button must open the next step's modal with its fields, so each form shown is kept here under a short token
for as long as Discord keeps an interaction answerable (15 minutes). A form submitted after a restart, or
after that, is answered with a request to run the command again.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import discord

from adapters.discord_app.render import CUSTOM_ID_PREFIX, clip
from bot.replies import FieldKind, Form

# Discord's limits (developers/interactions/message-components#text-input, receiving-and-responding#modal).
MAX_INPUTS = 5
MODAL_TITLE_LIMIT = 45
INPUT_LABEL_LIMIT = 45
INPUT_PLACEHOLDER_LIMIT = 100
INPUT_VALUE_LIMIT = 4000
# Interaction tokens live 15 minutes: a form older than that could not be answered anyway.
FORM_LIFETIME = 15 * 60.0
MAX_FORMS = 1000
MODAL_PREFIX = f"{CUSTOM_ID_PREFIX}:form:"
OPEN_PREFIX = f"{CUSTOM_ID_PREFIX}:open:"


class FormStore:
    """Forms shown to users, by token, for FORM_LIFETIME seconds (at most MAX_FORMS, oldest dropped first)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._forms: OrderedDict[str, tuple[float, Form]] = OrderedDict()

    def keep(self, form: Form) -> str:
        """Keep `form` and return its token (12 characters)."""
        self._expire()
        token = secrets.token_urlsafe(9)
        self._forms[token] = (self._clock() + FORM_LIFETIME, form)
        while len(self._forms) > MAX_FORMS:
            self._forms.popitem(last=False)
        return token

    def get(self, token: str) -> Form | None:
        """The form kept under `token`, or None when it expired or was never kept here."""
        self._expire()
        kept = self._forms.get(token)
        return kept[1] if kept else None

    def drop(self, token: str) -> None:
        """Forget a form once it has been answered, so a second submission cannot act on it again."""
        self._forms.pop(token, None)

    def _expire(self) -> None:
        now = self._clock()
        while self._forms and next(iter(self._forms.values()))[0] <= now:
            self._forms.popitem(last=False)


def modal(form: Form, token: str) -> discord.ui.Modal:
    """The form as a modal of at most five text inputs, each with its field's name as custom_id.

    Discord's modals take text only: a date says its format and a choice lists its options as placeholder.
    Stopped before it is sent, so discord.py keeps no listening copy: submissions reach the client's
    `on_interaction` by custom_id, whichever process or view sent the modal.
    """
    view = discord.ui.Modal(title=clip(form.title, MODAL_TITLE_LIMIT), custom_id=MODAL_PREFIX + token)
    for f in form.fields[:MAX_INPUTS]:
        placeholder = f.hint
        if f.kind is FieldKind.CHOICE and f.choices:
            placeholder = ", ".join(value for value, _ in f.choices if value)
        elif f.kind is FieldKind.DATE and not placeholder:
            placeholder = "YYYY-MM-DD"
        limit = min(f.max_length or INPUT_VALUE_LIMIT, INPUT_VALUE_LIMIT)
        view.add_item(
            discord.ui.TextInput(
                label=clip(f.label, INPUT_LABEL_LIMIT),
                custom_id=f.name,
                style=discord.TextStyle.paragraph if f.kind is FieldKind.LONG else discord.TextStyle.short,
                required=f.required,
                default=f.value[:limit] or None,
                placeholder=clip(placeholder, INPUT_PLACEHOLDER_LIMIT) or None,
                max_length=limit,
            )
        )
    view.stop()
    return view


def submitted_values(data: dict[str, Any]) -> dict[str, str]:
    """A modal submission's values by field name, from its action rows (or labelled components)."""
    values: dict[str, str] = {}
    for row in data.get("components") or []:
        children = row.get("components") or ([row["component"]] if "component" in row else [])
        for child in children:
            if "custom_id" in child:
                values[str(child["custom_id"])] = str(child.get("value") or "")
    return values


def refilled(form: Form, values: dict[str, str]) -> Form:
    """`form` with the values just submitted, to show it again after a refusal."""
    fields = tuple(dataclasses.replace(f, value=values.get(f.name, f.value)) for f in form.fields)
    return dataclasses.replace(form, fields=fields)
