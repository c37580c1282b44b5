"""The Discord client: gateway connection, app commands on the core, buttons, command sync and channel posts.

`serve()` is what the composition root runs; `post_to_channel()` is what scheduled digests use.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import functools
import io
import logging
import time
from collections.abc import Iterator
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord_app import commands, forms
from adapters.discord_app.render import (
    ATTACHMENT_DESCRIPTION_LIMIT,
    CUSTOM_ID_PREFIX,
    ButtonSpec,
    Rendered,
    clip,
    render,
)
from bot import logs
from bot.config import ConfigError, Settings
from bot.core import Core
from bot.i18n import N_, Messages, language_of, messages
from bot.replies import ActionKind, Context, Form, Level, Notice, Policy, Refusal, Reply

log = logging.getLogger(__name__)

API_PATH = "api/v10"
# Discord allows 3 s for the first response; past this we defer and follow up (within 15 minutes).
DEFER_AFTER = 2.0
# Discord caps a message nonce at 25 characters.
NONCE_LIMIT = 25
NO_MENTIONS = discord.AllowedMentions.none()
CLOSE_TIMEOUT = 10.0
# Autocomplete must be answered within 3 s and cannot be deferred.
AUTOCOMPLETE_BUDGET = 2.0
UNKNOWN_BUTTON = N_("This button no longer does anything. Run the command again to get fresh results.")
# A submission may fetch a page (10 s timeout, redirects); it is deferred, so it may take this long.
SUBMIT_TIMEOUT = 30.0
# The editor role's id is looked up by name at most this often per server (the desk promises 60 s).
ROLE_CACHE_SECONDS = 60.0
# Deciding who may edit (the role's ids, the editors list) comes out of the DEFER_AFTER budget, so each
# lookup is bounded well inside it; one that takes longer grants nothing (fail closed).
ROLES_TIMEOUT = 1.0
EDITORS_TIMEOUT = 0.5
FORM_EXPIRED = N_("This form has expired. Please run the command again.")
CONTINUE = N_("Continue")
# Who may do what on Discord, in the words the core's refusals and the editors list use; Discord has modals.
POLICY = Policy(
    refusals={
        Refusal.SUBSCRIPTION: N_(
            "Only a member with the Manage Channels permission can change this channel's subscription."
        ),
        Refusal.LANGUAGE: N_(
            "Only a member with the Manage Channels permission can change this channel's language."
        ),
        Refusal.CHOOSE_EDITORS: N_("Only a member with the Manage Server permission can choose editors."),
        Refusal.EDIT: N_(
            "Only members with the Manage Server permission or the editor role, and the editors list "
            "(/desk editors), can edit the catalogue."
        ),
    },
    other_editors=N_(
        "Members with the Manage Server permission may edit too, and members with the role named by "
        "the bot's DISCORD_EDITOR_ROLE setting."
    ),
    forms=True,
)
TRY_AGAIN = N_("Correct the form")
CONTINUE_HINT = N_("Press the button to fill in the next part.")
FORM_FAILED = N_("Sorry, something went wrong while checking that. Please try again in a moment.")
FORM_SLOW = N_("Sorry, checking that took too long. Please try again in a moment.")

# Keys of a command (and of an option) that we define; anything else Discord returns (ids, versions) is
# bookkeeping. `contexts` and `integration_types` are compared only when we set them.
COMMAND_KEYS = (
    "type",
    "name",
    "description",
    "options",
    "name_localizations",
    "description_localizations",
    "default_member_permissions",
    "nsfw",
    "contexts",
    "integration_types",
)
OPTION_KEYS = (
    "type",
    "name",
    "description",
    "required",
    "autocomplete",
    "choices",
    "channel_types",
    "min_value",
    "max_value",
    "min_length",
    "max_length",
    "options",
    "name_localizations",
    "description_localizations",
)
UNSET_UNLESS_OURS = ("contexts", "integration_types")


def api_root(api_base: str) -> str:
    """The REST root for discord.py's `Route.BASE` from DISCORD_API_BASE.

    Accepts the host root (`http://proxy:8080/`, to which `api/v10` is added) or a URL that already ends in
    `/api/v10` (as REST proxies such as nirn-proxy are usually written).
    """
    url = yarl.URL(api_base)
    path = url.path.rstrip("/")
    if not path.endswith("/" + API_PATH):
        path = f"{path}/{API_PATH}"
    return str(url.with_path(path))


@contextlib.contextmanager
def endpoints(api_base: str | None) -> Iterator[None]:
    """Point discord.py's REST base at `api_base` for the duration, restoring the REST and gateway defaults.

    discord.py keeps both as class attributes (`Route.BASE`, `DiscordWebSocket.DEFAULT_GATEWAY`), so this is
    process-wide; restoring them keeps tests and repeated starts from leaking state.
    """
    saved_base, saved_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    if api_base:
        Route.BASE = api_root(api_base)
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved_base, saved_gateway


def _canonical(
    data: dict[str, Any], keys: tuple[str, ...], ours: dict[str, Any] | None = None
) -> dict[str, Any]:
    """`data` reduced to the keys we define, with Discord's equivalent spellings of "unset" made equal."""
    out: dict[str, Any] = {}
    for key in keys:
        if key in UNSET_UNLESS_OURS and ours is not None and ours.get(key) is None:
            continue
        value = data.get(key)
        if key == "options":
            value = [_canonical(o, OPTION_KEYS) for o in value or []]
        elif key == "default_member_permissions" and value is not None:
            value = str(value)  # we send an int, Discord returns a string
        elif key == "type" and value is None and keys is COMMAND_KEYS:
            value = 1
        if value in (None, False, [], {}):
            continue  # Discord omits `required: false`, empty localisations, and so on
        out[key] = value
    return out


def same_definitions(local: list[dict[str, Any]], remote: list[dict[str, Any]]) -> bool:
    """True when Discord already has exactly the commands we would sync."""
    mine = {c["name"]: _canonical(c, COMMAND_KEYS, c) for c in local}
    theirs = {c["name"]: _canonical(c, COMMAND_KEYS, mine.get(c["name"])) for c in remote}
    return mine == theirs


class ActionButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=rf"{CUSTOM_ID_PREFIX}:(?P<kind>{'|'.join(k.value for k in ActionKind)}):(?P<command>.+)",
):
    """A "More results" or "Share" button whose custom_id carries the command, so it survives restarts."""

    def __init__(self, custom_id: str, label: str, style: discord.ButtonStyle) -> None:
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=custom_id))

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item, match: Any, /
    ) -> ActionButton:
        """Rebuild the button from a click on any message, including ones sent before a restart."""
        # discord.py types the clicked component as any `Item`; a `DynamicItem[Button]`'s is a button.
        button: discord.ui.Button = item  # type: ignore[assignment]
        return cls(match.string, button.label or "", button.style)

    async def callback(self, interaction: discord.Interaction) -> None:
        """Run the button's command for whoever clicked it."""
        match = self.__discord_ui_compiled_template__.fullmatch(self.item.custom_id or "")
        client = interaction.client
        if match is None or not isinstance(client, PledgeClient):
            return
        await client.responder.act(interaction, ActionKind(match["kind"]), match["command"])


def view_for(rendered: Rendered) -> discord.ui.View | None:
    """A persistent view (no timeout) of the rendered buttons, or None when there are none."""
    if not rendered.buttons:
        return None
    view = discord.ui.View(timeout=None)
    for spec in rendered.buttons:
        if ActionButton.__discord_ui_compiled_template__.fullmatch(spec.custom_id):
            view.add_item(ActionButton(spec.custom_id, spec.label, spec.style))
        else:
            # A form's "Continue" button: answered by the client's on_interaction, which opens the form.
            view.add_item(discord.ui.Button(label=spec.label, style=spec.style, custom_id=spec.custom_id))
    # Clicks reach ActionButton through the dynamic items registered in setup_hook, whatever message they are
    # on, so the view needs no listening copy in discord.py's view store. Stopped, it is only sent: an
    # ephemeral answer no longer leaves a 15-minute timeout task behind in the store for every answer.
    view.stop()
    return view


def _send_kwargs(rendered: Rendered) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "content": rendered.content or None,
        "embeds": rendered.embeds,
        "allowed_mentions": NO_MENTIONS,
    }
    view = view_for(rendered)
    if view is not None:
        kwargs["view"] = view
    if rendered.files:
        kwargs["files"] = [
            discord.File(
                io.BytesIO(f.data), filename=f.name, description=f.description[:ATTACHMENT_DESCRIPTION_LIMIT]
            )
            for f in rendered.files
        ]
    return kwargs


def _in_thread(function: Any, /, *args: Any) -> asyncio.Future[Any]:
    """`asyncio.to_thread` (default executor, caller's context) as a plain future rather than a coroutine.

    A future can be waited on with a timeout directly, so no task has to be created around the call.
    """
    call = functools.partial(contextvars.copy_context().run, function, *args)
    return asyncio.get_running_loop().run_in_executor(None, call)


class Responder:
    """Turns interactions into core calls and core replies into interaction responses."""

    def __init__(
        self,
        core: Core,
        defer_after: float = DEFER_AFTER,
        *,
        editor_role: str | None = None,
        desk_guilds: frozenset[int] = frozenset(),
        clock: Any = time.monotonic,
    ) -> None:
        self.core = core
        self.defer_after = defer_after
        self.editor_role = editor_role
        # The servers the catalogue is edited in (PLEDGEBOT_DESK_GUILDS); none named means every server.
        self.desk_guilds = desk_guilds
        self.forms = forms.FormStore(clock)
        self.clock = clock
        # The editor role's ids by server: (when looked up, ids).
        self._roles: dict[int, tuple[float, frozenset[int]]] = {}

    async def context(self, interaction: discord.Interaction) -> Context:
        """The neutral context of an interaction: who, where, and what they may do there."""
        ctx = self._platform_context(interaction)
        manage_server = bool(interaction.guild_id) and interaction.permissions.manage_guild
        can_edit = manage_server or await self._has_editor_role(interaction)
        if not can_edit and interaction.guild_id:
            try:
                can_edit = await asyncio.wait_for(
                    _in_thread(self.core.is_editor, ctx.platform, ctx.workspace, ctx.user), EDITORS_TIMEOUT
                )
            except Exception as error:
                # Fail closed: someone whose rights cannot be read may not edit.
                log.warning(
                    "reading the editors list failed; treating as a non-editor: %s", type(error).__name__
                )
        return dataclasses.replace(ctx, can_edit=can_edit, can_choose_editors=manage_server)

    async def _has_editor_role(self, interaction: discord.Interaction) -> bool:
        """True when the member has the role DISCORD_EDITOR_ROLE names (its ids asked of Discord, ≤ 60 s)."""
        member = interaction.user
        if not self.editor_role or not interaction.guild_id or not isinstance(member, discord.Member):
            return False
        cached = self._roles.get(interaction.guild_id)
        now = self.clock()
        if cached is None or now - cached[0] >= ROLE_CACHE_SECONDS:
            try:
                roles = await asyncio.wait_for(
                    interaction.client.http.get_roles(interaction.guild_id), ROLES_TIMEOUT
                )
            except Exception as error:
                log.warning(
                    "listing the server's roles failed; the editor role grants nothing now: %s",
                    type(error).__name__,
                )
                return False
            ids = frozenset(int(r["id"]) for r in roles if r.get("name") == self.editor_role)
            cached = self._roles[interaction.guild_id] = (now, ids)
        # The role ids the interaction's member carries: `Member.get_role` also wants each role in the guild
        # cache, which only a gateway connection fills (an HTTP-interactions process has none).
        held = member._roles
        return any(held.has(role_id) for role_id in cached[1])

    def _platform_context(self, interaction: discord.Interaction) -> Context:
        locale = str(interaction.locale.value if interaction.locale else "en")
        # discord.py runs each interaction in a task of its own: its log lines say where it came from.
        logs.begin("discord", str(interaction.guild_id or ""), str(interaction.channel_id or ""))
        return Context(
            platform="discord",
            workspace=str(interaction.guild_id or ""),
            channel=str(interaction.channel_id or ""),
            user=str(interaction.user.id),
            locale=locale.split("-")[0].lower(),
            place_locale=str(interaction.guild_locale.value) if interaction.guild_locale else "",
            # Checked on every use, not only through the command's default permissions, which a server
            # admin can override per role or channel.
            can_manage=bool(interaction.guild_id) and interaction.permissions.manage_channels,
            channel_access=lambda: channel_access(interaction.app_permissions, messages(language_of(locale))),
            desk_place=not self.desk_guilds or interaction.guild_id in self.desk_guilds,
            policy=POLICY,
        )

    async def _reply(
        self, interaction: discord.Interaction, text: str, defer: Any, *, public: bool = False
    ) -> Reply:
        """The core's reply, deferring the interaction if the core takes longer than Discord waits.

        A `public` reply (a shared card) is written in the channel's language, not the sharer's.
        """
        if not public:
            # A quick command (`show <id>`) is answered here, on the loop: it takes well under a millisecond,
            # less than a hop to a worker thread, and its answer is the same whatever the asker may edit.
            quick = self.core.answer_now(text, self._platform_context(interaction))
            if quick is not None:
                return quick
        loop = asyncio.get_running_loop()
        started = loop.time()
        ctx = await self.context(interaction)
        job = _in_thread(self._handle, text, ctx, public)
        # Discord's 3 s run from the interaction, so the time spent deciding rights counts too.
        remaining = max(0.0, self.defer_after - (loop.time() - started))
        done, _ = await asyncio.wait({job}, timeout=remaining)
        if not done:
            await defer()
        return await job

    def _handle(self, text: str, ctx: Context, public: bool) -> Reply:
        if public:
            ctx = dataclasses.replace(ctx, locale=self.core.channel_language(ctx))
        return self.core.handle(text, ctx)

    async def answer(self, interaction: discord.Interaction, text: str) -> None:
        """Answer a slash command with the core's reply to `text`; a form opens as a modal, which must be the
        interaction's first response (a deferred one can no longer be a modal)."""
        reply = await self._reply(
            interaction, text, lambda: interaction.response.defer(ephemeral=True, thinking=True)
        )
        if reply.form is not None:
            await self.show_form(interaction, reply.form, reply)
            return
        await self.send(interaction, render(reply))

    async def show_form(self, interaction: discord.Interaction, form: Form, reply: Reply) -> None:
        """Open `form` as a modal when the interaction can still answer with one; otherwise (a modal
        submission, or an answer deferred because the core was slow) send a button that opens it."""
        token = self.forms.keep(form)
        can_open = not interaction.response.is_done() and interaction.type is not (
            discord.InteractionType.modal_submit
        )
        if can_open:
            await interaction.response.send_modal(forms.modal(form, token))
            return
        m = reply.messages
        label = TRY_AGAIN if reply.field_errors else CONTINUE
        notices = [Notice(text, Level.ERROR) for text in reply.field_errors.values()] or [
            Notice(m.gettext(CONTINUE_HINT))
        ]
        rendered = render(dataclasses.replace(reply, form=None, notices=[*reply.notices, *notices]))
        rendered.buttons = [ButtonSpec(label=clip(m.gettext(label), 80), custom_id=forms.OPEN_PREFIX + token)]
        await self.send(interaction, rendered)

    async def open_form(self, interaction: discord.Interaction, token: str) -> None:
        """A "Continue" button: open the form it was sent with (a button may answer with a modal)."""
        form = self.forms.get(token)
        if form is None:
            await self._expired(interaction)
            return
        await interaction.response.send_modal(forms.modal(form, token))

    async def submitted(self, interaction: discord.Interaction, token: str) -> None:
        """A modal submission: deferred at once (the core may fetch a page), then answered by a followup."""
        form = self.forms.get(token)
        if form is None:
            await self._expired(interaction)
            return
        # Answered once: a second submission of the same modal finds nothing to act on.
        self.forms.drop(token)
        await interaction.response.defer(ephemeral=True, thinking=True)
        values = forms.submitted_values(dict(interaction.data or {}))
        ctx = await self.context(interaction)
        m = messages(language_of(ctx.locale))
        try:
            reply = await asyncio.wait_for(
                _in_thread(self.core.submit, form.form, form.state, values, ctx), SUBMIT_TIMEOUT
            )
        except TimeoutError:
            log.warning("the core took longer than %.1f s on a Discord form", SUBMIT_TIMEOUT)
            reply = Reply(notices=[Notice(m.gettext(FORM_SLOW), Level.ERROR)], language=m.language)
        except Exception:
            log.exception("the core failed on a Discord form")
            reply = Reply(notices=[Notice(m.gettext(FORM_FAILED), Level.ERROR)], language=m.language)
        if reply.form is not None:
            await self.show_form(interaction, reply.form, reply)
        elif reply.field_errors:
            await self.show_form(interaction, forms.refilled(form, values), reply)
        else:
            await self.send(interaction, render(reply))

    async def _expired(self, interaction: discord.Interaction) -> None:
        locale = str(interaction.locale.value) if interaction.locale else "en"
        text = messages(language_of(locale)).gettext(FORM_EXPIRED)
        await interaction.response.send_message(text, ephemeral=True)

    async def send(self, interaction: discord.Interaction, rendered: Rendered) -> None:
        """Respond, or follow up when the interaction was already deferred."""
        kwargs = _send_kwargs(rendered)
        if interaction.response.is_done():
            await interaction.followup.send(ephemeral=rendered.ephemeral, **kwargs)
        else:
            await interaction.response.send_message(ephemeral=rendered.ephemeral, **kwargs)

    async def act(self, interaction: discord.Interaction, kind: ActionKind, command: str) -> None:
        """Handle a button: "more" replaces the results in place, "share" posts the card publicly."""
        if kind is ActionKind.SHARE:
            reply = await self._reply(
                interaction, command, lambda: interaction.response.defer(thinking=True), public=True
            )
            if reply.is_error:
                await self.send(interaction, render(reply))
                return
            await self.send(interaction, render(reply, shared_by=interaction.user.id))
            return
        reply = await self._reply(interaction, command, lambda: interaction.response.defer())
        rendered = render(reply)
        if reply.is_error:
            await self.send(interaction, rendered)
            return
        kwargs = _send_kwargs(rendered)
        kwargs.setdefault("view", None)  # a last page has no "More" button left
        if "files" in kwargs:
            # An edited message takes its files as its whole list of attachments.
            kwargs["attachments"] = kwargs.pop("files")
        kwargs["content"] = rendered.content  # replace, not keep, the old text
        if interaction.response.is_done():
            await interaction.edit_original_response(**kwargs)
        else:
            await interaction.response.edit_message(**kwargs)

    async def suggest(self, current: str, locale: str = "en") -> list[app_commands.Choice[str]]:
        """Autocomplete choices from the core (at most 25, each name and value within 100 characters)."""
        if not current.strip():
            return []
        try:
            # Autocomplete cannot be deferred: an empty list in time beats a late, discarded answer.
            async with asyncio.timeout(AUTOCOMPLETE_BUDGET):
                suggestions = await _in_thread(self.core.suggest, current, commands.CHOICE_LIMIT, locale)
        except TimeoutError:
            log.warning("autocomplete took longer than %.1f s; answered with no choices", AUTOCOMPLETE_BUDGET)
            return []
        limit = commands.CHOICE_TEXT_LIMIT
        return [
            # A long label is only display, so it is cut; a cut value would name another command, so it is
            # left out instead.
            app_commands.Choice(name=clip(s.label, limit), value=s.value)
            for s in suggestions[: commands.CHOICE_LIMIT]
            if s.label and s.value and len(s.value) <= limit
        ]


class PledgeTree(app_commands.CommandTree):
    """The command tree; a failure is answered privately rather than left as "did not respond"."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """Log the failure and tell the user, ephemerally."""
        log.error("Discord command failed: %s", error, exc_info=error)
        m = messages(language_of(str(interaction.locale.value) if interaction.locale else "en"))
        text = m.gettext("Something went wrong while answering that. Please try again in a moment.")
        if isinstance(error, app_commands.CheckFailure):
            text = m.gettext("You can't use that command here.")
        with contextlib.suppress(discord.HTTPException):
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)


class PledgeClient(discord.Client):
    """A gateway client (no privileged intents) whose app commands answer from the core."""

    def __init__(self, core: Core, settings: Settings) -> None:
        intents = discord.Intents.none()
        intents.guilds = True  # needed for app commands in guild channels; nothing privileged
        super().__init__(intents=intents, allowed_mentions=NO_MENTIONS)
        self.core = core
        self.settings = settings
        self.responder = Responder(
            core, editor_role=settings.discord_editor_role, desk_guilds=settings.desk_guilds
        )
        self.tree = PledgeTree(self)
        # Which scopes the last start pushed command definitions to (None is global); for logs and tests.
        self.synced: list[int | None] = []

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Answer form submissions and "Continue" buttons, and a click on a button no handler matches, which
        Discord would otherwise show as failed."""
        data = interaction.data
        custom_id = str(data.get("custom_id", "")) if data else ""
        if interaction.type is discord.InteractionType.modal_submit and custom_id.startswith(
            forms.MODAL_PREFIX
        ):
            await self.responder.submitted(interaction, custom_id.removeprefix(forms.MODAL_PREFIX))
            return
        if interaction.type is not discord.InteractionType.component:
            return
        if custom_id.startswith(forms.OPEN_PREFIX):
            await self.responder.open_form(interaction, custom_id.removeprefix(forms.OPEN_PREFIX))
            return
        if ActionButton.__discord_ui_compiled_template__.fullmatch(custom_id):
            return  # ActionButton answers it
        with contextlib.suppress(discord.HTTPException):
            locale = str(interaction.locale.value) if interaction.locale else "en"
            text = messages(language_of(locale)).gettext(UNKNOWN_BUTTON)
            await interaction.response.send_message(text, ephemeral=True)

    async def setup_hook(self) -> None:
        """Point the gateway at the configured API, register commands and buttons, and sync if needed."""
        if self.settings.discord_api_base and not isinstance(self, discord.AutoShardedClient):
            # A plain Client connects to DEFAULT_GATEWAY and never asks /gateway/bot, so ask the configured
            # API where its gateway is (rules 26-27).
            _, url, _ = await self.http.get_bot_gateway()
            DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
        await self.install()
        self.synced = await self.sync_if_changed()

    async def install(self) -> None:
        """Add the app commands (with their Korean) to the tree and the buttons that carry a command."""
        await self.tree.set_translator(commands.SpecTranslator())
        for command in commands.build(self.responder):
            self.tree.add_command(command)
        self.add_dynamic_items(ActionButton)

    async def registered(self, guild_id: int | None) -> list[dict[str, Any]]:
        """The command definitions Discord holds for a guild (or globally), with their localisations."""
        assert self.application_id is not None
        if guild_id is None:
            route = Route(
                "GET", "/applications/{application_id}/commands", application_id=self.application_id
            )
        else:
            route = Route(
                "GET",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                application_id=self.application_id,
                guild_id=guild_id,
            )
        # discord.py's own fetch leaves out localisations, which would make every start look changed.
        return await self.http.request(route, params={"with_localizations": "true"})

    async def sync_if_changed(self) -> list[int | None]:
        """Sync commands to each DISCORD_GUILD_IDS guild (else globally), only where definitions changed."""
        scopes: list[int | None] = list(self.settings.discord_guild_ids) or [None]
        translator = self.tree.translator
        assert translator is not None
        synced = []
        for guild_id in scopes:
            guild = discord.Object(id=guild_id) if guild_id is not None else None
            if guild is not None:
                self.tree.copy_global_to(guild=guild)
            local = [
                await command.get_translated_payload(self.tree, translator)
                for command in self.tree.get_commands(guild=guild)
            ]
            if same_definitions(local, await self.registered(guild_id)):
                log.info("Discord commands unchanged in %s; not syncing", guild_id or "global scope")
                continue
            await self.tree.sync(guild=guild)
            log.info("Discord commands synced to %s", guild_id or "global scope")
            synced.append(guild_id)
        return synced


class _EndpointUrlWarning(logging.Filter):
    """Drops discord.py's login warning that an Interactions Endpoint URL is set, which is wrong for a client
    that is handed HTTP interactions; `RestPledgeClient.sign_in` says instead what is wrong for its mode."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False for that warning only."""
        return not record.getMessage().startswith("Application has an interaction endpoint URL set")


class RestPledgeClient(PledgeClient):
    """The same client over REST alone: its login registers commands and buttons, and neither connects a
    gateway nor syncs. HTTP interactions are answered through it, and `pledgebot discord sync` syncs."""

    async def setup_hook(self) -> None:
        """Register commands and buttons only."""
        await self.install()

    async def sign_in(self) -> None:
        """Log in over REST (at discord.py's current `Route.BASE`) and check the application's settings.

        With DISCORD_PUBLIC_KEY, the key must be this application's (or no signature would verify), and an
        application without an Interactions Endpoint URL is told of: Discord then still uses the gateway.
        """
        token = self.settings.discord_token
        if token is None:
            raise ValueError("DISCORD_TOKEN is not set")
        quiet = _EndpointUrlWarning()
        logging.getLogger("discord.client").addFilter(quiet)
        try:
            await self.login(token.value)
        except discord.LoginFailure:
            await self.close()
            # At start-up, in one line naming the variable, rather than a traceback on the first request.
            raise ConfigError(
                "Discord rejected DISCORD_TOKEN (reset it under Bot, then paste it again)"
            ) from None
        finally:
            logging.getLogger("discord.client").removeFilter(quiet)
        application = self.application
        key = self.settings.discord_public_key
        if application is None:
            return
        if key is None:
            if application.interactions_endpoint_url is not None:
                log.warning(
                    "the application has an Interactions Endpoint URL, so Discord sends no interactions over "
                    "the gateway: clear it in the Developer Portal, or set DISCORD_PUBLIC_KEY"
                )
            return
        if application.verify_key.lower() != key:
            await self.close()
            raise ConfigError(
                "DISCORD_PUBLIC_KEY is not the public key of the application DISCORD_TOKEN belongs to "
                "(Developer Portal → General Information → Public Key)"
            )
        if application.interactions_endpoint_url is None:
            log.warning(
                "DISCORD_PUBLIC_KEY is set but the application has no Interactions Endpoint URL, so Discord "
                "still sends interactions over the gateway: set it to https://YOUR-HOST/discord/interactions"
            )


class ShardedPledgeClient(PledgeClient, discord.AutoShardedClient):
    """The same bot over several gateway shards (rules 25/49: Discord requires sharding past 2,500 guilds).

    `AutoShardedClient` reads the shard count and the gateway URL from `/gateway/bot` itself, so this works
    behind DISCORD_API_BASE too.
    """


def build_client(core: Core, settings: Settings, shards: int = 1) -> PledgeClient:
    """A Discord client for the core, not yet connected: sharded when more than one shard is recommended."""
    if shards > 1:
        return ShardedPledgeClient(core, settings)
    return PledgeClient(core, settings)


async def sync(core: Core, settings: Settings) -> list[tuple[int | None, bool]]:
    """Register the app commands where Discord's differ (each DISCORD_GUILD_IDS guild, else globally), over
    REST; each scope (None is global) with whether it was synced."""
    client = RestPledgeClient(core, settings)
    with endpoints(settings.discord_api_base):
        try:
            await client.sign_in()
            synced = await client.sync_if_changed()
        finally:
            await client.close()
    scopes: list[int | None] = [*settings.discord_guild_ids] or [None]
    return [(scope, scope in synced) for scope in scopes]


async def recommended_shards(token: str) -> int:
    """How many shards `/gateway/bot` (at discord.py's current `Route.BASE`) recommends for this bot."""
    http = discord.http.HTTPClient(asyncio.get_running_loop())
    try:
        await http.static_login(token)  # a wrong token fails here, as discord.LoginFailure
        shards, _, _ = await http.get_bot_gateway()
    finally:
        await http.close()
    return shards


async def client_for(core: Core, settings: Settings) -> PledgeClient:
    """A client of the kind the gateway recommends: plain for one shard, `AutoShardedClient` for more."""
    token = settings.discord_token
    if token is None:
        raise ValueError("DISCORD_TOKEN is not set")
    with endpoints(settings.discord_api_base):
        shards = await recommended_shards(token.value)
    client = build_client(core, settings, shards)
    if shards > 1:
        log.info("Discord recommends %d shards: connecting them all from this process", shards)
    return client


async def run(client: PledgeClient, stopping: asyncio.Event) -> None:
    """Log in, connect and answer until `stopping` is set (or the connection fails), then close cleanly."""
    token = client.settings.discord_token
    if token is None:
        raise ValueError("DISCORD_TOKEN is not set")
    with endpoints(client.settings.discord_api_base):
        connection = asyncio.create_task(client.start(token.value), name="discord-gateway")
        stop = asyncio.create_task(stopping.wait(), name="discord-stop")
        try:
            await asyncio.wait({connection, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            await client.close()
            # After close() the gateway loop ends by itself; the bound keeps shutdown inside a host's
            # 30 s SIGTERM grace even if it does not.
            await asyncio.wait({connection}, timeout=CLOSE_TIMEOUT)
            if not connection.done():
                connection.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await connection
        failure = connection.exception() if connection.done() and not connection.cancelled() else None
        if failure is not None:
            # A failed login or a fatal gateway close surfaces here instead of dying silently.
            raise failure


async def serve(core: Core, settings: Settings, stopping: asyncio.Event) -> None:
    """Run the Discord bot until `stopping` is set, then close it cleanly."""
    await run(await client_for(core, settings), stopping)


# What the bot needs in a subscribed channel: to see it, post digests as embeds, and read its recent messages
# (a retry after a failure looks for the digest there before posting again).
DIGEST_PERMISSIONS = {
    "view_channel": "View Channel",
    "send_messages": "Send Messages",
    "embed_links": "Embed Links",
    "read_message_history": "Read Message History",
}


def channel_access(permissions: discord.Permissions, m: Messages | None = None) -> str | None:
    """None when the bot's channel permissions allow digests, else a reason naming what is missing."""
    missing = [label for name, label in DIGEST_PERMISSIONS.items() if not getattr(permissions, name)]
    if not missing:
        return None
    # Permission names stay as Discord's English settings show them.
    return (
        (m or messages())
        .gettext(
            "I can't deliver digests here: I lack {permissions} in this channel. Ask a server admin "
            "to grant them to pledgebot, then subscribe again."
        )
        .format(permissions=", ".join(missing))
    )


async def post_to_channel(
    client: discord.Client, channel_id: int, reply: Reply, nonce: str, *, key: str | None = None
) -> int:
    """Post `reply` publicly in a channel by id, at most once per `nonce`; return the message id.

    Goes through REST with no need for the channel in the gateway cache. discord.py sends the nonce with
    `enforce_nonce: true`, so Discord answers a retried post with the message it already created.
    """
    if not 1 <= len(nonce) <= NONCE_LIMIT:
        raise ValueError(f"nonce must be 1 to {NONCE_LIMIT} characters")
    rendered = render(reply, key=key)
    kwargs = _send_kwargs(rendered)
    message = await client.get_partial_messageable(channel_id).send(nonce=nonce, **kwargs)
    return message.id
