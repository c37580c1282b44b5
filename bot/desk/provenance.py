"""Provenance: fetch a source page safely, keep a snapshot of its main text, and check a quote verbatim.

A quote is only as good as its source, so the desk never trusts an editor's paste: it fetches the page,
extracts the article's text (trafilatura), stores that text with its SHA-256 as the snapshot, and accepts a
quote only when its exact words appear in it. `pasted` covers sources without a page (print, broadcast).

The fetcher is the bot's only outbound request to an address a user chose, so it guards against
server-side request forgery: every hop's host is resolved once, every resolved address is checked against
the private, loopback, link-local and other non-public ranges (and their IPv6-embedded spellings), and the
connection goes to the checked address itself, so a DNS answer that changes between check and connect
(rebinding) cannot slip through. `allow` lifts the rule for the given ranges only (tests, an intranet).

The core stays neutral: this module speaks neither Slack nor Discord; `FetchError.problem` is what callers
turn into a reply in the user's language.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import ipaddress
import json
import re
import socket
import ssl
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypedDict
from urllib.parse import urljoin, urlsplit

import certifi
import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NewConnectionError, SSLError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from bot.clock import Clock, utc_now

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class FetchProblem(StrEnum):
    """Why a source could not be fetched; callers map each to a message in the user's language."""

    BAD_URL = "bad_url"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    TOO_LARGE = "too_large"
    NOT_A_PAGE = "not_a_page"
    HTTP_ERROR = "http_error"
    TOO_MANY_REDIRECTS = "too_many_redirects"


_SENTENCES = {
    FetchProblem.BAD_URL: "That is not a web address the bot can fetch",
    FetchProblem.REFUSED: "The bot does not fetch pages from that address",
    FetchProblem.UNREACHABLE: "The page's server could not be reached",
    FetchProblem.TIMEOUT: "The page took too long to answer",
    FetchProblem.TOO_LARGE: "The page is too large to check",
    FetchProblem.NOT_A_PAGE: "That address is not a web page or a text",
    FetchProblem.HTTP_ERROR: "The page's server answered with an error",
    FetchProblem.TOO_MANY_REDIRECTS: "The page redirects too many times",
}


class FetchError(Exception):
    """A source that could not be fetched. `detail` is safe to show (it never holds the page's content)."""

    def __init__(self, problem: FetchProblem, url: str, detail: str = ""):
        self.problem = problem
        self.url = url
        self.detail = detail
        super().__init__(problem, url, detail)

    def __str__(self) -> str:
        sentence = _SENTENCES[self.problem]
        return f"{sentence} ({self.detail}): {self.url}" if self.detail else f"{sentence}: {self.url}"


@dataclass(frozen=True)
class Page:
    """A snapshot of a source: the text a quote is checked against, and what the page says about itself."""

    url: str
    final_url: str
    fetched_at: dt.datetime
    text: str
    sha256: str
    outlet: str | None
    headline: str | None
    # Only from the page's own metadata or date markup: never the fetch time, never a guess from the URL.
    published: dt.datetime | dt.date | None
    language: str | None = None


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def snapshot_ok(text: str, sha256: str) -> bool:
    """True when `text` is still the snapshot whose hash was stored."""
    return _sha256(text) == sha256.strip().lower()


def pasted(text: str, *, url: str | None, clock: Clock) -> Page:
    """A source without a page (print, broadcast, a press conference): the pasted text is the snapshot.

    `url` is optional (a programme page, say); without one, `url` and `final_url` are empty strings.
    """
    return Page(
        url=url or "",
        final_url=url or "",
        fetched_at=clock().astimezone(dt.UTC),
        text=text,
        sha256=_sha256(text),
        outlet=None,
        headline=None,
        published=None,
    )


def parse_allow(raw: str) -> tuple[Network, ...]:
    """Comma-separated CIDR ranges (`127.0.0.1/32, 10.20.0.0/16`); ValueError names a bad one.

    Strict: `10.0.0.1/8` (host bits set) is refused rather than silently widened to all of 10.0.0.0/8.
    """
    networks = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=True))
        except ValueError:
            raise ValueError(f"not a CIDR range: {part!r}") from None
    return tuple(networks)


# --- The address rules -------------------------------------------------------------------------------------

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")


def _forbidden(address: Address) -> str | None:
    """Why `address` is not a public one, or None when it is."""
    if address.is_loopback:
        return "a loopback address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "a carrier-grade NAT address"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "a site-local address"
    if address.is_private:
        return "a private address"
    if address.is_reserved:
        return "a reserved address"
    # Whatever else the registries mark as not globally reachable (documentation, benchmarking ranges).
    if not address.is_global:
        return "a non-public address"
    return None


def _embedded(address: Address) -> list[Address]:
    """The IPv4 addresses an IPv6 address reaches through: mapped, 6to4, NAT64 and Teredo forms."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found: list[Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if address in _NAT64 or address in _NAT64_LOCAL:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def _refusal(address: Address, allow: Sequence[Network]) -> str | None:
    """Why the fetcher must not connect to `address`, or None. `allow` lifts the rule for its ranges only."""
    if any(address.version == net.version and address in net for net in allow):
        return None
    reason = _forbidden(address)
    if reason:
        return f"resolves to {reason}"
    for inner in _embedded(address):
        reason = _refusal(inner, allow)
        if reason:
            return reason
    return None


# inet_aton's spellings: 1 to 4 parts, each decimal, octal (leading 0) or hex (0x); the last part fills the
# remaining bytes. `http://2130706433/` and `http://0x7f.1/` are both 127.0.0.1 to the C library.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?$", re.IGNORECASE)


def _numeric_ipv4(host: str) -> ipaddress.IPv4Address | None:
    if not _NUMERIC_HOST.match(host):
        return None
    parts = []
    for part in host.rstrip(".").split("."):
        if part.lower().startswith("0x"):
            parts.append(int(part[2:] or "0", 16))
        elif len(part) > 1 and part.startswith("0"):
            try:
                parts.append(int(part, 8))
            except ValueError:  # "08": not octal, and no resolver reads it as an address either
                return None
        else:
            parts.append(int(part))
    *head, last = parts
    if any(p > 255 for p in head) or last >= 256 ** (4 - len(head)):
        return None
    value = 0
    for p in head:
        value = value * 256 + p
    value = value * 256 ** (4 - len(head)) + last
    return ipaddress.IPv4Address(value)


_HOST_CHARS = re.compile(r"^[a-z0-9.-]+$")


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str  # the name for the Host header, SNI and certificate checks
    port: int
    path: str  # path and query, what the request line carries
    literal: Address | None  # the address itself when the URL names one


def _target(url: str) -> _Target:
    if len(url) > 4096 or any(c.isspace() or ord(c) < 32 for c in url):
        raise FetchError(FetchProblem.BAD_URL, url, "not a single web address")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise FetchError(FetchProblem.BAD_URL, url, "malformed address") from None
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        raise FetchError(FetchProblem.BAD_URL, url, "only http and https addresses")
    # Credentials in a source link are never needed, and `http://news.example@10.0.0.1/` style links exist
    # only to confuse whoever reads them.
    if "@" in parts.netloc or "\\" in url.split("?")[0].split("#")[0]:
        raise FetchError(FetchProblem.BAD_URL, url, "addresses with user names are not accepted")
    host = (parts.hostname or "").rstrip(".") if parts.hostname else ""
    if not host:
        raise FetchError(FetchProblem.BAD_URL, url, "no host name")
    port = port or (443 if scheme == "https" else 80)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    literal = _literal(host)
    if literal is not None:
        return _Target(scheme, str(literal), port, path, literal)
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise FetchError(FetchProblem.BAD_URL, url, "malformed host name") from None
    if not _HOST_CHARS.match(host):
        raise FetchError(FetchProblem.BAD_URL, url, "malformed host name")
    return _Target(scheme, host, port, path, None)


def _literal(host: str) -> Address | None:
    """The address a host that is an address names, in any spelling, or None for a host name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return _numeric_ipv4(host)


def _system_resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # An AF_INET or AF_INET6 address is (host, port, ...) with the host as text.
    return [str(info[4][0]) for info in infos]


# --- Fetching ----------------------------------------------------------------------------------------------

_REDIRECTS = {301, 302, 303, 307, 308}
_PAGE_TYPES = {"text/html", "application/xhtml+xml", "text/plain"}
_CHUNK = 64 * 1024
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.IGNORECASE)


class Fetcher:
    """Fetches a source page within limits and returns its snapshot. Blocking: callers run it in a thread.

    urllib3 is the client because it lets the connection go to an address the fetcher has checked while
    the Host header, TLS SNI and certificate verification use the page's host name (`server_hostname`,
    `assert_hostname`), which is what defeats DNS rebinding; it is already installed (trafilatura and the
    Slack SDK's dependencies) and httpx is not.
    """

    def __init__(
        self,
        *,
        allow: Sequence[Network] = (),
        timeout: float = 10.0,
        max_bytes: int = 5 * 1024 * 1024,
        max_redirects: int = 5,
        clock: Clock = utc_now,
        resolve: Callable[[str, int], list[str]] | None = None,
    ):
        self.allow = tuple(allow)
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.clock = clock
        self.resolve = resolve or _system_resolve

    def fetch(self, url: str) -> Page:
        """The page at `url` (after redirects), or FetchError saying what went wrong."""
        deadline = time.monotonic() + self.timeout
        current = url
        for _hop in range(self.max_redirects + 1):
            try:
                status, headers, body = self._get(current, deadline)
            except FetchError as error:
                if current == url:
                    raise
                # The editor knows the address they gave, not the hop: name theirs; say a redirect led on.
                raise FetchError(error.problem, url, f"{error.detail}, after a redirect") from None
            if status in _REDIRECTS:
                location = headers.get("location")
                if not location:
                    raise FetchError(FetchProblem.HTTP_ERROR, url, f"HTTP {status} without a location")
                current = urljoin(current, location.strip())
                continue
            if not 200 <= status < 300:
                raise FetchError(FetchProblem.HTTP_ERROR, url, f"HTTP {status}")
            return self._page(url, current, headers.get("content-type", ""), body)
        raise FetchError(FetchProblem.TOO_MANY_REDIRECTS, url, f"more than {self.max_redirects} redirects")

    def _address(self, target: _Target, url: str) -> str:
        """The one checked address to connect to; refused when any address the host resolves to is barred."""
        if target.literal is not None:
            addresses: list[Address] = [target.literal]
        else:
            try:
                answers = self.resolve(target.host, target.port)
            except (OSError, UnicodeError):
                raise FetchError(FetchProblem.UNREACHABLE, url, "the host name does not resolve") from None
            try:
                # A scope id (fe80::1%eth0) names an interface, not a different address.
                addresses = [ipaddress.ip_address(a.split("%")[0]) for a in answers]
            except ValueError:
                raise FetchError(FetchProblem.UNREACHABLE, url, "the host name does not resolve") from None
            if not addresses:
                raise FetchError(FetchProblem.UNREACHABLE, url, "the host name does not resolve")
        for address in addresses:
            reason = _refusal(address, self.allow)
            if reason:
                raise FetchError(FetchProblem.REFUSED, url, reason)
        return str(addresses[0])

    def _get(self, url: str, deadline: float) -> tuple[int, dict[str, str], bytes]:
        target = _target(url)
        address = self._address(target, url)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError(FetchProblem.TIMEOUT, url, f"no answer within {self.timeout:g} s")
        timeout = urllib3.Timeout(connect=remaining, read=remaining)
        if target.scheme == "https":
            pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
                address,
                target.port,
                timeout=timeout,
                retries=False,
                cert_reqs="CERT_REQUIRED",
                ca_certs=certifi.where(),
                server_hostname=target.host,
                assert_hostname=target.host,
            )
        else:
            pool = urllib3.HTTPConnectionPool(address, target.port, timeout=timeout, retries=False)
        default_port = 443 if target.scheme == "https" else 80
        host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
        if target.literal is not None and target.literal.version == 6:
            host_header = f"[{target.host}]" + ("" if target.port == default_port else f":{target.port}")
        try:
            with pool:
                response = pool.urlopen(
                    "GET",
                    target.path,
                    headers={
                        "Host": host_header,
                        "User-Agent": "pledgebot (source check)",
                        "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9",
                        "Accept-Encoding": "identity",
                    },
                    redirect=False,
                    retries=False,
                    preload_content=False,
                    assert_same_host=False,
                )
                try:
                    headers = {k.lower(): v for k, v in response.headers.items()}
                    if response.status in _REDIRECTS or not 200 <= response.status < 300:
                        return response.status, headers, b""
                    self._check_type(url, headers.get("content-type", ""))
                    return response.status, headers, self._read(response, url, headers, deadline)
                finally:
                    response.release_conn()
                    response.close()
        except NewConnectionError as error:
            # First: urllib3 derives it from its timeout error, but a refused connection is no timeout.
            raise FetchError(FetchProblem.UNREACHABLE, url, _connection_detail(error)) from None
        except Urllib3Timeout:
            raise FetchError(FetchProblem.TIMEOUT, url, f"no answer within {self.timeout:g} s") from None
        except (Urllib3Error, OSError) as error:
            raise FetchError(FetchProblem.UNREACHABLE, url, _connection_detail(error)) from None

    def _check_type(self, url: str, content_type: str) -> None:
        kind = content_type.split(";")[0].strip().lower()
        if kind not in _PAGE_TYPES:
            raise FetchError(FetchProblem.NOT_A_PAGE, url, f"content type {kind or 'missing'}")

    def _read(self, response, url: str, headers: dict[str, str], deadline: float) -> bytes:
        too_large = FetchError(FetchProblem.TOO_LARGE, url, f"more than {self.max_bytes // 1024} KB")
        declared = headers.get("content-length", "").strip()
        if declared.isdecimal() and int(declared) > self.max_bytes:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        # Never more than the cap plus one chunk in memory, whatever the server claims or sends.
        for chunk in response.stream(_CHUNK):
            size += len(chunk)
            if size > self.max_bytes:
                raise too_large
            chunks.append(chunk)
            # The read timeout is per read; a server dripping bytes must still finish within the deadline.
            if time.monotonic() > deadline:
                raise FetchError(FetchProblem.TIMEOUT, url, f"no answer within {self.timeout:g} s")
        return b"".join(chunks)

    def _page(self, url: str, final_url: str, content_type: str, body: bytes) -> Page:
        kind = content_type.split(";")[0].strip().lower()
        text = _decode(body, content_type, html=kind != "text/plain")
        fetched_at = self.clock().astimezone(dt.UTC)
        if kind == "text/plain":
            # A text is its own snapshot: nothing to extract, and no metadata to read.
            return Page(url, final_url, fetched_at, text, _sha256(text), None, None, None)
        extracted = _extract(text, final_url, fetched_at)
        if extracted is None:
            raise FetchError(FetchProblem.NOT_A_PAGE, url, "no readable text on the page")
        body_text, outlet, headline, published, language = extracted
        return Page(
            url, final_url, fetched_at, body_text, _sha256(body_text), outlet, headline, published, language
        )


def _connection_detail(error: BaseException) -> str:
    # urllib3 wraps certificate and host name mismatches alike in its SSLError.
    if isinstance(error, (SSLError, ssl.SSLError)):
        return "its secure connection could not be verified"
    if "refused" in str(error).lower():
        return "connection refused"
    return "connection failed"


def _charset(content_type: str) -> str | None:
    match = re.search(r"charset\s*=\s*[\"']?([a-zA-Z0-9_.:-]+)", content_type, re.IGNORECASE)
    return match.group(1) if match else None


def _decode(body: bytes, content_type: str, *, html: bool) -> str:
    """The body as text: a BOM, then the header's charset, then (HTML) the page's meta charset, then UTF-8."""
    if body.startswith(b"\xef\xbb\xbf"):
        return body[3:].decode("utf-8", errors="replace")
    candidates = [_charset(content_type)]
    if html:
        meta = _META_CHARSET.search(body[:8192])
        candidates.append(meta.group(1).decode("ascii") if meta else None)
    for name in candidates:
        if not name:
            continue
        try:
            return body.decode(name, errors="replace")
        except LookupError:  # an unknown charset name: try the next hint
            continue
    return body.decode("utf-8", errors="replace")


# --- Extraction --------------------------------------------------------------------------------------------

# Structured publication times, most specific first: these carry the time and its offset, which htmldate's
# answer (a day) does not.
_PUBLISHED_META = (
    "article:published_time",
    "og:article:published_time",
    "datepublished",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date",
    "parsely-pub-date",
    "sailthru.date",
    "pubdate",
)


def _published_from_markup(tree) -> dt.datetime | dt.date | None:
    values: list[str] = []
    metas = {}
    for meta in tree.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip().lower()
        if key and meta.get("content") and key not in metas:
            metas[key] = meta.get("content")
    values.extend(metas[k] for k in _PUBLISHED_META if k in metas)
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() == "application/ld+json" and script.text:
            values.extend(_ld_published(script.text))
    for element in tree.xpath('//*[@itemprop="datePublished"]'):
        values.append(element.get("datetime") or element.get("content") or "")
    for value in values:
        parsed = _iso(value)
        if parsed is not None:
            return parsed
    return None


def _ld_published(raw: str) -> list[str]:
    try:
        data = json.loads(raw)
    except ValueError:
        return []
    found: list[str] = []
    stack = [data]
    # JSON-LD nests (`@graph`, lists); a bounded walk keeps a hostile page from costing much.
    for _ in range(200):
        if not stack:
            break
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            if isinstance(item.get("datePublished"), str):
                found.append(item["datePublished"])
            if "@graph" in item:
                stack.append(item["@graph"])
    return found


def _iso(value: str) -> dt.datetime | dt.date | None:
    value = value.strip()
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value)
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    # A time without an offset is ambiguous by up to a day's worth of zones: keep only the day it names.
    return parsed if parsed.tzinfo is not None else parsed.date()


class _DateParams(TypedDict):
    """htmldate's `find_date` options (trafilatura hands them on to it too)."""

    extensive_search: bool
    original_date: bool
    max_date: str
    url: str


def _extract(
    html: str, url: str, fetched_at: dt.datetime
) -> tuple[str, str | None, str | None, dt.datetime | dt.date | None, str | None] | None:
    """(text, outlet, headline, published, language) from an HTML page, or None when it has no main text."""
    # Imported here: trafilatura (and lxml, htmldate) cost start-up time that only the desk's fetches need.
    import trafilatura
    from htmldate import find_date
    from trafilatura.settings import Document
    from trafilatura.utils import load_html

    tree = load_html(html)
    if tree is None:
        return None
    # A page cannot be published after it was fetched; a day's margin for zones ahead of UTC.
    latest = (fetched_at + dt.timedelta(days=1)).strftime("%Y-%m-%d")
    # Fast date search only: htmldate's extensive search collects every date-like string on the page and
    # picks one, a guess; the URL is not offered either, so a dated path is not taken for the page's date.
    date_params = _DateParams(extensive_search=False, original_date=True, max_date=latest, url="")
    document = trafilatura.bare_extraction(
        tree,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        date_extraction_params=dict(date_params),
    )
    # A Document: the dict is only for `as_dict=True`.
    if not isinstance(document, Document) or not document.text or not document.text.strip():
        return None
    published = _published_from_markup(tree)
    if published is None:
        found = find_date(tree, **date_params)
        published = dt.date.fromisoformat(found) if found else None
    language = document.language or (tree.get("lang") or "").strip() or None
    return document.text, document.sitename or None, document.title or None, published, language


# --- Quotes ------------------------------------------------------------------------------------------------

# Regular expressions, not str.translate: on a 5 MB page the substitution is several times faster.
_DOUBLE_QUOTES = re.compile("[“”„‟″]")
_SINGLE_QUOTES = re.compile("[‘’‚‛′]")


def normalise(text: str) -> str:
    """The form quotes are compared in: NFC, runs of white space as one space, one kind of quote mark.

    Words are never changed: case, punctuation other than quote marks, and spelling stay as they are.
    """
    text = _SINGLE_QUOTES.sub("'", _DOUBLE_QUOTES.sub('"', unicodedata.normalize("NFC", text)))
    return " ".join(text.split())


@dataclass(frozen=True)
class QuoteCheck:
    """Whether the words are in the text; `passage` is the match, or the text's closest passage."""

    found: bool
    passage: str


# Bounds on the closest-passage search, whatever the text's size: windows kept after the cheap scoring,
# and the steps beyond the quote's word count that difflib's refinement may take.
_CANDIDATES = 8
# How far a closest passage may grow to whole sentences beyond the quote's length, in words.
_SENTENCE_SLACK = 25
_SLACK = 4


def _grams(word: str) -> set[str]:
    return {word[i : i + 2] for i in range(len(word) - 1)} or {word}


def _similarity(quote: str, tokens: list[str], window: tuple[int, int]) -> float:
    passage = " ".join(tokens[window[0] : window[1]])
    return difflib.SequenceMatcher(None, quote, passage, autojunk=False).ratio()


def check_quote(words: str, text: str) -> QuoteCheck:
    """Verbatim after `normalise` on both sides; otherwise the passage of `text` closest to `words`."""
    quote = normalise(words)
    body = normalise(text)
    if not quote:
        return QuoteCheck(False, "")
    if quote in body:
        return QuoteCheck(True, quote)
    tokens = body.split(" ") if body else []
    if not tokens:
        return QuoteCheck(False, "")
    size = len(quote.split(" "))
    if len(tokens) <= size:
        return QuoteCheck(False, body)
    # Cheap pass, linear in the text: each word scores the character pairs it shares with the quote
    # (pairs, not words, so a Korean word with another particle still counts); a window's score is the sum.
    wanted = _grams(quote.replace(" ", ""))
    scores: dict[str, int] = {}
    prefix = [0]
    for token in tokens:
        score = scores.get(token)
        if score is None:
            score = scores[token] = len(_grams(token) & wanted)
        prefix.append(prefix[-1] + score)
    sums = [prefix[s + size] - prefix[s] for s in range(len(tokens) - size + 1)]
    # The best windows, each time blanking its neighbours so the candidates are different passages
    # (max and index run in C: a few passes over a million windows stay cheap).
    picked: list[int] = []
    for _ in range(min(_CANDIDATES, len(sums))):
        top = max(sums)
        if top < 0:
            break
        start = sums.index(top)
        picked.append(start)
        lo, hi = max(0, start - size // 2), min(len(sums), start + size // 2 + 1)
        sums[lo:hi] = [-1] * (hi - lo)
    # Fine pass, bounded: from each candidate window, move either edge one word at a time while difflib's
    # similarity improves (at most as many steps as the quote has words, plus a few).
    best_window: tuple[int, int] | None = None
    best_ratio = -1.0
    for start in picked:
        window = (start, start + size)
        ratio = _similarity(quote, tokens, window)
        for _step in range(size + _SLACK):
            s, e = window
            moves = [(s - 1, e), (s + 1, e), (s, e - 1), (s, e + 1)]
            scored = [(_similarity(quote, tokens, m), m) for m in moves if 0 <= m[0] < m[1] <= len(tokens)]
            better, move = max(scored)
            if better <= ratio:
                break
            ratio, window = better, move
        if ratio > best_ratio:
            best_window, best_ratio = window, ratio
    if best_window is None:
        return QuoteCheck(False, "")
    # The passage is shown as the page writes it (curly quotes and all), widened to whole sentences, and a
    # line break (after a headline, between paragraphs) ends a sentence as a full stop does.
    written, breaks = _written_tokens(text)
    if len(written) != len(tokens):
        written, breaks = tokens, set()
    start, end = _whole_sentences(written, *best_window, limit=size + _SENTENCE_SLACK, breaks=breaks)
    return QuoteCheck(False, " ".join(written[start:end]))


def _written_tokens(text: str) -> tuple[list[str], set[int]]:
    """The text's words as it writes them (NFC only, one to one with `normalise`'s), and the index after the
    last word of each line."""
    words: list[str] = []
    breaks: set[int] = set()
    for line in unicodedata.normalize("NFC", text).splitlines():
        parts = line.split()
        if parts:
            words.extend(parts)
            breaks.add(len(words))
    return words, breaks


# Words that end a sentence, as pages write them (a closing quote or bracket may follow the stop).
_SENTENCE_END = re.compile(r"[.!?。？！…]['\"”’)\]]*$")


def _whole_sentences(
    tokens: list[str], start: int, end: int, *, limit: int, breaks: set[int]
) -> tuple[int, int]:
    """The window widened to the sentences it touches, at most `limit` words: the editor reads the passage
    as the page has it ("the military hotline on Friday, the ministry said."), not a cut like "hotline The
    two" across a full stop, or a headline run into its article's first sentence (`breaks`: where lines
    end)."""

    def ends(i: int) -> bool:
        return i in breaks or bool(_SENTENCE_END.search(tokens[i - 1]))

    while start > 0 and end - start < limit and not ends(start):
        start -= 1
    while end < len(tokens) and end - start < limit and not ends(end):
        end += 1
    return start, end


__all__ = [
    "FetchError",
    "FetchProblem",
    "Fetcher",
    "Page",
    "QuoteCheck",
    "check_quote",
    "normalise",
    "parse_allow",
    "pasted",
    "snapshot_ok",
]
