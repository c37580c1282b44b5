"""The tracker site in a real browser: Debian's Chromium driven by Playwright, checked with axe-core.

Every page renders without console errors and without serious or critical accessibility violations (axe-core,
vendored in tests/vendor/axe-core and injected by the test, never loaded by the page), its links resolve,
the meter's counts are the catalogue's, Hangul is drawn in the font the site serves wherever a page shows
it (the page's own pixels are the served font's picture of the text, which is not the boxes of a font without
Hangul), a Korean page downloads at most 400 kB of font slices, and phone and desktop screenshots of each
page are written to test-output/site/. One browser for the module, one site server.

Playwright drives the system's Chromium through `executable_path` (`playwright install` cannot download a
browser here). Without Chromium or Playwright the tests skip and say why; `.ci/run` installs Chromium and
sets PLEDGEBOT_REQUIRE_BROWSER=1, which turns that skip into a failure.
"""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import threading
from collections.abc import Iterator

import pytest
from PIL import Image

from adapters.site import fonts
from adapters.site.app import serve
from bot.cli import Bot, open_bot, site_sources
from bot.config import Settings
from tests.conftest import ROOT, FixedClock

AXE = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
OUTPUT = ROOT / "test-output" / "site"
PAGES = {
    "meter": "/",
    "meter-ko": "/?lang=ko",
    "pledge": "/pledges/inter-korean-hotline",
    "pledge-ko": "/pledges/inter-korean-hotline?lang=ko",
    "search": "/search?q=hotline",
    "search-ko": "/search?q=%ED%95%AB%EB%9D%BC%EC%9D%B8&lang=ko",
    "not-found": "/pledges/no-such-pledge",
    "install": "/install",
    "install-ko": "/install?lang=ko",
    "officials": "/officials",
    "official": "/officials/lee-jae-myung",
    "official-ko": "/officials/lee-jae-myung?lang=ko",
}
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
TIMEOUT_MS = 15_000
# Where Hangul is shown: headings, navigation, the status badge, the search box and its button.
HANGUL_SHOWN = [
    ("pledge-ko", "h1"),
    ("pledge-ko", "h2"),
    ("pledge-ko", "nav a"),
    ("pledge-ko", ".status"),
    ("meter-ko", "h1"),
    ("search-ko", "input#q"),
    ("search-ko", "button"),
]
# What a Korean page may download of fonts, both weights together.
FONT_BYTES = 400_000


def _chromium() -> str:
    """The system Chromium's path; skips (or fails, when CI requires the browser) without it or Playwright."""
    required = os.environ.get("PLEDGEBOT_REQUIRE_BROWSER") == "1"
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        path, reason = None, "Playwright is not installed (pip install -e '.[dev]')"
    else:
        reason = "no Chromium found (apt-get install chromium); .ci/run installs it"
    if path is None:
        if required:
            pytest.fail(f"PLEDGEBOT_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    return path


class SiteServer:
    """The site on 127.0.0.1 in a thread of its own, with its own event loop, until stopped."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.loop = asyncio.new_event_loop()
        self.ready: asyncio.Future[str] = self.loop.create_future()
        self.stopping = asyncio.Event()
        self.thread = threading.Thread(target=self._run, name="site", daemon=True)

    def _run(self) -> None:
        self.loop.run_until_complete(
            serve(site_sources(self.bot), None, self.stopping, port=0, ready=self.ready)
        )

    def start(self) -> str:
        self.thread.start()
        return asyncio.run_coroutine_threadsafe(asyncio.wait_for(_wait(self.ready), 10), self.loop).result(15)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.stopping.set)
        self.thread.join(10)


async def _wait(future: asyncio.Future[str]) -> str:
    return await future


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[tuple[str, Bot]]:
    _chromium()
    folder = tmp_path_factory.mktemp("site")
    bot = open_bot(Settings(db_path=folder / "site.db"), clock=FixedClock(_noon()))
    server = SiteServer(bot)
    address = server.start().rstrip("/")
    yield address, bot
    server.stop()
    bot.close()


def _noon():
    import datetime as dt

    return dt.datetime(2026, 5, 20, 3, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def browser():
    path = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # As root (CI), Chromium's sandbox cannot start; the pages are our own, served on 127.0.0.1.
        browser = p.chromium.launch(executable_path=path, args=["--no-sandbox"], timeout=TIMEOUT_MS)
        yield browser
        browser.close()


def _open(browser, url: str, viewport: dict[str, int]):
    """A fresh page at `url`, its response, and the console and page errors it logs (a list that grows)."""
    page = browser.new_page(viewport=viewport)
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    response = page.goto(url, wait_until="load")
    page.evaluate("document.fonts.ready.then(() => true)")
    return page, response, errors


@pytest.mark.parametrize("name", list(PAGES))
def test_each_page_renders_cleanly_and_passes_axe(site, browser, name):
    address, _ = site
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page, response, errors = _open(browser, address + PAGES[name], viewport)
        try:
            assert response.status == (404 if name == "not-found" else 200)
            assert page.locator("h1").count() == 1
            # A 404 page is the one expected failure to load: the document itself.
            expected = ["404"] if name == "not-found" else []
            assert [e for e in errors if not any(x in e for x in expected)] == []
            page.screenshot(path=str(OUTPUT / f"{name}-{label}.png"), full_page=True)
            if label == "phone":
                # Nothing wider than a phone's screen: no sideways scrolling.
                assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
                continue
            page.add_script_tag(path=str(AXE))
            result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
            serious = [
                (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
                for v in result["violations"]
                if v["impact"] in ("serious", "critical")
            ]
            assert serious == []
        finally:
            page.close()


def test_the_meters_counts_are_the_catalogues(site, browser):
    address, bot = site
    page, _, _ = _open(browser, address + "/", DESKTOP)
    try:
        shown = {
            row.locator("th").inner_text(): int(row.locator("td").inner_text())
            for row in page.locator("#meter-counts tbody tr").all()
        }
        total = int(page.locator("#meter-counts tfoot td").inner_text())
    finally:
        page.close()
    counts = bot.catalogue.tallies()[0].counts
    assert total == 14 == sum(counts.values())
    assert {k: v for k, v in shown.items() if v} == counts


def test_every_link_resolves(site, browser):
    address, _ = site
    seen: set[str] = set()
    for path in ("/", "/pledges/inter-korean-hotline", "/search?q=korea", "/?lang=ko"):
        page, _, _ = _open(browser, address + path, DESKTOP)
        try:
            links = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        finally:
            page.close()
        seen.update(link.split("#")[0] for link in links if link.startswith(address))
    assert len(seen) > 20
    context = browser.new_context()
    try:
        for link in sorted(seen):
            assert context.request.get(link, timeout=TIMEOUT_MS).status == 200, link
    finally:
        context.close()


def _probes() -> str:
    """fonts.css twice under other names: "probe", the served font itself, and "probe-latin", only its Latin
    slice (so its Hangul comes from the system's fonts)."""
    css = fonts.STYLESHEET.read_text()
    probe = css.replace(f'font-family:"{fonts.FAMILY}"', 'font-family:"probe"')
    latin = [r for r in probe.splitlines() if "-latin." in r]
    return probe + "\n".join(latin).replace('"probe"', '"probe-latin"')


def _drawn(page, selector: str, family: str) -> Image.Image:
    """The first `selector` element as drawn with `family` (its own font when empty), once that has loaded."""
    element = page.locator(selector).first
    element.evaluate(
        """async (e, family) => {
             e.style.fontFamily = family;
             const style = getComputedStyle(e);
             // A face that fails to load leaves its characters to the next font: the picture shows that.
             await document.fonts.load(`${style.fontWeight} ${style.fontSize} ${family || style.fontFamily}`,
                                       e.value || e.textContent).catch(() => []);
             await document.fonts.ready; }""",
        family,
    )
    return Image.open(io.BytesIO(element.screenshot(animations="disabled", caret="hide"))).convert("RGB")


def _system_draws_hangul(page) -> bool:
    """Whether a system font draws Hangul: without one, every syllable is the same missing-glyph box."""
    return page.evaluate(
        """() => new Set(['가', '힣'].map(t => {
             const canvas = document.createElement('canvas');
             canvas.width = canvas.height = 64;
             const c = canvas.getContext('2d');
             c.font = '48px sans-serif';
             c.fillText(t, 4, 52);
             return canvas.toDataURL(); })).size > 1"""
    )


@pytest.mark.parametrize(("name", "selector"), HANGUL_SHOWN)
def test_hangul_is_drawn_in_the_font_the_site_serves(site, browser, name, selector):
    address, _ = site
    page, _, _ = _open(browser, address + PAGES[name], DESKTOP)
    try:
        if _system_draws_hangul(page):
            # The page would show Hangul with or without the served font: nothing to prove here.
            pytest.skip(
                "a system font draws Hangul (see `fc-list :lang=ko`), so the served font is not needed"
            )
        shown = _drawn(page, selector, "")
        page.add_style_tag(content=_probes())
        served = _drawn(page, selector, '"probe"')
        without = _drawn(page, selector, '"probe-latin"')
    finally:
        page.close()
    # The served font draws the text, not the boxes a font without Hangul leaves; and the page's own text is
    # exactly that picture.
    assert not _same(served, without), f"the served font draws no Hangul of {selector} on {name}"
    assert _same(shown, served), f"{selector} on {name} is not drawn in the served font"


def _same(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("name", ["pledge-ko", "meter-ko", "search-ko"])
def test_a_korean_page_downloads_only_the_font_slices_it_shows(site, browser, name):
    address, _ = site
    page = browser.new_page(viewport=DESKTOP)
    page.set_default_timeout(TIMEOUT_MS)
    responses = []
    page.on("response", lambda r: responses.append(r) if "/fonts/" in r.url else None)
    try:
        page.goto(address + PAGES[name], wait_until="load")
        page.evaluate("document.fonts.ready.then(() => true)")
        sizes = {r.url.rsplit("/", 1)[1]: len(r.body()) for r in responses}
        text = page.evaluate(
            "document.body.textContent + [...document.querySelectorAll('input')].map(i => i.value).join('')"
        )
    finally:
        page.close()
    faces = {f.file: f for f in fonts.read_stylesheet(fonts.STYLESHEET.read_text())}
    # Each slice fetched holds a character of the page; both weights are among them (headings are bold).
    assert all(faces[n].codepoints & set(map(ord, text)) for n in sizes), sizes
    assert {faces[n].weight for n in sizes} == {400, 700}
    assert sum(sizes.values()) <= FONT_BYTES, sizes


def test_the_card_image_loads_at_its_size(site, browser):
    address, _ = site
    page, _, _ = _open(browser, address + "/pledges/inter-korean-hotline/card.png", DESKTOP)
    try:
        size = page.evaluate("[document.images[0].naturalWidth, document.images[0].naturalHeight]")
    finally:
        page.close()
    assert size[0] == 1200 and size[1] >= 630
