"""Quote cards: one quote of a pledge as a PNG image, for chat uploads, the console and the site's Open Graph.

Drawn with Pillow in Noto Sans CJK KR (OFL, subset to Latin and Hangul, kept in `bot/fonts/` with its
licence), so Korean and English cards render the same on every host with no system fonts. Text is wrapped at
spaces, never inside a word: the card grows to fit, and a quote too long even for the tallest card is cut at
a word boundary, ends with "…" and the card says that it was shortened and where the whole quote is.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from bot import statuses
from bot.i18n import N_, Messages
from bot.replies import NO_QUOTE, QuoteCard

FONTS = Path(__file__).parent / "fonts"
REGULAR = FONTS / "NotoSansCJKkr-Regular-subset.otf"
BOLD = FONTS / "NotoSansCJKkr-Bold-subset.otf"
# The Open Graph image size sites and chat previews expect; the card only ever grows taller.
WIDTH = 1200
MIN_HEIGHT = 630
MAX_HEIGHT = 1800
MARGIN = 72
INK = (17, 24, 39)
MUTED = (55, 65, 81)
PAPER = (255, 255, 255)
SHORTENED = N_("Quote shortened; the whole quote: {where}")
SHORTENED_NOWHERE = N_("Quote shortened.")
MIME = "image/png"


@dataclass(frozen=True)
class _Style:
    font: ImageFont.FreeTypeFont
    fill: tuple[int, int, int]
    leading: int


def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size)


def wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """`text` as lines no wider than `width`, broken only at spaces (and at its own line breaks).

    A single word wider than a whole line (a long URL) is the one thing split between letters.
    """
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if font.getlength(candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = word
            while font.getlength(line) > width:
                cut = max(1, _fits(line, font, width))
                lines.append(line[:cut])
                line = line[cut:]
        lines.append(line)
    return lines


def _fits(text: str, font: ImageFont.FreeTypeFont, width: int) -> int:
    """How many leading characters of `text` fit in `width`."""
    n = 0
    while n < len(text) and font.getlength(text[: n + 1]) <= width:
        n += 1
    return n


def _elide(lines: list[str], keep: int, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """The first `keep` lines, the last ending in "…" after a whole word."""
    kept = lines[:keep]
    last = kept[-1]
    while last and font.getlength(last + " …") > width:
        last = last.rsplit(" ", 1)[0] if " " in last else ""
    kept[-1] = f"{last} …" if last else "…"
    return kept


Block = tuple[_Style, list[str], int]


def layout(card: QuoteCard, m: Messages, *, where: str = "") -> list[Block]:
    """The card's lines, top to bottom, as (style, lines, gap after) blocks: title, the quote, a note when the
    quote was shortened (naming `where` the whole quote is: the pledge's page, or nothing without one), the
    speaker and date, source, status and the pledge's address."""
    inner = WIDTH - 2 * MARGIN - 24
    title = _Style(_font(BOLD, 38), INK, 52)
    quote = _Style(_font(REGULAR, 44), INK, 64)
    small = _Style(_font(REGULAR, 26), MUTED, 38)
    byline = _Style(_font(BOLD, 30), INK, 44)

    blocks: list[Block] = [(title, wrap(card.title, title.font, inner), 28)]
    note = ""
    if card.has_quote:
        quote_lines = wrap(card.reported(m), quote.font, inner)
    else:
        quote_lines = wrap(card.summary or m.gettext(NO_QUOTE), quote.font, inner)
    details = [f"— {card.attribution(m)}"]
    below: list[Block] = [(byline, wrap(details[0], byline.font, inner), 20)]
    if card.source is not None:
        source = m.gettext("Source: {source}").format(source=card.source.describe(m))
        below.append((small, wrap(source, small.font, inner), 8))
    # An image is not a chat: it names no command, only the pledge's address when there is one.
    status = m.gettext("Status: {status}").format(status=card.status.describe(m, chat=False))
    below.append((small, wrap(status, small.font, inner), 8))
    footer = f"pledgebot · {card.link or card.pledge_id}"
    below.append((small, wrap(footer, small.font, inner), 0))

    def height(quote_count: int, with_note: bool) -> int:
        # MARGIN above and below, the quote's lines and gap, every other block and the note when there is one.
        total = MARGIN * 2 + quote_count * quote.leading + 36
        total += sum(len(lines) * style.leading + gap for style, lines, gap in [*blocks, *below])
        return total + (small.leading * 2 if with_note else 0)

    if height(len(quote_lines), False) > MAX_HEIGHT:
        room = len(quote_lines)
        while room > 1 and height(room, True) > MAX_HEIGHT:
            room -= 1
        quote_lines = _elide(quote_lines, room, quote.font, inner)
        where = where or card.link
        note = m.gettext(SHORTENED).format(where=where) if where else m.gettext(SHORTENED_NOWHERE)
    if note:
        below.insert(0, (small, wrap(note, small.font, inner), 12))
    blocks.append((quote, quote_lines, 36))
    blocks.extend(below)
    return blocks


def render_card(card: QuoteCard, m: Messages, *, where: str = "") -> bytes:
    """The card as PNG bytes: title, the exact quote, speaker and date, source, status, in `m`'s language."""
    blocks = layout(card, m, where=where)
    image_height = max(MIN_HEIGHT, sum(len(ls) * st.leading + gap for st, ls, gap in blocks) + 2 * MARGIN)
    image = Image.new("RGB", (WIDTH, image_height), PAPER)
    draw = ImageDraw.Draw(image)
    colour = statuses.COLOURS.get(card.status.label, statuses.COLOURS[statuses.UNRATED])
    draw.rectangle((0, 0, 16, image_height), fill=colour)
    y = MARGIN
    for style, lines, gap in blocks:
        for line in lines:
            draw.text((MARGIN + 24, y), line, font=style.font, fill=style.fill)
            y += style.leading
        y += gap
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def card_text(card: QuoteCard, m: Messages) -> str:
    """Everything the card writes, for alt text and for checking that the font has every glyph."""
    parts = [card.title, card.reported(m) if card.has_quote else card.summary, card.attribution(m)]
    if card.source is not None:
        parts.append(card.source.describe(m))
    parts.append(card.status.describe(m, chat=False))
    return "\n".join(p for p in parts if p)


def render_meter(counts: dict[str, int], m: Messages) -> bytes:
    """The meter as a PNG (the site's Open Graph image beside the pledge cards): a bar per status of the
    scale, in its order, with its name and count, in `m`'s language."""
    total = sum(counts.values())
    title, label = _font(BOLD, 44), _font(REGULAR, 30)
    image = Image.new("RGB", (WIDTH, MIN_HEIGHT), PAPER)
    draw = ImageDraw.Draw(image)
    draw.text((MARGIN, MARGIN - 16), m.gettext("Pledge tracker"), font=title, fill=INK)
    heading = m.ngettext("{n} pledge, counted by status", "{n} pledges, counted by status", total)
    draw.text((MARGIN, MARGIN + 44), heading.format(n=total), font=label, fill=MUTED)
    widest = max(counts.values(), default=0) or 1
    names = [m.status(s) for s in statuses.VALUES]
    left = MARGIN + int(max(label.getlength(n) for n in names)) + 24
    room = WIDTH - left - MARGIN - 80
    for row, (status, name) in enumerate(zip(statuses.VALUES, names, strict=True)):
        y = MARGIN + 124 + row * 64
        n = counts.get(status, 0)
        draw.text((MARGIN, y), name, font=label, fill=INK)
        width = round(room * n / widest)
        if width:
            draw.rectangle((left, y + 4, left + width, y + 40), fill=statuses.COLOURS.get(status, MUTED))
        draw.text((left + width + 12, y), f"{n:,}", font=label, fill=INK)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
