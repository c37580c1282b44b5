"""The schedule: APScheduler jobs, one per subscription, rebuilt from the database.

Subscriptions live in SQLite, not in a job store, so jobs are plain in-memory entries derived from them: a
cron job per subscription at its local time (for punctuality), and a sync job every minute that picks up
subscriptions changed by any process and runs a catch-up pass (for everything missed, retried or crashed).
Run exactly one scheduler per database: the ledger keeps a second one from posting twice, but it is waste.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.reminders.delivery import DeliveryService
from bot.state import Subscription

log = logging.getLogger(__name__)
SYNC_JOB = "sync-subscriptions"
# At shutdown a pass already running may finish the digest it is posting for this long (the process
# promises to exit within 10 s of SIGTERM); one still unfinished keeps its claim, retaken after the lease.
DRAIN_SECONDS = 8.0


def trigger_for(subscription: Subscription) -> CronTrigger:
    """A daily trigger at the subscription's local time, in its own zone (never the host's)."""
    return CronTrigger(
        hour=subscription.local_time.hour,
        minute=subscription.local_time.minute,
        timezone=ZoneInfo(subscription.timezone),
    )


class Scheduler:
    """Keeps one APScheduler job per subscription and a minute-by-minute catch-up pass."""

    def __init__(self, service: DeliveryService, *, sync_every: dt.timedelta = dt.timedelta(minutes=1)):
        self.service = service
        self.sync_every = sync_every
        # coalesce: a job that missed several runs (a suspended host, a slow loop) runs once, not in a burst.
        # misfire_grace_time: a run late by up to the grace period still happens; later ones are the catch-up
        # pass's to log and skip.
        self.scheduler = AsyncIOScheduler(
            timezone=dt.UTC,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": int(service.grace.total_seconds()) or 1,
            },
        )
        self._jobs: dict[int, tuple[str, str]] = {}
        self._running: set[asyncio.Task] = set()

    def start(self) -> None:
        """Start inside the running event loop: build the jobs and run a catch-up pass at once."""
        self.scheduler.start()
        self.scheduler.add_job(
            self.sync,
            IntervalTrigger(seconds=self.sync_every.total_seconds(), timezone=dt.UTC),
            id=SYNC_JOB,
            replace_existing=True,
            next_run_time=dt.datetime.now(dt.UTC),
        )

    async def sync(self) -> None:
        """Match the jobs to the subscriptions in the database, then deliver whatever is due."""
        self.sync_jobs()
        await self._pass()

    def sync_jobs(self) -> None:
        """Add, move or remove digest jobs so there is exactly one per subscription."""
        current = {s.id: s for s in self.service.subscriptions.all()}
        for sub_id in set(self._jobs) - set(current):
            self.scheduler.remove_job(f"digest-{sub_id}")
            del self._jobs[sub_id]
        for sub_id, subscription in current.items():
            signature = (subscription.local_time.isoformat(), subscription.timezone)
            if self._jobs.get(sub_id) == signature:
                continue
            self.scheduler.add_job(
                self.fire,
                trigger_for(subscription),
                args=[sub_id],
                id=f"digest-{sub_id}",
                replace_existing=True,
            )
            self._jobs[sub_id] = signature

    async def fire(self, subscription_id: int) -> None:
        """A subscription's time has come: deliver its digest."""
        await self._pass(only=[subscription_id])

    async def _pass(self, only: list[int] | None = None) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            await self.service.run_pass(only=only)
        finally:
            self._running.discard(task)

    async def stop(self, timeout: float = DRAIN_SECONDS) -> None:
        """Start no more passes, let one already running finish the digest in hand (at most `timeout`
        seconds), then shut down. APScheduler's own shutdown cancels running jobs, hence the wait first."""
        self.service.stopping = True
        if self.scheduler.running:
            self.scheduler.pause()
        pending = {t for t in self._running if not t.done()}
        if pending:
            _, unfinished = await asyncio.wait(pending, timeout=timeout)
            if unfinished:
                log.warning(
                    "a delivery pass was still running at shutdown; its claim is retaken after the lease"
                )
        self.shutdown()

    def shutdown(self) -> None:
        """Stop scheduling at once; a pass still running is cancelled (its claim is retaken after a lease)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
