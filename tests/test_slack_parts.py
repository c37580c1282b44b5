"""Slack digests never drop an item: a long digest goes out in numbered parts within Block Kit's limits, each
part posted once under its own metadata key, through the real slack-sdk against the fake Web API."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

from adapters.slack_app.app import ChannelPacer, post_message
from adapters.slack_app.delivery import EVENT_TYPE
from adapters.slack_app.delivery import deliverer as slack_deliverer
from adapters.slack_app.render import MAX_BLOCKS, MAX_HEADER_TEXT, MAX_SECTION_TEXT, render, split_digest
from bot.cli import open_bot
from bot.config import Secret
from bot.i18n import messages
from bot.reminders.delivery import digest_key, part_key
from bot.replies import ListItem, Reply

SEOUL = ZoneInfo("Asia/Seoul")
LONG_AGO = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
# The first anniversary of the many pledges the fixture data makes on 2025-05-27.
DAY = dt.date(2026, 5, 27)
MORE_NOT_SHOWN = messages().gettext("… more not shown: this answer is longer than one Slack message.")


def digest(n: int, title_chars: int = 200) -> Reply:
    items = [
        ListItem(
            label=f"Pledge {i:03} " + "long title " * (title_chars // 11),
            detail="“" + "a quote that goes on " * 20 + "” (2025-05-27; “Headline”, Outlet)",
            date=DAY,
            pledge_id=f"p-{i}",
        )
        for i in range(n)
    ]
    return Reply(title="On this day, " + "Wednesday 27 May 2026 " * 10, items=items, private=False, total=n)


def texts(payload: dict) -> str:
    return json.dumps(payload["blocks"], ensure_ascii=False)


@pytest.mark.parametrize("n", [14, 60, 300])
def test_every_item_of_a_long_digest_is_in_one_part_within_slacks_limits(n):
    reply = digest(n)
    parts = split_digest(reply)
    payloads = [render(part) for part in parts]
    for payload in payloads:
        blocks = payload["blocks"]
        assert len(blocks) <= MAX_BLOCKS
        assert MORE_NOT_SHOWN not in texts(payload)
        assert len(blocks[0]["text"]["text"]) <= MAX_HEADER_TEXT
        assert all(len(b["text"]["text"]) <= MAX_SECTION_TEXT for b in blocks if b["type"] == "section")
    # Every item exactly once, in order, across the parts.
    shown = [line for p in payloads for b in p["blocks"][1:] for line in b["text"]["text"].splitlines()]
    assert [line.split("*")[1].split()[1] for line in shown] == [f"{i:03}" for i in range(n)]
    if len(parts) > 1:
        # The number survives a title cut to the header's limit.
        assert [
            p["blocks"][0]["text"]["text"].endswith(f"… ({k}/{len(parts)})")
            for k, p in enumerate(payloads, 1)
        ] == [True] * len(parts)
    # 300 items of ~650 characters are ~75 sections: more than one message can hold.
    assert (len(parts) > 1) == (n == 300)


def many_pledges(folder: Path, n: int) -> Path:
    """`n` pledges made on 2025-05-27 with long titles and quotes: an anniversary needing several parts."""
    path = folder / "many.json"
    source = {
        "id": "many-source",
        "kind": "news report",
        "outlet": "Outlet",
        "headline": "Many pledges",
        "published_at": "2025-05-27",
    }
    pledges = [
        {
            "id": f"many-{i}",
            "speaker": "lee-jae-myung",
            "title": f"Pledge {i:03} " + "with a long title " * 8,
            "category": "Defense",
            "pledged_on": "2025-05-27",
            "quotes": [
                {
                    "text": f"Quote {i}: " + "words said at length " * 30,
                    "source": "many-source",
                    "said_on": "2025-05-27",
                }
            ],
        }
        for i in range(n)
    ]
    path.write_text(json.dumps({"sources": [source], "pledges": pledges}), encoding="utf-8")
    return path


async def test_a_long_slack_digest_reaches_the_channel_whole_once_per_part_after_a_crash(
    state_settings, slack, clock
):
    settings = dataclasses.replace(
        state_settings,
        slack_bot_token=Secret("xoxb-test"),
        slack_signing_secret=Secret("secret"),
        slack_api_url=slack.api_url,
    )
    bot = open_bot(settings, clock=clock)
    try:
        bot.importer.import_files([many_pledges(state_settings.db_path.parent, 300)], author="test")
        sub, _ = bot.subscriptions.subscribe(
            "slack", "W1", "C0NEWS", dt.time(9), "Asia/Seoul", 0, "U1", LONG_AGO
        )
        key = digest_key(sub.id, DAY)
        reply = bot.digests.digest(DAY)
        assert reply is not None and reply.total == 300
        parts = split_digest(reply)
        assert len(parts) >= 3
        async with slack_deliverer(settings) as deliverer:
            # Slack's one-post-a-second pacing is tested on its own; here it would only make the test wait.
            deliverer.pacer = ChannelPacer(interval=0)
            service = bot.delivery({"slack": deliverer})
            start = dt.datetime.combine(DAY, dt.time(9), SEOUL)
            with time_machine.travel(start, tick=False) as traveller:
                # A process claimed the day, posted part 1, then died before the other parts and the record.
                assert bot.ledger.claim(sub.id, DAY) is not None
                metadata = {"event_type": EVENT_TYPE, "event_payload": {"key": part_key(key, 1)}}
                await post_message(deliverer.client, "C0NEWS", render(parts[0]), metadata=metadata)
                traveller.shift(dt.timedelta(minutes=10))
                assert (await service.run_pass(start + dt.timedelta(minutes=10))).sent == [(sub.id, DAY)]
                assert (await service.run_pass(start + dt.timedelta(minutes=20))).sent == []
        posted = slack.messages["C0NEWS"]
        # Each part exactly once, in order, each under its own key, and together every item of the digest.
        assert [m["metadata"]["event_payload"]["key"] for m in posted] == [
            part_key(key, n) for n in range(1, len(parts) + 1)
        ]
        assert len(slack.calls_to("conversations.history")) == 1
        text = "\n".join(json.dumps(m["blocks"], ensure_ascii=False) for m in posted)
        assert MORE_NOT_SHOWN not in text
        for n in range(300):
            assert f"Pledge {n:03} with" in text
        assert all(f"({n}/{len(parts)})" in json.dumps(m["blocks"][0]) for n, m in enumerate(posted, 1))
    finally:
        bot.close()


async def test_a_14_item_digest_reaches_slack_whole_in_one_message(state_settings, slack, clock):
    settings = dataclasses.replace(
        state_settings,
        slack_bot_token=Secret("xoxb-test"),
        slack_signing_secret=Secret("secret"),
        slack_api_url=slack.api_url,
    )
    bot = open_bot(settings, clock=clock)
    try:
        sub, _ = bot.subscriptions.subscribe(
            "slack", "W1", "C0NEWS", dt.time(9), "Asia/Seoul", 0, "U1", LONG_AGO
        )
        reply = bot.digests.digest(dt.date(2026, 5, 26))
        assert reply is not None and reply.total == 14
        async with slack_deliverer(settings) as deliverer:
            service = bot.delivery({"slack": deliverer})
            for minute in (5, 6):
                await service.run_pass(dt.datetime(2026, 5, 26, 9, minute, tzinfo=SEOUL))
        [posted] = slack.messages["C0NEWS"]
        assert posted["metadata"]["event_payload"]["key"] == digest_key(sub.id, dt.date(2026, 5, 26))
        text = json.dumps(posted["blocks"], ensure_ascii=False)
        for item in reply.items:
            assert json.dumps(item.label, ensure_ascii=False)[1:-1] in text
    finally:
        bot.close()
