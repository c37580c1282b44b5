"""The answer to `/pledge officials [region]`: each official with their office, region, current term and
how many of their pledges are kept so far."""

from __future__ import annotations

from bot.grammar import short
from bot.i18n import Messages, localized
from bot.officials.commands import ListOfficials
from bot.officials.records import Official, Officials
from bot.registry import Request, handles
from bot.replies import Level, ListItem, Notice, Reply

MAX_LIST_ITEMS = 25


class OfficialsAnswers:
    """Answers the officials command from the catalogue's officials."""

    def __init__(self, officials: Officials):
        self.officials = officials

    @handles(ListOfficials)
    def list(self, command: ListOfficials, request: Request) -> Reply:
        """The officials, all or those the words name, widest office first."""
        m = request.m
        if command.region:
            named = set(self.officials.named(command.region))
            found = [o for o in self.officials.holders() if o.id in named]
            if not found:
                text = m.gettext("No official is in or named by “{text}”.").format(
                    text=short(command.region, 60)
                )
                return Reply(notices=[Notice(text, Level.ERROR)])
        else:
            found = self.officials.holders()
            if not found:
                return Reply(notices=[Notice(m.gettext("The catalogue has no officials yet."))])
        kept = self.officials.kept()
        items = [self._item(o, kept.get(o.id, (0, 0)), request, m) for o in found[:MAX_LIST_ITEMS]]
        notices = []
        if len(found) > MAX_LIST_ITEMS:
            text = m.gettext("Showing the first {shown} of {total}; name a region to see fewer.")
            notices.append(Notice(text.format(shown=MAX_LIST_ITEMS, total=len(found))))
        title = m.ngettext("{n} official", "{n} officials", len(found)).format(n=len(found))
        if command.region:
            title = m.gettext("{title}: {region}").format(title=title, region=short(command.region, 60))
        return Reply(title=title, items=items, notices=notices, total=len(found))

    def _item(self, official: Official, kept: tuple[int, int], request: Request, m: Messages) -> ListItem:
        name = localized(m, official.name, official.name_ko)
        office = official.office_name(m)
        label = m.gettext("{name}, {office}").format(name=name, office=office) if office else name
        parts = []
        term = official.term_on(request.today)
        if term is not None:
            if term.end is not None:
                parts.append(
                    m.gettext("term {start} to {end}").format(start=m.date(term.start), end=m.date(term.end))
                )
            else:
                parts.append(m.gettext("in office since {start}").format(start=m.date(term.start)))
        # A party the data names in Korean only is shown so in English too.
        party = localized(m, official.party or official.party_ko, official.party_ko)
        if party:
            parts.append(party)
        parts.append(
            m.ngettext("{kept} of {total} pledge kept", "{kept} of {total} pledges kept", kept[1]).format(
                kept=kept[0], total=kept[1]
            )
        )
        parts.append(m.gettext("/pledge list {id}").format(id=official.id))
        return ListItem(label=label, detail="; ".join(parts))
