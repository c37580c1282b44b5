"""Reminders: anniversaries and deadlines (occurrences), the digests and announcements made of them, the
channels' subscriptions, and posting each exactly once (the ledger, delivery, the schedule)."""
