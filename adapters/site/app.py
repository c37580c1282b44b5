"""The public tracker site, an adapter like Slack's and Discord's: the same core, with HTML as its rendering.

Server-rendered with Jinja2 (autoescaping every value, so a quote or a title can never become markup) and no
JavaScript: the meter (`/`) counts pledges by status overall, per speaker and per category as SVG bars with a
table beside each, lists the latest ratings and what falls due; `/pledges/<id>` is a pledge's stable page;
`/search` runs the bot's own search and ranking; `/pledges.json`, `/pledges.csv` and `/feed.atom` are the
downloads; `/install` says how to add the bot to Slack and to Discord. Read-only: it asks the core and the
catalogue queries (`bot/catalogue.py`), never a copy, and the serving process's journal follower
(`bot.cli._follow`) keeps that catalogue current within about a second.
English by default, Korean with `?lang=ko` or a browser asking for Korean first.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import errno
import io
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
from aiohttp import web

from adapters.site import fonts
from bot import statuses
from bot.cards import FONTS, MIME, card_text, render_card, render_meter
from bot.catalogue import Catalogue, StatusRow, Tally
from bot.core import Core
from bot.i18n import N_, Messages, language_of, languages, localized, messages, pledge_title
from bot.lookups.quotes import QuoteCards
from bot.lookups.searching import search_page
from bot.officials import regions
from bot.officials.records import Official, Officials
from bot.reminders.calendar import Calendars, milestone
from bot.reminders.occurrences import DUE_KINDS, YEARLY_ONLY, OccurrenceKind, standing
from bot.replies import Context, ListItem, QuoteCard
from bot.search import Searcher

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
SEARCH_PAGE_SIZE = 10
UPDATES_SHOWN = 10
FEED_ENTRIES = 50
UPCOMING_DAYS = 90
# How many ports after the asked one `make run` tries when it is taken (another local run, another app).
PORT_TRIES = 20
DEFAULT_PORT = 8080
# Pages change only when the catalogue does; a short cache keeps shared links cheap without going stale.
CACHE = "public, max-age=30"

NOT_FOUND = N_("There is no pledge with the id “{id}”.")

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=jinja2.select_autoescape(["html", "atom"]),
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)


def choose_language(request: web.Request) -> tuple[str, bool]:
    """The page's language and whether the address chose it (`?lang=`), else the browser's first supported
    choice in Accept-Language, else English."""
    asked = request.query.get("lang", "")
    if asked in languages():
        return asked, True
    ranked = []
    for n, part in enumerate(request.headers.get("Accept-Language", "").split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        if tag and weight > 0:
            ranked.append((-weight, n, tag))
    for _, _, tag in sorted(ranked):
        base = tag.split("-")[0].lower()
        if base in languages():
            return language_of(base), False
    return "en", False


@dataclass
class Page:
    """What every page's template gets: the language, links that keep it, and the Open Graph fields."""

    m: Messages
    explicit: bool
    path: str
    public_url: str | None
    origin: str
    # The address's other parameters (a search's words and page), kept by the language links.
    query: dict[str, str]

    def href(self, path: str, **query: object) -> str:
        """A link within the site that keeps an explicitly chosen language."""
        params = {k: v for k, v in query.items() if v not in (None, "")}
        if self.explicit:
            params["lang"] = self.m.language
        return path + (f"?{urlencode(params)}" if params else "")

    def absolute(self, path: str) -> str:
        """`path` on the public address when it is set, else on the address this request came to."""
        return (self.public_url or self.origin) + path

    def other_languages(self) -> list[tuple[str, str]]:
        """(label, link) for each other language of the site, on this same page."""
        names = {"en": "English", "ko": "한국어"}
        return [
            (names.get(lang, lang), f"{self.path}?{urlencode({**self.query, 'lang': lang})}")
            for lang in languages()
            if lang != self.m.language
        ]


@dataclass(frozen=True)
class InstallLinks:
    """Where the install page sends people, when the deployment allows it: Slack's install flow
    (distribution) and Discord's invite for the bot's application."""

    slack: str | None = None
    discord: str | None = None


@dataclass(frozen=True)
class Sources:
    """What the site reads, built by the composition root: the core's answers, the catalogue's tallies and
    pages, the bot's own search and quote cards, the calendar of what falls due, and the install links."""

    core: Core
    catalogue: Catalogue
    searcher: Searcher
    quote_cards: QuoteCards
    calendars: Calendars
    install: InstallLinks = field(default_factory=InstallLinks)
    # The speakers as officials: their pages, the meter by office and region, and scoped searches.
    officials: Officials | None = None


class Site:
    """The site's handlers over the bot's parts."""

    def __init__(self, sources: Sources, public_url: str | None = None):
        self.core = sources.core
        self.catalogue = sources.catalogue
        self.searcher = sources.searcher
        self.quote_cards = sources.quote_cards
        self.calendars = sources.calendars
        self.links = sources.install
        self.officials = sources.officials
        self.public_url = public_url
        # The only files /fonts/ serves: the slices the generator wrote, never a path from the address.
        self.font_slices = frozenset(p.name for p in fonts.SLICES.glob("*.woff2"))

    def routes(self) -> list[web.RouteDef]:
        """Every route of the site, for its own application or beside Slack's `/slack/events`."""
        return [
            web.get("/", self.meter),
            web.get("/pledges/{id}", self.pledge),
            web.get("/pledges/{id}/card.png", self.card),
            web.get("/meter.png", self.meter_image),
            web.get("/search", self.search),
            web.get("/officials", self.officials_page),
            web.get("/officials/{id}", self.official),
            web.get("/pledges.json", self.pledges_json),
            web.get("/pledges.csv", self.pledges_csv),
            web.get("/feed.atom", self.feed),
            web.get("/install", self.installing),
            web.get("/site.css", self.stylesheet),
            web.get("/fonts.css", self.font_stylesheet),
            web.get("/fonts/{name}", self.font),
        ]

    async def healthz(self, request: web.Request) -> web.Response:
        """200 while the catalogue answers, 503 when it does not: for hosts' health checks."""
        try:
            ok = bool(await asyncio.to_thread(self.core.healthy))
        except Exception:
            log.exception("the health check failed")
            ok = False
        return web.json_response({"ok": ok}, status=200 if ok else 503)

    @web.middleware
    async def not_found(self, request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
        """Unknown addresses get the site's own 404 page, in the reader's language."""
        try:
            return await handler(request)
        except web.HTTPNotFound:
            if request.method not in ("GET", "HEAD") or request.path.startswith("/slack/"):
                raise
            return await self._missing(request, "")

    async def _missing(self, request: web.Request, message: str) -> web.Response:
        page = self._page(request)
        m = page.m
        body = await asyncio.to_thread(
            _render,
            "notfound.html",
            page,
            title=m.gettext("Page not found"),
            description=m.gettext("There is no page at this address."),
            message=message,
        )
        return web.Response(text=body, status=404, content_type="text/html")

    def install(self, app: web.Application) -> None:
        """Add the site's routes and its 404 page to `app` (before the app starts)."""
        app.router.add_routes(self.routes())
        app.middlewares.append(self.not_found)

    def _page(self, request: web.Request) -> Page:
        language, explicit = choose_language(request)
        origin = f"{request.scheme}://{request.host}"
        query = {k: v for k, v in request.query.items() if k in ("q", "page")}
        return Page(messages(language), explicit, request.path, self.public_url, origin, query)

    async def _html(self, request: web.Request, build: Callable[[Page], str]) -> web.Response:
        page = self._page(request)
        body = await asyncio.to_thread(build, page)
        return web.Response(
            text=body,
            content_type="text/html",
            headers={"Cache-Control": CACHE, "Vary": "Accept-Language", "Content-Language": page.m.language},
        )

    # -- the meter --------------------------------------------------------------------------------

    async def meter(self, request: web.Request) -> web.Response:
        return await self._html(request, self._meter)

    def _meter(self, page: Page) -> str:
        m = page.m
        overall = self.catalogue.tallies()
        total = overall[0].total if overall else 0
        upcoming = self.core.handle(
            f"upcoming {UPCOMING_DAYS}", Context(platform="site", locale=m.language)
        ).items
        return _render(
            "meter.html",
            page,
            title=m.gettext("Pledge tracker"),
            description=m.ngettext(
                "{n} pledge, counted by status", "{n} pledges, counted by status", total
            ).format(n=total),
            total=total,
            overall=_bars(overall[0] if overall else None, m),
            speakers=_groups(self.catalogue.tallies("speaker"), m),
            categories=_groups(self.catalogue.tallies("category"), m),
            offices=_groups(self.catalogue.tallies("office"), m),
            regions=_groups([_region(t) for t in self.catalogue.tallies("region")], m),
            statuses=_statuses(m),
            updates=[_update(u, m) for u in self.catalogue.updates(UPDATES_SHOWN)],
            upcoming=_nested(upcoming),
        )

    async def meter_image(self, request: web.Request) -> web.Response:
        page = self._page(request)

        def draw() -> bytes:
            tallies = self.catalogue.tallies()
            return render_meter(tallies[0].counts if tallies else {}, page.m)

        png = await asyncio.to_thread(draw)
        return web.Response(body=png, content_type=MIME, headers={"Cache-Control": CACHE})

    # -- a pledge's page ----------------------------------------------------------------------------

    async def pledge(self, request: web.Request) -> web.Response:
        pledge_id = await asyncio.to_thread(self.catalogue.find_id, request.match_info["id"])
        if pledge_id is None or pledge_id != request.match_info["id"]:
            if pledge_id is not None:
                # One address per pledge: other spellings of the id lead to it.
                raise web.HTTPMovedPermanently(self._page(request).href(f"/pledges/{pledge_id}"))
            m = messages(choose_language(request)[0])
            return await self._missing(request, m.gettext(NOT_FOUND).format(id=request.match_info["id"][:60]))
        return await self._html(request, lambda page: self._pledge(page, pledge_id))

    def _pledge(self, page: Page, pledge_id: str) -> str:
        m = page.m
        cards = self.quote_cards.of_pledge(pledge_id, m.language)
        row = self.catalogue.pledges([pledge_id])[pledge_id]
        today = self.core.today()
        settled = row.status in statuses.SETTLED
        # Each milestone once, as it stands today (a deadline counted down to, or overdue while the pledge is
        # open); a rating is in the status history already. Then, among them by date, what comes round for
        # the pledge in the year ahead: its anniversaries and day counts, not its milestones again.
        milestones = []
        for ms in map(milestone, self.catalogue.milestones_of(pledge_id)):
            if ms.kind in YEARLY_ONLY:
                continue
            found = standing(ms, today, settled=settled) if ms.kind != "pledged" else None
            text = (
                m.gettext("Pledged") if ms.kind == "pledged" else found.headline(m) if found else ms.name(m)
            )
            milestones.append((ms.date, text))
        milestones += [
            (o.due, o.headline(m))
            for o in self.calendars.current().upcoming(today, 366)
            if o.milestone.pledge_id == pledge_id
            and o.kind != OccurrenceKind.ON_THE_DAY
            and o.milestone.kind not in DUE_KINDS
        ]
        milestones.sort(key=lambda entry: entry[0])
        lead = cards[0]
        description = f"{lead.reported(m)} — {lead.attribution(m)}" if lead.has_quote else lead.summary
        return _render(
            "pledge.html",
            page,
            title=lead.title,
            description=description,
            image=page.absolute(
                f"/pledges/{pledge_id}/card.png" + (f"?lang={m.language}" if m.language != "en" else "")
            ),
            image_alt=card_text(lead, m),
            pledge=row,
            # The speaker's page, when they are an official.
            official=(
                self.officials.get(row.speaker_id) if self.officials is not None and row.speaker_id else None
            ),
            title_en=row.title,
            title_ko=row.title_ko or "",
            category=localized(m, row.category, row.category_ko),
            cards=cards,
            status_name=m.status(row.status),
            status_colour=_hex(row.status),
            timeline=[_update(s, m) for s in reversed(self.catalogue.history(pledge_id))],
            milestones=[
                {"date": m.date(day), "iso": day.isoformat(), "title": text} for day, text in milestones
            ],
        )

    async def card(self, request: web.Request) -> web.Response:
        pledge_id = await asyncio.to_thread(self.catalogue.find_id, request.match_info["id"])
        if pledge_id is None:
            raise web.HTTPNotFound()
        page = self._page(request)

        def draw() -> bytes:
            lead = self.quote_cards.of_pledge(pledge_id, page.m.language)[0]
            return render_card(lead, page.m, where=page.absolute(f"/pledges/{pledge_id}"))

        png = await asyncio.to_thread(draw)
        return web.Response(body=png, content_type=MIME, headers={"Cache-Control": CACHE})

    # -- search -------------------------------------------------------------------------------------

    async def search(self, request: web.Request) -> web.Response:
        query = request.query.get("q", "").strip()
        page_number = _number(request.query.get("page", "1"))
        return await self._html(request, lambda page: self._search(page, query, page_number))

    def _search(self, page: Page, query: str, number: int) -> str:
        m = page.m
        notices: list[str] = []
        results: list[QuoteCard] = []
        total = 0
        more = False
        if query:
            # The bot's own search, ranking and notices, ten to a page.
            found = search_page(
                self.searcher, self.quote_cards, query, number, m, SEARCH_PAGE_SIZE, self.officials
            )
            notices = [n.text for n in found.notices]
            results, total, more = found.cards, found.result.total, found.has_more
        title = m.gettext("Search") if not query else m.gettext("Search: {query}").format(query=query[:60])
        return _render(
            "search.html",
            page,
            title=title,
            description=m.gettext("Search the pledges by their words, in English or Korean."),
            query=query,
            results=results,
            notices=notices,
            total=total,
            number=number,
            previous=page.href("/search", q=query, page=number - 1) if number > 1 else "",
            next=page.href("/search", q=query, page=number + 1) if more else "",
        )

    # -- officials ---------------------------------------------------------------------------------

    async def officials_page(self, request: web.Request) -> web.Response:
        return await self._html(request, self._officials)

    def _officials(self, page: Page) -> str:
        m = page.m
        holders = self.officials.holders() if self.officials is not None else []
        kept = self.officials.kept() if self.officials is not None else {}
        today = self.core.today()
        return _render(
            "officials.html",
            page,
            title=m.gettext("Officials"),
            description=m.ngettext(
                "{n} official, with their office, term and pledges kept",
                "{n} officials, with their office, term and pledges kept",
                len(holders),
            ).format(n=len(holders)),
            officials=[_official(o, kept.get(o.id, (0, 0)), today, m) for o in holders],
        )

    async def official(self, request: web.Request) -> web.Response:
        key = request.match_info["id"]
        found = self.officials.get(key) if self.officials is not None else None
        if found is None or not (found.office or found.terms):
            m = messages(choose_language(request)[0])
            text = m.gettext("There is no official with the id “{id}”.").format(id=key[:60])
            return await self._missing(request, text)
        if found.id != key:
            raise web.HTTPMovedPermanently(self._page(request).href(f"/officials/{found.id}"))
        return await self._html(request, lambda page: self._official(page, found))

    def _official(self, page: Page, official: Official) -> str:
        m = page.m
        assert self.officials is not None  # the route finds no official without them
        counts = self.officials.tally(official.id)
        total = sum(counts.values())
        kept = self.officials.kept().get(official.id, (0, 0))
        fields = [
            {
                "name": localized(m, category, category_ko),
                "pledges": [
                    {"id": pledge, "title": pledge_title(m, title, title_ko, korean_only)}
                    for pledge, title, title_ko, korean_only in pledges
                ],
            }
            for category, category_ko, pledges in self.officials.fields_of(official.id)
        ]
        facts = _official(official, kept, self.core.today(), m)
        return _render(
            "official.html",
            page,
            title=facts["label"],
            description=m.ngettext(
                "{n} pledge, counted by status", "{n} pledges, counted by status", total
            ).format(n=total),
            official=facts,
            overall=_bars(Tally("", None, counts), m),
            total=total,
            statuses=_statuses(m),
            fields=fields,
        )

    # -- downloads ----------------------------------------------------------------------------------

    async def pledges_json(self, request: web.Request) -> web.Response:
        rows = await asyncio.to_thread(self.catalogue.pledge_table)
        body = json.dumps({"pledges": rows}, ensure_ascii=False, indent=2)
        return web.Response(text=body, content_type="application/json", headers={"Cache-Control": CACHE})

    async def pledges_csv(self, request: web.Request) -> web.Response:
        rows = await asyncio.to_thread(self.catalogue.pledge_table)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["id"])
        writer.writeheader()
        writer.writerows(rows)
        # A byte order mark first: without it Excel reads UTF-8 as the system's code page and garbles Hangul.
        return web.Response(
            text="\ufeff" + out.getvalue(),
            content_type="text/csv",
            headers={"Cache-Control": CACHE, "Content-Disposition": 'attachment; filename="pledges.csv"'},
        )

    async def feed(self, request: web.Request) -> web.Response:
        page = self._page(request)

        def build() -> str:
            m = page.m
            updates = self.catalogue.updates(FEED_ENTRIES)
            entries = [
                {
                    "id": f"urn:pledgebot:status:{quote(u.id, safe='')}",
                    "title": m.gettext("{title}: {status}").format(
                        title=localized(m, u.title, u.title_ko), status=m.status(u.status)
                    ),
                    "link": page.absolute(f"/pledges/{u.pledge}"),
                    "updated": _entry_time(u),
                    "summary": _update(u, m)["text"],
                }
                for u in updates
            ]
            return _env.get_template("feed.atom").render(
                m=m,
                gettext=m.gettext,
                feed_id=f"urn:pledgebot:feed:{m.language}",
                self_link=page.absolute(page.href("/feed.atom")),
                site=page.absolute(page.href("/")),
                # Atom requires a feed's updated even before any rating: a fixed date, not each fetch's time.
                updated=entries[0]["updated"] if entries else _atom_time(dt.date(2000, 1, 1)),
                entries=entries,
            )

        body = await asyncio.to_thread(build)
        return web.Response(text=body, content_type="application/atom+xml", headers={"Cache-Control": CACHE})

    # -- adding the bot ------------------------------------------------------------------------------

    async def installing(self, request: web.Request) -> web.Response:
        return await self._html(request, self._installing)

    def _installing(self, page: Page) -> str:
        m = page.m
        return _render(
            "install.html",
            page,
            title=m.gettext("Add pledgebot to Slack or Discord"),
            description=m.gettext(
                "pledgebot answers with a politician's exact words, the date they were said and where they "
                "were published, in your own Slack workspace or Discord server."
            ),
            links=self.links,
        )

    async def stylesheet(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(
            HERE / "static" / "site.css", headers={"Cache-Control": "public, max-age=3600"}
        )

    async def font_stylesheet(self, request: web.Request) -> web.StreamResponse:
        # A file response serves the generator's fonts.css.br or .gz to a browser that accepts them.
        return web.FileResponse(fonts.STYLESHEET, headers={"Cache-Control": "public, max-age=3600"})

    async def font(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name == LICENCE.name:
            return web.FileResponse(LICENCE, headers={"Cache-Control": "public, max-age=86400"})
        if name not in self.font_slices:
            raise web.HTTPNotFound()
        # A slice's name carries a hash of its bytes: new bytes get a new name, so a copy never goes stale.
        return web.FileResponse(
            fonts.SLICES / name,
            headers={"Cache-Control": "public, max-age=31536000, immutable", "Content-Type": "font/woff2"},
        )


LICENCE = FONTS / "OFL.txt"


def _render(template: str, page: Page, **values: Any) -> str:
    m = page.m
    return _env.get_template(template).render(
        page=page,
        m=m,
        gettext=m.gettext,
        ngettext=m.ngettext,
        lang=m.language,
        **values,
    )


def _number(text: str) -> int:
    return int(text) if text.isdecimal() and 0 < len(text) <= 4 and int(text) > 0 else 1


def _hex(status: str) -> str:
    r, g, b = statuses.COLOURS.get(status, statuses.COLOURS[statuses.UNRATED])
    return f"#{r:02x}{g:02x}{b:02x}"


def _statuses(m: Messages) -> list[dict[str, str]]:
    return [{"key": s, "name": m.status(s), "colour": _hex(s)} for s in statuses.VALUES]


def _bars(tally: Tally | None, m: Messages) -> list[dict[str, Any]]:
    """One bar per status of the scale, in its order, with its share of the widest."""
    counts = tally.counts if tally else {}
    widest = max(counts.values(), default=0) or 1
    return [
        {
            "name": m.status(s),
            "n": counts.get(s, 0),
            "share": counts.get(s, 0) / widest,
            "colour": _hex(s),
        }
        for s in statuses.VALUES
    ]


def _group(tally: Tally, widest: int, m: Messages) -> dict[str, Any]:
    """A speaker's or a category's stacked bar, as long as its share of the largest group, with a segment
    per status."""
    segments, start = [], 0.0
    for s in statuses.VALUES:
        n = tally.counts.get(s, 0)
        if n:
            share = n / max(widest, 1)
            segments.append({"name": m.status(s), "n": n, "start": start, "share": share, "colour": _hex(s)})
            start += share
    return {
        "name": localized(m, tally.group, tally.group_ko),
        "total": tally.total,
        "share": start,
        "counts": [tally.counts.get(s, 0) for s in statuses.VALUES],
        "segments": segments,
    }


def _region(tally: Tally) -> Tally:
    """A region's tally named in English too (서울특별시 is Seoul), its Korean name as the Korean one."""
    sido = regions.sido(tally.group)
    return Tally(sido.english if sido else tally.group, tally.group, tally.counts)


def _official(official: Official, kept: tuple[int, int], today: dt.date, m: Messages) -> dict[str, Any]:
    """An official's facts as the site shows them: name and office, region, party, term, pledges kept."""
    name = localized(m, official.name, official.name_ko)
    office = official.office_name(m)
    term = official.term_on(today)
    return {
        "id": official.id,
        "name": name,
        "label": m.gettext("{name}, {office}").format(name=name, office=office) if office else name,
        "office": office,
        "region": official.region(),
        "party": localized(m, official.party or official.party_ko, official.party_ko),
        "term": (
            m.gettext("term {start} to {end}").format(start=m.date(term.start), end=m.date(term.end))
            if term is not None and term.end is not None
            else m.gettext("in office since {start}").format(start=m.date(term.start))
            if term is not None
            else ""
        ),
        "kept": m.ngettext("{kept} of {total} pledge kept", "{kept} of {total} pledges kept", kept[1]).format(
            kept=kept[0], total=kept[1]
        ),
    }


def _groups(tallies: list[Tally], m: Messages) -> list[dict[str, Any]]:
    widest = max((t.total for t in tallies), default=0)
    return [_group(t, widest, m) for t in tallies]


def _update(u: StatusRow, m: Messages) -> dict[str, Any]:
    status = m.status(u.status)
    text = m.gettext("Rated “{status}” on {date}").format(status=status, date=m.date(u.date))
    if u.note:
        text += f": {u.note}"
    source = ""
    if u.headline:
        source = m.gettext("“{headline}”, {outlet}").format(
            headline=localized(m, u.headline, u.headline_ko), outlet=localized(m, u.outlet, u.outlet_ko)
        )
    return {
        "pledge": u.pledge,
        "title": localized(m, u.title, u.title_ko),
        "status": status,
        "colour": _hex(u.status),
        "date": m.date(u.date),
        "iso": u.date.isoformat(),
        "note": u.note or "",
        "source": source,
        "url": u.url or "",
        "text": text,
    }


def _nested(items: list[ListItem]) -> list[tuple[ListItem, list[ListItem]]]:
    """Grouped list items as (item, its members): a group's pledges follow its heading and have no date of
    their own (`bot.reminders.digests.DayDigest`)."""
    nested: list[tuple[ListItem, list[ListItem]]] = []
    for item in items:
        if item.date is None and nested:
            nested[-1][1].append(item)
        else:
            nested.append((item, []))
    return nested


def _atom_time(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _entry_time(update: StatusRow) -> str:
    """When a rating was made, as Atom writes it: the time its source was published when the source gives
    one and the rating is of that day (a seed pledge's "not yet rated" is as old as the article, 11:09 in
    Seoul), else the start of the rating's own day."""
    published = update.published_at or ""
    if "T" in published:
        when = dt.datetime.fromisoformat(published)
        if when.tzinfo is not None and when.date() == update.date:
            return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return _atom_time(update.date)


def build_app(
    sources: Sources,
    public_url: str | None = None,
    mount: Callable[[web.Application], None] | None = None,
) -> web.Application:
    """The site, as `pledgebot site` and `make run` serve it; `mount` may add other routes beside it
    (Discord's interactions endpoint, for `pledgebot web`)."""
    app = web.Application()
    site = Site(sources, public_url)
    site.install(app)
    app.router.add_get("/healthz", site.healthz)
    if mount is not None:
        mount(app)
    return app


async def serve(
    sources: Sources,
    public_url: str | None,
    stopping: asyncio.Event,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    tries: int = 1,
    ready: asyncio.Future[str] | None = None,
    announce: Callable[[str], None] | None = None,
    mount: Callable[[web.Application], None] | None = None,
) -> None:
    """Serve the site until `stopping` is set; with `tries` above 1, the next port when one is taken.

    `ready` gets the site's address, and `announce` is called with it (the command line prints it on stderr);
    `mount` is handed to `build_app`.
    """
    runner = web.AppRunner(build_app(sources, public_url, mount), handle_signals=False, access_log=None)
    await runner.setup()
    try:
        for candidate in range(port, port + tries):
            site = web.TCPSite(runner, host, candidate)
            try:
                await site.start()
            except OSError as error:
                if error.errno != errno.EADDRINUSE or candidate == port + tries - 1:
                    raise
                continue
            # Port 0 asks the system for a free port: the one bound is the runner's newest address.
            bound = runner.addresses[-1][1] if candidate == 0 else candidate
            address = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{bound}/"
            log.info("site: serving on %s", address)
            if announce is not None:
                announce(address)
            if ready is not None and not ready.done():
                ready.set_result(address)
            break
        await stopping.wait()
    finally:
        await runner.cleanup()


_env.globals["colour"] = _hex
