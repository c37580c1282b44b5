"""The benchmark suite: synthetic data at scale and measurements side by side with their floors.

`python -m bench` (or `make bench`) runs it and writes BENCHMARKS.md; `python -m bench.generate` writes the
synthetic dataset alone. Nothing here is imported by the bot.
"""
