"""The words of the command grammar, in English and Korean, in one table: command words, the verbs inside a
command, and the status scale.

Matching is longest first, so a word that begins another ("구독" and "구독목록") never shadows it, and
case-insensitive with white space ignored, so "In  the Works", "추진중" and "구독 목록" are understood as
typed. Categories are words of the grammar too, but they are data: the parser asks the catalogue for them
(`bot.commands.Known`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from bot import statuses
from bot.i18n import messages


class Kind(enum.Enum):
    """What a word is in the grammar."""

    COMMAND = "command"
    STATUS = "status"
    # A word inside a command that says what it does ("editors add <user>").
    VERB = "verb"


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


WORDS: tuple[Word, ...] = (
    Word(Kind.COMMAND, "show", "보기"),
    Word(Kind.COMMAND, "list", "목록"),
    Word(Kind.COMMAND, "on", "날짜"),
    Word(Kind.COMMAND, "upcoming", "다가오는"),
    Word(Kind.COMMAND, "subscribe", "구독"),
    Word(Kind.COMMAND, "unsubscribe", "구독취소"),
    Word(Kind.COMMAND, "subscriptions", "구독목록"),
    Word(Kind.COMMAND, "history", "이력"),
    Word(Kind.COMMAND, "language", "언어"),
    Word(Kind.COMMAND, "card", "카드"),
    Word(Kind.COMMAND, "cite", "인용"),
    Word(Kind.COMMAND, "help", "도움말"),
    # The newsroom desk's commands (editors only).
    Word(Kind.COMMAND, "rate", "평가"),
    Word(Kind.COMMAND, "quote", "인용추가"),
    Word(Kind.COMMAND, "new", "새공약"),
    Word(Kind.COMMAND, "milestone", "일정"),
    Word(Kind.COMMAND, "undo", "되돌리기"),
    Word(Kind.COMMAND, "editors", "편집자"),
    Word(Kind.VERB, "add", "추가"),
    Word(Kind.VERB, "remove", "삭제"),
    # The status scale, in its order, as the dataset stores it; its Korean forms are the catalogue's names.
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
