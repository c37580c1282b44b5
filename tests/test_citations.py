"""Citations, word for word, in both house styles; and the pledge's permalink in every chat answer."""

from __future__ import annotations

import datetime as dt

import pytest

from adapters.console.render import render
from adapters.discord_app.render import card_embed
from adapters.slack_app.render import render as slack_render
from bot import citations
from bot.catalogue import QuoteRow
from bot.cli import open_bot
from bot.config import ConfigError, Settings, load_settings
from bot.replies import Context, Reply
from tests.conftest import HOTLINE_QUOTE

ENGLISH = (
    '"I will work to restore inter-Korean communication channels, such as military hotlines, to mutually '
    'stop tension-provoking acts and manage the situation stably," Lee Jae-myung said in a Facebook post on '
    "May 26, 2025, according to a translation published by Korea JoongAng Daily."
)
KOREAN = (
    '이재명 후보는 2025년 5월 26일 페이스북 게시글에서 "I will work to restore inter-Korean communication '
    "channels, such as military hotlines, to mutually stop tension-provoking acts and manage the situation "
    'stably"라고 밝혔다(영문 번역, 코리아중앙데일리 보도).'
)
PAGE = "https://tracker.example/pledges/inter-korean-hotline"


def ctx(locale: str = "en") -> Context:
    return Context(platform="console", workspace="local", channel="console", user="you", locale=locale)


@pytest.mark.parametrize(
    "text", ["cite inter-korean-hotline", "/pledge cite inter-korean-hotline 1", "인용 inter-korean-hotline"]
)
def test_cite_gives_both_house_styles_word_for_word(core, text):
    reply = core.handle(text, ctx())
    assert reply.title == "Citations of inter-korean-hotline, quote 1"
    assert [(i.label, i.detail) for i in reply.items] == [
        ("English news style", ENGLISH),
        ("Korean press style", KOREAN),
    ]


def test_the_citations_are_the_same_for_a_korean_reader_with_korean_labels(core):
    reply = core.handle("인용 inter-korean-hotline", ctx("ko"))
    assert [(i.label, i.detail) for i in reply.items] == [
        ("영문 기사 표기", ENGLISH),
        ("국문 기사 표기", KOREAN),
    ]


def test_the_console_prints_each_citation_on_one_line_to_copy(core):
    lines = render(core.handle("cite inter-korean-hotline", ctx())).splitlines()
    assert f"    {ENGLISH}" in lines and f"    {KOREAN}" in lines


def test_with_a_public_url_the_citation_gives_the_permalink(tmp_path, clock):
    bot = open_bot(Settings(db_path=tmp_path / "x.db", public_url="https://tracker.example"), clock=clock)
    try:
        reply = bot.core.handle("cite inter-korean-hotline", ctx())
        card = bot.core.handle("hotline", ctx()).cards[0]
    finally:
        bot.close()
    assert reply.items[2].label == "Permanent address" and reply.items[2].detail == PAGE
    # Every chat answer links the pledge to its page: the console, Slack and Discord each show it.
    assert card.link == PAGE
    answer = Reply(title=card.title, cards=[card])
    assert f"  Page: {PAGE}" in render(answer).splitlines()
    assert f"Page: <{PAGE}>" in str(slack_render(answer))
    assert card_embed(card).url == PAGE


def test_cite_refuses_what_it_cannot_quote(core):
    assert core.handle("cite inter-korean-hotline 2", ctx()).notices[0].text == (
        "inter-korean-hotline has 1 quote: ask for quote 1."
    )
    reply = core.handle("cite no-such-pledge", ctx())
    assert reply.is_error


def _quote(**changes) -> QuoteRow:
    fields = dict(
        pledge="p",
        text="We will build it.",
        said_on=dt.date(2026, 1, 5),
        language="en",
        translated=False,
        headline="h",
        outlet="The Daily",
        published_at="2026-01-05",
        kind="news report",
        url=None,
        outlet_ko="데일리",
    )
    fields.update(changes)
    return QuoteRow(**fields)


def test_a_quote_said_in_the_source_itself_and_a_question_keep_their_own_words():
    speaker = citations.Speaker("Kim Min-su", "김민석", "국무총리")
    assert citations.english(_quote(), speaker) == (
        '"We will build it," Kim Min-su said on January 5, 2026, according to The Daily.'
    )
    assert (
        citations.korean(_quote(), speaker)
        == '김민석 국무총리는 2026년 1월 5일 "We will build it"라고 밝혔다(데일리 보도).'
    )
    assert citations.english(_quote(text="Why not?"), speaker).startswith('"Why not?" Kim Min-su said')
    post = _quote(kind="social media post", outlet="Instagram (Kim Min-su)", outlet_ko="인스타그램 (김민석)")
    assert citations.english(post, speaker) == (
        '"We will build it," Kim Min-su said in an Instagram post on January 5, 2026.'
    )
    assert citations.korean(post, speaker) == (
        '김민석 국무총리는 2026년 1월 5일 인스타그램 게시글에서 "We will build it"라고 밝혔다.'
    )
    # A title ending in a final consonant takes 은; a speaker with no Korean role, the particle of the name.
    assert citations.korean(_quote(), citations.Speaker("Lee", "이정민", "장관")).startswith("이정민 장관은 ")
    assert citations.korean(_quote(), citations.Speaker("Lee", "이정민")).startswith("이정민은 ")


def test_the_public_url_is_checked(tmp_path):
    env = {"PLEDGEBOT_DB": str(tmp_path / "x.db")}
    assert load_settings({**env, "PLEDGEBOT_PUBLIC_URL": "https://tracker.example/"}).public_url == (
        "https://tracker.example"
    )
    for bad in ("tracker.example", "ftp://tracker.example", "https://tracker.example/a b", 'https://x/"'):
        with pytest.raises(ConfigError, match="PLEDGEBOT_PUBLIC_URL"):
            load_settings({**env, "PLEDGEBOT_PUBLIC_URL": bad})


def test_the_hotline_quote_is_quoted_only_as_the_data_holds_it():
    assert HOTLINE_QUOTE.removesuffix(".") in ENGLISH and HOTLINE_QUOTE.removesuffix(".") in KOREAN
