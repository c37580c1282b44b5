"""Each event once, many pledges of one event under one heading: `on`, `upcoming`, the site's "Coming up" and
a pledge page's milestones, on the seed and with milestones of the desk."""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.site.app import build_app
from bot.cli import open_bot, site_sources
from bot.replies import Context

HOTLINE = "inter-korean-hotline"
GROUP = "1 year since Lee Jae-myung's 14 pledges of 26 May 2025"


def labels(reply) -> list[str]:
    return [i.label for i in reply.items]


class Items(HTMLParser):
    """The text of each <li> within a page's section (by its heading's id), nested items indented."""

    def __init__(self, html: str, section: str) -> None:
        super().__init__()
        self.section, self.sections, self.depth = section, 0, 0
        self.lines: list[tuple[int, str]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section" and (self.sections or dict(attrs).get("aria-labelledby") == self.section):
            self.sections += 1
        if self.sections and tag == "li":
            self.depth += 1
            self.lines.append((self.depth, ""))

    def handle_endtag(self, tag: str) -> None:
        if self.sections and tag == "li":
            self.depth -= 1
        if self.sections and tag == "section":
            self.sections -= 1

    def handle_data(self, data: str) -> None:
        if self.sections and self.depth:
            depth, text = self.lines[-1]
            self.lines[-1] = (depth, text + data)


def items(html: str, section: str) -> list[str]:
    return [
        "  " * (depth - 1) + re.sub(r"\s+", " ", text).strip() for depth, text in Items(html, section).lines
    ]


@pytest.fixture
def editor(console_ctx) -> Context:
    return dataclasses.replace(console_ctx, can_edit=True)


def test_on_lists_the_inauguration_once_with_its_source(core, console_ctx):
    on = core.handle("on 2025-06-04", console_ctx)
    [item] = on.items
    assert item.label == "Lee Jae-myung was inaugurated as president"
    assert "Office of the President" in item.detail
    [korean] = core.handle("on 2025-06-04", dataclasses.replace(console_ctx, locale="ko")).items
    assert korean.label == "이재명 대통령 취임" and "대통령실" in korean.detail


def test_on_lists_a_deadline_once_as_due(core, editor):
    core.handle(f"milestone {HOTLINE} deadline 2026-12-31 Hotline restored by year end", editor)
    [item] = core.handle("on 2026-12-31", editor).items
    assert item.label == "Due today: Hotline restored by year end"
    assert item.detail.endswith("— status: Not yet rated")


def test_upcoming_365_on_the_seed_groups_the_pledges_of_one_event_under_one_heading(core, console_ctx):
    reply = core.handle("upcoming 365", console_ctx)
    found = labels(reply)
    assert found.count(GROUP) == 1
    assert not [label for label in found if label.startswith("1 year since Lee Jae-myung pledged")]
    # The heading, then each pledge by its title with its quote; never a group cut short.
    start = found.index(GROUP)
    members = reply.items[start + 1 : start + 15]
    assert len(members) == 14 and all(i.pledge_id and i.date is None for i in members)
    assert "Restore inter-Korean hotlines and communication channels" in [i.label for i in members]
    assert len(reply.items) <= 25
    assert all(i.date is not None for i in reply.items[start + 15 :])
    [notice] = reply.notices
    assert notice.text == "Showing the first 16 of 32; ask for fewer days."
    korean = labels(core.handle("upcoming 30", dataclasses.replace(console_ctx, locale="ko")))
    assert korean[0] == "이재명 공약 14개 발표 1주년 (2025년 5월 26일)"


@pytest.fixture
async def site(bot):
    async with TestClient(TestServer(build_app(site_sources(bot)))) as client:
        yield client


async def page(client: TestClient, path: str) -> str:
    response = await client.get(path)
    assert response.status == 200
    return await response.text()


async def test_the_home_page_s_coming_up_groups_the_fourteen_pledges(site):
    coming_up = items(await page(site, "/"), "upcoming")
    assert coming_up[0] == f"2026-05-26 {GROUP}"
    # Its pledges under it, each once, by title.
    assert len(set(coming_up[1:15])) == 14 and all(line.startswith("  ") for line in coming_up[1:15])
    assert "  Restore inter-Korean hotlines and communication channels" in coming_up[1:15]
    assert not [line for line in coming_up if "1 year since Lee Jae-myung pledged" in line]


async def test_a_pledge_page_lists_each_milestone_once_with_where_a_deadline_stands(bot, site, editor):
    for line in (
        f"milestone {HOTLINE} deadline 2026-12-31 Hotline restored by year end",
        f'milestone {HOTLINE} event 2026-06-13 Hotline review title_ko="핫라인 점검"',
    ):
        assert not bot.core.handle(line, editor).is_error
    pledged = "Lee Jae-myung pledged: Restore inter-Korean hotlines and communication channels"
    # Each milestone once (a deadline as it stands today), among the pledge's own anniversaries and day counts
    # of the year ahead, by date.
    assert items(await page(site, f"/pledges/{HOTLINE}"), "milestones") == [
        "2025-05-26 Pledged",
        f"2026-05-26 1 year since {pledged}",
        "2026-06-13 In 24 days: Hotline review",
        "2026-09-20 100 days since Hotline review",
        f"2026-10-07 500 days since {pledged}",
        "2026-12-29 200 days since Hotline review",
        "2026-12-31 Due in 225 days: Hotline restored by year end",
        "2027-04-08 300 days since Hotline review",
    ]
    korean = items(await page(site, f"/pledges/{HOTLINE}?lang=ko"), "milestones")
    assert "2026년 6월 13일 24일 후: 핫라인 점검" in korean
    assert "2026년 12월 31일 마감 225일 전: Hotline restored by year end (영문 제목)" in korean


async def test_a_pledge_page_says_a_deadline_is_overdue_until_the_pledge_is_settled(settings, clock, pages):
    from bot.desk.provenance import parse_allow

    bot = open_bot(dataclasses.replace(settings, fetch_allow=parse_allow("127.0.0.1/32")), clock=clock)
    editor = Context(platform="console", workspace="w", channel="c", user="e", can_edit=True)
    try:
        bot.core.handle(f"milestone {HOTLINE} deadline 2026-02-09 Hotline restored by 9 February", editor)
        bot.core.handle(f"rate {HOTLINE} in the works {pages}/hotline-restored on 2026-05-10", editor)
        async with TestClient(TestServer(build_app(site_sources(bot)))) as client:
            open_page = await page(client, f"/pledges/{HOTLINE}")
            assert "2026-02-09 Overdue by 100 days: Hotline restored by 9 February" in items(
                open_page, "milestones"
            )
            # The rating is in the status history, not again among the milestones.
            assert not [line for line in items(open_page, "milestones") if "rated" in line]
            korean = await page(client, f"/pledges/{HOTLINE}?lang=ko")
            assert not re.search(r"rated|In the works", korean.partition('id="milestones"')[2])
            bot.core.handle(f"rate {HOTLINE} kept {pages}/hotline-restored on 2026-05-11", editor)
            kept = items(await page(client, f"/pledges/{HOTLINE}"), "milestones")
            assert "2026-02-09 Hotline restored by 9 February" in kept
    finally:
        bot.close()
