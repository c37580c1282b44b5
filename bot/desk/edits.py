"""The newsroom desk: editors rate pledges, add quotes, pledges and milestones, and undo, in chat.

Every desk change is one journal edit whose records are in the import format (`bot/loading.py` applies
them like imported records), so the catalogue, other hosts (`Loader.follow`), rebuilds and `pledgebot
export` carry it with nothing else to do. A source is fetched (or pasted) and stored as a snapshot with its
SHA-256, so a quote is accepted only when it is on the page, and can be re-verified later.

Commands with arguments (`rate`, the console's `quote`, `new`, `milestone`) and forms (Slack and Discord
modals, through `Desk.submit`) meet in the same checks, which name each field that is wrong and write
nothing. A form's steps keep what was given so far in the state store (`desk_drafts`), under a nonce the
form carries; the nonce is also the edit's dedupe key, so a form submitted twice makes one edit.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from bot import dataset as ds
from bot.catalogue import Catalogue
from bot.desk.drafts import Drafts
from bot.desk.provenance import FetchError, FetchProblem, Page, check_quote, pasted
from bot.i18n import N_, Messages
from bot.journal import DESK_KINDS, Edit, EditKind, Journal, undo_payload
from bot.loading import Loader
from bot.reminders.occurrences import KIND_NAMES
from bot.replies import Context, FieldKind, Form, FormField, Level, Notice, Reply

# What Slack's multi-line input holds: a pasted source text longer than this goes through `pledgebot import`.
MAX_PASTED = 3000
MAX_WORDS = 3000
MAX_NOTE = 500
# The translation choice meaning "these are the speaker's own words", not a translation of a source.
ORIGINAL = "original"
# The kinds of milestone an editor adds; the others (pledged, election, inauguration) come from the data.
DESK_MILESTONE_KINDS = ("deadline", "event")
# The kinds of source, as the form's choice names them.
SOURCE_KIND_NAMES = {
    "platform document": N_("platform document"),
    "speech": N_("speech"),
    "social media post": N_("social media post"),
    "news report": N_("news report"),
    "official record": N_("official record"),
    "interview": N_("interview"),
    "press release": N_("press release"),
}

# A friendly line for each reason a source could not be fetched.
FETCH_PROBLEMS: dict[FetchProblem, str] = {
    FetchProblem.BAD_URL: N_("Only http:// and https:// links to a web page can be fetched."),
    FetchProblem.REFUSED: N_("That address is not allowed: the bot fetches only public web pages."),
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

_EDITORS = {
    "slack": N_(
        "Only workspace admins and owners, the people in SLACK_EDITORS and the editors list "
        "(/pledge editors) can edit the catalogue."
    ),
    "discord": N_(
        "Only members with the Manage Server permission or the editor role, and the editors list "
        "(/desk editors), can edit the catalogue."
    ),
    "": N_("Only the catalogue's editors can do that."),
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


class Desk:
    """The desk's edits, checked then journalled."""

    def __init__(
        self,
        catalogue: Catalogue,
        loader: Loader,
        journal: Journal,
        fetcher: Fetcher,
        drafts: Drafts,
        clock: Callable[[], dt.datetime],
    ):
        self.catalogue = catalogue
        self.loader = loader
        self.journal = journal
        self.fetcher = fetcher
        self.drafts = drafts
        self.clock = clock

    # -- permission -------------------------------------------------------------------------------

    @staticmethod
    def refusal(ctx: Context, m: Messages) -> Reply | None:
        """The refusal for someone who may not edit (saying who can), or None for an editor."""
        if ctx.can_edit:
            return None
        return Reply(notices=[Notice(m.gettext(_EDITORS.get(ctx.platform, _EDITORS[""])), Level.ERROR)])

    # -- commands ---------------------------------------------------------------------------------

    def rate(
        self,
        pledge_id: str,
        status: str,
        url: str,
        on: dt.date | None,
        note: str,
        ctx: Context,
        m: Messages,
        today: dt.date,
    ) -> Reply:
        """Add a status history entry, dated by the evidence (or `on`), with its fetched source."""
        try:
            evidence = self._fetched(url, on, m, field="url")
            date = on or evidence.published
            if date is None:
                raise Invalid(
                    {"on": m.gettext("The page gives no publication date: add on YYYY-MM-DD to say when.")}
                )
            self._check_date(pledge_id, date, today, m, field="on")
            if len(note) > MAX_NOTE:
                raise Invalid({"note": m.gettext("Keep the note under {n} characters.").format(n=MAX_NOTE)})
        except Invalid as error:
            return _refused(error, m)
        status_values = {
            "pledge": pledge_id,
            "status": status,
            "date": date.isoformat(),
            "source": evidence.source_id,
        }
        if note:
            status_values["note"] = note
        # A rating is a milestone too, so its anniversaries and day counts come round like any other's
        # ("1 year since rated Kept: …"); the random part keeps two editors' ratings of one day apart.
        pledge = self.catalogue.pledges([pledge_id])[pledge_id]
        milestone = {
            "id": f"{pledge_id[:50]}-rated-{date.isoformat()}-{secrets.token_hex(3)}",
            "date": date.isoformat(),
            "kind": "status change",
            "title": f"rated {status[:1].upper()}{status[1:]}: {pledge.title}",
            "pledge": pledge_id,
            "source": evidence.source_id,
        }
        edit = self._append(
            EditKind.RATE,
            ctx,
            reason=note,
            summary=f"rated {pledge_id} {status} on {date.isoformat()}",
            pledges=[pledge_id],
            records=[
                *_source_records(evidence),
                {"table": "statuses", "values": status_values},
                {"table": "milestones", "values": milestone},
            ],
            texts=_texts(evidence),
            desk={"status": status, "date": date.isoformat(), "url": evidence.url},
        )
        label = m.status(status)
        title = m.gettext("Rated {id}: {status}").format(id=pledge_id, status=label[:1].upper() + label[1:])
        return self._saved(edit, title, m)

    def quote(
        self,
        pledge_id: str,
        words: str,
        url: str,
        said_on: dt.date | None,
        ctx: Context,
        m: Messages,
        today: dt.date,
    ) -> Reply:
        """Add a quote that is verbatim on the page at `url` (the console's command form)."""
        try:
            evidence = self._fetched(url, said_on, m, field="url")
            text = self._verbatim(words, evidence.text, m)
            said = said_on or evidence.published
            if said is None:
                raise Invalid(
                    {"said_on": m.gettext("The page gives no publication date: add the date it was said.")}
                )
            self._check_date(pledge_id, said, today, m, field="said_on")
        except Invalid as error:
            return _refused(error, m)
        edit = self._append_quote(pledge_id, text, said, evidence, None, ctx)
        return self._saved(edit, m.gettext("Quote added to {id}").format(id=pledge_id), m)

    def new_pledge(self, values: dict[str, str], ctx: Context, m: Messages, today: dt.date) -> Reply:
        """Add a pledge with its first quote (the console's `new id key=value …`)."""
        try:
            pledge = self._pledge_values(values, m)
            evidence = self._evidence(values, m, published=_date(values.get("said_on", ""), m, "said_on"))
            text = self._verbatim(values.get("words", ""), evidence.text, m)
            said = _date(values.get("said_on", ""), m, "said_on") or evidence.published
            if said is None:
                raise Invalid(
                    {"said_on": m.gettext("The page gives no publication date: add the date it was said.")}
                )
            if said > today:
                raise Invalid({"said_on": m.gettext("That date is in the future.")})
        except Invalid as error:
            return _refused(error, m)
        edit = self._append_pledge(pledge, text, said, evidence, None, ctx)
        return self._saved(edit, m.gettext("Pledge added: {id}").format(id=pledge["id"]), m)

    def milestone(self, values: dict[str, str], ctx: Context, m: Messages) -> Reply:
        """Add a deadline or a scheduled event to a pledge, with its source when a link is given."""
        try:
            edit = self._milestone(values, ctx, m)
        except Invalid as error:
            return _refused(error, m)
        return self._saved(edit, m.gettext("Milestone added to {id}").format(id=values["pledge"]), m)

    def undo(self, edit_id: int, ctx: Context, m: Messages) -> Reply:
        """Reverse one desk edit as a new edit; the journal keeps both."""
        target = self.journal.get(edit_id)
        if target is None:
            return _error(m.gettext("There is no edit #{id}.").format(id=edit_id))
        if target.kind not in DESK_KINDS:
            return _error(
                m.gettext(
                    "Edit #{id} is not a desk edit (a rating, quote, pledge or milestone), so it cannot be "
                    "undone here."
                ).format(id=edit_id)
            )
        undone = self.undone_by(edit_id)
        if undone is not None:
            return _already_undone(edit_id, undone, m)
        undone, fresh = self._append(
            EditKind.UNDO,
            ctx,
            reason="",
            summary=f"undid #{edit_id}: {target.summary}",
            pledges=target.pledge_ids,
            records=None,
            texts=None,
            desk=None,
            payload=undo_payload(edit_id),
            dedupe=f"undo:{edit_id}",
        )
        if not fresh:
            # Another editor undid it between the check and this append.
            return _already_undone(edit_id, undone, m)
        return Reply(
            title=m.gettext("Undone: #{id}").format(id=edit_id),
            notices=[
                Notice(
                    m.gettext(
                        "Edit #{id} ({summary}) is reversed by edit #{undo}; the history keeps both."
                    ).format(id=edit_id, summary=target.summary, undo=undone.id)
                )
            ],
        )

    def undone_by(self, edit_id: int) -> Edit | None:
        """The edit that undid `edit_id`, or None."""
        return self.journal.by_dedupe(f"undo:{edit_id}")

    # -- forms ------------------------------------------------------------------------------------

    def form(self, name: str, m: Messages, pledge_id: str = "") -> Reply:
        """The first step of a desk form, with a fresh nonce as its state."""
        nonce = secrets.token_hex(8)
        if name == "quote":
            return Reply(form=self._quote_form("quote", nonce, m, pledge_id))
        if name == "new":
            return Reply(
                form=Form(
                    "new",
                    m.gettext("New pledge (1 of 3)"),
                    (
                        FormField(
                            "id",
                            m.gettext("Pledge id"),
                            hint=m.gettext("e.g. inter-korean-hotline"),
                            max_length=80,
                        ),
                        FormField("title", m.gettext("Title"), max_length=200),
                        FormField("category", m.gettext("Category"), max_length=80),
                        FormField(
                            "summary", m.gettext("Summary"), FieldKind.LONG, required=False, max_length=1000
                        ),
                        FormField(
                            "aliases",
                            m.gettext("Aliases (English, separated by ;)"),
                            required=False,
                            max_length=300,
                        ),
                    ),
                    m.gettext("Next"),
                    nonce,
                )
            )
        kinds = tuple((kind, m.gettext(KIND_NAMES[kind])) for kind in DESK_MILESTONE_KINDS)
        return Reply(
            form=Form(
                "milestone",
                m.gettext("New milestone"),
                (
                    FormField("pledge", m.gettext("Pledge id"), value=pledge_id, max_length=80),
                    FormField("kind", m.gettext("Kind"), FieldKind.CHOICE, choices=kinds, value="deadline"),
                    FormField("date", m.gettext("Date"), FieldKind.DATE, hint="YYYY-MM-DD"),
                    FormField("title", m.gettext("Title"), max_length=200),
                    FormField("url", m.gettext("Source link"), FieldKind.URL, required=False),
                ),
                m.gettext("Save"),
                nonce,
            )
        )

    def _quote_form(self, name: str, nonce: str, m: Messages, pledge_id: str = "") -> Form:
        first = name == "quote"
        fields = (
            FormField("pledge", m.gettext("Pledge id"), value=pledge_id, max_length=80)
            if first
            else FormField(
                "aliases_ko", m.gettext("Aliases (Korean, separated by ;)"), required=False, max_length=300
            ),
            FormField("words", m.gettext("The exact words"), FieldKind.LONG, max_length=MAX_WORDS),
            FormField(
                "url",
                m.gettext("Source link"),
                FieldKind.URL,
                required=False,
                hint=m.gettext("Or paste the source's text below (print, broadcast, a press conference)."),
            ),
            FormField(
                "pasted",
                m.gettext("Source text, pasted"),
                FieldKind.LONG,
                required=False,
                max_length=MAX_PASTED,
            ),
            FormField(
                "said_on",
                m.gettext("Date said"),
                FieldKind.DATE,
                required=False,
                hint=m.gettext("YYYY-MM-DD; the source's publication date when empty"),
            ),
        )
        title = m.gettext("Add a quote") if first else m.gettext("New pledge (2 of 3): first quote")
        return Form(name, title, fields, m.gettext("Check the source"), nonce)

    def _source_form(self, name: str, nonce: str, draft: dict[str, Any], m: Messages) -> Form:
        page = draft["page"]
        # A page whose text is already on record is that source: the form shows it as recorded.
        known = self.catalogue.source_by_hash(page["sha256"]) if page.get("sha256") else None
        if known is not None:
            page = dict(page, **self.catalogue.source_facts(known))
        kinds = tuple((kind, m.gettext(SOURCE_KIND_NAMES[kind])) for kind in ds.SOURCE_KINDS)
        # Select menus need a non-empty value for every option (Slack and Discord alike).
        originals = [(ORIGINAL, m.gettext("The original words"))]
        pledge = draft.get("pledge")
        if pledge:
            originals += [(sid, headline) for sid, headline in self.catalogue.pledge_sources(pledge)]
        return Form(
            name,
            m.gettext("Confirm the source"),
            (
                FormField("outlet", m.gettext("Outlet"), value=page.get("outlet") or "", max_length=200),
                FormField(
                    "headline", m.gettext("Headline"), value=page.get("headline") or "", max_length=300
                ),
                FormField(
                    "published",
                    m.gettext("Published on"),
                    FieldKind.DATE,
                    value=(page.get("published") or "")[:10],
                    hint=m.gettext("YYYY-MM-DD; the page gave none, so say when it was published")
                    if not page.get("published")
                    else "",
                ),
                FormField(
                    "kind",
                    m.gettext("Kind of source"),
                    FieldKind.CHOICE,
                    choices=kinds,
                    value=page.get("kind") or ("news report" if page.get("url") else "speech"),
                ),
                FormField(
                    "translation_of",
                    m.gettext("These words translate"),
                    FieldKind.CHOICE,
                    required=False,
                    choices=tuple(originals[:25]),
                    value=ORIGINAL,
                ),
            ),
            m.gettext("Save"),
            nonce,
        )

    def submit(
        self, form: str, state: str, values: dict[str, str], ctx: Context, m: Messages, today: dt.date
    ) -> Reply:
        """Check one step of a desk form: field errors, the next step's form, or the saved edit.

        A blocking call (a step may fetch a page for up to 10 s): adapters run it in a thread."""
        values = {k: (v or "").strip() for k, v in values.items()}
        nonce = state if re.fullmatch(r"[0-9a-f]{16}", state or "") else ""
        if not nonce:
            return _error(m.gettext("This form has expired; open it again."))
        done = self.journal.by_dedupe(f"form:{nonce}")
        if done is not None:
            return Reply(
                notices=[Notice(m.gettext("Already saved as edit #{id}.").format(id=done.id))],
            )
        try:
            if form == "quote":
                return self._quote_step(nonce, values, m, today)
            if form == "new":
                return self._new_step(nonce, values, m)
            if form == "new:quote":
                return self._new_quote_step(nonce, values, m, today)
            if form in ("quote:source", "new:source"):
                return self._source_step(form, nonce, values, ctx, m, today)
            if form == "milestone":
                edit = self._milestone(values, ctx, m, dedupe=f"form:{nonce}")
                return self._saved(edit, m.gettext("Milestone added to {id}").format(id=values["pledge"]), m)
        except Invalid as error:
            return Reply(
                field_errors=error.errors,
                notices=[Notice(m.gettext("Please correct the marked fields."), Level.ERROR)],
            )
        return _error(m.gettext("This form has expired; open it again."))

    def _quote_step(self, nonce: str, values: dict[str, str], m: Messages, today: dt.date) -> Reply:
        pledge_id = self._known_pledge(values.get("pledge", ""), m)
        said = _date(values.get("said_on", ""), m, "said_on")
        if said is not None:
            self._check_date(pledge_id, said, today, m, field="said_on")
        evidence, page = self._draft_evidence(values, m, said)
        text = self._verbatim(values.get("words", ""), evidence.text, m)
        draft = {
            "pledge": pledge_id,
            "words": text,
            "said_on": said.isoformat() if said else "",
            "page": page,
        }
        self.drafts.save(nonce, "quote:source", draft, self.clock())
        return Reply(form=self._source_form("quote:source", nonce, draft, m))

    def _new_step(self, nonce: str, values: dict[str, str], m: Messages) -> Reply:
        pledge = self._pledge_values(values, m)
        self.drafts.save(nonce, "new:quote", {"new": pledge}, self.clock())
        return Reply(form=self._quote_form("new:quote", nonce, m))

    def _new_quote_step(self, nonce: str, values: dict[str, str], m: Messages, today: dt.date) -> Reply:
        draft = self.drafts.load(nonce)
        if draft is None or "new" not in draft:
            raise Invalid({"words": m.gettext("This form has expired; open it again.")})
        aliases_ko = _list(values.get("aliases_ko", ""))
        if aliases_ko:
            draft["new"]["aliases_ko"] = aliases_ko
        said = _date(values.get("said_on", ""), m, "said_on")
        if said is not None and said > today:
            raise Invalid({"said_on": m.gettext("That date is in the future.")})
        evidence, page = self._draft_evidence(values, m, said)
        draft.update(
            words=self._verbatim(values.get("words", ""), evidence.text, m),
            said_on=said.isoformat() if said else "",
            page=page,
        )
        self.drafts.save(nonce, "new:source", draft, self.clock())
        return Reply(form=self._source_form("new:source", nonce, draft, m))

    def _source_step(
        self, form: str, nonce: str, values: dict[str, str], ctx: Context, m: Messages, today: dt.date
    ) -> Reply:
        draft = self.drafts.load(nonce)
        if draft is None or "page" not in draft:
            raise Invalid({"outlet": m.gettext("This form has expired; open it again.")})
        errors = {}
        for name in ("outlet", "headline"):
            if not values.get(name):
                errors[name] = m.gettext("Required.")
        published = _date(values.get("published", ""), m, "published")
        if published is None:
            errors["published"] = m.gettext("Say when the source was published, as YYYY-MM-DD.")
        elif published > today:
            errors["published"] = m.gettext("That date is in the future.")
        kind = values.get("kind") or "news report"
        if kind not in ds.SOURCE_KINDS:
            errors["kind"] = m.gettext("Choose one of the kinds listed.")
        original = values.get("translation_of") or ORIGINAL
        original = None if original == ORIGINAL else original
        if original and not self.catalogue.source_exists(original):
            errors["translation_of"] = m.gettext("Choose one of the sources listed.")
        if errors:
            raise Invalid(errors)
        assert published is not None
        said = dt.date.fromisoformat(draft["said_on"]) if draft.get("said_on") else published
        if said > published:
            raise Invalid(
                {
                    "published": m.gettext("The words were said on {date}, after this date.").format(
                        date=m.date(said)
                    )
                }
            )
        page = dict(
            draft["page"],
            outlet=values["outlet"],
            headline=values["headline"],
            published=published.isoformat(),
            kind=kind,
        )
        self._check_recorded(page, m)
        evidence = self._evidence_of(page)
        if form == "quote:source":
            self._check_date(draft["pledge"], said, today, m, field="published")
            edit = self._append_quote(
                draft["pledge"], draft["words"], said, evidence, original, ctx, dedupe=f"form:{nonce}"
            )
            self.drafts.discard(nonce)
            return self._saved(edit, m.gettext("Quote added to {id}").format(id=draft["pledge"]), m)
        if self.catalogue.find_id(draft["new"]["id"]):
            raise Invalid(
                {
                    "outlet": m.gettext("A pledge with the id “{id}” was added meanwhile.").format(
                        id=draft["new"]["id"]
                    )
                }
            )
        edit = self._append_pledge(
            draft["new"], draft["words"], said, evidence, original, ctx, dedupe=f"form:{nonce}"
        )
        self.drafts.discard(nonce)
        return self._saved(edit, m.gettext("Pledge added: {id}").format(id=draft["new"]["id"]), m)

    # -- checks -----------------------------------------------------------------------------------

    def _known_pledge(self, text: str, m: Messages, field: str = "pledge") -> str:
        pledge_id = self.catalogue.find_id(text) if text else None
        if pledge_id is None:
            message = m.gettext("There is no pledge with the id “{id}”.").format(id=text[:60])
            near = self.catalogue.closest_ids(text) if text else []
            if near:
                message += " " + m.gettext("Did you mean: {ids}?").format(ids=", ".join(near))
            raise Invalid({field: message})
        return pledge_id

    def _check_date(self, pledge_id: str, date: dt.date, today: dt.date, m: Messages, *, field: str) -> None:
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

    def _verbatim(self, words: str, text: str, m: Messages) -> str:
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

    def _fetched(self, url: str, published: dt.date | None, m: Messages, *, field: str) -> Evidence:
        page = self._fetch(url, m, field)
        return self._evidence_of(_page_dict(page, published))

    def _fetch(self, url: str, m: Messages, field: str) -> Page:
        try:
            return self.fetcher.fetch(url)
        except FetchError as error:
            raise Invalid({field: fetch_problem(error, m)}) from None

    def _draft_evidence(
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
            page = _page_dict(self._fetch(url, m, "url"), None)
        else:
            raise Invalid({"url": m.gettext("Give the source's link, or paste its text.")})
        return self._evidence_of(
            dict(page, published=page.get("published") or (said.isoformat() if said else None))
        ), page

    def _evidence(self, values: dict[str, str], m: Messages, *, published: dt.date | None) -> Evidence:
        url = values.get("url", "")
        if not url:
            raise Invalid({"url": m.gettext("Give the source's link.")})
        return self._fetched(url, published, m, field="url")

    def _check_recorded(self, page: dict[str, Any], m: Messages) -> None:
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

    def _evidence_of(self, page: dict[str, Any]) -> Evidence:
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

    def _pledge_values(self, values: dict[str, str], m: Messages) -> dict[str, Any]:
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
            if _list(values.get(name, "")):
                pledge[name] = _list(values[name])
        return pledge

    def _milestone(
        self, values: dict[str, str], ctx: Context, m: Messages, dedupe: str | None = None
    ) -> tuple[Edit, bool]:
        errors: dict[str, str] = {}
        pledge_id = ""
        try:
            pledge_id = self._known_pledge(values.get("pledge", ""), m)
        except Invalid as error:
            errors.update(error.errors)
        kind = values.get("kind", "")
        if kind not in DESK_MILESTONE_KINDS:
            errors["kind"] = m.gettext("The kind is one of: {kinds}.").format(
                kinds=", ".join(DESK_MILESTONE_KINDS)
            )
        try:
            day = _date(values.get("date", ""), m, "date")
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
        evidence = None
        if values.get("url"):
            evidence = self._fetched(values["url"], None, m, field="url")
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
        if evidence is not None:
            row["source"] = evidence.source_id
        return self._append(
            EditKind.MILESTONE,
            ctx,
            reason="",
            summary=f"added the {kind} {milestone_id} on {day.isoformat()}",
            pledges=[pledge_id],
            records=[
                *(_source_records(evidence) if evidence else []),
                {"table": "milestones", "values": row},
            ],
            texts=_texts(evidence) if evidence else {},
            desk={"url": evidence.url if evidence else ""},
            dedupe=dedupe,
        )

    # -- writing ----------------------------------------------------------------------------------

    def _append_quote(
        self,
        pledge_id: str,
        text: str,
        said: dt.date,
        evidence: Evidence,
        original: str | None,
        ctx: Context,
        dedupe: str | None = None,
    ) -> tuple[Edit, bool]:
        quote = {"pledge": pledge_id, "text": text, "source": evidence.source_id, "said_on": said.isoformat()}
        if original:
            quote["translation_of"] = original
        return self._append(
            EditKind.QUOTE,
            ctx,
            reason="",
            summary=f"added a quote to {pledge_id}, said on {said.isoformat()}",
            pledges=[pledge_id],
            records=[*_source_records(evidence), {"table": "quotes", "values": quote}],
            texts=_texts(evidence),
            desk={"url": evidence.url, "words": text},
            dedupe=dedupe,
        )

    def _append_pledge(
        self,
        pledge: dict[str, Any],
        text: str,
        said: dt.date,
        evidence: Evidence,
        original: str | None,
        ctx: Context,
        dedupe: str | None = None,
    ) -> tuple[Edit, bool]:
        quote = {
            "pledge": pledge["id"],
            "text": text,
            "source": evidence.source_id,
            "said_on": said.isoformat(),
        }
        if original:
            quote["translation_of"] = original
        return self._append(
            EditKind.PLEDGE,
            ctx,
            reason="",
            summary=f"added the pledge {pledge['id']}",
            pledges=[pledge["id"]],
            records=[
                *_source_records(evidence),
                {"table": "pledges", "values": dict(pledge, pledged_on=said.isoformat())},
                {"table": "quotes", "values": quote},
            ],
            texts=_texts(evidence),
            desk={"url": evidence.url, "words": text},
            dedupe=dedupe,
        )

    def _append(
        self,
        kind: EditKind,
        ctx: Context,
        *,
        reason: str,
        summary: str,
        pledges: list[str],
        records: list[dict[str, Any]] | None,
        texts: dict[str, str] | None,
        desk: dict[str, Any] | None,
        payload: dict[str, Any] | None = None,
        dedupe: str | None = None,
    ) -> tuple[Edit, bool]:
        """Journal one edit and apply it here at once (other hosts follow the journal), and True; or the
        edit already journalled under `dedupe` and False when this is a repeat."""
        if payload is None:
            payload = {"records": records, "texts": texts, "desk": desk}
        edit = self.journal.append(
            kind,
            author=ctx.user or ctx.platform,
            reason=reason,
            summary=summary,
            pledges=pledges,
            payload=payload,
            # In UTC, so that a day's edits are found by the date their time begins with (`desk_between`).
            at=self.clock().astimezone(dt.UTC),
            dedupe=dedupe,
        )
        if edit is None:
            found = self.journal.by_dedupe(dedupe or "")
            assert found is not None  # only an append with a dedupe key can be a repeat
            return found, False
        self.loader.follow()
        return edit, True

    def _saved(self, appended: tuple[Edit, bool], title: str, m: Messages) -> Reply:
        edit, fresh = appended
        if not fresh:
            return Reply(notices=[Notice(m.gettext("Already saved as edit #{id}.").format(id=edit.id))])
        return Reply(
            title=title,
            notices=[
                Notice(m.gettext("Saved as edit #{id}. To reverse it: /pledge undo {id}").format(id=edit.id))
            ],
        )


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


def _source_records(evidence: Evidence) -> list[dict[str, Any]]:
    return [{"table": "sources", "values": evidence.record}] if evidence.record is not None else []


def _texts(evidence: Evidence) -> dict[str, str]:
    return {evidence.source_id: evidence.text} if evidence.record is not None else {}


def _date(text: str, m: Messages, field: str) -> dt.date | None:
    if not text:
        return None
    try:
        return ds.parse_date(text)
    except ValueError:
        raise Invalid(
            {field: m.gettext("'{text}' is not a date in the form YYYY-MM-DD.").format(text=text[:40])}
        ) from None


def _list(text: str) -> list[str]:
    return [part.strip() for part in text.split(";") if part.strip()]


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""


def _refused(error: Invalid, m: Messages) -> Reply:
    notices = [Notice(text, Level.ERROR) for text in error.errors.values()]
    return Reply(notices=notices, field_errors=error.errors)


def _error(text: str) -> Reply:
    return Reply(notices=[Notice(text, Level.ERROR)])


def _already_undone(edit_id: int, by: Edit, m: Messages) -> Reply:
    return _error(m.gettext("Edit #{id} was already undone by edit #{undo}.").format(id=edit_id, undo=by.id))
