"""Secrets never reach a log line, a reply, or anything sent to Slack or Discord except the one header (or
gateway IDENTIFY) where they belong; configuration errors name the variable and never print its value.

Each test runs the adapters through representative flows, failures included, with distinctive secrets and
DEBUG logging, then scans every log record, stdout/stderr, every reply and every request the fakes received.
The reliability suite's autouse guard (conftest.py) also checks every other reliability test's log lines.
Every test here also writes its logs as `LOG_FORMAT=json` does: each line must parse as one JSON object with
the documented fields, carry no secret, and (at INFO and above) nothing the users typed beyond the command
word.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import secrets
import time
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route
from hypothesis import example, given
from hypothesis import strategies as st

from adapters.slack_app.delivery import deliverer as slack_deliverer
from adapters.slack_app.server import SlackStartError, serve
from bot import cli, logs
from bot.cli import open_bot
from bot.config import ConfigError, Secret, Settings, load_settings
from tests.fakes.discord_api import MANAGE_CHANNELS, MEMBER_PERMISSIONS, FakeDiscord
from tests.fakes.slack_api import (
    CLIENT_ID,
    SIGNING_SECRET,
    FakeSlack,
    block_actions,
    event_callback,
    form_body,
    interactive_body,
    signed_headers,
    slash_command,
)
from tests.reliability.conftest import Figures, fuzz_settings, guard_secret
from tests.test_discord_gateway import start as start_discord
from tests.test_slack_http import start as start_slack
from tests.test_slack_oauth import at_nine, command, event, install

pytestmark = pytest.mark.fuzz

RUN = secrets.token_hex(6)
SLACK_BOT = f"xoxb-9999-{RUN}-botsecret"
SLACK_SIGNING = f"signing{RUN}secret"
SLACK_APP = f"xapp-1-A0X-{RUN}-appsecret"
DISCORD_TOKEN = f"MTk4NjIy.{RUN}.discordsecret"
SLACK_CLIENT_SECRET = f"client{RUN}secret"
ALL = (SLACK_BOT, SLACK_SIGNING, SLACK_APP, DISCORD_TOKEN, SLACK_CLIENT_SECRET)
ADMIN, MEMBER, CHANNEL = "U0EDITOR", "U0REPORTER", "C0POLITICS"
WAIT = 5.0


# Typed by the tests' users after a command word: no log line at INFO or above may repeat it.
TYPED = f"typed{RUN}words"


@pytest.fixture(autouse=True)
def _guard() -> None:
    guard_secret(*ALL)


@pytest.fixture(autouse=True)
def json_logs(figures: Figures) -> Iterator[io.StringIO]:
    """Every record also formatted as LOG_FORMAT=json formats it; afterwards each line is parsed, scanned."""
    handler = logs.handler(load_settings({"LOG_FORMAT": "json"}).log_format)
    assert isinstance(handler, logging.StreamHandler)
    out = io.StringIO()
    handler.setStream(out)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield out
    finally:
        root.removeHandler(handler)
    lines = out.getvalue().splitlines()
    parsed = [json.loads(line) for line in lines]
    assert all(isinstance(p, dict) and {"time", "level", "logger", "message"} <= p.keys() for p in parsed)
    requests = [p for p in parsed if "request_id" in p]
    assert all({"platform", "channel"} <= p.keys() and ("workspace" in p or "guild" in p) for p in requests)
    scan(figures, lines, "a JSON log line")
    informative = [line for line, p in zip(lines, parsed, strict=True) if p["level"] != "DEBUG"]
    scan(figures, informative, "a JSON log line at INFO or above", [TYPED])
    figures.add("secrets.json_log_lines_parsed", len(parsed))


def scan(figures: Figures, texts: Iterable[str], where: str, secrets: Iterable[str] = ALL) -> None:
    """Fail if any secret of this run (or of `secrets`) appears in any of `texts`; count what was scanned."""
    count = 0
    secrets = tuple(secrets)
    for text in texts:
        count += 1
        for secret in secrets:
            assert secret not in text, f"a secret appeared in {where}"
    figures.add("secrets.texts_scanned", count)


def log_lines(caplog) -> list[str]:
    return [r.getMessage() + (caplog.handler.format(r) if r.exc_info else "") for r in caplog.records]


# -- configuration -----------------------------------------------------------------------------------------

VARIABLES = [
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
    "DISCORD_TOKEN",
    "SLACK_API_URL",
    "DISCORD_API_BASE",
    "DISCORD_GUILD_IDS",
    "DISCORD_PUBLIC_KEY",
    "PORT",
    "PLEDGEBOT_TIMEZONE",
    "PLEDGEBOT_REMINDER_GRACE_HOURS",
    "LOG_LEVEL",
    "PLEDGEBOT_DATA",
]
MARK = "Zq7SECRETq"  # in every generated value, so that a leak is unmistakable


def _value() -> st.SearchStrategy[str]:
    noise = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
    return st.tuples(
        noise, noise, st.sampled_from(["", "xoxb-", "xapp-", "http://", " ", "\n", "Asia/"])
    ).map(lambda t: t[2] + t[0] + MARK + t[1])


@fuzz_settings
@given(name=st.sampled_from(VARIABLES), value=_value())
@example(name="SLACK_BOT_TOKEN", value=f"xoxp-{MARK}")
@example(name="SLACK_APP_TOKEN", value=f"xoxb-{MARK}")
@example(name="DISCORD_TOKEN", value=f"{MARK} with spaces")
@example(name="PLEDGEBOT_TIMEZONE", value=f"Asia/{MARK}")
@example(name="SLACK_SIGNING_SECRET", value=MARK)
@example(name="SLACK_CLIENT_SECRET", value=f"{MARK} with spaces")
@example(name="SLACK_CLIENT_SECRET", value=MARK)
@example(name="SLACK_CLIENT_ID", value=f"123.{MARK}")
def test_config_errors_name_the_variable_never_the_value(figures: Figures, name: str, value: str):
    figures.add("secrets.config_values_tried")
    env = {name: value}
    if name == "SLACK_BOT_TOKEN" and value.strip().startswith("xoxb-"):
        env["SLACK_SIGNING_SECRET"] = "s"  # complete, so the token itself is what is judged
    if name == "SLACK_CLIENT_SECRET":
        # Complete distribution, so the secret itself is what is judged.
        env |= {"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_SIGNING_SECRET": "s"}
    try:
        settings = load_settings(env)
    except ConfigError as error:
        figures.add("secrets.config_errors")
        assert MARK not in str(error) and MARK not in repr(error)
        assert any(v in str(error) for v in VARIABLES)
    else:
        # Accepted: then a secret is held as a Secret that never prints itself.
        for field in (
            "slack_bot_token",
            "slack_signing_secret",
            "slack_app_token",
            "discord_token",
            "slack_client_secret",
        ):
            held = getattr(settings, field)
            if held is not None:
                assert isinstance(held, Secret) and MARK not in f"{held} {held!r} {settings!r}"


@pytest.mark.parametrize(
    ("name", "value"),
    [("DISCORD_GUILD_IDS", "123,²"), ("DISCORD_GUILD_IDS", "9" * 5000), ("PLEDGEBOT_TIMEZONE", "Etc")],
    ids=["superscript-digit", "5000-digits", "zone-folder"],
)
def test_malformed_values_are_config_errors_not_crashes(name: str, value: str):
    with pytest.raises(ConfigError, match=name) as error:
        load_settings({name: value})
    assert value not in str(error.value)


def test_cli_prints_config_errors_without_the_value(monkeypatch, tmp_path: Path, capsys, figures: Figures):
    monkeypatch.chdir(tmp_path)  # no developer .env
    for name, value in [
        ("SLACK_BOT_TOKEN", f"xoxp-{MARK}"),
        ("DISCORD_TOKEN", f"a {MARK}"),
        ("PORT", MARK),
        ("SLACK_CLIENT_SECRET", MARK),
    ]:
        monkeypatch.setenv(name, value)
        assert cli.main(["ask", "hotline"]) == 2
        monkeypatch.delenv(name)
        captured = capsys.readouterr()
        assert name in captured.err
        scan(figures, [captured.out, captured.err], "the CLI's output")
        assert MARK not in captured.out + captured.err


# -- Slack ---------------------------------------------------------------------------------------------------


@pytest.fixture
def slack_users() -> dict[str, dict]:
    return {ADMIN: {"admin": True}, MEMBER: {}}


def slack_settings(tmp_path: Path, slack: FakeSlack, **extra) -> Settings:
    return Settings(
        db_path=tmp_path / "pledgebot.db",
        slack_bot_token=Secret(SLACK_BOT),
        slack_signing_secret=Secret(SLACK_SIGNING),
        slack_api_url=slack.api_url,
        port=0,
        **extra,
    )


def sent_to_slack(slack: FakeSlack) -> list[str]:
    """Everything the app sent to Slack, except the Authorization header where the bot token belongs."""
    return [
        json.dumps(
            {
                "path": c.path,
                "body": c.body,
                "headers": {k: v for k, v in c.headers.items() if k != "Authorization"},
            }
        )
        for c in slack.calls
    ]


class BrokenCore:
    def handle(self, text, ctx):
        raise RuntimeError(f"database is locked while answering {text!r}")

    def healthy(self):
        return False


async def test_slack_http_flows_leak_no_secret(
    tmp_path: Path, slack: FakeSlack, caplog, capfd, figures: Figures, json_logs: io.StringIO
):
    caplog.set_level("DEBUG")
    settings = slack_settings(tmp_path, slack)
    bot = open_bot(settings)
    core = bot.core
    answers: list[str] = []
    try:
        for target in (core, BrokenCore()):
            stopping = asyncio.Event()
            ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            task = asyncio.create_task(serve(target, settings, stopping, host="127.0.0.1", ready=ready))
            url = await asyncio.wait_for(ready, WAIT)
            async with aiohttp.ClientSession() as session:

                async def post(body: str, headers: dict, url: str = url) -> None:
                    async with session.post(f"{url}/slack/events", data=body, headers=headers) as r:
                        answers.append(f"{r.status} {dict(r.headers)} {await r.text()}")

                for i, (user, text) in enumerate(
                    [
                        (MEMBER, "hotline"),
                        (ADMIN, "subscribe 08:30 UTC"),
                        (MEMBER, "unsubscribe"),
                        (ADMIN, "on 2025-02-30"),
                        (MEMBER, f"show {TYPED}"),
                    ]
                ):
                    body = form_body(
                        slash_command(text, user_id=user, response_url=slack.response_url(f"c{i}"))
                    )
                    await post(body, signed_headers(body, secret=SLACK_SIGNING))
                    await post(body, signed_headers(body, secret="wrong"))  # refused
                    await post(
                        body, signed_headers(body, secret=SLACK_SIGNING, timestamp=int(time.time()) - 900)
                    )
                slack.fail_next("chat.postMessage", 1, status=500)
                click = block_actions(
                    "pledge_share_0", "show inter-korean-hotline", response_url=slack.response_url("s")
                )
                body = interactive_body(click)
                await post(body, signed_headers(body, secret=SLACK_SIGNING))
                await slack.wait_for_calls("response_url", 5 if target is core else 1)
            stopping.set()
            await asyncio.wait_for(task, WAIT)
        # A rejected bot token stops start-up with a message that names the variable only.
        slack.invalid_tokens.add(SLACK_BOT)
        with pytest.raises(SlackStartError) as error:
            await asyncio.wait_for(serve(core, settings, asyncio.Event(), host="127.0.0.1"), WAIT)
        answers.append(str(error.value))
    finally:
        bot.close()
    out, err = capfd.readouterr()
    assert caplog.records
    scan(figures, log_lines(caplog), "a log line")
    scan(figures, [out, err], "stdout or stderr")
    scan(figures, answers, "an HTTP answer or error message")
    scan(figures, sent_to_slack(slack), "a request to Slack")
    # The token did go where it belongs.
    assert any(c.headers.get("Authorization") == f"Bearer {SLACK_BOT}" for c in slack.calls)
    # JSON lines inside a request say where it came from and which command it was.
    shown = [
        p
        for p in map(json.loads, json_logs.getvalue().splitlines())
        if p.get("platform") == "slack" and p.get("command") == "show"
    ]
    assert shown and all(p["workspace"] == "T0NEWSROOM" and p["channel"] == CHANNEL for p in shown)
    assert len({p["request_id"] for p in shown}) == 1  # one `show` request, one id


async def test_slack_socket_mode_flows_leak_no_secret(
    tmp_path: Path, slack: FakeSlack, caplog, capfd, figures
):
    caplog.set_level("DEBUG")
    settings = replace(
        slack_settings(tmp_path, slack), slack_signing_secret=None, slack_app_token=Secret(SLACK_APP)
    )
    bot = open_bot(settings)
    core = bot.core
    try:
        stopping = asyncio.Event()
        ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(serve(core, settings, stopping, ready=ready))
        assert await asyncio.wait_for(ready, WAIT) == "socket-mode"
        for i, (user, text) in enumerate([(MEMBER, "hotline"), (ADMIN, "subscribe"), (MEMBER, "구독취소")]):
            envelope = await slack.push(
                "slash_commands", slash_command(text, user_id=user, response_url=slack.response_url(f"m{i}"))
            )
            await slack.wait_for_ack(envelope)
        await slack.wait_for_calls("response_url", 3)
        stopping.set()
        await asyncio.wait_for(task, WAIT)
    finally:
        bot.close()
    out, err = capfd.readouterr()
    scan(figures, log_lines(caplog), "a log line")
    scan(figures, [out, err], "stdout or stderr")
    scan(figures, [json.dumps(a) for a in slack.acks], "a Socket Mode ack")
    scan(figures, sent_to_slack(slack), "a request to Slack")
    assert any(c.headers.get("Authorization") == f"Bearer {SLACK_APP}" for c in slack.calls)


async def test_slack_distribution_leaks_no_client_secret_or_installation_token(
    tmp_path: Path, slack: FakeSlack, caplog, capfd, figures: Figures, clock
):
    """Installs, a token refresh, commands, a failed install, a digest and an uninstall, at DEBUG: the client
    secret, every bot token Slack issued and every refresh token stay out of logs, pages and answers, and
    reach Slack only where they belong (HTTP Basic auth; a token's own Authorization header; the refresh
    token in the refresh's body)."""
    caplog.set_level("DEBUG")
    slack.client_secret = SLACK_CLIENT_SECRET
    settings = Settings(
        db_path=tmp_path / "pledgebot.db",
        slack_client_id=CLIENT_ID,
        slack_client_secret=Secret(SLACK_CLIENT_SECRET),
        slack_signing_secret=Secret(SIGNING_SECRET),
        slack_api_url=slack.api_url,
        port=0,
    )
    bot = open_bot(settings, clock=clock)
    pages: list[str] = []
    try:
        async for running in start_slack(bot.core, settings, slack, installations=bot.installations):
            # A rotating token with a minute left: the first command refreshes it.
            pages.append(await install(running, slack.grant("T0DESK", rotation=True, expires_in=60)))
            pages.append(await install(running, slack.grant("T0OTHER")))
            pages.append(await install(running, "code-never-granted", status=401))
            for team, user, text in [
                ("T0DESK", MEMBER, "hotline"),
                ("T0DESK", ADMIN, "subscribe 09:00"),
                ("T0OTHER", MEMBER, "on 2025-02-30"),
                ("T0NOBODY", MEMBER, "hotline"),
            ]:
                pages.append(json.dumps(await command(running, text, team, user=user)))
            await event(running, event_callback({"type": "app_uninstalled"}, team_id="T0OTHER"))
            await slack.wait_for_calls("response_url", 4)
        async with slack_deliverer(settings, bot.installations) as deliverer:
            await bot.delivery({"slack": deliverer}).run_pass(at_nine())
    finally:
        bot.close()
    issued = [*slack.tokens, *slack.refresh_tokens]
    assert len(slack.refresh_tokens) == 2 and len(issued) >= 5  # the grants' tokens, and one refresh's
    secrets = [*ALL, *issued]
    guard_secret(*issued)
    out, err = capfd.readouterr()
    scan(figures, log_lines(caplog), "a log line", secrets)
    scan(figures, [out, err], "stdout or stderr", secrets)
    scan(figures, pages, "a page or an answer", secrets)
    sent = [
        json.dumps(
            {
                "path": c.path,
                # A refresh sends the refresh token in its body: that is where it belongs.
                "body": {k: v for k, v in c.body.items() if k != "refresh_token"},
                "headers": {k: v for k, v in c.headers.items() if k != "Authorization"},
            }
        )
        for c in slack.calls
    ]
    scan(figures, sent, "a request to Slack", secrets)
    # And they did go where they belong.
    assert any(c.body.get("refresh_token") == slack.refresh_tokens[0] for c in slack.calls)
    assert any(c.token == slack.tokens_of("T0DESK")[-1] for c in slack.calls_to("chat.postMessage"))


# -- Discord -------------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def discord_defaults() -> None:
    base, gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    yield
    Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = base, gateway


def sent_to_discord(fake: FakeDiscord) -> list[str]:
    """Everything the bot sent to Discord except the Authorization header and IDENTIFY/RESUME's token."""
    frames = []
    for frame in fake.gateway_received.items:
        if frame.get("op") in (2, 6) and isinstance(frame.get("d"), dict):
            frame = {**frame, "d": {k: v for k, v in frame["d"].items() if k != "token"}}
        frames.append(json.dumps(frame, ensure_ascii=False))
    requests = [
        json.dumps([r.method, r.path, r.query, r.body], ensure_ascii=False, default=str)
        for r in fake.requests.items
    ]
    return frames + requests


async def test_discord_flows_leak_no_secret(tmp_path: Path, caplog, capfd, figures: Figures, clock):
    caplog.set_level("DEBUG")
    fake = FakeDiscord(token=DISCORD_TOKEN)
    await fake.start()
    settings = Settings(
        db_path=tmp_path / "pledgebot.db",
        discord_token=Secret(DISCORD_TOKEN),
        discord_api_base=fake.base_url,
        discord_guild_ids=(fake.guild_id,),
    )
    bot = open_bot(settings, clock=clock)
    core = bot.core
    replies: list[str] = []
    try:
        running = await start_discord(fake, core, settings)
        manager = MEMBER_PERMISSIONS | MANAGE_CHANNELS
        for command, options in [
            ("pledge", {"query": "hotline"}),
            ("pledges on", {"date": "2025-02-30"}),
            ("reminders subscribe", {"time": "08:30", "permissions": manager}),
            ("reminders subscribe", {"time": "08:30"}),
            ("reminders unsubscribe", {"permissions": manager}),
        ]:
            replies.append(json.dumps(await fake.run_command(command, **options), ensure_ascii=False))
        asked = fake.interaction(2, fake.command("pledge", query="hotline"))
        await fake.send_interaction(asked)
        await fake.callback_for(asked)
        share = next(
            b["custom_id"]
            for b in fake.original(asked)["components"][0]["components"]
            if b["custom_id"].startswith("pledgebot:share:")
        )
        replies.append(json.dumps(await fake.click(fake.original(asked), share), ensure_ascii=False))
        # The core failing: the user gets an apology, the log a traceback, neither the token.
        original = core.handle
        core.handle = lambda text, ctx: (_ for _ in ()).throw(RuntimeError("disk I/O error"))  # type: ignore[method-assign]
        replies.append(json.dumps(await fake.run_command("pledge", query="hotline"), ensure_ascii=False))
        core.handle = original  # type: ignore[method-assign]
        await running.stop()
        # A wrong token: login fails with discord.py's message, which does not repeat it.
        wrong = replace(settings, discord_token=Secret(DISCORD_TOKEN + "x"))
        guard_secret(DISCORD_TOKEN + "x")
        with pytest.raises(Exception) as error:
            await asyncio.wait_for(start_discord(fake, core, wrong), 15)
        replies.append(f"{error.value!s} {error.value!r}")
    finally:
        bot.close()
        await fake.close()
    out, err = capfd.readouterr()
    assert caplog.records
    scan(figures, log_lines(caplog), "a log line")
    scan(figures, [out, err], "stdout or stderr")
    scan(figures, replies, "a reply")
    scan(figures, sent_to_discord(fake), "a request or gateway frame sent to Discord")
    assert any(r.authorization == f"Bot {DISCORD_TOKEN}" for r in fake.requests.items)


async def test_discord_http_interactions_leak_no_secret(
    tmp_path: Path, caplog, capfd, figures: Figures, clock
):
    """The web process's `/discord/interactions`: commands, a button, autocomplete, refused requests and a
    failing core, with DEBUG logs; the token is only ever in the Authorization header."""
    from tests.test_discord_http import serve

    caplog.set_level("DEBUG")
    fake = FakeDiscord(token=DISCORD_TOKEN, interactions_endpoint_url="https://pledgebot.example/d")
    await fake.start()
    settings = fake.settings(tmp_path / "pledgebot.db", discord_public_key=fake.public_key)
    bot = open_bot(settings, clock=clock)
    core = bot.core
    replies: list[str] = []
    try:
        async for web in serve(fake, bot, core, settings):
            asked = fake.interaction(2, fake.command("pledge", query="hotline"))
            answers = [await web.send(asked)]
            share = next(
                b["custom_id"]
                for b in fake.original(asked)["components"][0]["components"]
                if b["custom_id"].startswith("pledgebot:share:")
            )
            answers.append(await web.click(fake.original(asked), share))
            answers.append(
                await web.send(fake.interaction(4, fake.command("pledge", focused="query", query="hot")))
            )
            unsigned = fake.interaction(2, fake.command("reminders subscribe", time="08:30"))
            answers.append(await web.send(unsigned, headers={"Content-Type": "application/json"}))
            stale = json.dumps(unsigned).encode()
            answers.append(
                await web.send(unsigned, headers=fake.signed(stale, timestamp=int(time.time()) - 900))
            )
            original = core.handle
            core.handle = lambda text, ctx: (_ for _ in ()).throw(RuntimeError("disk I/O error"))  # type: ignore[method-assign]
            answers.append(await web.send(fake.interaction(2, fake.command("pledge", query="hotline"))))
            core.handle = original  # type: ignore[method-assign]
            replies += [json.dumps([a.status, a.body], ensure_ascii=False) for a in answers]
    finally:
        bot.close()
        await fake.close()
    out, err = capfd.readouterr()
    assert caplog.records
    scan(figures, log_lines(caplog), "a log line")
    scan(figures, [out, err], "stdout or stderr")
    scan(figures, replies, "an HTTP answer")
    scan(figures, sent_to_discord(fake), "a request sent to Discord")
    assert any(r.authorization == f"Bot {DISCORD_TOKEN}" for r in fake.requests.items)
