"""The newsroom desk: editors rate pledges, add quotes, pledges and milestones, and undo, in chat.

Every desk change is one journal edit whose records are in the import format (`bot/loading.py` applies
them like imported records), so the catalogue, other hosts (`Loader.follow`), rebuilds and `pledgebot
export` carry it with nothing else to do. A source is fetched (or pasted) and stored as a snapshot with its
SHA-256, so a quote is accepted only when it is on the page, and can be re-verified later.

Commands with arguments (`rate`, the console's `quote`, `new`, `milestone`) and forms (Slack and Discord
modals, through `Desk.submit`) meet in the same checks (`checks.py`), which name each field that is wrong
and write nothing. The forms are data (`forms.py`): `Desk.submit` looks a submission's step up in their
table. A form's steps keep what was given so far in the state store (`drafts.py`), under a nonce the form
carries; the nonce is also the edit's dedupe key, so a form submitted twice makes one edit.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable
from typing import Any

from bot.catalogue import Catalogue
from bot.desk.checks import Checks, Evidence, Fetcher, Invalid, read_date
from bot.desk.drafts import Drafts
from bot.desk.forms import OPENINGS, STEPS
from bot.i18n import Messages
from bot.journal import DESK_KINDS, Edit, EditKind, Journal, undo_payload
from bot.loading import Loader
from bot.replies import Context, Level, Notice, Reply

MAX_NOTE = 500


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
        # A rating is a milestone too, so its anniversaries come round ("1 year since rated Kept: …"); it
        # keeps the status and the pledge, not a sentence, so that each reader's language names it. The
        # random part keeps two editors' ratings of one day apart.
        milestone = {
            "id": f"{pledge_id[:50]}-rated-{date.isoformat()}-{secrets.token_hex(3)}",
            "date": date.isoformat(),
            "kind": "status change",
            "status": status,
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
        reply = self.saved(edit, title, m)
        if edit[1]:
            # What was recorded, said back: the date (the page's or `on`) and the source it cites.
            facts = self.catalogue.source_facts(evidence.source_id)
            recorded = m.gettext("Dated {date}; source: “{headline}”, {outlet} {url}").format(
                date=m.date(date),
                headline=facts.get("headline", ""),
                outlet=facts.get("outlet", ""),
                url=evidence.url,
            )
            reply.notices.insert(0, Notice(recorded))
        return reply

    def quote(
        self,
        pledge_id: str,
        words: str,
        url: str,
        said_on: dt.date | None,
        paraphrase: bool,
        ctx: Context,
        m: Messages,
        today: dt.date,
    ) -> Reply:
        """Add a quote that is verbatim on the page at `url`, inside quotation marks and attributed to the
        speaker, or (asked for) the page's words as a paraphrase (the console's command form)."""
        try:
            evidence = self.checks.fetch_evidence(url, said_on, m, field="url")
            text = self.checks.match_words(words, evidence.text, m)
            if not paraphrase:
                how = m.gettext("add “{word}” after the link").format(
                    word=m.pgettext("argument", "paraphrase")
                )
                self.checks.check_direct(
                    self.catalogue.speaker_id_of(pledge_id) or "", text, evidence.text, how, m
                )
            said = said_on or evidence.published
            if said is None:
                raise Invalid(
                    {"said_on": m.gettext("The page gives no publication date: add the date it was said.")}
                )
            self.checks.check_date(pledge_id, said, today, m, field="said_on")
        except Invalid as error:
            return _refused(error, m)
        edit = self.append_quote(pledge_id, text, said, evidence, None, ctx, paraphrase=paraphrase)
        return self.saved(edit, _added(paraphrase, m).format(id=pledge_id), m)

    def new_pledge(self, values: dict[str, str], ctx: Context, m: Messages, today: dt.date) -> Reply:
        """Add a pledge with its first quote (the console's `new id key=value …`)."""
        try:
            pledge = self.checks.check_pledge(
                values,
                m,
                confirmed=values["category"] if values.get("new_category") else "",
                how=m.gettext("add new_category=yes"),
            )
            evidence = self.checks.fetch_link(
                values, m, published=read_date(values.get("said_on", ""), m, "said_on")
            )
            text = self.checks.match_words(values.get("words", ""), evidence.text, m)
            if not values.get("paraphrase"):
                how = m.gettext("add paraphrase=yes")
                self.checks.check_direct(pledge["speaker"], text, evidence.text, how, m)
            said = read_date(values.get("said_on", ""), m, "said_on") or evidence.published
            if said is None:
                raise Invalid(
                    {"said_on": m.gettext("The page gives no publication date: add the date it was said.")}
                )
            if said > today:
                raise Invalid({"said_on": m.gettext("That date is in the future.")})
        except Invalid as error:
            return _refused(error, m)
        edit = self.append_pledge(
            pledge, text, said, evidence, None, ctx, paraphrase=bool(values.get("paraphrase"))
        )
        return self.saved(edit, m.gettext("Pledge added: {id}").format(id=pledge["id"]), m)

    def milestone(self, values: dict[str, str], ctx: Context, m: Messages) -> Reply:
        """Add a deadline or a scheduled event to a pledge, with its source when a link is given."""
        try:
            row, evidence = self.checks.check_milestone(values, m)
        except Invalid as error:
            return _refused(error, m)
        edit = self.append_milestone(row, evidence, ctx)
        return self.saved(edit, m.gettext("Milestone added to {id}").format(id=values["pledge"]), m)

    def undo(self, edit_id: int, ctx: Context, m: Messages) -> Reply:
        """Reverse one desk edit as a new edit; the journal keeps both."""
        target = self.journal.get(edit_id)
        if target is None:
            return Reply.error(m.gettext("There is no edit #{id}.").format(id=edit_id))
        if target.kind not in DESK_KINDS:
            return Reply.error(
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
        if name not in OPENINGS:
            raise ValueError(f"no desk form opens at {name!r}")
        return Reply(form=STEPS[name].build(self.catalogue, {"pledge": pledge_id}, secrets.token_hex(8), m))

    def submit(
        self, form: str, state: str, values: dict[str, str], ctx: Context, m: Messages, today: dt.date
    ) -> Reply:
        """Check one step of a desk form: field errors, the next step's form, or the saved edit.

        A blocking call (a step may fetch a page for up to 10 s): adapters run it in a thread."""
        values = {k: (v or "").strip() for k, v in values.items()}
        nonce = state if re.fullmatch(r"[0-9a-f]{16}", state or "") else ""
        if not nonce:
            return Reply.error(m.gettext("This form has expired; open it again."))
        done = self.journal.by_dedupe(f"form:{nonce}")
        if done is not None:
            return Reply(
                notices=[Notice(m.gettext("Already saved as edit #{id}.").format(id=done.id))],
            )
        step = STEPS.get(form)
        if step is None:
            return Reply.error(m.gettext("This form has expired; open it again."))
        try:
            checked = step.check(self, nonce, values, ctx, m, today)
        except Invalid as error:
            return Reply(
                field_errors=error.errors,
                notices=[Notice(m.gettext("Please correct the marked fields."), Level.ERROR)],
            )
        if isinstance(checked, Reply):
            return checked
        then = step.next_step(checked)
        self.drafts.save(nonce, then, checked, self.clock())
        return Reply(form=STEPS[then].build(self.catalogue, checked, nonce, m))

    # -- writing ----------------------------------------------------------------------------------

    def append_quote(
        self,
        pledge_id: str,
        text: str,
        said: dt.date,
        evidence: Evidence,
        original: str | None,
        ctx: Context,
        dedupe: str | None = None,
        *,
        paraphrase: bool = False,
    ) -> tuple[Edit, bool]:
        """Journal a checked quote of a pledge (see `_append` for what it returns)."""
        quote = _quote(pledge_id, text, said, evidence, original, paraphrase)
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

    def append_pledge(
        self,
        pledge: dict[str, Any],
        text: str,
        said: dt.date,
        evidence: Evidence,
        original: str | None,
        ctx: Context,
        dedupe: str | None = None,
        *,
        paraphrase: bool = False,
    ) -> tuple[Edit, bool]:
        """Journal a checked new pledge with its first quote (see `_append` for what it returns)."""
        quote = _quote(pledge["id"], text, said, evidence, original, paraphrase)
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

    def append_milestone(
        self, row: dict[str, Any], evidence: Evidence | None, ctx: Context, dedupe: str | None = None
    ) -> tuple[Edit, bool]:
        """Journal a checked milestone, with its source's evidence if any (see `_append`)."""
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

    def saved(self, appended: tuple[Edit, bool], title: str, m: Messages) -> Reply:
        """The reply to an edit appended: saved, with how to reverse it, or already saved before."""
        edit, fresh = appended
        if not fresh:
            return Reply(notices=[Notice(m.gettext("Already saved as edit #{id}.").format(id=edit.id))])
        return Reply(
            title=title,
            notices=[
                Notice(m.gettext("Saved as edit #{id}. To reverse it: /pledge undo {id}").format(id=edit.id))
            ],
        )


def _quote(
    pledge_id: str, text: str, said: dt.date, evidence: Evidence, original: str | None, paraphrase: bool
) -> dict[str, Any]:
    """A quote's record in the import format; `paraphrase` only when it is one, as files write it."""
    quote: dict[str, Any] = {
        "pledge": pledge_id,
        "text": text,
        "source": evidence.source_id,
        "said_on": said.isoformat(),
    }
    if original:
        quote["translation_of"] = original
    if paraphrase:
        quote["paraphrase"] = True
    return quote


def _added(paraphrase: bool, m: Messages) -> str:
    """The title of a saved quote: "Quote added to {id}", or "Paraphrase added to {id}"."""
    return m.gettext("Paraphrase added to {id}") if paraphrase else m.gettext("Quote added to {id}")


def _source_records(evidence: Evidence) -> list[dict[str, Any]]:
    return [{"table": "sources", "values": evidence.record}] if evidence.record is not None else []


def _texts(evidence: Evidence) -> dict[str, str]:
    return {evidence.source_id: evidence.text} if evidence.record is not None else {}


def _refused(error: Invalid, m: Messages) -> Reply:
    notices = [Notice(text, Level.ERROR) for text in error.errors.values()]
    return Reply(notices=notices, field_errors=error.errors)


def _already_undone(edit_id: int, by: Edit, m: Messages) -> Reply:
    return Reply.error(
        m.gettext("Edit #{id} was already undone by edit #{undo}.").format(id=edit_id, undo=by.id)
    )
