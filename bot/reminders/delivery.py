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
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.clock import Clock, utc_now
from bot.i18n import language_of, messages
from bot.journal import Journal
from bot.metrics import Metrics
from bot.reminders.digests import Digests
from bot.reminders.ledger import Claim, Fence, Key, Ledger, Outcome
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


class Leadership(Protocol):
    """The scheduler's lease as a pass sees it (bot/leadership.py): the fence its claims carry, and whether
    this process may still post."""

    @property
    def fence(self) -> Fence | None:
        """The lease's fencing number while held, else None."""
        ...

    def held(self) -> bool:
        """True while the lease is this process's by its own clock (no round trip)."""
        ...


class LeaseLost(Exception):
    """The scheduler's lease ran out or was taken over: this process must not post any more."""


# One post in a pass: the subscription, its claim, what to post and under which key.
Post = tuple[Subscription, Claim[dt.date], Reply]


class DeliveryService:
    """Runs delivery passes over every subscription through the deliverers of the configured platforms.

    A pass claims its due digests in batches (`batch` at a time, one transaction), posts each batch with at
    most `concurrency` posts in flight (one channel's posts in order, by one worker; the platforms' clients
    wait out their own rate limits), and records the batch's outcomes in one transaction. Under a
    `leadership` (the worker's scheduler), every claim carries the lease's fencing number and no post is
    started once the lease is no longer held.
    """

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
        batch: int = 500,
        concurrency: int = 8,
        leadership: Leadership | None = None,
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
        self.batch = batch
        self.concurrency = concurrency
        self.leadership = leadership
        # Digests posted, retried and failed, and the oldest still unposted (`bot.metrics`).
        self.metrics = metrics or Metrics()
        self.metrics.delivering(deliverers)
        # Set at shutdown: a running pass finishes the posts in hand and starts no other.
        self.stopping = False

    @property
    def fence(self) -> Fence | None:
        """The fence this process's claims carry (None outside a leader: an operator's `deliver`)."""
        if self.leadership is None:
            return None
        fence = self.leadership.fence
        if fence is None:
            raise LeaseLost("the scheduler's lease is not held")
        return fence

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
        due_at = _DueTimes()
        candidates = [(s, d) for s in subscriptions for d in self._dates(s, now, rerun, due_at)]
        done = self.ledger.states([(s.id, d) for s, d in candidates])
        languages = self.subscriptions.languages()
        work: list[tuple[Subscription, dt.date, bool]] = []
        late: list[tuple[int, dt.date]] = []
        first: dict[int, dt.date] | None = None
        for subscription, local_date in candidates:
            state = done.get((subscription.id, local_date))
            if state in ("sent", "empty", "skipped"):
                continue
            if now - due_at(subscription, local_date) <= self.grace:
                work.append((subscription, local_date, False))
                continue
            if state is None:
                if first is None:
                    first = self.ledger.first_dates()
                earliest = first.get(subscription.id)
                if earliest is not None and earliest < local_date:
                    # Passes ran for this subscription before, yet nobody claimed this day: the bot was down.
                    # Posted now, once, under "Missed while we were offline".
                    work.append((subscription, local_date, True))
                    continue
            # An uncertain claim (it may have posted; nobody could check in time) is never posted late,
            # nor is a day before the first pass that ever ran for this subscription.
            late.append((subscription.id, local_date))
        try:
            if late:
                for sub_id, local_date in self.ledger.skip_many(late, self.fence):
                    log.warning(
                        "digest for subscription %d on %s missed its grace period, or could not be checked "
                        "after a failure until then; skipped",
                        sub_id,
                        local_date,
                    )
                    report.skipped.append((sub_id, local_date))
            for start in range(0, len(work), self.batch):
                if self.stopping:
                    break
                await self._deliver_batch(work[start : start + self.batch], report, languages)
            if only is None and not self.stopping:
                # Every minute's catch-up pass: `updates now` channels get the desk's changes within a minute.
                await self._announce(subscriptions, now, report, languages)
        except LeaseLost as error:
            log.error("delivery pass stopped: %s; the new leader delivers the rest", error)
        if only is None:
            # Only a full pass sees every subscription; its failed days are the due ones still unposted.
            unposted = {(s.id, d): due_at(s, d) for s, d in candidates}
            self.metrics.unposted(min((unposted[k] for k in report.failed if k in unposted), default=None))
        return report

    async def _deliver_batch(
        self,
        batch: list[tuple[Subscription, dt.date, bool]],
        report: PassReport,
        languages: dict[tuple[str, str, str], str],
    ) -> None:
        """Claim a batch in one transaction, post what it holds, record every outcome in one transaction."""
        claims = self.ledger.claim_many([(s.id, d) for s, d, _ in batch], self.fence)
        by_key = {(c.subscription_id, c.key): c for c in claims}
        outcomes: list[tuple[Claim[dt.date], Outcome, str | None]] = []
        channels: dict[tuple[str, str, str], list[Post]] = {}
        for subscription, local_date, missed in batch:
            claim = by_key.get((subscription.id, local_date))
            if claim is None:
                continue
            if missed and claim.retry:
                # Another owner claimed the day meanwhile and did not finish: uncertain, so never posted late.
                outcomes.append((claim, Outcome.SKIPPED, None))
                report.skipped.append((subscription.id, local_date))
                continue
            place = (subscription.platform, subscription.workspace, subscription.channel)
            language = languages.get(place) or "en"
            digest = self.digests.digest(
                local_date,
                subscription.lead_days,
                language,
                topics=subscription.topics,
                pledges=subscription.pledges,
                updates=not subscription.updates_now,
                speakers=self.digests.followed(subscription.officials, subscription.regions),
            )
            if digest is None:
                outcomes.append((claim, Outcome.EMPTY, None))
                report.empty.append((subscription.id, local_date))
                continue
            if missed:
                m = messages(language_of(language))
                digest.title = m.gettext("Missed while we were offline: {title}").format(title=digest.title)
                report.missed.append((subscription.id, local_date))
                log.info(
                    "digest for subscription %d on %s was missed by an outage; posting it late",
                    subscription.id,
                    local_date,
                )
            channels.setdefault(place, []).append((subscription, claim, digest))
        uncertain: list[Claim[dt.date]] = []
        untried: list[Claim[dt.date]] = []
        queue = iter(channels.values())

        async def work() -> None:
            # Workers share one iterator: each takes a channel's posts and posts them in order.
            for posts in queue:
                for n, (subscription, claim, digest) in enumerate(posts):
                    if self.stopping or not self._may_post():
                        untried.extend(c for _, c, _ in posts[n:])
                        break
                    outcome, ref = await self._attempt(
                        self.deliverers[subscription.platform],
                        subscription,
                        claim,
                        digest,
                        digest_key(subscription.id, claim.key),
                    )
                    if outcome is None:
                        uncertain.append(claim)
                        report.failed.append((subscription.id, claim.key))
                        self.metrics.digest_failed(subscription.platform, retry=claim.retry)
                        continue
                    outcomes.append((claim, outcome, ref))
                    if outcome is Outcome.SENT:
                        report.sent.append((subscription.id, claim.key))
                        self.metrics.digest_posted(subscription.platform, retry=claim.retry)
                    else:
                        report.skipped.append((subscription.id, claim.key))

        held = [c for posts in channels.values() for _, c, _ in posts]
        async with self._renewing(self.ledger, held):
            await asyncio.gather(*(work() for _ in range(min(self.concurrency, len(channels)))))
        self._finish(self.ledger, outcomes, uncertain, untried)
        if untried and not self.stopping:
            raise LeaseLost("the scheduler's lease ran out or was taken over")

    def _may_post(self) -> bool:
        """False once this process can no longer be sure it holds the scheduler's lease."""
        return self.leadership is None or self.leadership.held()

    @staticmethod
    def _finish(
        ledger: Ledger[Key],
        outcomes: list[tuple[Claim[Key], Outcome, str | None]],
        uncertain: list[Claim[Key]],
        untried: list[Claim[Key]],
    ) -> None:
        """Record a batch: its outcomes, its uncertain posts, and the claims never tried (given back)."""
        for claim in ledger.record_many(outcomes):
            log.warning(
                "post for subscription %d (%s) was made but its claim had been retaken meanwhile",
                claim.subscription_id,
                claim.key,
            )
        ledger.uncertain_many(uncertain)
        ledger.release_many(untried)

    async def _announce(
        self,
        subscriptions: list[Subscription],
        now: dt.datetime,
        report: PassReport,
        languages: dict[tuple[str, str, str], str],
    ) -> None:
        """Post each recent desk edit once to each `updates now` channel that follows it, and a correction
        for one posted there and undone since; an edit undone before it was posted is never posted."""
        following = [s for s in subscriptions if s.updates_now]
        if self.announcements is None or not following:
            return
        ledger = self.announcements
        # Up to and including `now` (the end is exclusive); older than the grace period is too late to post.
        edits = self.journal.desk_between(now - self.grace, now + dt.timedelta(microseconds=1))
        undone = {e.undoes for e in edits if e.undoes is not None}
        for subscription in following:
            language = languages.get((subscription.platform, subscription.workspace, subscription.channel))
            for edit in edits:
                if self.stopping:
                    return
                if edit.at < subscription.created_at or edit.id in undone:
                    continue
                if edit.undoes is not None:
                    target = self.journal.get(edit.undoes)
                    if target is None or ledger.state(subscription.id, target.id) != "sent":
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
                claim = ledger.claim(subscription.id, edit.id, self.fence)
                if claim is None:
                    continue
                if not self._may_post():
                    ledger.release_many([claim])
                    raise LeaseLost("the scheduler's lease ran out or was taken over")
                async with self._renewing(ledger, [claim]):
                    outcome, ref = await self._attempt(
                        self.deliverers[subscription.platform],
                        subscription,
                        claim,
                        post,
                        announcement_key(subscription.id, edit.id),
                    )
                if outcome is None:
                    ledger.uncertain(claim)
                    report.failed.append((subscription.id, edit.id))
                    continue
                if not ledger.record(claim, outcome, ref):
                    log.warning(
                        "post for subscription %d (%s) was made but its claim had been retaken meanwhile",
                        claim.subscription_id,
                        claim.key,
                    )
                if outcome is Outcome.SENT:
                    report.announced.append((subscription.id, edit.id))
                else:
                    report.skipped.append((subscription.id, edit.id))

    def _dates(
        self, subscription: Subscription, now: dt.datetime, rerun: bool, due_at: _DueTimes
    ) -> list[dt.date]:
        """Local dates whose scheduled time has passed (and came after subscribing): the last week's, so that
        an outage's missed days are found; an operator's replay (`rerun`) covers yesterday and today only."""
        passed = due_at.passed(subscription, now, 1 if rerun else MISSED_DAYS)
        if rerun:
            return [day for day, _ in passed]
        return [day for day, due in passed if subscription.created_at <= due]

    async def _attempt(
        self, deliverer: Deliverer, subscription: Subscription, claim: Claim[Key], post: Reply, key: str
    ) -> tuple[Outcome | None, str | None]:
        """Post a digest or a desk announcement under its claim, tagged `key`: (SENT, its reference),
        (SKIPPED, None) when the place is gone, or (None, None) when it may or may not have been posted."""
        try:
            return Outcome.SENT, await deliverer.deliver(subscription, post, key, retry=claim.retry)
        except Unreachable as error:
            log.warning("post %s: skipped, %s", key, error)
            return Outcome.SKIPPED, None
        except CannotCheck as error:
            log.warning("post %s: cannot tell whether it was posted (%s); will look again", key, error)
        except Exception:
            # The post may have reached the channel before failing (a timeout, a dropped connection), so the
            # next attempt looks for it first.
            log.exception("post %s failed; the next pass looks for it before posting", key)
        return None, None

    @contextlib.asynccontextmanager
    async def _renewing(self, ledger: Ledger[Key], claims: list[Claim[Key]]) -> AsyncIterator[None]:
        """Keep the claims' leases alive while their posts are in flight (rate-limit waits can take
        minutes), all of them in one statement every third of a lease."""
        task = asyncio.create_task(self._renew(ledger, claims))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _renew(self, ledger: Ledger[Key], claims: list[Claim[Key]]) -> None:
        interval = max(ledger.lease.total_seconds() / 3, 0.05)
        live = list(claims)
        while live:
            await asyncio.sleep(interval)
            try:
                kept = await asyncio.to_thread(ledger.renew_many, live)
            except Exception:
                log.exception("renewing %d claims failed; trying again", len(live))
                continue
            for claim in set(live) - set(kept):
                # Recorded already, or retaken by another owner: either way no longer ours to renew.
                log.debug("claim %s is no longer renewed", claim)
            live = kept


class _DueTimes:
    """`scheduled_at` (in UTC) and each zone's local date, computed once per (zone, time, date) in a pass:
    a pass asks the same few questions for every one of (up to) 100,000 subscriptions."""

    def __init__(self) -> None:
        self._due: dict[tuple[str, dt.time, dt.date], dt.datetime] = {}
        self._today: dict[str, dt.date] = {}
        self._passed: dict[tuple[str, dt.time, int], list[tuple[dt.date, dt.datetime]]] = {}

    def passed(
        self, subscription: Subscription, now: dt.datetime, days_back: int
    ) -> list[tuple[dt.date, dt.datetime]]:
        """(local date, scheduled time) of the last `days_back` days and today whose time has come, oldest
        first: the same for every subscription of one zone and time, so computed once for them all."""
        key = (subscription.timezone, subscription.local_time, days_back)
        found = self._passed.get(key)
        if found is None:
            today = self.today(subscription.timezone, now)
            days = (today - dt.timedelta(days=back) for back in range(days_back, -1, -1))
            found = self._passed[key] = [(d, due) for d in days if (due := self(subscription, d)) <= now]
        return found

    def __call__(self, subscription: Subscription, local_date: dt.date) -> dt.datetime:
        key = (subscription.timezone, subscription.local_time, local_date)
        due = self._due.get(key)
        if due is None:
            # In UTC, as the clock and subscriptions' creation times are: comparing times of two zones asks
            # the zone for its offset each time, which was a tenth of a 100,000-channel pass.
            due = self._due[key] = scheduled_at(subscription, local_date).astimezone(dt.UTC)
        return due

    def today(self, zone: str, now: dt.datetime) -> dt.date:
        day = self._today.get(zone)
        if day is None:
            day = self._today[zone] = now.astimezone(ZoneInfo(zone)).date()
        return day
