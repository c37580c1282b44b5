"""The public tracker site over HTTP: the real aiohttp application and core on 127.0.0.1, the seed catalogue.

The browser tests (`tests/test_site_browser.py`) look at the same pages in Chromium; these check what the
server sends: counts, pages, search, downloads, the feed, languages, escaping and the journal follower.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import datetime as dt
import gzip
import hashlib
import io
import re
import socket
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from html.parser import HTMLParser

import aiohttp
import brotli
import pytest
from aiohttp.test_utils import TestClient, TestServer
from fontTools.ttLib import TTFont
from PIL import Image

from adapters.site import fonts
from adapters.site.app import build_app, choose_language, serve
from bot.cli import _follow, open_bot, site_sources
from bot.config import ConfigError, Secret, Settings, load_settings
from bot.desk.provenance import parse_allow
from bot.replies import Context
from tests.conftest import HEADLINE, HOTLINE_QUOTE, FixedClock

ATOM = "{http://www.w3.org/2005/Atom}"
HOTLINE = "/pledges/inter-korean-hotline"


@pytest.fixture
async def client(core, bot) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(build_app(site_sources(bot)))) as client:
        yield client


async def get(client: TestClient, path: str, **headers: str) -> tuple[int, str]:
    response = await client.get(path, headers=headers, allow_redirects=False)
    return response.status, await response.text()


class Meta(HTMLParser):
    """The <meta property=…> tags and the <html lang> of a page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.lang = ""
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.lang = values.get("lang") or ""
        if tag == "meta" and values.get("property"):
            self.meta[values["property"] or ""] = values.get("content") or ""


async def test_the_meter_counts_the_fourteen_pledges_by_status_speaker_and_category(client):
    status, html = await get(client, "/")
    assert status == 200
    assert 'data-total="14"' in html
    assert re.search(r"not yet rated</th><td data-count=\"14\">14</td>", html)
    assert 'role="img"' in html and '<title id="overall-title">' in html
    assert "Lee Jae-myung</th>" in html
    for category, n in (("Defense", 2), ("Diplomacy", 6), ("North Korea", 6)):
        assert re.search(rf"<th scope=\"row\">{category}</th>(<td>\d+</td>)+<td>{n}</td>", html), category
    # The latest updates link to their pledges; what falls due in the next 90 days is listed.
    assert 'href="/pledges/' in html and "Latest status updates" in html and "Coming up" in html


async def test_a_pledge_page_has_both_titles_every_quote_with_its_source_and_the_timeline(client):
    status, html = await get(client, HOTLINE)
    assert status == 200
    assert "Restore inter-Korean hotlines and communication channels" in html
    assert "남북 핫라인·통신선 복원" in html
    assert f"“{HOTLINE_QUOTE}”" in html
    assert HEADLINE in html and "Korea JoongAng Daily" in html and "26 May 2025, 11:09 (UTC+09:00)" in html
    assert "English translation of the original" in html
    assert 'class="timeline"' in html and '<time datetime="2025-05-26">' in html
    meta = Meta(html).meta
    assert meta["og:title"] == "Restore inter-Korean hotlines and communication channels"
    assert meta["og:image"].endswith(f"{HOTLINE}/card.png")
    assert "og:url" not in meta  # only with PLEDGEBOT_PUBLIC_URL


async def test_the_public_url_gives_og_url_and_canonical_links(core, bot):
    async with TestClient(TestServer(build_app(site_sources(bot), "https://tracker.example"))) as client:
        _, html = await get(client, HOTLINE)
    meta = Meta(html).meta
    assert meta["og:url"] == f"https://tracker.example{HOTLINE}"
    assert meta["og:image"] == f"https://tracker.example{HOTLINE}/card.png"


async def test_an_unknown_pledge_gets_a_404_page_and_another_spelling_of_an_id_redirects(client):
    status, html = await get(client, "/pledges/no-such-pledge")
    assert status == 404 and "There is no pledge with the id “no-such-pledge”." in html
    status, html = await get(client, "/no/such/page")
    assert status == 404 and "Page not found" in html
    response = await client.get("/pledges/Inter-Korean-Hotline", allow_redirects=False)
    assert response.status == 301 and response.headers["Location"] == HOTLINE


async def test_the_card_image_is_a_png(client):
    response = await client.get(f"{HOTLINE}/card.png")
    assert response.status == 200 and response.content_type == "image/png"
    assert (await response.read()).startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize("path", ["/", "/search?q=hotline", "/no-such-page"])
async def test_other_pages_share_as_the_meter_image(client, path):
    _, html = await get(client, path)
    meta = Meta(html).meta
    assert meta["og:image"].endswith("/meter.png") and meta["og:title"] and meta["og:description"]
    _, korean = await get(client, path + ("&" if "?" in path else "?") + "lang=ko")
    assert Meta(korean).meta["og:image"].endswith("/meter.png?lang=ko")
    response = await client.get("/meter.png")
    picture = Image.open(io.BytesIO(await response.read()))
    assert response.content_type == "image/png" and picture.size == (1200, 630)


async def test_search_ranks_as_the_bot_does_and_pages(client, bot):
    status, html = await get(client, "/search?q=hotline")
    assert status == 200
    ids = re.findall(r'<h3><a href="/pledges/([a-z0-9-]+)">', html)
    assert ids == bot.searcher.search("hotline", limit=10).ids
    assert "<mark>hotlines</mark>" in html
    _, html = await get(client, "/search?q=korea")
    total = bot.searcher.search("korea", limit=1).total
    assert total > 10 and 'rel="next"' in html
    _, second = await get(client, "/search?q=korea&page=2")
    assert re.findall(r'<h3><a href="/pledges/([a-z0-9-]+)">', second) == (
        bot.searcher.search("korea", limit=10, offset=10).ids
    )
    assert 'rel="prev"' in second
    # Switching language keeps the search.
    assert 'href="/search?q=korea&amp;page=2&amp;lang=ko"' in second
    status, html = await get(client, "/search?q=zzzqqq&page=abc")
    assert status == 200 and "No pledge matches “zzzqqq”." in html


async def test_json_and_csv_downloads_hold_every_pledge(client):
    response = await client.get("/pledges.json")
    data = await response.json()
    assert len(data["pledges"]) == 14
    hotline = next(p for p in data["pledges"] if p["id"] == "inter-korean-hotline")
    assert hotline["lead_quote"] == HOTLINE_QUOTE and hotline["status"] == "not yet rated"
    # The quote with what cites it: when it was said, its outlet, headline, publication date and address.
    assert hotline["lead_quote_said_on"] == "2025-05-26" and hotline["lead_quote_paraphrase"] is False
    assert (
        hotline["lead_quote_outlet"] == "Korea JoongAng Daily" and hotline["lead_quote_headline"] == HEADLINE
    )
    assert hotline["lead_quote_published_at"] == "2025-05-26T11:09:00+09:00"
    unquoted = [p for p in data["pledges"] if p["lead_quote"] is None]
    assert all(p["lead_quote_paraphrase"] is None and p["lead_quote_outlet"] is None for p in unquoted)
    response = await client.get("/pledges.csv")
    body = await response.read()
    # A byte order mark, so that Excel reads the Hangul as UTF-8.
    assert body.startswith(b"\xef\xbb\xbf") and response.charset == "utf-8"
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) == 14 and {"id", "title", "title_ko", "status", "lead_quote"} <= set(rows[0])
    row = next(r for r in rows if r["id"] == "inter-korean-hotline")
    assert row["lead_quote_outlet"] == "Korea JoongAng Daily" and row["title_ko"] == "남북 핫라인·통신선 복원"


async def test_the_atom_feed_is_valid_with_ids_updated_and_links(client):
    response = await client.get("/feed.atom")
    assert response.content_type == "application/atom+xml"
    feed = ET.fromstring(await response.read())
    assert feed.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert feed.find(f"{ATOM}{name}").text
    assert {link.get("rel") for link in feed.findall(f"{ATOM}link")} == {"self", "alternate"}
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 14
    ids = [e.find(f"{ATOM}id").text for e in entries]
    assert len(set(ids)) == 14 and all(i.startswith("urn:pledgebot:status:") for i in ids)
    for entry in entries:
        dt.datetime.fromisoformat(entry.find(f"{ATOM}updated").text)
        assert entry.find(f"{ATOM}link").get("href").startswith("http://")
    # Dated by the article the "not yet rated" entries cite (11:09 in Seoul), not midnight of a day.
    assert {e.find(f"{ATOM}updated").text for e in entries} == {"2025-05-26T02:09:00Z"}


@pytest.mark.parametrize(
    ("query", "header", "language"),
    [
        ("?lang=ko", "", "ko"),
        ("", "ko-KR,ko;q=0.9,en;q=0.8", "ko"),
        ("", "fr, en;q=0.5", "en"),
        ("", "", "en"),
    ],
)
async def test_korean_by_address_or_by_the_browsers_language(client, query, header, language):
    headers = {"Accept-Language": header} if header else {}
    _, html = await get(client, f"{HOTLINE}{query}", **headers)
    assert Meta(html).lang == language
    if language == "ko":
        assert '<h1 lang="ko">남북 핫라인·통신선 복원</h1>' in html and "미평가" in html
        if query:
            # Links keep a language chosen in the address.
            assert 'href="/?lang=ko"' in html


def test_accept_language_weights_are_honoured():
    class Request:
        def __init__(self, header: str):
            self.query: dict[str, str] = {}
            self.headers = {"Accept-Language": header}

    assert choose_language(Request("en;q=0.4, ko;q=0.8")) == ("ko", False)  # type: ignore[arg-type]
    assert choose_language(Request("ko;q=0, en")) == ("en", False)  # type: ignore[arg-type]
    assert choose_language(Request("ko;q=abc")) == ("en", False)  # type: ignore[arg-type]


async def test_everything_the_data_holds_is_escaped(tmp_path, clock):
    bot = open_bot(Settings(db_path=tmp_path / "x.db"), clock=clock)
    hostile = tmp_path / "hostile.yaml"
    hostile.write_text(
        "pledges:\n"
        "  - id: hostile-title\n"
        "    speaker: lee-jae-myung\n"
        "    title: '<script>alert(1)</script> & \"quotes\"'\n"
        "    category: Defense\n",
        encoding="utf-8",
    )
    try:
        bot.importer.import_files([hostile], author="test")
        async with TestClient(TestServer(build_app(site_sources(bot)))) as client:
            _, html = await get(client, "/pledges/hostile-title")
            _, feed = await get(client, "/feed.atom")
    finally:
        bot.close()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;quotes&#34;" in html
    ET.fromstring(feed)


async def test_a_rating_made_in_chat_elsewhere_reaches_the_page_and_the_feed_within_two_seconds(
    tmp_path, database_url, pages
):
    """An editor rates a pledge in chat on another host (the desk fetches the evidence from the page server
    and appends the edit to the shared journal); the serving process's follower applies it and the site
    shows it, as `pledgebot site` and `web` run it."""
    url = Secret(database_url)
    allow = parse_allow("127.0.0.1/32")
    now = FixedClock(dt.datetime(2026, 5, 20, 3, 0, tzinfo=dt.UTC))
    editor = open_bot(Settings(db_path=tmp_path / "a.db", database_url=url, fetch_allow=allow), clock=now)
    serving = open_bot(Settings(db_path=tmp_path / "b.db", database_url=url), clock=now)
    stopping = asyncio.Event()
    follower = asyncio.create_task(_follow(serving.loader, stopping, serving.metrics, serving.calendars))
    ctx = Context(platform="slack", workspace="T1", channel="C1", user="U1", can_edit=True)
    try:
        async with TestClient(TestServer(build_app(site_sources(serving)))) as client:
            _, before = await get(client, HOTLINE)
            assert "Koreas restore military hotline" not in before
            rated = await asyncio.to_thread(
                editor.core.handle, f"rate inter-korean-hotline in the works {pages}/hotline-restored", ctx
            )
            assert not rated.is_error, rated
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 2.0
            while "Koreas restore military hotline" not in (await get(client, HOTLINE))[1]:
                assert loop.time() < deadline, "the rating did not reach the page within 2 s"
                await asyncio.sleep(0.05)
            _, page = await get(client, HOTLINE)
            _, feed = await get(client, "/feed.atom")
            _, meter = await get(client, "/")
    finally:
        stopping.set()
        await follower
        editor.close()
        serving.close()
    assert "in the works</span>" in page
    first = ET.fromstring(feed).find(f"{ATOM}entry")
    assert first.find(f"{ATOM}title").text == (
        "Restore inter-Korean hotlines and communication channels: in the works"
    )
    # The rating is dated by the evidence's publication (2026-05-10, 09:00 in Seoul), not by the fetch.
    assert first.find(f"{ATOM}updated").text == "2026-05-10T00:00:00Z"
    assert re.search(r"in the works</th><td data-count=\"1\">1</td>", meter)


async def test_serve_takes_the_next_port_when_one_is_taken(core, bot):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        stopping = asyncio.Event()
        ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        said: list[str] = []
        task = asyncio.create_task(
            serve(site_sources(bot), None, stopping, port=port, tries=5, ready=ready, announce=said.append)
        )
        try:
            address = await asyncio.wait_for(ready, 5)
            assert address != f"http://127.0.0.1:{port}/" and said == [address]
            async with aiohttp.ClientSession() as session, session.get(address) as response:
                assert response.status == 200
        finally:
            stopping.set()
            await asyncio.wait_for(task, 5)


async def test_a_taken_port_without_tries_is_an_error(core, bot):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            await asyncio.wait_for(
                serve(site_sources(bot), None, asyncio.Event(), port=taken.getsockname()[1]), 5
            )


async def test_the_site_serves_its_stylesheets_and_font_slices_and_nothing_else_from_disk(client):
    response = await client.get("/site.css")
    assert response.status == 200 and '"Noto Sans CJK KR"' in await response.text()
    response = await client.get("/fonts.css", headers={"Accept-Encoding": "gzip"})
    assert response.status == 200 and response.headers["Content-Encoding"] == "gzip"
    files = re.findall(r"url\(/fonts/([^)]+)\)", await response.text())
    assert len(files) == len(set(files)) > 50
    for name in files:
        response = await client.get(f"/fonts/{name}")
        assert response.status == 200 and (await response.read())[:4] == b"wOF2", name
        assert response.headers["Content-Type"] == "font/woff2"
        assert "immutable" in response.headers["Cache-Control"]
    response = await client.get("/fonts/OFL.txt")
    assert response.status == 200 and "SIL Open Font License" in await response.text()
    for path in (
        "/fonts/..%2Fcards.py",
        "/fonts/..%2Fsite.css",
        "/fonts/missing.woff2",
        # The whole fonts are the quote cards' alone: pages get the slices.
        "/fonts/NotoSansCJKkr-Regular-subset.otf",
    ):
        assert (await client.get(path)).status == 404, path


def test_the_committed_font_slices_are_what_the_generator_plans_from_the_fonts():
    ranking = fonts.read_ranking(fonts.RANKING.read_text(encoding="utf-8"))
    faces = fonts.read_stylesheet(fonts.STYLESHEET.read_text())
    for weight, source in fonts.WEIGHTS.items():
        planned = fonts.plan(TTFont(source).getBestCmap(), ranking)
        committed = [f for f in faces if f.weight == weight]
        assert [(s.name, set(s.codepoints)) for s in planned] == [
            (f.file.split(f"-{weight}-")[1].split(".")[0], f.codepoints) for f in committed
        ]
    # The same slices are on disk, each named by its bytes' hash, and nothing else.
    assert {f.file for f in faces} == {p.name for p in fonts.SLICES.glob("*.woff2")}
    for face in faces:
        data = (fonts.SLICES / face.file).read_bytes()
        assert face.file.split(".")[1] == hashlib.sha256(data).hexdigest()[:10]
    css = fonts.STYLESHEET.read_bytes()
    assert gzip.decompress(fonts.STYLESHEET.with_suffix(".css.gz").read_bytes()) == css
    assert brotli.decompress(fonts.STYLESHEET.with_suffix(".css.br").read_bytes()) == css


def test_every_character_of_the_font_is_in_one_slice_of_each_weight_which_holds_its_glyph():
    faces = fonts.read_stylesheet(fonts.STYLESHEET.read_text())
    for weight, source in fonts.WEIGHTS.items():
        whole = set(TTFont(source).getBestCmap())
        slices = [f for f in faces if f.weight == weight]
        covered = set().union(*(f.codepoints for f in slices))
        assert covered == whole and sum(len(f.codepoints) for f in slices) == len(whole)
        for face in slices:
            assert set(TTFont(fonts.SLICES / face.file).getBestCmap()) == face.codepoints, face.file


def test_the_common_syllables_come_most_used_first_in_slices_of_a_hundred():
    ranking = "다이가"
    slices = fonts.plan(map(ord, " 힣갂각가다이ㄱ、"), ranking)
    names = {s.name: "".join(map(chr, s.codepoints)) for s in slices}
    # 각 is in KS X 1001 but not in the ranking: after the ranked ones. 갂 and 힣 are not: code point order.
    assert names == {"latin": " ", "jamo": "ㄱ", "symbols": "、", "common-01": "다이가각", "rare-01": "갂힣"}
    assert fonts.unicode_range([0xAC00, 0xAC01, 0xAC02, 0xAC05, 0x20]) == "U+20,U+AC00-AC02,U+AC05"
    common = fonts.plan(range(0xAC00, 0xD7A4), "")
    assert [len(s.codepoints) for s in common if s.name.startswith("common")] == [100] * 23 + [50]


@pytest.mark.parametrize(
    "path",
    [
        "/search?q=" + "a" * 5_000,
        "/search?q=%00%01%02",
        "/search?q=AND(%20*%20NEAR",
        "/search?q=hotline&page=0",
        "/search?q=hotline&page=-1",
        "/search?q=hotline&page=99999",
        "/search?q=hotline&page=%F0%90%A9%80",
        "/?lang=xx",
        "/pledges/%3Cscript%3E",
        "/pledges/" + "x" * 2_000,
        "/pledges/inter-korean-hotline/card.png?lang=%00",
    ],
)
async def test_hostile_addresses_get_a_page_never_an_error(client, path):
    response = await client.get(path, headers={"Accept-Language": "q=;;,,ko;q=nan"})
    assert response.status in (200, 404)
    body = await response.read()
    assert b"Traceback" not in body and b"<script>" not in body


@pytest.mark.parametrize("answer", [False, RuntimeError("disk gone")])
async def test_healthz_is_503_when_the_catalogue_does_not_answer(core, bot, monkeypatch, answer):
    def healthy() -> bool:
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(core, "healthy", healthy)
    async with TestClient(TestServer(build_app(site_sources(bot)))) as client:
        response = await client.get("/healthz")
        assert response.status == 503 and await response.json() == {"ok": False}


async def test_the_install_page_links_to_slack_and_discord_when_the_deployment_allows_it(
    settings: Settings, clock: FixedClock, client: TestClient
):
    # Without distribution or an application id, it says the bot cannot be added from here.
    status, page = await get(client, "/install")
    assert status == 200
    assert "cannot be added from here" in page and "cannot be invited from here" in page
    assert 'href="/install"' in page  # the site's navigation leads to it

    distributed = dataclasses.replace(
        settings,
        slack_client_id="1111.2222",
        slack_client_secret=Secret("s"),
        slack_signing_secret=Secret("s"),
        discord_application_id=1234567890123456789,
        public_url="https://tracker.example",
    )
    bot = open_bot(distributed, clock=clock)
    try:
        async with TestClient(TestServer(build_app(site_sources(bot)))) as other:
            status, page = await get(other, "/install")
            status_ko, korean = await get(other, "/install?lang=ko")
    finally:
        bot.close()
    assert status == status_ko == 200
    assert 'href="https://tracker.example/slack/install"' in page and "Add to Slack" in page
    # Discord's invite: the bot and its commands, with exactly the permissions the bot uses (View Channel,
    # Send Messages, Embed Links, Attach Files, Read Message History, Use Application Commands).
    invite = (
        "https://discord.com/oauth2/authorize?client_id=1234567890123456789"
        "&amp;scope=bot+applications.commands&amp;permissions=2147601408"
    )
    assert f'href="{invite}"' in page and "Add to Discord" in page
    assert "Slack에 추가" in korean and "Discord에 추가" in korean and invite in korean


def test_the_discord_application_id_is_one_numeric_id(tmp_path):
    base = {"PLEDGEBOT_DB": str(tmp_path / "x.db")}
    assert load_settings(base).discord_application_id is None
    assert load_settings(
        {**base, "DISCORD_APPLICATION_ID": " 1234567890123456789 "}
    ).discord_application_id == (1234567890123456789)
    for wrong in ("pledgebot", "12,34", "1" * 21):
        with pytest.raises(ConfigError, match="DISCORD_APPLICATION_ID"):
            load_settings({**base, "DISCORD_APPLICATION_ID": wrong})
