"""Seeded random streams, so that every part of the data is reproducible on its own.

Each (seed, day, purpose) gets an independent generator. A day's data therefore depends only on the
seed, the scale factor and the days before it: generating 3 days reproduces the first 2 days of a
5-day run exactly, and the dirt and duplicate streams can change without disturbing the valid rows.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np


def stream(seed: int, day_index: int, purpose: str) -> np.random.Generator:
    """An independent generator for one purpose on one day (``zlib.crc32`` is stable across runs)."""
    key = (day_index, zlib.crc32(purpose.encode("utf-8")))
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=key))


def stochastic_count(rng: np.random.Generator, expected: float) -> int:
    """``expected`` rounded up or down at random, so small tables still get their share on average."""
    whole = int(expected)
    return whole + int(rng.random() < expected - whole)


def weighted_choice(rng: np.random.Generator, weights: Sequence[float], size: int) -> np.ndarray:
    """Indices into ``weights`` drawn with those relative weights."""
    p = np.asarray(weights, dtype=np.float64)
    return rng.choice(len(p), size=size, p=p / p.sum())


def uniform_micros(
    rng: np.random.Generator, low: np.ndarray | int, high: np.ndarray | int, size: int
) -> np.ndarray:
    """Integer microsecond times uniformly in ``[low, high)``; ``low``/``high`` may be per-row arrays."""
    low_arr = np.broadcast_to(np.asarray(low, dtype=np.int64), (size,))
    span = np.maximum(np.broadcast_to(np.asarray(high, dtype=np.int64), (size,)) - low_arr, 1)
    return low_arr + (rng.random(size) * span).astype(np.int64)
