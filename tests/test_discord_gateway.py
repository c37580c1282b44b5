"""The real discord.py client end to end against the fake Discord: connect, sync, commands, buttons, posts."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord_app.client import (
    PledgeClient,
    ShardedPledgeClient,
    build_client,
    client_for,
    post_to_channel,
    run,
)
from bot import commands as grammar
from bot.config import Settings
from bot.core import Core
from bot.replies import Reply
from tests.conftest import HOTLINE_QUOTE, HOTLINE_QUOTE_DISCORD_BOLD
from tests.fakes.discord_api import MANAGE_CHANNELS, MEMBER_PERMISSIONS, FakeDiscord

HOTLINE_HEADLINE = "Lee Jae-myung pledges to restore inter-Korean hotline, strengthen U.S. alliance"
EPHEMERAL = 64
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def discord_defaults() -> AsyncIterator[None]:
    """Fail a test that leaves discord.py's process-wide endpoints changed, and restore them anyway."""
    base, gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    yield
    leaked = (base, gateway) != (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = base, gateway
    assert not leaked, "the Discord adapter left Route.BASE or DEFAULT_GATEWAY changed"


@pytest.fixture
def settings(tmp_path, fake: FakeDiscord) -> Settings:
    """Settings pointing the bot at the fake, syncing to the fake's guild."""
    return fake.settings(tmp_path / "pledgebot.db")


class Running:
    """A client running in the background until stopped."""

    def __init__(self, client: PledgeClient) -> None:
        self.client = client
        self.stopping = asyncio.Event()
        self.task = asyncio.create_task(run(client, self.stopping))

    async def stop(self) -> None:
        """Ask the client to stop and wait (bounded) for a clean close."""
        self.stopping.set()
        await asyncio.wait_for(self.task, 15)


async def start(fake: FakeDiscord, core: Core, settings: Settings) -> Running:
    """Start a client and wait until it has identified on the fake gateway."""
    seen = len(fake.gateway_received)
    running = Running(build_client(core, settings))
    waiter = asyncio.create_task(fake.wait_identified(after=seen))
    done, _ = await asyncio.wait({waiter, running.task}, timeout=15, return_when=asyncio.FIRST_COMPLETED)
    if running.task in done:
        waiter.cancel()
        running.task.result()  # raises the start-up failure
    assert waiter in done, "the bot did not IDENTIFY in time"
    return running


@pytest.fixture
async def client(fake: FakeDiscord, core: Core, settings: Settings) -> AsyncIterator[PledgeClient]:
    """A connected client."""
    running = await start(fake, core, settings)
    yield running.client
    await running.stop()


def field(embed: dict, name: str) -> str:
    """The value of an embed field by name."""
    return next(f["value"] for f in embed["fields"] if f["name"] == name)


async def test_connects_without_privileged_intents_and_uses_the_configured_gateway(fake, client):
    identify = await fake.wait_identified()
    assert identify["token"] == "test-token"
    assert identify["intents"] == 1  # GUILDS only
    # The gateway URL came from the fake's /gateway/bot, as the configured API base requires.
    assert fake.requests.matching(lambda r: r.path == "/gateway/bot")
    assert fake.connections.items[0] == {"v": "10", "encoding": "json", "compress": "zlib-stream"}
    # HELLO was answered with a heartbeat, which the fake acknowledged.
    await fake.gateway_received.wait_for(lambda m: m.get("op") == 1)
    await fake.gateway_sent.wait_for(lambda m: m.get("op") == 11)
    assert all(r.authorization == "Bot test-token" for r in fake.requests.items)


async def test_syncs_to_the_guild_with_korean_localisations(fake, client):
    assert client.synced == [fake.guild_id]
    [(scope, payload)] = fake.command_puts
    assert scope == fake.guild_id
    by_name = {c["name"]: c for c in payload}
    assert set(by_name) == {"pledge", "pledges", "reminders", "desk"}
    assert by_name["pledge"]["name_localizations"] == {"ko": "공약"}
    search = grammar.SPECS["search"]
    assert by_name["pledge"]["description"] == search.summary
    assert by_name["pledge"]["description_localizations"] == {"ko": search.summary_ko}
    [query] = by_name["pledge"]["options"]
    assert query["autocomplete"] is True and query["name_localizations"] == {"ko": "검색어"}
    reminders = by_name["reminders"]
    assert reminders["default_member_permissions"] == MANAGE_CHANNELS
    subcommands = {o["name"]: o for o in reminders["options"]}
    assert subcommands["subscribe"]["name_localizations"] == {"ko": "구독"}
    assert subcommands["list"]["name_localizations"] == {"ko": "구독목록"}
    zone = next(o for o in subcommands["subscribe"]["options"] if o["name"] == "timezone")
    assert zone["autocomplete"] is True


async def test_a_second_start_with_unchanged_commands_does_not_sync(fake, core, settings):
    first = await start(fake, core, settings)
    await first.stop()
    assert len(fake.command_puts) == 1
    second = await start(fake, core, settings)
    try:
        assert second.client.synced == []
        assert len(fake.command_puts) == 1
        # It did look: a GET with localisations, since Discord omits them otherwise.
        gets = fake.requests.matching(lambda r: r.method == "GET" and r.path.endswith("/commands"))
        assert len(gets) == 2 and all(r.query == {"with_localizations": "true"} for r in gets)
    finally:
        await second.stop()


async def test_without_guild_ids_commands_sync_globally(fake, core, settings):
    from dataclasses import replace

    running = await start(fake, core, replace(settings, discord_guild_ids=()))
    try:
        assert [scope for scope, _ in fake.command_puts] == [None]
        assert running.client.synced == [None]
    finally:
        await running.stop()


async def test_pledge_query_hotline_answers_with_the_verbatim_quote(fake, client):
    body = await fake.run_command("pledge", query="hotline")
    assert body["type"] == 4
    data = body["data"]
    assert data["flags"] == EPHEMERAL
    embed = data["embeds"][0]
    assert embed["description"] == "> " + HOTLINE_QUOTE_DISCORD_BOLD
    assert field(embed, "Said on") == "2025-05-26"
    assert HOTLINE_HEADLINE in field(embed, "Source")
    assert "Korea JoongAng Daily" in field(embed, "Source")
    assert field(embed, "Status").startswith("Not yet rated")
    assert data["allowed_mentions"] == {"parse": []}


async def test_pledge_query_in_korean_finds_the_same_pledge(fake, client):
    body = await fake.run_command("pledge", query="핫라인")
    embed = body["data"]["embeds"][0]
    assert embed["description"] == "> " + HOTLINE_QUOTE
    assert field(embed, "Said on") == "2025-05-26"


async def test_a_korean_client_is_answered_entirely_in_korean(fake, client):
    body = await fake.run_command("pledge", query="핫라인", locale="ko")
    data = body["data"]
    embed = data["embeds"][0]
    assert embed["title"] == "남북 핫라인·통신선 복원"
    assert embed["description"] == "> " + HOTLINE_QUOTE
    assert field(embed, "발언일") == "2025년 5월 26일"
    assert field(embed, "발언자") == "이재명"
    assert "2025년 5월 26일 11:09 (UTC+09:00) 게시" in field(embed, "출처")
    assert field(embed, "이행 상태").startswith("미평가")
    # The seed's Korean titles are the editors' translations, and the quote translates Lee's post.
    assert (
        embed["footer"]["text"] == "제목: 편집진 번역 · 영어 번역 · 원문: 이재명 후보 페이스북 게시글(한국어)"
    )
    labels = [c["label"] for row in data["components"] for c in row["components"]]
    assert labels == ["채널에 공유", "인용 카드"]
    english = (await fake.run_command("pledge", query="핫라인", locale="en-US"))["data"]
    assert english["embeds"][0]["title"] == "Restore inter-Korean hotlines and communication channels"
    assert [c["label"] for row in english["components"] for c in row["components"]] == [
        "Share in channel",
        "Quote card",
    ]


async def test_korean_autocomplete_shows_korean_titles(fake, client):
    body = await fake.autocomplete("pledge", "query", query="hot", locale="ko")
    names = [c["name"] for c in body["data"]["choices"]]
    assert "남북 핫라인·통신선 복원" in names


async def test_autocomplete_suggests_the_hotline_pledge(fake, client):
    body = await fake.autocomplete("pledge", "query", query="hot")
    assert body["type"] == 8
    choices = body["data"]["choices"]
    assert 1 <= len(choices) <= 25
    assert "inter-korean-hotline" in [c["value"] for c in choices]
    assert all(1 <= len(c["name"]) <= 100 and len(c["value"]) <= 100 for c in choices)


async def test_picking_a_suggestion_shows_that_pledge(fake, client):
    body = await fake.run_command("pledge", query="inter-korean-hotline")
    assert body["data"]["embeds"][0]["description"] == "> " + HOTLINE_QUOTE


async def test_time_zone_autocomplete(fake, client):
    body = await fake.autocomplete("reminders subscribe", "timezone", timezone="seoul")
    assert body["data"]["choices"][0] == {"name": "Asia/Seoul", "value": "Asia/Seoul"}


async def test_bad_date_is_an_ephemeral_error(fake, client):
    body = await fake.run_command("pledges on", date="2025-02-30")
    assert body["data"]["flags"] == EPHEMERAL
    assert "not a real calendar date" in body["data"]["content"]


async def test_list_by_a_korean_category_and_a_status_choice(fake, client):
    body = await fake.run_command("pledges list", category="국방", status="not yet rated")
    [embed] = body["data"]["embeds"]
    assert embed["title"] == "2 pledges in Defense with status “not yet rated”"
    assert "defense-deterrence" in embed["description"]


async def test_subscribe_needs_manage_channels(fake, client, bot):
    refused = await fake.run_command(
        "reminders subscribe", time="08:30", timezone="Asia/Seoul", permissions=MEMBER_PERMISSIONS
    )
    assert refused["data"]["flags"] == EPHEMERAL
    assert "Manage Channels" in refused["data"]["content"]
    assert bot.subscriptions.subscription("discord", str(fake.guild_id), str(fake.channel_id)) is None

    manager = MEMBER_PERMISSIONS | MANAGE_CHANNELS
    stored = await fake.run_command(
        "reminders subscribe", time="08:30", timezone="Asia/Seoul", permissions=manager
    )
    assert "08:30 Asia/Seoul" in stored["data"]["content"]
    sub = bot.subscriptions.subscription("discord", str(fake.guild_id), str(fake.channel_id))
    assert sub is not None and sub.timezone == "Asia/Seoul"

    listed = await fake.run_command("reminders list", permissions=manager)
    assert "08:30 Asia/Seoul" in str(listed["data"])

    # Desk changes within a minute instead of in the next digest (`subscribe … updates now`).
    await fake.run_command("reminders subscribe", time="08:30", updates="now", permissions=manager)
    sub = bot.subscriptions.subscription("discord", str(fake.guild_id), str(fake.channel_id))
    assert sub is not None and sub.updates_now

    gone = await fake.run_command("reminders unsubscribe", permissions=manager)
    assert "Unsubscribed" in gone["data"]["content"]
    assert bot.subscriptions.subscription("discord", str(fake.guild_id), str(fake.channel_id)) is None


async def test_a_manager_sets_the_channel_language_and_shared_cards_follow_it(fake, client, bot):
    refused = await fake.run_command("reminders language", language="ko", permissions=MEMBER_PERMISSIONS)
    assert refused["data"]["flags"] == EPHEMERAL and "Manage Channels" in refused["data"]["content"]
    assert bot.subscriptions.language("discord", str(fake.guild_id), str(fake.channel_id)) is None

    manager = MEMBER_PERMISSIONS | MANAGE_CHANNELS
    answer = await fake.run_command("reminders language", language="ko", permissions=manager)
    assert "채널 언어: 한국어" in answer["data"]["content"]
    assert bot.subscriptions.language("discord", str(fake.guild_id), str(fake.channel_id)) == "ko"

    # An English reader is answered in English, but the card they share is posted in the channel's Korean.
    asked = fake.interaction(2, fake.command("pledge", query="hotline"))
    await fake.send_interaction(asked)
    await fake.callback_for(asked)
    message = fake.original(asked)
    assert message["embeds"][0]["title"] == "Restore inter-Korean hotlines and communication channels"
    [row] = message["components"]
    share = next(b for b in row["components"] if b["custom_id"].startswith("pledgebot:share:"))
    body = await fake.click(message, share["custom_id"], user_id=555)
    assert body["data"]["content"] == "<@555> 님이 공유"
    assert body["data"]["embeds"][0]["title"] == "남북 핫라인·통신선 복원"


async def test_share_button_posts_the_card_publicly_naming_the_sharer(fake, client):
    asked = fake.interaction(2, fake.command("pledge", query="hotline"))
    await fake.send_interaction(asked)
    await fake.callback_for(asked)
    message = fake.original(asked)
    [row] = message["components"]
    share = next(b for b in row["components"] if b["custom_id"].startswith("pledgebot:share:"))

    body = await fake.click(message, share["custom_id"], user_id=555)
    assert body["type"] == 4
    assert "flags" not in body["data"] or not body["data"]["flags"] & EPHEMERAL
    assert body["data"]["content"] == "Shared by <@555>"
    assert body["data"]["embeds"][0]["description"] == "> " + HOTLINE_QUOTE
    assert body["data"]["allowed_mentions"] == {"parse": []}


async def test_the_quote_card_button_of_an_answer_replaces_it_with_the_card_image(fake, client):
    asked = fake.interaction(2, fake.command("pledge", query="hotline"))
    await fake.send_interaction(asked)
    await fake.callback_for(asked)
    message = fake.original(asked)
    [row] = message["components"]
    card = next(b for b in row["components"] if b["custom_id"].startswith("pledgebot:run:"))
    assert (card["label"], card["custom_id"]) == ("Quote card", "pledgebot:run:card inter-korean-hotline")
    body = await fake.click(message, card["custom_id"])
    assert body["type"] == 7  # the private answer is replaced in place by the card
    assert list(body["data"]["files"]) == ["inter-korean-hotline-1-en.png"]
    assert body["data"]["files"]["inter-korean-hotline-1-en.png"].startswith(b"\x89PNG")


async def test_a_quote_card_is_attached_and_shown_in_its_embed(fake, client):
    """/pledges card: the PNG is sent with the answer (multipart) and the embed shows it as its image."""
    body = await fake.run_command("pledges card", pledge_id="inter-korean-hotline")
    data = body["data"]
    assert data["flags"] == EPHEMERAL
    assert list(data["files"]) == ["inter-korean-hotline-1-en.png"]
    assert data["files"]["inter-korean-hotline-1-en.png"].startswith(b"\x89PNG")
    assert data["embeds"][0]["image"]["url"] == "attachment://inter-korean-hotline-1-en.png"
    assert HOTLINE_QUOTE in data["attachments"][0]["description"]
    # Shared, the card and its image are posted publicly.
    asked = fake.interaction(2, fake.command("pledge", query="card inter-korean-hotline"))
    await fake.send_interaction(asked)
    await fake.callback_for(asked)
    message = fake.original(asked)
    assert message["attachments"][0]["filename"] == "inter-korean-hotline-1-en.png"
    [row] = message["components"]
    share = next(b for b in row["components"] if b["custom_id"].startswith("pledgebot:share:"))
    shared = (await fake.click(message, share["custom_id"], user_id=555))["data"]
    assert shared["content"] == "Shared by <@555>" and not (shared.get("flags") or 0) & EPHEMERAL
    assert list(shared["files"]) == ["inter-korean-hotline-1-en.png"]


async def test_buttons_keep_working_after_a_restart(fake, core, settings):
    first = await start(fake, core, settings)
    asked = fake.interaction(2, fake.command("pledge", query="hotline"))
    await fake.send_interaction(asked)
    await fake.callback_for(asked)
    await first.stop()

    second = await start(fake, core, settings)
    try:
        message = fake.original(asked)
        share = message["components"][0]["components"][-1]["custom_id"]
        body = await fake.click(message, share)
        assert body["data"]["embeds"][0]["description"] == "> " + HOTLINE_QUOTE
    finally:
        await second.stop()


async def test_slow_answers_are_deferred_then_followed_up(fake, client, core, monkeypatch):
    # A core slower than the responder waits: with a wait of 0 s alone, a fast lookup could still finish
    # within the same turn of the event loop and be answered directly.
    handle = core.handle

    def slow_handle(text, ctx):
        time.sleep(0.3)
        return handle(text, ctx)

    monkeypatch.setattr(core, "handle", slow_handle)
    client.responder.defer_after = 0.05
    asked = fake.interaction(2, fake.command("pledge", query="hotline"))
    await fake.send_interaction(asked)
    body = await fake.callback_for(asked)
    assert body == {"type": 5, "data": {"flags": EPHEMERAL}}
    followup = await fake.requests.wait_for(
        lambda r: r.method == "POST" and r.path == f"/webhooks/{fake.application_id}/{asked['token']}"
    )
    assert followup.body["embeds"][0]["description"] == "> " + HOTLINE_QUOTE_DISCORD_BOLD


async def test_scheduled_post_with_the_same_nonce_is_posted_once(fake, client):
    digest = Reply(title="Today: 1 year since the hotline pledge", private=False)
    first = await post_to_channel(client, fake.channel_id, digest, nonce="d-20260526-1")
    again = await post_to_channel(client, fake.channel_id, digest, nonce="d-20260526-1")
    assert first == again
    assert len(fake.channel_messages[fake.channel_id]) == 1
    posts = fake.requests.matching(lambda r: r.method == "POST" and r.path.startswith("/channels/"))
    assert len(posts) == 2
    assert all(p.body["nonce"] == "d-20260526-1" and p.body["enforce_nonce"] is True for p in posts)


async def test_scheduled_post_retries_after_a_rate_limit(fake, client):
    fake.inject_rate_limit("POST", f"/channels/{fake.channel_id}/messages", retry_after=0.01)
    message_id = await post_to_channel(
        client, fake.channel_id, Reply(title="Digest", private=False), nonce="n1"
    )
    assert [m["id"] for m in fake.channel_messages[fake.channel_id]] == [str(message_id)]


async def test_nonce_longer_than_discord_allows_is_refused(client):
    with pytest.raises(ValueError):
        await post_to_channel(client, 1, Reply(title="x"), nonce="n" * 26)


async def test_more_results_button_replaces_the_page_in_place(fake, client):
    asked = fake.interaction(2, fake.command("pledge", query="korea"))
    await fake.send_interaction(asked)
    first = await fake.callback_for(asked)
    assert first["data"]["content"].startswith("**12 pledges found")
    message = fake.original(asked)
    more = next(
        b["custom_id"]
        for b in message["components"][0]["components"]
        if b["custom_id"].startswith("pledgebot:more:")
    )
    assert more == "pledgebot:more:korea page 2"

    body = await fake.click(message, more)
    assert body["type"] == 7  # UPDATE_MESSAGE: the ephemeral results are replaced, not added to
    assert body["data"]["content"].startswith("**Results 4–6 of 12")
    assert len(body["data"]["embeds"]) == 3


async def test_autocomplete_in_korean(fake, client):
    body = await fake.autocomplete("pledge", "query", query="핫")
    assert [c["value"] for c in body["data"]["choices"]] == ["inter-korean-hotline"]


async def test_autocomplete_for_an_empty_box_is_empty_not_an_error(fake, client):
    body = await fake.autocomplete("pledge", "query", query="")
    assert body == {"type": 8, "data": {"choices": []}}


async def test_pledgebot_discord_runs_against_the_fake_and_stops_on_sigterm(fake, tmp_path):
    """The acceptance path: `python -m bot discord` configured only through the environment."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "DISCORD_TOKEN": "test-token",
        "DISCORD_API_BASE": fake.base_url,
        "DISCORD_GUILD_IDS": str(fake.guild_id),
        "PLEDGEBOT_DB": str(tmp_path / "pledgebot.db"),
    }
    # cwd is the test's own folder so that no developer `.env` is read.
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "discord", cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        await fake.wait_identified(timeout=30)
        body = await fake.run_command("pledge", query="hotline", timeout=10)
        assert body["data"]["embeds"][0]["description"] == "> " + HOTLINE_QUOTE_DISCORD_BOLD
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 20)
        assert process.returncode == 0, stderr.decode()
        assert "test-token" not in stderr.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def _identify_at_once(self, shard_id: int | None, *, initial: bool = False) -> None:
    """discord.py waits 5 s before each shard's IDENTIFY after the first (Discord's max_concurrency 1)."""


@pytest.mark.parametrize("shards", [1, 2])
async def test_shards_when_the_gateway_recommends_more_than_one(fake, core, settings, shards, monkeypatch):
    """Rules 25/49: a plain Client for one shard, AutoShardedClient when /gateway/bot recommends more; each
    shard identifies on its own connection and the guild's shard answers its commands."""
    fake.shards = shards
    monkeypatch.setattr(ShardedPledgeClient, "before_identify_hook", _identify_at_once)
    with_shards = await client_for(core, settings)
    assert type(with_shards) is (ShardedPledgeClient if shards > 1 else PledgeClient)
    assert isinstance(with_shards, PledgeClient)
    running = Running(with_shards)
    try:
        for n in range(shards):
            await fake.gateway_received.wait_for(
                lambda m, n=n: m.get("op") == 2 and len(identified(fake)) > n, timeout=15
            )
        expected = [[i, shards] for i in range(shards)] if shards > 1 else [None]
        assert sorted(identified(fake), key=str) == expected
        assert len(fake.connections) == shards
        answer = await fake.run_command("pledge", query="hotline", timeout=10)
        assert answer["type"] in (4, 5)
        if shards > 1:
            assert with_shards.shard_count == shards
            assert fake.guild_id in {g.id for g in with_shards.guilds}
    finally:
        await running.stop()


def identified(fake: FakeDiscord) -> list[list[int] | None]:
    """The `shard` of each IDENTIFY so far (None when the client sent none, as a plain Client does)."""
    return [m["d"].get("shard") for m in fake.gateway_received.items if m.get("op") == 2]


async def test_a_search_shows_the_quote_that_matches_with_its_words_in_bold(fake, client):
    body = await fake.run_command("pledge", query="stalled denuclearization")
    embed = body["data"]["embeds"][0]
    assert embed["title"] == "Peace and denuclearization through a multilayered framework of cooperation"
    assert embed["description"].startswith(
        "> The North Korean **denuclearization** process has long been **stalled**"
    )
    assert embed["description"].endswith("3 more quotes")
