"""The platform-neutral conversation model: what a command arrives with and what the core answers.

Adapters build a `Context` from a platform event, call `Core.handle`, and render the `Reply`. Nothing here
knows any platform's markup: text is plain, dates are dates, mentions are ids.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from bot.i18n import N_, Messages, messages

TRANSLATION_NOTE = N_("English translation of the original")
NO_QUOTE = N_("No quote on record yet.")
# Shown beside a Korean title the data marks as the editors' translation (`title_ko_by: editors`).
EDITORS_TITLE = N_("Korean title translated by the editors")


class Refusal(StrEnum):
    """What a refused user may not do, so that their platform can say who may."""

    SUBSCRIPTION = "subscription"
    LANGUAGE = "language"
    CHOOSE_EDITORS = "choose editors"
    EDIT = "edit"


# What a refusal says when the platform has no words of its own for it.
REFUSALS: dict[Refusal, str] = {
    Refusal.SUBSCRIPTION: N_("Only a channel manager can change this channel's subscription."),
    Refusal.LANGUAGE: N_("Only a channel manager can change this channel's language."),
    Refusal.CHOOSE_EDITORS: N_("Only an admin can choose editors."),
    Refusal.EDIT: N_("Only the catalogue's editors can do that."),
}


@dataclass(frozen=True)
class Policy:
    """What an adapter tells the core about its platform: who may do what, in the platform's own words
    (msgids), and which interactions it has."""

    refusals: Mapping[Refusal, str] = field(default_factory=dict)
    # Who may edit besides the editors list: said with the list and with every refusal.
    other_editors: str = N_("Ask an admin to add you to the editors list.")
    # Does the platform show forms (modals)? Without them a desk command needs its arguments.
    forms: bool = False

    def refusal(self, about: Refusal, m: Messages) -> str:
        """The sentence refusing `about`, in `m`'s language."""
        return m.gettext(self.refusals.get(about, REFUSALS[about]))


@dataclass(frozen=True)
class Context:
    """Who asked, where, and when: everything the core may know about a command's origin."""

    platform: str
    workspace: str = ""
    channel: str = ""
    user: str = ""
    locale: str = "en"
    # The language the platform gives the place itself (Discord's guild_locale), for public posts in a
    # channel whose manager has not chosen one.
    place_locale: str = ""
    # May this user change the channel's subscriptions? Each adapter decides from its platform's
    # permissions (Slack admin list, Discord Manage Channels, console: always).
    can_manage: bool = False
    now: dt.datetime | None = None
    # Can the bot read and post in the channel? A blocking call the adapter provides, returning None when
    # it can, else a reason to show the user. Called only when subscribing (it may call the platform).
    channel_access: Callable[[], str | None] | None = field(default=None, compare=False, repr=False)
    # May this user edit the catalogue (rate, add quotes, pledges and milestones, undo)? Each adapter decides
    # from platform answers no older than 60 s (Slack admins and the editors list, Discord Manage Server or
    # the editor role, console: always); the core refuses desk commands when it is False.
    can_edit: bool = False
    # May this user choose who edits (`editors add`/`remove`)? Slack: whoever may manage subscriptions
    # (workspace admins and SLACK_ADMINS), Discord: Manage Server, console: always.
    can_choose_editors: bool = False
    # Is this place (workspace or server) one where the catalogue is edited? Adapters say, from the
    # deployment's desk places (PLEDGEBOT_DESK_WORKSPACES, PLEDGEBOT_DESK_GUILDS; everywhere when it names
    # none); elsewhere the core answers the desk's commands with the publisher's name, whoever asks.
    desk_place: bool = True
    # The platform's words for refusals and what it can show (forms): each adapter passes its own.
    policy: Policy = field(default_factory=Policy, compare=False, repr=False)


@dataclass(frozen=True)
class SourceRef:
    """Where a quote was published."""

    headline: str
    outlet: str
    # A date-time with its offset, or just the date when that is all the source gives.
    published_at: dt.datetime | dt.date | None
    kind: str
    url: str | None = None

    def published_text(self, m: Messages | None = None) -> str:
        """The publication time as people write it, e.g. "26 May 2025, 11:09 (UTC+09:00)"."""
        m = m or messages()
        value = self.published_at
        if isinstance(value, dt.datetime):
            offset = value.strftime("%z")
            zone = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
            return m.gettext("{date}, {time} ({zone})").format(
                date=m.long_date(value.date()), time=f"{value:%H:%M}", zone=zone
            )
        if isinstance(value, dt.date):
            return m.long_date(value)
        return m.gettext("date unknown")

    def describe(self, m: Messages | None = None) -> str:
        """One line naming the source: headline, outlet, publication time."""
        m = m or messages()
        return m.gettext("“{headline}”, {outlet}, published {published}").format(
            headline=self.headline, outlet=self.outlet, published=self.published_text(m)
        )


@dataclass(frozen=True)
class Status:
    """A PolitiFact-style rating and the date it was last reviewed."""

    label: str
    as_of: dt.date | None
    note: str = ""
    # The evidence of the latest rating, and how many entries the status history has; once editors have
    # rated a pledge (more than one entry), the card names the source and points to the history.
    source: SourceRef | None = None
    updates: int = 0
    pledge_id: str = ""

    def describe(self, m: Messages | None = None, *, chat: bool = True) -> str:
        """The rating with the date it was last reviewed, e.g. "Not yet rated (last reviewed 2025-05-26)";
        after the desk's updates also its source and "3 updates (/pledge history <id>)", the command only in
        `chat` (an image or a page, where no command can be typed, says "3 updates")."""
        m = m or messages()
        label = m.status(self.label)
        text = label[:1].upper() + label[1:]
        if self.as_of:
            text = m.gettext("{status} (last reviewed {date})").format(status=text, date=m.date(self.as_of))
        text += f": {self.note}" if self.note else ""
        if self.updates > 1:
            if self.source is not None:
                source = m.gettext("source: “{headline}”, {outlet}").format(
                    headline=self.source.headline, outlet=self.source.outlet
                )
                text += f" — {source}" + (f" {self.source.url}" if self.source.url else "")
            updates = m.ngettext("{n} update", "{n} updates", self.updates).format(n=self.updates)
            text += f" · {updates}" + (f" (/pledge history {self.pledge_id})" if chat else "")
        return text


@dataclass(frozen=True)
class QuoteCard:
    """One pledge with the speaker's exact words, when they were said and where they were published."""

    pledge_id: str
    title: str
    speaker: str
    # The quote shown: the one that matched the search, else the first; "" when the pledge has none yet.
    quote: str
    said_on: dt.date | None
    # The quote's source; for a pledge without a quote, the source of its latest status (or None).
    source: SourceRef | None
    status: Status
    category: str = ""
    translated: bool = False
    language: str = "en"
    # What a translated quote translates, named for the reader (e.g. "이재명 후보 페이스북 게시글(한국어)").
    original: str = ""
    summary: str = ""
    # How many other quotes the pledge has beyond the one shown (a search card shows one).
    more_quotes: int = 0
    # The query's words in `quote`, as (start, end) character offsets; renderers decide how to emphasise.
    emphasis: tuple[tuple[int, int], ...] = ()
    # Who wrote `title` when it is the Korean title and the data says ("editors"), else "".
    title_by: str = ""
    # `quote` is reported speech, the source's words about what was said: shown as `reported`, never in
    # quotation marks.
    paraphrase: bool = False

    def title_note(self, m: Messages | None = None) -> str:
        """ "Korean title translated by the editors" when the title shown is theirs, else ""."""
        if self.title_by != "editors":
            return ""
        return (m or messages()).gettext(EDITORS_TITLE)

    # The pledge's page on the public site ("" unless PLEDGEBOT_PUBLIC_URL is set).
    link: str = ""

    @property
    def has_quote(self) -> bool:
        """False for a pledge with no quote on record yet: the card then shows its summary and status."""
        return bool(self.quote)

    def more_text(self, m: Messages | None = None) -> str:
        """ "2 more quotes" when the pledge has quotes beyond the one shown, else ""."""
        if not self.more_quotes:
            return ""
        m = m or messages()
        return m.ngettext("{n} more quote", "{n} more quotes", self.more_quotes).format(n=self.more_quotes)

    def segments(self) -> list[tuple[str, bool]]:
        """The quote cut into (text, emphasised) runs, in order, covering it exactly."""
        out: list[tuple[str, bool]] = []
        at = 0
        for start, end in sorted(self.emphasis):
            if start < at or end > len(self.quote) or start >= end:
                continue
            if start > at:
                out.append((self.quote[at:start], False))
            out.append((self.quote[start:end], True))
            at = end
        if at < len(self.quote) or not out:
            out.append((self.quote[at:], False))
        return out

    def reported(self, m: Messages | None = None) -> str:
        """A paraphrase as reported speech, e.g. "According to The Daily Example, Lee Jae-myung said he would
        push to reopen the liaison office."; a direct quote in its quotation marks."""
        m = m or messages()
        if not self.paraphrase:
            return f"“{self.quote}”"
        words = self.quote.strip().rstrip(".")
        outlet = self.source.outlet if self.source is not None else ""
        if not outlet:
            return m.gettext("{speaker} said {words}.").format(speaker=self.speaker, words=words)
        return m.gettext("According to {outlet}, {speaker} said {words}.").format(
            outlet=outlet, speaker=self.speaker, words=words
        )

    def translation_note(self, m: Messages | None = None) -> str:
        """What the quote is a translation of ("" when it is not one), e.g. "English translation of the
        original" or "영어 번역 · 원문: 이재명 후보 페이스북 게시글(한국어)"."""
        if not self.translated:
            return ""
        # English names no original; other languages may say which ({original}).
        return (m or messages()).gettext(TRANSLATION_NOTE).format(original=self.original)

    def attribution(self, m: Messages | None = None) -> str:
        """Who said it and when, noting a translation, e.g. "Lee Jae-myung, 2025-05-26 (translated)"."""
        m = m or messages()
        if self.said_on is None:
            return self.speaker
        said = f"{self.speaker}, {m.date(self.said_on)}"
        return f"{said} ({self.translation_note(m)})" if self.translated else said


class Level(StrEnum):
    """How a notice should be presented."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class Notice:
    """A sentence for the user that is not data: a hint, a correction, an error."""

    text: str
    level: Level = Level.INFO


class ActionKind(StrEnum):
    """What a follow-up action does when a user picks it."""

    MORE = "more"
    SHARE = "share"
    # Run the command and put its answer in place of this one (e.g. remove an editor from the list shown).
    RUN = "run"
    # Pick a person: the command is run with their user id appended (e.g. "editors add").
    PICK_USER = "pick"


@dataclass(frozen=True)
class Action:
    """A follow-up the user can take: `command` is the command text the core answers when it is taken."""

    kind: ActionKind
    label: str
    command: str


@dataclass(frozen=True)
class ListItem:
    """A line in a list reply (a pledge, a milestone, a subscription)."""

    label: str
    detail: str = ""
    date: dt.date | None = None
    pledge_id: str | None = None
    # A person the line is about, by platform user id: renderers show a mention.
    user: str = ""
    # A button beside the line (e.g. "Remove" beside an editor).
    action: Action | None = None


class FieldKind(StrEnum):
    """What a form field takes; each platform picks its own input for it."""

    TEXT = "text"  # one line
    LONG = "long"  # several lines (a quote, a pasted source text)
    URL = "url"
    DATE = "date"  # YYYY-MM-DD
    CHOICE = "choice"  # one of `choices`


@dataclass(frozen=True)
class FormField:
    """One input of a form: `name` is the key its value comes back under in `Core.submit`."""

    name: str
    label: str
    kind: FieldKind = FieldKind.TEXT
    required: bool = True
    value: str = ""
    hint: str = ""
    # (value, label) pairs for a CHOICE field.
    choices: tuple[tuple[str, str], ...] = ()
    max_length: int | None = None


@dataclass(frozen=True)
class Form:
    """A form the user fills in (a Slack or Discord modal); the adapter returns its values, with `form` and
    `state` untouched, to `Core.submit`. A form has at most five fields (Discord's modal limit): longer
    forms are steps, each a `Form` answered by `Core.submit` with the next one."""

    form: str
    title: str
    fields: tuple[FormField, ...]
    submit: str
    # Opaque to adapters (Slack private_metadata, Discord custom_id): what the core needs to resume.
    state: str = ""


@dataclass(frozen=True)
class Attachment:
    """A file that goes with a reply (a quote card's PNG): each platform uploads, attaches or saves it."""

    name: str
    data: bytes = field(repr=False)
    mime: str
    # What the file shows, in words: its alt text where the platform takes one.
    description: str = ""


@dataclass
class Reply:
    """Everything the core answers with; adapters decide how it looks."""

    title: str = ""
    cards: list[QuoteCard] = field(default_factory=list)
    items: list[ListItem] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    # Lookups are private to the asker by default; a shared card or a digest is public.
    private: bool = True
    total: int = 0
    # The language the core wrote the reply in; renderers write their own labels in it too.
    language: str = "en"
    # A form to show instead of a message (the desk's modals), or the next step of one being submitted.
    form: Form | None = None
    # After a submission: a message per field name that was refused; the adapter shows each beside its field.
    field_errors: dict[str, str] = field(default_factory=dict)
    # Files that go with the message (a quote card's image).
    files: list[Attachment] = field(default_factory=list)

    @classmethod
    def error(cls, text: str) -> Reply:
        """A reply that only reports a problem, in a sentence for the user."""
        return cls(notices=[Notice(text, Level.ERROR)])

    @property
    def messages(self) -> Messages:
        """The reply's language's messages, for the renderer's labels."""
        return messages(self.language)

    @property
    def is_error(self) -> bool:
        """True when the reply only reports a problem."""
        return (
            not self.cards
            and not self.items
            and not self.files
            and any(n.level is Level.ERROR for n in self.notices)
        )
