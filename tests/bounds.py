"""How long something may take before a test calls it hung.

Tests assert behaviour, never speed: durations are recorded as figures (reliability.figure)
and speed targets live in bench/. What a test does bound is a hang. A request that a
configured timeout should cut short must end within a generous multiple of that timeout:
a missing or ignored timeout (which hangs until the client gives up) fails, a slow or
busy machine does not.
"""

from __future__ import annotations

HANG_FACTOR = 5


def hang_bound(*timeouts: float) -> float:
    """Seconds after which an operation bounded by these timeouts (in sequence) is hung."""
    return HANG_FACTOR * sum(timeouts)
