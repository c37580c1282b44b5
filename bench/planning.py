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


def walk_day(bot: Bot, day: dt.date) -> tuple[int, int]:
    """The floor of `plan_day`: a bare loop over the same subscriptions and the same day's occurrences (what
    falls due, and each lead time's heads-ups), keeping those a subscription's filters let through, with no
    grouping, no items and no rendering. Returns (subscriptions, subscriptions with something due)."""
    calendar = bot.calendars.current()
    subscriptions = bot.subscriptions.all()
    due_by_lead: dict[int, list] = {}
    categories: dict[str, str] = {}
    due = 0
    for subscription in subscriptions:
        occurrences = due_by_lead.get(subscription.lead_days)
        if occurrences is None:
            occurrences = due_by_lead[subscription.lead_days] = calendar.on(
                day, lead_days=subscription.lead_days
            )
            wanted = {o.milestone.pledge_id for o in occurrences if o.milestone.pledge_id}
            categories.update(bot.catalogue.categories_of(wanted - set(categories)))
        topics, pledges = set(subscription.topics), set(subscription.pledges)
        for occurrence in occurrences:
            pledge = occurrence.milestone.pledge_id
            if (
                not (topics or pledges)
                or pledge is None
                or pledge in pledges
                or categories.get(pledge) in topics
            ):
                due += 1
                break
    return len(subscriptions), due


def measure_floor(bot: Bot, day: dt.date, repeats: int) -> list[float]:
    """Seconds of `walk_day` for each of `repeats` consecutive days from `day` (the calendar built)."""
    bot.calendars.current()
    times = []
    for offset in range(repeats):
        start = time.perf_counter()
        walk_day(bot, day + dt.timedelta(days=offset))
        times.append(time.perf_counter() - start)
    return times
