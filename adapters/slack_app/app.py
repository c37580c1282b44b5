"""The Bolt app: `/pledge` and its buttons, translated into one core call each and rendered as Block Kit.

Every listener acknowledges first and works afterwards: Slack gives up after three seconds, and the core
touches the database. Answers travel through the request's `response_url`, except a shared card, which is
posted to the channel with `chat.postMessage` so that it is an ordinary public message. Web API calls go
through the client Bolt hands each listener, which holds the token of the request's own workspace: the one
bot token, or (distribution, `adapters/slack_app/installations.py`) that workspace's installation's.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack_app import installations as distribution
from adapters.slack_app.installations import PLATFORM
from adapters.slack_app.render import (
    ACTION_ID_PATTERN,
    FORM_CALLBACK_ID,
    PICK_ACTION_ID,
    PICK_BLOCK_PREFIX,
    SHARE_ACTION_ID,
    checking_view,
    fits_metadata,
    render,
    render_error,
    render_form,
    result_view,
    submitted_values,
    unescape,
    view_with_errors,
)
from bot import logs
from bot.config import Settings
from bot.i18n import N_, Messages, language_of, messages
from bot.installations import Installations
from bot.replies import Context, Form, Level, Notice, Policy, Refusal, Reply

log = logging.getLogger(__name__)

# Who may do what on Slack, in the words the core's refusals and the editors list use; Slack has modals.
POLICY = Policy(
    refusals={
        Refusal.SUBSCRIPTION: N_(
            "Only a workspace admin or someone on the bot's admin list can change this channel's "
            "subscription."
        ),
        Refusal.LANGUAGE: N_(
            "Only a workspace admin or someone on the bot's admin list can change this channel's language."
        ),
        Refusal.CHOOSE_EDITORS: N_(
            "Only a workspace admin or someone on the bot's admin list can choose editors."
        ),
        Refusal.EDIT: N_(
            "Only workspace admins and owners, the people in SLACK_EDITORS and the editors list "
            "(/pledge editors) can edit the catalogue."
        ),
    },
    other_editors=N_("Workspace admins and owners may edit too, and anyone on the bot's SLACK_EDITORS list."),
    forms=True,
)
# Longer than any sane lookup; the thread cannot be killed, but the user gets an answer instead of silence.
CORE_TIMEOUT = 10.0
# Caching admin status keeps users.info off the path of most commands; editing rights may rest on it, and the
# desk promises they follow Slack within a minute.
MEMBER_CACHE_SECONDS = 60.0
USERS_INFO_TIMEOUT = 3.0
# What AsyncWebhookClient allows a response_url post when it opens its own session (slack_sdk's default).
RESPONSE_URL_TIMEOUT = 30.0
# Slack asks for about one message per second per channel (api.slack.com/docs/rate-limits).
POST_INTERVAL = 1.0

# Subscribing checks the bot can read and post in the channel (a blocking call from the core's thread).
CHANNEL_CHECK_TIMEOUT = 5.0
NOT_INVITED = N_(
    "I can't read this channel yet: invite me first with /invite @pledgebot, then subscribe again."
)
MISSING_SCOPE = N_(
    "I can't read this channel: the app lacks the {scope} scope. Ask a workspace admin to reinstall it from "
    "slack-manifest.yaml, then subscribe again."
)
CHANNEL_CHECK_FAILED = N_(
    "I couldn't check that I can read this channel ({error}); please try again in a moment."
)
CORE_FAILED = N_("Sorry, something went wrong while answering that. Please try again in a moment.")
CORE_SLOW = N_("Sorry, that took too long to answer. Please try again in a moment.")
UPLOAD_FAILED = N_("The card was shared, but its image could not be uploaded ({error}).")
# A submission may fetch a page (10 s timeout, redirects): it gets longer than a command.
SUBMIT_TIMEOUT = 30.0
FORM_TOO_LARGE = N_("Sorry, this form is too large to open in Slack. Please use the command form instead.")
FORM_EXPIRED = N_(
    "Slack no longer lets me open this form (it waited too long). Please run the command again."
)
VIEW_GONE = N_("The form was closed before the answer came; here it is.")
SHARE_FAILED = N_(
    "I couldn't post in this channel ({error}). If it is private, invite me with `/invite @pledgebot` "
    "and try again."
)


class Handler(Protocol):
    """What the adapter needs from the core: one synchronous call per command, and a health check."""

    def handle(self, text: str, ctx: Context) -> Reply:
        """Answer the command `text` asked in `ctx`."""
        ...

    def healthy(self) -> bool:
        """True if the core can answer (its database responds); `/healthz` reports it."""
        ...

    def submit(self, form: str, state: str, values: dict[str, str], ctx: Context) -> Reply:
        """Answer a filled-in form: its next step, errors per field, or the outcome."""
        ...

    def is_editor(self, platform: str, workspace: str, user: str) -> bool:
        """True when `user` is on the workspace's stored editors list."""
        ...

    def channel_language(self, ctx: Context) -> str:
        """The language of public posts in the context's channel: a shared card is written in it."""
        ...


def make_client(settings: Settings) -> AsyncWebClient:
    """Build the Web API client: configured base URL, retries on 429 (Retry-After) and lost connections."""
    token = settings.slack_bot_token.value if settings.slack_bot_token is not None else None
    options: dict[str, Any] = {}
    if settings.slack_api_url:
        options["base_url"] = settings.slack_api_url
    return AsyncWebClient(
        token=token,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=3),
            AsyncRateLimitErrorRetryHandler(max_retry_count=5),
        ],
        **options,
    )


async def post_message(
    client: AsyncWebClient, channel: str, payload: dict[str, Any], *, metadata: dict[str, Any] | None = None
) -> str:
    """Post a rendered message to `channel` with chat.postMessage and return its ts."""
    response = await client.chat_postMessage(
        channel=channel,
        text=payload["text"],
        blocks=payload.get("blocks"),
        metadata=metadata,
        unfurl_links=False,
        unfurl_media=False,
    )
    return str(response["ts"])


class ChannelPacer:
    """Spaces posts to one channel at least `interval` seconds apart."""

    def __init__(self, interval: float = POST_INTERVAL, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._next: dict[str, float] = {}

    def delay(self, channel: str) -> float:
        """Reserve the next slot for `channel` and return how long to wait for it."""
        now = self._clock()
        slot = max(now, self._next.get(channel, now))
        self._next[channel] = slot + self.interval
        return slot - now

    async def wait(self, channel: str) -> None:
        """Wait for `channel`'s next slot."""
        delay = self.delay(channel)
        if delay > 0:
            await asyncio.sleep(delay)


class Listeners:
    """The app's listeners and the little state they share (member cache, pacing, work in flight)."""

    def __init__(
        self,
        core: Handler,
        settings: Settings,
        client: AsyncWebClient,
        *,
        core_timeout: float = CORE_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.core = core
        self.clock = clock
        self.settings = settings
        # The app's own client: the one workspace's token, or none with distribution, where every call goes
        # through the request's client instead.
        self.client = client
        self.core_timeout = core_timeout
        self.pacer = ChannelPacer()
        # Admin status and locale by (workspace, user): a member of several workspaces of an org may be an
        # admin in one only.
        self._members: dict[tuple[str, str], tuple[float, bool, str]] = {}
        self._in_flight: set[asyncio.Task[Any]] = set()
        # Views whose submission is being answered: a second submission of one (a double click, Slack's
        # retry) is acknowledged and left alone, so it can never make a second edit.
        self._submitting: set[str] = set()
        # Stateless (the retry count lives in each request's RetryState), so one list serves every post.
        self._retry_handlers = [
            AsyncConnectionErrorRetryHandler(max_retry_count=3),
            AsyncRateLimitErrorRetryHandler(),
        ]
        self._session: aiohttp.ClientSession | None = None
        self._session_loop: asyncio.AbstractEventLoop | None = None

    def register(self, app: AsyncApp) -> None:
        """Attach the listeners to `app`."""
        app.command("/pledge")(self.on_command)
        app.action(ACTION_ID_PATTERN)(self.on_action)
        app.view_submission(FORM_CALLBACK_ID)(self.on_submission)

    async def on_command(self, ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        """Answer `/pledge <text>` privately (or publicly, if the core says so) through response_url."""
        await ack()
        with self._tracked(), self._contained("command"):
            user = body.get("user_id", "")
            ctx = await self.context(body.get("team_id", ""), body.get("channel_id", ""), user, client)
            # Slack escapes &, < and > in what the user typed; the core gets the text as typed, and the
            # renderer escapes it again on the way out, so the user sees it once, as typed.
            reply = await self._handle(unescape(body.get("text") or ""), ctx)
            response_url = body.get("response_url", "")
            if reply is not None and reply.form is not None:
                await self.open_form(reply.form, body.get("trigger_id", ""), ctx, response_url, client)
                return
            payload = render(reply) if reply is not None else render_error(CORE_FAILED, ctx.locale)
            await self.respond(response_url, payload)

    async def on_action(
        self, ack: Any, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """Run a button's command: Share posts the card to the channel, More answers privately."""
        await ack()
        with self._tracked(), self._contained("button"):
            user = (body.get("user") or {}).get("id", "")
            team = _team_of(body)
            container = body.get("container") or {}
            channel = (body.get("channel") or {}).get("id") or container.get("channel_id", "")
            ctx = await self.context(team, channel, user, client)
            command = str(action.get("value", ""))
            if str(action.get("action_id", "")).startswith(PICK_ACTION_ID):
                # A picker completes the command its block names with the chosen person. Only the command
                # and the person come from the payload; who may run it is decided above, from Slack.
                command = f"{str(action.get('block_id', '')).removeprefix(PICK_BLOCK_PREFIX)} "
                command += str(action.get("selected_user") or "")
            response_url = body.get("response_url", "")
            if str(action.get("action_id", "")).startswith(SHARE_ACTION_ID):
                await self._share(command, ctx, response_url, client)
                return
            reply = await self._handle(command, ctx)
            if reply is not None and reply.form is not None:
                await self.open_form(reply.form, body.get("trigger_id", ""), ctx, response_url, client)
                return
            payload = render(reply) if reply is not None else render_error(CORE_FAILED, ctx.locale)
            # Paging through a private answer replaces it instead of stacking copies.
            if container.get("is_ephemeral"):
                payload["replace_original"] = True
            await self.respond(response_url, payload)

    async def open_form(
        self,
        form: Form,
        trigger_id: str,
        ctx: Context,
        response_url: str,
        client: AsyncWebClient,
    ) -> None:
        """Open the core's form as a modal (views.open, within the 3 s the trigger lives); on failure, say so
        where the command was typed."""
        m = messages(language_of(ctx.locale))
        if not fits_metadata(form, ctx.channel):
            log.warning("a form's state is longer than a Slack modal carries; not opened")
            await self.respond(response_url, render_error(FORM_TOO_LARGE, ctx.locale))
            return
        view = render_form(form, m, channel=ctx.channel)
        try:
            await client.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as e:
            error = str(e.response.get("error", "unknown error"))
            log.warning("views.open failed: %s", error)
            text = FORM_EXPIRED if error in ("expired_trigger_id", "invalid_trigger_id") else CORE_FAILED
            await self.respond(response_url, render_error(text, ctx.locale))

    async def on_submission(
        self, ack: Any, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """A submitted form: answered at once with a "checking" view (Slack waits 3 s, a fetch takes longer),
        then `Core.submit` runs and its answer replaces that view through views.update."""
        user = (body.get("user") or {}).get("id", "")
        locale = self._members.get((_team_of(body), user), (0.0, False, "en"))[2]
        m = messages(language_of(locale))
        title = str((view.get("title") or {}).get("text") or "pledgebot")
        await ack(response_action="update", view=checking_view(title, m))
        view_id = str(view.get("id", ""))
        if view_id in self._submitting:
            log.info("a form was submitted again while its first submission was being answered; ignored")
            return
        self._submitting.add(view_id)
        with self._tracked(), self._contained("form"):
            try:
                await self._submit(body, view, view_id, title, client)
            finally:
                self._submitting.discard(view_id)

    async def _submit(
        self, body: dict[str, Any], view: dict[str, Any], view_id: str, title: str, client: AsyncWebClient
    ) -> None:
        user = (body.get("user") or {}).get("id", "")
        team = _team_of(body)
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
        except ValueError:
            meta = {}
        # Rights are decided again, from Slack and the editors list, never from what the view carries.
        ctx = await self.context(team, str(meta.get("channel", "")), user, client)
        reply = await self._handle_submit(
            str(meta.get("form", "")), str(meta.get("state", "")), submitted_values(view), ctx
        )
        m = messages(language_of(ctx.locale))
        if reply is None:
            reply = Reply(notices=[Notice(m.gettext(CORE_FAILED), Level.ERROR)], language=m.language)
        if reply.form is not None and not fits_metadata(reply.form, ctx.channel):
            log.warning("a form's next step is longer than a Slack modal carries; not shown")
            reply = Reply(notices=[Notice(m.gettext(FORM_TOO_LARGE), Level.ERROR)], language=m.language)
        if reply.form is not None:
            # The next step, or the same form again with its errors beside the fields.
            next_view = render_form(reply.form, reply.messages, reply.field_errors, channel=ctx.channel)
        elif reply.field_errors:
            next_view = view_with_errors(view, reply.field_errors)
        else:
            next_view = result_view(title, reply)
        try:
            await client.views_update(view_id=view_id, view=next_view)
        except SlackApiError as e:
            log.warning("views.update failed: %s", e.response.get("error", "unknown error"))
            await self._post_privately(ctx, reply, m, client)

    async def _post_privately(self, ctx: Context, reply: Reply, m: Messages, client: AsyncWebClient) -> None:
        """The answer to a form whose modal is gone (closed by the user), as a private message in the channel
        the form was opened from."""
        if not ctx.channel or reply.form is not None:
            return
        payload = render(reply)
        try:
            await client.chat_postEphemeral(
                channel=ctx.channel,
                user=ctx.user,
                text=f"{m.gettext(VIEW_GONE)} {payload['text']}",
                blocks=payload["blocks"],
            )
        except SlackApiError as e:
            log.warning("chat.postEphemeral failed: %s", e.response.get("error", "unknown error"))

    async def _handle_submit(
        self, form: str, state: str, values: dict[str, str], ctx: Context
    ) -> Reply | None:
        try:
            async with asyncio.timeout(SUBMIT_TIMEOUT):
                return await asyncio.to_thread(self.core.submit, form, state, values, ctx)
        except TimeoutError:
            log.warning("the core took longer than %.1f s on a Slack form", SUBMIT_TIMEOUT)
            language = language_of(ctx.locale)
            return Reply(
                notices=[Notice(messages(language).gettext(CORE_SLOW), Level.ERROR)], language=language
            )
        except Exception:
            log.exception("the core failed on a Slack form")
            return None

    async def _share(self, command: str, ctx: Context, response_url: str, client: AsyncWebClient) -> None:
        # A shared card is public: written in the channel's language, not the sharer's.
        try:
            language = await asyncio.to_thread(self.core.channel_language, ctx)
        except Exception:
            log.exception("reading the channel's language failed; sharing in English")
            language = "en"
        reply = await self._handle(command, dataclasses.replace(ctx, locale=language))
        if reply is None or reply.is_error:
            payload = render(reply) if reply is not None else render_error(CORE_FAILED, ctx.locale)
            await self.respond(response_url, payload)
            return
        payload = render(reply, shared_by=ctx.user)
        payload.pop("response_type")
        await self.pacer.wait(ctx.channel)
        try:
            await post_message(client, ctx.channel, payload)
        except SlackApiError as e:
            error = str(e.response.get("error", "unknown error"))
            log.warning("chat.postMessage failed for a shared card: %s", error)
            await self.respond(response_url, render_error(SHARE_FAILED, ctx.locale, error=error))
            return
        await self._upload(reply, ctx, response_url, client)

    async def _upload(self, reply: Reply, ctx: Context, response_url: str, client: AsyncWebClient) -> None:
        """Post a shared reply's files (a quote card's image) in the channel, after its message.

        Uploads are public, so only a shared reply's files are uploaded (files upload v2, `files:write`); a
        private answer names the image by its link on the site instead.
        """
        for attachment in reply.files:
            try:
                await client.files_upload_v2(
                    channel=ctx.channel,
                    file=attachment.data,
                    filename=attachment.name,
                    title=reply.title or attachment.name,
                    # Slack's alt text holds at most 1,000 characters.
                    alt_txt=attachment.description[:1000],
                )
            except (SlackApiError, SlackRequestError) as e:
                error = (
                    str(e.response.get("error", "unknown error"))
                    if isinstance(e, SlackApiError)
                    else "upload"
                )
                log.warning("uploading a shared card's image failed: %s", error)
                await self.respond(response_url, render_error(UPLOAD_FAILED, ctx.locale, error=error))
                return

    async def _handle(self, text: str, ctx: Context) -> Reply | None:
        try:
            # asyncio.timeout, not wait_for: the same bound without wrapping the call in one more task.
            async with asyncio.timeout(self.core_timeout):
                return await asyncio.to_thread(self.core.handle, text, ctx)
        except TimeoutError:
            log.warning("the core took longer than %.1f s on a Slack command", self.core_timeout)
            language = language_of(ctx.locale)
            return Reply(
                notices=[Notice(messages(language).gettext(CORE_SLOW), Level.ERROR)], language=language
            )
        except Exception:
            log.exception("the core failed on a Slack command")
            return None

    async def respond(self, response_url: str, payload: dict[str, Any]) -> None:
        """Send `payload` to a response_url, retrying lost connections; log (never raise) failures."""
        if not response_url:
            log.warning("a Slack request arrived without a response_url; the answer was dropped")
            return
        webhook = AsyncWebhookClient(
            url=response_url, session=self._webhook_session(), retry_handlers=self._retry_handlers
        )
        try:
            response = await webhook.send_dict(payload)
        except Exception as e:
            log.warning("posting to response_url failed: %s", type(e).__name__)
            return
        if response.status_code != 200:
            log.warning("response_url answered HTTP %s", response.status_code)

    def _webhook_session(self) -> aiohttp.ClientSession:
        """One HTTP session for every response_url post, so answers reuse kept-alive connections.

        Without it AsyncWebhookClient opens (and closes) a session, and so a new connection, per answer. Like
        those sessions it keeps no cookies and has no cap on connections; it belongs to the running loop.
        """
        session, loop = self._session, asyncio.get_running_loop()
        if session is None or session.closed or self._session_loop is not loop:
            self._session_loop = loop
            session = self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0),
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=aiohttp.ClientTimeout(total=RESPONSE_URL_TIMEOUT),
            )
        return session

    async def close(self) -> None:
        """Close the response_url session (after `drain`, at shutdown)."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def _member(self, workspace: str, user: str, client: AsyncWebClient) -> tuple[bool, str]:
        cached = self._members.get((workspace, user))
        now = self.clock()
        if cached is not None and now - cached[0] < MEMBER_CACHE_SECONDS:
            return cached[1], cached[2]
        try:
            response = await asyncio.wait_for(
                client.users_info(user=user, include_locale=True), USERS_INFO_TIMEOUT
            )
        except (SlackApiError, TimeoutError, OSError) as e:
            # Fail closed: someone whose role cannot be checked is not an admin (not cached, so it heals).
            log.warning("users.info failed, treating the user as a non-admin: %s", type(e).__name__)
            return False, "en"
        member = response.get("user") or {}
        admin = bool(member.get("is_admin") or member.get("is_owner") or member.get("is_primary_owner"))
        locale = str(member.get("locale") or "en").split("-")[0].lower() or "en"
        self._members[(workspace, user)] = (now, admin, locale)
        return admin, locale

    async def context(
        self, workspace: str, channel: str, user: str, client: AsyncWebClient | None = None
    ) -> Context:
        """Who asked, where, and what they may do: Slack's answer on admins (at most 60 s old), the settings'
        lists, and the editors list as stored now; Slack is asked through `client` (the request's)."""
        client = client or self.client
        # Every log line of this request's task from here on says where it came from (`bot.logs`).
        logs.begin(PLATFORM, workspace, channel)
        workspace_admin, locale = await self._member(workspace, user, client)
        admin = workspace_admin or user in self.settings.slack_admins
        can_edit = workspace_admin or user in self.settings.slack_editors
        if not can_edit:
            can_edit = await self._on_editors_list(workspace, user)
        loop = asyncio.get_running_loop()
        m = messages(language_of(locale))

        def channel_access() -> str | None:
            # The core runs in a worker thread (asyncio.to_thread): ask the loop, with a bound.
            future = asyncio.run_coroutine_threadsafe(self.channel_access(channel, m, client), loop)
            try:
                return future.result(timeout=CHANNEL_CHECK_TIMEOUT)
            except TimeoutError:
                future.cancel()
                return m.gettext(CHANNEL_CHECK_FAILED).format(error="Slack took too long to answer")

        return Context(
            platform=PLATFORM,
            workspace=workspace,
            channel=channel,
            user=user,
            locale=locale,
            can_manage=admin,
            channel_access=channel_access,
            can_edit=can_edit,
            can_choose_editors=admin,
            # With PLEDGEBOT_DESK_WORKSPACES, the desk's commands work in those workspaces only.
            desk_place=not self.settings.desk_workspaces or workspace in self.settings.desk_workspaces,
            policy=POLICY,
        )

    async def _on_editors_list(self, workspace: str, user: str) -> bool:
        """Whether the stored editors list names `user`, read on every command so a removal counts at once."""
        try:
            async with asyncio.timeout(self.core_timeout):
                return await asyncio.to_thread(self.core.is_editor, PLATFORM, workspace, user)
        except Exception as e:
            # Fail closed, as for users.info: someone whose rights cannot be read may not edit.
            log.warning(
                "reading the editors list failed; treating the user as a non-editor: %s", type(e).__name__
            )
            return False

    async def channel_access(self, channel: str, m: Messages, client: AsyncWebClient) -> str | None:
        """None when the bot can read and post in `channel` (joined if public), else a reason for the user.

        Digests are checked for in the channel's history before any retry, so a channel the bot cannot read
        would never get one after a failure.
        """
        try:
            info = (await client.conversations_info(channel=channel)).get("channel") or {}
        except SlackApiError as e:
            error = str(e.response.get("error", "unknown error"))
            if error == "channel_not_found":
                return m.gettext(NOT_INVITED)
            if error == "missing_scope":
                return m.gettext(MISSING_SCOPE).format(scope="channels:read / groups:read")
            return m.gettext(CHANNEL_CHECK_FAILED).format(error=error)
        except Exception as e:
            return m.gettext(CHANNEL_CHECK_FAILED).format(error=type(e).__name__)
        private = bool(info.get("is_private") or info.get("is_group"))
        if not info.get("is_member", True):
            if private:
                return m.gettext(NOT_INVITED)
            try:
                await client.conversations_join(channel=channel)
            except SlackApiError as e:
                error = str(e.response.get("error", "unknown error"))
                if error == "missing_scope":
                    return m.gettext(MISSING_SCOPE).format(scope="channels:join")
                return m.gettext(CHANNEL_CHECK_FAILED).format(error=error)
        try:
            await client.conversations_history(channel=channel, limit=1)
        except SlackApiError as e:
            error = str(e.response.get("error", "unknown error"))
            if error == "missing_scope":
                return m.gettext(MISSING_SCOPE).format(
                    scope="groups:history" if private else "channels:history"
                )
            return m.gettext(CHANNEL_CHECK_FAILED).format(error=error)
        except Exception as e:
            return m.gettext(CHANNEL_CHECK_FAILED).format(error=type(e).__name__)
        return None

    def _tracked(self) -> _InFlight:
        return _InFlight(self._in_flight)

    @staticmethod
    def _contained(what: str) -> _Contained:
        return _Contained(what)

    async def drain(self, timeout: float) -> None:
        """Wait (at most `timeout` seconds) for answers already being worked on, so a shutdown loses none.

        Answers that start while draining (a request acknowledged just after the signal) are waited for too.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while pending := {t for t in self._in_flight if not t.done()}:
            remaining = deadline - loop.time()
            if remaining <= 0:
                log.warning("%d answer(s) still in flight at shutdown were abandoned", len(pending))
                return
            await asyncio.wait(pending, timeout=remaining)


def _team_of(body: dict[str, Any]) -> str:
    """The workspace of an interactive payload (with an org-wide install, `team` may be null)."""
    return (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id", "")


class _Contained:
    """Log and swallow any exception: after ack(), Bolt turns a listener error into a wrong HTTP answer.

    Bolt's error handler resets the ack it already has to None when a listener raises soon after acking
    (`slack_bolt/listener/asyncio_runner.py`), and the request then gets a 404 "unhandled request".
    """

    def __init__(self, what: str) -> None:
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: object) -> bool:
        if isinstance(error, Exception):
            log.error("the Slack %s listener failed: %s", self.what, type(error).__name__, exc_info=error)
            return True
        return False


class _InFlight:
    def __init__(self, tasks: set[asyncio.Task[Any]]) -> None:
        self._tasks = tasks
        self._task: asyncio.Task[Any] | None = None

    def __enter__(self) -> None:
        self._task = asyncio.current_task()
        if self._task is not None:
            self._tasks.add(self._task)

    def __exit__(self, *exc: object) -> None:
        self._tasks.discard(self._task)


def build(
    core: Handler,
    settings: Settings,
    *,
    client: AsyncWebClient | None = None,
    core_timeout: float = CORE_TIMEOUT,
    installations: Installations | None = None,
) -> tuple[AsyncApp, Listeners]:
    """Build the Bolt app and return it with its listeners (for draining at shutdown).

    With distribution (`Settings.slack_oauth`), `installations` is where workspaces' installations, the
    OAuth states and the installation log are kept; the app then runs Bolt's OAuth flow over them.
    """
    client = client or make_client(settings)
    secret = settings.slack_signing_secret
    oauth: dict[str, Any] = {}
    store = None
    if settings.slack_oauth:
        if installations is None:
            raise ValueError("Slack distribution needs the state store's installations")
        store = distribution.SlackInstallations(installations, settings)
        oauth = {
            "oauth_flow": distribution.oauth_flow(settings, store, distribution.OAuthStates(installations)),
            "authorize": distribution.Authorize(store),
            "user_facing_authorize_error_message": distribution.NOT_INSTALLED,
        }
    app = AsyncApp(
        name="pledgebot",
        client=client,
        # Socket Mode needs no signing secret; Bolt reads the environment when given None, so pass "".
        signing_secret=secret.value if secret is not None else "",
        # Ack is returned to Slack as soon as ack() is called; the answer follows from a background task.
        process_before_response=False,
        request_verification_enabled=True,
        **oauth,
    )
    listeners = Listeners(core, settings, client, core_timeout=core_timeout)
    listeners.register(app)
    if store is not None:
        distribution.register(app, store)
    return app, listeners


def build_app(
    core: Handler,
    settings: Settings,
    *,
    client: AsyncWebClient | None = None,
    core_timeout: float = CORE_TIMEOUT,
    installations: Installations | None = None,
) -> AsyncApp:
    """Build the Bolt app serving `/pledge` and its buttons on top of `core`."""
    return build(core, settings, client=client, core_timeout=core_timeout, installations=installations)[0]


async def serve(core: Handler, settings: Settings, stopping: asyncio.Event, **options: Any) -> None:
    """Serve Slack (Socket Mode or HTTP) until `stopping` is set; see `adapters.slack_app.server.serve`."""
    # Imported here because the transport module builds on this one.
    from adapters.slack_app.server import serve as run

    await run(core, settings, stopping, **options)
