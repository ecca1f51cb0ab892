"""What a simulation hands over for one change day."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa


@dataclass(frozen=True)
class Versions:
    """Row images written on one change day, in the table's source schema.

    ``is_insert`` marks each entity's first row. Inserts are never committed late: later rows of other
    tables reference them, and a source commits an entity before anything can point at it.
    """

    rows: pa.Table
    is_insert: np.ndarray

    def __post_init__(self) -> None:
        if len(self.is_insert) != self.rows.num_rows:
            raise ValueError("is_insert must have one flag per row")


@dataclass(frozen=True)
class Referable:
    """Ids other tables may point at, ascending, with the first day index each may be referenced on.

    Ids are issued in time order, so ``since`` ascends with them and "referable on day d" is a prefix.
    """

    ids: np.ndarray
    since: np.ndarray

    def draw(self, rng: np.random.Generator, day: np.ndarray) -> np.ndarray:
        """One id per element of ``day``, uniform among those referable on that day; -1 where none is."""
        if self.ids.size == 0:
            return np.full(day.size, -1, dtype=np.int64)
        available = np.searchsorted(self.since, day, side="right")
        index = np.minimum((rng.random(day.size) * available).astype(np.int64), self.ids.size - 1)
        return np.where(available > 0, self.ids[index], -1)
