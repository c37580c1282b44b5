"""The Discord command tree: `/pledge`, `/pledges …`, `/reminders …` and `/desk …`, described from the core's
specs.

Every command turns its typed options into the one command text the core parses (`bot.commands`), so
parsing, validation and wording live in the core. Descriptions and their Korean localisations come from
`CommandSpec.summary`/`summary_ko`, and Korean subcommand names from the grammar's word table (`bot.words`),
so the Discord commands cannot drift from help or the README.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import available_timezones

import discord
from babel import Locale
from discord import app_commands
from discord.app_commands import locale_str

from adapters.discord_app.render import clip
from bot import commands as grammar
from bot.commands import VOCABULARY
from bot.i18n import languages
from bot.words import Kind

if TYPE_CHECKING:
    from adapters.discord_app.client import Responder

DESCRIPTION_LIMIT = 100
CHOICE_LIMIT = 25
CHOICE_TEXT_LIMIT = 100

# Korean names for the Discord-only words (top-level commands and options). Subcommands reuse the grammar's
# Korean command words, so `/pledges 목록` and a typed `/pledge 목록` mean the same thing.
KO_NAMES = {
    "pledge": "공약",
    "pledges": "공약정보",
    "reminders": "알림",
    "query": "검색어",
    "pledge_id": "공약",
    "category": "분야",
    "status": "상태",
    "date": "날짜",
    "days": "일수",
    "time": "시각",
    "timezone": "시간대",
    "ahead": "미리",
    "language": "언어",
    "topics": "주제",
    "desk": "데스크",
    "user": "사용자",
    "url": "출처",
    "note": "메모",
    "edit_id": "편집번호",
    "updates": "업데이트",
}
KO_SUBCOMMANDS = {word.en: word.ko for word in VOCABULARY.of(Kind.COMMAND)}
KO_VERBS = {word.en: word.ko for word in VOCABULARY.of(Kind.VERB)}

# Option descriptions are Discord's own words (the grammar has usage lines, not per-option text).
OPTIONS = {
    "query": ("Words to search for, or pick a suggested pledge", "검색할 단어, 또는 추천 공약 선택"),
    "pledge_id": ("The pledge to show (start typing to pick one)", "보여줄 공약 (입력하면 추천)"),
    "category": ("Only pledges in this category", "이 분야의 공약만"),
    "status": ("Only pledges whose latest status is this", "최근 이행 상태가 이것인 공약만"),
    "date": ("A date as YYYY-MM-DD, e.g. 2025-05-26", "YYYY-MM-DD 형식의 날짜 (예: 2025-05-26)"),
    "days": ("How many days ahead to look (default 30)", "며칠 앞까지 볼지 (기본 30일)"),
    "time": ("Time of day as HH:MM (default 09:00)", "HH:MM 형식의 시각 (기본 09:00)"),
    "timezone": ("An IANA time zone such as Asia/Seoul (default)", "Asia/Seoul 같은 IANA 시간대 (기본값)"),
    "ahead": ("Days of notice before each anniversary (default 0)", "기념일 며칠 전에 알릴지 (기본 0일)"),
    "language": ("The language of shared cards and digests here", "이 채널의 공유 카드와 알림 언어"),
    "topics": ("Only these categories, comma-separated (up to 5)", "이 분야만, 쉼표로 구분 (최대 5개)"),
    "pledges": ("Only these pledge ids, comma-separated (up to 10)", "이 공약 ID만, 쉼표로 구분 (최대 10개)"),
    "quote": ("Which of its quotes, 1 for the lead quote (default)", "몇 번째 인용인지 (기본: 대표 인용 1)"),
    "url": (
        "The source's link (http:// or https://), checked by the bot",
        "출처 링크 (http:// 또는 https://), 봇이 확인",
    ),
    "rating_date": (
        "The rating's date as YYYY-MM-DD (default: the page's publication date)",
        "평가 날짜 YYYY-MM-DD (기본값: 페이지 게시일)",
    ),
    "note": ("A short note shown with the status", "이행 상태와 함께 보일 짧은 메모"),
    "form_pledge": (
        "The pledge (start typing to pick one), or leave it to the form",
        "공약 (입력하면 추천), 비우면 양식에서 입력",
    ),
    "edit_id": ("The edit's number, as /pledges history shows it", "/pledges history에 나오는 편집 번호"),
    "updates": (
        "Desk changes (ratings, quotes): within a minute, or in the daily digest (default)",
        "편집 변경(평가, 인용): 1분 안에, 또는 매일 알림에 (기본값)",
    ),
    "add": ("Someone to add to the editors list", "편집자 목록에 추가할 사람"),
    "remove": ("Someone to take off the editors list", "편집자 목록에서 삭제할 사람"),
}
# Suggested when the time-zone box is still empty.
COMMON_ZONES = (
    "Asia/Seoul",
    "UTC",
    "America/New_York",
    "America/Los_Angeles",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Tokyo",
    "Australia/Sydney",
)


class SpecTranslator(app_commands.Translator):
    """Korean localisations carried on each `locale_str` as its `ko` extra."""

    async def translate(
        self, string: locale_str, locale: discord.Locale, context: app_commands.TranslationContextTypes
    ) -> str | None:
        """The Korean text for Korean clients; None (Discord shows English) for every other locale."""
        if locale is discord.Locale.korean:
            return string.extras.get("ko")
        return None


def name(english: str, korean: str | None = None) -> locale_str:
    """A command or option name with its Korean localisation."""
    return locale_str(english, ko=korean or KO_NAMES.get(english) or KO_SUBCOMMANDS.get(english))


def describe_spec(spec_name: str) -> locale_str:
    """The description of a grammar command, in English and Korean, within Discord's 100 characters."""
    spec = grammar.SPECS[spec_name]
    return locale_str(clip(spec.summary, DESCRIPTION_LIMIT), ko=clip(spec.summary_ko, DESCRIPTION_LIMIT))


def describe_option(option: str) -> locale_str:
    """An option's description in English and Korean."""
    english, korean = OPTIONS[option]
    return locale_str(english, ko=korean)


def status_choices() -> list[app_commands.Choice[str]]:
    """The grammar's status scale as choices, named in English and Korean; each value is what `list` takes."""
    return [
        app_commands.Choice(name=locale_str(word.en, ko=word.ko), value=word.en) for word in grammar.STATUSES
    ]


def language_choices() -> list[app_commands.Choice[str]]:
    """Every language with a catalogue, named in its own language (CLDR), with its code as the value."""
    return [
        app_commands.Choice(name=Locale.parse(code).get_display_name(code) or code, value=code)
        for code in languages()
    ]


def one_token(value: str) -> str:
    """A typed option squeezed to one word, so it cannot smuggle extra arguments into the command text."""
    return "".join(value.split())


Choice = app_commands.Choice


def zone_choices(current: str) -> list[Choice]:
    """Up to 25 IANA zones matching what was typed: names starting with it first, then containing it."""
    needle = one_token(current).lower().replace(" ", "_")
    if not needle:
        names = list(COMMON_ZONES)
    else:
        zones = sorted(z for z in available_timezones() if needle in z.lower())
        starts = [
            z for z in zones if z.lower().startswith(needle) or z.lower().split("/")[-1].startswith(needle)
        ]
        names = starts + [z for z in zones if z not in starts]
    return [Choice(name=z, value=z) for z in names[:CHOICE_LIMIT]]


def filter_words(keyword: str, value: str | None) -> list[str]:
    """A comma-separated option as grammar words: "defense, north korea" → topic defense topic north korea."""
    words: list[str] = []
    for item in (value or "").split(","):
        item = " ".join(item.split())
        if item:
            # A pledge id is one word; a topic may be several, but never a keyword of the grammar.
            words += [keyword, one_token(item) if keyword == "pledge" else item]
    return words


def last_item_choices(current: str, options: list[tuple[str, str]]) -> list[Choice]:
    """Autocomplete of the last comma-separated item: the earlier ones kept, the last one completed."""
    head, _, last = current.rpartition(",")
    prefix = f"{head}, " if head else ""
    needle = last.strip().lower()
    found = [(label, value) for label, value in options if needle in label.lower() or needle in value.lower()]
    return [
        Choice(name=(prefix + label)[:100], value=(prefix + value)[:100])
        for label, value in found[:CHOICE_LIMIT]
        if len(prefix + value) <= 100
    ]


def build(responder: Responder) -> list[app_commands.Command | app_commands.Group]:
    """The top-level commands, wired to `responder`."""

    async def suggest(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        locale = str(interaction.locale.value) if interaction.locale else "en"
        return await responder.suggest(current, locale)

    @app_commands.command(name=name("pledge"), description=describe_spec("search"))
    @app_commands.rename(query=name("query"))
    @app_commands.describe(query=describe_option("query"))
    @app_commands.autocomplete(query=suggest)
    async def pledge(interaction: discord.Interaction, query: app_commands.Range[str, 1, 200]) -> None:
        # Autocomplete only suggests: whatever arrives (a picked pledge id or free text) is re-validated by
        # the core, which treats a known pledge id as "show" and anything else as a search.
        await responder.answer(interaction, query)

    pledges = app_commands.Group(name=name("pledges"), description=describe_spec("list"))

    @pledges.command(name=name("show"), description=describe_spec("show"))
    @app_commands.rename(pledge_id=name("pledge_id"))
    @app_commands.describe(pledge_id=describe_option("pledge_id"))
    @app_commands.autocomplete(pledge_id=suggest)
    async def show(interaction: discord.Interaction, pledge_id: app_commands.Range[str, 1, 100]) -> None:
        await responder.answer(interaction, f"show {one_token(pledge_id)}")

    @pledges.command(name=name("list"), description=describe_spec("list"))
    @app_commands.describe(category=describe_option("category"), status=describe_option("status"))
    @app_commands.rename(category=name("category"), status=name("status"))
    @app_commands.choices(status=status_choices())
    async def list_(
        interaction: discord.Interaction,
        category: app_commands.Range[str, 1, 100] | None = None,
        status: app_commands.Choice[str] | None = None,
    ):
        words = ["list"]
        if category:
            words.append(" ".join(category.split()))
        if status:
            words.append(status.value)
        await responder.answer(interaction, " ".join(words))

    @pledges.command(name=name("on"), description=describe_spec("on"))
    @app_commands.describe(date=describe_option("date"))
    @app_commands.rename(date=name("date"))
    async def on(interaction: discord.Interaction, date: app_commands.Range[str, 1, 20]) -> None:
        await responder.answer(interaction, f"on {one_token(date)}")

    @pledges.command(name=name("upcoming"), description=describe_spec("upcoming"))
    @app_commands.describe(days=describe_option("days"))
    @app_commands.rename(days=name("days"))
    async def upcoming(
        interaction: discord.Interaction,
        days: app_commands.Range[int, 1, grammar.MAX_UPCOMING_DAYS] | None = None,
    ) -> None:
        await responder.answer(interaction, f"upcoming {days}" if days else "upcoming")

    @pledges.command(name=name("history"), description=describe_spec("history"))
    @app_commands.rename(pledge_id=name("pledge_id"))
    @app_commands.describe(pledge_id=describe_option("pledge_id"))
    @app_commands.autocomplete(pledge_id=suggest)
    async def history(
        interaction: discord.Interaction, pledge_id: app_commands.Range[str, 1, 100] | None = None
    ) -> None:
        await responder.answer(interaction, f"history {one_token(pledge_id)}" if pledge_id else "history")

    @pledges.command(name=name("card"), description=describe_spec("card"))
    @app_commands.rename(pledge_id=name("pledge_id"), quote=name("quote", "인용번호"))
    @app_commands.describe(pledge_id=describe_option("pledge_id"), quote=describe_option("quote"))
    @app_commands.autocomplete(pledge_id=suggest)
    async def card(
        interaction: discord.Interaction,
        pledge_id: app_commands.Range[str, 1, 100],
        quote: app_commands.Range[int, 1, 9999] | None = None,
    ) -> None:
        await responder.answer(interaction, f"card {one_token(pledge_id)} {quote or 1}")

    @pledges.command(name=name("cite"), description=describe_spec("cite"))
    @app_commands.rename(pledge_id=name("pledge_id"), quote=name("quote", "인용번호"))
    @app_commands.describe(pledge_id=describe_option("pledge_id"), quote=describe_option("quote"))
    @app_commands.autocomplete(pledge_id=suggest)
    async def cite(
        interaction: discord.Interaction,
        pledge_id: app_commands.Range[str, 1, 100],
        quote: app_commands.Range[int, 1, 9999] | None = None,
    ) -> None:
        await responder.answer(interaction, f"cite {one_token(pledge_id)} {quote or 1}")

    @pledges.command(name=name("help"), description=describe_spec("help"))
    async def help_(interaction: discord.Interaction) -> None:
        await responder.answer(interaction, "help")

    # Hidden from members without Manage Channels by default; server admins may change that in Integrations,
    # which is why the permission is checked again on every use (see Responder.context).
    reminders = app_commands.Group(
        name=name("reminders"),
        description=describe_spec("subscriptions"),
        default_permissions=discord.Permissions(manage_channels=True),
        guild_only=True,
    )

    @reminders.command(name=name("subscribe"), description=describe_spec("subscribe"))
    @app_commands.describe(
        time=describe_option("time"),
        timezone=describe_option("timezone"),
        ahead=describe_option("ahead"),
        topics=describe_option("topics"),
        pledges=describe_option("pledges"),
        updates=describe_option("updates"),
    )
    @app_commands.rename(
        time=name("time"),
        timezone=name("timezone"),
        ahead=name("ahead"),
        topics=name("topics"),
        pledges=name("pledges"),
        updates=name("updates"),
    )
    @app_commands.choices(
        updates=[
            app_commands.Choice(name=locale_str("within a minute", ko="1분 안에"), value="now"),
            app_commands.Choice(name=locale_str("in the daily digest", ko="매일 알림에"), value="daily"),
        ]
    )
    async def subscribe(
        interaction: discord.Interaction,
        time: app_commands.Range[str, 1, 5] | None = None,
        timezone: app_commands.Range[str, 1, 64] | None = None,
        ahead: app_commands.Range[int, 0, grammar.MAX_LEAD_DAYS] | None = None,
        topics: app_commands.Range[str, 1, 200] | None = None,
        pledges: app_commands.Range[str, 1, 400] | None = None,
        updates: app_commands.Choice[str] | None = None,
    ) -> None:
        words = ["subscribe"]
        if time:
            words.append(one_token(time))
        if timezone:
            words.append(one_token(timezone))
        if ahead:
            words.append(f"ahead {ahead}")
        words += filter_words("topic", topics) + filter_words("pledge", pledges)
        if updates:
            words += ["updates", updates.value]
        await responder.answer(interaction, " ".join(words))

    @subscribe.autocomplete("topics")
    async def subscribe_topics(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        try:
            categories = responder.core.categories()
        except Exception:
            return []
        return last_item_choices(current, [(c, c) for c in categories])

    @subscribe.autocomplete("pledges")
    async def subscribe_pledges(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        locale = str(interaction.locale.value) if interaction.locale else "en"
        last = current.rpartition(",")[2].strip()
        found = await responder.suggest(last, locale) if last else []
        return last_item_choices(current, [(f"{c.value}: {c.name}", c.value) for c in found])

    @subscribe.autocomplete("timezone")
    async def subscribe_timezone(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return zone_choices(current)

    @reminders.command(name=name("unsubscribe"), description=describe_spec("unsubscribe"))
    async def unsubscribe(interaction: discord.Interaction) -> None:
        await responder.answer(interaction, "unsubscribe")

    @reminders.command(
        name=name("list", KO_SUBCOMMANDS["subscriptions"]), description=describe_spec("subscriptions")
    )
    async def subscriptions(interaction: discord.Interaction) -> None:
        await responder.answer(interaction, "subscriptions")

    @reminders.command(name=name("language"), description=describe_spec("language"))
    @app_commands.describe(language=describe_option("language"))
    @app_commands.rename(language=name("language"))
    @app_commands.choices(language=language_choices())
    async def language(interaction: discord.Interaction, language: str) -> None:
        await responder.answer(interaction, f"language {language}")

    # The desk: shown to Manage Server by default. Members with the editor role (or on the editors list) may
    # be allowed them in Integrations; every command is checked again by the bot (Responder.context).
    desk = app_commands.Group(
        name=name("desk"),
        description=locale_str(
            "The newsroom desk: rate, quote, add pledges and milestones, undo, choose editors",
            ko="편집 데스크: 평가, 인용, 공약·일정 추가, 되돌리기, 편집자 지정",
        ),
        default_permissions=discord.Permissions(manage_guild=True),
        guild_only=True,
    )

    @desk.command(name=name("rate"), description=describe_spec("rate"))
    @app_commands.describe(
        pledge_id=describe_option("pledge_id"),
        status=describe_option("status"),
        url=describe_option("url"),
        date=describe_option("rating_date"),
        note=describe_option("note"),
    )
    @app_commands.rename(
        pledge_id=name("pledge_id"),
        status=name("status"),
        url=name("url"),
        date=name("date"),
        note=name("note"),
    )
    @app_commands.choices(status=status_choices())
    @app_commands.autocomplete(pledge_id=suggest)
    async def rate(
        interaction: discord.Interaction,
        pledge_id: app_commands.Range[str, 1, 100],
        status: app_commands.Choice[str],
        url: app_commands.Range[str, 1, 2000],
        date: app_commands.Range[str, 1, 20] | None = None,
        note: app_commands.Range[str, 1, 500] | None = None,
    ) -> None:
        words = ["rate", one_token(pledge_id), status.value, one_token(url)]
        if date:
            words += ["on", one_token(date)]
        if note:
            words.append(" ".join(note.split()))
        await responder.answer(interaction, " ".join(words))

    # The forms: each opens a modal (the command's first and only response), for a pledge when one is given.
    @desk.command(name=name("quote"), description=describe_spec("quote"))
    @app_commands.rename(pledge_id=name("pledge_id"))
    @app_commands.describe(pledge_id=describe_option("form_pledge"))
    @app_commands.autocomplete(pledge_id=suggest)
    async def quote(
        interaction: discord.Interaction, pledge_id: app_commands.Range[str, 1, 100] | None = None
    ) -> None:
        await responder.answer(interaction, f"quote {one_token(pledge_id)}" if pledge_id else "quote")

    @desk.command(name=name("new"), description=describe_spec("new"))
    async def new(interaction: discord.Interaction) -> None:
        await responder.answer(interaction, "new")

    @desk.command(name=name("milestone"), description=describe_spec("milestone"))
    @app_commands.rename(pledge_id=name("pledge_id"))
    @app_commands.describe(pledge_id=describe_option("form_pledge"))
    @app_commands.autocomplete(pledge_id=suggest)
    async def milestone(
        interaction: discord.Interaction, pledge_id: app_commands.Range[str, 1, 100] | None = None
    ) -> None:
        await responder.answer(interaction, f"milestone {one_token(pledge_id)}" if pledge_id else "milestone")

    @desk.command(name=name("undo"), description=describe_spec("undo"))
    @app_commands.describe(edit_id=describe_option("edit_id"))
    @app_commands.rename(edit_id=name("edit_id"))
    async def undo(
        interaction: discord.Interaction, edit_id: app_commands.Range[int, 1, 999_999_999_999]
    ) -> None:
        await responder.answer(interaction, f"undo {edit_id}")

    @desk.command(name=name("editors"), description=describe_spec("editors"))
    @app_commands.describe(add=describe_option("add"), remove=describe_option("remove"))
    @app_commands.rename(add=name("add", KO_VERBS["add"]), remove=name("remove", KO_VERBS["remove"]))
    async def editors(
        interaction: discord.Interaction,
        add: discord.User | None = None,
        remove: discord.User | None = None,
    ) -> None:
        # Both at once is not a command the grammar knows: it answers how to write one.
        words = ["editors"]
        if add:
            words += ["add", str(add.id)]
        if remove:
            words += ["remove", str(remove.id)]
        await responder.answer(interaction, " ".join(words))

    return [pledge, pledges, reminders, desk]


# Which Discord command answers each grammar command; a test checks every spec is covered.
SPEC_TO_COMMAND = {
    "search": "pledge",
    "show": "pledges show",
    "list": "pledges list",
    "on": "pledges on",
    "upcoming": "pledges upcoming",
    "history": "pledges history",
    "help": "pledges help",
    "card": "pledges card",
    "cite": "pledges cite",
    "subscribe": "reminders subscribe",
    "unsubscribe": "reminders unsubscribe",
    "subscriptions": "reminders list",
    "language": "reminders language",
    "editors": "desk editors",
    "rate": "desk rate",
    "quote": "desk quote",
    "new": "desk new",
    "milestone": "desk milestone",
    "undo": "desk undo",
}
