"""The answers to the settings commands: a channel's language, and who may edit the catalogue."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from babel import Locale

from bot.channels.commands import Editors, Language
from bot.i18n import language_of, messages
from bot.registry import Request, handles
from bot.replies import Action, ActionKind, Context, ListItem, Notice, Reply
from bot.state import Editors as EditorStore
from bot.state import Subscriptions as SubscriptionStore

MAX_LIST_ITEMS = 25


class Channels:
    """A channel's language and a workspace's editors list, kept in the state store."""

    def __init__(self, subscriptions: SubscriptionStore, editors: EditorStore, zone: ZoneInfo):
        # The subscriptions store keeps each channel's language beside its subscription.
        self.subscriptions = subscriptions
        self.editors = editors
        self.zone = zone

    def language(self, ctx: Context) -> str:
        """The language of public posts in the context's channel: the one its managers set, else the
        place's own (Discord's guild locale), else English."""
        chosen = (
            self.subscriptions.language(ctx.platform, ctx.workspace, ctx.channel) if ctx.channel else None
        )
        return chosen or language_of(ctx.place_locale)

    def is_editor(self, platform: str, workspace: str, user: str) -> bool:
        """True when an admin put `user` on the workspace's editors list."""
        return bool(workspace and user) and self.editors.is_editor(platform, workspace, user)

    @handles(Language)
    def set_language(self, command: Language, request: Request) -> Reply:
        """Set the channel's language, answered in the language just chosen."""
        ctx, m = request.ctx, request.m
        if not ctx.channel:
            return Reply.error(m.gettext("A language belongs to a channel; run this command in the channel."))
        self.subscriptions.set_language(
            ctx.platform, ctx.workspace, ctx.channel, command.language, ctx.user, request.now
        )
        # Answered in the language just chosen, so the manager sees what the channel will read.
        chosen = messages(command.language)
        name = Locale.parse(command.language).get_display_name(command.language) or command.language
        return Reply(
            title=chosen.gettext("Channel language: {language}").format(language=name),
            notices=[
                Notice(
                    chosen.gettext(
                        "Cards shared here and this channel's digests will be in {language}."
                    ).format(language=name)
                )
            ],
            language=command.language,
        )

    @handles(Editors)
    def editors_command(self, command: Editors, request: Request) -> Reply:
        """The editors list, or (for those who choose editors) a change to it."""
        if not command.verb:
            return self.editors_list(request)
        ctx, m = request.ctx, request.m
        if not ctx.workspace:
            return Reply.error(m.gettext("Editors belong to a workspace or server; run this command there."))
        if command.verb == "add":
            added = self.editors.add(ctx.platform, ctx.workspace, command.user, ctx.user, request.now)
            text = (
                m.gettext("{user} may now edit the catalogue.")
                if added
                else m.gettext("{user} is already an editor.")
            )
        else:
            removed = self.editors.remove(ctx.platform, ctx.workspace, command.user)
            text = (
                m.gettext("{user} is no longer an editor.")
                if removed
                else m.gettext("{user} is not on the editors list.")
            )
        return self.editors_list(request, Notice(text.format(user=command.user)))

    def editors_list(self, request: Request, notice: Notice | None = None) -> Reply:
        """Who may edit here: the editors list, then who else may by the platform's rules. Those who may
        choose editors get a way to add one and, beside each editor, to remove them."""
        ctx, m = request.ctx, request.m
        editors = self.editors.all(ctx.platform, ctx.workspace) if ctx.workspace else []
        items = [
            ListItem(
                label=e.user,
                user=e.user,
                detail=m.gettext("added by {user} on {date}").format(
                    user=e.added_by, date=m.date(e.added_at.astimezone(self.zone).date())
                ),
                action=Action(ActionKind.RUN, m.gettext("Remove"), f"editors remove {e.user}")
                if ctx.can_choose_editors
                else None,
            )
            for e in editors[:MAX_LIST_ITEMS]
        ]
        notices = [notice] if notice else []
        if not editors:
            notices.append(Notice(m.gettext("No one has been added to the editors list yet.")))
        notices.append(Notice(m.gettext(ctx.policy.other_editors)))
        actions = (
            [Action(ActionKind.PICK_USER, m.gettext("Add an editor"), "editors add")]
            if ctx.can_choose_editors and ctx.workspace
            else []
        )
        return Reply(
            title=m.gettext("Editors"), items=items, notices=notices, actions=actions, total=len(editors)
        )
