"""Lookups: search, show, list, on, upcoming, history, quote cards and citations, answered from the
catalogue for the chat and the site alike."""
