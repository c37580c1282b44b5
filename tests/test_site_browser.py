"""The tracker site in a real browser: Debian's Chromium driven by Playwright, checked with axe-core.

Every page renders without console errors and without serious or critical accessibility violations (axe-core,
vendored in tests/vendor/axe-core and injected by the test, never loaded by the page), its links resolve,
the meter's counts are the catalogue's, Hangul is drawn in the font the site serves, and phone and desktop
screenshots of each page are written to test-output/site/. One browser for the module, one site server.

Playwright drives the system's Chromium through `executable_path` (`playwright install` cannot download a
browser here). Without Chromium or Playwright the tests skip and say why; `.ci/run` installs Chromium and
sets PLEDGEBOT_REQUIRE_BROWSER=1, which turns that skip into a failure.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import Iterator

import pytest

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
}
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
TIMEOUT_MS = 15_000


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


def test_hangul_is_drawn_in_the_font_the_site_serves(site, browser):
    address, _ = site
    page, _, _ = _open(browser, address + PAGES["pledge-ko"], DESKTOP)
    try:
        loaded = page.evaluate(
            """() => [...document.fonts].filter(f => f.family.includes('Noto Sans CJK KR'))
                                         .map(f => f.status)"""
        )
        assert "loaded" in loaded
        # Drawn in that font, two syllables are different pictures, and neither is the box drawn for a
        # character no font has: tofu would draw the same box for all three.
        pictures = page.evaluate(
            """() => ['남', '북', '\\ue000'].map(t => {
                 const canvas = document.createElement('canvas');
                 canvas.width = canvas.height = 64;
                 const c = canvas.getContext('2d');
                 c.font = '48px "Noto Sans CJK KR"';
                 c.fillText(t, 4, 52);
                 return canvas.toDataURL(); })"""
        )
        assert len(set(pictures)) == 3
        assert page.locator("h1").inner_text() == "남북 핫라인·통신선 복원"
    finally:
        page.close()


def test_the_card_image_loads_at_its_size(site, browser):
    address, _ = site
    page, _, _ = _open(browser, address + "/pledges/inter-korean-hotline/card.png", DESKTOP)
    try:
        size = page.evaluate("[document.images[0].naturalWidth, document.images[0].naturalHeight]")
    finally:
        page.close()
    assert size[0] == 1200 and size[1] >= 630
