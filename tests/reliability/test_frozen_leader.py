"""A leader frozen past its lease cannot post when it wakes: the lease's fencing number, on both stores.

A real `python -m bot worker` leads (the scheduler's lease, `PLEDGEBOT_LEASE_SECONDS`, 2 s here) and starts
posting 20 digests due a minute ago; at its 5th chat.postMessage the fake Slack freezes it with SIGSTOP
(after posting that one), so it holds every claim of its batch, none recorded. A standby worker takes the
lease once it has run out (a higher fencing number), retakes those claims at once (made under an older
number), looks in each channel and posts only what is missing. Then the old leader gets SIGCONT: it posts
nothing (its lease is no longer trusted by its own monotonic clock, and its claims are no longer its own),
finds its lease gone and exits 1. Every channel holds one digest: 0 duplicates, 0 lost.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
from pathlib import Path

import pytest
from aiohttp import web

from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN, FakeSlack
from tests.reliability.processes import Bot, StateDB, data_due_today, poll, prepare_db
from tests.reliability.test_crash import digests, ledger_rows

pytestmark = pytest.mark.soak

CHANNELS = [f"C0FROZEN{i:02d}" for i in range(20)]
FREEZE_AT = 5
LEASE = 2.0
HOLDING = "holding the scheduler lock"
STANDING_BY = "standing by"
LOST = "lost the scheduler lock"


class FreezingSlack(FakeSlack):
    """The fake Slack, which SIGSTOPs the process `frozen` after answering its `FREEZE_AT`-th post."""

    def __init__(self) -> None:
        super().__init__()
        self.frozen: Bot | None = None
        self.posts = 0
        self.froze = False

    async def _api(self, request: web.Request) -> web.Response:
        response = await super()._api(request)
        if request.match_info["method"] == "chat.postMessage" and self.frozen is not None:
            self.posts += 1
            if self.posts == FREEZE_AT:
                os.kill(self.frozen.pid, signal.SIGSTOP)
                self.froze = True
        return response


def worker_env(slack: FakeSlack, db: StateDB, path: Path, data: Path) -> dict[str, str]:
    return {
        **db.env(),
        "PLEDGEBOT_DB": str(path),
        "PLEDGEBOT_DATA": str(data),
        "PLEDGEBOT_LEASE_SECONDS": str(LEASE),
        "PLEDGEBOT_STANDBY_RETRY_SECONDS": "0.2",
        "PLEDGEBOT_DELIVERY_CONCURRENCY": "2",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": slack.api_url,
    }


async def test_a_leader_frozen_past_its_lease_posts_nothing_when_it_wakes(
    state_backend: str, state_url: str | None, tmp_path: Path, figures
):
    db = StateDB(tmp_path / "p.db", state_url)
    data = data_due_today(tmp_path / "data")
    due = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).strftime("%H:%M")
    prepare_db(db.path, CHANNELS, at=due, zone="UTC", data_dir=data, database_url=state_url)
    # On PostgreSQL each worker has a local file of its own (two dynos); on SQLite they share the file.
    paths = [tmp_path / "w1.db", tmp_path / "w2.db"] if state_url else [db.path, db.path]
    bots: list[Bot] = []
    try:
        async with FreezingSlack() as slack:
            old = await Bot.start(["worker"], worker_env(slack, db, paths[0], data), tmp_path)
            bots.append(old)
            slack.frozen = old
            await old.wait_for_line(HOLDING)
            await poll(lambda: slack.froze, 30, "the leader to be frozen mid-batch")
            rows = ledger_rows(db)
            assert sorted(rows) == sorted(CHANNELS) and {s for s, _, _ in rows.values()} == {"claimed"}

            new = await Bot.start(["worker"], worker_env(slack, db, paths[1], data), tmp_path)
            bots.append(new)
            await new.wait_for_line(HOLDING, timeout=LEASE + 30)
            await poll(
                lambda: {s for s, _, _ in ledger_rows(db).values()} == {"sent"}, 30, "the new leader's posts"
            )
            before = len(slack.calls_to("chat.postMessage"))
            fences = db.rows("SELECT fence FROM leases WHERE name = 'scheduler'")

            os.kill(old.pid, signal.SIGCONT)
            assert await old.wait(LEASE + 20) == 1, old.log
            assert LOST in old.log, old.log
            after = len(slack.calls_to("chat.postMessage"))
            code, _ = await new.stop()
            assert code == 0, new.log
            for channel in CHANNELS:
                assert len(digests(slack, channel)) == 1, f"{channel}: {len(digests(slack, channel))} digests"
            rows = ledger_rows(db)
    finally:
        for bot in bots:
            await bot.close()
    # The old leader, awake, posted nothing; the new one posted only what the old one had not.
    assert after == before, f"{after - before} posts after SIGCONT"
    assert before == len(CHANNELS) + 0, before
    assert fences == [(2,)]
    assert all(state == "sent" for state, _, _ in rows.values())
    for bot in bots:
        assert "Traceback" not in bot.log, bot.log
        assert BOT_TOKEN not in bot.log and APP_TOKEN not in bot.log
    figures.add(f"frozen_leader.{state_backend}.duplicates", 0)
