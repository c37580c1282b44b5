"""The words of the command grammar, in English and Korean: how they are matched as typed, and the words
inside commands (the verbs of `editors`, the status scale, the words of commands' arguments).

Matching is longest first, so a word that begins another ("구독" and "구독목록") never shadows it, and
case-insensitive with white space ignored, so "In  the Works", "추진중" and "구독 목록" are understood as
typed. Categories are words of the grammar too, but they are data: the parser asks the catalogue for them
(`bot.grammar.Known`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from bot import statuses
from bot.i18n import NP_, messages


class Kind(enum.Enum):
    """What a word is in the grammar."""

    COMMAND = "command"
    STATUS = "status"
    # A word inside a command that says what it does ("editors add <user>").
    VERB = "verb"
    # A word of a command's arguments: one that introduces a value ("topic <category>", "page 2") or is one
    # ("updates now", "subscriptions all").
    ARGUMENT = "argument"


@dataclass(frozen=True)
class Word:
    """One word: its kind, its canonical English form (a command's name, a status as stored), and Korean."""

    kind: Kind
    en: str
    ko: str

    @property
    def forms(self) -> tuple[str, str]:
        """Every form a user may type."""
        return (self.en, self.ko)


# The words of arguments, by the commands that read them: subscribe's filters and `updates` values, the page
# of a list or a search, every channel's subscriptions, a rating's date, a milestone's kinds.
ARGUMENTS = (
    NP_("argument", "topic"),
    NP_("argument", "pledge"),
    NP_("argument", "official"),
    NP_("argument", "region"),
    NP_("argument", "ahead"),
    NP_("argument", "updates"),
    NP_("argument", "now"),
    NP_("argument", "daily"),
    NP_("argument", "page"),
    NP_("argument", "all"),
    NP_("argument", "on"),
    NP_("argument", "deadline"),
    NP_("argument", "event"),
    NP_("argument", "paraphrase"),
)

# The words inside commands: the verbs of `editors`, the words of arguments, and the status scale, in its
# order, as the dataset stores it. Each Korean form is the catalogue's translation. Command words are declared
# with their commands (the registry, `bot.commands`).
WORDS: tuple[Word, ...] = (
    *(
        Word(Kind.VERB, verb, messages("ko").pgettext("verb", verb))
        for verb in (NP_("verb", "add"), NP_("verb", "remove"))
    ),
    *(Word(Kind.ARGUMENT, word, messages("ko").pgettext("argument", word)) for word in ARGUMENTS),
    *(Word(Kind.STATUS, value, messages("ko").status(value)) for value in statuses.VALUES),
)


def key(text: str) -> str:
    """The form words are compared in: case-folded, with no white space."""
    return "".join(text.casefold().split())


class Vocabulary:
    """Words looked up by what a user typed, longest form first."""

    def __init__(self, words: Iterable[Word]):
        self.words = tuple(words)
        self._forms = sorted(
            ((key(form), word) for word in self.words for form in word.forms), key=lambda kw: -len(kw[0])
        )
        # Every search is parsed first: `prefix` looks only at the forms of the kind asked for.
        self._forms_of: dict[Kind, list[tuple[str, Word]]] = {}
        for form, word in self._forms:
            if form:
                self._forms_of.setdefault(word.kind, []).append((form, word))

    def of(self, kind: Kind) -> tuple[Word, ...]:
        """The words of one kind, in table order."""
        return tuple(w for w in self.words if w.kind is kind)

    def get(self, kind: Kind, en: str) -> Word:
        """The word of `kind` whose English form is `en`."""
        return next(w for w in self.words if w.kind is kind and w.en == en)

    def prefix(self, kind: Kind, text: str) -> tuple[Word, str] | None:
        """The longest word of `kind` that begins `text` and ends where a typed word ends, and the rest."""
        tokens = text.split()
        # Every search is parsed first: a form that does not begin the text is passed over at the cost of
        # one comparison, not a loop over its tokens.
        squashed = key(text)
        for form, word in self._forms_of.get(kind, ()):
            if not squashed.startswith(form):
                continue
            typed, used = "", 0
            while used < len(tokens) and len(typed) < len(form):
                typed += tokens[used].casefold()
                used += 1
            if typed == form:
                return word, " ".join(tokens[used:])
        return None

    def suffix(self, kind: Kind, text: str) -> tuple[str, Word] | None:
        """The longest word of `kind` that ends `text`, beginning where a typed word begins, and the rest."""
        tokens = text.split()
        for form, word in self._forms:
            if word.kind is not kind or not form:
                continue
            typed, start = "", len(tokens)
            while start > 0 and len(typed) < len(form):
                start -= 1
                typed = tokens[start].casefold() + typed
            if typed == form:
                return " ".join(tokens[:start]), word
        return None

    def exact(self, kind: Kind, text: str) -> Word | None:
        """The word of `kind` that is the whole of `text`, or None."""
        match = self.prefix(kind, text)
        return match[0] if match and not match[1] else None


VOCABULARY = Vocabulary(WORDS)
"""The words inside commands; `bot.commands.VOCABULARY` adds the command words."""
