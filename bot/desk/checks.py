"""The desk's checks: a pledge named, a date, the exact words on the source page, a new pledge or milestone.

Commands and forms meet in these checks. Each refuses with `Invalid`, which names every field that is
wrong, and none writes anything: the edit is journalled only once all its checks have passed. A source is
fetched (or pasted) and becomes `Evidence`, its record in the import format with its text and SHA-256.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from bot import dataset as ds
from bot import grammar
from bot.catalogue import Catalogue
from bot.desk import attribution
from bot.desk.provenance import FetchError, FetchProblem, Page, check_quote, pasted
from bot.i18n import N_, Messages

# What Slack's multi-line input holds: a pasted source text longer than this goes through `pledgebot import`.
MAX_PASTED = 3000
MAX_WORDS = 3000
# The kinds of milestone an editor adds; the others (pledged, election, inauguration) come from the data.
DESK_MILESTONE_KINDS = ("deadline", "event")

# Why words on the page are not a direct quote, and what the editor may do instead.
NOT_DIRECT: dict[attribution.Problem, str] = {
    attribution.Problem.NOT_QUOTED: N_(
        "These words are on the page but not inside quotation marks, so they are not {speaker}'s own words."
    ),
    attribution.Problem.NOT_ATTRIBUTED: N_(
        "These words are quoted on the page but not attributed to {speaker} in that sentence or the one "
        "before, so they may be someone else's."
    ),
}
PARAPHRASE_HINT = N_(
    "Quote the words the page puts inside quotation marks beside {speaker}'s name, or record these as a "
    "paraphrase (reported speech, never shown in quotation marks): {how}."
)

# A friendly line for each reason a source could not be fetched.
FETCH_PROBLEMS: dict[FetchProblem, str] = {
    FetchProblem.BAD_URL: N_("Only http:// and https:// links to a web page can be fetched."),
    FetchProblem.REFUSED: N_(
        "That address is not allowed: the bot fetches only public web pages (the operator can allow a "
        "private range with PLEDGEBOT_FETCH_ALLOW)."
    ),
    FetchProblem.UNREACHABLE: N_(
        "The page did not answer; check the link, or paste the source's text instead."
    ),
    FetchProblem.TIMEOUT: N_(
        "The page took longer than 10 seconds to answer; try again, or paste the source's text."
    ),
    FetchProblem.TOO_LARGE: N_("The page is larger than 5 MB; paste the relevant text instead."),
    FetchProblem.NOT_A_PAGE: N_("That link is not a web page or plain text (it may be an image or a PDF)."),
    FetchProblem.HTTP_ERROR: N_("The site answered with an error ({detail}); check the link."),
    FetchProblem.TOO_MANY_REDIRECTS: N_("The link redirects too many times."),
}


class Fetcher(Protocol):
    """Fetches a source page (`provenance.Fetcher`, built by `open_bot` from PLEDGEBOT_FETCH_ALLOW)."""

    def fetch(self, url: str) -> Page:
        """The page at `url`, or raises FetchError."""
        ...


class Invalid(Exception):
    """Values refused: a message per field name (the form shows each beside its field)."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class Evidence:
    """A source ready for an edit: its id, its record (None when the catalogue holds it already), its text."""

    source_id: str
    record: dict[str, Any] | None
    text: str
    published: dt.date | None
    url: str


class Checks:
    """The checks of an edit's values against the catalogue and the fetched source page."""

    def __init__(self, catalogue: Catalogue, fetcher: Fetcher, clock: Callable[[], dt.datetime]):
        self.catalogue = catalogue
        self.fetcher = fetcher
        self.clock = clock

    def find_pledge(self, text: str, m: Messages, field: str = "pledge") -> str:
        """The id of the pledge `text` names, or Invalid suggesting the closest ids."""
        pledge_id = self.catalogue.find_id(text) if text else None
        if pledge_id is None:
            message = m.gettext("There is no pledge with the id “{id}”.").format(id=text[:60])
            near = self.catalogue.closest_ids(text) if text else []
            if near:
                message += " " + m.gettext("Did you mean: {ids}?").format(ids=", ".join(near))
            raise Invalid({field: message})
        return pledge_id

    def check_date(self, pledge_id: str, date: dt.date, today: dt.date, m: Messages, *, field: str) -> None:
        """Refuse a date in the future or before the pledge was made."""
        if date > today:
            raise Invalid({field: m.gettext("{date} is in the future.").format(date=m.date(date))})
        pledged, first_quote = self.catalogue.pledge_dates(pledge_id)
        start = min((d for d in (pledged, first_quote) if d is not None), default=None)
        if start is not None and date < start:
            raise Invalid(
                {
                    field: m.gettext("{date} is before the pledge was made ({start}).").format(
                        date=m.date(date), start=m.date(start)
                    )
                }
            )

    def match_words(self, words: str, text: str, m: Messages) -> str:
        """The quote as the page has it, or Invalid with the page's closest passage."""
        if not words:
            raise Invalid({"words": m.gettext("Give the exact words.")})
        if len(words) > MAX_WORDS:
            raise Invalid({"words": m.gettext("A quote is at most {n} characters.").format(n=MAX_WORDS)})
        check = check_quote(words, text)
        if not check.found:
            message = m.gettext("These words are not on the page.")
            if check.passage:
                message += " " + m.gettext("Closest passage: “{passage}”").format(passage=check.passage)
            raise Invalid({"words": message})
        # Stored as the page writes it, so the verbatim check of every later import and export holds.
        return verbatim_span(words, text) or words

    def direct_problem(self, speaker_id: str, words: str, text: str, how: str, m: Messages) -> str:
        """Why the words, already found on the page, are not the speaker's direct quote, and `how` to record
        them as a paraphrase instead; "" when they are inside quotation marks and attributed to the speaker
        nearby (`bot.desk.attribution`)."""
        names = self.catalogue.speaker_names(speaker_id)
        if names is None:
            return ""
        name, name_ko, aliases = names
        problem = attribution.check(words, text, attribution.Speaker(name, name_ko, tuple(aliases)))
        if problem is None:
            return ""
        shown = name_ko if m.language == "ko" and name_ko else name
        return " ".join(
            (
                m.gettext(NOT_DIRECT[problem]).format(speaker=shown),
                m.gettext(PARAPHRASE_HINT).format(speaker=shown, how=how),
            )
        )

    def check_direct(self, speaker_id: str, words: str, text: str, how: str, m: Messages) -> None:
        """Refuse at `words` words that are not the speaker's direct quote, saying why and `how` to record
        them as a paraphrase instead."""
        problem = self.direct_problem(speaker_id, words, text, how, m)
        if problem:
            raise Invalid({"words": problem})

    def fetch_evidence(self, url: str, published: dt.date | None, m: Messages, *, field: str) -> Evidence:
        """The page at `url` as evidence; `published` (the editor's date) when the page gives none."""
        page = self.fetch(url, m, field)
        return self.prepare_evidence(_page_dict(page, published))

    def fetch_link(self, values: dict[str, str], m: Messages, *, published: dt.date | None) -> Evidence:
        """The page at the values' `url`, which must be given, as evidence."""
        url = values.get("url", "")
        if not url:
            raise Invalid({"url": m.gettext("Give the source's link.")})
        return self.fetch_evidence(url, published, m, field="url")

    def fetch(self, url: str, m: Messages, field: str) -> Page:
        """The page at `url`, or Invalid at `field` saying why it could not be fetched."""
        try:
            return self.fetcher.fetch(url)
        except FetchError as error:
            raise Invalid({field: fetch_problem(error, m)}) from None

    def gather_evidence(
        self, values: dict[str, str], m: Messages, said: dt.date | None
    ) -> tuple[Evidence, dict[str, Any]]:
        """The source of a form's quote (fetched or pasted) and its snapshot as the draft keeps it."""
        url, text = values.get("url", ""), values.get("pasted", "")
        if url and text:
            raise Invalid({"pasted": m.gettext("Give a link or paste the text, not both.")})
        if text:
            if len(text) > MAX_PASTED:
                raise Invalid(
                    {
                        "pasted": m.gettext(
                            "Paste at most {n} characters; longer texts go through pledgebot import."
                        ).format(n=MAX_PASTED)
                    }
                )
            page = _page_dict(pasted(text, url=None, clock=self.clock), None)
        elif url:
            page = _page_dict(self.fetch(url, m, "url"), None)
        else:
            raise Invalid({"url": m.gettext("Give the source's link, or paste its text.")})
        return self.prepare_evidence(
            dict(page, published=page.get("published") or (said.isoformat() if said else None))
        ), page

    def check_recorded(self, page: dict[str, Any], m: Messages) -> None:
        """Refuse, field by field, a correction of a source already on record (the same text): the edit
        would reuse the recorded source, so a changed outlet, headline, date or kind would be lost unsaid."""
        known = self.catalogue.source_by_hash(page["sha256"])
        if known is None:
            return
        stored = self.catalogue.source_facts(known)
        given = dict(page, published=(page.get("published") or "")[:10])
        stored["published"] = stored.get("published", "")[:10]
        message = m.gettext(
            "This page is already on record as “{value}”; a recorded source is corrected with "
            "pledgebot import --replace."
        )
        errors = {
            name: message.format(value=stored[name])
            for name in ("outlet", "headline", "published", "kind")
            if stored.get(name) and given.get(name) and given[name] != stored[name]
        }
        if errors:
            raise Invalid(errors)

    def prepare_evidence(self, page: dict[str, Any]) -> Evidence:
        """The source record for a snapshot (None when the catalogue already holds the same text)."""
        sha = page["sha256"]
        known = self.catalogue.source_by_hash(sha)
        published = ds.parse_datetime(page["published"]) if page.get("published") else None
        day = published.date() if isinstance(published, dt.datetime) else published
        if known is not None:
            return Evidence(known, None, page["text"], day, page.get("url") or "")
        source_id = f"{'web' if page.get('url') else 'pasted'}-{sha[:16]}"
        record = {
            "id": source_id,
            "kind": page.get("kind") or ("news report" if page.get("url") else "speech"),
            "outlet": page.get("outlet") or _host(page.get("final_url") or page.get("url") or "") or "—",
            "headline": page.get("headline") or page.get("final_url") or page.get("url") or "—",
            "published_at": page.get("published"),
            "url": page.get("url"),
            "final_url": page.get("final_url"),
            "language": page.get("language"),
            "sha256": sha,
            "fetched_at": page.get("fetched_at"),
        }
        return Evidence(
            source_id, {k: v for k, v in record.items() if v}, page["text"], day, page.get("url") or ""
        )

    def check_pledge(
        self, values: dict[str, str], m: Messages, *, confirmed: str = "", how: str = ""
    ) -> dict[str, Any]:
        """A new pledge's record from the given values (its id free, its speaker known, its category one
        of the catalogue's or the new one the editor `confirmed`; else the refusal says `how` to confirm it,
        so that a typo does not split the meter)."""
        errors = {}
        pledge_id = values.get("id", "").lower()
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,79}", pledge_id):
            errors["id"] = m.gettext(
                "An id is lowercase letters, digits and '-', up to 80 (e.g. build-a-bridge)."
            )
        elif self.catalogue.find_id(pledge_id):
            errors["id"] = m.gettext("There is already a pledge with the id “{id}”.").format(id=pledge_id)
        for name in ("title", "category"):
            if not values.get(name):
                errors[name] = m.gettext("Required.")
        category = values.get("category", "")
        if category and self.catalogue.category(category) is None and category != confirmed:
            errors["category"] = self.new_category(category, how, m)
        speakers = self.catalogue.speakers()
        speaker = values.get("speaker") or (speakers[0] if len(speakers) == 1 else "")
        if speaker not in speakers:
            errors["speaker" if "speaker" in values else "id"] = m.gettext(
                "Name the speaker: one of {ids}."
            ).format(ids=", ".join(speakers))
        if errors:
            raise Invalid(errors)
        pledge: dict[str, Any] = {
            "id": pledge_id,
            "speaker": speaker,
            "title": values["title"],
            "category": self.catalogue.category(values["category"]) or values["category"],
        }
        for name in ("title_ko", "category_ko", "summary"):
            if values.get(name):
                pledge[name] = values[name]
        for name in ("aliases", "aliases_ko"):
            if split_list(values.get(name, "")):
                pledge[name] = split_list(values[name])
        return pledge

    def new_category(self, category: str, how: str, m: Messages) -> str:
        """Why a category not in the catalogue needs confirming, the closest ones, and `how` to confirm."""
        names = [name for name, _ in self.catalogue.categories()]
        message = m.gettext("“{category}” is not a category yet.").format(category=category[:80])
        near = grammar.near_misses(category, names)
        if near:
            message += " " + m.gettext("Did you mean: {ids}?").format(ids=", ".join(near[:3]))
        return message + " " + m.gettext("To start a new category, {how}.").format(how=how)

    def check_milestone_facts(self, values: dict[str, str], m: Messages) -> tuple[str, str, dt.date]:
        """A new milestone's pledge, kind and date, and that it has a title (its link is checked apart)."""
        errors: dict[str, str] = {}
        pledge_id = ""
        try:
            pledge_id = self.find_pledge(values.get("pledge", ""), m)
        except Invalid as error:
            errors.update(error.errors)
        kind = values.get("kind", "")
        if kind not in DESK_MILESTONE_KINDS:
            errors["kind"] = m.gettext("The kind is one of: {kinds}.").format(
                kinds=", ".join(DESK_MILESTONE_KINDS)
            )
        try:
            day = read_date(values.get("date", ""), m, "date")
            if day is None:
                errors["date"] = m.gettext("Give the date as YYYY-MM-DD.")
        except Invalid as error:
            errors.update(error.errors)
            day = None
        if not values.get("title"):
            errors["title"] = m.gettext("Required.")
        if errors:
            raise Invalid(errors)
        assert day is not None
        pledged, first = self.catalogue.pledge_dates(pledge_id)
        start = min((d for d in (pledged, first) if d is not None), default=None)
        if start is not None and day < start:
            raise Invalid(
                {
                    "date": m.gettext("{date} is before the pledge was made ({start}).").format(
                        date=m.date(day), start=m.date(start)
                    )
                }
            )
        return pledge_id, kind, day

    def check_milestone(self, values: dict[str, str], m: Messages) -> tuple[dict[str, Any], Evidence | None]:
        """A new milestone's record (with a fresh id), and its source's evidence when a link is given."""
        pledge_id, kind, day = self.check_milestone_facts(values, m)
        evidence = None
        if values.get("url"):
            evidence = self.fetch_evidence(values["url"], None, m, field="url")
            if evidence.published is None and evidence.record is not None:
                raise Invalid(
                    {"url": m.gettext("The page gives no publication date; link to one that does.")}
                )
        base = f"{pledge_id}-{kind}-{day.isoformat()}"[:76]
        milestone_id, n = base, 1
        while self.catalogue.milestone_exists(milestone_id):
            n += 1
            milestone_id = f"{base}-{n}"
        row = {
            "id": milestone_id,
            "date": day.isoformat(),
            "kind": kind,
            "title": values["title"],
            "pledge": pledge_id,
        }
        if values.get("title_ko"):
            row["title_ko"] = values["title_ko"]
        if evidence is not None:
            row["source"] = evidence.source_id
        return row, evidence


def fetch_problem(error: FetchError, m: Messages) -> str:
    """A friendly line for a page that could not be fetched."""
    return m.gettext(FETCH_PROBLEMS[error.problem]).format(detail=error.detail)


_QUOTE_MARKS = {
    '"': '["“”„‟″]',
    "“": '["“”„‟″]',
    "”": '["“”„‟″]',
    "'": "['‘’‚‛′]",
    "‘": "['‘’‚‛′]",
    "’": "['‘’‚‛′]",
}


def verbatim_span(words: str, text: str) -> str | None:
    """The stretch of `text` that `words` match as `check_quote` compares them (white space and quote marks
    aside), exactly as the text writes it; None when there is none."""
    parts = []
    for token in words.split():
        parts.append("".join(_QUOTE_MARKS.get(c) or re.escape(c) for c in token))
    if not parts:
        return None
    match = re.search(r"\s+".join(parts), text)
    return match[0] if match else None


def read_date(text: str, m: Messages, field: str) -> dt.date | None:
    """The date `text` gives as YYYY-MM-DD (None when empty), or Invalid at `field`."""
    if not text:
        return None
    try:
        return ds.parse_date(text)
    except ValueError:
        raise Invalid(
            {field: m.gettext("'{text}' is not a date in the form YYYY-MM-DD.").format(text=text[:40])}
        ) from None


def split_list(text: str) -> list[str]:
    """The items of a list given as text separated by ';'."""
    return [part.strip() for part in text.split(";") if part.strip()]


def _page_dict(page: Page, published: dt.date | None) -> dict[str, Any]:
    """A page as a draft keeps it; `published` (the editor's date) when the page gives none."""
    when = page.published or published
    return {
        "url": page.url,
        "final_url": page.final_url,
        "fetched_at": page.fetched_at.isoformat() if page.fetched_at else None,
        "text": page.text,
        "sha256": page.sha256,
        "outlet": page.outlet,
        "headline": page.headline,
        "published": when.isoformat() if when else None,
        "language": page.language,
    }


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""
