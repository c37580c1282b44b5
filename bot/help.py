"""The help command: the command list, the Korean command words, argument words and statuses, built from the
registry and the word table so that they cannot drift; the desk's commands for editors only."""

from __future__ import annotations

from dataclasses import dataclass

from bot.grammar import Known
from bot.i18n import N_, NP_, Messages, messages
from bot.registry import Command, CommandSpec, Registry, handles
from bot.replies import ListItem, Notice, Reply
from bot.words import VOCABULARY, Kind


@dataclass(frozen=True)
class Help:
    """Show help; `hint` says why, when help answers something that was not a request for it."""

    hint: str = ""


def _help(rest: str, known: Known) -> Command | None:
    return None if rest else Help()


COMMANDS = (
    CommandSpec(NP_("command", "help"), "/pledge help", N_("This help"), "/pledge help", _help, (Help,)),
)


def help_reply(
    registry: Registry, hint: str = "", m: Messages | None = None, *, editor: bool = False
) -> Reply:
    """The help answer, with `hint` (already in the reader's language) first when given."""
    m = m or messages()
    example = m.gettext("{summary} — e.g. {example}")
    shown = [spec for spec in registry if editor or spec.listed_for_all]
    items = [
        ListItem(
            label=spec.usage, detail=example.format(summary=m.gettext(spec.summary), example=spec.example)
        )
        for spec in shown
    ]
    notices = [Notice(hint)] if hint else []
    notices.append(
        Notice(m.gettext("Search works in English and Korean, e.g. /pledge hotline or /pledge 핫라인."))
    )
    korean = ", ".join(f"{spec.word.ko} ({spec.word.en})" for spec in shown if spec.word)
    inside = ", ".join(f"{w.ko} ({w.en})" for kind in (Kind.VERB, Kind.ARGUMENT) for w in VOCABULARY.of(kind))
    text = m.gettext("Command words in Korean: {words}; and inside commands: {arguments}.")
    notices.append(Notice(text.format(words=korean, arguments=inside)))
    statuses = ", ".join(f"{word.en} ({word.ko})" for word in VOCABULARY.of(Kind.STATUS))
    notices.append(Notice(m.gettext("Statuses for /pledge list: {statuses}.").format(statuses=statuses)))
    return Reply(title=m.gettext("pledgebot: a politician's exact words"), items=items, notices=notices)


class HelpAnswers:
    """Answers `help` from the registry."""

    def __init__(self, registry: Registry):
        self.registry = registry

    @handles(Help)
    def help(self, command: Help, request) -> Reply:
        """The command list for the asker (the desk's commands too for an editor at a desk place)."""
        hint = request.m.gettext(command.hint) if command.hint else ""
        editor = request.ctx.can_edit and request.ctx.desk_place
        return help_reply(self.registry, hint, request.m, editor=editor)
