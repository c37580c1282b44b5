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
from typing import Any

from bot import dataset as ds
from bot.catalogue import Catalogue
from bot.desk.checks import (
    DESK_MILESTONE_KINDS,
    MAX_PASTED,
    MAX_WORDS,
    Checks,
    Evidence,
    Fetcher,
    Invalid,
    read_date,
    split_list,
)
from bot.desk.drafts import Drafts
from bot.i18n import N_, Messages
from bot.journal import DESK_KINDS, Edit, EditKind, Journal, undo_payload
from bot.loading import Loader
from bot.reminders.occurrences import KIND_NAMES
from bot.replies import Context, FieldKind, Form, FormField, Level, Notice, Reply

MAX_NOTE = 500
# The translation choice meaning "these are the speaker's own words", not a translation of a source.
ORIGINAL = "original"
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
        self.drafts = drafts
        self.clock = clock
        self.checks = Checks(catalogue, fetcher, clock)

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
            evidence = self.checks.fetch_evidence(url, on, m, field="url")
            date = on or evidence.published
            if date is None:
                raise Invalid(
                    {"on": m.gettext("The page gives no publication date: add on YYYY-MM-DD to say when.")}
                )
            self.checks.check_date(pledge_id, date, today, m, field="on")
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
            evidence = self.checks.fetch_evidence(url, said_on, m, field="url")
            text = self.checks.match_words(words, evidence.text, m)
            said = said_on or evidence.published
            if said is None:
                raise Invalid(
                    {"said_on": m.gettext("The page gives no publication date: add the date it was said.")}
                )
            self.checks.check_date(pledge_id, said, today, m, field="said_on")
        except Invalid as error:
            return _refused(error, m)
        edit = self._append_quote(pledge_id, text, said, evidence, None, ctx)
        return self._saved(edit, m.gettext("Quote added to {id}").format(id=pledge_id), m)

    def new_pledge(self, values: dict[str, str], ctx: Context, m: Messages, today: dt.date) -> Reply:
        """Add a pledge with its first quote (the console's `new id key=value …`)."""
        try:
            pledge = self.checks.check_pledge(values, m)
            evidence = self.checks.fetch_link(
                values, m, published=read_date(values.get("said_on", ""), m, "said_on")
            )
            text = self.checks.match_words(values.get("words", ""), evidence.text, m)
            said = read_date(values.get("said_on", ""), m, "said_on") or evidence.published
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
            row, evidence = self.checks.check_milestone(values, m)
        except Invalid as error:
            return _refused(error, m)
        edit = self._append_milestone(row, evidence, ctx)
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
                row, evidence = self.checks.check_milestone(values, m)
                edit = self._append_milestone(row, evidence, ctx, dedupe=f"form:{nonce}")
                return self._saved(edit, m.gettext("Milestone added to {id}").format(id=values["pledge"]), m)
        except Invalid as error:
            return Reply(
                field_errors=error.errors,
                notices=[Notice(m.gettext("Please correct the marked fields."), Level.ERROR)],
            )
        return _error(m.gettext("This form has expired; open it again."))

    def _quote_step(self, nonce: str, values: dict[str, str], m: Messages, today: dt.date) -> Reply:
        pledge_id = self.checks.find_pledge(values.get("pledge", ""), m)
        said = read_date(values.get("said_on", ""), m, "said_on")
        if said is not None:
            self.checks.check_date(pledge_id, said, today, m, field="said_on")
        evidence, page = self.checks.gather_evidence(values, m, said)
        text = self.checks.match_words(values.get("words", ""), evidence.text, m)
        draft = {
            "pledge": pledge_id,
            "words": text,
            "said_on": said.isoformat() if said else "",
            "page": page,
        }
        self.drafts.save(nonce, "quote:source", draft, self.clock())
        return Reply(form=self._source_form("quote:source", nonce, draft, m))

    def _new_step(self, nonce: str, values: dict[str, str], m: Messages) -> Reply:
        pledge = self.checks.check_pledge(values, m)
        self.drafts.save(nonce, "new:quote", {"new": pledge}, self.clock())
        return Reply(form=self._quote_form("new:quote", nonce, m))

    def _new_quote_step(self, nonce: str, values: dict[str, str], m: Messages, today: dt.date) -> Reply:
        draft = self.drafts.load(nonce)
        if draft is None or "new" not in draft:
            raise Invalid({"words": m.gettext("This form has expired; open it again.")})
        aliases_ko = split_list(values.get("aliases_ko", ""))
        if aliases_ko:
            draft["new"]["aliases_ko"] = aliases_ko
        said = read_date(values.get("said_on", ""), m, "said_on")
        if said is not None and said > today:
            raise Invalid({"said_on": m.gettext("That date is in the future.")})
        evidence, page = self.checks.gather_evidence(values, m, said)
        draft.update(
            words=self.checks.match_words(values.get("words", ""), evidence.text, m),
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
        published = read_date(values.get("published", ""), m, "published")
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
        self.checks.check_recorded(page, m)
        evidence = self.checks.prepare_evidence(page)
        if form == "quote:source":
            self.checks.check_date(draft["pledge"], said, today, m, field="published")
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

    def _append_milestone(
        self, row: dict[str, Any], evidence: Evidence | None, ctx: Context, dedupe: str | None = None
    ) -> tuple[Edit, bool]:
        return self._append(
            EditKind.MILESTONE,
            ctx,
            reason="",
            summary=f"added the {row['kind']} {row['id']} on {row['date']}",
            pledges=[row["pledge"]],
            records=[
                *(_source_records(evidence) if evidence else []),
                {"table": "milestones", "values": row},
            ],
            texts=_texts(evidence) if evidence else {},
            desk={"url": evidence.url if evidence else ""},
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


def _source_records(evidence: Evidence) -> list[dict[str, Any]]:
    return [{"table": "sources", "values": evidence.record}] if evidence.record is not None else []


def _texts(evidence: Evidence) -> dict[str, str]:
    return {evidence.source_id: evidence.text} if evidence.record is not None else {}


def _refused(error: Invalid, m: Messages) -> Reply:
    notices = [Notice(text, Level.ERROR) for text in error.errors.values()]
    return Reply(notices=notices, field_errors=error.errors)


def _error(text: str) -> Reply:
    return Reply(notices=[Notice(text, Level.ERROR)])


def _already_undone(edit_id: int, by: Edit, m: Messages) -> Reply:
    return _error(m.gettext("Edit #{id} was already undone by edit #{undo}.").format(id=edit_id, undo=by.id))
