"""Many web processes, one worker and its standby, on one real PostgreSQL: the Procfile's shape scaled out.

Two `pledgebot web` processes (Slack over HTTP and Discord interactions over HTTP, each with its own local
SQLite file, as two dynos would have) and two `pledgebot worker` processes share a PostgreSQL database.
Lookups go to both web processes on both platforms and are answered; a channel subscribes through each web
process for a minute still to come; the leading worker is killed with SIGKILL before that minute; the standby
takes the scheduler over and posts each channel's digest when it falls due, exactly once.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from adapters.discord_app.interactions import PATH as DISCORD_PATH
from tests.conftest import HOTLINE_QUOTE, HOTLINE_QUOTE_DISCORD_BOLD, ROOT
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.slack_api import (
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    form_body,
    signed_headers,
    slash_command,
)
from tests.reliability.processes import Bot, data_due_today, free_port, poll

pytestmark = pytest.mark.soak

ADMIN = "U0ADMIN"
DISCORD_TOKEN = "scale-out-test-token"
SEOUL = ZoneInfo("Asia/Seoul")
HOLDING = "holding the scheduler lock"
STANDING_BY = "standing by"
CHANNELS = ("C0FIRST", "C0SECOND")
# Long enough for two processes' start-up on a loaded machine; every wait below is bounded by it.
WAIT = 60.0


def base_env(slack: FakeSlack, discord: FakeDiscord, url: str, data: Path, db: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": url,
        "PLEDGEBOT_DB": str(db),
        "PLEDGEBOT_DATA": str(data),
        "PLEDGEBOT_STANDBY_RETRY_SECONDS": "0.5",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "DISCORD_TOKEN": DISCORD_TOKEN,
        "DISCORD_API_BASE": discord.base_url,
        "DISCORD_PUBLIC_KEY": discord.public_key,
        "DISCORD_GUILD_IDS": str(discord.guild_id),
    }


async def slash(
    session: aiohttp.ClientSession, port: int, slack: FakeSlack, text: str, channel: str, name: str
):
    """A signed /pledge to one web process; return the text of its answer through the response_url."""
    fields = slash_command(text, response_url=slack.response_url(name), user_id=ADMIN, channel_id=channel)
    body = form_body(fields)
    async with session.post(
        f"http://127.0.0.1:{port}/slack/events", data=body, headers=signed_headers(body)
    ) as response:
        assert response.status == 200
    await poll(lambda: answer_to(slack, name) is not None, WAIT, f"the answer to {text!r}")
    return json.dumps(answer_to(slack, name), ensure_ascii=False)


def answer_to(slack: FakeSlack, name: str) -> dict | None:
    """The body posted to the response_url called `name`, if any yet."""
    path = f"/response/{name}"
    return next((c.body for c in slack.calls_to("response_url") if c.path == path), None)


def digests(slack: FakeSlack, channel: str) -> list[dict]:
    return [
        call.body
        for call in slack.calls_to("chat.postMessage")
        if call.body.get("channel") == channel and call.body.get("metadata")
    ]


def a_minute_to_come() -> str:
    """The first Seoul minute at least 25 s away: time to start two workers and kill one before it."""
    soon = dt.datetime.now(SEOUL) + dt.timedelta(seconds=25)
    at = soon.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    if at.date() != dt.datetime.now(SEOUL).date():
        pytest.skip("the digests' minute would fall tomorrow in Seoul; it is just before midnight there")
    return at.strftime("%H:%M")


async def test_two_web_processes_and_two_workers_on_one_postgres(tmp_path: Path, database_url: str):
    url = database_url
    # The seed, so lookups find the hotline, and an event due today, so the digests are not empty.
    data = data_due_today(Path(shutil.copytree(ROOT / "data", tmp_path / "data")))
    at = a_minute_to_come()
    async with FakeSlack() as slack:
        slack.add_user(ADMIN, admin=True)
        discord = FakeDiscord(token=DISCORD_TOKEN, interactions_endpoint_url="https://example.test/i")
        await discord.start()
        processes: list[Bot] = []
        try:
            # The deploy registers the commands once (the release phase); web processes never do.
            sync = await Bot.start(
                ["discord", "sync"], base_env(slack, discord, url, data, tmp_path / "s.db"), tmp_path
            )
            processes.append(sync)
            assert await sync.wait(WAIT) == 0, sync.log
            ports = [free_port(), free_port()]
            webs = []
            for i, port in enumerate(ports):
                env = {**base_env(slack, discord, url, data, tmp_path / f"web{i}.db"), "PORT": str(port)}
                webs.append(await Bot.start(["web"], env, tmp_path))
            processes += webs
            for web, port in zip(webs, ports, strict=True):
                await web.wait_for_line(f"Slack: serving HTTP on 0.0.0.0:{port}", WAIT)

            async with aiohttp.ClientSession() as session:
                # Both web processes answer lookups on both platforms.
                for i, port in enumerate(ports):
                    said = await slash(session, port, slack, "hotline", "C0LOOKUP", f"look{i}")
                    assert HOTLINE_QUOTE in said, said
                    answer = await discord.post_interaction(
                        f"http://127.0.0.1:{port}{DISCORD_PATH}",
                        discord.interaction(2, discord.command("pledge", query="hotline")),
                    )
                    assert answer.status == 200 and not answer.problems, answer
                    assert (
                        answer.body["data"]["embeds"][0]["description"] == "> " + HOTLINE_QUOTE_DISCORD_BOLD
                    )

                # A channel subscribes through each web process, for a minute still to come.
                for i, (port, channel) in enumerate(zip(ports, CHANNELS, strict=True)):
                    said = await slash(session, port, slack, f"subscribe {at}", channel, f"sub{i}")
                    assert at in said, said

            workers = []
            for i in range(2):
                env = base_env(slack, discord, url, data, tmp_path / f"worker{i}.db")
                workers.append(await Bot.start(["worker"], env, tmp_path))
                processes.append(workers[-1])
                await workers[-1].wait_for_line(HOLDING if i == 0 else STANDING_BY, WAIT)
            leader, standby = workers
            assert not any(digests(slack, c) for c in CHANNELS), "a digest came before its time"
            leader.kill()
            assert await leader.wait(WAIT) == -9
            await standby.wait_for_line(HOLDING, WAIT)
            # The digests fall due at `at`, at most about a minute and a half from now.
            await poll(lambda: all(digests(slack, c) for c in CHANNELS), 150, "the standby's digests")

            # Exactly once: stop everything cleanly, then count again.
            for process in [standby, *webs]:
                code, _ = await process.stop()
                assert code == 0, process.log
            assert [len(digests(slack, c)) for c in CHANNELS] == [1, 1]
            for process in processes:
                assert "Traceback" not in process.log, process.log
                assert BOT_TOKEN not in process.log and DISCORD_TOKEN not in process.log
        finally:
            for process in processes:
                await process.close()
            await discord.close()
