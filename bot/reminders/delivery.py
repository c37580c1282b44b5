"""Delivery: which subscriptions are due, the digest each gets, and posting it exactly once.

Each adapter implements `Deliverer` for its platform (Slack and Discord through `bot.reminders.posting`,
which posts a long digest in parts, each once). A pass looks at every subscription, finds the local
dates whose scheduled time has passed within the grace period, claims each in the ledger, posts through the
platform's deliverer and records the outcome. The claim, renewed while the post is in flight, makes two
schedulers (or a retrying client) safe; the deliverer's `retry` check (the digest's key looked up in the
channel) makes a crash between posting and recording safe, and a deliverer that cannot look raises
`CannotCheck`, which leaves the day uncertain rather than posting blind.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.clock import Clock, utc_now
from bot.i18n import language_of, messages
from bot.journal import Journal
from bot.metrics import Metrics
from bot.reminders.digests import Digests
from bot.reminders.ledger import Claim, Key, Ledger, Outcome
from bot.replies import Reply
from bot.state import Subscription, Subscriptions

log = logging.getLogger(__name__)

# How far back a pass looks for days an outage left unclaimed, to post them late as missed.
MISSED_DAYS = 7


class Deliverer(Protocol):
    """Posts a digest to one platform's channel."""

    async def deliver(self, subscription: Subscription, digest: Reply, key: str, *, retry: bool) -> str:
        """Post `digest` to the subscription's channel and return a reference to the message.

        `key` identifies this digest (at most 25 characters). When `retry` is true an earlier attempt may
        have posted it already: the deliverer must look for `key` in the channel first, and raise
        `CannotCheck` when it cannot look, so that nothing is posted blind.
        """
        ...


class CannotCheck(Exception):
    """A deliverer could not find out whether a digest was already posted (an error, a missing scope)."""


class Unreachable(Exception):
    """The bot can no longer post to the subscription's place (the app was removed from its workspace), so
    nothing was posted: the post is skipped, not retried."""


@dataclass
class PassReport:
    """What one delivery pass did."""

    sent: list[tuple[int, dt.date]] = field(default_factory=list)
    empty: list[tuple[int, dt.date]] = field(default_factory=list)
    # Too late, or (also announcements, by edit id) no longer postable: the app left the workspace.
    skipped: list[tuple[int, dt.date | int]] = field(default_factory=list)
    # (subscription, local date) of a digest, or (subscription, edit id) of an announcement.
    failed: list[tuple[int, dt.date | int]] = field(default_factory=list)
    # Days an outage left unclaimed, posted late under "Missed while we were offline" (also in `sent`).
    missed: list[tuple[int, dt.date]] = field(default_factory=list)
    # The desk's edits posted to `updates now` channels, as (subscription, edit id).
    announced: list[tuple[int, int]] = field(default_factory=list)


def digest_key(subscription_id: int, local_date: dt.date) -> str:
    """The platform-side idempotency key of one digest (a Discord nonce allows at most 25 characters)."""
    return f"pb-{subscription_id}-{local_date:%Y%m%d}"


def announcement_key(subscription_id: int, edit_id: int) -> str:
    """The platform-side idempotency key of one desk edit's post: "pb-<sub>-e<edit>" (≤ 25 characters for
    ids up to 10 digits each)."""
    return f"pb-{subscription_id}-e{edit_id}"


def part_key(key: str, part: int) -> str:
    """The key of one part of a digest posted in several messages: "pb-<sub>-<yyyymmdd>-<n>" (≤ 25 chars
    for subscription ids up to 10 digits and up to 99 parts)."""
    return f"{key}-{part}"


def scheduled_at(subscription: Subscription, local_date: dt.date) -> dt.datetime:
    """The aware moment a subscription's digest for `local_date` is due.

    A local time that a daylight-saving change skips is taken as the same wall time after the change
    (zoneinfo's fold=0), so that day is neither skipped nor doubled.
    """
    zone = ZoneInfo(subscription.timezone)
    naive = dt.datetime.combine(local_date, subscription.local_time)
    aware = naive.replace(tzinfo=zone)
    # Round-tripping through UTC normalises a nonexistent wall time (spring forward) to a real instant.
    return aware.astimezone(dt.UTC).astimezone(zone)


class DeliveryService:
    """Runs delivery passes over every subscription through the deliverers of the configured platforms."""

    def __init__(
        self,
        digests: Digests,
        journal: Journal,
        subscriptions: Subscriptions,
        ledger: Ledger[dt.date],
        deliverers: dict[str, Deliverer],
        *,
        grace: dt.timedelta = dt.timedelta(hours=6),
        clock: Clock = utc_now,
        announcements: Ledger[int] | None = None,
        metrics: Metrics | None = None,
    ):
        self.digests = digests
        self.journal = journal
        self.subscriptions = subscriptions
        self.ledger = ledger
        # The ledger of the desk's posts to `updates now` channels; without it they get none.
        self.announcements = announcements
        self.deliverers = deliverers
        self.grace = grace
        self.clock = clock
        # Set at shutdown: a running pass finishes the digest in hand and starts no other.
        self.stopping = False
        # Digests posted, retried and failed, and the oldest still unposted (`bot.metrics`).
        self.metrics = metrics or Metrics()
        self.metrics.delivering(deliverers)

    async def run_pass(
        self, now: dt.datetime | None = None, *, only: Iterable[int] | None = None, rerun: bool = False
    ) -> PassReport:
        """Deliver every digest due at `now` (default: the clock) that is not delivered yet.

        `rerun` is an operator replaying a day (`pledgebot deliver --at`): it also covers subscriptions made
        after that day's time, which a live pass leaves for the next day rather than post on subscribing.
        """
        now = now or self.clock()
        wanted = set(only) if only is not None else None
        report = PassReport()
        # Only platforms this process can post to: another process (or a later run with the credentials)
        # serves the rest, and claiming their days here would only churn the ledger.
        subscriptions = [
            s
            for s in self.subscriptions.all()
            if s.platform in self.deliverers and (wanted is None or s.id in wanted)
        ]
        candidates = [(s, d) for s in subscriptions for d in self._dates(s, now, rerun)]
        done = self.ledger.states([(s.id, d) for s, d in candidates])
        first: dict[int, dt.date | None] = {}
        for subscription, local_date in candidates:
            if self.stopping:
                break
            state = done.get((subscription.id, local_date))
            if state in ("sent", "empty", "skipped"):
                continue
            due = scheduled_at(subscription, local_date)
            if now - due > self.grace:
                if state is None and subscription.id not in first:
                    first[subscription.id] = self.ledger.first_date(subscription.id)
                earliest = first.get(subscription.id)
                if state is None and earliest is not None and earliest < local_date:
                    # Passes ran for this subscription before, yet nobody claimed this day: the bot was down.
                    # Posted now, once, under "Missed while we were offline".
                    await self._deliver(subscription, local_date, now, report, missed=True)
                    continue
                # An uncertain claim (it may have posted; nobody could check in time) is never posted late,
                # nor is a day before the first pass that ever ran for this subscription.
                if self.ledger.skip(subscription.id, local_date):
                    log.warning(
                        "digest for subscription %d on %s missed its grace period (due %s), or could not be "
                        "checked after a failure until then; skipped",
                        subscription.id,
                        local_date,
                        due.isoformat(),
                    )
                    report.skipped.append((subscription.id, local_date))
                continue
            await self._deliver(subscription, local_date, now, report)
        if only is None and not self.stopping:
            # Every minute's catch-up pass: `updates now` channels get the desk's changes within a minute.
            await self._announce(subscriptions, now, report)
        if only is None:
            # Only a full pass sees every subscription; its failed days are the due ones still unposted.
            unposted = {(s.id, d): scheduled_at(s, d) for s, d in candidates}
            self.metrics.unposted(min((unposted[k] for k in report.failed if k in unposted), default=None))
        return report

    async def _announce(
        self, subscriptions: list[Subscription], now: dt.datetime, report: PassReport
    ) -> None:
        """Post each recent desk edit once to each `updates now` channel that follows it, and a correction
        for one posted there and undone since; an edit undone before it was posted is never posted."""
        following = [s for s in subscriptions if s.updates_now]
        if self.announcements is None or not following:
            return
        # Up to and including `now` (the end is exclusive); older than the grace period is too late to post.
        edits = self.journal.desk_between(now - self.grace, now + dt.timedelta(microseconds=1))
        undone = {e.undoes for e in edits if e.undoes is not None}
        for subscription in following:
            language = self.subscriptions.language(
                subscription.platform, subscription.workspace, subscription.channel
            )
            for edit in edits:
                if self.stopping:
                    return
                if edit.at < subscription.created_at or edit.id in undone:
                    continue
                if edit.undoes is not None:
                    target = self.journal.get(edit.undoes)
                    if target is None or self.announcements.state(subscription.id, target.id) != "sent":
                        continue
                    post = self.digests.announcement(
                        target,
                        language or "en",
                        correction=True,
                        topics=subscription.topics,
                        pledges=subscription.pledges,
                        speakers=self.digests.followed(subscription.officials, subscription.regions),
                    )
                else:
                    post = self.digests.announcement(
                        edit,
                        language or "en",
                        topics=subscription.topics,
                        pledges=subscription.pledges,
                        speakers=self.digests.followed(subscription.officials, subscription.regions),
                    )
                if post is None:
                    continue
                claim = self.announcements.claim(subscription.id, edit.id)
                if claim is None:
                    continue
                posted = await self._post(
                    self.deliverers[subscription.platform],
                    subscription,
                    claim,
                    post,
                    report,
                    ledger=self.announcements,
                    key=announcement_key(subscription.id, edit.id),
                )
                if posted:
                    report.announced.append((subscription.id, edit.id))

    def _dates(self, subscription: Subscription, now: dt.datetime, rerun: bool) -> list[dt.date]:
        """Local dates whose scheduled time has passed (and came after subscribing): the last week's, so that
        an outage's missed days are found; an operator's replay (`rerun`) covers yesterday and today only."""
        today = now.astimezone(ZoneInfo(subscription.timezone)).date()
        dates = []
        for back in range(1 if rerun else MISSED_DAYS, -1, -1):
            day = today - dt.timedelta(days=back)
            due = scheduled_at(subscription, day)
            if due <= now and (rerun or subscription.created_at <= due):
                dates.append(day)
        return dates

    async def _deliver(
        self,
        subscription: Subscription,
        local_date: dt.date,
        now: dt.datetime,
        report: PassReport,
        *,
        missed: bool = False,
    ):
        claim = self.ledger.claim(subscription.id, local_date)
        if claim is None:
            return
        if missed and claim.retry:
            # Another owner claimed the day meanwhile and did not finish: uncertain, so never posted late.
            self.ledger.record(claim, Outcome.SKIPPED)
            report.skipped.append((subscription.id, local_date))
            return
        language = self.subscriptions.language(
            subscription.platform, subscription.workspace, subscription.channel
        )
        digest = self.digests.digest(
            local_date,
            subscription.lead_days,
            language or "en",
            topics=subscription.topics,
            pledges=subscription.pledges,
            updates=not subscription.updates_now,
            speakers=self.digests.followed(subscription.officials, subscription.regions),
        )
        if digest is not None and missed:
            m = messages(language_of(language or "en"))
            digest.title = m.gettext("Missed while we were offline: {title}").format(title=digest.title)
            report.missed.append((subscription.id, local_date))
            log.info(
                "digest for subscription %d on %s was missed by an outage; posting it late",
                subscription.id,
                local_date,
            )
        if digest is None:
            self.ledger.record(claim, Outcome.EMPTY)
            report.empty.append((subscription.id, local_date))
            return
        posted = await self._post(
            self.deliverers[subscription.platform],
            subscription,
            claim,
            digest,
            report,
            ledger=self.ledger,
            key=digest_key(subscription.id, local_date),
        )
        if posted:
            report.sent.append((subscription.id, local_date))

    async def _post(
        self,
        deliverer: Deliverer,
        subscription: Subscription,
        claim: Claim[Key],
        digest: Reply,
        report: PassReport,
        *,
        ledger: Ledger[Key],
        key: str,
    ) -> bool:
        """Post a digest or a desk announcement under its claim in `ledger`, tagged `key`, and record how
        it ended; True when it was posted."""
        renewing = asyncio.create_task(self._renew(claim, key, ledger))
        # The desk's announcements share the path; the digest series count digests only.
        counted = ledger is self.ledger
        try:
            ref = await deliverer.deliver(subscription, digest, key, retry=claim.retry)
        except Unreachable as error:
            log.warning("post %s: skipped, %s", key, error)
            ledger.record(claim, Outcome.SKIPPED)
            report.skipped.append((subscription.id, claim.key))
            return False
        except CannotCheck as error:
            log.warning("post %s: cannot tell whether it was posted (%s); will look again", key, error)
            ledger.uncertain(claim)
            report.failed.append((subscription.id, claim.key))
            if counted:
                self.metrics.digest_failed(subscription.platform, retry=claim.retry)
            return False
        except Exception:
            # The post may have reached the channel before failing (a timeout, a dropped connection), so the
            # next attempt looks for it first.
            log.exception("post %s failed; the next pass looks for it before posting", key)
            ledger.uncertain(claim)
            report.failed.append((subscription.id, claim.key))
            if counted:
                self.metrics.digest_failed(subscription.platform, retry=claim.retry)
            return False
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
        if not ledger.record(claim, Outcome.SENT, ref):
            log.warning("post %s was made but its claim had been retaken meanwhile", key)
        if counted:
            self.metrics.digest_posted(subscription.platform, retry=claim.retry)
        return True

    async def _renew(self, claim: Claim[Key], key: str, ledger: Ledger[Key]) -> None:
        """Keep the claim's lease alive while its post is in flight (rate-limit waits can take minutes)."""
        interval = max(ledger.lease.total_seconds() / 3, 0.05)
        while True:
            await asyncio.sleep(interval)
            try:
                live = await asyncio.to_thread(ledger.renew, claim)
            except Exception:
                log.exception("renewing the claim of post %s failed; trying again", key)
                continue
            if not live:
                log.warning("post %s: the claim was lost while posting", key)
                return
