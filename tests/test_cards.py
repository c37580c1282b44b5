"""Quote cards: the PNG a `card` command answers with and the site serves as its pages' Open Graph image."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from fontTools.ttLib import TTFont
from PIL import Image, ImageChops, ImageStat

from adapters.console.shell import answer
from bot.cards import (
    BOLD,
    MAX_HEIGHT,
    MIN_HEIGHT,
    REGULAR,
    WIDTH,
    _font,
    card_text,
    layout,
    render_card,
    wrap,
)
from bot.i18n import messages
from bot.replies import Context, Status
from tests.conftest import HOTLINE_QUOTE, ROOT, hotline_card

REFERENCE = ROOT / "tests" / "reference" / "card-inter-korean-hotline-en.png"
# Mean difference per channel (0-255) allowed against the reference: anti-aliasing may differ a little
# between FreeType builds; a wrong word, line or colour moves it far more.
TOLERANCE = 2.0


def image(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png))


def ctx(locale: str = "en") -> Context:
    return Context(platform="console", workspace="local", channel="console", user="you", locale=locale)


def test_card_answers_with_a_png_of_the_lead_quote(core):
    reply = core.handle("card inter-korean-hotline", ctx())
    assert reply.cards[0].quote == HOTLINE_QUOTE
    (png,) = reply.files
    assert png.mime == "image/png" and png.name == "inter-korean-hotline-1-en.png"
    assert HOTLINE_QUOTE in png.description
    picture = image(png.data)
    assert picture.format == "PNG" and picture.width == WIDTH and MIN_HEIGHT <= picture.height < MAX_HEIGHT


def test_the_card_matches_the_reference_image(core):
    png = core.handle("card inter-korean-hotline", ctx()).files[0].data
    fresh, reference = image(png).convert("RGB"), Image.open(REFERENCE).convert("RGB")
    assert fresh.size == reference.size
    difference = ImageStat.Stat(ImageChops.difference(fresh, reference)).mean
    assert max(difference) <= TOLERANCE, difference


@pytest.mark.parametrize("language", ["en", "ko"])
def test_every_character_of_a_card_has_a_glyph_in_the_shipped_font(core, bot, language):
    """No tofu: each character the card draws is in the font's cmap (else FreeType draws .notdef)."""
    card = bot.quote_cards.of_pledge("inter-korean-hotline", language)[0]
    text = card_text(card, messages(language)) + "pledgebot · …" + "0123456789"
    for path in (REGULAR, BOLD):
        cmap = TTFont(path).getBestCmap()
        missing = {c for c in text if not c.isspace() and ord(c) not in cmap}
        assert not missing, (path.name, missing)
    if language == "ko":
        assert any("\uac00" <= c <= "\ud7a3" for c in text)  # the Korean card does draw Hangul


def test_a_korean_card_draws_hangul_where_an_english_one_draws_latin(core):
    english = image(core.handle("card inter-korean-hotline", ctx()).files[0].data).convert("L")
    korean = image(core.handle("카드 inter-korean-hotline", ctx("ko")).files[0].data).convert("L")
    # The title line differs (남북 핫라인·통신선 복원); each has ink there, so neither drew empty boxes alone.
    top = (88, 72, WIDTH - 88, 130)
    assert ImageChops.difference(english.crop(top), korean.crop(top)).getbbox() is not None
    assert korean.crop(top).getextrema()[0] < 60


def test_text_is_wrapped_at_spaces_never_inside_a_word():
    font = _font(REGULAR, 44)
    lines = wrap(HOTLINE_QUOTE, font, 600)
    assert len(lines) > 2 and " ".join(lines) == HOTLINE_QUOTE
    assert all(font.getlength(line) <= 600 for line in lines)


def test_a_long_quote_grows_the_card_then_is_elided_at_a_word_and_the_card_says_so():
    m = messages("en")
    longer = image(render_card(hotline_card(quote=" ".join([HOTLINE_QUOTE] * 3)), m))
    assert MIN_HEIGHT < longer.height < MAX_HEIGHT
    words = [f"word{n}" for n in range(2000)]
    card = hotline_card(quote=" ".join(words))
    page = "https://tracker.example/pledges/inter-korean-hotline"
    picture = image(render_card(card, m, where=page))
    assert picture.height <= MAX_HEIGHT
    blocks = [lines for _, lines, _ in layout(card, m, where=page)]
    quote = blocks[1]
    assert quote[-1].endswith(" …") and len(quote) < 40
    shown = " ".join(quote).removeprefix("“").removesuffix(" …").split(" ")
    assert shown == words[: len(shown)]  # whole words, in order, none cut
    assert " ".join(blocks[2]) == f"Quote shortened; the whole quote: {page}"


def test_the_card_prints_no_chat_command_only_the_pledges_address():
    """An image cannot be typed into: a rated pledge's card says "3 updates", not "/pledge history …", and a
    shortened quote points to the pledge's page, or to nothing when the site has no address."""
    m = messages("en")
    rated = Status(
        label="in the works", as_of=dt.date(2026, 5, 10), updates=3, pledge_id="inter-korean-hotline"
    )
    page = "https://tracker.example/pledges/inter-korean-hotline"
    long = " ".join(f"word{n}" for n in range(2000))
    for link in (page, ""):
        card = hotline_card(status=rated, quote=long, link=link)
        text = "\n".join(" ".join(lines) for _, lines, _ in layout(card, m))
        assert "/pledge " not in text and "/pledge " not in card_text(card, m)
        assert "3 updates" in text
        assert ("Quote shortened; the whole quote: " + page in text) if link else "Quote shortened." in text
    # Chat keeps the command, where it can be typed.
    assert "3 updates (/pledge history inter-korean-hotline)" in rated.describe(m)


def test_the_console_writes_the_card_and_prints_its_path(core, tmp_path):
    text = answer(core, "card inter-korean-hotline", files=tmp_path / "cards")
    path = tmp_path / "cards" / "inter-korean-hotline-1-en.png"
    assert text.endswith(f"Image saved: {path}")
    assert image(path.read_bytes()).width == WIDTH


def test_a_quote_number_past_the_last_and_an_unknown_id_are_told(core):
    reply = core.handle("card inter-korean-hotline 2", ctx())
    assert reply.is_error and reply.notices[0].text == ("inter-korean-hotline has 1 quote: ask for quote 1.")
    assert not reply.files
    reply = core.handle("card no-such-pledge", ctx())
    assert reply.is_error and "no-such-pledge" in reply.notices[0].text
