"""Time in the generator: integer microseconds since the epoch, UTC, naive like TIMESTAMP_NTZ.

Change-column values of valid rows are made unique per table and even. That gives two guarantees the
rest of the design leans on: SCD2 history never has ties, and an injected invalid row (a copy of a
valid row moved one microsecond later, so on an odd microsecond) is told apart from every valid row by
its change column alone, even when its key is NULL (and by a fresh key when the change column itself is
NULL, see ``dirt``).
"""

from __future__ import annotations

from datetime import date

import numpy as np

SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
_EPOCH = date(1970, 1, 1)


def day_start(day: date) -> int:
    """Midnight UTC of ``day`` in microseconds."""
    return (day - _EPOCH).days * DAY


def unique_even(times: np.ndarray) -> np.ndarray:
    """The smallest even values >= ``times`` that are pairwise distinct, in the original order.

    Values only move forward (so a row never precedes the event that caused it) and by at most two
    microseconds per colliding neighbour; ties keep their original relative order.
    """
    if times.size == 0:
        return times.astype(np.int64)
    even = times.astype(np.int64) + (times & 1)
    order = np.argsort(even, kind="stable")
    steps = 2 * np.arange(even.size, dtype=np.int64)
    result = np.empty_like(even)
    result[order] = np.maximum.accumulate(even[order] - steps) + steps
    return result


def commit_lags(
    rng: np.random.Generator, size: int, late_rate: float, eligible: np.ndarray | None = None
) -> np.ndarray:
    """Days between a change and its commit: mostly 0, ``late_rate`` of eligible rows 1 (or 2)."""
    late = rng.random(size) < late_rate
    if eligible is not None:
        late &= eligible
    two_days = rng.random(size) < 0.25
    return np.where(late, np.where(two_days, 2, 1), 0).astype(np.int64)
