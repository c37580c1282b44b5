"""Render the core's `Reply` as a Slack Block Kit message: pure functions, no I/O.

Every payload produced here is valid whatever the data: Block Kit rejects a whole message when one limit is
exceeded, so text is cut with "…" and surplus blocks are dropped with a note rather than risking an error.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from bot.i18n import N_, Messages, language_of, messages
from bot.replies import NO_QUOTE, Action, ActionKind, Level, ListItem, Notice, QuoteCard, Reply

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

MORE_ACTION_ID = "pledge_more"
SHARE_ACTION_ID = "pledge_share"
IMAGE_ON_SHARE = N_("Share in channel to post the card's image there.")
# Block Kit requires action_ids to be unique within a message, so buttons get a numeric suffix.
ACTION_ID_PATTERN = re.compile(rf"^({MORE_ACTION_ID}|{SHARE_ACTION_ID})(_\d+)?$")

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
    tail = [_actions(actions, m)] if _buttons(actions, m) else []
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
    if card.has_quote:
        body = _quote(card.segments(), room)
    else:
        summary = f"{escape(card.summary)}\n" if card.summary else ""
        body = truncate(summary + f"_{escape(m.gettext(NO_QUOTE))}_", room)
    lines = ([_source_line(card, m)] if card.source is not None else []) + [_status_line(card, m)]
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
    kept, used = [], 1
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


def _source_line(card: QuoteCard, m: Messages) -> str:
    source = card.source
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
    for item in items:
        line = _item_line(item, m)
        if chunk and len(chunk) + 1 + len(line) > MAX_SECTION_TEXT:
            sections.append(_section(chunk))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    if chunk:
        sections.append(_section(chunk))
    return sections


def _item_line(item: ListItem, m: Messages) -> str:
    line = f"• *{escape(_one_line(item.label))}*"
    if item.detail:
        line += f" — {escape(_one_line(item.detail))}"
    if item.date is not None:
        line += f" ({m.date(item.date)})"
    return truncate(line, MAX_SECTION_TEXT)


def _notice(notice: Notice) -> dict[str, Any]:
    return _section(_LEVEL_PREFIX[notice.level] + escape(notice.text))


def _buttons(actions: list[Action], m: Messages) -> list[dict[str, Any]]:
    buttons: list[dict[str, Any]] = []
    for index, action in enumerate(actions):
        # A command cut short would run a different command; a button that cannot carry it is left out.
        if len(action.command) > MAX_BUTTON_VALUE or len(buttons) == MAX_BUTTONS:
            continue
        base = MORE_ACTION_ID if action.kind is ActionKind.MORE else SHARE_ACTION_ID
        default = (
            m.gettext("More results") if action.kind is ActionKind.MORE else m.gettext("Share in channel")
        )
        button: dict[str, Any] = {
            "type": "button",
            "action_id": f"{base}_{index}",
            "text": {
                "type": "plain_text",
                "text": truncate(_one_line(action.label) or default, MAX_BUTTON_TEXT),
            },
            "value": action.command,
        }
        if action.kind is ActionKind.SHARE:
            button["style"] = "primary"
        buttons.append(button)
    return buttons


def _actions(actions: list[Action], m: Messages) -> dict[str, Any]:
    return {"type": "actions", "block_id": "pledge_actions", "elements": _buttons(actions, m)}


def _fit_blocks(
    blocks: list[dict[str, Any]], tail: list[dict[str, Any]], m: Messages
) -> list[dict[str, Any]]:
    if len(blocks) + len(tail) <= MAX_BLOCKS:
        return blocks + tail
    keep = MAX_BLOCKS - len(tail) - 1
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
            parts.append(f"“{escape(_one_line(card.quote))}” — {escape(card.speaker)}, {said}")
        else:
            parts.append(f"{escape(_one_line(card.title))}: {escape(m.gettext(NO_QUOTE))}")
    elif reply.items:
        parts.append(escape(_one_line(reply.items[0].label)))
    if reply.notices:
        parts.append(escape(_one_line(reply.notices[0].text)))
    return truncate(" ".join(p for p in parts if p) or "pledgebot", MAX_FALLBACK_TEXT)


def _one_line(text: str) -> str:
    return " ".join(text.split())
