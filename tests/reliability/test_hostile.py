"""Hostile input, property-based: whatever text arrives after `/pledge`, and whoever sends it, the core
answers with something a person can read, no exception escapes, and nothing is written, except a valid
subscribe or unsubscribe by someone who may manage the channel. Dataset imports of bad rows leave the
database unchanged.

Run with the fast profile by `make test`, with the long one by `make fuzz` (PLEDGEBOT_PROFILE=long).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import string
import zoneinfo
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from adapters.discord_app.render import render as discord_render
from adapters.slack_app.render import render as slack_render
from bot import commands as grammar
from bot import dataset as ds
from bot.cli import Bot, open_bot
from bot.config import DEFAULT_DATA_DIR, Settings
from bot.core import Core
from bot.replies import Context, Reply
from bot.search import clean
from tests.conftest import FixedClock
from tests.fakes.discord_api import message_problems
from tests.reliability.conftest import Figures, fuzz_settings, snapshot

pytestmark = pytest.mark.fuzz

# The core's own apology for a failure on its side: no user input should ever be answered with it.
INTERNAL_ERROR = "Something went wrong on our side"
STATE_TABLES = {"subscriptions"}
# What choosing editors writes (`editors add`/`remove`, by those who may choose them).
EDITOR_TABLES = {"editors"}

# -- strategies ------------------------------------------------------------------------------------------

# The listed commands' words in both languages (an unlisted command is parsed but has no answer yet; see
# `CommandSpec.listed`), and the statuses and categories `list` takes.
COMMAND_WORDS = [
    *(form for s in grammar.COMMANDS if s.word for form in s.word.forms),
    *(form for w in grammar.STATUSES for form in w.forms),
    "defense",
    "북한",
    "search",
    "/pledge",
    "page",
    "ahead",
    # `editors add|remove <user>`, in both languages, with a mention and a bare id.
    "add",
    "remove",
    "추가",
    "삭제",
    "<@U0AB12|kim>",
    "1234",
]
# FTS5 syntax, SQL, quoting, and Unicode that normalisation, segmentation or the database might trip on.
NASTY = [
    "AND", "OR", "NOT", "NEAR", "NEAR(hotline korea, 2)", '"', '""', "'", "*", "^", ":", "(", ")", "{", "}",
    "-", "+", "title:", "quotes:", "{title aliases}:hotline", "hotline*", '"hotline" OR "korea"', "rank",
    "bm25(", "MATCH", "'; DROP TABLE pledges; --", "%", "_", "\\", ";", "--", "/*", "*/", "\x00", "\x1b[31m",
    "\u200b", "\u200d", "\u202e", "\ufeff", "\u2028", "\u0085", "ﬁ", "Ⅻ", "①", "²", "𐩀", "٣", "５",
    "핫라인", "핫", "ㅎㅏㅅ", "\u1112\u1161\u11ba", "🇰🇷", "👩\u200d👩\u200d👧", "e\u0301", "ＨＯＴＬＩＮＥ",
    "İ", "ß", "\U0010ffff", "\ud800", "\udfff", "<@U123>", "<!channel>", "@everyone", "```", "*bold*",
    "&amp;", "<script>", "\t", "\n", "\r\n", " ", "page", "page 0", "page 99999", "page -1", "show", "list",
]  # fmt: skip
BAD_ZONES = [
    "Mars/Olympus", "Asia/Seoull", "asia/seoul", "ASIA/SEOUL", "UTC", "utc", "UTC+9", "GMT+9", "Etc/GMT+14",
    "Etc/GMT-15", "../../etc/passwd", "/etc/localtime", "Asia/", "/", "//", "localtime", "posixrules",
    "Factory", "right/UTC", "posix/Asia/Seoul", "America/New_York\x00", "Asia/Pyongyang", "US/Pacific-New",
    "Europe/Kyiv", "Europe/Kiev", "Asia/Seoul/Extra", "A" * 300 + "/B",
]  # fmt: skip
BAD_DATES = [
    "2025-02-30", "2025-02-29", "2024-02-29", "2100-02-29", "2000-02-29", "0000-01-01", "0001-01-01",
    "9999-12-31", "2025-13-01", "2025-00-10", "2025-04-31", "2025-1-1", "25-05-26", "2025/05/26",
    "2025-05-26T00:00", "٢٠٢٥-٠٥-٢٦", "２０２５-０５-２６", "𝟐𝟎𝟐𝟓-𝟎𝟓-𝟐𝟔", "2025-05-26 2025-05-27",
]  # fmt: skip
BAD_TIMES = [
    "24:00",
    "23:60",
    "25:00",
    "99:99",
    "-1:00",
    "9:5",
    "09:00:00",
    "٠٩:٣٠",
    "9:30am",
    "00:00",
    "23:59",
]


def _date_text() -> st.SearchStrategy[str]:
    loose = st.tuples(st.integers(0, 9999), st.integers(0, 99), st.integers(0, 99)).map(
        lambda t: f"{t[0]:04d}-{t[1]:02d}-{t[2]:02d}"
    )
    return st.one_of(st.sampled_from(BAD_DATES), st.dates().map(dt.date.isoformat), loose)


def _zone_text() -> st.SearchStrategy[str]:
    real = st.sampled_from(sorted(zoneinfo.available_timezones()))
    mangled = real.map(lambda z: z[::-1]) | real.map(lambda z: z + "x") | real.map(str.swapcase)
    return st.one_of(st.sampled_from(BAD_ZONES), real, mangled, st.text(max_size=30).map(lambda t: t + "/x"))


def _time_text() -> st.SearchStrategy[str]:
    loose = st.tuples(st.integers(-5, 120), st.integers(-5, 120)).map(lambda t: f"{t[0]:02d}:{t[1]:02d}")
    return st.one_of(st.sampled_from(BAD_TIMES), loose)


ARG = st.one_of(
    st.sampled_from(NASTY),
    st.sampled_from(COMMAND_WORDS),
    _date_text(),
    _zone_text(),
    _time_text(),
    st.integers(-(10**20), 10**20).map(str),
    st.text(max_size=20),
    st.text(alphabet=st.characters(codec=None, categories=None), max_size=12),  # includes lone surrogates
)


def _huge() -> st.SearchStrategy[str]:
    return st.tuples(
        st.sampled_from(["hotline ", "핫라인", "AND ", '"', "a", "9", "x" * 99, "🇰🇷", "page 9"]),
        st.integers(1, 50_000),
    ).map(lambda t: t[0] * t[1])


def commands() -> st.SearchStrategy[str]:
    """Command text: a command word (or none) and hostile arguments, or raw hostile text."""
    structured = st.tuples(
        st.sampled_from([*COMMAND_WORDS, ""]),
        st.lists(ARG, max_size=6),
        st.sampled_from([" ", "  ", "\t", "\u3000"]),
    ).map(lambda t: t[2].join([t[0], *t[1]]))
    return st.one_of(
        structured,
        st.text(),
        st.text(alphabet=st.characters(codec=None, categories=None)),
        st.lists(st.sampled_from(NASTY), max_size=12).map(" ".join),
        _huge(),
    )


def contexts() -> st.SearchStrategy[Context]:
    """Where the command came from: any platform, channel (or none), user, and permission."""
    ident = st.one_of(
        st.just(""),
        st.text(alphabet=string.ascii_uppercase + string.digits, max_size=12),
        st.text(max_size=8),
    )
    return st.builds(
        Context,
        platform=st.sampled_from(["slack", "discord", "console", "", "irc"]),
        workspace=ident,
        channel=ident,
        user=ident,
        locale=st.sampled_from(["en", "ko", "", "xx"]),
        can_manage=st.booleans(),
        can_choose_editors=st.booleans(),
    )


# -- fixtures --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> Iterator[Bot]:
    """One bot for every example of this module: examples must leave it as they found it (or as stated)."""
    settings = Settings(db_path=tmp_path_factory.mktemp("hostile") / "pledgebot.db")
    bot = open_bot(settings, clock=FixedClock(dt.datetime(2026, 5, 20, 3, 0, tzinfo=dt.UTC)))
    yield bot
    bot.close()


def readable(reply: Reply) -> str:
    """Everything a person would read in the reply."""
    parts = [reply.title, *(n.text for n in reply.notices)]
    parts += [f"{i.label} {i.detail}" for i in reply.items] + [c.quote for c in reply.cards]
    return "\n".join(parts)


def assert_answered(reply: Reply) -> None:
    """A reply with something to read, that is not the core's apology, and that both platforms can send."""
    assert isinstance(reply, Reply)
    assert readable(reply).strip(), "empty reply"
    assert INTERNAL_ERROR not in readable(reply), "user input was answered as an internal failure"
    slack = slack_render(reply)
    json.dumps(slack)
    assert slack["text"].strip() and slack["blocks"]
    assert message_problems(discord_render(reply).payload()) == []


# -- properties ------------------------------------------------------------------------------------------


@fuzz_settings
@given(text=commands(), ctx=contexts())
@example(text="on 2025-02-30", ctx=Context("slack", "T", "C", "U", can_manage=True))
@example(text="subscribe 09:00 Mars/Olympus", ctx=Context("discord", "1", "2", "3", can_manage=True))
@example(text="upcoming 𐩀", ctx=Context("console", "local", "console", "you", can_manage=True))
@example(text="hotline \ud800", ctx=Context("slack", "T", "C", "U"))
@example(text="page 99999999999999999999 hotline", ctx=Context("slack", "T", "C", "U"))
@example(text="subscribe ahead " + "9" * 5000, ctx=Context("slack", "T", "C", "U", can_manage=True))
@example(text='"hotline" NEAR(korea) *', ctx=Context("slack", "T", "C", "U"))
@example(text="editors add <@U0AB12|kim>", ctx=Context("slack", "T", "C", "U", can_choose_editors=True))
@example(text="편집자 삭제 <@!1234>", ctx=Context("discord", "1", "2", "3", can_choose_editors=True))
@example(text="editors add U0AB12", ctx=Context("slack", "T", "C", "U", can_manage=True))
def test_every_command_is_answered_and_writes_nothing_unless_a_manager_subscribes(
    shared: Bot, figures: Figures, text: str, ctx: Context
):
    figures.add("hostile.core.commands")
    before = snapshot(shared.store.path)
    reply = shared.core.handle(text, ctx)
    assert_answered(reply)
    after = snapshot(shared.store.path)
    changed = {t for t in before if before[t] != after[t]}
    command = grammar.parse(text, shared.core)
    if changed and changed <= EDITOR_TABLES:
        # Choosing editors: only by those who may, in a workspace, with one person named.
        assert ctx.can_choose_editors and ctx.workspace and isinstance(command, grammar.Editors)
        assert command.verb in ("add", "remove") and command.user
        figures.add("hostile.core.editor_changes_by_choosers")
    elif changed:
        # The only other writes a command may make: a manager's subscribe or unsubscribe, in a channel.
        assert changed <= STATE_TABLES, f"a command wrote to {sorted(changed - STATE_TABLES)}"
        assert ctx.can_manage and isinstance(command, grammar.Subscribe | grammar.Unsubscribe)
        figures.add("hostile.core.state_changes_by_managers")
    if isinstance(command, grammar.Subscribe) and ctx.can_manage and ctx.channel:
        sub = shared.subscriptions.subscription(ctx.platform, ctx.workspace, ctx.channel)
        assert sub is not None
        assert (sub.local_time, sub.timezone, sub.lead_days) == (
            command.at,
            command.timezone,
            command.lead_days,
        )
        grammar.timezone_name(sub.timezone)  # stored zones are real IANA names
        assert grammar.timezone_name(sub.timezone) == sub.timezone


@fuzz_settings
@given(
    args=st.lists(st.one_of(_zone_text(), _time_text(), st.just("ahead"), ARG), max_size=5), ctx=contexts()
)
def test_subscribe_and_unsubscribe_with_random_arguments(shared: Bot, figures: Figures, args, ctx: Context):
    for verb in ("subscribe", "구독", "unsubscribe", "구독취소"):
        figures.add("hostile.core.subscribe_commands")
        text = " ".join([verb, *args])
        before = snapshot(shared.store.path)
        reply = shared.core.handle(text, ctx)
        assert_answered(reply)
        after = snapshot(shared.store.path)
        command = grammar.parse(text, shared.core)
        allowed = ctx.can_manage and (
            (isinstance(command, grammar.Subscribe) and bool(ctx.channel))
            or isinstance(command, grammar.Unsubscribe)
        )
        if not allowed:
            assert before == after, f"{verb!r} wrote without a manager or with bad arguments"
        else:
            assert {t for t in before if before[t] != after[t]} <= STATE_TABLES


@fuzz_settings
@given(prefix=commands())
def test_autocomplete_never_fails_and_fits_discord(shared: Bot, figures: Figures, prefix: str):
    figures.add("hostile.core.autocomplete")
    before = snapshot(shared.store.path)
    suggestions = shared.core.suggest(prefix)
    assert len(suggestions) <= 25
    assert all(1 <= len(s.label) <= 100 and s.value for s in suggestions)
    assert snapshot(shared.store.path) == before


@fuzz_settings
@given(day=_date_text(), days=st.one_of(st.integers(-10, 1000).map(str), st.sampled_from(NASTY)))
def test_dates_and_day_counts(shared: Bot, figures: Figures, day: str, days: str):
    figures.add("hostile.core.dates", 2)
    ctx = Context("console", "local", "console", "you", can_manage=True)
    reply = shared.core.handle(f"on {day}", ctx)
    assert_answered(reply)
    # Full-width digits are fine: the grammar reads text after NFKC, as users type it on any keyboard.
    typed = clean(day)
    # `on` reads a year first with dashes or slashes, one or two digits for the month and day.
    numbers = re.fullmatch(r"(\d{4})([-/])(\d{1,2})\2(\d{1,2})", typed) if typed.isascii() else None
    if not (numbers and _real_date(f"{numbers[1]}-{int(numbers[3]):02d}-{int(numbers[4]):02d}")):
        assert reply.is_error, f"'on {day}' was accepted"
    else:
        assert not reply.is_error, f"'on {day}' was refused"
    assert_answered(shared.core.handle(f"upcoming {days}", ctx))


# -- dataset import: all or nothing ---------------------------------------------------------------------


def _good_records() -> dict:
    """A small valid dataset citing what data/ already holds (speaker, source without text)."""
    return {
        "pledges": [
            {
                "id": "fuzz-pledge",
                "speaker": "lee-jae-myung",
                "title": "A pledge made up by the fuzzer",
                "category": "Testing",
                "aliases": ["fuzz"],
                "pledged_on": "2025-05-26",
                "quotes": [{"text": "Words.", "source": "lee-facebook-2025-05-26", "said_on": "2025-05-26"}],
                "status": [{"status": "kept", "date": "2025-06-01"}],
            }
        ],
        "milestones": [{"id": "fuzz-milestone", "date": "2025-07-01", "kind": "event", "title": "Fuzz day"}],
    }


# Ids the database holds once data/ is loaded: an import may cite them, so a corruption must avoid them.
_SEED = ds.load(ds.data_files(DEFAULT_DATA_DIR))
KNOWN = {t: {r["id"] for r in _SEED.rows(t)} | {"fuzz-pledge"} for t in ("speakers", "sources", "pledges")}


def _unknown(table: str) -> st.SearchStrategy[str]:
    """Text that, stripped, is not empty and names no row of `table` the import could cite."""
    return st.text(min_size=1).filter(lambda s: s.strip() and s.strip() not in KNOWN[table])


# (table, row index, field, bad values): each makes _good_records() invalid; None removes a required field.
CORRUPTIONS = [
    ("pledges", 0, "id", st.sampled_from(["", "UPPER", "has space", "-lead", "x" * 81, "a/b", "ünï"])),
    ("pledges", 0, "speaker", _unknown("speakers")),
    ("pledges", 0, "title", st.sampled_from([None, "", [], {"a": 1}, ["x", {"y": 2}]])),
    ("pledges", 0, "pledged_on", _date_text().filter(lambda d: not _real_date(d))),
    ("pledges", 0, "aliases", st.sampled_from([{"a": 1}, [["nested"]], [{"k": "v"}]])),
    ("pledges", 0, "unknown_field", st.text()),
    ("quotes", 0, "said_on", _date_text().filter(lambda d: not _real_date(d))),
    ("quotes", 0, "source", _unknown("sources")),
    ("quotes", 0, "text", st.sampled_from([None, "", []])),
    ("statuses", 0, "status", st.text().filter(lambda s: s.strip() not in ds.STATUSES)),
    ("statuses", 0, "date", _date_text().filter(lambda d: not _real_date(d))),
    ("milestones", 0, "kind", st.text().filter(lambda s: s.strip() not in ds.MILESTONE_KINDS)),
    ("milestones", 0, "date", _date_text().filter(lambda d: not _real_date(d))),
    ("milestones", 0, "id", st.sampled_from(["inter-korean-hotline!", "", "Ω"])),
    ("milestones", 0, "pledge", _unknown("pledges")),
]  # fmt: skip


def _real_date(text: str) -> bool:
    try:
        ds.parse_date(text)
    except ValueError:
        return False
    return True


def _corrupt(records: dict, table: str, index: int, name: str, value) -> None:
    pledge = records["pledges"][0]
    target = {
        "pledges": lambda: pledge,
        "quotes": lambda: pledge["quotes"][index],
        "statuses": lambda: pledge["status"][index],
        "milestones": lambda: records["milestones"][index],
    }[table]()
    if value is None:
        target.pop(name, None)
    else:
        target[name] = value


def _milestones_csv(records: dict) -> str:
    """The milestone rows alone as a CSV file (one table per CSV file; they cite nothing the DB lacks)."""
    rows = [{k: str(v) for k, v in row.items()} for row in records["milestones"]]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


@st.composite
def bad_datasets(draw) -> tuple[str, str]:
    """A dataset file (name, text) with at least one bad row, in YAML, JSON or CSV, or a broken file."""
    records = _good_records()
    picks = draw(st.lists(st.sampled_from(range(len(CORRUPTIONS))), min_size=1, max_size=3, unique=True))
    for i in picks:
        table, index, name, values = CORRUPTIONS[i]
        _corrupt(records, table, index, name, draw(values))
    fmt = draw(st.sampled_from(["yaml", "json", "csv", "broken"]))
    if fmt == "csv" and any(CORRUPTIONS[i][0] == "milestones" for i in picks):
        return "fuzz-milestones.csv", _milestones_csv(records)
    if fmt == "json":
        return "fuzz.json", json.dumps(records)
    if fmt == "broken":
        junk = draw(
            st.sampled_from(
                ["pledges: [", "{", "pledges: {a: 1}", "- 1\n- 2", "tables: []", "pledges:\n  - 5"]
            )
        )
        return draw(st.sampled_from(["fuzz.yaml", "fuzz.json"])), junk + draw(st.text(max_size=20))
    return "fuzz.yaml", yaml.safe_dump(records, allow_unicode=True)


@fuzz_settings
@given(dataset=bad_datasets(), encoding=st.sampled_from(["utf-8", "utf-16", "latin-1"]))
def test_bad_dataset_import_leaves_the_database_unchanged(
    shared: Bot, figures: Figures, tmp_path_factory, dataset, encoding
):
    name, text = dataset
    figures.add("hostile.import.bad_files")
    folder: Path = tmp_path_factory.mktemp("import")
    path = folder / name
    try:
        path.write_bytes(text.encode(encoding))
    except UnicodeEncodeError:
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
    before = snapshot(shared.store.path)
    try:
        result = shared.importer.import_files([path], author="fuzz")
    except ds.DatasetError as error:
        assert error.problems and all(str(p) for p in error.problems)
    else:
        # Random junk after a broken opening can close it into an empty document, which adds nothing.
        assert result.added == 0 and result.edit is None, f"a bad {name} was imported"
    assert snapshot(shared.store.path) == before


@pytest.mark.parametrize(
    ("name", "text", "records"),
    [
        ("fuzz.yaml", yaml.safe_dump(_good_records(), allow_unicode=True), 4),
        ("fuzz.json", json.dumps(_good_records()), 4),
        ("fuzz-milestones.csv", _milestones_csv(_good_records()), 1),
    ],
    ids=["yaml", "json", "csv"],
)
def test_the_uncorrupted_dataset_imports(tmp_path: Path, bot: Bot, name: str, text: str, records: int):
    """The control for the property above: without its corruption, each file is accepted."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert bot.importer.import_files([path], author="fuzz").added == records


# -- regressions found by the properties above ----------------------------------------------------------


@pytest.mark.parametrize("text", ["hotline \ud800", "show \udfff", "\ud83d", "list \udc00"])
def test_lone_surrogates_are_ignored_not_an_internal_error(core: Core, console_ctx: Context, text: str):
    # JSON (a Slack payload, a Discord gateway frame) can carry them as "\ud800"; SQLite cannot store them.
    reply = core.handle(text, console_ctx)
    assert readable(reply).strip() and INTERNAL_ERROR not in readable(reply)


@pytest.mark.parametrize(
    "text",
    [
        "upcoming 𐩀",
        "subscribe ahead 𐩀",
        "page 𐩀 hotline",
        "upcoming " + "9" * 5000,
        "subscribe ahead " + "9" * 5000,
        "page 99999999999999999999 hotline",
        "list page 99999999999999999999",
    ],
    ids=lambda t: t[:30],
)
def test_numbers_that_int_or_sqlite_cannot_take_are_usage_errors(
    core: Core, bot, console_ctx: Context, text: str
):
    before = bot.subscriptions.all()
    reply = core.handle(text, console_ctx)
    assert readable(reply).strip() and INTERNAL_ERROR not in readable(reply)
    assert bot.subscriptions.all() == before
