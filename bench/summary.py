"""Medians with their min-max range, the only summary the report uses."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass

DASH = "\u2013"  # en dash between min and max


@dataclass(frozen=True)
class Spread:
    median: float
    low: float
    high: float
    n: int

    def as_dict(self) -> dict[str, float]:
        return {"median": self.median, "min": self.low, "max": self.high, "n": self.n}

    def show(self, digits: int = 0, unit: str = "") -> str:
        """'12,345 (12,001-12,802)' with an en dash; the range is left out for a single sample."""
        main = f"{self.median:,.{digits}f}{unit}"
        if self.n == 1:
            return main
        return f"{main} ({self.low:,.{digits}f}{DASH}{self.high:,.{digits}f})"


def spread(values: Iterable[float]) -> Spread:
    data = list(values)
    if not data:
        raise ValueError("A spread needs at least one value.")
    return Spread(statistics.median(data), min(data), max(data), len(data))
