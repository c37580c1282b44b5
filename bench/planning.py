"""Planning one day's reminders: every subscription's digest for a day, as a delivery pass builds them."""

from __future__ import annotations

import datetime as dt
import time

from bot.core import Core


def plan_day(core: Core, day: dt.date) -> tuple[int, int]:
    """Build the digest of `day` for every subscription (what `DeliveryService` posts), nothing sent: with
    each subscription's topic and pledge filters, and the pledges' deadlines among the items.

    Returns (subscriptions, digests that have something to post).
    """
    subscriptions = core.subscriptions.all()
    due = 0
    for subscription in subscriptions:
        digest = core.digest(
            day, subscription.lead_days, topics=subscription.topics, pledges=subscription.pledges
        )
        if digest is not None:
            due += 1
    return len(subscriptions), due


def measure(core: Core, day: dt.date, repeats: int) -> tuple[list[float], int, int]:
    """Seconds to plan each of `repeats` consecutive days from `day`, the subscriptions, and digests due.

    Every day is planned for the first time (nothing cached for it); the calendar index is built before
    timing (its cost is reported with cold start).
    """
    core.calendar()
    times = []
    subs = due = 0
    for offset in range(repeats):
        start = time.perf_counter()
        subs, due = plan_day(core, day + dt.timedelta(days=offset))
        times.append(time.perf_counter() - start)
    return times, subs, due
