"""Searches scoped by official and place: `/pledge 서울 교통`, `/pledge mayor of busan housing`,
`/pledge 교육감 급식`. The words that name officials (`Officials.scope`) are taken out, the rest is searched
as usual, and the named officials' pledges are ranked first; the others follow, so nothing is filtered out
silently. A query that is only a name or a place lists those officials' pledges, then whatever else
mentions the words.

It sits beside the search rather than inside it: the search's own ranking (`bot/search.py`) is untouched,
and this reorders its candidates.
"""

from __future__ import annotations

import dataclasses

from bot import search
from bot.i18n import Messages, localized
from bot.officials.records import Officials, Scope
from bot.search import Searcher, SearchResult

# Officials named in the notice, at most.
NAMED_IN_NOTICE = 3


def scoped_search(
    searcher: Searcher, officials: Officials, scope: Scope, *, limit: int, offset: int
) -> SearchResult | None:
    """One page of results with the scope's officials' pledges first, or None when the rest of the query
    finds nothing (the caller then searches the query as typed)."""
    rank = {speaker: n for n, speaker in enumerate(scope.speakers)}
    query = " ".join(scope.named + ((scope.rest,) if scope.rest else ()))
    if scope.rest:
        result = searcher.search(scope.rest, limit=search.CANDIDATES)
        if not result.ids:
            return None
        speakers = officials.speakers_of(result.ids)
        # A stable sort: within each official, and among the others, the search's own order.
        ranked = sorted(result.ids, key=lambda i: rank.get(speakers.get(i, ""), len(rank)))
        total = result.total
        corrected = f"{' '.join(scope.named)} {result.corrected}" if result.corrected else None
    else:
        theirs = officials.pledges_of(scope.speakers)
        if not theirs:
            return None
        result = searcher.search(query, limit=search.CANDIDATES)
        known = set(theirs)
        ranked = theirs + [i for i in result.ids if i not in known]
        total = len(ranked)
        corrected = None
    return dataclasses.replace(
        result,
        ids=ranked[offset : offset + limit],
        total=total,
        typed=query.split(),
        words=[w.lower() for w in query.split()],
        corrected=corrected,
        missing=[],
        matched=[],
    )


def scope_notice(m: Messages, officials: Officials, scope: Scope) -> str:
    """What the reader is told: whose pledges come first ("Pledges of Hong Gil-dong, Mayor of Seoul
    first")."""
    names = []
    for speaker in scope.speakers[:NAMED_IN_NOTICE]:
        official = officials.get(speaker)
        if official is None:
            continue
        name = localized(m, official.name, official.name_ko)
        office = official.office_name(m)
        names.append(m.gettext("{name}, {office}").format(name=name, office=office) if office else name)
    more = len(scope.speakers) - NAMED_IN_NOTICE
    if more > 0:
        names.append(m.ngettext("{n} more", "{n} more", more).format(n=more))
    return m.gettext("Pledges of {officials} first; the others follow.").format(officials="; ".join(names))
