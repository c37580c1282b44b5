"""Occurrences as list items: each named with its pledge's lead quote, original date and source, for digests,
`on` and `upcoming` alike."""

from __future__ import annotations

from bot.catalogue import Catalogue, QuoteRow, SourceRow
from bot.i18n import Messages, localized
from bot.reminders.occurrences import DUE_KINDS, KIND_NAMES, Occurrence, OccurrenceKind
from bot.replies import ListItem
from bot.statuses import SETTLED


class OccurrenceItems:
    """Builds the list items of occurrences from the catalogue, one query per kind of fact."""

    def __init__(self, catalogue: Catalogue):
        self.catalogue = catalogue

    def open(self, occurrences: list[Occurrence]) -> list[Occurrence]:
        """`occurrences` without the "Overdue by …" items of pledges already kept, broken or a compromise,
        nor of deadlines that belong to no pledge (nothing says whether they were met).

        The status is the catalogue's as this is asked; a status change is an import, which bumps the
        catalogue version, so the calendar and the digests cached from it are rebuilt with the new status."""
        overdue = {o.milestone.pledge_id for o in occurrences if _overdue(o)}
        if not overdue:
            return occurrences
        ids = {i for i in overdue if i}
        settled = {i for i, status in self.catalogue.statuses(ids).items() if status in SETTLED}
        return [
            o
            for o in occurrences
            if not (_overdue(o) and (not o.milestone.pledge_id or o.milestone.pledge_id in settled))
        ]

    def of(self, occurrences: list[Occurrence], m: Messages) -> list[ListItem]:
        """Occurrences named with their pledges' quotes, original dates and sources."""
        # One query for every lead quote instead of one per occurrence.
        ids = list(dict.fromkeys(o.milestone.pledge_id for o in occurrences if o.milestone.pledge_id))
        leads: dict[str, QuoteRow] = {}
        for quote in self.catalogue.quotes(ids, lead_only=True):
            leads.setdefault(quote.pledge, quote)
        # A milestone of no pledge (an election, an inauguration) names the record it comes from.
        sources = self.catalogue.milestone_sources(
            {o.milestone.id for o in occurrences if not o.milestone.pledge_id}
        )
        # A milestone on its own day also says where its pledge stands now.
        statuses = self.catalogue.pledges(
            {o.milestone.pledge_id for o in occurrences if o.milestone.pledge_id and _with_status(o)}
        )
        items = []
        for occurrence in occurrences:
            milestone = occurrence.milestone
            kind = m.gettext(KIND_NAMES.get(milestone.kind, milestone.kind))
            detail = m.gettext("{kind} on {date}").format(
                kind=kind[:1].upper() + kind[1:], date=m.date(milestone.date)
            )
            lead = leads.get(milestone.pledge_id) if milestone.pledge_id else None
            source = sources.get(milestone.id)
            if lead is None and source is not None:
                detail = with_source(m, detail, source)
            if lead is not None:
                detail = quote_detail(m, lead)
            pledge = (
                statuses.get(milestone.pledge_id)
                if milestone.pledge_id and _with_status(occurrence)
                else None
            )
            if pledge is not None:
                status = m.status(pledge.status)
                detail = m.gettext("{detail} — status: {status}").format(
                    detail=detail, status=status[:1].upper() + status[1:]
                )
            items.append(
                ListItem(
                    label=occurrence.headline(m),
                    detail=detail,
                    date=occurrence.due,
                    pledge_id=milestone.pledge_id,
                )
            )
        return items


def _overdue(occurrence: Occurrence) -> bool:
    """Whether an occurrence is a due date past its day ("Overdue by …")."""
    return occurrence.milestone.kind in DUE_KINDS and occurrence.kind != OccurrenceKind.ON_THE_DAY


def _with_status(occurrence: Occurrence) -> bool:
    """Whether an item says where its pledge stands now: on a milestone's own day, and for a deadline."""
    return occurrence.kind == OccurrenceKind.ON_THE_DAY or occurrence.milestone.kind in DUE_KINDS


def quote_detail(m: Messages, lead: QuoteRow) -> str:
    """A pledge's lead quote with its date and source, as a list item's detail."""
    return m.gettext("“{quote}” ({date}; “{headline}”, {outlet})").format(
        quote=lead.text,
        date=m.date(lead.said_on),
        headline=localized(m, lead.headline, lead.headline_ko),
        outlet=localized(m, lead.outlet, lead.outlet_ko),
    )


def with_source(m: Messages, detail: str, source: SourceRow) -> str:
    """`detail` followed by the record it comes from: headline, outlet and link when held."""
    text = m.gettext("{detail} (“{headline}”, {outlet})").format(
        detail=detail,
        headline=localized(m, source.headline, source.headline_ko),
        outlet=localized(m, source.outlet, source.outlet_ko),
    )
    return f"{text} {source.url}" if source.url else text
