"""Render the core's neutral `Reply` as a Discord message: content, embeds, buttons and the ephemeral flag.

Pure functions only: no client, no network. Every limit Discord enforces is respected here by truncating
with "…", so a long quote or a crowded list can never make Discord reject the whole message.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

import discord

from bot.i18n import N_, Messages, messages
from bot.replies import NO_QUOTE, Action, ActionKind, Attachment, Level, ListItem, QuoteCard, Reply, SourceRef

# Discord's documented limits (developers/resources/message.mdx).
CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FIELD_COUNT_LIMIT = 25
FOOTER_LIMIT = 2048
# An attachment's description (its alt text) holds at most this many characters.
ATTACHMENT_DESCRIPTION_LIMIT = 1024
EMBED_COUNT_LIMIT = 10
EMBEDS_TOTAL_LIMIT = 6000
BUTTON_LABEL_LIMIT = 80
CUSTOM_ID_LIMIT = 100
EPHEMERAL = 64

ELLIPSIS = "…"
# A calm blue for cards, red only when the reply is an error.
CARD_COLOUR = 0x3B5BA5
ERROR_COLOUR = 0xC0392B

# custom_id of a button: "pledgebot:<kind>:<command text>". Stateless, so buttons keep working after restarts.
CUSTOM_ID_PREFIX = "pledgebot"

# Field names are the adapter's; every sentence inside them comes from the core's reply model.
SAID_ON, SPEAKER, SOURCE, STATUS = N_("Said on"), N_("Speaker"), N_("Source"), N_("Status")
MORE_NOT_SHOWN = N_("({n} more not shown)")
# Every character `discord.utils.escape_markdown` can act on: its markdown characters and the first
# character of its line patterns (">", "#", "-", "[...](...)"). A URL alone is kept as it is. Text without
# any of them comes back unchanged, so it need not go through the escaping regex at all.
_MARKDOWN_TRIGGERS = re.compile(r"[_\\~|*`>#\-\[]")


@dataclass(frozen=True)
class ButtonSpec:
    """A button to attach: its label, stateless custom_id and style."""

    label: str
    custom_id: str
    style: discord.ButtonStyle = discord.ButtonStyle.secondary

    def to_dict(self) -> dict[str, Any]:
        """The button as Discord's component JSON."""
        return {"type": 2, "style": self.style.value, "label": self.label, "custom_id": self.custom_id}


@dataclass
class Rendered:
    """A Discord message ready to send: keyword arguments for discord.py plus the exact wire payload."""

    content: str = ""
    embeds: list[discord.Embed] = field(default_factory=list)
    buttons: list[ButtonSpec] = field(default_factory=list)
    ephemeral: bool = True
    # Files sent with the message (a quote card's image), shown in the first embed.
    files: list[Attachment] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        """The message body as Discord receives it (embeds via `Embed.to_dict()`)."""
        row = {"type": 1, "components": [b.to_dict() for b in self.buttons]}
        body: dict[str, Any] = {
            "content": self.content,
            "embeds": [e.to_dict() for e in self.embeds],
            "components": [row] if self.buttons else [],
        }
        if self.files:
            body["attachments"] = [
                {"id": n, "filename": f.name, "description": f.description[:ATTACHMENT_DESCRIPTION_LIMIT]}
                for n, f in enumerate(self.files)
            ]
        if self.ephemeral:
            body["flags"] = EPHEMERAL
        return body


def size(text: str) -> int:
    """Length as Discord may count it: UTF-16 code units, never fewer than code points."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` (UTF-16 units), ending in "…" when anything was cut."""
    if size(text) <= limit:
        return text
    out = []
    used = 0
    for ch in text:
        n = size(ch)
        if used + n > limit - 1:
            break
        out.append(ch)
        used += n
    # A dangling backslash would escape the ellipsis.
    return "".join(out).rstrip().rstrip("\\") + ELLIPSIS


def _escape(text: str) -> str:
    # The speaker's words are shown verbatim: escape markdown so `*` or `_` in a quote is not formatting.
    if _MARKDOWN_TRIGGERS.search(text) is None:
        return text
    return discord.utils.escape_markdown(text)


def block_quote(text: str) -> str:
    """`text` as a Discord block quote, every line prefixed with "> "."""
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines() or [""])


def source_text(src: SourceRef, m: Messages | None = None) -> str:
    """Headline (linked when there is a URL), then outlet and publication time."""
    m = m or messages()
    headline = _escape(src.headline)
    if src.url:
        headline = f"[{headline}]({src.url})"
    published = m.gettext("{outlet}, published {date}").format(
        outlet=_escape(src.outlet), date=src.published_text(m)
    )
    return f"{headline}\n{published}"


def card_embed(card: QuoteCard, m: Messages | None = None) -> discord.Embed:
    """One quote card as an embed: title, the quote as a block quote (the query's words in bold), date,
    speaker, source and status; a pledge without a quote shows its summary and says so."""
    m = m or messages()
    if card.has_quote and card.paraphrase:
        # Reported speech, in plain text: a block quote would present it as the speaker's own words.
        description = _escape(card.reported(m))
    elif card.has_quote:
        text = "".join(
            f"**{_escape(t)}**" if bold and t.strip() else _escape(t) for t, bold in card.segments()
        )
        description = block_quote(text)
    else:
        summary = f"{_escape(card.summary)}\n\n" if card.summary else ""
        description = summary + f"*{m.gettext(NO_QUOTE)}*"
    if card.more_quotes:
        description += f"\n{card.more_text(m)}"
    embed = discord.Embed(
        title=clip(card.title, TITLE_LIMIT),
        description=clip(description, DESCRIPTION_LIMIT),
        colour=CARD_COLOUR,
        # The title links to the pledge's page on the public site when there is one, else to the source.
        url=card.link or (card.source.url if card.source else None) or None,
    )
    fields = [
        *([(SAID_ON, m.date(card.said_on), True)] if card.said_on else []),
        (SPEAKER, _escape(card.speaker), True),
        *([(SOURCE, source_text(card.source, m), False)] if card.source is not None else []),
        (STATUS, _escape(card.status.describe(m)), False),
    ]
    for name, value, inline in fields:
        embed.add_field(name=m.gettext(name), value=clip(value, FIELD_VALUE_LIMIT), inline=inline)
    footer = " · ".join(filter(None, (card.title_note(m), card.translation_note(m))))
    if footer:
        embed.set_footer(text=clip(footer, FOOTER_LIMIT))
    return embed


def item_line(item: ListItem, m: Messages | None = None) -> str:
    """One list entry as a markdown line: date, bold label, detail."""
    parts = []
    if item.date:
        parts.append(f"`{(m or messages()).date(item.date)}`")
    # A person is a mention, which Discord shows as their name (messages are sent with no pings).
    parts.append(f"<@{item.user}>" if item.user else f"**{_escape(item.label)}**")
    if item.detail:
        parts.append(f"— {_escape(item.detail)}")
    return "• " + " ".join(parts)


def items_embed(title: str, items: list[ListItem], m: Messages | None = None) -> discord.Embed:
    """A list reply as one embed; lines that do not fit are summarised as "…"."""
    lines: list[str] = []
    used = 0
    for item in items:
        line = clip(item_line(item, m), DESCRIPTION_LIMIT - 2)
        cost = size(line) + (1 if lines else 0)
        if used + cost > DESCRIPTION_LIMIT - 2:
            lines.append(ELLIPSIS)
            break
        lines.append(line)
        used += cost
    return discord.Embed(
        title=clip(title, TITLE_LIMIT) if title else None, description="\n".join(lines), colour=CARD_COLOUR
    )


def split_digest(reply: Reply) -> list[Reply]:
    """A digest cut into as many messages as its items need, so that none is dropped or shortened to "…".

    Each part's list fits one embed description with room to spare (the footer key and the title go
    elsewhere), so every part renders whole; with more than one part the titles are numbered "(1/3)".
    """
    if not reply.items:
        return [reply]
    m = reply.messages
    room = DESCRIPTION_LIMIT - 2
    chunks: list[list[ListItem]] = [[]]
    used = 0
    for item in reply.items:
        cost = size(clip(item_line(item, m), room)) + 1
        if chunks[-1] and used + cost > room:
            chunks.append([])
            used = 0
        chunks[-1].append(item)
        used += cost
    if len(chunks) == 1:
        return [reply]
    total = len(chunks)
    return [
        dataclasses.replace(
            reply,
            title=f"{reply.title} ({n}/{total})",
            items=chunk,
            notices=reply.notices if n == 1 else [],
            actions=reply.actions if n == total else [],
        )
        for n, chunk in enumerate(chunks, start=1)
    ]


def custom_id(action: Action) -> str | None:
    """The button custom_id for an action, or None when its command does not fit in 100 characters."""
    value = f"{CUSTOM_ID_PREFIX}:{action.kind.value}:{action.command}"
    # Truncating the command would silently change what the button does, so an oversize one gets no button.
    return value if len(value) <= CUSTOM_ID_LIMIT else None


def parse_custom_id(value: str) -> tuple[ActionKind, str] | None:
    """The action kind and command encoded in a button's custom_id, or None if it is not one of ours."""
    prefix, _, rest = value.partition(":")
    kind, _, command = rest.partition(":")
    if prefix != CUSTOM_ID_PREFIX or not command:
        return None
    try:
        return ActionKind(kind), command
    except ValueError:
        return None


def buttons(actions: list[Action]) -> list[ButtonSpec]:
    """Buttons for the reply's actions (at most five, Discord's action-row width).

    A user picker is left out: Discord commands that take a person (`/desk editors add:`) have Discord's own
    member picker as an option, so the command is where people are picked.
    """
    out = []
    for action in actions:
        if action.kind is ActionKind.PICK_USER:
            continue
        cid = custom_id(action)
        if cid is None:
            continue
        share = action.kind is ActionKind.SHARE
        style = discord.ButtonStyle.primary if share else discord.ButtonStyle.secondary
        out.append(ButtonSpec(label=clip(action.label, BUTTON_LABEL_LIMIT), custom_id=cid, style=style))
    return out[:5]


def key_footer(key: str) -> str:
    """The footer text that tags a scheduled digest with its key, so a retry can find it in the channel."""
    return f"pledgebot · {key}"


def _fit_embeds(embeds: list[discord.Embed], reserve: int = 0) -> tuple[list[discord.Embed], int]:
    """Keep embeds while the message stays within 10 embeds and 6000 characters; also count the dropped.

    `reserve` characters are kept free (a digest key's footer, added afterwards).
    """
    kept: list[discord.Embed] = []
    total = reserve
    for embed in embeds[:EMBED_COUNT_LIMIT]:
        n = _embed_size(embed)
        if total + n > EMBEDS_TOTAL_LIMIT:
            room = EMBEDS_TOTAL_LIMIT - total - (n - size(embed.description or ""))
            # Shorten the quote of the first embed that does not fit, if enough room remains to be useful.
            if room >= 200 and embed.description:
                embed.description = clip(embed.description, room)
                kept.append(embed)
            break
        kept.append(embed)
        total += n
    return kept, len(embeds) - len(kept)


def _embed_size(embed: discord.Embed) -> int:
    total = size(embed.title or "") + size(embed.description or "")
    for f in embed.fields:
        total += size(f.name or "") + size(f.value or "")
    if embed.footer.text:
        total += size(embed.footer.text)
    return total


def render(reply: Reply, shared_by: int | None = None, key: str | None = None) -> Rendered:
    """Translate a `Reply` into a Discord message; `shared_by` (a user id) renders a public shared card.

    `key` (a scheduled digest's key) goes in the last embed's footer, where a retry looks for it.
    """
    m = reply.messages
    embeds = [card_embed(c, m) for c in reply.cards]
    if reply.items:
        embeds.append(items_embed(reply.title, reply.items, m))
    footer = key_footer(key) if key is not None else ""
    # Room for the footer, and for " · " when it joins a footer the last embed already has.
    embeds, dropped = _fit_embeds(embeds, reserve=size(footer) + 3 if footer else 0)
    if footer:
        if not embeds:
            embeds.append(discord.Embed(colour=CARD_COLOUR))
        last = embeds[-1]
        text = f"{last.footer.text} · {footer}" if last.footer.text else footer
        last.set_footer(text=text if size(text) <= FOOTER_LIMIT else footer)

    lines = []
    if shared_by is not None:
        lines.append(m.gettext("Shared by {user}").format(user=f"<@{shared_by}>"))
    elif reply.title and not reply.items:
        lines.append(f"**{_escape(reply.title)}**")
    for notice in reply.notices:
        lines.append(f"⚠️ {notice.text}" if notice.level is Level.ERROR else notice.text)
    if dropped:
        lines.append(m.gettext(MORE_NOT_SHOWN).format(n=dropped))
    content = clip("\n".join(lines), CONTENT_LIMIT)

    files = list(reply.files)
    if files and embeds:
        # The card's image inside its embed, from the attachment sent with the message.
        embeds[0].set_image(url=f"attachment://{files[0].name}")
    if shared_by is not None:
        # A shared card is a public copy: no further buttons, never ephemeral.
        return Rendered(content=content, embeds=embeds, buttons=[], ephemeral=False, files=files)
    ephemeral = reply.private or reply.is_error
    if reply.is_error:
        for embed in embeds:
            embed.colour = discord.Colour(ERROR_COLOUR)
    # A line's own button (e.g. "Remove" beside an editor) joins the reply's buttons, named after its line.
    line_actions = [
        dataclasses.replace(i.action, label=f"{i.action.label} {i.label}") for i in reply.items if i.action
    ]
    return Rendered(
        content=content,
        embeds=embeds,
        buttons=buttons(reply.actions + line_actions),
        ephemeral=ephemeral,
        files=files,
    )
