"""kill -9 in the middle of a batch: claimed together, partly posted, none recorded; the next pass posts the
rest and duplicates nothing.

A real `python -m bot deliver --at` claims every channel's digest in one batch and posts with several posts
in flight (`PLEDGEBOT_DELIVERY_CONCURRENCY`); the fake Slack SIGKILLs it at its k-th chat.postMessage (after
posting that one, or before), when the whole batch is claimed and nothing is recorded. A second process,
started once the dead one's claim leases have run out, retakes the batch, looks in each channel and posts
only what is missing. On both state stores.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from aiohttp import web

from bot.reminders.delivery import digest_key
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlack
from tests.reliability.processes import Bot, StateDB, poll, prepare_db
from tests.reliability.test_crash import DAY, START, digests, ledger_rows, subscription_ids

pytestmark = pytest.mark.soak

CHANNELS = [f"CBATCH{i:02d}" for i in range(24)]
LEASE_SECONDS = 0.5


class KillingSlack(FakeSlack):
    """The fake Slack, which SIGKILLs the process under test at its `at`-th chat.postMessage."""

    def __init__(self, at: int, after: bool) -> None:
        super().__init__()
        self.at, self.after = at, after
        self.bot: Bot | None = None
        self.posts = 0
        self.ledger_at_kill: dict[str, tuple[str, str | None, str]] = {}
        self.db: StateDB | None = None

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["method"] != "chat.postMessage" or self.bot is None:
            return await super()._api(request)
        self.posts += 1
        if self.posts != self.at:
            return await super()._api(request)
        response = await super()._api(request) if self.after else None
        self.bot.kill()
        await self.bot.process.wait()
        assert self.db is not None
        self.ledger_at_kill = ledger_rows(self.db)
        self.bot = None
        return response or web.json_response({"ok": False, "error": "fatal_error"}, status=503)


def env_for(slack: FakeSlack, db: StateDB) -> dict[str, str]:
    return {
        **db.env(),
        "PLEDGEBOT_CLAIM_LEASE_SECONDS": str(LEASE_SECONDS),
        "PLEDGEBOT_DELIVERY_CONCURRENCY": "4",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
    }


@pytest.mark.parametrize("after", [True, False], ids=["after-posting", "before-posting"])
async def test_a_batch_killed_midway_is_finished_by_the_next_pass_once(
    state_backend: str, state_url: str | None, tmp_path: Path, after: bool
):
    db = StateDB(tmp_path / "p.db", state_url)
    prepare_db(db.path, CHANNELS, database_url=state_url)
    async with KillingSlack(at=7, after=after) as slack:
        slack.db = db
        first = await Bot.start(["deliver", "--at", START.isoformat()], env_for(slack, db), tmp_path)
        slack.bot = first
        try:
            assert await first.wait(60) == -9, first.log
        finally:
            await first.close()
        # Killed inside the batch: every channel claimed, none recorded, some already posted.
        at_kill = slack.ledger_at_kill
        assert sorted(at_kill) == sorted(CHANNELS)
        assert {state for state, _, _ in at_kill.values()} == {"claimed"}
        posted = [c for c in CHANNELS if digests(slack, c)]
        assert 6 <= len(posted) < len(CHANNELS)

        # The next pass, once the dead process's claims have run out on the real clock.
        leases = [dt.datetime.fromisoformat(lease) for _, _, lease in at_kill.values()]
        await poll(lambda: dt.datetime.now(dt.UTC) > max(leases), 10, "the claims' leases to run out")
        second = await Bot.start(
            ["deliver", "--at", (START + dt.timedelta(minutes=1)).isoformat()], env_for(slack, db), tmp_path
        )
        try:
            assert await second.wait(60) == 0, second.log
        finally:
            await second.close()
        assert "Delivery pass: 24 sent" in second.stdout, second.stdout

        ids = subscription_ids(db)
        rows = ledger_rows(db)
        for channel in CHANNELS:
            found = digests(slack, channel)
            assert len(found) == 1, f"{channel} holds {len(found)} digests"
            assert found[0]["metadata"]["event_payload"]["key"] == digest_key(ids[channel], DAY)
            assert rows[channel][:2] == ("sent", found[0]["ts"])
        # Only the retaken claims were looked up, once each; only the missing digests were posted again (the
        # request the fake killed on, before posting, is not among its calls).
        assert len(slack.calls_to("conversations.history")) == len(CHANNELS)
        assert len(slack.calls_to("chat.postMessage")) == len(CHANNELS)
    for bot in (first, second):
        assert BOT_TOKEN not in bot.log and "Traceback" not in bot.log
