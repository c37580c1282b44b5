"""The message catalogues: complete, in step with the code, compiled as committed; language choice."""

from __future__ import annotations

import datetime as dt
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from bot import i18n
from bot.commands import VOCABULARY
from bot.i18n import environment_language, language_of, messages
from bot.reminders.occurrences import Milestone, Occurrence, OccurrenceKind
from bot.words import Kind
from tests.conftest import POLICIES

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "bot" / "locales"
KEYWORDS = {"gettext": None, "ngettext": (1, 2), "N_": None, "NP_": ((1, "c"), 2)}


def _catalog(language: str):
    with open(LOCALES / language / "LC_MESSAGES" / "pledgebot.po", "rb") as f:
        return read_po(f, locale=language)


def _extracted() -> set[str]:
    """Every msgid the code marks, found by Babel's extractor as `pybabel extract` finds them."""
    ids: set[str] = set()
    for folder in ("bot", "adapters"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            ids.add(message[0] if isinstance(message, tuple) else message)
    # The site's templates, as babel.cfg has pybabel read them.
    for _file, _line, message, _comments, _context in extract_from_dir(
        ROOT / "adapters" / "site" / "templates",
        method_map=[("**", "jinja2.ext:babel_extract")],
        keywords=KEYWORDS,
    ):
        ids.add(message[0] if isinstance(message, tuple) else message)
    return ids


def _ids(catalog) -> set[str]:
    return {m.id[0] if isinstance(m.id, tuple) else m.id for m in catalog if m.id}


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_language_has_a_catalogue_and_korean_is_one():
    assert i18n.languages()[0] == "en"
    assert "ko" in i18n.languages()


@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_catalogue_holds_exactly_the_messages_the_code_uses(language):
    code, catalogue = _extracted(), _ids(_catalog(language))
    assert code - catalogue == set(), "run pybabel extract and update (docs/languages.md)"
    assert catalogue - code == set(), "messages no longer used: run pybabel update"
    with open(LOCALES / "pledgebot.pot", "rb") as f:
        assert code == _ids(read_po(f))


def test_every_korean_message_is_translated_with_the_same_placeholders():
    for message in _catalog("ko"):
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"no Korean for {message.id!r}"
        assert not message.fuzzy, message.id
        english = message.id if isinstance(message.id, tuple) else (message.id,)
        allowed = set().union(*(_fields(e) for e in english)) | {"speaker", "event", "about", "original"}
        for text in strings:
            assert _fields(text) <= allowed, (message.id, text)


@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_committed_mo_files_match_their_po_files(language, tmp_path):
    compiled = tmp_path / "pledgebot.mo"
    with open(compiled, "wb") as f:
        write_mo(f, _catalog(language))
    with open(compiled, "rb") as f:
        fresh = read_mo(f)
    with open(LOCALES / language / "LC_MESSAGES" / "pledgebot.mo", "rb") as f:
        committed = read_mo(f)
    assert _pairs(committed) == _pairs(fresh), "run pybabel compile -d bot/locales -D pledgebot"


def _pairs(catalog) -> set[tuple]:
    """(msgid, msgstr) of every message, plural forms as tuples."""
    freeze = lambda value: tuple(value) if isinstance(value, list | tuple) else value  # noqa: E731
    return {(freeze(m.id), freeze(m.string)) for m in catalog if m.id}


def test_korean_statuses_are_the_words_of_the_grammar_table():
    ko = messages("ko")
    for word in VOCABULARY.of(Kind.STATUS):
        assert ko.status(word.en) == word.ko


def test_korean_dates_and_english_dates():
    day = dt.date(2025, 5, 26)
    assert messages("ko").date(day) == "2025년 5월 26일"
    assert messages("ko").long_date(day) == "2025년 5월 26일"
    assert messages("en").date(day) == "2025-05-26"
    assert messages("en").long_date(day) == "26 May 2025"


def test_korean_headlines_count_days_and_years_as_koreans_say_them():
    ko = messages("ko")
    inauguration = Milestone(
        "inauguration-2025",
        dt.date(2025, 6, 4),
        "inauguration",
        "Lee Jae-myung was inaugurated as president",
        speaker="Lee Jae-myung",
        speaker_ko="이재명",
    )
    day100 = Occurrence(dt.date(2025, 9, 11), inauguration, OccurrenceKind.DAY_COUNT, 100)
    assert day100.headline(ko) == "이재명 취임 100일"
    assert day100.headline() == "100 days since Lee Jae-myung was inaugurated as president"
    pledge = Milestone(
        "p",
        dt.date(2025, 5, 26),
        "pledged",
        "Lee Jae-myung pledged: Restore hotlines",
        "hotline",
        speaker="Lee Jae-myung",
        speaker_ko="이재명",
        topic="Restore hotlines",
        topic_ko="남북 핫라인 복원",
    )
    year = Occurrence(dt.date(2026, 5, 19), pledge, OccurrenceKind.ANNIVERSARY, 1, lead_days=7)
    assert year.headline(ko) == "7일 후: 이재명 공약 발표 1주년: 남북 핫라인 복원"
    assert year.headline() == "In 7 days: 1 year since Lee Jae-myung pledged: Restore hotlines"


@pytest.mark.parametrize(
    ("tag", "language"),
    [("ko", "ko"), ("ko-KR", "ko"), ("ko_KR.UTF-8", "ko"), ("en-US", "en"), ("fr", "en"), ("", "en")],
)
def test_locale_tags(tag, language):
    assert language_of(tag) == language


@pytest.mark.parametrize(
    ("environ", "language"),
    [
        ({"LANG": "ko_KR.UTF-8"}, "ko"),
        ({"LC_ALL": "ko_KR.UTF-8", "LANG": "en_US.UTF-8"}, "ko"),
        ({"LC_ALL": "C.UTF-8", "LANG": "ko_KR.UTF-8"}, "en"),
        ({"LANGUAGE": "fr:ko", "LANG": "en_US.UTF-8"}, "ko"),
        ({"LANGUAGE": "en", "LANG": "ko_KR.UTF-8"}, "en"),
        ({}, "en"),
    ],
)
def test_the_console_language_follows_language_then_lc_all_then_lang(environ, language):
    assert environment_language(environ) == language


# -- the core, the console and the command line in Korean ---------------------------------------------


def korean(ctx):
    import dataclasses

    return dataclasses.replace(ctx, locale="ko")


def test_the_core_answers_a_korean_user_in_korean(core, console_ctx):
    reply = core.handle("hotline", korean(console_ctx))
    assert reply.language == "ko"
    assert reply.title == "공약 1개를 찾았습니다"
    card = reply.cards[0]
    assert card.title == "남북 핫라인·통신선 복원" and card.speaker == "이재명" and card.category == "북한"
    assert card.status.describe(reply.messages) == "미평가 (2025년 5월 26일 확인)"
    assert [a.label for a in reply.actions] == ["채널에 공유", "인용 카드"]
    english = core.handle("hotline", console_ctx)
    assert english.language == "en" and english.title == "1 pledge found"
    assert english.cards[0].title == "Restore inter-Korean hotlines and communication channels"


def test_korean_lists_counts_errors_and_help(core, console_ctx):
    ctx = korean(console_ctx)
    listed = core.handle("목록 북한", ctx)
    assert listed.title.startswith("공약 ") and "개 (분야: 북한)" in listed.title
    assert all(item.label for item in listed.items)
    assert "남북 핫라인·통신선 복원" in [item.label for item in listed.items]
    assert (
        core.handle("on 2025-02-30", ctx).notices[0].text == "2025-02-30은(는) 실제 달력에 없는 날짜입니다."
    )
    assert core.handle("on 2025-02-30", ctx).notices[1].text.startswith("사용법: /pledge on")
    assert core.handle("도움말", ctx).title == "pledgebot: 정치인의 말 그대로"
    assert core.handle("zzzzqqq", ctx).title == "공약을 찾지 못했습니다"
    member = core.handle(
        "구독",
        __import__("dataclasses").replace(
            ctx, platform="discord", can_manage=False, policy=POLICIES["discord"]
        ),
    )
    assert member.notices[0].text == "채널 관리 권한이 있는 멤버만 이 채널의 구독을 바꿀 수 있습니다."


def test_autocomplete_labels_follow_the_users_language(core):
    assert core.suggest("hotline", locale="ko")[0].label == "남북 핫라인·통신선 복원"
    assert core.suggest("hotline")[0].label == "Restore inter-Korean hotlines and communication channels"


def test_the_digest_in_korean_reads_day_100_of_the_inauguration(core, bot):
    digest = bot.digests.digest(dt.date(2025, 9, 11), language="ko")
    assert digest is not None and digest.language == "ko"
    assert digest.title == "오늘의 공약 기록, 2025년 9월 11일 목요일"
    assert [item.label for item in digest.items] == ["이재명 취임 100일"]
    english = bot.digests.digest(dt.date(2025, 9, 11))
    assert english.items[0].label == "100 days since Lee Jae-myung was inaugurated as president"


def test_the_console_and_reminders_speak_korean_under_a_korean_lang(tmp_path):
    from tests.test_cli import run

    env = {"LANG": "ko_KR.UTF-8", "LC_ALL": "", "LANGUAGE": ""}
    result = run(tmp_path, "reminders", "--date", "2025-09-11", env=env)
    assert result.returncode == 0, result.stderr
    assert "취임 100일" in result.stdout and "2025년 9월 11일" in result.stdout
    result = run(tmp_path, stdin="/pledge 핫라인\n", env=env)
    assert "남북 핫라인·통신선 복원" in result.stdout and "이행 상태: 미평가" in result.stdout
    english = run(tmp_path, "reminders", "--date", "2025-09-11", env={"LANG": "en_US.UTF-8", "LC_ALL": ""})
    assert "100 days since Lee Jae-myung was inaugurated as president" in english.stdout


# -- the channel's language: /pledge language, shared cards and digests ---------------------------------


def test_language_is_a_command_only_with_a_language_it_knows():
    from bot import commands as cmd

    class Known:
        def is_pledge_id(self, text):
            return False

        def category(self, text):
            return None

    assert cmd.parse("language ko", Known()) == cmd.Language("ko")
    assert cmd.parse("언어 한국어", Known()) == cmd.Language("ko")
    assert cmd.parse("language English", Known()) == cmd.Language("en")
    assert cmd.parse("language barrier", Known()) == cmd.Search("language barrier")
    assert cmd.parse("language", Known()) == cmd.Search("language")


def test_a_manager_sets_the_channel_language_and_a_member_is_refused(core, bot):
    import dataclasses

    from bot.replies import Context

    manager = Context(
        platform="discord",
        workspace="G1",
        channel="C1",
        user="U1",
        can_manage=True,
        policy=POLICIES["discord"],
    )
    member = dataclasses.replace(manager, user="U2", can_manage=False)
    refused = core.handle("language ko", member)
    assert refused.is_error and "Manage Channels" in refused.notices[0].text
    assert core.channel_language(manager) == "en"
    answer = core.handle("language ko", manager)
    assert not answer.is_error and answer.title == "채널 언어: 한국어"
    assert bot.subscriptions.language("discord", "G1", "C1") == "ko"
    assert core.channel_language(member) == "ko"
    # A private answer still follows the asker.
    assert core.handle("hotline", manager).title == "1 pledge found"
    assert core.handle("language en", manager).title == "Channel language: English"


def test_an_unset_discord_channel_speaks_its_servers_language(core, bot):
    from bot.replies import Context

    ctx = Context(
        platform="discord",
        workspace="G1",
        channel="C9",
        user="U1",
        can_manage=True,
        policy=POLICIES["discord"],
    )
    import dataclasses

    assert core.channel_language(dataclasses.replace(ctx, place_locale="ko")) == "ko"
    core.handle("subscribe 09:00", dataclasses.replace(ctx, place_locale="ko"))
    assert bot.subscriptions.language("discord", "G1", "C9") == "ko"


async def test_the_digest_in_a_korean_channel_reads_day_100_on_2025_09_11(bot):
    from zoneinfo import ZoneInfo

    posted = []

    class Channel:
        async def deliver(self, subscription, digest, key, *, retry):
            posted.append((subscription.channel, digest))
            return key

    long_ago = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    for channel in ("korean", "english"):
        bot.subscriptions.subscribe("test", "W1", channel, dt.time(9), "Asia/Seoul", 0, "U1", long_ago)
    bot.subscriptions.set_language("test", "W1", "korean", "ko", "U1", long_ago)
    service = bot.delivery({"test": Channel()})
    report = await service.run_pass(dt.datetime(2025, 9, 11, 9, 5, tzinfo=ZoneInfo("Asia/Seoul")))
    assert len(report.sent) == 2
    digests = dict(posted)
    assert [i.label for i in digests["korean"].items] == ["이재명 취임 100일"]
    assert digests["korean"].language == "ko"
    assert digests["english"].items[0].label == "100 days since Lee Jae-myung was inaugurated as president"


def test_korean_readers_get_the_sources_korean_fields_and_what_a_translation_translates(core, console_ctx):
    card = core.handle("hotline", korean(console_ctx)).cards[0]
    ko = messages("ko")
    assert card.source.outlet == "코리아중앙데일리"
    assert card.translation_note(ko) == "영어 번역 · 원문: 이재명 후보 페이스북 게시글(한국어)"
    english = core.handle("hotline", console_ctx).cards[0]
    assert english.source.outlet == "Korea JoongAng Daily"
    assert english.attribution() == "Lee Jae-myung, 2025-05-26 (English translation of the original)"


def test_the_korean_fields_migration_adds_nullable_columns(bot):
    db = bot.store.db
    assert {"role_ko"} <= set(db["speakers"].columns_dict)
    assert {"outlet_ko", "headline_ko"} <= set(db["sources"].columns_dict)


def test_korean_dates_lists_and_digest_details_use_the_korean_data(core, bot, console_ctx):
    on = core.handle("날짜 2025-05-26", korean(console_ctx))
    assert on.title == "2025년 5월 26일"
    assert "공약 발표: 남북 핫라인·통신선 복원" in [item.label for item in on.items]
    digest = bot.digests.digest(dt.date(2026, 5, 26), language="ko")
    assert digest.items[0].label == "이재명 공약 14개 발표 1주년 (2025년 5월 26일)"
    hotline = next(i for i in digest.items if i.pledge_id == "inter-korean-hotline")
    assert hotline.label == "남북 핫라인·통신선 복원"
    assert "코리아중앙데일리" in hotline.detail and "2025년 5월 26일" in hotline.detail


def test_korean_help_shows_each_command_word_and_summary_from_the_catalogue(core, console_ctx):
    from bot import commands as cmd

    ko = messages("ko")
    reply = core.handle("도움말", korean(console_ctx))
    details = [item.detail for item in reply.items]
    for spec in cmd.COMMANDS:
        if spec.listed_for_all:
            assert any(d.startswith(ko.gettext(spec.summary)) for d in details), spec.name
    words = reply.notices[-2].text
    assert all(
        f"{ko.pgettext('command', s.name)} ({s.name})" in words
        for s in cmd.COMMANDS
        if s.word and s.listed_for_all
    )
