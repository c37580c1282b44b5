"""Planning one day's reminders: every subscription's digest for a day, as a delivery pass builds them."""

from __future__ import annotations

import datetime as dt
import time

from bot.cli import Bot


def plan_day(bot: Bot, day: dt.date) -> tuple[int, int]:
    """Build the digest of `day` for every subscription (what `DeliveryService` posts), nothing sent: with
    each subscription's topic and pledge filters, and the pledges' deadlines among the items.

    Returns (subscriptions, digests that have something to post).
    """
    subscriptions = bot.subscriptions.all()
    due = 0
    for subscription in subscriptions:
        digest = bot.digests.digest(
            day, subscription.lead_days, topics=subscription.topics, pledges=subscription.pledges
        )
        if digest is not None:
            due += 1
    return len(subscriptions), due


def measure(bot: Bot, day: dt.date, repeats: int) -> tuple[list[float], int, int]:
    """Seconds to plan each of `repeats` consecutive days from `day`, the subscriptions, and digests due.

    Every day is planned for the first time (nothing cached for it); the calendar index is built before
    timing (its cost is reported with cold start).
    """
    bot.calendars.current()
    times = []
    subs = due = 0
    for offset in range(repeats):
        start = time.perf_counter()
        subs, due = plan_day(bot, day + dt.timedelta(days=offset))
        times.append(time.perf_counter() - start)
    return times, subs, due
