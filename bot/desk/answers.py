"""The answers to the desk's commands: each runs the desk's checks and edit, or opens its form where the
platform shows forms and the command came without its arguments."""

from __future__ import annotations

from bot.desk.commands import AddMilestone, AddQuote, NewPledge, Rate, Undo
from bot.desk.edits import Desk
from bot.registry import Registry, Request, handles
from bot.replies import Level, Notice, Reply


class DeskAnswers:
    """Answers rate, quote, new, milestone and undo through the desk."""

    def __init__(self, desk: Desk, registry: Registry):
        self.desk = desk
        # For the usage line a command without its arguments gets where there are no forms.
        self.registry = registry

    @handles(Rate)
    def rate(self, command: Rate, request: Request) -> Reply:
        """A dated, sourced status for a pledge."""
        return self.desk.rate(
            command.pledge_id,
            command.status,
            command.url,
            command.on,
            command.note,
            request.ctx,
            request.m,
            request.today,
        )

    @handles(AddQuote)
    def quote(self, command: AddQuote, request: Request) -> Reply:
        """A quote checked against its source, or the form to give one."""
        if not command.words:
            return self._form("quote", request, command.pledge_id)
        return self.desk.quote(
            command.pledge_id,
            command.words,
            command.url,
            command.said_on,
            command.paraphrase,
            request.ctx,
            request.m,
            request.today,
        )

    @handles(NewPledge)
    def new(self, command: NewPledge, request: Request) -> Reply:
        """A pledge with its first quote, or the form to give one."""
        if not command.values:
            return self._form("new", request)
        return self.desk.new_pledge(dict(command.values), request.ctx, request.m, request.today)

    @handles(AddMilestone)
    def milestone(self, command: AddMilestone, request: Request) -> Reply:
        """A deadline or an event of a pledge, or the form to give one."""
        if command.day is None:
            return self._form("milestone", request, command.pledge_id)
        values = {
            "pledge": command.pledge_id,
            "kind": command.kind,
            "date": command.day.isoformat(),
            "title": command.title,
            "title_ko": command.title_ko,
            "url": command.url,
        }
        return self.desk.milestone(values, request.ctx, request.m)

    @handles(Undo)
    def undo(self, command: Undo, request: Request) -> Reply:
        """One desk edit reversed by a new edit."""
        return self.desk.undo(command.edit_id, request.ctx, request.m)

    def submit(self, form: str, state: str, values: dict[str, str], request: Request) -> Reply:
        """One step of a desk form: field errors, the next step's form, or the saved edit."""
        return self.desk.submit(form, state, values, request.ctx, request.m, request.today)

    def _form(self, name: str, request: Request, pledge_id: str = "") -> Reply:
        """The form `name` where the platform shows forms, else how to write the command in full."""
        if request.ctx.policy.forms:
            return self.desk.form(name, request.m, pledge_id)
        usage = self.registry[name].usage_line(request.m)
        return Reply(notices=[Notice(usage, Level.ERROR)])
