"""Quote cards: each pledge with the speaker's exact words, when they were said, where they were published
and where the pledge stands, as every lookup answer and the site show them."""

from __future__ import annotations

import datetime as dt
import functools

from babel import Locale

from bot.catalogue import Catalogue, PledgeRow, QuoteRow
from bot.i18n import Messages, localized, messages, pledge_title
from bot.replies import QuoteCard, SourceRef, Status
from bot.search import best_quotes


class QuoteCards:
    """Builds quote cards from the catalogue; links point at the public site when it has an address."""

    def __init__(self, catalogue: Catalogue, public_url: str | None = None):
        self.catalogue = catalogue
        self.public_url = public_url

    def page_url(self, pledge_id: str) -> str:
        """The pledge's page on the public site, or "" when PLEDGEBOT_PUBLIC_URL is not set."""
        return f"{self.public_url}/pledges/{pledge_id}" if self.public_url else ""

    def of_pledge(
        self, pledge_id: str, language: str = "en", *, terms: list[str] | None = None
    ) -> list[QuoteCard]:
        """One pledge's cards in `language`: every quote, or (given search `terms`) the best match."""
        return self.cards([pledge_id], messages(language), lead_only=terms is not None, terms=terms)

    def cards(
        self, ids: list[str], m: Messages, *, lead_only: bool, terms: list[str] | None = None
    ) -> list[QuoteCard]:
        """Cards for these pledges: every quote (`show`), or one per pledge: the quote matching the most of
        `terms` (the first when none does), its matched words as emphasis spans; a pledge without quotes
        gets one card with its summary and status."""
        pledges = self.catalogue.pledges(ids)
        by_pledge: dict[str, list[QuoteRow]] = {}
        for quote in self.catalogue.quotes(ids, lead_only=False):
            by_pledge.setdefault(quote.pledge, []).append(quote)
        # The quote each card leads with, found for the whole page at once.
        leads = (
            dict(
                zip(
                    ids,
                    best_quotes([[q.text for q in by_pledge.get(i, [])] for i in ids], terms or []),
                    strict=True,
                )
            )
            if lead_only
            else {}
        )
        cards = []
        for pledge_id in ids:
            pledge = pledges.get(pledge_id)
            if pledge is None:
                continue
            # The fields every card of this pledge shares.
            card_of = functools.partial(
                QuoteCard,
                pledge_id=pledge.id,
                title=title_of(m, pledge),
                speaker=localized(m, pledge.speaker, pledge.speaker_ko),
                status=Status(
                    pledge.status,
                    pledge.status_date,
                    pledge.status_note or "",
                    source=_status_source(m, pledge),
                    updates=pledge.updates,
                    pledge_id=pledge.id,
                ),
                category=localized(m, pledge.category, pledge.category_ko),
                summary=pledge.summary or "",
                title_by=_title_by(m, pledge),
                link=self.page_url(pledge.id),
            )
            quotes = by_pledge.get(pledge_id, [])
            if not quotes:
                cards.append(card_of(quote="", said_on=None, source=_status_source(m, pledge)))
                continue
            spans: dict[int, tuple[tuple[int, int], ...]] = {}
            more = 0
            if lead_only:
                index, found = leads[pledge_id]
                spans = {0: found}
                more = len(quotes) - 1
                quotes = [quotes[index]]
            for index, quote in enumerate(quotes):
                cards.append(
                    card_of(
                        quote=quote.text,
                        said_on=quote.said_on,
                        source=SourceRef(
                            headline=localized(m, quote.headline, quote.headline_ko),
                            outlet=localized(m, quote.outlet, quote.outlet_ko),
                            published_at=_published(quote.published_at),
                            kind=quote.kind,
                            url=quote.url,
                        ),
                        translated=quote.translated,
                        language=quote.language,
                        original=_original(m, quote),
                        more_quotes=more,
                        emphasis=spans.get(index, ()) if lead_only else (),
                        paraphrase=quote.paraphrase,
                    )
                )
        return cards


def title_of(m: Messages, pledge: PledgeRow) -> str:
    """A pledge's title for `m`'s readers (marked "in Korean only" when it has no English one)."""
    return pledge_title(m, pledge.title, pledge.title_ko, pledge.korean_only)


def _original(m: Messages, quote: QuoteRow) -> str:
    """The source a translated quote translates, named for the reader (e.g. its Korean headline)."""
    if not quote.translated or not quote.original_headline:
        return ""
    language = quote.original_language or ""
    name = Locale.parse(language).get_display_name(m.language) if language in _CLDR_LANGUAGES else language
    headline = localized(m, quote.original_headline, quote.original_headline_ko)
    return m.gettext("{headline} ({language})").format(headline=headline, language=name) if name else headline


_CLDR_LANGUAGES = frozenset(Locale("en").languages)


def _status_source(m: Messages, pledge: PledgeRow) -> SourceRef | None:
    if pledge.status_source is None:
        return None
    headline, outlet, published_at, kind, url, headline_ko, outlet_ko = pledge.status_source
    return SourceRef(
        headline=localized(m, headline, headline_ko),
        outlet=localized(m, outlet, outlet_ko),
        published_at=_published(published_at) if published_at else None,
        kind=kind,
        url=url,
    )


def _title_by(m: Messages, pledge: PledgeRow) -> str:
    """Who wrote the title shown, when it is the Korean one and the data says; else ""."""
    return (pledge.title_ko_by or "") if m.language == "ko" and pledge.title_ko else ""


def _published(value: str) -> dt.datetime | dt.date:
    return dt.datetime.fromisoformat(value) if "T" in value else dt.date.fromisoformat(value)
