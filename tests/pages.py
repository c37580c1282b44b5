"""A page server on 127.0.0.1 for the desk's tests: article pages in English and Korean (the seed article's
text among them), a page without a publication date, and errors; nothing else is ever fetched.

Use the `pages` fixture (its base URL) with `desk_settings`, which allows 127.0.0.1/32 for the fetcher, as
`PLEDGEBOT_FETCH_ALLOW=127.0.0.1/32` would.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from bot.config import DEFAULT_DATA_DIR

EVIDENCE = (
    "The two Koreas restored their military hotline on Friday, the defence ministry said, "
    "the first working channel between the militaries since 2023."
)
SEED = "2025-05-26-lee-jae-myung-pledges.txt"
KOREAN_EVIDENCE = "국방부는 남북 군 통신선이 금요일 복구됐다고 밝혔다."
# The speaker's own words on the pages: inside quotation marks (curly, then Korean corner brackets), the
# speaker named in the sentence before, as news writing attributes a quote.
DIRECT = "We will keep this line open every day, whatever happens"
DIRECT_PARAGRAPH = f"President Lee Jae-myung welcomed the news at a briefing. “{DIRECT},” he said."
KOREAN_DIRECT = "통신선을 매일 열어 두겠다"
KOREAN_DIRECT_PARAGRAPH = f"이재명 대통령은 이날 통신선 복구를 환영했다. 그는 「{KOREAN_DIRECT}」고 말했다."


def article(
    headline: str, outlet: str, paragraphs: list[str], *, published: str | None, lang: str = "en"
) -> bytes:
    """An article page as news sites write them: the text in <article>, metadata in <meta> tags."""
    meta = f'<meta property="article:published_time" content="{published}">' if published else ""
    body = "".join(f"<p>{html.escape(p, quote=False)}</p>" for p in paragraphs)
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{html.escape(headline)}</title>"
        f'<meta property="og:title" content="{html.escape(headline)}">'
        f'<meta property="og:site_name" content="{html.escape(outlet)}">{meta}</head>'
        f"<body><nav>Home · World · Politics</nav><article><h1>{html.escape(headline)}</h1>{body}</article>"
        "<footer>© The Daily Example</footer></body></html>"
    ).encode()


def _pages() -> dict[str, bytes]:
    seed = [
        line
        for line in (DEFAULT_DATA_DIR / "sources" / SEED).read_text(encoding="utf-8").splitlines()[2:]
        if line.strip()
    ]
    return {
        "/hotline-restored": article(
            "Koreas restore military hotline",
            "The Daily Example",
            [
                EVIDENCE,
                "Officials on both sides tested the line twice a day, the ministry said in a statement that "
                "gave no further details of the talks that led to the agreement.",
                "“The first call lasted about two minutes,” a ministry official said.",
                DIRECT_PARAGRAPH,
                "Lee said he would push to reopen the liaison office in Kaesong.",
            ],
            published="2026-05-10T09:00:00+09:00",
        ),
        "/seed": article(
            "Lee Jae-myung pledges to restore inter-Korean hotline, strengthen U.S. alliance",
            "Korea JoongAng Daily",
            seed,
            published="2025-05-26T11:09:00+09:00",
        ),
        "/korean": article(
            "남북 군 통신선 복구",
            "예시일보",
            [
                KOREAN_EVIDENCE,
                "양측은 하루 두 차례 통신선을 점검하기로 했다고 국방부는 덧붙였다.",
                KOREAN_DIRECT_PARAGRAPH,
            ],
            published="2026-05-11T10:00:00+09:00",
            lang="ko",
        ),
        "/undated": article(
            "Hotline talks continue",
            "The Daily Example",
            [
                "Talks on the hotline continued this week, officials said, without saying when they "
                "would end or what either side had offered so far."
            ],
            published=None,
        ),
    }


class _Handler(BaseHTTPRequestHandler):
    pages: ClassVar[dict[str, bytes]] = {}
    # For `pledgebot verify --refetch`: a page whose text changes on every visit, and one that is there once.
    visits: ClassVar[dict[str, int]] = {}

    def do_GET(self) -> None:
        visit = self.visits[self.path] = self.visits.get(self.path, 0) + 1
        body = self.pages.get(self.path)
        if self.path == "/changing":
            body = article(
                "Hotline log",
                "The Daily Example",
                [
                    EVIDENCE,
                    f"This log was updated {visit} times since the line was restored, officials said.",
                ],
                published="2026-05-12T09:00:00+09:00",
            )
        elif self.path == "/once" and visit == 1:
            body = self.pages["/hotline-restored"]
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the tests read replies, not access logs."""


@pytest.fixture
def pages() -> Iterator[str]:
    """The base URL of a page server on 127.0.0.1 (an ephemeral port), stopped after the test."""
    handler = type("Handler", (_Handler,), {"pages": _pages(), "visits": {}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
