"""A page of search results as every front end shows it: the ranked cards, the total and the notices that
say how the words were understood, so the chat and the site cannot drift."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from bot import search
from bot.grammar import short
from bot.i18n import Messages
from bot.lookups.quotes import QuoteCards
from bot.officials.records import Officials
from bot.officials.scoping import scope_notice, scoped_search
from bot.replies import Level, Notice, QuoteCard
from bot.search import MAX_QUERY_CHARS, Searcher, SearchResult


class Outcome(enum.Enum):
    """How a search ended."""

    FOUND = "found"
    NO_WORDS = "no words"  # nothing searchable was typed
    STOP_ONLY = "stop only"  # only words too common to search for
    NOTHING = "nothing"  # no pledge matches
    NO_PAGE = "no page"  # matches, but not as many as this page needs


@dataclass
class SearchPage:
    """One page of results: its cards, how the search ended, and what the reader should be told."""

    query: str
    page: int
    page_size: int
    result: SearchResult
    outcome: Outcome
    cards: list[QuoteCard] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)

    @property
    def capped(self) -> bool:
        """True when there are more matches than are ranked (the total is shown as "250+")."""
        return self.result.total > search.CANDIDATES

    @property
    def shown_so_far(self) -> int:
        """How many results this page and the pages before it show."""
        return (self.page - 1) * self.page_size + len(self.result.ids)

    @property
    def has_more(self) -> bool:
        """True when a next page has results; pages stop at the ranked candidates."""
        return min(self.result.total, search.CANDIDATES) > self.shown_so_far

    def next_query(self) -> str:
        """The words a next page searches for: as typed, or as corrected."""
        return " ".join(self.result.typed) if not self.result.corrected else self.result.corrected

    def title(self, m: Messages) -> str:
        """ "3 pledges found", "250+ pledges found" or "Results 4–6 of 9"."""
        total = f"{search.CANDIDATES:,}+" if self.capped else self.result.total
        if self.page > 1:
            first = (self.page - 1) * self.page_size + 1
            return m.gettext("Results {first}–{last} of {total}").format(
                first=first, last=self.shown_so_far, total=total
            )
        if self.capped:
            return m.gettext("{n}+ pledges found").format(n=f"{search.CANDIDATES:,}")
        return m.ngettext("{n} pledge found", "{n} pledges found", self.result.total).format(
            n=self.result.total
        )


def search_page(
    searcher: Searcher,
    cards: QuoteCards,
    query: str,
    page: int,
    m: Messages,
    size: int,
    officials: Officials | None = None,
) -> SearchPage:
    """Search for `query` and make page `page` of `size` results, with its notices in `m`'s language; with
    `officials`, the pledges of officials the query names come first (`bot/officials/scoping.py`)."""
    notices = []
    scope = officials.scope(query) if officials is not None else None
    result = None
    if officials is not None and scope is not None and scope.speakers:
        result = scoped_search(searcher, officials, scope, limit=size, offset=(page - 1) * size)
        if result is not None:
            notices.append(Notice(scope_notice(m, officials, scope)))
    if result is None:
        result = searcher.search(query, limit=size, offset=(page - 1) * size)
    if result.truncated:
        text = m.gettext("Your search was long, so I used its first {n} characters.")
        notices.append(Notice(text.format(n=MAX_QUERY_CHARS)))
    found = SearchPage(query, page, size, result, Outcome.FOUND, notices=notices)
    shown = short(" ".join(result.words), 60)
    if not result.words:
        found.outcome = Outcome.NO_WORDS
        return found
    if result.stop_only:
        text = m.gettext("“{shown}” is too common a word to search for: give a more specific word.")
        notices.append(Notice(text.format(shown=shown), Level.ERROR))
        found.outcome = Outcome.STOP_ONLY
        return found
    if not result.ids:
        if page > 1 and (result.total or searcher.search(query, limit=1).total):
            text = m.gettext("There is no page {page} of results for “{shown}”.")
            found.notices = [Notice(text.format(page=page, shown=shown), Level.ERROR)]
            found.outcome = Outcome.NO_PAGE
            return found
        notices.append(Notice(m.gettext("No pledge matches “{shown}”.").format(shown=shown), Level.ERROR))
        found.outcome = Outcome.NOTHING
        return found
    if result.corrected:
        text = m.gettext("No exact match; showing results for “{corrected}”.")
        notices.append(Notice(text.format(corrected=result.corrected)))
    if result.missing:
        text = m.gettext("No pledge mentions “{missing}”; showing pledges that mention “{matched}”.")
        missing, matched = " ".join(result.missing), " ".join(result.matched)
        notices.append(Notice(text.format(missing=short(missing, 60), matched=short(matched, 60))))
    elif result.matched:
        text = m.gettext("No pledge mentions all of “{shown}”; showing pledges that mention some of it.")
        notices.append(Notice(text.format(shown=short(" ".join(result.matched), 60))))
    if result.near:
        text = m.gettext("Also matching most of your words: {pledges}.")
        notices.append(Notice(text.format(pledges=", ".join(result.near))))
    found.cards = cards.cards(result.ids, m, lead_only=True, terms=result.terms)
    return found
