"""Reply model to plain text for a terminal or a pipe."""

from __future__ import annotations

import unicodedata

from bot.i18n import N_
from bot.replies import NO_QUOTE, Level, Reply

WIDTH = 100
_MARKS = {Level.INFO: "", Level.WARNING: N_("Warning: "), Level.ERROR: N_("Sorry: ")}


def render(reply: Reply) -> str:
    """The whole reply as plain text lines, quotes verbatim and unwrapped."""
    m = reply.messages
    lines: list[str] = []
    if reply.title:
        lines += [reply.title, "=" * min(_columns(reply.title), WIDTH)]
    for notice in reply.notices:
        if notice.level is not Level.INFO:
            lines.append(m.gettext(_MARKS[notice.level]) + notice.text)
    for card in reply.cards:
        lines += ["", f"{card.title}  [{card.pledge_id}]"]
        if card.title_note(m):
            lines.append(f"  ({card.title_note(m)})")
        if card.summary and not card.has_quote:
            lines.append(f"  {card.summary}")
        # The quote is printed on one line, exactly as stored, so it can be copied letter for letter.
        lines.append(f"  {card.reported(m)}" if card.has_quote else "  " + m.gettext(NO_QUOTE))
        lines.append(f"  — {card.attribution(m)}")
        if card.more_quotes:
            lines.append(f"  ({card.more_text(m)}: /pledge show {card.pledge_id})")
        if card.source is not None:
            lines.append("  " + m.gettext("Source: {source}").format(source=card.source.describe(m)))
        lines.append("  " + m.gettext("Status: {status}").format(status=card.status.describe(m)))
        if card.source is not None and card.source.url:
            lines.append("  " + m.gettext("Link: {url}").format(url=card.source.url))
        if card.link:
            lines.append("  " + m.gettext("Page: {url}").format(url=card.link))
    if reply.items:
        lines.append("")
    for item in reply.items:
        date = f"{m.date(item.date)}  " if item.date else ""
        lines.append(f"- {date}{item.label}")
        if item.detail:
            # Not wrapped: a detail may hold a quote, which must stay copyable letter for letter.
            lines.append(f"    {item.detail}")
    for notice in reply.notices:
        if notice.level is Level.INFO:
            lines += ["", notice.text]
    if reply.actions:
        lines.append("")
        lines += [f"({action.label}: /pledge {action.command})" for action in reply.actions]
    return "\n".join(lines).strip("\n")


def _columns(text: str) -> int:
    """How many terminal columns `text` takes: Hangul and other wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
