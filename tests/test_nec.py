"""`pledgebot import --format nec`: the Election Commission's saved responses (JSON and XML) as verbatim
Korean quotes of the winners, re-imports that change nothing, changed texts journalled with their diff, bad
files refused whole, and `--fetch` from a fake portal on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot import cli
from bot.config import Secret
from bot.nec import NecError
from bot.nec_portal import Portal

FIXTURES = Path(__file__).resolve().parent / "nec"
ALL = [
    "pledges-3.json",
    "pledges-4.json",
    "pledges-11.xml",
    "winners-3.json",
    "winners-11.xml",
    "officials.yaml",
]
KEY = "SECRET-portal-key-123"


def run(monkeypatch, bot, *argv: str, **settings) -> int:
    monkeypatch.setattr(cli, "load_settings", lambda: dataclasses.replace(bot.settings, **settings))
    return cli.main(list(argv))


def files(*names: str) -> list[str]:
    return [str(FIXTURES / name) for name in names]


def count(bot, table: str) -> int:
    return bot.store.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_the_winners_pledges_import_as_verbatim_korean_quotes_with_their_source(bot, monkeypatch, capsys):
    assert run(monkeypatch, bot, "import", "--format", "nec", *files(*ALL)) == 0
    out = capsys.readouterr().out
    assert "of 3 official(s)" in out and "1 candidate(s) who did not win left out" in out
    hong = bot.officials.get("hong-gil-dong")
    assert (hong.name, hong.name_ko, hong.office, hong.office_ko) == (
        "Hong Gil-dong",
        "홍길동",
        "Mayor of Seoul",
        "서울특별시장",
    )
    assert hong.terms[0].start.isoformat() == "2026-07-01" and hong.terms[0].end.isoformat() == "2030-06-30"
    assert (hong.sido, hong.wiw, hong.party_ko) == ("서울특별시", None, "가상정당")
    # Numbers 1, 3 and 4: the missing second pledge is no gap in the ids, which come from the order.
    ids = [
        r[0]
        for r in bot.store.db.execute("SELECT id FROM pledges WHERE speaker = 'hong-gil-dong' ORDER BY id")
    ]
    assert ids == ["nec-20260603-100150001-1", "nec-20260603-100150001-3", "nec-20260603-100150001-4"]
    quote = bot.catalogue.quotes(["nec-20260603-100150001-1"], lead_only=True)[0]
    assert quote.text.startswith("○ 목표\n - 심야버스 노선을 2030년까지 두 배로 늘리겠습니다.")
    assert (quote.language, quote.translated, quote.outlet, quote.url) == (
        "ko",
        False,
        "National Election Commission",
        "https://www.data.go.kr/data/15040587/openapi.do",
    )
    assert quote.outlet_ko == "중앙선거관리위원회"
    row = bot.catalogue.pledges(["nec-20260603-100150001-1"])["nec-20260603-100150001-1"]
    assert (row.title_ko, row.category, row.category_ko) == ("심야버스 노선 두 배 확대", "Transport", "교통")
    # A field the mapping does not know is a category of its own, in Korean.
    pets = bot.catalogue.pledges(["nec-20260603-100150001-4"])["nec-20260603-100150001-4"]
    assert (pets.category, pets.category_ko) == ("반려동물", "반려동물")
    # XML: entities and CDATA read as the text they stand for.
    meal = bot.catalogue.quotes(["nec-20260603-100170003-1"], lead_only=True)[0]
    assert meal.text == "모든 초·중·고에 무상 아침 급식을 <단계적으로> 도입하겠습니다."
    assert bot.catalogue.pledges(["nec-20260603-100170003-1"])["nec-20260603-100170003-1"].title_ko == (
        "무상 급식 & 아침 급식"
    )
    offices = {o.office_ko for o in bot.officials.holders()}
    assert {"부산광역시교육감", "해운대구청장", "서울특별시장", "대통령"} <= offices
    # The one who lost is not imported without --all-candidates.
    assert bot.store.db.execute("SELECT 1 FROM speakers WHERE name_ko = '김철수'").fetchone() is None


def test_importing_the_same_responses_again_changes_nothing(bot, monkeypatch, capsys):
    assert run(monkeypatch, bot, "import", "--format", "nec", *files(*ALL)) == 0
    head = bot.journal.head()
    assert run(monkeypatch, bot, "import", "--format", "nec", *files(*ALL)) == 0
    assert "Imported 0 records" in capsys.readouterr().out
    assert bot.journal.head() == head


def test_a_changed_text_is_a_journalled_edit_with_its_diff(bot, monkeypatch, capsys, tmp_path):
    assert run(monkeypatch, bot, "import", "--format", "nec", *files(*ALL)) == 0
    changed = tmp_path / "pledges-3.json"
    text = (FIXTURES / "pledges-3.json").read_text(encoding="utf-8")
    changed.write_text(text.replace("5만 호를 공급", "7만 호를 공급"), encoding="utf-8")
    capsys.readouterr()
    assert run(monkeypatch, bot, "import", "--format", "nec", str(changed), *files("officials.yaml")) == 0
    out = capsys.readouterr().out
    assert "Changed since the last import: nec-20260603-100150001-3" in out
    assert "-청년과 신혼부부를 위한 공공주택 5만 호를 공급하겠습니다." in out
    assert "+청년과 신혼부부를 위한 공공주택 7만 호를 공급하겠습니다." in out
    quotes = bot.catalogue.quotes(["nec-20260603-100150001-3"], lead_only=False)
    assert [q.text for q in quotes] == ["청년과 신혼부부를 위한 공공주택 7만 호를 공급하겠습니다."]
    edit = bot.journal.get(bot.journal.head())
    assert edit.kind == "replace" and "nec-20260603-100150001-3" in edit.payload["diffs"]
    # The journal keeps the old pledge and its quote; the pledge's history lists the edit.
    assert edit.payload["old"]["pledges:nec-20260603-100150001-3"]["quotes"][0]["text"].startswith("청년과")
    assert edit.id in [e.id for e in bot.journal.history("nec-20260603-100150001-3")]


def test_all_candidates_imports_the_ones_who_lost_too(bot, monkeypatch):
    assert (
        run(monkeypatch, bot, "import", "--format", "nec", "--all-candidates", *files("pledges-3.json")) == 0
    )
    kim = bot.officials.get("nec-20260603-100150002")
    assert kim.office is None and kim.terms == ()
    role = bot.store.db.execute("SELECT role_ko FROM speakers WHERE id = ?", [kim.id]).fetchone()[0]
    assert role == "서울특별시장 후보 (2026-06-03)"


def test_without_winners_nothing_is_imported_and_it_says_why(bot, monkeypatch, capsys):
    assert run(monkeypatch, bot, "import", "--format", "nec", *files("pledges-3.json")) == 1
    assert "no winners given" in capsys.readouterr().err


def _bad(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda t: t.replace(
                '"prmsOrd1": "1", "prmsRealmName1": "교통", "prmsTitle1": "지하철',
                '"prmsOrd1": "x", "prmsRealmName1": "교통", "prmsTitle1": "지하철',
            ),
            "item 2: field 'prmsOrd1': 'x' is not an order",
        ),
        (
            lambda t: t.replace('"prmsTitle3": "청년 공공주택 5만 호",', ""),
            "item 1: field 'prmsTitle3': is missing",
        ),
        (
            lambda t: t.replace(
                '"sgTypecode": "3", "cnddtId": "100150002"', '"sgTypecode": "7", "cnddtId": "100150002"'
            ),
            "item 2: field 'sgTypecode': '7' is not one of 1, 3, 4, 11",
        ),
        (lambda t: t.replace('"cnddtId": "100150001"', '"cnddtId": "1001/50001"'), "item 1: field 'cnddtId'"),
        (
            lambda t: t.replace(
                '"sgId": "20260603", "sgTypecode": "3", "cnddtId": "100150002"',
                '"sgId": "20260231", "sgTypecode": "3", "cnddtId": "100150002"',
            ),
            "item 2: field 'sgId': '20260231' is not an election day",
        ),
        (lambda t: t[:-20], "not valid JSON"),
        (lambda t: t.replace('"krName": "홍길동"', '"krName": ""'), "item 1: field 'krName': is required"),
    ],
)
def test_a_malformed_file_is_refused_whole_naming_file_item_and_field(
    bot, monkeypatch, capsys, tmp_path, edit, message
):
    before = count(bot, "pledges"), count(bot, "speakers"), bot.journal.head()
    text = (FIXTURES / "pledges-3.json").read_text(encoding="utf-8")
    bad = _bad(tmp_path, "broken.json", edit(text))
    # The good files given with it are not imported either.
    code = run(monkeypatch, bot, "import", "--format", "nec", *files(*ALL), bad, "--all-candidates")
    err = capsys.readouterr().err
    assert code == 1 and "the catalogue is unchanged" in err
    assert bad in err and message in err, err
    assert (count(bot, "pledges"), count(bot, "speakers"), bot.journal.head()) == before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "<OpenAPI_ServiceResponse><cmmMsgHeader><errMsg>SERVICE ERROR</errMsg>"
            "<returnAuthMsg>SERVICE_KEY_IS_NOT_REGISTERED_ERROR</returnAuthMsg>"
            "<returnReasonCode>30</returnReasonCode></cmmMsgHeader></OpenAPI_ServiceResponse>",
            "error code 30 SERVICE_KEY_IS_NOT_REGISTERED_ERROR",
        ),
        (
            '{"response": {"header": {"resultCode": "22", "resultMsg": "LIMITED NUMBER OF REQUESTS"}}}',
            "error code 22 LIMITED_NUMBER_OF_SERVICE_REQUESTS_EXCEEDS_ERROR",
        ),
        ("<html><body>Bad gateway</body></html>", "not a response of the portal"),
        ("<response><header>", "not valid XML"),
    ],
)
def test_a_saved_error_answer_is_refused_naming_the_portals_code(
    bot, monkeypatch, capsys, tmp_path, text, message
):
    bad = _bad(tmp_path, "answer.xml" if text.startswith("<") else "answer.json", text)
    assert run(monkeypatch, bot, "import", "--format", "nec", bad, *files("officials.yaml")) == 1
    assert message in capsys.readouterr().err


class FakePortal:
    """The portal's three services on 127.0.0.1, answering from the fixtures one item per page, with the
    answers a test queues first (a code, or an HTTP status) and every request kept."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.queued: list[tuple[int, str]] = []
        portal = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                portal.requests.append({"path": url.path, **query})
                status, body = (
                    portal.queued.pop(0) if portal.queued else (200, portal.answer(url.path, query))
                )
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/9760000/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, path: str, query: dict[str, str]) -> str:
        page = int(query.get("pageNo", "1"))
        if path.endswith("getWinnerInfoInqire"):
            winners = {
                "3": [
                    {"huboid": "100150001", "sgId": "20260603", "sgTypecode": "3", "name": "홍길동"},
                    {"huboid": "100150002", "sgId": "20260603", "sgTypecode": "3", "name": "김철수"},
                ]
            }
            items = winners.get(query["sgTypecode"], [])
        else:
            items = [
                item
                for name in ("pledges-3.json", "pledges-4.json")
                for item in _items(FIXTURES / name)
                if item["cnddtId"] == query.get("cnddtId")
            ]
        if not items:
            return json.dumps(
                {"response": {"header": {"resultCode": "INFO-03", "resultMsg": "NODATA_ERROR"}}}
            )
        shown = items[page - 1 : page]
        return json.dumps(
            {
                "response": {
                    "header": {"resultCode": "INFO-00", "resultMsg": "NORMAL SERVICE"},
                    "body": {"items": {"item": shown}, "pageNo": page, "totalCount": len(items)},
                }
            },
            ensure_ascii=False,
        )


def _items(path: Path) -> list[dict[str, str]]:
    found = json.loads(path.read_text(encoding="utf-8"))["response"]["body"]["items"]["item"]
    return found if isinstance(found, list) else [found]


@pytest.fixture
def portal() -> Iterator[FakePortal]:
    fake = FakePortal()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def test_fetch_reads_every_page_of_the_winners_and_their_pledges(bot, monkeypatch, capsys, portal):
    code = run(
        monkeypatch,
        bot,
        "import",
        "--format",
        "nec",
        "--fetch",
        "--election",
        "20260603",
        "--type",
        "3",
        "--type",
        "4",
        *files("officials.yaml"),
        data_go_kr_service_key=Secret(KEY),
        nec_url=portal.url,
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert KEY not in captured.out + captured.err
    ids = {r[0] for r in bot.store.db.execute("SELECT id FROM pledges WHERE speaker = 'hong-gil-dong'")}
    assert len(ids) == 3
    # Every page of the winners (one a page here), then each winner's pledges.
    winner_pages = [r for r in portal.requests if r["path"].endswith("getWinnerInfoInqire")]
    assert [(r["sgTypecode"], r["pageNo"]) for r in winner_pages] == [("3", "1"), ("3", "2"), ("4", "1")]
    pledge_pages = [r for r in portal.requests if r["path"].endswith("getCnddtElecPrmsInfoInqire")]
    assert {r["cnddtId"] for r in pledge_pages} == {"100150001", "100150002"}
    assert bot.officials.get("nec-20260603-100150002").office_ko == "서울특별시장"
    assert all(r["serviceKey"] == KEY and r["sgId"] == "20260603" for r in portal.requests)


def test_fetch_reports_the_portals_error_code_and_never_the_key(bot, monkeypatch, capsys, portal):
    portal.queued.append(
        (
            200,
            '{"response": {"header": {"resultCode": "22", "resultMsg": "LIMITED_NUMBER_OF_REQUESTS"}}}',
        )
    )
    code = run(
        monkeypatch,
        bot,
        "import",
        "--format",
        "nec",
        "--fetch",
        "--election",
        "20260603",
        "--type",
        "3",
        data_go_kr_service_key=Secret(KEY),
        nec_url=portal.url,
    )
    captured = capsys.readouterr()
    assert code == 1
    assert "error code 22 LIMITED_NUMBER_OF_SERVICE_REQUESTS_EXCEEDS_ERROR" in captured.err
    assert KEY not in captured.out + captured.err


def test_fetch_needs_the_key_and_says_so(bot, monkeypatch, capsys):
    assert run(monkeypatch, bot, "import", "--format", "nec", "--fetch", "--election", "20260603") == 2
    assert "DATA_GO_KR_SERVICE_KEY" in capsys.readouterr().err


def test_a_failing_portal_is_tried_a_bounded_number_of_times(portal):
    pauses: list[float] = []
    client = Portal(portal.url, Secret(KEY), attempts=3, pause=pauses.append)
    portal.queued += [(500, "oops"), (503, "busy")]
    items = client.pages(
        "WinnerInfoInqireService2/getWinnerInfoInqire", {"sgId": "20260603", "sgTypecode": "3"}
    )
    assert [i["huboid"] for i in items] == ["100150001", "100150002"] and pauses == [1.0, 2.0]
    portal.queued += [(500, "oops")] * 3
    with pytest.raises(NecError) as error:
        client.pages("WinnerInfoInqireService2/getWinnerInfoInqire", {"sgId": "20260603", "sgTypecode": "3"})
    assert "did not answer (HTTP 500) after 3 attempt(s)" in str(error.value) and KEY not in str(error.value)


def test_a_pledge_in_korean_only_answers_in_english_with_its_korean_words_marked(
    bot, monkeypatch, console_ctx, tmp_path
):
    assert run(monkeypatch, bot, "import", "--format", "nec", *files(*ALL)) == 0
    card = bot.core.handle("show nec-20260603-100150001-3", console_ctx).cards[0]
    assert card.title == "청년 공공주택 5만 호 (in Korean only)"
    assert card.quote == "청년과 신혼부부를 위한 공공주택 5만 호를 공급하겠습니다." and card.language == "ko"
    assert card.category == "Housing"
    korean = dataclasses.replace(console_ctx, locale="ko")
    assert bot.core.handle("show nec-20260603-100150001-3", korean).cards[0].title == "청년 공공주택 5만 호"
    # A field of its own keeps its Korean name in English too.
    assert bot.core.handle("show nec-20260603-100150001-4", console_ctx).cards[0].category == "반려동물"
    listed = bot.core.handle("list 반려동물", console_ctx)
    assert [i.label for i in listed.items] == ["구마다 반려동물 공원 (in Korean only)"]
    # Exported without an English title, and read back as the same pledge.
    exported = bot.exporter.export()
    pledge = next(p for p in exported["pledges"] if p["id"] == "nec-20260603-100150001-3")
    assert "title" not in pledge and pledge["title_ko"] == "청년 공공주택 5만 호"
    path = tmp_path / "export.json"
    path.write_text(json.dumps(exported, ensure_ascii=False), encoding="utf-8")
    assert bot.importer.import_files([path], author="test").edit is None


def test_an_english_title_imported_over_a_korean_only_pledge_is_shown_unmarked(
    bot, monkeypatch, console_ctx, tmp_path
):
    assert run(monkeypatch, bot, "import", "--format", "nec", *files(*ALL)) == 0
    exported = bot.exporter.export()
    pledge = next(p for p in exported["pledges"] if p["id"] == "nec-20260603-100150001-3")
    path = tmp_path / "titled.json"
    path.write_text(
        json.dumps({"pledges": [dict(pledge, title="50,000 public homes for the young")]}), "utf-8"
    )
    assert bot.importer.import_files([path], author="desk", replace=True).edit is not None
    card = bot.core.handle("show nec-20260603-100150001-3", console_ctx).cards[0]
    assert card.title == "50,000 public homes for the young"
    # The registry's words stay: the quote was not part of the replace.
    assert card.quote == "청년과 신혼부부를 위한 공공주택 5만 호를 공급하겠습니다."
