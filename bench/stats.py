"""Small statistics and the result rows every measurement produces."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(samples: Sequence[float], pct: float) -> float:
    """The nearest-rank percentile of `samples` (p50 = median, p99 = the value 99% are at or below)."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Row:
    """One line of the results table: a value beside its floor, the ratio, and the target."""

    name: str
    value: float | None  # None: not measured (the note says why)
    unit: str
    floor: float | None = None
    floor_label: str = ""
    target: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """value / floor, or None when there is no floor."""
        if self.value is None or self.floor is None or not self.floor:
            return None
        return self.value / self.floor

    def as_dict(self) -> dict:
        """Plain data, for the JSON a child process prints."""
        return {
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "floor": self.floor,
            "floor_label": self.floor_label,
            "target": self.target,
            "met": self.met,
            "note": self.note,
        }


def ms(seconds: float) -> float:
    """Seconds to milliseconds."""
    return seconds * 1000.0
