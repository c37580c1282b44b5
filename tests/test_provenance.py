"""Provenance: the source fetcher against a page server on 127.0.0.1, the address rules, and quote checks.

The page server runs in a thread of the test process. Test host names (`news.test`, ...) reach it through
the fetcher's `resolve` hook, so no DNS is asked; a spy on urllib3's `create_connection` proves that no
connection ever goes anywhere but 127.0.0.1, and that refused addresses are refused before connecting.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

import certifi
import pytest
import urllib3.util.connection

from bot.config import ConfigError, load_settings
from bot.desk.provenance import (
    Fetcher,
    FetchError,
    FetchProblem,
    Page,
    QuoteCheck,
    check_quote,
    normalise,
    parse_allow,
    pasted,
    snapshot_ok,
)
from tests.conftest import ARTICLE, HEADLINE, HOTLINE_QUOTE, ROOT

NOW = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)
KST = dt.timezone(dt.timedelta(hours=9))
ALLOW_SERVER = parse_allow("127.0.0.1/32")

KOREAN_QUOTE = (
    "남북 간 긴장 유발 행위를 상호 중단하고 상황을 안정적으로 관리하기 위해 "
    "군 통신선 등 남북 소통 채널 복원에 힘쓰겠습니다."
)
KOREAN_BODY = (
    "더불어민주당 이재명 대선 후보는 26일 페이스북에 외교·안보 공약을 올렸다. "
    f"이 후보는 “{KOREAN_QUOTE}”라고 밝혔다. "
    "이 후보는 또 “강력한 한미동맹을 토대로 국익 중심의 실용외교를 펼치겠다”고 강조했다. "
    "그는 한미일 협력을 공고히 하고 한중 관계를 안정적으로 관리하겠다는 구상도 내놓았다."
)


def _article(title: str, body: str, head: str = "", lang: str = "en", charset: str = "utf-8") -> bytes:
    paragraphs = "".join(f"<p>{p}</p>" for p in body.split("\n") if p.strip())
    html = (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="{charset}"><title>{title}</title>{head}'
        f"</head><body><header><nav><a href='/'>Home</a> <a href='/n'>News</a></nav></header>"
        f"<article><h1>{title}</h1>{paragraphs}</article><footer>All rights reserved.</footer></body></html>"
    )
    return html.encode(charset)


SEED_TEXT = ARTICLE.read_text(encoding="utf-8")
ENGLISH = _article(
    "Lee Jae-myung pledges to restore hotline",
    "\n".join(SEED_TEXT.splitlines()[2:]),
    head=(
        '<meta property="og:site_name" content="Korea JoongAng Daily">'
        f'<meta property="og:title" content="{HEADLINE}">'
        '<meta property="article:published_time" content="2025-05-26T11:09:00+09:00">'
    ),
)
KOREAN_HEAD = (
    '<meta property="og:site_name" content="중앙일보">'
    '<meta property="og:title" content="이재명, 남북 핫라인 복원 공약">'
    '<meta property="article:published_time" content="2025-05-26T11:09:00+09:00">'
)
KOREAN_UTF8 = _article("이재명, 남북 핫라인 복원 공약", KOREAN_BODY, KOREAN_HEAD, lang="ko")
KOREAN_EUC_KR = _article(
    "이재명, 남북 핫라인 복원 공약", KOREAN_BODY, KOREAN_HEAD, lang="ko", charset="euc-kr"
)
UNDATED = _article(
    "A page that gives no date",
    "This page tells a story without saying when it was written or published.\n"
    "Its paragraphs are long enough for the extractor to keep them as the main text of the page.\n"
    "Nothing here is a date, and the fetch time must not be taken for one.",
)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


class PageServer:
    """What the test's page server serves, by path; `release` frees a stalled handler at teardown."""

    def __init__(self):
        self.release = threading.Event()
        self.requests: list[tuple[str, str]] = []
        self.routes = {
            "/english": (200, "text/html; charset=utf-8", ENGLISH),
            "/korean": (200, "text/html; charset=utf-8", KOREAN_UTF8),
            # No charset in the header: the page's own meta tag says EUC-KR.
            "/korean-euc-kr": (200, "text/html", KOREAN_EUC_KR),
            "/seed.txt": (200, "text/plain; charset=utf-8", SEED_TEXT.encode()),
            "/undated": (200, "text/html; charset=utf-8", UNDATED),
            "/image.png": (200, "image/png", PNG),
        }


def _handler(server: PageServer):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet: the test output is the report
            pass

        def _send(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            path = unquote(self.path)  # urllib3 sends [ and ] of an IPv6 literal in a path escaped
            server.requests.append((self.headers.get("Host", ""), path))
            port = self.server.server_address[1]
            if path in server.routes:
                status, kind, body = server.routes[path]
                self._send(status, {"Content-Type": kind, "Content-Length": str(len(body))}, body)
            elif path.startswith("/hop/"):  # /hop/3 → /hop/2 → /hop/1 → /hop/0 → the English article
                left = int(path.rsplit("/", 1)[1])
                target = f"/hop/{left - 1}" if left else f"http://news.test:{port}/english"
                self._send(302, {"Location": target, "Content-Length": "0"})
            elif path.startswith("/slow/"):  # each hop answers within a fetch's timeout, all together not
                left = int(path.rsplit("/", 1)[1])
                server.release.wait(0.2)  # the server's pause; the test itself never sleeps
                target = f"/slow/{left - 1}" if left else "/english"
                self._send(302, {"Location": target, "Content-Length": "0"})
            elif path == "/loop":
                self._send(301, {"Location": "/loop", "Content-Length": "0"})
            elif path.startswith("/to/"):
                self._send(302, {"Location": f"http://{path[4:]}/", "Content-Length": "0"})
            elif path == "/huge":
                # No Content-Length: the cap must hold while streaming.
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                try:
                    for _ in range(7 * 16):
                        self.wfile.write(b"x" * 65536)
                except OSError:  # the fetcher hung up at its cap, as it should
                    pass
            elif path == "/huge-declared":
                self._send(200, {"Content-Type": "text/html", "Content-Length": str(50 * 1024 * 1024)})
            elif path == "/stall":
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.flush()
                server.release.wait(10)  # bounded; set at teardown
            else:
                self._send(404, {"Content-Type": "text/html", "Content-Length": "9"}, b"not found")

    return Handler


@pytest.fixture(scope="module")
def page_server():
    state = PageServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    # A short poll interval: shutdown() waits for it at teardown.
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.port = httpd.server_address[1]
    yield state
    state.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture
def pages(page_server):
    page_server.requests.clear()
    return page_server


@pytest.fixture
def connections(monkeypatch):
    """Every address urllib3 connects to; anything but the page server fails the test on the spot."""
    seen: list[str] = []
    real = urllib3.util.connection.create_connection

    def spy(address, *args, **kwargs):
        seen.append(address[0])
        assert address[0] == "127.0.0.1", f"connection attempted to {address[0]}"
        return real(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", spy)
    return seen


HOSTS = {
    "news.test": ["127.0.0.1"],
    "sneaky.test": ["127.0.0.1"],
    "other-loopback.test": ["127.0.0.2"],
    "mixed.test": ["93.184.216.34", "10.0.0.1"],
    "metadata.test": ["169.254.169.254"],
}


def _resolve(host: str, port: int) -> list[str]:
    if host not in HOSTS:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return HOSTS[host]


# A test CA and a certificate for news.test signed by it (valid until 2126), made with openssl:
#   req -x509 -newkey rsa:2048 -nodes -days 36500 (the CA), then req + x509 -req -extfile with
#   subjectAltName=DNS:news.test (the leaf); tests/tls/news.test.pem holds the leaf and its key.
TLS = ROOT / "tests" / "tls"


@pytest.fixture(scope="module")
def tls_server(page_server):
    """The same pages over HTTPS, with news.test's certificate; records the SNI name each client sent."""
    names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(TLS / "news.test.pem")
    context.sni_callback = lambda _socket, name, _context: names.append(name)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(page_server))
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd.server_address[1], names
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def fetcher(**kwargs) -> Fetcher:
    kwargs.setdefault("allow", ALLOW_SERVER)
    return Fetcher(clock=lambda: NOW, resolve=_resolve, **kwargs)


def _problem(fetch: Fetcher, url: str) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetch.fetch(url)
    return caught.value


# --- Fetching and extraction -------------------------------------------------------------------------------


def test_english_article_snapshot_and_metadata(pages, connections):
    url = f"http://news.test:{pages.port}/english"
    page = fetcher().fetch(url)
    assert isinstance(page, Page)
    assert page.url == page.final_url == url
    assert page.fetched_at == NOW
    assert page.outlet == "Korea JoongAng Daily"
    assert page.headline == HEADLINE
    assert page.published == dt.datetime(2025, 5, 26, 11, 9, tzinfo=KST)
    assert page.published.utcoffset() == dt.timedelta(hours=9)
    assert page.language == "en"
    assert page.sha256 == hashlib.sha256(page.text.encode("utf-8")).hexdigest()
    assert check_quote(HOTLINE_QUOTE, page.text).found
    assert "All rights reserved" not in page.text  # the main text, not the page's furniture
    # The request went to the checked address with the page's own host name.
    assert pages.requests == [(f"news.test:{pages.port}", "/english")]
    assert connections == ["127.0.0.1"]


@pytest.mark.parametrize("path", ["/korean", "/korean-euc-kr"])
def test_korean_article_in_utf8_and_euc_kr(pages, connections, path):
    page = fetcher().fetch(f"http://news.test:{pages.port}{path}")
    assert page.outlet == "중앙일보"
    assert page.headline == "이재명, 남북 핫라인 복원 공약"
    assert page.published == dt.datetime(2025, 5, 26, 11, 9, tzinfo=KST)
    assert page.language == "ko"
    assert check_quote(KOREAN_QUOTE, page.text) == check_quote(KOREAN_QUOTE, KOREAN_BODY)
    assert check_quote(KOREAN_QUOTE, page.text).found


def test_a_page_without_a_date_has_no_publication_time(pages, connections):
    page = fetcher().fetch(f"http://news.test:{pages.port}/undated")
    assert page.published is None
    assert "without saying when" in page.text


def test_a_plain_text_page_is_its_own_snapshot(pages, connections):
    page = fetcher().fetch(f"http://news.test:{pages.port}/seed.txt")
    assert page.text == SEED_TEXT
    assert (page.outlet, page.headline, page.published, page.language) == (None, None, None, None)
    assert check_quote(HOTLINE_QUOTE, page.text).found


def test_a_redirect_chain_is_followed_to_the_final_page(pages, connections):
    url = f"http://sneaky.test:{pages.port}/hop/3"
    page = fetcher().fetch(url)
    assert page.url == url
    assert page.final_url == f"http://news.test:{pages.port}/english"
    assert page.headline == HEADLINE


def test_https_connects_to_the_checked_address_but_verifies_the_host_name(
    pages, connections, tls_server, monkeypatch
):
    port, names = tls_server
    monkeypatch.setattr(certifi, "where", lambda: str(TLS / "ca.pem"))
    page = fetcher().fetch(f"https://news.test:{port}/english")
    assert page.headline == HEADLINE
    assert names[-1] == "news.test"  # SNI carries the host name, though the connection went to 127.0.0.1
    # Another name for the same address: the certificate (for news.test) must not be accepted for it.
    error = _problem(fetcher(), f"https://sneaky.test:{port}/english")
    assert error.problem is FetchProblem.UNREACHABLE
    assert error.detail == "its secure connection could not be verified"
    # And without the test CA, news.test's certificate is not trusted either.
    monkeypatch.undo()
    assert _problem(fetcher(), f"https://news.test:{port}/english").problem is FetchProblem.UNREACHABLE
    assert set(connections) == {"127.0.0.1"}


def test_every_fetch_problem(pages, connections):
    port = pages.port
    fetch = fetcher()
    assert _problem(fetch, "ftp://news.test/file").problem is FetchProblem.BAD_URL
    assert _problem(fetch, "not a web address").problem is FetchProblem.BAD_URL
    assert (
        _problem(fetch, f"http://news.test:{port}@127.0.0.1:{port}/english").problem is FetchProblem.BAD_URL
    )
    assert _problem(fetch, "http://news.test:99999/").problem is FetchProblem.BAD_URL
    assert _problem(fetch, "http://metadata.test/").problem is FetchProblem.REFUSED
    assert _problem(fetch, "http://nowhere.test/").problem is FetchProblem.UNREACHABLE
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    assert _problem(fetch, f"http://news.test:{closed_port}/").problem is FetchProblem.UNREACHABLE
    stalled = _problem(fetcher(timeout=0.3), f"http://news.test:{port}/stall")
    assert stalled.problem is FetchProblem.TIMEOUT
    assert _problem(fetch, f"http://news.test:{port}/huge").problem is FetchProblem.TOO_LARGE
    assert _problem(fetch, f"http://news.test:{port}/huge-declared").problem is FetchProblem.TOO_LARGE
    assert _problem(fetch, f"http://news.test:{port}/image.png").problem is FetchProblem.NOT_A_PAGE
    missing = _problem(fetch, f"http://news.test:{port}/missing")
    assert (missing.problem, missing.detail) == (FetchProblem.HTTP_ERROR, "HTTP 404")
    assert missing.url == f"http://news.test:{port}/missing"
    assert "error (HTTP 404)" in str(missing)
    assert _problem(fetch, f"http://news.test:{port}/loop").problem is FetchProblem.TOO_MANY_REDIRECTS
    assert _problem(fetcher(max_redirects=2), f"http://news.test:{port}/hop/3").problem is (
        FetchProblem.TOO_MANY_REDIRECTS
    )
    assert set(connections) <= {"127.0.0.1"}


def test_one_deadline_covers_every_hop(pages, connections):
    error = _problem(fetcher(timeout=0.5), f"http://news.test:{pages.port}/slow/4")
    assert error.problem is FetchProblem.TIMEOUT
    assert 2 <= len(pages.requests) < 5  # each hop took 0.2 s of the 0.5 s


def test_the_cap_is_enforced_while_streaming(pages, connections):
    # A small cap: the body is refused once the cap is passed, not after the whole 7 MB arrived.
    error = _problem(fetcher(max_bytes=100_000), f"http://news.test:{pages.port}/huge")
    assert error.problem is FetchProblem.TOO_LARGE


# --- The address rules -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/english",
        "http://[::1]:{port}/english",
        "http://[::ffff:127.0.0.1]:{port}/english",
        "http://2130706433:{port}/english",
        "http://0x7f.1:{port}/english",
        "http://0177.0.0.1:{port}/english",
        "http://news.test:{port}/english",
    ],
)
def test_loopback_is_refused_without_allow(pages, connections, url):
    error = _problem(fetcher(allow=()), url.format(port=pages.port))
    assert error.problem is FetchProblem.REFUSED
    assert "address" in error.detail
    assert connections == [] and pages.requests == []


@pytest.mark.parametrize(
    "host",
    [
        "10.0.0.1",
        "169.254.169.254",
        "127.0.0.2",
        "100.64.0.1",
        "[fd00::1]",
        "[fec0::1]",
        "[fe80::1]",
        "[::ffff:10.0.0.1]",
        "[2002:a00:1::]",
        "[64:ff9b::a9fe:a9fe]",
        "0",
        "224.0.0.1",
        "other-loopback.test",
        "mixed.test",
        "metadata.test",
    ],
)
def test_allowing_the_page_server_lifts_only_that_address_even_after_a_redirect(pages, connections, host):
    fetch = fetcher(allow=ALLOW_SERVER)
    url = f"http://news.test:{pages.port}/to/{host}"
    error = _problem(fetch, url)
    assert error.problem is FetchProblem.REFUSED
    assert error.url == url and error.detail.endswith("address, after a redirect")
    # The redirect came from the page server; the refused hop was never connected to.
    assert connections == ["127.0.0.1"]
    assert pages.requests == [(f"news.test:{pages.port}", f"/to/{host}")]


def test_a_refused_address_is_never_connected_to_directly(connections):
    fetch = fetcher(allow=ALLOW_SERVER)
    for url in ["http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/", "http://mixed.test/"]:
        assert _problem(fetch, url).problem is FetchProblem.REFUSED
    assert connections == []


def test_parse_allow():
    assert parse_allow("") == ()
    assert [str(n) for n in parse_allow(" 127.0.0.1/32, 10.20.0.0/16 ,fd00::/8")] == [
        "127.0.0.1/32",
        "10.20.0.0/16",
        "fd00::/8",
    ]
    for bad in ["10.0.0.1/8", "localhost", "10.0.0.0/33"]:
        with pytest.raises(ValueError):
            parse_allow(bad)


def test_the_setting_is_validated_at_start_up():
    assert load_settings({}).fetch_allow == ()
    assert load_settings({"PLEDGEBOT_FETCH_ALLOW": "127.0.0.1/32"}).fetch_allow == ALLOW_SERVER
    with pytest.raises(ConfigError, match="PLEDGEBOT_FETCH_ALLOW"):
        load_settings({"PLEDGEBOT_FETCH_ALLOW": "10.0.0.0/8, intranet"})


# --- Quotes and snapshots ----------------------------------------------------------------------------------


def test_normalise_unifies_quotes_and_space_never_words():
    assert normalise("“Ｈi”\n  it’s\u00a0‘so’ „x‟ ″y″ ′z′ ‚w‛") == "\"Ｈi\" it's 'so' \"x\" \"y\" 'z' 'w'"
    assert normalise("e\u0301") == "\u00e9"
    assert normalise("Restore THE hotline.") == "Restore THE hotline."


def test_a_quote_is_found_across_curly_quotes_and_line_breaks():
    text = "Lee said: “I will restore\nthe hotline,” and left.\n\nHe didn’t stay."
    assert check_quote('"I will restore the hotline," and', text) == QuoteCheck(
        True, '"I will restore the hotline," and'
    )
    assert check_quote("He didn't   stay.", text).found
    assert not check_quote("he didn't stay.", text).found  # case is kept


def test_one_different_word_is_refused_with_the_right_closest_passage():
    altered = HOTLINE_QUOTE.replace("military hotlines", "military channels")
    result = check_quote(altered, SEED_TEXT)
    assert not result.found
    sentence = next(line for line in SEED_TEXT.splitlines() if "military hotlines" in line)
    # As the page writes it: its curly quotes stay curly.
    assert result.passage == " ".join(sentence.split()) and result.passage.startswith("“")


def test_korean_quotes_both_ways():
    assert check_quote(KOREAN_QUOTE, KOREAN_BODY).found
    altered = KOREAN_QUOTE.replace("복원에 힘쓰겠습니다", "복원을 약속합니다")
    result = check_quote(altered, KOREAN_BODY)
    assert not result.found
    # The closest passage is the whole sentence the quote sits in, as the page writes it.
    assert result.passage == (
        "이 후보는 “남북 간 긴장 유발 행위를 상호 중단하고 상황을 안정적으로 관리하기 위해 "
        "군 통신선 등 남북 소통 채널 복원에 힘쓰겠습니다.”라고 밝혔다."
    )


def test_a_short_quote_s_closest_passage_is_a_whole_sentence_never_cut_across_a_full_stop():
    text = (
        "The ministry gave no date. The two Koreas restored their military hotline on Friday, the ministry "
        "said. Officials tested the line twice a day."
    )
    result = check_quote("naval hotline restored", text)
    assert not result.found
    assert result.passage == "The two Koreas restored their military hotline on Friday, the ministry said."


def test_the_closest_passage_search_is_bounded_on_a_large_text():
    filler = " ".join(f"word{i % 5000} filler text of a long page." for i in range(80_000))
    text = filler + " " + SEED_TEXT + " " + filler
    assert len(text.encode()) > 5_000_000
    altered = HOTLINE_QUOTE.replace("manage", "handle")
    result = check_quote(altered, text)
    assert not result.found
    assert "military hotlines" in result.passage


def test_snapshots_and_pasted_sources():
    page = pasted("“I will restore the hotline,” he said.", url=None, clock=lambda: NOW)
    assert (page.url, page.final_url, page.fetched_at) == ("", "", NOW)
    assert page.published is None and page.outlet is None
    assert snapshot_ok(page.text, page.sha256)
    assert snapshot_ok(page.text, page.sha256.upper())
    assert not snapshot_ok(page.text + " ", page.sha256)
    assert check_quote('"I will restore the hotline,"', page.text).found
    linked = pasted("words", url="https://tv.example/programme", clock=lambda: NOW)
    assert linked.url == linked.final_url == "https://tv.example/programme"


def test_the_closest_passage_stops_at_a_headline_and_keeps_the_pages_curly_quotes():
    """A headline has no full stop: the passage must not run it into the paragraph's first sentence, nor the
    paragraph into the next line; and it is shown as the page writes it, “curly quotes” and ’ included."""
    text = (
        "Koreas restore military hotline\n"
        "“We will keep this line open every day,” Lee said on Friday at the ministry’s briefing.\n"
        "Officials tested the line twice a day"
    )
    result = check_quote("We will keep the line open each day", text)
    assert not result.found
    assert (
        result.passage
        == "“We will keep this line open every day,” Lee said on Friday at the ministry’s briefing."
    )
