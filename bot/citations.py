"""Copy-ready citations of a quote in two house styles: English news style and Korean press style.

The forms are fixed sentences in their own language, whatever language the asker reads (an English reporter
may need the Korean form for a Korean desk), so they are not messages of the gettext catalogues; README
("Citations") documents them word for word. A citation quotes only the words the data holds: a translated
quote stays the translation that was published (never a back-translation), and the citation says whose it
is. Only the quote's final full stop gives way to the style's own punctuation.

English, for a quote translated from a post on a platform ("social media post"):
    "<quote>," <speaker> said in a <platform> post on <Month D, YYYY>, according to a translation published by
    <outlet>.
and for one said in the source itself:
    "<quote>," <speaker> said on <Month D, YYYY>, according to <outlet>.

Korean (the speaker's Korean name and title, the last word of the Korean role, e.g. 후보):
    <이름> <직함>는 <YYYY년 M월 D일> <플랫폼> 게시글에서 "<quote>"라고 밝혔다(영문 번역, <매체> 보도).
    <이름> <직함>는 <YYYY년 M월 D일> "<quote>"라고 밝혔다(<매체> 보도).

A paraphrase (reported speech, the source's words about what was said) is never cited in quotation marks:
    According to <outlet>, <speaker> said on <Month D, YYYY> <words>.
    <매체> 보도에 따르면 <이름> <직함>는 <YYYY년 M월 D일> 다음과 같은 취지로 말했다: <words>.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from babel.dates import format_date

from bot.catalogue import QuoteRow

# A source of this kind is a post on the platform its outlet names ("Facebook (Lee Jae-myung)").
POST = "social media post"


@dataclass(frozen=True)
class Speaker:
    """Who said it, as the citations name them."""

    name: str
    name_ko: str | None = None
    role_ko: str | None = None


def english(quote: QuoteRow, speaker: Speaker) -> str:
    """The English news-style citation, e.g. `"…," Lee Jae-myung said in a Facebook post on May 26, 2025,
    according to a translation published by Korea JoongAng Daily.`"""
    text = quote.text.strip()
    if quote.paraphrase:
        date = format_date(quote.said_on, "MMMM d, y", locale="en")
        return f"According to {quote.outlet}, {speaker.name} said on {date} {text.rstrip('.')}."
    # News style closes a quoted statement with a comma inside the quotation marks, or keeps its ? or !.
    words = text[:-1] if text.endswith(".") else text
    opened = f'"{words}"' if words.endswith(("?", "!")) else f'"{words},"'
    date = format_date(quote.said_on, "MMMM d, y", locale="en")
    if quote.translated:
        where = f" in {_a(_platform(quote.original_outlet))} post" if quote.original_kind == POST else ""
        return (
            f"{opened} {speaker.name} said{where} on {date}, according to a translation published by "
            f"{quote.outlet}."
        )
    if quote.kind == POST:
        return f"{opened} {speaker.name} said in {_a(_platform(quote.outlet))} post on {date}."
    return f"{opened} {speaker.name} said on {date}, according to {quote.outlet}."


def korean(quote: QuoteRow, speaker: Speaker) -> str:
    """The Korean press-style citation, e.g. `이재명 후보는 2025년 5월 26일 페이스북 게시글에서 "…"라고
    밝혔다(영문 번역, 코리아중앙데일리 보도).`"""
    text = quote.text.strip()
    words = text[:-1] if text.endswith(".") else text
    date = format_date(quote.said_on, "y년 M월 d일", locale="ko")
    who = _subject(speaker)
    outlet = quote.outlet_ko or quote.outlet
    if quote.paraphrase:
        return f"{outlet} 보도에 따르면 {who} {date} 다음과 같은 취지로 말했다: {words}."
    if quote.translated:
        where = (
            f" {_platform(quote.original_outlet_ko or quote.original_outlet)} 게시글에서"
            if quote.original_kind == POST
            else ""
        )
        translation = "영문 번역" if quote.language == "en" else "번역"
        return f'{who} {date}{where} "{words}"라고 밝혔다({translation}, {outlet} 보도).'
    if quote.kind == POST:
        return f'{who} {date} {_platform(outlet)} 게시글에서 "{words}"라고 밝혔다.'
    return f'{who} {date} "{words}"라고 밝혔다({outlet} 보도).'


def _a(word: str) -> str:
    """`word` with its indefinite article, by its first letter ("a Facebook", "an Instagram")."""
    return f"{'an' if word[:1].upper() in 'AEIOU' else 'a'} {word}"


def _platform(outlet: str | None) -> str:
    """The platform an outlet of posts names: "Facebook (Lee Jae-myung)" → "Facebook"."""
    return re.sub(r"\s*\(.*\)\s*$", "", outlet or "").strip()


def _subject(speaker: Speaker) -> str:
    """The speaker as a Korean sentence's subject: name, title (the last word of the Korean role before any
    parenthesis, e.g. 후보) and the topic particle that fits its last syllable (는 or 은)."""
    name = speaker.name_ko or speaker.name
    role = re.sub(r"\s*\(.*\)\s*$", "", speaker.role_ko or "").split()
    phrase = f"{name} {role[-1]}" if role else name
    return phrase + _topic_particle(phrase[-1])


def _topic_particle(last: str) -> str:
    """은 after a Hangul syllable with a final consonant, 는 after one without; 은(는) after anything else."""
    code = ord(last) - 0xAC00
    if not 0 <= code < 11172:
        return "은(는)"
    return "은" if code % 28 else "는"
