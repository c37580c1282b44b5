"""The grammar: every command and its arguments, parsed once; a command word whose arguments do not parse is
searched for."""

from __future__ import annotations

import datetime as dt

import pytest

from bot import commands as cmd
from bot.commands import VOCABULARY
from bot.dates import MonthDay
from bot.words import Kind

IDS = frozenset({"inter-korean-hotline", "china-relations"})
CATEGORIES = {"defense": "Defense", "국방": "Defense", "north korea": "North Korea", "북한": "North Korea"}
NAMES = [("Defense", "국방"), ("North Korea", "북한")]


class Catalogue:
    """What the parser may ask of the catalogue, for some of the seed data's ids and categories."""

    def is_pledge_id(self, text: str) -> bool:
        """True for the ids above, in any case."""
        return text.strip().lower() in IDS

    def category(self, text: str) -> str | None:
        """The English name of a category above, named in either language."""
        return CATEGORIES.get(text.strip().lower())

    def category_names(self) -> list[tuple[str, str | None]]:
        """The categories above, in English and Korean."""
        return NAMES

    def officials(self, text: str) -> tuple[str, ...]:
        """The seed's president, named by his office."""
        return ("lee-jae-myung",) if text.strip().casefold() in ("president", "대통령") else ()


KNOWN = Catalogue()
RATED = cmd.Rate("china-relations", "broken", "https://example.com/a", dt.date(2026, 5, 10))


def parse(text: str) -> cmd.Command:
    """`cmd.parse` against the seed catalogue."""
    return cmd.parse(text, KNOWN)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hotline", cmd.Search("hotline")),
        ("/pledge hotline", cmd.Search("hotline")),
        ("north korea page 3", cmd.Search("north korea", 3)),
        ("page 2 hotline", cmd.Search("hotline", 2)),
        ("show Inter-Korean-Hotline", cmd.Show("inter-korean-hotline")),
        ("보기 china-relations", cmd.Show("china-relations")),
        ("list", cmd.ListPledges()),
        ("list North Korea", cmd.ListPledges("North Korea")),
        ("list north  korea", cmd.ListPledges("North Korea")),
        ("list 북한", cmd.ListPledges("North Korea")),
        ("list defense page 2", cmd.ListPledges("Defense", None, 2)),
        ("list page 2", cmd.ListPledges(page=2)),
        ("list kept", cmd.ListPledges(None, "kept")),
        ("list defense kept", cmd.ListPledges("Defense", "kept")),
        ("list North Korea in the works", cmd.ListPledges("North Korea", "in the works")),
        ("list north korea In The Works page 2", cmd.ListPledges("North Korea", "in the works", 2)),
        ("목록 북한 추진 중", cmd.ListPledges("North Korea", "in the works")),
        ("목록 국방 추진중", cmd.ListPledges("Defense", "in the works")),
        ("목록 미평가", cmd.ListPledges(None, "not yet rated")),
        ("list not yet rated", cmd.ListPledges(None, "not yet rated")),
        ("on 2025-05-26", cmd.On(dt.date(2025, 5, 26))),
        # The forms a search reads are the on command's too, with or without the year.
        ("on May 26", cmd.On(MonthDay(5, 26))),
        ("on 26 May 2025", cmd.On(dt.date(2025, 5, 26))),
        ("on 2025년 5월 26일", cmd.On(dt.date(2025, 5, 26))),
        # A date in a search is what happened that day, the other words filtering it; page syntax first.
        ("May 26 2025", cmd.On(dt.date(2025, 5, 26), "", "May 26 2025")),
        ("2025년 5월 26일 핫라인", cmd.On(dt.date(2025, 5, 26), "핫라인", "2025년 5월 26일 핫라인")),
        ("hotline 26 May page 2", cmd.Search("hotline 26 May", 2)),
        ("Feb 30 hotline", cmd.Search("Feb 30 hotline")),
        ("2025 budget", cmd.Search("2025 budget")),
        ("upcoming", cmd.Upcoming(30)),
        ("upcoming 90", cmd.Upcoming(90)),
        ("subscribe", cmd.Subscribe()),
        ("subscribe 08:30 America/New_York", cmd.Subscribe(dt.time(8, 30), "America/New_York")),
        ("subscribe europe/berlin 7:05 ahead 7", cmd.Subscribe(dt.time(7, 5), "Europe/Berlin", 7)),
        ("subscribe UTC", cmd.Subscribe(timezone="UTC")),
        ("unsubscribe", cmd.Unsubscribe()),
        ("구독 취소", cmd.Unsubscribe()),
        ("subscriptions", cmd.Subscriptions()),
        ("구독목록", cmd.Subscriptions()),
        ("history", cmd.History()),
        ("이력", cmd.History()),
        ("history inter-korean-hotline", cmd.History("inter-korean-hotline")),
        ("/pledge History Inter-Korean-Hotline", cmd.History("inter-korean-hotline")),
        ("이력 china-relations", cmd.History("china-relations")),
        ("HELP", cmd.Help()),
        ("card inter-korean-hotline", cmd.Card("inter-korean-hotline")),
        ("card Inter-Korean-Hotline 2", cmd.Card("inter-korean-hotline", 2)),
        ("카드 china-relations", cmd.Card("china-relations")),
        ("cite inter-korean-hotline", cmd.Cite("inter-korean-hotline")),
        ("/pledge cite inter-korean-hotline 3", cmd.Cite("inter-korean-hotline", 3)),
        ("인용 china-relations 1", cmd.Cite("china-relations", 1)),
        ("card games", cmd.Search("card games")),
        ("cite the hotline", cmd.Search("cite the hotline")),
        ("card inter-korean-hotline please", cmd.Search("card inter-korean-hotline please")),
        ("인용 핫라인", cmd.Search("인용 핫라인")),
        ("", cmd.Help()),
        ("목록", cmd.ListPledges()),
        # Korean argument words, read as the English ones.
        ("구독 07:00 주제 국방", cmd.Subscribe(dt.time(7, 0), topics=("국방",))),
        (
            "구독 주제 북한 공약 china-relations",
            cmd.Subscribe(topics=("북한",), pledges=("china-relations",)),
        ),
        ("구독 미리 3 업데이트 즉시", cmd.Subscribe(lead_days=3, updates_now=True)),
        ("구독 08:00 업데이트 매일", cmd.Subscribe(dt.time(8, 0))),
        ("subscribe UPDATES Now", cmd.Subscribe(updates_now=True)),
        ("구독목록 전체", cmd.Subscriptions(everywhere=True)),
        ("subscriptions all", cmd.Subscriptions(everywhere=True)),
        ("목록 북한 페이지 2", cmd.ListPledges("North Korea", None, 2)),
        ("북한 페이지 3", cmd.Search("북한", 3)),
        ("페이지 2 핫라인", cmd.Search("핫라인", 2)),
        ("평가 china-relations 파기 https://example.com/a 날짜 2026-05-10", RATED),
        ("rate china-relations broken https://example.com/a on 2026-05-10", RATED),
        # Words that name a command but whose arguments do not parse are searched for, the whole text.
        ("show hotline", cmd.Search("show hotline")),
        ("show inter-korean-hotline please", cmd.Search("show inter-korean-hotline please")),
        ("help me find the hotline", cmd.Search("help me find the hotline")),
        ("history issues", cmd.Search("history issues")),
        ("history issues page 2", cmd.Search("history issues", 2)),
        ("이력 일본", cmd.Search("이력 일본")),
        ("list hotline", cmd.Search("list hotline")),
        ("list weather kept", cmd.Search("list weather kept")),
        ("list kept defense", cmd.Search("list kept defense")),
        # Plain words after `list` that are no near miss of a category or status, nor written as one.
        ("list nonsense", cmd.Search("list nonsense")),
        ("list defensive weapons", cmd.Search("list defensive weapons")),
        ("목록 국가", cmd.Search("목록 국가")),
        # A word of three letters after `language` is a word (new, war, man are language codes too).
        ("language war", cmd.Search("language war")),
        ("language policy", cmd.Search("language policy")),
        ("unsubscribe me", cmd.Search("unsubscribe me")),
        # Plain words after `on`, `upcoming` or `subscribe` are no malformed date, number, time or zone.
        ("on the border", cmd.Search("on the border")),
        ("upcoming elections", cmd.Search("upcoming elections")),
        ("다가오는 선거", cmd.Search("다가오는 선거")),
        ("subscribe to newsletters", cmd.Search("subscribe to newsletters")),
        ("subscribe japan", cmd.Search("subscribe japan")),
    ],
)
def test_parse(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "on 2025-13-01",
        "on 26/05/2025",
        "upcoming -1",
        "upcoming 9999",
        "subscribe 24:00",
        "subscribe 9:60",
        "subscribe ahead",
        "subscribe ahead 99",
        "subscribe Nowhere/City",
        # Arguments that try to be a date, a number, a time, a zone or a lead time but are not.
        "on",
        "on yesterday",
        "날짜 오늘",
        "on May 26 2025 or so",
        "on 2025년 5월",
        "upcoming 90 days",
        "upcoming 𐩀",
        "subscribe 9am",
        "subscribe Seoul",
        "subscribe 08:00 soon",
        "show no-such-pledge",
        "show Old-Pledge-2024",
        "card no-such-pledge",
        "cite inter-korean-hotline 0",
        # A command word alone, where the command needs a pledge.
        "show",
        "보기",
        "card",
        "카드",
        "cite",
        "rate",
        "평가",
        # An id, a language code or a category that is none.
        "history no-such",
        "이력 Old-Pledge-2024",
        "language xx",
        "language JA",
        "language japanese",
        "언어 일본어",
        "list defence",
        "list Defence kept",
        "목록 defence 추진 중",
        "list northkorea",
        "list north-korea",
        "list nonsense-category",
        "list nonsense-category kept",
        "list kpet",
    ],
)
def test_bad_arguments_are_usage_errors(text):
    assert isinstance(parse(text), cmd.Usage)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("show", "Which pledge? Give its id."),
        ("card", "Which pledge? Give its id."),
        ("history no-such", "There is no pledge with the id “no-such”."),
        ("language xx", "There is no catalogue for “xx”; the languages are: English (en), 한국어 (ko)."),
        ("언어 일본어", "There is no catalogue for “일본어”; the languages are: English (en), 한국어 (ko)."),
        ("list defence", "There is no category “defence”; did you mean Defense?"),
        ("list north-korea kept", "There is no category “north-korea”; did you mean North Korea?"),
        ("list kpet", "There is no status “kpet”; did you mean kept?"),
        (
            "list nonsense-category",
            "There is no category “nonsense-category”; the categories are: "
            "Defense (국방), North Korea (북한).",
        ),
    ],
)
def test_usage_errors_say_what_the_argument_is_not(text, message):
    usage = parse(text)
    assert isinstance(usage, cmd.Usage) and usage.message == message


def test_a_language_with_a_catalogue_is_set_by_its_code_or_its_name_in_either_language():
    for text in ("language ko", "language KO", "language Korean", "언어 한국어", "언어 한국말"):
        assert parse(text) == cmd.Language("ko"), text
    for text in ("language en", "language english", "언어 영어"):
        assert parse(text) == cmd.Language("en"), text


def test_every_command_has_a_summary_in_both_languages_within_discord_limits():
    for spec in cmd.SPECS.values():
        assert 1 <= len(spec.summary) <= 100 and 1 <= len(spec.summary_ko) <= 100
        assert spec.example.startswith("/pledge")


def test_every_command_but_search_has_a_word_and_every_command_word_a_spec():
    assert {spec.name for spec in cmd.SPECS.values() if spec.word} == set(cmd.SPECS) - {"search"}
    assert {word.en for word in VOCABULARY.of(Kind.COMMAND)} == set(cmd.SPECS) - {"search"}
