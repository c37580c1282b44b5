"""The Block Kit renderer: exact payloads for the common replies, and limits held for any data."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.slack_app.render import (
    ACTION_ID_PATTERN,
    MAX_BLOCKS,
    MAX_BUTTON_VALUE,
    MAX_HEADER_TEXT,
    MAX_SECTION_TEXT,
    escape,
    render,
    render_error,
    truncate,
    unescape,
)
from bot.replies import Action, ActionKind, Level, ListItem, Notice, Reply, SourceRef, Status
from tests.conftest import HOTLINE_QUOTE, hotline_card


def hotline_section(note: str = " (English translation of the original)") -> dict:
    return {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": "*Restore inter-Korean hotlines and communication channels*\n"
            f">{HOTLINE_QUOTE}\n— Lee Jae-myung, 2025-05-26{note}",
        },
    }


HOTLINE_CONTEXT = {
    "type": "context",
    "elements": [
        {
            "type": "mrkdwn",
            "text": "Source: Lee Jae-myung pledges to restore inter-Korean hotline, strengthen U.S. "
            "alliance, Korea JoongAng Daily, published 26 May 2025, 11:09 (UTC+09:00)",
        },
        {"type": "mrkdwn", "text": "Status: Not yet rated (last reviewed 2025-05-26)"},
    ],
}


def test_lookup_is_private_with_quote_source_status_and_buttons():
    reply = Reply(
        cards=[hotline_card()],
        actions=[
            Action(ActionKind.MORE, "More results", "page 2 hotline"),
            Action(ActionKind.SHARE, "Share in channel", "show inter-korean-hotline"),
        ],
        total=3,
    )
    assert render(reply) == {
        "text": f"“{HOTLINE_QUOTE}” — Lee Jae-myung, 2025-05-26",
        "blocks": [
            hotline_section(),
            HOTLINE_CONTEXT,
            {
                "type": "actions",
                "block_id": "pledge_actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "pledge_more_0",
                        "text": {"type": "plain_text", "text": "More results"},
                        "value": "page 2 hotline",
                    },
                    {
                        "type": "button",
                        "action_id": "pledge_share_1",
                        "text": {"type": "plain_text", "text": "Share in channel"},
                        "value": "show inter-korean-hotline",
                        "style": "primary",
                    },
                ],
            },
        ],
        "response_type": "ephemeral",
    }


def test_shared_card_is_public_names_the_sharer_and_drops_the_share_button():
    reply = Reply(
        cards=[hotline_card(translated=False)],
        actions=[Action(ActionKind.SHARE, "Share in channel", "show inter-korean-hotline")],
    )
    payload = render(reply, shared_by="U0REPORTER")
    assert payload == {
        "text": f"Shared by <@U0REPORTER>: “{HOTLINE_QUOTE}” — Lee Jae-myung, 2025-05-26",
        "blocks": [
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "Shared by <@U0REPORTER>"}]},
            hotline_section(note=""),
            HOTLINE_CONTEXT,
        ],
        "response_type": "in_channel",
    }


def test_title_items_and_notices():
    reply = Reply(
        title="Subscriptions in this channel",
        items=[ListItem("08:30 America/New_York", "daily pledge reminder", dt.date(2025, 6, 4))],
        notices=[Notice("Times are local to the zone shown."), Notice("Unknown zone", Level.ERROR)],
    )
    assert render(reply) == {
        "text": "Subscriptions in this channel 08:30 America/New_York Times are local to the zone shown.",
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": "Subscriptions in this channel", "emoji": True},
            },
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "• *08:30 America/New_York* — daily pledge reminder (2025-06-04)",
                },
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": "Times are local to the zone shown."}},
            {"type": "section", "text": {"type": "mrkdwn", "text": ":x: Unknown zone"}},
        ],
        "response_type": "ephemeral",
    }


def test_error_helper_is_private():
    assert render_error("Sorry & goodbye") == {
        "text": "Sorry &amp; goodbye",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": ":x: Sorry &amp; goodbye"}}],
        "response_type": "ephemeral",
    }


def test_markup_in_data_is_escaped_and_links_are_safe():
    card = hotline_card(
        quote="<!channel> & <@U123> > all",
        speaker="A <b>",
        source=SourceRef("H|x>", "O&O", None, "news", url="https://e.x/a|b>c"),
        status=Status("rated", None, note="see <here>"),
        translated=False,
    )
    section, context = render(Reply(cards=[card]))["blocks"]
    assert section["text"]["text"] == (
        "*Restore inter-Korean hotlines and communication channels*\n"
        ">&lt;!channel&gt; &amp; &lt;@U123&gt; &gt; all\n— A &lt;b&gt;, 2025-05-26"
    )
    assert [e["text"] for e in context["elements"]] == [
        "Source: <https://e.x/a%7Cb%3Ec|H|x&gt;>, O&amp;O",
        "Status: Rated: see &lt;here&gt;",
    ]


def test_date_only_publication():
    card = hotline_card(source=SourceRef("H", "Facebook", dt.date(2025, 5, 26), "social media post"))
    context = render(Reply(cards=[card]))["blocks"][1]
    assert context["elements"][0]["text"] == "Source: H, Facebook, published 26 May 2025"


def test_multi_line_quote_keeps_every_line_quoted():
    section = render(Reply(cards=[hotline_card(quote="one\ntwo")]))["blocks"][0]
    assert ">one\n>two\n— Lee" in section["text"]["text"]


def test_truncate_never_splits_an_entity():
    assert truncate("abc", 3) == "abc"
    assert truncate("abcdef", 4) == "abc…"
    assert truncate("ab&amp;cd", 5) == "ab…"
    assert truncate("ab&amp;cd", 8) == "ab&amp;…"


def test_escape():
    assert escape("a<b>&c") == "a&lt;b&gt;&amp;c"


def test_unescape_undoes_slacks_escaping_once():
    assert unescape("show &lt;x&gt; &amp; co") == "show <x> & co"
    # A user who typed an entity gets the entity, not the character it names.
    assert unescape("&amp;lt;x&amp;gt; &amp;amp;") == "&lt;x&gt; &amp;"
    assert unescape("&quot; &#60; &lt") == "&quot; &#60; &lt"


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from("&<>;ltgampx ")) | st.text())
def test_unescape_is_the_inverse_of_escape(text: str):
    assert unescape(escape(text)) == text


def test_long_reply_is_cut_to_limits_and_keeps_its_buttons():
    long = "word " * 2000
    reply = Reply(
        title=long,
        cards=[hotline_card(quote=long, title=long) for _ in range(40)],
        items=[ListItem(long, long) for _ in range(10)],
        actions=[
            Action(ActionKind.MORE, long, "page 2 hotline"),
            Action(ActionKind.SHARE, "Share", "x" * (MAX_BUTTON_VALUE + 1)),
        ],
    )
    payload = render(reply)
    blocks = payload["blocks"]
    assert len(blocks) == MAX_BLOCKS
    assert blocks[-2] == {
        "type": "context",
        "elements": [
            {"type": "mrkdwn", "text": "… more not shown: this answer is longer than one Slack message."}
        ],
    }
    # The oversized command is dropped rather than cut into a different command.
    assert [b["value"] for b in blocks[-1]["elements"]] == ["page 2 hotline"]
    assert_valid(payload)
    # The quote gives way, so the speaker and date survive.
    assert blocks[1]["text"]["text"].endswith(
        "…\n— Lee Jae-myung, 2025-05-26 (English translation of the original)"
    )


def assert_valid(payload: dict) -> None:
    """Check the Block Kit limits this renderer promises."""
    assert payload["text"] and len(payload["text"]) <= 3000
    assert payload["response_type"] in {"ephemeral", "in_channel"}
    blocks = payload["blocks"]
    assert len(blocks) <= MAX_BLOCKS
    for block in blocks:
        if block["type"] == "header":
            assert 0 < len(block["text"]["text"]) <= MAX_HEADER_TEXT
        elif block["type"] == "section":
            assert 0 < len(block["text"]["text"]) <= MAX_SECTION_TEXT
        elif block["type"] == "context":
            assert 0 < len(block["elements"]) <= 10
            assert all(0 < len(e["text"]) <= MAX_SECTION_TEXT for e in block["elements"])
        elif block["type"] == "actions":
            ids = [e["action_id"] for e in block["elements"]]
            assert 0 < len(ids) <= 25 and len(set(ids)) == len(ids)
            assert all(ACTION_ID_PATTERN.match(i) for i in ids)
            assert all(len(e["value"]) <= MAX_BUTTON_VALUE for e in block["elements"])
            assert all(0 < len(e["text"]["text"]) <= 75 for e in block["elements"])
        else:
            assert block["type"] == "divider"


def test_blank_reply_still_renders_a_valid_message():
    payload = render(Reply(title=" ", notices=[Notice("  ")]))
    assert payload == {
        "text": "pledgebot",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "pledgebot"}}],
        "response_type": "ephemeral",
    }


text = st.text(min_size=1, max_size=4000)


@settings(max_examples=200, deadline=None)
@given(
    title=st.text(max_size=400),
    quotes=st.lists(text, max_size=30),
    items=st.lists(st.tuples(text, st.text(max_size=100)), max_size=30),
    notices=st.lists(st.text(max_size=4000), max_size=5),
    labels=st.lists(st.text(max_size=100), max_size=30),
    private=st.booleans(),
)
def test_any_reply_renders_within_limits(title, quotes, items, notices, labels, private):
    reply = Reply(
        title=title,
        cards=[hotline_card(quote=q) for q in quotes],
        items=[ListItem(label, detail) for label, detail in items],
        notices=[Notice(n) for n in notices],
        actions=[
            Action(ActionKind.SHARE if i % 2 else ActionKind.MORE, lab, "show x")
            for i, lab in enumerate(labels)
        ],
        private=private,
    )
    assert_valid(render(reply))


def test_long_korean_reply_is_cut_to_limits_with_korean_labels():
    long = "공약 이행 " * 2000
    reply = Reply(
        title=long,
        cards=[
            hotline_card(quote=long, title=long, speaker="이재명", original="페이스북 게시글(한국어)")
            for _ in range(40)
        ],
        items=[ListItem(long, long, dt.date(2025, 9, 11)) for _ in range(10)],
        notices=[Notice(long)],
        actions=[Action(ActionKind.SHARE, "", "show inter-korean-hotline")],
        language="ko",
    )
    payload = render(reply)
    assert_valid(payload)
    assert payload["blocks"][-2]["elements"][0]["text"].startswith("… 나머지는 표시하지 않음")
    assert payload["blocks"][-1]["elements"][0]["text"]["text"] == "채널에 공유"
    assert payload["blocks"][1]["text"]["text"].endswith(
        "…\n— 이재명, 2025년 5월 26일 (영어 번역 · 원문: 페이스북 게시글(한국어))"
    )
    context = payload["blocks"][2]["elements"]
    assert context[0]["text"].startswith("출처: ") and context[1]["text"].startswith("이행 상태: 미평가")


@settings(max_examples=100, deadline=None)
@given(
    quotes=st.lists(st.text(alphabet="가나다라마바사 핫라인공약", min_size=1, max_size=4000), max_size=30),
    labels=st.lists(st.text(alphabet="가나다라 ", max_size=100), max_size=30),
)
def test_any_korean_reply_renders_within_limits(quotes, labels):
    reply = Reply(
        title="".join(quotes)[:400],
        cards=[hotline_card(quote=q) for q in quotes],
        items=[ListItem(label or "가", label, dt.date(2025, 5, 26)) for label in labels],
        actions=[Action(ActionKind.MORE, lab, "show x") for lab in labels],
        language="ko",
    )
    assert_valid(render(reply))


def test_a_korean_title_the_editors_translated_says_so():
    card = hotline_card(title="남북 핫라인·통신선 복원", title_by="editors")
    payload = render(Reply(cards=[card], language="ko"))
    context = [e["text"] for b in payload["blocks"] if b["type"] == "context" for e in b["elements"]]
    assert "제목: 편집진 번역" in context
    plain = render(Reply(cards=[hotline_card()], language="ko"))
    assert "제목: 편집진 번역" not in str(plain)


def test_a_clipped_quote_is_cut_between_words_and_never_inside_bold():
    words = [f"word{i:04d}" for i in range(700)]
    quote = " ".join(words)
    # The query's word in bold every 7 words, so a cut falls near bold runs wherever it falls.
    spans = tuple((quote.index(w), quote.index(w) + len(w)) for w in words[::7])
    for shift in range(12):
        card = hotline_card(
            quote="x " * shift + quote, emphasis=tuple((a + 2 * shift, b + 2 * shift) for a, b in spans)
        )
        text = render(Reply(cards=[card]))["blocks"][0]["text"]["text"]
        assert len(text) <= MAX_SECTION_TEXT
        body = text.split("\n", 1)[1].rsplit("\n— ", 1)[0]
        assert body.startswith(">") and body.endswith("…")
        # Balanced bold, and the last word shown is a whole word of the quote.
        assert body.count("*") % 2 == 0
        last = body[:-1].split()[-1].strip("*")
        assert last in words, last
        assert "**" not in body


def test_a_quote_that_fits_is_shown_whole_with_its_bold_words():
    card = hotline_card(quote="Restore the hotline & more", emphasis=((12, 19),))
    text = render(Reply(cards=[card]))["blocks"][0]["text"]["text"]
    assert ">Restore the *hotline* &amp; more" in text


def test_a_clipped_quote_never_ends_inside_a_word_whose_start_is_bold():
    # Korean emphasis marks the query inside a longer word: 통신선 of 통신선이.
    quote = "남북 통신선이 " * 600
    spans = tuple((i + 3, i + 6) for i in range(0, len(quote), 8))
    for shift in range(8):
        card = hotline_card(
            quote="가" * shift + quote, emphasis=tuple((a + shift, b + shift) for a, b in spans)
        )
        text = render(Reply(cards=[card]))["blocks"][0]["text"]["text"]
        assert len(text) <= MAX_SECTION_TEXT
        body = text.split("\n", 1)[1].rsplit("\n— ", 1)[0]
        assert body.endswith("…") and body.count("*") % 2 == 0
        assert body[:-1].split()[-1] in ("남북", "*통신선*이"), body[-30:]
