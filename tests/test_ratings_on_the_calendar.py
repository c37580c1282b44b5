"""A rating on the calendar: stored as its status and pledge, named in the reader's language when it is read,
and worth a line once a year on its day, never a day count or an item ahead of it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import textwrap

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.site.app import build_app
from bot import dataset as ds
from bot.cli import open_bot, site_sources
from bot.desk.provenance import parse_allow
from bot.replies import Context

HOTLINE = "inter-korean-hotline"


@pytest.fixture
def desk(settings, clock):
    bot = open_bot(dataclasses.replace(settings, fetch_allow=parse_allow("127.0.0.1/32")), clock=clock)
    yield bot
    bot.close()


def editor(locale: str = "en") -> Context:
    return Context(platform="console", workspace="w", channel="c", user="e", can_edit=True, locale=locale)


def rate(bot, pages: str, status: str, day: str) -> None:
    reply = bot.core.handle(f"rate {HOTLINE} {status} {pages}/hotline-restored on {day}", editor())
    assert not reply.is_error, reply


def labels(reply) -> list[str]:
    return [i.label for i in reply.items] if reply else []


def test_a_rating_is_stored_as_its_status_and_named_in_the_reader_s_language(desk, pages):
    rate(desk, pages, "kept", "2026-05-10")
    [milestone] = [m for m in desk.exporter.export()["milestones"] if m["kind"] == "status change"]
    # What is needed to say it in any language, not an English sentence.
    assert milestone["status"] == "kept" and milestone["pledge"] == HOTLINE and "title" not in milestone
    assert "1 year since rated Kept: Restore inter-Korean hotlines and communication channels" in labels(
        desk.digests.digest(dt.date(2027, 5, 10))
    )
    assert "이행 완료 평가 1주년: 남북 핫라인·통신선 복원" in labels(
        desk.digests.digest(dt.date(2027, 5, 10), language="ko")
    )
    on = labels(desk.core.handle("on 2026-05-10", editor("ko")))
    assert "이행 완료 평가: 남북 핫라인·통신선 복원" in on
    assert not [label for label in on if "rated" in label]


def test_two_ratings_a_day_apart_come_round_yearly_on_their_day_and_never_ahead(desk, pages, clock):
    rate(desk, pages, "in the works", "2026-05-10")
    rate(desk, pages, "kept", "2026-05-11")
    # Day 300 of each rating, and their first anniversaries, fall within 90 days of 1 March 2027.
    clock.now = dt.datetime(2027, 3, 1, 3, tzinfo=dt.UTC)
    assert desk.digests.digest(dt.date(2027, 3, 5)) is None
    assert desk.digests.digest(dt.date(2027, 3, 6)) is None
    assert not [label for label in labels(desk.core.handle("upcoming 90", editor())) if "rated" in label]
    assert not [label for label in labels(desk.digests.digest(dt.date(2027, 5, 3), 7)) if "rated" in label]
    assert labels(desk.digests.digest(dt.date(2027, 5, 10))) == [
        "1 year since rated In the works: Restore inter-Korean hotlines and communication channels"
    ]


async def test_the_home_page_s_coming_up_holds_no_rating_day_counts(desk, pages, clock):
    rate(desk, pages, "in the works", "2026-05-10")
    rate(desk, pages, "kept", "2026-05-11")
    clock.now = dt.datetime(2027, 3, 1, 3, tzinfo=dt.UTC)
    async with TestClient(TestServer(build_app(site_sources(desk)))) as client:
        html = await (await client.get("/")).text()
    coming_up = html.partition('id="upcoming"')[2]
    assert coming_up and not re.search(r"since rated|days since", coming_up)


def test_a_status_change_milestone_may_give_its_status_instead_of_a_title(tmp_path):
    def problems(milestone: str) -> list[str]:
        path = tmp_path / "m.yaml"
        path.write_text(textwrap.dedent(milestone), encoding="utf-8")
        try:
            ds.load([path], known_ids={"pledges": {HOTLINE}})
        except ds.DatasetError as error:
            return [f"{p.field}: {p.message}" for p in error.problems]
        return []

    given = "milestones:\n  - {id: r, date: 2026-05-10, kind: status change, pledge: inter-korean-hotline"
    assert problems(given + ", status: kept}\n") == []
    assert problems(given + "}\n") == ["title: is required"]
    assert problems(given + ", status: done}\n") == [
        "status: 'done' is not one of: not yet rated, in the works, stalled, compromise, kept, broken"
    ]
    event = "milestones:\n  - {id: e, date: 2026-05-10, kind: event, status: kept}\n"
    assert problems(event) == ["title: is required", "status: only a status change milestone has a status"]


def test_a_rating_journalled_with_an_english_title_is_named_in_korean_too(bot, clock):
    """A rating the desk journalled before it kept the status on its milestone ("rated Kept: <title>")."""
    from bot.journal import EditKind

    bot.journal.append(
        EditKind.RATE,
        author="editor",
        reason="",
        summary=f"rated {HOTLINE} kept on 2026-05-10",
        pledges=[HOTLINE],
        payload={
            "records": [
                {"table": "statuses", "values": {"pledge": HOTLINE, "status": "kept", "date": "2026-05-10"}},
                {
                    "table": "milestones",
                    "values": {
                        "id": f"{HOTLINE}-rated-2026-05-10-abcdef",
                        "date": "2026-05-10",
                        "kind": "status change",
                        "title": "rated Kept: Restore inter-Korean hotlines and communication channels",
                        "pledge": HOTLINE,
                    },
                },
            ],
            "texts": {},
            "desk": {"status": "kept", "date": "2026-05-10", "url": ""},
        },
        at=clock(),
    )
    bot.loader.follow()
    assert labels(bot.digests.digest(dt.date(2027, 5, 10), language="ko")) == [
        "이행 완료 평가 1주년: 남북 핫라인·통신선 복원"
    ]
    assert labels(bot.digests.digest(dt.date(2027, 5, 10))) == [
        "1 year since rated Kept: Restore inter-Korean hotlines and communication channels"
    ]
