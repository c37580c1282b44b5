"""Slack distribution end to end: workspaces install through Bolt's real OAuth flow (`/slack/install`, then
`/slack/oauth_redirect` with Slack's code) against the fake Slack, and each is answered and posted to with
its own token; uninstalls, token rotation, an Enterprise Grid org and the publisher's desk, on both state
backends."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import html
import json
import re
import time
import urllib.parse
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest

from adapters.slack_app.delivery import deliverer as slack_deliverer
from adapters.slack_app.installations import NOT_INSTALLED, SlackInstallations
from bot import cli
from bot.cli import Bot, open_bot
from bot.config import ConfigError, Secret, Settings, load_settings
from tests.conftest import HOTLINE_QUOTE_SLACK_BOLD
from tests.fakes.slack_api import (
    CLIENT_ID,
    CLIENT_SECRET,
    SIGNING_SECRET,
    FakeSlack,
    block_actions,
    event_callback,
    form_body,
    interactive_body,
    signed_headers,
    slash_command,
)
from tests.test_slack_http import Running, start

DESK = "T0NEWSDESK"  # the publisher's own workspace
CAMPUS = "T0CAMPUS"  # a newsroom that installed the tracker's bot
ORG, LAW = "E0UNIVERSITY", "T0LAWSCHOOL"  # an Enterprise Grid org, and one of its workspaces
STRANGER = "T0STRANGER"  # never installed it
ADMIN, MEMBER = "U0ADMIN", "U0MEMBER"
PUBLISHER = "Korea JoongAng Daily"
SEOUL = ZoneInfo("Asia/Seoul")
DAY = dt.date(2026, 5, 26)  # the seed article's first anniversary: its digest has something in it
WAIT = 5.0


@pytest.fixture
def slack_users() -> dict[str, dict]:
    return {ADMIN: {"admin": True}, MEMBER: {}}


@pytest.fixture
def settings(state_settings: Settings, slack: FakeSlack) -> Settings:
    """Distribution: the app's client id and secret and its signing secret, and no bot token."""
    return dataclasses.replace(
        state_settings,
        slack_client_id=CLIENT_ID,
        slack_client_secret=Secret(CLIENT_SECRET),
        slack_signing_secret=Secret(SIGNING_SECRET),
        slack_api_url=slack.api_url,
        port=0,
        desk_workspaces=frozenset({DESK}),
        publisher=PUBLISHER,
    )


@pytest.fixture
def bot(settings: Settings, clock):
    bot = open_bot(settings, clock=clock)
    yield bot
    bot.close()


@pytest.fixture
async def running(bot: Bot, settings: Settings, slack: FakeSlack) -> AsyncIterator[Running]:
    async for r in start(bot.core, settings, slack, installations=bot.installations):
        yield r


async def install(running: Running, code: str, status: int = 200) -> str:
    """Install the app as a browser does: the install page sets the state cookie and links to Slack's
    authorize page with that state; Slack redirects back with the code. Returns the page it ends on."""
    async with running.session.get(f"{running.url}/slack/install") as page:
        assert page.status == 200
        body = await page.text()
        cookies = page.headers.getall("Set-Cookie")
    [link] = re.findall(r'href="(https://slack\.com/oauth/v2/authorize[^"]*)"', body)
    authorize = urllib.parse.urlsplit(html.unescape(link))
    query = urllib.parse.parse_qs(authorize.query)
    assert authorize.netloc == "slack.com" and query["client_id"] == [CLIENT_ID]
    # Exactly the manifest's bot scopes (tests/test_slack_manifest.py ties SCOPES to it).
    assert set(query["scope"][0].split(",")) >= {"commands", "chat:write", "channels:history"}
    [state] = query["state"]
    [cookie] = [c.split(";")[0] for c in cookies if c.startswith("slack-app-oauth-state=")]
    assert cookie == f"slack-app-oauth-state={state}"
    redirect = f"{running.url}/slack/oauth_redirect?{urllib.parse.urlencode({'code': code, 'state': state})}"
    async with running.session.get(redirect, headers={"Cookie": cookie}) as done:
        text = await done.text()
        assert done.status == status, text
    return text


async def command(
    running: Running, text: str, team: str, user: str = MEMBER, channel: str = "C0POLITICS", **fields
) -> dict:
    """A signed `/pledge text` from `team`; what reaches its response_url."""
    response_url = running.new_response_url()
    body = form_body(
        slash_command(
            text, user_id=user, channel_id=channel, response_url=response_url, team_id=team, **fields
        )
    )
    status, answer = await running.post(body, signed_headers(body))
    assert (status, answer) == (200, "")
    return await running.answer_at(response_url)


async def event(running: Running, payload: dict) -> None:
    """A signed Events API request, acknowledged at once."""
    body = json.dumps(payload)
    status, _ = await running.post(body, signed_headers(body, content_type="application/json"))
    assert status == 200


async def logged(bot: Bot, event_name: str, count: int = 1) -> list:
    """Wait (bounded) until the installation log holds `count` lines of `event_name`; return them."""
    deadline = time.monotonic() + WAIT
    while len(lines := [e for e in bot.installations.log() if e.event == event_name]) < count:
        assert time.monotonic() < deadline, f"no {event_name} was logged"
        await asyncio.sleep(0.02)
    return lines


def tokens_of(slack: FakeSlack, method: str, **body) -> list[str | None]:
    """The token of each call to `method` whose body has these values."""
    return [c.token for c in slack.calls_to(method) if all(c.body.get(k) == v for k, v in body.items())]


def at_nine(day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(9, 5), tzinfo=SEOUL)


async def test_two_workspaces_install_and_each_is_answered_and_posted_to_with_its_own_token(
    running: Running, slack: FakeSlack, bot: Bot, settings: Settings
):
    assert "Thank you!" in await install(running, slack.grant(DESK, installer=ADMIN))
    assert "Thank you!" in await install(running, slack.grant(CAMPUS))
    [desk_token], [campus_token] = slack.tokens_of(DESK), slack.tokens_of(CAMPUS)
    # The flow asked auth.test about each new token, with that token.
    assert tokens_of(slack, "auth.test") == [desk_token, campus_token]
    installed = [(e.team, e.detail) for e in bot.installations.log() if e.event == "installed"]
    assert installed == [(CAMPUS, {"by": "U0INSTALLER"}), (DESK, {"by": ADMIN})]

    for team, token in ((DESK, desk_token), (CAMPUS, campus_token)):
        answer = await command(running, "hotline", team)
        assert HOTLINE_QUOTE_SLACK_BOLD in str(answer["blocks"])
        # Who is asking was asked of Slack with the asker's own workspace's token.
        assert tokens_of(slack, "users.info")[-1] == token
        await command(running, "subscribe 09:00", team, user=ADMIN, channel=f"C0{team}")
    for channel, token in ((f"C0{DESK}", desk_token), (f"C0{CAMPUS}", campus_token)):
        assert set(tokens_of(slack, "conversations.info", channel=channel)) == {token}

    # Sharing posts in the channel with that workspace's token.
    response_url = running.new_response_url()
    click = block_actions(
        "pledge_share_0", "show inter-korean-hotline", response_url=response_url, team_id=CAMPUS
    )
    body = interactive_body(click)
    assert await running.post(body, signed_headers(body)) == (200, "")
    await slack.wait_for_calls("chat.postMessage", 1)
    assert tokens_of(slack, "chat.postMessage") == [campus_token]

    # Each digest goes out with its own workspace's token.
    async with slack_deliverer(settings, bot.installations) as deliverer:
        report = await bot.delivery({"slack": deliverer}).run_pass(at_nine())
    assert len(report.sent) == 2
    assert tokens_of(slack, "chat.postMessage", channel=f"C0{DESK}") == [desk_token]
    assert tokens_of(slack, "chat.postMessage", channel=f"C0{CAMPUS}") == [campus_token]


async def test_a_workspace_without_an_installation_is_refused_without_a_5xx(
    running: Running, slack: FakeSlack
):
    answer = await command(running, "hotline", STRANGER)
    assert answer["text"] == NOT_INSTALLED
    response_url = running.new_response_url()
    click = interactive_body(
        block_actions("pledge_share_0", "show x", response_url=response_url, team_id=STRANGER)
    )
    assert await running.post(click, signed_headers(click)) == (200, "")
    assert (await running.answer_at(response_url))["text"] == NOT_INSTALLED
    # No Web API call was made for it: there is no token to make one with.
    assert [c.method for c in slack.calls] == ["response_url", "response_url"]
    # A redirect without the browser's state cookie, or with a state never issued, installs nothing.
    code = slack.grant(STRANGER)
    async with running.session.get(f"{running.url}/slack/oauth_redirect?code={code}&state=x") as r:
        assert r.status == 400
    cookie = {"Cookie": "slack-app-oauth-state=forged"}
    async with running.session.get(
        f"{running.url}/slack/oauth_redirect?code={code}&state=forged", headers=cookie
    ) as r:
        assert r.status == 401
    assert slack.calls_to("oauth.v2.access") == []


async def test_an_uninstalled_workspace_loses_its_subscriptions_and_editors_and_gets_no_post(
    running: Running, slack: FakeSlack, bot: Bot, settings: Settings, capsys
):
    await install(running, slack.grant(DESK))
    await install(running, slack.grant(CAMPUS))
    for team in (DESK, CAMPUS):
        await command(running, "subscribe 09:00", team, user=ADMIN, channel=f"C0{team}")
        await command(running, "language ko", team, user=ADMIN, channel=f"C0{team}")
    bot.editors.add("slack", CAMPUS, MEMBER, ADMIN, dt.datetime(2026, 5, 20, tzinfo=dt.UTC))

    slack.uninstall(CAMPUS)
    await event(running, event_callback({"type": "app_uninstalled"}, team_id=CAMPUS))
    [removed] = await logged(bot, "app_uninstalled")
    assert (removed.team, removed.detail) == (
        CAMPUS,
        {"workspaces": [CAMPUS], "subscriptions": 1, "editors": 1, "installation": True},
    )
    assert bot.subscriptions.all(workspace=CAMPUS) == []
    assert bot.editors.all("slack", CAMPUS) == []
    assert bot.subscriptions.language("slack", CAMPUS, f"C0{CAMPUS}") is None
    assert bot.installations.find("slack", "", CAMPUS) is None

    async with slack_deliverer(settings, bot.installations) as deliverer:
        report = await bot.delivery({"slack": deliverer}).run_pass(at_nine())
    assert [s for s, _ in report.sent] == [s.id for s in bot.subscriptions.all(workspace=DESK)]
    assert list(slack.messages) == [f"C0{DESK}"]
    campus_tokens = set(slack.tokens_of(CAMPUS))
    assert not campus_tokens & set(tokens_of(slack, "chat.postMessage"))
    # Its requests are refused now, with a 200.
    assert (await command(running, "hotline", CAMPUS))["text"] == NOT_INSTALLED

    # tokens_revoked naming only user tokens changes nothing (the app holds none); naming the bot's, it
    # removes the workspace as an uninstall does.
    revoked = {"type": "tokens_revoked", "tokens": {"oauth": [ADMIN], "bot": []}}
    await event(running, event_callback(revoked, team_id=DESK))
    revoked["tokens"] = {"oauth": [], "bot": ["U0BOT0002"]}
    await event(running, event_callback(revoked, team_id=DESK))
    [gone] = await logged(bot, "tokens_revoked")
    assert gone.team == DESK and gone.detail["subscriptions"] == 1
    assert bot.subscriptions.all(platform="slack") == []
    # Slack repeating an event finds nothing left to delete, and says so in the log.
    await event(running, event_callback({"type": "app_uninstalled"}, team_id=CAMPUS))
    again = await logged(bot, "app_uninstalled", 2)
    assert again[0].detail == {
        "workspaces": [CAMPUS],
        "subscriptions": 0,
        "editors": 0,
        "installation": False,
    }
    # The operator reads when and why, newest first.
    assert cli._installations(bot, argparse.Namespace()) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("  ", 1)[1] for line in lines] == [
        "slack  T0CAMPUS  app_uninstalled: no installation was left; deleted 0 subscription(s) and "
        "0 editor(s)",
        "slack  T0NEWSDESK  tokens_revoked: deleted the installation, 1 subscription(s) and 0 editor(s)",
        "slack  T0CAMPUS  app_uninstalled: deleted the installation, 1 subscription(s) and 1 editor(s)",
        "slack  T0CAMPUS  installed by U0INSTALLER",
        "slack  T0NEWSDESK  installed by U0INSTALLER",
    ]


async def test_a_digest_for_a_workspace_with_no_installation_is_skipped_not_retried(
    slack: FakeSlack, bot: Bot, settings: Settings
):
    """A subscription outliving its installation (an uninstall racing a pass) is skipped, posting nothing."""
    sub, _ = bot.subscriptions.subscribe(
        "slack",
        STRANGER,
        "C0GONE",
        dt.time(9),
        "Asia/Seoul",
        0,
        ADMIN,
        dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
    )
    async with slack_deliverer(settings, bot.installations) as deliverer:
        service = bot.delivery({"slack": deliverer})
        report = await service.run_pass(at_nine())
        assert (sub.id, DAY) in report.skipped and report.failed == [] and report.sent == []
        assert (await service.run_pass(at_nine() + dt.timedelta(minutes=1))).skipped == []
    assert slack.calls == []


async def test_a_desk_command_outside_the_desk_workspaces_names_the_publisher_and_lookups_work(
    running: Running, slack: FakeSlack
):
    await install(running, slack.grant(DESK))
    await install(running, slack.grant(CAMPUS))
    # A workspace admin elsewhere may not edit: the catalogue is the publisher's.
    for text in ("rate inter-korean-hotline kept https://example.com/news", "editors", "undo 1"):
        refused = await command(running, text, CAMPUS, user=ADMIN)
        assert f"This catalogue is edited by {PUBLISHER}" in refused["text"], text
    assert "/pledge rate" not in str(await command(running, "help", CAMPUS, user=ADMIN))
    # Everything else works there.
    assert HOTLINE_QUOTE_SLACK_BOLD in str((await command(running, "hotline", CAMPUS))["blocks"])
    assert "Subscribed" in (await command(running, "subscribe 08:00", CAMPUS, user=ADMIN))["text"]
    assert "inter-korean-hotline" in (await command(running, "cite inter-korean-hotline", CAMPUS))["text"]
    # At the desk, the same admin edits as before.
    assert "/pledge rate" in str(await command(running, "help", DESK, user=ADMIN))
    listed = await command(running, "editors", DESK, user=ADMIN)
    assert PUBLISHER not in listed["text"]


async def test_a_rotating_token_is_refreshed_once_for_two_processes_and_used_everywhere(
    running: Running, slack: FakeSlack, bot: Bot, settings: Settings, clock
):
    # Token rotation on: the first token has a minute left, well inside the two hours before expiry.
    await install(running, slack.grant(DESK, rotation=True, expires_in=60))
    [first] = slack.tokens_of(DESK)
    assert first.startswith("xoxe.xoxb-")
    # A second process on the same state store (its own connections, its own store object).
    other = open_bot(settings, clock=clock)
    try:
        # The fake takes a while to answer a refresh, so that both refreshers need it at the same moment.
        slack.refresh_delay = 0.3
        one = SlackInstallations(bot.installations, settings)
        two = SlackInstallations(other.installations, settings)
        refreshed = await asyncio.gather(one.serving(DESK), two.current(None, DESK, False))
    finally:
        other.close()
    refreshes = [c for c in slack.calls_to("oauth.v2.access") if c.body.get("grant_type") == "refresh_token"]
    assert len(refreshes) == 1
    [_, fresh] = slack.tokens_of(DESK)
    assert [i.bot_token for i in refreshed] == [fresh, fresh]
    stored = bot.installations.find("slack", "", DESK)
    assert stored is not None and stored.body["bot_token"] == fresh
    assert stored.body["bot_token_expires_at"] > time.time() + 11 * 3600
    # The refreshed token is the one every later call uses: a command's, and a digest's.
    await command(running, "subscribe 09:00", DESK, user=ADMIN, channel="C0DESK")
    assert set(tokens_of(slack, "users.info")) == {fresh}
    async with slack_deliverer(settings, bot.installations) as deliverer:
        await bot.delivery({"slack": deliverer}).run_pass(at_nine())
    assert tokens_of(slack, "chat.postMessage") == [fresh]
    assert len(slack.calls_to("oauth.v2.access")) == 2  # the install's exchange and the one refresh


async def test_an_org_wide_install_answers_each_workspace_of_its_org_and_goes_with_them(
    running: Running, slack: FakeSlack, bot: Bot, settings: Settings
):
    await install(running, slack.grant(None, enterprise_id=ORG, org=True))
    [org_token] = slack.tokens_of(ORG)
    stored = bot.installations.find("slack", ORG, "")
    assert stored is not None and stored.body["is_enterprise_install"] is True
    grid = {"enterprise_id": ORG, "org": True}
    answer = await command(running, "hotline", LAW, **grid)
    assert HOTLINE_QUOTE_SLACK_BOLD in str(answer["blocks"])
    [asked] = slack.calls_to("users.info")
    # The org's token, naming the workspace, as Slack needs for an org-wide install.
    assert (asked.token, asked.body.get("team_id")) == (org_token, LAW)
    await command(running, "subscribe 09:00", LAW, user=ADMIN, channel="C0LAW", **grid)
    async with slack_deliverer(settings, bot.installations) as deliverer:
        report = await bot.delivery({"slack": deliverer}).run_pass(at_nine())
    assert len(report.sent) == 1 and tokens_of(slack, "chat.postMessage") == [org_token]

    await event(
        running, event_callback({"type": "app_uninstalled"}, team_id=None, enterprise_id=ORG, org=True)
    )
    [removed] = await logged(bot, "app_uninstalled")
    assert (removed.enterprise, removed.team) == (ORG, "")
    assert removed.detail["workspaces"] == [LAW] and removed.detail["subscriptions"] == 1
    assert bot.subscriptions.all(workspace=LAW) == []
    assert bot.installations.serving("slack", LAW) is None


async def test_an_install_without_the_right_client_secret_stores_nothing(
    slack: FakeSlack, bot: Bot, settings: Settings
):
    wrong = dataclasses.replace(settings, slack_client_secret=Secret("not-the-secret"))
    async for running in start(bot.core, wrong, slack, installations=bot.installations):
        await install(running, slack.grant(DESK), status=401)
    assert bot.installations.find("slack", "", DESK) is None
    assert bot.installations.log() == []


def test_distribution_settings_are_checked_at_start_up(tmp_path):
    base = {"PLEDGEBOT_DB": str(tmp_path / "x.db")}
    oauth = {"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": "c0ffee", "SLACK_SIGNING_SECRET": "s1gn"}
    settings = load_settings({**base, **oauth})
    assert settings.slack_oauth and settings.slack_enabled and not settings.slack_socket_mode
    assert settings.slack_client_secret is not None and "c0ffee" not in repr(settings)
    # Half of the pair, either half: named, with what is missing.
    for only, missing in (
        ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"),
        ("SLACK_CLIENT_SECRET", "SLACK_CLIENT_ID"),
    ):
        with pytest.raises(ConfigError, match=f"{only} is set but {missing} is missing"):
            load_settings({**base, only: oauth[only], "SLACK_SIGNING_SECRET": "s1gn"})
    for extra, name in (
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_APP_TOKEN": "xapp-1"}, "SLACK_APP_TOKEN"),
        ({"SLACK_SIGNING_SECRET": ""}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_CLIENT_ID": "my-app"}, "SLACK_CLIENT_ID"),
    ):
        with pytest.raises(ConfigError, match=name) as error:
            load_settings({**base, **oauth, **extra})
        assert "c0ffee" not in str(error.value)


def test_desk_settings_are_checked_at_start_up(tmp_path):
    base = {"PLEDGEBOT_DB": str(tmp_path / "x.db")}
    desk = load_settings(
        {
            **base,
            "PLEDGEBOT_DESK_WORKSPACES": f"{DESK}, T0SECOND",
            "PLEDGEBOT_DESK_GUILDS": "444000000000000001",
            "PLEDGEBOT_PUBLISHER": "  Korea   JoongAng Daily ",
        }
    )
    assert desk.desk_workspaces == frozenset({DESK, "T0SECOND"})
    assert desk.desk_guilds == frozenset({444000000000000001})
    assert desk.publisher == PUBLISHER
    assert load_settings(base).desk_workspaces == frozenset() and load_settings(base).publisher is None
    for env, name in (
        ({"PLEDGEBOT_DESK_WORKSPACES": "newsroom", "PLEDGEBOT_PUBLISHER": "x"}, "PLEDGEBOT_DESK_WORKSPACES"),
        ({"PLEDGEBOT_DESK_WORKSPACES": DESK}, "PLEDGEBOT_PUBLISHER"),
        ({"PLEDGEBOT_DESK_GUILDS": "the-desk", "PLEDGEBOT_PUBLISHER": "x"}, "PLEDGEBOT_DESK_GUILDS"),
        ({"PLEDGEBOT_DESK_GUILDS": "444"}, "PLEDGEBOT_PUBLISHER"),
        ({"PLEDGEBOT_PUBLISHER": "x" * 101}, "PLEDGEBOT_PUBLISHER"),
    ):
        with pytest.raises(ConfigError, match=name):
            load_settings({**base, **env})
