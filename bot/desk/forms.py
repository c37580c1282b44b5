"""The desk's forms as data: each step of a form is a list of typed fields and the check of its submission.

`STEPS` is the wizard, a table from the form id a step's `Form` carries (Slack keeps it in callback_id,
Discord in custom_id, so these ids are wire format) to that step. A command opens a form at one of the
`OPENINGS`; a step's check either returns the draft kept so far, and `Desk.submit` keeps it and shows the
step named by `then`, or saves the edit and returns its reply. A form has at most five fields (Discord's
modal limit), which is why adding a quote or a pledge takes more than one step.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot import dataset as ds
from bot.catalogue import Catalogue
from bot.desk.checks import (
    DESK_MILESTONE_KINDS,
    MAX_PASTED,
    MAX_WORDS,
    Evidence,
    Invalid,
    read_date,
    split_list,
)
from bot.i18n import N_, Messages
from bot.reminders.occurrences import KIND_NAMES
from bot.replies import Context, FieldKind, Form, FormField, Reply

if TYPE_CHECKING:
    from bot.desk.edits import Desk

# The choice that records words which are not a direct quote as reported speech.
PARAPHRASE = "paraphrase"
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

# A step's fields for the reader's language and the draft so far (at an opening, the pledge it opens on).
Fields = Callable[[Catalogue, dict[str, Any], Messages], tuple[FormField, ...]]
# A step's check of a submission (desk, nonce, values, ctx, m, today): the draft to keep for the next step,
# or the saved edit's reply at the last; Invalid names each field that is wrong.
Check = Callable[["Desk", str, dict[str, str], Context, Messages, dt.date], "dict[str, Any] | Reply"]


@dataclass(frozen=True)
class Step:
    """One step of a desk form: its id on the wire, title, fields, submit label and check."""

    form: str
    title: str  # a msgid, like `submit`
    fields: Fields
    submit: str
    check: Check
    # The step a checked submission goes on to, with the draft its check returned; "" at the last step.
    then: str = ""
    # The step shown instead of `then` when the check found the words are not a direct quote (the draft's
    # `unquoted` says why): it asks whether to record them as a paraphrase.
    detour: str = ""

    def next_step(self, draft: dict[str, Any]) -> str:
        """The step a checked submission with this draft goes on to."""
        return self.detour if self.detour and draft.get("unquoted") else self.then

    def build(self, catalogue: Catalogue, draft: dict[str, Any], nonce: str, m: Messages) -> Form:
        """This step's form in the reader's language, filled from the draft, carrying the nonce."""
        fields = self.fields(catalogue, draft, m)
        return Form(self.form, m.gettext(self.title), fields, m.gettext(self.submit), nonce)


# -- fields ---------------------------------------------------------------------------------------


def _pledge_fields(catalogue: Catalogue, draft: dict[str, Any], m: Messages) -> tuple[FormField, ...]:
    return (
        FormField("id", m.gettext("Pledge id"), hint=m.gettext("e.g. inter-korean-hotline"), max_length=80),
        FormField("title", m.gettext("Title"), max_length=200),
        FormField("category", m.gettext("Category"), max_length=80),
        FormField("summary", m.gettext("Summary"), FieldKind.LONG, required=False, max_length=1000),
        FormField("aliases", m.gettext("Aliases (English, separated by ;)"), required=False, max_length=300),
    )


def _quote_fields(catalogue: Catalogue, draft: dict[str, Any], m: Messages) -> tuple[FormField, ...]:
    pledge = FormField("pledge", m.gettext("Pledge id"), value=draft.get("pledge", ""), max_length=80)
    return (pledge, *_words_fields(m))


def _first_quote_fields(catalogue: Catalogue, draft: dict[str, Any], m: Messages) -> tuple[FormField, ...]:
    # The new pledge's Korean aliases ride here: its first step is full.
    aliases_ko = FormField(
        "aliases_ko", m.gettext("Aliases (Korean, separated by ;)"), required=False, max_length=300
    )
    return (aliases_ko, *_words_fields(m))


def _words_fields(m: Messages) -> tuple[FormField, ...]:
    """A quote's words, its source (a link or a pasted text) and the date it was said."""
    return (
        FormField("words", m.gettext("The exact words"), FieldKind.LONG, max_length=MAX_WORDS),
        FormField(
            "url",
            m.gettext("Source link"),
            FieldKind.URL,
            required=False,
            hint=m.gettext("Or paste the source's text below (print, broadcast, a press conference)."),
        ),
        FormField(
            "pasted", m.gettext("Source text, pasted"), FieldKind.LONG, required=False, max_length=MAX_PASTED
        ),
        FormField(
            "said_on",
            m.gettext("Date said"),
            FieldKind.DATE,
            required=False,
            hint=m.gettext("YYYY-MM-DD; the source's publication date when empty"),
        ),
    )


def _source_fields(catalogue: Catalogue, draft: dict[str, Any], m: Messages) -> tuple[FormField, ...]:
    page = draft["page"]
    # A page whose text is already on record is that source: the form shows it as recorded.
    known = catalogue.source_by_hash(page["sha256"]) if page.get("sha256") else None
    if known is not None:
        page = dict(page, **catalogue.source_facts(known))
    kinds = tuple((kind, m.gettext(SOURCE_KIND_NAMES[kind])) for kind in ds.SOURCE_KINDS)
    # Select menus need a non-empty value for every option (Slack and Discord alike).
    originals = [(ORIGINAL, m.gettext("The original words"))]
    pledge = draft.get("pledge")
    if pledge:
        originals += [(sid, headline) for sid, headline in catalogue.pledge_sources(pledge)]
    return (
        FormField("outlet", m.gettext("Outlet"), value=page.get("outlet") or "", max_length=200),
        FormField("headline", m.gettext("Headline"), value=page.get("headline") or "", max_length=300),
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
    )


def _paraphrase_fields(catalogue: Catalogue, draft: dict[str, Any], m: Messages) -> tuple[FormField, ...]:
    # Discord's modals show no hint beside a choice, so the reason is a field of its own, filled in.
    return (
        FormField(
            "reason",
            m.gettext("Why these are not a direct quote"),
            FieldKind.LONG,
            required=False,
            value=draft.get("unquoted", ""),
            max_length=1000,
        ),
        FormField(
            "record_as",
            m.gettext("Record the words as"),
            FieldKind.CHOICE,
            choices=((PARAPHRASE, m.gettext("A paraphrase (reported speech)")),),
            value=PARAPHRASE,
        ),
    )


def _milestone_fields(catalogue: Catalogue, draft: dict[str, Any], m: Messages) -> tuple[FormField, ...]:
    kinds = tuple((kind, m.gettext(KIND_NAMES[kind])) for kind in DESK_MILESTONE_KINDS)
    # The Korean title fills the fifth field, so the source link has a step of its own.
    return (
        FormField("pledge", m.gettext("Pledge id"), value=draft.get("pledge", ""), max_length=80),
        FormField("kind", m.gettext("Kind"), FieldKind.CHOICE, choices=kinds, value="deadline"),
        FormField("date", m.gettext("Date"), FieldKind.DATE, hint="YYYY-MM-DD"),
        FormField("title", m.gettext("Title"), max_length=200),
        FormField(
            "title_ko",
            m.gettext("Korean title"),
            required=False,
            hint=m.gettext("Without it, Korean readers see the English title, marked as such."),
            max_length=200,
        ),
    )


def _milestone_source_fields(
    catalogue: Catalogue, draft: dict[str, Any], m: Messages
) -> tuple[FormField, ...]:
    return (FormField("url", m.gettext("Source link"), FieldKind.URL, required=False),)


# -- checks ---------------------------------------------------------------------------------------


def _check_quote(
    desk: Desk, nonce: str, values: dict[str, str], ctx: Context, m: Messages, today: dt.date
) -> dict[str, Any]:
    """The pledge, the words on the fetched or pasted source, and the date said (the draft so far)."""
    pledge_id = desk.checks.find_pledge(values.get("pledge", ""), m)
    said = read_date(values.get("said_on", ""), m, "said_on")
    if said is not None:
        desk.checks.check_date(pledge_id, said, today, m, field="said_on")
    evidence, page = desk.checks.gather_evidence(values, m, said)
    text = desk.checks.match_words(values.get("words", ""), evidence.text, m)
    return {
        "pledge": pledge_id,
        "words": text,
        "said_on": said.isoformat() if said else "",
        "page": page,
        "unquoted": _unquoted(desk, desk.catalogue.speaker_id_of(pledge_id) or "", text, evidence, m),
    }


def _unquoted(desk: Desk, speaker_id: str, words: str, evidence: Evidence, m: Messages) -> str:
    """Why the words are not the speaker's direct quote ("" when they are), for the paraphrase step."""
    how = m.gettext("choose it below, or close the form")
    return desk.checks.direct_problem(speaker_id, words, evidence.text, how, m)


def _check_paraphrase(
    desk: Desk, nonce: str, values: dict[str, str], ctx: Context, m: Messages, today: dt.date
) -> dict[str, Any]:
    """The editor's choice to record words that are not a direct quote as a paraphrase."""
    draft = desk.drafts.load(nonce)
    if draft is None or not draft.get("unquoted"):
        raise Invalid({"record_as": m.gettext("This form has expired; open it again.")})
    if values.get("record_as") != PARAPHRASE:
        raise Invalid({"record_as": m.gettext("Choose one of the options listed.")})
    draft.update(unquoted="", paraphrase=True)
    return draft


def _check_pledge(
    desk: Desk, nonce: str, values: dict[str, str], ctx: Context, m: Messages, today: dt.date
) -> dict[str, Any]:
    """The new pledge's record (the draft so far). A category not in the catalogue is refused once, then
    taken when the form comes back with it unchanged: the editor has confirmed it."""
    confirmed = (desk.drafts.load(nonce) or {}).get("new_category", "")
    how = m.gettext("send the form again as it is")
    try:
        return {"new": desk.checks.check_pledge(values, m, confirmed=confirmed, how=how)}
    except Invalid as error:
        if "category" in error.errors and values.get("category"):
            desk.drafts.save(nonce, "new", {"new_category": values["category"]}, desk.clock())
        raise


def _check_first_quote(
    desk: Desk, nonce: str, values: dict[str, str], ctx: Context, m: Messages, today: dt.date
) -> dict[str, Any]:
    """The new pledge's Korean aliases, and its first quote's words on their source and date said."""
    draft = desk.drafts.load(nonce)
    if draft is None or "new" not in draft:
        raise Invalid({"words": m.gettext("This form has expired; open it again.")})
    aliases_ko = split_list(values.get("aliases_ko", ""))
    if aliases_ko:
        draft["new"]["aliases_ko"] = aliases_ko
    said = read_date(values.get("said_on", ""), m, "said_on")
    if said is not None and said > today:
        raise Invalid({"said_on": m.gettext("That date is in the future.")})
    evidence, page = desk.checks.gather_evidence(values, m, said)
    words = desk.checks.match_words(values.get("words", ""), evidence.text, m)
    draft.update(
        words=words,
        said_on=said.isoformat() if said else "",
        page=page,
        unquoted=_unquoted(desk, draft["new"]["speaker"], words, evidence, m),
    )
    return draft


def _save_quote(
    desk: Desk, nonce: str, values: dict[str, str], ctx: Context, m: Messages, today: dt.date
) -> Reply:
    """Add the drafted quote with its confirmed source."""
    draft, said, evidence, original = _confirm_source(desk, nonce, values, m, today)
    desk.checks.check_date(draft["pledge"], said, today, m, field="published")
    paraphrase = bool(draft.get("paraphrase"))
    edit = desk.append_quote(
        draft["pledge"],
        draft["words"],
        said,
        evidence,
        original,
        ctx,
        dedupe=f"form:{nonce}",
        paraphrase=paraphrase,
    )
    desk.drafts.discard(nonce)
    title = m.gettext("Paraphrase added to {id}") if paraphrase else m.gettext("Quote added to {id}")
    return desk.saved(edit, title.format(id=draft["pledge"]), m)


def _save_pledge(
    desk: Desk, nonce: str, values: dict[str, str], ctx: Context, m: Messages, today: dt.date
) -> Reply:
    """Add the drafted pledge with its first quote and its confirmed source."""
    draft, said, evidence, original = _confirm_source(desk, nonce, values, m, today)
    if desk.catalogue.find_id(draft["new"]["id"]):
        raise Invalid(
            {
                "outlet": m.gettext("A pledge with the id “{id}” was added meanwhile.").format(
                    id=draft["new"]["id"]
                )
            }
        )
    edit = desk.append_pledge(
        draft["new"],
        draft["words"],
        said,
        evidence,
        original,
        ctx,
        dedupe=f"form:{nonce}",
        paraphrase=bool(draft.get("paraphrase")),
    )
    desk.drafts.discard(nonce)
    return desk.saved(edit, m.gettext("Pledge added: {id}").format(id=draft["new"]["id"]), m)


def _confirm_source(
    desk: Desk, nonce: str, values: dict[str, str], m: Messages, today: dt.date
) -> tuple[dict[str, Any], dt.date, Evidence, str | None]:
    """The draft, the date said, the source as confirmed and the source the words translate (or None)."""
    draft = desk.drafts.load(nonce)
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
    chosen = values.get("translation_of") or ORIGINAL
    original = None if chosen == ORIGINAL else chosen
    if original and not desk.catalogue.source_exists(original):
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
    desk.checks.check_recorded(page, m)
    return draft, said, desk.checks.prepare_evidence(page), original


def _check_milestone(
    desk: Desk, nonce: str, values: dict[str, str], ctx: Context, m: Messages, today: dt.date
) -> dict[str, Any]:
    """The milestone's pledge, kind, date and titles (the draft so far)."""
    pledge_id, kind, day = desk.checks.check_milestone_facts(values, m)
    return {
        "pledge": pledge_id,
        "kind": kind,
        "date": day.isoformat(),
        "title": values["title"],
        "title_ko": values.get("title_ko", ""),
    }


def _save_milestone(
    desk: Desk, nonce: str, values: dict[str, str], ctx: Context, m: Messages, today: dt.date
) -> Reply:
    """Add the drafted milestone, with its source when a link is given."""
    draft = desk.drafts.load(nonce)
    if draft is None or "title" not in draft:
        raise Invalid({"url": m.gettext("This form has expired; open it again.")})
    try:
        row, evidence = desk.checks.check_milestone(dict(draft, url=values.get("url", "")), m)
    except Invalid as error:
        # The first step's fields were checked there; anything wrong with them since (a pledge retracted
        # meanwhile) can only be shown at this step's one field.
        raise Invalid({"url": " ".join(error.errors.values())}) from None
    edit = desk.append_milestone(row, evidence, ctx, dedupe=f"form:{nonce}")
    desk.drafts.discard(nonce)
    return desk.saved(edit, m.gettext("Milestone added to {id}").format(id=row["pledge"]), m)


# -- the wizard -----------------------------------------------------------------------------------

STEPS: dict[str, Step] = {
    step.form: step
    for step in (
        Step(
            "quote",
            N_("Add a quote"),
            _quote_fields,
            N_("Check the source"),
            _check_quote,
            then="quote:source",
            detour="quote:paraphrase",
        ),
        Step(
            "quote:paraphrase",
            N_("Not a direct quote"),
            _paraphrase_fields,
            N_("Next"),
            _check_paraphrase,
            then="quote:source",
        ),
        Step("quote:source", N_("Confirm the source"), _source_fields, N_("Save"), _save_quote),
        Step("new", N_("New pledge (1 of 3)"), _pledge_fields, N_("Next"), _check_pledge, then="new:quote"),
        Step(
            "new:quote",
            N_("New pledge (2 of 3): first quote"),
            _first_quote_fields,
            N_("Check the source"),
            _check_first_quote,
            then="new:source",
            detour="new:paraphrase",
        ),
        Step(
            "new:paraphrase",
            N_("Not a direct quote"),
            _paraphrase_fields,
            N_("Next"),
            _check_paraphrase,
            then="new:source",
        ),
        Step("new:source", N_("Confirm the source"), _source_fields, N_("Save"), _save_pledge),
        Step(
            "milestone",
            N_("New milestone (1 of 2)"),
            _milestone_fields,
            N_("Next"),
            _check_milestone,
            then="milestone:source",
        ),
        Step(
            "milestone:source",
            N_("New milestone (2 of 2): source"),
            _milestone_source_fields,
            N_("Save"),
            _save_milestone,
        ),
    )
}
# The steps a desk command opens its form at (`Desk.form`); the others follow a step's `then`.
OPENINGS = ("quote", "new", "milestone")
