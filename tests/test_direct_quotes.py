"""Direct quotes only, or a marked paraphrase: the desk never turns a reporter's words into the speaker's.

A quote added at the desk (the command, `new … words=` and the forms) must stand inside quotation marks on the
fetched page and be attributed to the speaker nearby; otherwise the editor is told why and may record it only
as a paraphrase, which every renderer shows as reported speech, never in quotation marks. Pages come from the
page server of `tests/pages.py` on 127.0.0.1.
"""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.console.render import render
from adapters.discord_app.render import card_embed
from adapters.site.app import build_app
from adapters.slack_app.render import render as slack_render
from bot import dataset as ds
from bot.cards import card_text
from bot.cli import open_bot, site_sources
from bot.config import DEFAULT_DATA_DIR, Settings
from bot.desk.attribution import Problem, Speaker, check
from bot.desk.provenance import parse_allow
from bot.i18n import messages
from bot.replies import Context
from tests.conftest import POLICIES
from tests.pages import DIRECT, EVIDENCE, KOREAN_DIRECT

HOTLINE = "inter-korean-hotline"
INDIRECT = "he would push to reopen the liaison office in Kaesong"
LEE = Speaker("Lee Jae-myung", "이재명")


@pytest.fixture
def desk(state_settings: Settings, clock):
    bot = open_bot(dataclasses.replace(state_settings, fetch_allow=parse_allow("127.0.0.1/32")), clock=clock)
    yield bot
    bot.close()


def editor(platform: str = "console", locale: str = "en") -> Context:
    return Context(
        platform=platform,
        workspace="w",
        channel="c",
        user="editor-1",
        can_edit=True,
        locale=locale,
        policy=POLICIES[platform],
    )


def ask(bot, line: str, ctx: Context | None = None) -> str:
    return render(bot.core.handle(line, ctx or editor()))


def quotes(bot) -> list[tuple[str, int | None]]:
    return bot.store.db.execute(
        "SELECT text, paraphrase FROM quotes WHERE pledge = ? ORDER BY position", [HOTLINE]
    ).fetchall()


def test_a_reporters_sentence_on_the_page_is_refused_and_nothing_is_written(desk, pages):
    head = desk.journal.head()
    refused = ask(desk, f'quote {HOTLINE} "{EVIDENCE[:55]}" {pages}/hotline-restored')
    assert "not inside quotation marks" in refused and "Lee Jae-myung" in refused
    assert "paraphrase" in refused and desk.journal.head() == head
    korean = ask(desk, f'quote {HOTLINE} "{EVIDENCE[:55]}" {pages}/hotline-restored', editor(locale="ko"))
    assert "따옴표" in korean and "이재명" in korean and "간접인용" in korean


def test_indirect_speech_is_refused_in_quote_and_new(desk, pages):
    head = desk.journal.head()
    assert "not inside quotation marks" in ask(desk, f'quote {HOTLINE} "{INDIRECT}" {pages}/hotline-restored')
    new = ask(
        desk,
        f'new liaison-office title="Reopen the liaison office" category="North Korea" words="{INDIRECT}" '
        f"url={pages}/hotline-restored",
    )
    assert "not inside quotation marks" in new and "paraphrase=yes" in new
    assert desk.journal.head() == head and desk.catalogue.find_id("liaison-office") is None


def test_quoted_words_of_someone_else_are_not_attributed_to_the_speaker(desk, pages):
    refused = ask(desk, f'quote {HOTLINE} "The first call lasted about two minutes" {pages}/hotline-restored')
    assert "not attributed to Lee Jae-myung" in refused


def test_curly_and_korean_marks_with_the_name_in_the_sentence_before_are_accepted(desk, pages):
    assert "Quote added" in ask(desk, f'quote {HOTLINE} "{DIRECT}" {pages}/hotline-restored')
    assert "Quote added" in ask(desk, f'quote {HOTLINE} "{KOREAN_DIRECT}" {pages}/korean 2026-05-11')
    assert (DIRECT, None) in quotes(desk) and (KOREAN_DIRECT, None) in quotes(desk)


def test_the_check_reads_quotation_marks_as_pages_write_them():
    page = (
        "Lee Jae-myung spoke on Monday. 'We will talk,' he said of Korea's neighbours.\n"
        "The minister added that 'the cable' was tested.\n"
        '“Open the line,” Lee wrote. "Keep it open.”\n'
        "이 후보는 『평화가 경제다』라고 말했다.\n"
        "Lee Jae-myung was in Seoul.\n“We stand ready,” the ministry said."
    )
    assert check("We will talk", page, LEE) is None
    assert check("neighbours", page, LEE) is Problem.NOT_QUOTED  # an apostrophe opens no quotation
    assert check("the cable", page, LEE) is Problem.NOT_ATTRIBUTED
    assert check("Keep it open.", page, LEE) is None  # a straight mark opens, a curly one closes
    assert check("평화가 경제다", page, LEE) is None  # the surname and a title
    # The speaker named in the sentence before, but the quote is the ministry's.
    assert check("We stand ready", page, LEE) is None
    assert check("We stand ready", page, Speaker("Kim Jong-un")) is Problem.NOT_ATTRIBUTED


def test_a_paraphrase_is_stored_and_shown_as_reported_speech_everywhere(desk, pages):
    saved = ask(desk, f'quote {HOTLINE} "{INDIRECT}" {pages}/hotline-restored paraphrase')
    assert "Paraphrase added to inter-korean-hotline" in saved
    assert (INDIRECT, 1) in quotes(desk)
    reported = f"According to The Daily Example, Lee Jae-myung said {INDIRECT}."
    shown = ask(desk, f"show {HOTLINE}")
    assert reported in shown and f"“{INDIRECT}”" not in shown
    korean = ask(desk, f"show {HOTLINE}", editor(locale="ko"))
    assert f"The Daily Example 보도에 따르면 이재명의 발언 요지: {INDIRECT}." in korean
    assert f"“{INDIRECT}”" not in korean
    card = next(c for c in desk.core.handle(f"show {HOTLINE}", editor()).cards if c.paraphrase)
    m = messages("en")
    blocks = json.dumps(
        slack_render(desk.core.handle(f"show {HOTLINE}", editor("slack"))), ensure_ascii=False
    )
    assert reported in blocks and f">{INDIRECT}" not in blocks and f"“{INDIRECT}" not in blocks
    embed = card_embed(card, m)
    assert embed.description == reported
    assert reported in card_text(card, m) and f"“{INDIRECT}”" not in card_text(card, m)
    cited = ask(desk, f"cite {HOTLINE} 2")
    assert f"said on May 10, 2026 {INDIRECT}." in cited and f'"{INDIRECT}' not in cited
    assert f"다음과 같은 취지로 말했다: {INDIRECT}." in cited
    exported = [q for q in desk.exporter.export()["quotes"] if q["text"] == INDIRECT]
    assert exported == [dict(exported[0], paraphrase=True)]


def test_paraphrase_in_korean_and_in_new(desk, pages):
    ko = editor(locale="ko")
    assert "간접" in ask(desk, f'quote {HOTLINE} "{INDIRECT}" {pages}/hotline-restored 간접인용', ko)
    assert (INDIRECT, 1) in quotes(desk)
    new = ask(
        desk,
        f'new liaison-office title="Reopen the liaison office" category="North Korea" words="{INDIRECT}" '
        f"url={pages}/hotline-restored paraphrase=yes",
    )
    assert "Pledge added: liaison-office" in new
    assert "According to The Daily Example, Lee Jae-myung said" in ask(desk, "show liaison-office")
    assert "paraphrase=yes" in ask(
        desk, f"new x-y title=x category=y words=z url={pages}/seed paraphrase=maybe"
    )


def test_a_form_offers_the_paraphrase_step_and_saves_it(desk, pages):
    slack = editor("slack")
    form = desk.core.handle("quote", slack).form
    values = {"pledge": HOTLINE, "words": INDIRECT, "url": f"{pages}/hotline-restored"}
    detour = desk.core.submit(form.form, form.state, values, slack).form
    assert detour is not None and detour.form == "quote:paraphrase"
    fields = {f.name: f for f in detour.fields}
    assert "not inside quotation marks" in fields["reason"].value
    wrong = desk.core.submit(detour.form, detour.state, {"record_as": "quote"}, slack)
    assert "record_as" in wrong.field_errors
    confirm = desk.core.submit(detour.form, detour.state, {"record_as": "paraphrase"}, slack).form
    assert confirm is not None and confirm.form == "quote:source"
    saved = desk.core.submit(confirm.form, confirm.state, {f.name: f.value for f in confirm.fields}, slack)
    assert "Paraphrase added" in saved.title and (INDIRECT, 1) in quotes(desk)
    # A direct quote goes straight on to the source.
    again = desk.core.handle("quote", slack).form
    direct = desk.core.submit(again.form, again.state, dict(values, words=DIRECT), slack).form
    assert direct is not None and direct.form == "quote:source"


async def test_the_site_shows_a_paraphrase_as_reported_speech(desk, pages):
    ask(desk, f'quote {HOTLINE} "{INDIRECT}" {pages}/hotline-restored paraphrase')
    async with TestClient(TestServer(build_app(site_sources(desk)))) as client:
        page = await (await client.get(f"/pledges/{HOTLINE}")).text()
    assert f'<p class="paraphrase">According to The Daily Example, Lee Jae-myung said {INDIRECT}.</p>' in page
    assert f"“{INDIRECT}”" not in page


def test_data_files_declare_a_paraphrase_and_old_files_load_unchanged(tmp_path, settings, clock):
    data = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, data)
    before = ds.load(ds.data_files(DEFAULT_DATA_DIR))
    assert all("paraphrase" not in r.values for r in before.records if r.table == "quotes")
    reported = "Lee laid out his plans regarding South Korea's relationship with major partners"
    (data / "reported.yaml").write_text(
        "quotes:\n"
        f"  - pledge: {HOTLINE}\n"
        f'    text: "{reported}"\n'
        "    source: joongang-2025-05-26-hotline\n"
        "    said_on: 2025-05-26\n"
        "    paraphrase: true\n",
        encoding="utf-8",
    )
    bot = open_bot(dataclasses.replace(settings, data_dir=data), clock=clock)
    try:
        assert (reported, 1) in quotes(bot)
        # Every quote of the old file is still a direct quote.
        assert sum(1 for _, p in quotes(bot) if p) == 1
        assert "According to Korea JoongAng Daily, Lee Jae-myung said" in ask(bot, f"show {HOTLINE}")
        exported = [q for q in bot.exporter.export()["quotes"] if q.get("paraphrase")]
        assert [q["text"] for q in exported] == [reported]
    finally:
        bot.close()
    (data / "reported.yaml").write_text(
        (data / "reported.yaml").read_text().replace("true", "maybe"), encoding="utf-8"
    )
    with pytest.raises(ds.DatasetError, match="field 'paraphrase': 'maybe' is not true or false"):
        ds.load(ds.data_files(data))
