"""Reliability and security suites: hostile input, attacks, crashes, load."""
