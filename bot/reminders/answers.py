"""The answers to the subscription commands: subscribe a channel to its daily digest, unsubscribe, and show
one channel's or every channel's schedule."""

from __future__ import annotations

from collections.abc import Callable

from bot.catalogue import Catalogue
from bot.grammar import NO_SUCH_PLEDGE, short
from bot.i18n import Messages, language_of, localized
from bot.officials.records import Officials
from bot.registry import Request, handles
from bot.reminders.commands import Subscribe, Subscriptions, Unsubscribe
from bot.replies import ListItem, Notice, Reply
from bot.state import Subscription
from bot.state import Subscriptions as SubscriptionStore

# How many topics and pledges one channel's subscription may follow.
MAX_TOPICS = 5
MAX_PLEDGES = 10
# How many officials and regions one channel may follow.
MAX_OFFICIALS = 10
MAX_REGIONS = 5
MAX_LIST_ITEMS = 25
# Pledge ids like what was typed, for "Did you mean …?" (the lookups' autocomplete).
Suggest = Callable[[str, int, str], list[str]]


class Subscribing:
    """Keeps channels' subscriptions, checked against the catalogue before anything is written."""

    def __init__(
        self,
        subscriptions: SubscriptionStore,
        catalogue: Catalogue,
        suggest: Suggest,
        officials: Officials | None = None,
    ):
        self.subscriptions = subscriptions
        self.catalogue = catalogue
        self.suggest = suggest
        # Who `official <id>` and `region <name>` may name.
        self.officials = officials

    @handles(Subscribe)
    def subscribe(self, command: Subscribe, request: Request) -> Reply:
        """Subscribe (or change) the channel's digest, after checking that it can be posted."""
        ctx, m = request.ctx, request.m
        if not ctx.channel:
            return Reply.error(
                m.gettext("Subscriptions belong to a channel; run this command in the channel to subscribe.")
            )
        # A digest the bot cannot post, or cannot check for after a failure, would never arrive: refuse now.
        if ctx.channel_access is not None:
            reason = ctx.channel_access()
            if reason is not None:
                return Reply.error(reason)
        if ctx.place_locale and self.subscriptions.language(ctx.platform, ctx.workspace, ctx.channel) is None:
            # The place's own language (Discord's guild locale) is what its digests speak until a manager
            # chooses with /pledge language; kept now, since a scheduled post has no interaction to ask.
            place = language_of(ctx.place_locale)
            if place != "en":
                self.subscriptions.set_language(
                    ctx.platform, ctx.workspace, ctx.channel, place, ctx.user, request.now
                )
        topics, pledges, problem = self._filters(command, m)
        if problem is not None:
            return problem
        followed = self._followed(command, m)
        if isinstance(followed, Reply):
            return followed
        officials, regions = followed
        sub, created = self.subscriptions.subscribe(
            ctx.platform,
            ctx.workspace,
            ctx.channel,
            command.at,
            command.timezone,
            command.lead_days,
            ctx.user,
            request.now,
            topics=topics,
            pledges=pledges,
            updates_now=command.updates_now,
            officials=officials,
            regions=regions,
        )
        title = (
            m.gettext("Subscribed: daily digest at {schedule}")
            if created
            else m.gettext("Updated: daily digest at {schedule}")
        )
        notices = [
            Notice(m.gettext("On days when an anniversary or milestone falls due, I will post it here."))
        ]
        if sub.updates_now:
            notices.append(
                Notice(m.gettext("The desk's ratings and new quotes are posted here within a minute."))
            )
        return Reply(title=title.format(schedule=schedule(sub, m)), notices=notices, private=True)

    def _filters(
        self, command: Subscribe, m: Messages
    ) -> tuple[tuple[str, ...], tuple[str, ...], Reply | None]:
        """The subscription's topics and pledges as stored, or an error reply naming what is wrong."""
        if len(command.topics) > MAX_TOPICS or len(command.pledges) > MAX_PLEDGES:
            text = m.gettext("A channel can follow at most {topics} topics and {pledges} pledges.")
            return (), (), Reply.error(text.format(topics=MAX_TOPICS, pledges=MAX_PLEDGES))
        topics = []
        for name in command.topics:
            category = self.catalogue.category(name)
            if category is None:
                known = ", ".join(
                    localized(m, c, self.catalogue.category_ko(c)) for c, _ in self.catalogue.categories()
                )
                text = m.gettext("There is no topic “{topic}”. Topics: {known}.")
                return (), (), Reply.error(text.format(topic=short(name, 60), known=known))
            topics.append(category)
        pledges = []
        for text in command.pledges:
            pledge_id = self.catalogue.find_id(text)
            if pledge_id is None:
                close = self.suggest(text, 3, m.language)
                reply = Reply.error(m.gettext(NO_SUCH_PLEDGE).format(id=short(text, 60)))
                if close:
                    reply.notices.append(
                        Notice(m.gettext("Did you mean: {ids}?").format(ids=", ".join(close)))
                    )
                return (), (), reply
            pledges.append(pledge_id)
        return tuple(dict.fromkeys(topics)), tuple(dict.fromkeys(pledges)), None

    def _followed(self, command: Subscribe, m: Messages) -> tuple[tuple[str, ...], tuple[str, ...]] | Reply:
        """The officials (ids) and regions (as typed) the subscription follows, or an error reply."""
        if not (command.officials or command.regions):
            return (), ()
        if len(command.officials) > MAX_OFFICIALS or len(command.regions) > MAX_REGIONS:
            text = m.gettext("A channel can follow at most {officials} officials and {regions} regions.")
            return Reply.error(text.format(officials=MAX_OFFICIALS, regions=MAX_REGIONS))
        officials = []
        for text in command.officials:
            official = self.officials.get(text) if self.officials is not None else None
            if official is None:
                error = m.gettext("There is no official with the id “{id}”; /pledge officials lists them.")
                return Reply.error(error.format(id=short(text, 60)))
            officials.append(official.id)
        regions = []
        for text in command.regions:
            if self.officials is None or not self.officials.in_region(text):
                error = m.gettext("No official is in “{region}”; /pledge officials lists them.")
                return Reply.error(error.format(region=short(text, 60)))
            regions.append(" ".join(text.split()))
        return tuple(dict.fromkeys(officials)), tuple(dict.fromkeys(regions))

    @handles(Unsubscribe)
    def unsubscribe(self, command: Unsubscribe, request: Request) -> Reply:
        """Stop the channel's digest."""
        ctx, m = request.ctx, request.m
        if self.subscriptions.unsubscribe(ctx.platform, ctx.workspace, ctx.channel):
            return Reply(
                title=m.gettext("Unsubscribed"),
                notices=[Notice(m.gettext("This channel will get no more digests."))],
            )
        return Reply(notices=[Notice(m.gettext("This channel has no subscription to remove."))])

    @handles(Subscriptions)
    def subscriptions_of(self, command: Subscriptions, request: Request) -> Reply:
        """The channel's schedule, or every channel's in the workspace or server."""
        if command.everywhere:
            return self._everywhere(request)
        ctx, m = request.ctx, request.m
        sub = self.subscriptions.subscription(ctx.platform, ctx.workspace, ctx.channel)
        if sub is None:
            return Reply(
                title=m.gettext("No subscription"),
                notices=[
                    Notice(
                        m.gettext(
                            "This channel gets no digest. "
                            "Subscribe with /pledge subscribe [HH:MM] [Area/City]."
                        )
                    )
                ],
            )
        items = [
            ListItem(
                label=m.gettext("Daily digest at {schedule}").format(schedule=schedule(sub, m)),
                detail=m.gettext("set by {user}").format(user=sub.created_by),
            )
        ]
        follows = self._follows(sub, m)
        if follows:
            items.append(ListItem(label=follows, detail=m.gettext("and every election and inauguration")))
        return Reply(title=m.gettext("This channel's subscription"), items=items)

    def _everywhere(self, request: Request) -> Reply:
        """Every channel's subscription in this workspace or server, with its filters (managers only)."""
        ctx, m = request.ctx, request.m
        subs = self.subscriptions.all(ctx.platform, ctx.workspace)
        if not subs:
            return Reply(notices=[Notice(m.gettext("No channel here has a subscription."))])
        items = [
            ListItem(
                label=m.gettext("Channel {channel}: daily digest at {schedule}").format(
                    channel=sub.channel, schedule=schedule(sub, m)
                ),
                detail=self._follows(sub, m) or m.gettext("follows everything"),
            )
            for sub in subs[:MAX_LIST_ITEMS]
        ]
        return Reply(title=m.gettext("Every channel's subscription"), items=items, total=len(subs))

    def _follows(self, sub: Subscription, m: Messages) -> str:
        """What a filtered subscription follows, e.g. "Follows only: Defense", or "" when it follows all."""
        if not (sub.topics or sub.pledges or sub.officials or sub.regions):
            return ""
        names = [localized(m, t, self.catalogue.category_ko(t)) for t in sub.topics]
        for speaker in sub.officials:
            official = self.officials.get(speaker) if self.officials is not None else None
            names.append(localized(m, official.name, official.name_ko) if official else speaker)
        names += [m.gettext("region {name}").format(name=r) for r in sub.regions]
        return m.gettext("Follows only: {filters}").format(filters=", ".join(names + list(sub.pledges)))


def schedule(sub: Subscription, m: Messages) -> str:
    """When a subscription's digest is posted, e.g. "08:30 America/New_York, with 3 days' notice"."""
    ahead = (
        m.ngettext(", with {n} day's notice", ", with {n} days' notice", sub.lead_days).format(
            n=sub.lead_days
        )
        if sub.lead_days
        else ""
    )
    return f"{sub.local_time.strftime('%H:%M')} {sub.timezone}{ahead}"
