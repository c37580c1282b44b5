"""Durable state: the journal, rebuilding the catalogue from it, and user state on SQLite and PostgreSQL.

Each test runs on both backends: the embedded SQLite file, and a real PostgreSQL server started by the suite
(`tests/postgres.py`), where the local file holds only the rebuildable catalogue.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from pathlib import Path

import pytest

from bot import dataset as ds
from bot.cli import open_bot
from bot.config import Secret, Settings
from bot.journal import EditKind
from bot.reminders.delivery import digest_key
from tests.conftest import FixedClock

NOW = dt.datetime(2026, 5, 26, 0, 5, tzinfo=dt.UTC)  # 09:05 in Seoul


def _pledge_file(tmp_path: Path, title: str = "Build a bridge", name: str = "bridge.yaml") -> Path:
    path = tmp_path / name
    path.write_text(
        "pledges:\n"
        "  - id: build-a-bridge\n"
        "    speaker: lee-jae-myung\n"
        f"    title: {title}\n"
        "    category: Infrastructure\n"
        "    aliases: [bridge plan]\n",
        encoding="utf-8",
    )
    return path


class Channel:
    """A platform stand-in that records posts."""

    def __init__(self) -> None:
        self.posts: list[str] = []
        self.lock = threading.Lock()

    async def deliver(self, subscription, digest, key: str, *, retry: bool) -> str:
        with self.lock:
            if retry and key in self.posts:
                return key
            self.posts.append(key)
        return key


def test_load_import_and_history_are_journalled(state_settings, tmp_path, clock):
    bot = open_bot(state_settings, clock=clock)
    try:
        result = bot.importer.import_files([_pledge_file(tmp_path)], author="editor", note="from the desk")
        assert result.added == 1 and result.edit is not None and result.edit.kind is EditKind.IMPORT
        history = bot.journal.history("build-a-bridge")
        assert [(e.kind, e.author, e.reason) for e in history] == [
            (EditKind.IMPORT, "editor", "from the desk")
        ]
        # Every seed pledge's history starts with the load of its data file.
        [load] = bot.journal.history("inter-korean-hotline")
        assert load.kind is EditKind.LOAD and load.summary == "loaded from data/lee-jae-myung-2025-05-26.yaml"
        reply = bot.timeline.edits("build-a-bridge")
        assert "imported 1 records from bridge.yaml" in reply.items[0].label
        assert "editor: from the desk" in reply.items[0].detail
    finally:
        bot.close()


def test_reimporting_an_existing_id_is_refused_unless_replace(state_settings, tmp_path, clock):
    bot = open_bot(state_settings, clock=clock)
    try:
        bot.importer.import_files([_pledge_file(tmp_path)], author="a")
        # The same content again is already present: nothing is written, nothing is refused.
        again = bot.importer.import_files([_pledge_file(tmp_path)], author="a")
        assert again.edit is None and again.present == 1
        changed = _pledge_file(tmp_path, "Build two bridges", "changed.yaml")
        with pytest.raises(ds.DatasetError) as refused:
            bot.importer.import_files([changed], author="a")
        assert "changed.yaml:2" in str(refused.value) and "build-a-bridge" in str(refused.value)
        assert bot.catalogue.pledges(["build-a-bridge"])["build-a-bridge"].title == "Build a bridge"
        # A replace is whole (no field of the old record survives) and keeps the old values in the journal.
        no_alias = tmp_path / "no-alias.yaml"
        no_alias.write_text(changed.read_text().replace("    aliases: [bridge plan]\n", ""), encoding="utf-8")
        replaced = bot.importer.import_files([no_alias], author="b", replace=True)
        assert replaced.edit.kind is EditKind.REPLACE
        assert replaced.edit.payload["old"]["pledges:build-a-bridge"]["row"]["title"] == "Build a bridge"
        aliases = bot.store.db.execute("SELECT aliases FROM pledges WHERE id = 'build-a-bridge'").fetchone()[
            0
        ]
        assert aliases in (None, "")
        assert bot.catalogue.pledges(["build-a-bridge"])["build-a-bridge"].title == "Build two bridges"
    finally:
        bot.close()


def test_retract_removes_a_pledge_from_answers_and_keeps_it_in_history(state_settings, clock):
    bot = open_bot(state_settings, clock=clock)
    try:
        bot.importer.retract("inter-korean-hotline", author="editor", reason="duplicate")
        assert bot.catalogue.find_id("inter-korean-hotline") is None
        assert "inter-korean-hotline" not in bot.searcher.search("hotline").ids
        kinds = [e.kind for e in bot.journal.history("inter-korean-hotline")]
        assert kinds == [EditKind.LOAD, EditKind.RETRACT]
    finally:
        bot.close()


def test_the_local_file_is_rebuilt_from_data_and_the_journal(tmp_path, clock, database_url):
    """The issue's "done when": on PostgreSQL, deleting the SQLite file (a dyno restart) loses nothing."""
    settings = Settings(db_path=tmp_path / "pledgebot.db", database_url=Secret(database_url))
    bot = open_bot(settings, clock=clock)
    sub, _ = bot.subscriptions.subscribe("test", "W1", "C1", dt.time(9), "Asia/Seoul", 0, "U1", clock.now)
    bot.importer.import_files([_pledge_file(tmp_path)], author="editor")
    bot.close()
    for suffix in ("", "-wal", "-shm"):
        Path(str(settings.db_path) + suffix).unlink(missing_ok=True)
    restarted = open_bot(settings, clock=clock)
    try:
        assert restarted.subscriptions.all() == [sub]
        assert restarted.searcher.search("bridge").ids == ["build-a-bridge"]
        assert [e.kind for e in restarted.journal.history("build-a-bridge")] == [EditKind.IMPORT]
    finally:
        restarted.close()


def test_two_processes_delivering_at_once_post_one_digest(state_settings, clock):
    setup = open_bot(state_settings, clock=clock)
    sub, _ = setup.subscriptions.subscribe(
        "test", "W1", "C1", dt.time(9), "Asia/Seoul", 0, "U1", dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    )
    setup.close()
    channel = Channel()
    barrier = threading.Barrier(2)

    def process() -> None:
        bot = open_bot(state_settings, clock=clock)
        try:
            barrier.wait(timeout=10)
            asyncio.run(bot.delivery({"test": channel}).run_pass(NOW))
        finally:
            bot.close()

    threads = [threading.Thread(target=process) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert channel.posts == [digest_key(sub.id, dt.date(2026, 5, 26))]


def test_subscription_ids_are_never_reused(state_settings, clock):
    bot = open_bot(state_settings, clock=clock)
    try:
        first, _ = bot.subscriptions.subscribe("test", "W1", "C1", dt.time(9), "UTC", 0, "U1", clock.now)
        bot.subscriptions.unsubscribe("test", "W1", "C1")
        second, _ = bot.subscriptions.subscribe("test", "W1", "C2", dt.time(9), "UTC", 0, "U1", clock.now)
        assert second.id != first.id
    finally:
        bot.close()


def test_a_channel_language_is_kept_on_either_backend(state_settings, clock):
    bot = open_bot(state_settings, clock=clock)
    try:
        assert bot.subscriptions.language("test", "W1", "C1") is None
        bot.subscriptions.set_language("test", "W1", "C1", "ko", "U1", clock.now)
        bot.subscriptions.set_language("test", "W1", "C1", "en", "U2", clock.now)
        bot.subscriptions.set_language("test", "W1", "C2", "ko", "U1", clock.now)
        assert bot.subscriptions.language("test", "W1", "C1") == "en"
        assert bot.subscriptions.language("test", "W1", "C2") == "ko"
    finally:
        bot.close()


def test_a_new_channel_does_not_inherit_an_old_subscriptions_delivered_day(state_settings, clock):
    bot = open_bot(state_settings, clock=clock)
    long_ago = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    try:
        channel = Channel()
        service = bot.delivery({"test": channel})
        bot.subscriptions.subscribe("test", "W1", "C-old", dt.time(9), "Asia/Seoul", 0, "U1", long_ago)
        asyncio.run(service.run_pass(NOW))
        bot.subscriptions.unsubscribe("test", "W1", "C-old")
        new, _ = bot.subscriptions.subscribe(
            "test", "W1", "C-new", dt.time(9), "Asia/Seoul", 0, "U1", long_ago
        )
        report = asyncio.run(service.run_pass(NOW + dt.timedelta(minutes=1)))
        assert report.sent == [(new.id, dt.date(2026, 5, 26))] and len(channel.posts) == 2
    finally:
        bot.close()


def test_another_process_edit_reaches_this_catalogue_through_the_journal(tmp_path, clock, database_url):
    """Two hosts, two local files, one PostgreSQL: an import on one is applied by the other's follow()."""
    first = open_bot(
        Settings(db_path=tmp_path / "a.db", database_url=Secret(database_url)), clock=FixedClock(NOW)
    )
    second = open_bot(
        Settings(db_path=tmp_path / "b.db", database_url=Secret(database_url)), clock=FixedClock(NOW)
    )
    try:
        first.importer.import_files([_pledge_file(tmp_path)], author="editor")
        assert second.searcher.search("bridge").ids == []
        assert second.loader.follow() is True
        assert second.searcher.search("bridge").ids == ["build-a-bridge"]
        assert second.loader.follow() is False
    finally:
        first.close()
        second.close()


def test_export_then_import_into_an_empty_data_folder_keeps_answers_and_verbatim_checks(
    state_settings, tmp_path, clock
):
    bot = open_bot(state_settings, clock=clock)
    try:
        exported = bot.exporter.export()
        hotline = bot.core.handle("show inter-korean-hotline", _ctx())
    finally:
        bot.close()
    assert all(s.get("text") for s in exported["sources"] if s["id"].startswith("joongang"))
    path = tmp_path / "export.json"
    path.write_text(json.dumps(exported, ensure_ascii=False), encoding="utf-8")
    empty = tmp_path / "empty-data"
    empty.mkdir()
    fresh = open_bot(Settings(db_path=tmp_path / "fresh.db", data_dir=empty), clock=clock)
    try:
        fresh.importer.import_files([path], author="test")
        assert fresh.core.handle("show inter-korean-hotline", _ctx()) == hotline
        # The verbatim check came along: a quote its source does not hold is refused.
        bad = tmp_path / "bad.json"
        bad.write_text(
            json.dumps(
                {
                    "quotes": [
                        {
                            "pledge": "inter-korean-hotline",
                            "text": "I will build a wall.",
                            "source": exported["quotes"][0]["source"],
                            "said_on": "2025-05-26",
                        }
                    ]
                }
            ),
            encoding="utf-8",
        )
        with pytest.raises(ds.DatasetError, match="not found verbatim"):
            fresh.importer.import_files([bad], author="test")
    finally:
        fresh.close()


def _ctx():
    from bot.replies import Context

    return Context(platform="console", workspace="local", channel="console", user="you", can_manage=True)


async def test_a_serving_process_answers_with_another_hosts_import_within_two_seconds(tmp_path, database_url):
    """The serving loop's follower applies an edit made on another host; lookups never wait for it."""
    from bot.cli import _follow

    url = Secret(database_url)
    editor = open_bot(Settings(db_path=tmp_path / "a.db", database_url=url), clock=FixedClock(NOW))
    serving = open_bot(Settings(db_path=tmp_path / "b.db", database_url=url), clock=FixedClock(NOW))
    stopping = asyncio.Event()
    follower = asyncio.create_task(_follow(serving.loader, stopping, serving.metrics, serving.calendars))
    try:
        await asyncio.to_thread(editor.importer.import_files, [_pledge_file(tmp_path)], author="editor")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 2.0
        while serving.searcher.search("bridge").ids != ["build-a-bridge"]:
            assert loop.time() < deadline, "the import did not reach the serving process within 2 s"
            await asyncio.sleep(0.05)
    finally:
        stopping.set()
        await follower
        editor.close()
        serving.close()
