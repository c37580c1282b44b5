"""The console adapter: plain-text rendering, the async loop, and digests printed at their time."""

from __future__ import annotations

import asyncio
import datetime as dt
import io

from adapters.console import shell
from adapters.console.render import render
from bot.replies import Action, ActionKind, Level, ListItem, Notice, Reply
from tests.conftest import HOTLINE_QUOTE


def test_render_puts_the_quote_on_one_line_verbatim(core, console_ctx):
    text = render(core.handle("hotline", console_ctx))
    assert f"  “{HOTLINE_QUOTE}”" in text.splitlines()
    assert (
        "Source: “Lee Jae-myung pledges to restore inter-Korean hotline, strengthen U.S. alliance”, " in text
    )
    assert "Status: Not yet rated (last reviewed 2025-05-26)" in text


def test_render_of_lists_notices_and_actions():
    reply = Reply(
        title="Title",
        items=[ListItem("Label", "detail that is long " * 10, dt.date(2026, 1, 2))],
        notices=[Notice("Careful", Level.ERROR), Notice("A hint")],
        actions=[Action(ActionKind.MORE, "More results", "korea page 2")],
    )
    assert render(reply).splitlines() == [
        "Title",
        "=====",
        "Sorry: Careful",
        "",
        "- 2026-01-02  Label",
        "    " + "detail that is long " * 10,
        "",
        "A hint",
        "",
        "(More results: /pledge korea page 2)",
    ]


async def test_async_console_answers_until_end_of_input(core):
    stdout = io.StringIO()
    stdin = io.StringIO("hotline\n\nquit\nnever answered\n")
    await asyncio.wait_for(shell.serve(core, stdin, stdout, asyncio.Event()), 10)
    out = stdout.getvalue()
    assert out.count(HOTLINE_QUOTE) == 1 and "never answered" not in out


async def test_async_console_stops_when_asked(core):
    stopping = asyncio.Event()
    reader, writer = io.StringIO(), io.StringIO()

    class Blocking(io.StringIO):
        def readline(self, *args) -> str:
            stopping.set()
            return reader.readline() or "hotline\n"

    await asyncio.wait_for(shell.serve(core, Blocking(), writer, stopping), 10)


async def test_console_subscription_prints_its_digest(bot, core, console_ctx):
    core.handle("subscribe 09:00 Asia/Seoul", console_ctx)
    bot.store.db.execute("UPDATE subscriptions SET created_at = '2025-01-01T00:00:00+00:00'")
    stdout = io.StringIO()
    service = bot.delivery({"console": shell.ConsoleDeliverer(stdout)})
    now = dt.datetime(2026, 5, 26, 0, 1, tzinfo=dt.UTC)  # 09:01 in Seoul
    assert len((await service.run_pass(now)).sent) == 1
    assert "[digest for the console, 09:00 Asia/Seoul]" in stdout.getvalue()
    assert HOTLINE_QUOTE in stdout.getvalue()


def test_a_korean_card_and_list_say_the_editors_translated_the_titles(core):
    from bot.replies import Context

    korean = Context(platform="console", locale="ko")
    card = core.handle("핫라인", korean).cards[0]
    assert card.title == "남북 핫라인·통신선 복원" and card.title_by == "editors"
    lines = render(core.handle("핫라인", korean)).splitlines()
    assert (
        lines[lines.index("남북 핫라인·통신선 복원  [inter-korean-hotline]") + 1] == "  (제목: 편집진 번역)"
    )
    assert "제목: 편집진 번역" in [n.text for n in core.handle("list 북한", korean).notices]
    # English readers see the English title, which nobody translated.
    english = Context(platform="console", locale="en")
    assert core.handle("hotline", english).cards[0].title_by == ""
    assert "translated by the editors" not in render(core.handle("hotline", english))
    assert not core.handle("list north korea", english).notices
