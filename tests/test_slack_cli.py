"""The acceptance path: `python -m bot slack` configured only through the environment, against the fake,
in HTTP mode and in Socket Mode, stopping cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import pytest

from bot.config import ROOT
from tests.conftest import HOTLINE_QUOTE
from tests.fakes.slack_api import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    form_body,
    signed_headers,
    slash_command,
)

START_TIMEOUT = 30.0


@pytest.fixture
def slack_users() -> dict[str, dict]:
    return {"U0REPORTER": {}}


def free_port() -> int:
    """A port that was free a moment ago (the OS may hand it out again, but not within one test)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def run_bot(env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    """Start `python -m bot slack`; cwd is the test's own folder so no developer `.env` is read."""
    base = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "PLEDGEBOT_DB": str(cwd / "p.db")}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "slack", cwd=cwd, env={**base, **env}, stderr=asyncio.subprocess.PIPE
    )


async def wait_for_line(process: asyncio.subprocess.Process, needle: str, seen: list[str]) -> None:
    """Read stderr (bounded) until a line contains `needle`."""

    async def read() -> None:
        while True:
            line = await process.stderr.readline()
            assert line, f"the bot exited before logging {needle!r}:\n{''.join(seen)}"
            seen.append(line.decode())
            if needle in seen[-1]:
                return

    await asyncio.wait_for(read(), START_TIMEOUT)


async def stop(process: asyncio.subprocess.Process, seen: list[str]) -> str:
    """SIGTERM the bot, check it exits 0, and return everything it logged."""
    process.send_signal(signal.SIGTERM)
    _, rest = await asyncio.wait_for(process.communicate(), 20)
    log = "".join(seen) + rest.decode()
    assert process.returncode == 0, log
    return log


async def test_http_mode_answers_a_signed_slash_command(slack: FakeSlack, tmp_path: Path):
    port = free_port()
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "PORT": str(port),
    }
    process = await run_bot(env, tmp_path)
    seen: list[str] = []
    try:
        await wait_for_line(process, "Slack: serving HTTP", seen)
        body = form_body(slash_command("hotline", response_url=slack.response_url()))
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"http://127.0.0.1:{port}/slack/events", data=body, headers=signed_headers(body)
            ) as r,
        ):
            assert r.status == 200
        (call,) = await slack.wait_for_calls("response_url", timeout=10)
        text = json.dumps(call.body, ensure_ascii=False)
        assert HOTLINE_QUOTE in text and "2025-05-26" in text
        log = await stop(process, seen)
        assert BOT_TOKEN not in log and SIGNING_SECRET not in log
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_socket_mode_answers_a_slash_command(slack: FakeSlack, tmp_path: Path):
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "SLACK_API_URL": slack.api_url}
    process = await run_bot(env, tmp_path)
    seen: list[str] = []
    try:
        await slack.wait_connected(timeout=START_TIMEOUT)
        envelope_id = await slack.push(
            "slash_commands", slash_command("hotline", response_url=slack.response_url())
        )
        await slack.wait_for_ack(envelope_id, timeout=10)
        (call,) = await slack.wait_for_calls("response_url", timeout=10)
        assert HOTLINE_QUOTE in json.dumps(call.body, ensure_ascii=False)
        log = await stop(process, seen)
        assert BOT_TOKEN not in log and APP_TOKEN not in log
        await slack.wait_disconnected()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
