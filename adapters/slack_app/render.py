"""Render the core's `Reply` as a Slack Block Kit message: pure functions, no I/O.

Every payload produced here is valid whatever the data: Block Kit rejects a whole message when one limit is
exceeded, so text is cut with "…" and surplus blocks are dropped with a note rather than risking an error.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from bot.i18n import N_, Messages, language_of, messages
from bot.replies import (
    NO_QUOTE,
    Action,
    ActionKind,
    FieldKind,
    Form,
    FormField,
    Level,
    ListItem,
    Notice,
    QuoteCard,
    Reply,
    SourceRef,
)

# Limits from docs.slack.dev/reference/block-kit (mirrored in slack_sdk/models/blocks/blocks.py).
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_BUTTONS = 25
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
# Slack truncates longer fallbacks; notifications show far less, so keep the fallback short.
MAX_FALLBACK_TEXT = 3000
# Item sections per part of a digest split over several messages: with the header, the notices (at most a
# few) and an actions block, a part stays well within MAX_BLOCKS.
MAX_PART_SECTIONS = 40

# Modals (docs.slack.dev/reference/views/modal-views, .../block-kit/block-elements).
MAX_VIEW_TITLE = 24
MAX_VIEW_BUTTON = 24
MAX_VIEW_BLOCKS = 100
MAX_PRIVATE_METADATA = 3000
MAX_INPUT_LABEL = 2000
MAX_INPUT_HINT = 2000
MAX_PLAIN_TEXT_INPUT = 3000
MAX_OPTIONS = 100
MAX_OPTION_TEXT = 75
MAX_BLOCK_ID = 255

MORE_ACTION_ID = "pledge_more"
SHARE_ACTION_ID = "pledge_share"
IMAGE_ON_SHARE = N_("Share in channel to post the card's image there.")
RUN_ACTION_ID = "pledge_run"
PICK_ACTION_ID = "pledge_pick"
# Block Kit requires action_ids to be unique within a message, so buttons get a numeric suffix.
ACTION_ID_PATTERN = re.compile(
    rf"^({MORE_ACTION_ID}|{SHARE_ACTION_ID}|{RUN_ACTION_ID}|{PICK_ACTION_ID})(_\d+)?$"
)
# A user picker has no value of its own: the command it completes travels in its block's id.
PICK_BLOCK_PREFIX = "pledge_pick:"
# The callback_id of every form the core asks for; its form name and state travel in private_metadata.
FORM_CALLBACK_ID = "pledge_form"
# The one input element of each input block; its block_id is the field's name.
INPUT_ACTION_ID = "value"
CHECKING = N_("Checking the source…")
CHECKING_DETAIL = N_("Fetching the page and looking for the words; this can take a few seconds.")
CLOSE = N_("Close")

ELLIPSIS = "…"
_LEVEL_PREFIX = {Level.INFO: "", Level.WARNING: ":warning: ", Level.ERROR: ":x: "}


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as markup (&, <, >)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Undo, once, the escaping Slack applies to text users type (&amp;, &lt;, &gt;): the inverse of `escape`.

    `&amp;` goes last, so that "&amp;lt;" (a user who typed "&lt;") becomes "&lt;", not "<".
    """
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def truncate(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters, ending in "…", without splitting an &entity;."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    amp = cut.rfind("&")
    # An escaped entity is at most 5 characters ("&amp;"); a cut inside one would show a stray "&am".
    if amp != -1 and amp >= len(cut) - 5 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + ELLIPSIS


def render(reply: Reply, *, shared_by: str | None = None) -> dict[str, Any]:
    """Render a reply as a message payload: text fallback, blocks and response_type."""
    public = shared_by is not None or not reply.private
    m = reply.messages
    blocks: list[dict[str, Any]] = []
    if shared_by is not None:
        blocks.append(_context([m.gettext("Shared by {user}").format(user=f"<@{escape(shared_by)}>")]))
    if _one_line(reply.title):
        blocks.append(_header(reply.title))
    for index, card in enumerate(reply.cards):
        if index:
            blocks.append({"type": "divider"})
        blocks.extend(_card(card, m))
    blocks.extend(_items(reply.items, m))
    blocks.extend(_notice(n) for n in reply.notices if n.text.strip())
    if reply.files and not public:
        # Uploads are public: a private answer's image reaches the channel only when the card is shared.
        blocks.append(_context([escape(m.gettext(IMAGE_ON_SHARE))]))
    # A share button on a message everyone already sees would only post a duplicate.
    actions = [a for a in reply.actions if not (public and a.kind is ActionKind.SHARE)]
    tail = [_picker(a, n) for n, a in enumerate(actions) if a.kind is ActionKind.PICK_USER]
    tail += [_actions(actions, m)] if _buttons(actions, m) else []
    fallback = _fallback(reply, shared_by, m)
    if not blocks and not tail:
        blocks.append(_section(fallback))
    blocks = _fit_blocks(blocks, tail, m)
    return {
        "text": fallback,
        "blocks": blocks,
        "response_type": "in_channel" if public else "ephemeral",
    }


def split_digest(reply: Reply) -> list[Reply]:
    """A digest cut into as many messages as its items need, so that none is dropped with "… more not shown".

    Items are packed into sections as `render` packs them (up to MAX_SECTION_TEXT characters each), and a
    part takes at most MAX_PART_SECTIONS sections. With more than one part the titles are numbered "(1/3)",
    the number kept whole when a long title is cut to the header's limit; the notices go with the first part
    and the buttons with the last.
    """
    if not reply.items:
        return [reply]
    m = reply.messages
    chunks: list[list[ListItem]] = [[]]
    sections, used = 1, 0
    for item in reply.items:
        cost = len(_item_line(item, m))
        if chunks[-1] and used + 1 + cost > MAX_SECTION_TEXT:
            sections, used = sections + 1, 0
            if sections > MAX_PART_SECTIONS:
                chunks.append([])
                sections = 1
        used = used + 1 + cost if used else cost
        chunks[-1].append(item)
    if len(chunks) == 1:
        return [reply]
    total = len(chunks)
    title = _one_line(reply.title)
    parts = []
    for n, chunk in enumerate(chunks, start=1):
        number = f" ({n}/{total})"
        parts.append(
            dataclasses.replace(
                reply,
                title=truncate(title, MAX_HEADER_TEXT - len(number)) + number,
                items=chunk,
                notices=reply.notices if n == 1 else [],
                actions=reply.actions if n == total else [],
            )
        )
    return parts


def render_error(text: str, locale: str = "en", **values: object) -> dict[str, Any]:
    """Render a private error message, for failures that never reached the core (`text` is a msgid)."""
    language = language_of(locale)
    message = messages(language).gettext(text).format(**values)
    return render(Reply(notices=[Notice(message, Level.ERROR)], language=language))


def _header(text: str) -> dict[str, Any]:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": truncate(_one_line(text), MAX_HEADER_TEXT), "emoji": True},
    }


def _section(mrkdwn: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(mrkdwn, MAX_SECTION_TEXT)}}


def _context(lines: list[str]) -> dict[str, Any]:
    return {
        "type": "context",
        "elements": [
            {"type": "mrkdwn", "text": truncate(line, MAX_SECTION_TEXT)}
            for line in lines[:MAX_CONTEXT_ELEMENTS]
        ],
    }


def _card(card: QuoteCard, m: Messages) -> list[dict[str, Any]]:
    # Title and byline are capped so that some of the quote always fits beside them.
    head = f"*{truncate(escape(_one_line(card.title)), 500)}*\n" if _one_line(card.title) else ""
    byline = f"\n— {truncate(escape(_one_line(card.attribution(m))), 400)}"
    if card.more_quotes:
        byline += f" · {escape(card.more_text(m))}"
    # The quote gives way first, so the title, speaker and date survive any length of quote.
    room = MAX_SECTION_TEXT - len(head) - len(byline)
    if card.has_quote and card.paraphrase:
        # Reported speech, in plain text: a block quote would present it as the speaker's own words.
        body = truncate(escape(card.reported(m)), room)
    elif card.has_quote:
        body = _quote(card.segments(), room)
    else:
        summary = f"{escape(card.summary)}\n" if card.summary else ""
        body = truncate(summary + f"_{escape(m.gettext(NO_QUOTE))}_", room)
    lines = ([_source_line(card.source, m)] if card.source is not None else []) + [_status_line(card, m)]
    if card.title_note(m):
        lines.append(escape(card.title_note(m)))
    if card.link:
        lines.append(m.gettext("Page: {url}").format(url=f"<{_link(card.link)}>"))
    return [_section(head + body + byline), _context(lines)]


def _quote(segments: list[tuple[str, bool]], room: int) -> str:
    """The quote as a block quote, the query's words in bold and the speaker's own text escaped around
    them, in at most `room` characters. A quote too long for its room is cut at a space, after "…",
    never inside a word, an &entity; or a bold run (which would leave a stray "*")."""
    whole = _joined(segments)
    if len(whole) <= room:
        return whole
    # The quote's words and the spaces between them, each with its emphasis, taken while they fit.
    pieces = [(p, bold) for text, bold in segments for p in re.split(r"(\s+)", text) if p]
    budget = room - len(ELLIPSIS)
    kept: list[tuple[str, bool]] = []
    used = 1
    for index, (piece, bold) in enumerate(pieces):
        # A bold run costs its two asterisks where it opens.
        opens = bold and not (index and pieces[index - 1][1])
        used += len(_LINE_BREAK.sub("\n>", escape(piece))) + 2 * opens
        if used > budget:
            # A word may span segments (bold 통신선 of 통신선이): one cut short goes whole.
            if not piece.isspace() and kept and not kept[-1][0].isspace():
                while kept and not kept[-1][0].isspace():
                    kept.pop()
            break
        kept.append((piece, bold))
    return _joined(kept).rstrip() + ELLIPSIS


def _joined(segments: list[tuple[str, bool]]) -> str:
    """Text and emphasis as a mrkdwn block quote: escaped, each bold run in one pair of asterisks with its
    surrounding white space outside them (Slack shows "* word*" as it is), every line opened by ">"."""
    out, run = "", ""
    for text, bold in [*segments, ("", False)]:
        if bold:
            run += text
            continue
        out += _bold(escape(run)) + escape(text)
        run = ""
    return ">" + _LINE_BREAK.sub("\n>", out)


# Every line of a quote starts with ">": the line breaks `str.splitlines` knows.
_LINE_BREAK = re.compile("\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


def _bold(text: str) -> str:
    """Text in mrkdwn bold: its surrounding white space stays outside the asterisks, which Slack needs."""
    stripped = text.strip()
    start = text.index(stripped[0]) if stripped else 0
    return f"{text[:start]}*{stripped}*{text[start + len(stripped) :]}" if stripped else text


def _source_line(source: SourceRef, m: Messages) -> str:
    headline = escape(_one_line(source.headline))
    if source.url:
        headline = f"<{_link(source.url)}|{headline}>"
    line = m.gettext("Source: {source}").format(source=f"{headline}, {escape(source.outlet)}")
    if source.published_at is not None:
        line += m.gettext(", published {date}").format(date=escape(source.published_text(m)))
    return line


def _link(url: str) -> str:
    # In <url|label> links, "|" and ">" would end the URL early, so they are percent-encoded.
    return url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")


def _status_line(card: QuoteCard, m: Messages) -> str:
    return m.gettext("Status: {status}").format(status=escape(card.status.describe(m)))


def _items(items: list[ListItem], m: Messages) -> list[dict[str, Any]]:
    sections: list[dict[str, Any]] = []
    chunk = ""
    for index, item in enumerate(items):
        line = _item_line(item, m)
        if item.action is not None and len(item.action.command) <= MAX_BUTTON_VALUE:
            # A line with its own button is a section of its own, the button beside it.
            if chunk:
                sections.append(_section(chunk))
                chunk = ""
            section = _section(line)
            section["accessory"] = _button(item.action, f"{RUN_ACTION_ID}_{index}", m)
            sections.append(section)
            continue
        if chunk and len(chunk) + 1 + len(line) > MAX_SECTION_TEXT:
            sections.append(_section(chunk))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    if chunk:
        sections.append(_section(chunk))
    return sections


def _item_line(item: ListItem, m: Messages) -> str:
    # A person is a mention, which Slack shows as their name; ids are capitals and digits, nothing to escape.
    label = f"<@{escape(item.user)}>" if item.user else f"*{escape(_one_line(item.label))}*"
    line = f"• {label}"
    if item.detail:
        line += f" — {escape(_one_line(item.detail))}"
    if item.date is not None:
        line += f" ({m.date(item.date)})"
    return truncate(line, MAX_SECTION_TEXT)


def _notice(notice: Notice) -> dict[str, Any]:
    return _section(_LEVEL_PREFIX[notice.level] + escape(notice.text))


_BUTTON_IDS = {
    ActionKind.MORE: MORE_ACTION_ID,
    ActionKind.SHARE: SHARE_ACTION_ID,
    ActionKind.RUN: RUN_ACTION_ID,
}


def _buttons(actions: list[Action], m: Messages) -> list[dict[str, Any]]:
    buttons: list[dict[str, Any]] = []
    for index, action in enumerate(actions):
        # A command cut short would run a different command; a button that cannot carry it is left out.
        if (
            action.kind not in _BUTTON_IDS
            or len(action.command) > MAX_BUTTON_VALUE
            or len(buttons) == MAX_BUTTONS
        ):
            continue
        buttons.append(_button(action, f"{_BUTTON_IDS[action.kind]}_{index}", m))
    return buttons


def _button(action: Action, action_id: str, m: Messages) -> dict[str, Any]:
    default = m.gettext("Share in channel") if action.kind is ActionKind.SHARE else m.gettext("More results")
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": truncate(_one_line(action.label) or default, MAX_BUTTON_TEXT)},
        "value": action.command,
    }
    if action.kind is ActionKind.SHARE:
        button["style"] = "primary"
    return button


def _picker(action: Action, index: int) -> dict[str, Any]:
    """A user picker: choosing someone runs the action's command with their user id appended."""
    return {
        "type": "actions",
        "block_id": truncate(PICK_BLOCK_PREFIX + action.command, MAX_BLOCK_ID),
        "elements": [
            {
                "type": "users_select",
                "action_id": f"{PICK_ACTION_ID}_{index}",
                "placeholder": {"type": "plain_text", "text": truncate(_one_line(action.label), 150)},
            }
        ],
    }


def _actions(actions: list[Action], m: Messages) -> dict[str, Any]:
    return {"type": "actions", "block_id": "pledge_actions", "elements": _buttons(actions, m)}


def _fit_blocks(
    blocks: list[dict[str, Any]], tail: list[dict[str, Any]], m: Messages, limit: int = MAX_BLOCKS
) -> list[dict[str, Any]]:
    if len(blocks) + len(tail) <= limit:
        return blocks + tail
    keep = limit - len(tail) - 1
    shown = blocks[:keep]
    while shown and shown[-1]["type"] == "divider":
        shown.pop()
    note = _context([m.gettext("… more not shown: this answer is longer than one Slack message.")])
    return [*shown, note, *tail]


def _fallback(reply: Reply, shared_by: str | None, m: Messages) -> str:
    parts: list[str] = []
    if shared_by is not None:
        parts.append(m.gettext("Shared by {user}:").format(user=f"<@{escape(shared_by)}>"))
    if reply.title:
        parts.append(escape(_one_line(reply.title)))
    if reply.cards:
        card = reply.cards[0]
        if card.has_quote:
            said = m.date(card.said_on) if card.said_on else ""
            parts.append(f"{escape(_one_line(card.reported(m)))} — {escape(card.speaker)}, {said}")
        else:
            parts.append(f"{escape(_one_line(card.title))}: {escape(m.gettext(NO_QUOTE))}")
    elif reply.items:
        parts.append(escape(_one_line(reply.items[0].label)))
    if reply.notices:
        parts.append(escape(_one_line(reply.notices[0].text)))
    return truncate(" ".join(p for p in parts if p) or "pledgebot", MAX_FALLBACK_TEXT)


def _one_line(text: str) -> str:
    return " ".join(text.split())


# -- modals ----------------------------------------------------------------------------------------------


def form_metadata(form: Form, channel: str) -> str:
    """What a modal carries back to the app on submission: the form's name, the core's state, and the
    channel it was opened from (where its answer goes if the modal is closed meanwhile)."""
    return json.dumps(
        {"form": form.form, "state": form.state, "channel": channel},
        ensure_ascii=False,
        separators=(",", ":"),
    )


def fits_metadata(form: Form, channel: str) -> bool:
    """True when the form's metadata fits a modal's private_metadata (3,000 characters)."""
    return len(form_metadata(form, channel)) <= MAX_PRIVATE_METADATA


def render_form(
    form: Form, m: Messages, errors: dict[str, str] | None = None, *, channel: str = ""
) -> dict[str, Any]:
    """A modal view of `form`: one input block per field (block_id = the field's name), each refused field
    followed by its error. The caller checks `fits_metadata` first: a state cut short would resume wrongly."""
    errors = errors or {}
    blocks: list[dict[str, Any]] = []
    for f in form.fields:
        blocks.append(_input(f))
        if errors.get(f.name):
            blocks.append(_field_error(f.name, errors[f.name]))
    # An error for no field of this form (the core's own) is shown above the inputs.
    general = [text for name, text in errors.items() if name not in {f.name for f in form.fields}]
    blocks[:0] = [_notice(Notice(text, Level.ERROR)) for text in general]
    return {
        "type": "modal",
        "callback_id": FORM_CALLBACK_ID,
        "title": _plain(form.title, MAX_VIEW_TITLE),
        "submit": _plain(form.submit, MAX_VIEW_BUTTON),
        "close": _plain(m.gettext(CLOSE), MAX_VIEW_BUTTON),
        "private_metadata": form_metadata(form, channel),
        "blocks": blocks[:MAX_VIEW_BLOCKS],
    }


def checking_view(title: str, m: Messages) -> dict[str, Any]:
    """The view a submission is answered with at once, while the core checks the source."""
    return {
        "type": "modal",
        "callback_id": FORM_CALLBACK_ID,
        "title": _plain(title, MAX_VIEW_TITLE),
        "close": _plain(m.gettext(CLOSE), MAX_VIEW_BUTTON),
        "blocks": [
            _section(f"*{escape(m.gettext(CHECKING))}*"),
            _context([escape(m.gettext(CHECKING_DETAIL))]),
        ],
    }


def result_view(title: str, reply: Reply) -> dict[str, Any]:
    """The outcome of a submission as a modal: the reply's blocks without its buttons, which in a modal would
    have no message to answer in."""
    m = reply.messages
    blocks = [b for b in render(reply)["blocks"] if b["type"] != "actions" and "accessory" not in b]
    return {
        "type": "modal",
        "callback_id": FORM_CALLBACK_ID,
        "title": _plain(title, MAX_VIEW_TITLE),
        "close": _plain(m.gettext(CLOSE), MAX_VIEW_BUTTON),
        "blocks": _fit_blocks(blocks, [], m, MAX_VIEW_BLOCKS),
    }


def submitted_values(view: dict[str, Any]) -> dict[str, str]:
    """The values of a submitted view's inputs by field name, as text ("" for an empty optional field)."""
    values: dict[str, str] = {}
    for name, actions in ((view.get("state") or {}).get("values") or {}).items():
        element = (actions or {}).get(INPUT_ACTION_ID) or {}
        option = element.get("selected_option") or {}
        value = element.get("value") or element.get("selected_date") or option.get("value") or ""
        values[str(name)] = str(value)
    return values


def _input(f: FormField) -> dict[str, Any]:
    element: dict[str, Any] = {"action_id": INPUT_ACTION_ID}
    if f.kind is FieldKind.DATE:
        element["type"] = "datepicker"
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", f.value):
            element["initial_date"] = f.value
    elif f.kind is FieldKind.CHOICE and any(value for value, _ in f.choices):
        # Slack's option values are 1 to 150 characters: the empty choice ("none of these") is an optional
        # select left empty, which submits nothing, as the core expects. (A choice of nothing else is a
        # text input, below: a select needs an option.)
        options = [_option(value, label) for value, label in f.choices if value][:MAX_OPTIONS]
        element.update(type="static_select", options=options)
        chosen = [o for o in options if o["value"] == f.value]
        if chosen:
            element["initial_option"] = chosen[0]
    else:
        element["type"] = "url_text_input" if f.kind is FieldKind.URL else "plain_text_input"
        if f.kind is not FieldKind.URL:
            element["multiline"] = f.kind is FieldKind.LONG
            element["max_length"] = min(f.max_length or MAX_PLAIN_TEXT_INPUT, MAX_PLAIN_TEXT_INPUT)
        if f.value:
            element["initial_value"] = f.value[:MAX_PLAIN_TEXT_INPUT]
    block: dict[str, Any] = {
        "type": "input",
        "block_id": f.name,
        "label": _plain(f.label, MAX_INPUT_LABEL),
        "element": element,
        "optional": not f.required,
    }
    if f.hint:
        block["hint"] = _plain(f.hint, MAX_INPUT_HINT)
    return block


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": _plain(label, MAX_OPTION_TEXT), "value": value}


def _field_error(name: str, text: str) -> dict[str, Any]:
    return {
        "type": "context",
        "block_id": f"error:{name}"[:MAX_BLOCK_ID],
        "elements": [{"type": "mrkdwn", "text": truncate(":x: " + escape(text), MAX_SECTION_TEXT)}],
    }


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(_one_line(text) or "pledgebot", limit), "emoji": True}


def view_with_errors(view: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """The submitted modal shown again, as the user filled it in, each refused field followed by its error.

    For a refusal that comes without a new form: the submitted view is the form as rendered, so nothing
    needs to be rebuilt. Its earlier errors are dropped first.
    """
    values = submitted_values(view)
    blocks: list[dict[str, Any]] = []
    names = {b.get("block_id") for b in view.get("blocks") or [] if b.get("type") == "input"}
    general = [text for name, text in errors.items() if name not in names]
    blocks += [_notice(Notice(text, Level.ERROR)) for text in general]
    for block in view.get("blocks") or []:
        if block.get("type") != "input":
            if not str(block.get("block_id", "")).startswith("error:") and block.get("type") != "section":
                blocks.append(block)
            continue
        name = str(block.get("block_id", ""))
        block = {**block, "element": _refilled(block.get("element") or {}, values.get(name, ""))}
        blocks.append(block)
        if errors.get(name):
            blocks.append(_field_error(name, errors[name]))
    kept = ("type", "callback_id", "title", "submit", "close", "private_metadata")
    return {**{k: view[k] for k in kept if k in view}, "blocks": blocks[:MAX_VIEW_BLOCKS]}


def _refilled(element: dict[str, Any], value: str) -> dict[str, Any]:
    element = {
        k: v for k, v in element.items() if k not in ("initial_value", "initial_date", "initial_option")
    }
    if not value:
        return element
    if element.get("type") == "datepicker":
        element["initial_date"] = value
    elif element.get("type") == "static_select":
        chosen = [o for o in element.get("options") or [] if o.get("value") == value]
        if chosen:
            element["initial_option"] = chosen[0]
    else:
        element["initial_value"] = value
    return element
