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
