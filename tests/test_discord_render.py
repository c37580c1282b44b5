"""The Discord renderer: exact payloads for a quote card, lists, errors and buttons, and every size limit."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.discord_app.render import (
    CUSTOM_ID_LIMIT,
    EMBEDS_TOTAL_LIMIT,
    Rendered,
    clip,
    parse_custom_id,
    render,
    size,
)
from bot.replies import (
    Action,
    ActionKind,
    Level,
    ListItem,
    Notice,
    Reply,
    SourceRef,
    Status,
)
from tests.conftest import HOTLINE_QUOTE, hotline_card

HOTLINE_EMBED = {
    "type": "rich",
    "flags": 0,
    "title": "Restore inter-Korean hotlines and communication channels",
    "description": "> " + HOTLINE_QUOTE,
    "color": 0x3B5BA5,
    "fields": [
        {"name": "Said on", "value": "2025-05-26", "inline": True},
        {"name": "Speaker", "value": "Lee Jae-myung", "inline": True},
        {
            "name": "Source",
            "value": "Lee Jae-myung pledges to restore inter-Korean hotline, strengthen U.S. alliance\n"
            "Korea JoongAng Daily, published 26 May 2025, 11:09 (UTC+09:00)",
            "inline": False,
        },
        {"name": "Status", "value": "Not yet rated (last reviewed 2025-05-26)", "inline": False},
    ],
    "footer": {"text": "English translation of the original"},
}


def test_quote_card_payload_is_exact():
    reply = Reply(
        title="1 pledge matches “hotline”",
        cards=[hotline_card()],
        actions=[
            Action(ActionKind.MORE, "More results", "page 2 hotline"),
            Action(ActionKind.SHARE, "Share", "show inter-korean-hotline"),
        ],
        total=3,
    )
    assert render(reply).payload() == {
        "content": "**1 pledge matches “hotline”**",
        "embeds": [HOTLINE_EMBED],
        "components": [
            {
                "type": 1,
                "components": [
                    {
                        "type": 2,
                        "style": 2,
                        "label": "More results",
                        "custom_id": "pledgebot:more:page 2 hotline",
                    },
                    {
                        "type": 2,
                        "style": 1,
                        "label": "Share",
                        "custom_id": "pledgebot:share:show inter-korean-hotline",
                    },
                ],
            }
        ],
        "flags": 64,
    }


def test_untranslated_quote_has_no_footer_and_date_only_source():
    card = hotline_card(
        translated=False,
        source=SourceRef("Post", "Facebook", dt.date(2025, 5, 26), "social media post"),
        status=Status("promise kept", dt.date(2025, 6, 4), note="Hotline reopened"),
    )
    embed = render(Reply(cards=[card])).payload()["embeds"][0]
    assert "footer" not in embed
    assert embed["fields"][2]["value"] == "Post\nFacebook, published 26 May 2025"
    assert embed["fields"][3]["value"] == "Promise kept (last reviewed 2025-06-04): Hotline reopened"


def test_source_url_links_headline_and_title():
    card = hotline_card(
        source=SourceRef("Head_line", "Outlet", None, "news report", url="https://example.org/a")
    )
    embed = render(Reply(cards=[card])).payload()["embeds"][0]
    assert embed["url"] == "https://example.org/a"
    # Markdown in data is escaped so an underscore is shown, not turned into italics.
    source = "[Head\\_line](https://example.org/a)\nOutlet, published date unknown"
    assert embed["fields"][2]["value"] == source


def test_error_is_ephemeral_content_without_buttons():
    reply = Reply(notices=[Notice("Dates look like 2025-05-26.", Level.ERROR)], private=False)
    assert render(reply).payload() == {
        "content": "⚠️ Dates look like 2025-05-26.",
        "embeds": [],
        "components": [],
        "flags": 64,
    }


def test_public_reply_has_no_ephemeral_flag():
    payload = render(Reply(cards=[hotline_card()], private=False)).payload()
    assert "flags" not in payload


def test_shared_card_names_the_sharer_and_has_no_buttons():
    reply = Reply(cards=[hotline_card()], actions=[Action(ActionKind.SHARE, "Share", "show x")])
    rendered = render(reply, shared_by=42)
    assert rendered.payload() == {
        "content": "Shared by <@42>",
        "embeds": [HOTLINE_EMBED],
        "components": [],
    }


def test_list_reply_is_one_embed_of_lines():
    reply = Reply(
        title="Upcoming milestones",
        items=[
            ListItem("One year since the hotline pledge", "Lee Jae-myung", dt.date(2026, 5, 26)),
            ListItem("Subscriptions: none"),
        ],
    )
    assert render(reply).payload()["embeds"] == [
        {
            "type": "rich",
            "flags": 0,
            "title": "Upcoming milestones",
            "color": 0x3B5BA5,
            "description": "• `2026-05-26` **One year since the hotline pledge** — Lee Jae-myung\n"
            "• **Subscriptions: none**",
        }
    ]


def test_oversize_command_gets_no_button_rather_than_a_wrong_one():
    long = Action(ActionKind.MORE, "More", "page 2 " + "x" * 200)
    assert render(Reply(cards=[hotline_card()], actions=[long])).buttons == []


def test_custom_id_round_trip():
    assert parse_custom_id("pledgebot:share:show inter-korean-hotline") == (
        ActionKind.SHARE,
        "show inter-korean-hotline",
    )
    assert parse_custom_id("pledgebot:share:page 2 a:b") == (ActionKind.SHARE, "page 2 a:b")
    assert parse_custom_id("pledgebot:delete:x") is None
    assert parse_custom_id("other:more:x") is None
    assert parse_custom_id("pledgebot:more:") is None


def test_clip_counts_utf16_and_marks_the_cut():
    assert clip("abc", 3) == "abc"
    assert clip("abcd", 3) == "ab…"
    assert size(clip("😀" * 10, 5)) <= 5
    assert clip("ab\\cd", 4) == "ab…"


def check_limits(rendered: Rendered) -> None:
    """Assert every Discord message limit on a rendered message."""
    payload = rendered.payload()
    assert size(payload["content"]) <= 2000
    assert len(payload["embeds"]) <= 10
    total = 0
    for embed in rendered.embeds:
        assert size(embed.title or "") <= 256
        assert size(embed.description or "") <= 4096
        assert len(embed.fields) <= 25
        for f in embed.fields:
            assert size(f.name) <= 256
            assert size(f.value) <= 1024
        total += size(embed.title or "") + size(embed.description or "")
        total += sum(size(f.name) + size(f.value) for f in embed.fields) + size(embed.footer.text or "")
    assert total <= EMBEDS_TOTAL_LIMIT
    for button in rendered.buttons:
        assert len(button.custom_id) <= CUSTOM_ID_LIMIT
        assert size(button.label) <= 80


def test_huge_reply_stays_within_every_limit():
    card = hotline_card(
        title="T" * 1000,
        quote="Q" * 10_000,
        speaker="S" * 2000,
        source=SourceRef("H" * 3000, "O" * 3000, None, "news report"),
        status=Status("rated " * 500, dt.date(2025, 5, 26), note="n" * 2000),
    )
    reply = Reply(
        title="R" * 5000,
        cards=[card] * 15,
        items=[ListItem("L" * 500, "D" * 500)] * 50,
        notices=[Notice("N" * 3000)],
        actions=[Action(ActionKind.MORE, "M" * 200, "page 2 q")] * 7,
    )
    rendered = render(reply)
    check_limits(rendered)
    assert rendered.embeds[0].description.endswith("…")
    assert len(rendered.buttons) == 5


text = st.text(max_size=3000)


@settings(max_examples=60, deadline=None)
@given(
    title=text,
    quote=text,
    speaker=st.text(max_size=1500),
    headline=text,
    notices=st.lists(text, max_size=3),
    labels=st.lists(st.text(max_size=600), max_size=40),
    cards=st.integers(min_value=0, max_value=12),
)
def test_any_reply_respects_limits(title, quote, speaker, headline, notices, labels, cards):
    card = hotline_card(
        title=title or "t",
        quote=quote,
        speaker=speaker or "s",
        source=SourceRef(headline or "h", "o", None, "k"),
    )
    reply = Reply(
        title=title,
        cards=[card] * cards,
        items=[ListItem(label or "l", label) for label in labels],
        notices=[Notice(n) for n in notices],
    )
    check_limits(render(reply))


def test_huge_korean_reply_stays_within_every_limit_with_korean_labels():
    card = hotline_card(
        title="핫라인" * 500,
        quote="공약" * 5_000,
        speaker="이재명" * 700,
        source=SourceRef("제목" * 1500, "언론" * 1500, dt.date(2025, 5, 26), "news report"),
        status=Status("not yet rated", dt.date(2025, 5, 26), note="메모" * 1000),
    )
    reply = Reply(
        title="공약" * 2500,
        cards=[card] * 15,
        items=[ListItem("항목" * 250, "설명" * 250, dt.date(2025, 9, 11))] * 50,
        notices=[Notice("알림" * 100)],
        actions=[Action(ActionKind.MORE, "더 보기" * 50, "page 2 q")] * 7,
        language="ko",
    )
    rendered = render(reply)
    check_limits(rendered)
    names = [f.name for f in rendered.embeds[0].fields]
    assert names == ["발언일", "발언자", "출처", "이행 상태"]
    assert rendered.embeds[0].footer.text.startswith("영어 번역 · 원문: ")
    assert rendered.embeds[0].fields[0].value == "2025년 5월 26일"
    assert "그 밖에" in rendered.content


def test_a_korean_title_the_editors_translated_says_so_in_the_footer():
    card = hotline_card(
        title="남북 핫라인·통신선 복원", title_by="editors", original="페이스북 게시글(한국어)"
    )
    embed = render(Reply(cards=[card], language="ko")).embeds[0]
    assert embed.footer.text.startswith("제목: 편집진 번역 · 영어 번역")
    untranslated = hotline_card(title="남북 핫라인·통신선 복원", title_by="editors", translated=False)
    assert render(Reply(cards=[untranslated], language="ko")).embeds[0].footer.text == "제목: 편집진 번역"
