"""The words users read, in their language: gettext catalogues managed with Babel, and CLDR dates.

Every sentence the core and the renderers show is an English msgid translated through `Messages`. The
catalogues live in `bot/locales/<lang>/LC_MESSAGES/pledgebot.po` (compiled `.mo` files are committed beside
them), so a new language is a new catalogue, not a code change: `languages()` lists what is there.
English is the source language; a msgid with no translation is shown as it is.
"""

from __future__ import annotations

import datetime as dt
import functools
import gettext
from collections.abc import Mapping
from pathlib import Path

from babel.dates import format_date

DOMAIN = "pledgebot"
LOCALES = Path(__file__).parent / "locales"
DEFAULT = "en"


def N_(message: str) -> str:
    """Mark `message` for extraction without translating it (it is translated where it is shown)."""
    return message


def NP_(context: str, message: str) -> str:
    """Mark `message` for extraction in `context` (`Messages.pgettext` translates it), e.g. a command word
    ("command", "show"), which must not share a translation with the same English word elsewhere."""
    return message


class Messages:
    """One language's messages: gettext, ngettext and dates as that language writes them."""

    def __init__(self, language: str, translations: gettext.NullTranslations):
        self.language = language
        self._translations = translations

    def gettext(self, message: str) -> str:
        """`message` in this language (the English msgid when it has no translation)."""
        return self._translations.gettext(message)

    def pgettext(self, context: str, message: str) -> str:
        """`message` of `context` in this language (the English msgid when it has no translation)."""
        return self._translations.pgettext(context, message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The form of a message that fits the count `n`, by this language's plural rules."""
        return self._translations.ngettext(singular, plural, n)

    # The date patterns are messages too (CLDR patterns, or a CLDR length such as "long"), so each
    # catalogue picks how its language writes dates: English keeps ISO dates in data and "26 May 2025" in
    # prose; Korean uses CLDR's long form, "2025년 5월 26일".
    def date(self, day: dt.date) -> str:
        """A date in a card or a list, e.g. "2025-05-26" or "2025년 5월 26일"."""
        return _format_date(day, self.gettext("yyyy-MM-dd"), self.language)

    def long_date(self, day: dt.date) -> str:
        """A date in prose, e.g. "26 May 2025" or "2025년 5월 26일"."""
        return _format_date(day, self.gettext("d MMMM y"), self.language)

    def weekday_date(self, day: dt.date) -> str:
        """A date with its weekday, e.g. "Thursday 11 September 2025" or "2025년 9월 11일 목요일"."""
        return format_date(day, format=self.gettext("EEEE d MMMM y"), locale=self.language)

    def status(self, label: str) -> str:
        """A status as stored (English) in this language's tracker words."""
        return self.gettext(label)

    def __repr__(self) -> str:
        return f"Messages({self.language!r})"


@functools.lru_cache(maxsize=65536)
def _format_date(day: dt.date, pattern: str, language: str) -> str:
    """A CLDR-formatted date, remembered: a day's digest names the same few dates hundreds of times, and
    Babel parses the pattern and loads the locale on every call."""
    return format_date(day, format=pattern, locale=language)


def localized(m: Messages, english: str | None, korean: str | None) -> str:
    """A data value for `m`'s readers: its Korean form (`*_ko` fields) for Korean, else the English one."""
    return (korean if m.language == "ko" and korean else english) or ""


def titled(m: Messages, english: str | None, korean: str | None) -> str:
    """A title for `m`'s readers, like `localized`, except that an English title shown to readers of another
    language says so ("Hotline review (영문 제목)"), so a page never passes it off as a translation."""
    if m.language == "ko" and korean:
        return korean
    if m.language == DEFAULT or not english:
        return english or ""
    return m.gettext("{title} (English title)").format(title=english)


def pledge_title(m: Messages, english: str | None, korean: str | None, korean_only: bool = False) -> str:
    """A pledge's title for `m`'s readers; a pledge with no English title (the Election Commission's
    registry is in Korean) shows its Korean one to everyone, marked "in Korean only" for other readers."""
    if korean_only and m.language != "ko":
        return m.gettext("{title} (in Korean only)").format(title=korean or english or "")
    return localized(m, english, korean)


@functools.cache
def languages() -> tuple[str, ...]:
    """The languages with a catalogue, English (the source language) first; read from disk once, since
    every answer and every digest of a delivery pass asks."""
    found = sorted(p.parent.parent.name for p in LOCALES.glob(f"*/LC_MESSAGES/{DOMAIN}.mo"))
    return (DEFAULT, *(lang for lang in found if lang != DEFAULT))


@functools.cache
def messages(language: str = DEFAULT) -> Messages:
    """The messages of `language` (one of `languages()`; anything else gets English)."""
    language = language if language in languages() else DEFAULT
    translations = gettext.translation(DOMAIN, LOCALES, languages=[language], fallback=True)
    return Messages(language, translations)


@functools.lru_cache(maxsize=256)
def language_of(tag: str | None) -> str:
    """The supported language a locale tag names ("ko", "ko-KR", "ko_KR.UTF-8"), else English."""
    if not tag:
        return DEFAULT
    base = tag.split(".")[0].split("@")[0].replace("-", "_").split("_")[0].lower()
    return base if base in languages() else DEFAULT


def environment_language(environ: Mapping[str, str]) -> str:
    """The console's language, as gettext chooses it: LANGUAGE (a list), then LC_ALL, then LANG."""
    for tag in environ.get("LANGUAGE", "").split(":"):
        if tag and (language_of(tag) != DEFAULT or tag.lower().startswith("en")):
            return language_of(tag)
    for name in ("LC_ALL", "LANG"):
        if environ.get(name):
            # A set LC_ALL or LANG decides, even when it names a language we lack (then English).
            return language_of(environ[name])
    return DEFAULT
