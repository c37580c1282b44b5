"""The site's officials: a page per official (office, region, party, term, their meter, their pledges by
field), the list of officials, the meter by office and by region, scoped searches, and downloads carrying
the speaker fields."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.site.app import build_app
from bot.cli import site_sources
from tests.test_officials_commands import NATION


@pytest.fixture
async def client(bot, tmp_path) -> AsyncIterator[TestClient]:
    path = tmp_path / "nation.yaml"
    path.write_text(NATION, encoding="utf-8")
    bot.importer.import_files([path], author="test")
    async with TestClient(TestServer(build_app(site_sources(bot)))) as client:
        yield client


async def get(client: TestClient, path: str) -> tuple[int, str]:
    response = await client.get(path, allow_redirects=False)
    return response.status, await response.text()


async def test_each_official_has_a_page_with_office_region_party_term_meter_and_fields(client):
    status, html = await get(client, "/officials/busan-mayor")
    assert status == 200
    assert "<h1>Park Busan, Mayor of Busan</h1>" in html
    assert '<dd lang="ko">부산광역시</dd>' in html and "<dd>가상정당</dd>" in html
    assert "<dd>term 2026-07-01 to 2030-06-30</dd>" in html and "<dd>1 of 1 pledge kept</dd>" in html
    assert 'data-total="1"' in html and 'data-count="1">1</td>' in html
    assert "<h3>Housing</h3>" in html and 'href="/pledges/busan-housing"' in html
    korean = await get(client, "/officials/busan-mayor?lang=ko")
    assert "<h1>박부산, 부산광역시장</h1>" in korean[1] and "<h3>주거</h3>" in korean[1]


async def test_the_officials_page_lists_and_links_every_official(client):
    status, html = await get(client, "/officials")
    assert status == 200
    for official in ("lee-jae-myung", "busan-mayor", "seoul-edu", "haeundae-head"):
        assert f'href="/officials/{official}"' in html
    assert html.index("Lee Jae-myung, President") < html.index("Park Busan, Mayor of Busan")


async def test_an_unknown_official_is_a_404_and_another_spelling_redirects(client):
    status, html = await get(client, "/officials/nobody")
    assert status == 404 and "There is no official with the id “nobody”." in html
    response = await client.get("/officials/BUSAN-MAYOR", allow_redirects=False)
    assert response.status == 301 and response.headers["Location"] == "/officials/busan-mayor"


async def test_the_meter_counts_by_office_and_by_region(client):
    status, html = await get(client, "/")
    assert status == 200 and "By office" in html and "By region" in html
    assert '<th scope="row">Mayor of Busan</th>' in html
    assert '<th scope="row">Busan</th>' in html and '<th scope="row">Seoul</th>' in html


async def test_the_sites_search_ranks_the_named_officials_pledges_first(client):
    status, html = await get(client, "/search?q=mayor+of+busan+housing")
    assert status == 200
    assert html.index("/pledges/busan-housing") < html.index("/pledges/seoul-housing")
    assert "Pledges of Park Busan, Mayor of Busan first; the others follow." in html


async def test_downloads_carry_the_speaker_fields(client):
    data = await (await client.get("/pledges.json")).json()
    housing = next(p for p in data["pledges"] if p["id"] == "busan-housing")
    assert housing["speaker_id"] == "busan-mayor" and housing["office_ko"] == "부산광역시장"
    assert (housing["sido"], housing["term_start"], housing["term_end"]) == (
        "부산광역시",
        "2026-07-01",
        "2030-06-30",
    )
    rows = list(csv.DictReader(io.StringIO(await (await client.get("/pledges.csv")).text())))
    row = next(r for r in rows if r["id"] == "busan-housing")
    assert row["office"] == "Mayor of Busan" and row["party_ko"] == "가상정당"


async def test_a_pledges_page_links_its_speaker_to_their_officials_page(client):
    status, html = await get(client, "/pledges/busan-housing")
    assert status == 200 and '<a href="/officials/busan-mayor">Park Busan</a>' in html
