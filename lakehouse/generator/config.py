"""What to generate: the knobs, and the volumes they imply.

Volumes at scale factor 1, per day: about 10k customers in the base, 1k products, 100k orders with
1-5 lines each and 1M behaviour events. Every count is scaled linearly and rounded, with small floors
so that a tiny scale factor still exercises every kind of change.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import date, timedelta

from lakehouse.settings import DEFAULT_FIRST_PARTITION

DEFAULT_START_DATE = DEFAULT_FIRST_PARTITION
"""The generator's first day: the lakehouse's default first partition."""


@dataclass(frozen=True)
class GeneratorConfig:
    """The knobs. Same config, same data, byte for byte.

    ``dirt``: fraction of rows per table and day to add as invalid copies (see ``dirt``).
    ``late_rate``: fraction of changes committed one or two days after their change column.
    ``duplicate_rate``: fraction of valid rows emitted a second time, identically, in the same batch.
    """

    scale_factor: float = 1.0
    days: int = 1
    seed: int = 42
    dirt: float = 0.01
    start_date: date = DEFAULT_START_DATE
    late_rate: float = 0.02
    duplicate_rate: float = 0.005

    def __post_init__(self) -> None:
        if not (self.scale_factor > 0 and math.isfinite(self.scale_factor)):
            raise ValueError(f"scale_factor must be a positive number, got {self.scale_factor!r}")
        if self.days < 1:
            raise ValueError(f"days must be at least 1, got {self.days!r}")
        if self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        for name in ("dirt", "late_rate", "duplicate_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 0.5:
                raise ValueError(f"{name} must be between 0 and 0.5, got {value!r}")

    def day(self, index: int) -> date:
        return self.start_date + timedelta(days=index)

    @property
    def end_date(self) -> date:
        """The last commit day generated."""
        return self.day(self.days - 1)

    @property
    def volumes(self) -> Volumes:
        return Volumes.for_scale(self.scale_factor)

    @property
    def fingerprint(self) -> str:
        """Identifies the data of every day: all knobs except ``days`` (a day's rows do not depend on
        how many days follow it). Loaders use it to refuse mixing two generations in one source."""
        knobs = {
            "scale_factor": self.scale_factor,
            "seed": self.seed,
            "dirt": self.dirt,
            "start_date": self.start_date.isoformat(),
            "late_rate": self.late_rate,
            "duplicate_rate": self.duplicate_rate,
        }
        return hashlib.sha256(json.dumps(knobs, sort_keys=True).encode()).hexdigest()[:16]


def _scaled(at_sf1: float, scale_factor: float, floor: int) -> int:
    return max(floor, round(at_sf1 * scale_factor))


@dataclass(frozen=True)
class Volumes:
    """Counts per day (or in the initial base) and daily change rates."""

    base_customers: int
    new_customers_per_day: int
    customer_changes_per_day: int
    customer_deletes_per_day: int
    base_products: int
    new_products_per_day: int
    price_changes_per_day: int
    product_withdrawals_per_day: int
    orders_per_day: int
    events_per_day: int

    @classmethod
    def for_scale(cls, scale_factor: float) -> Volumes:
        return cls(
            base_customers=_scaled(10_000, scale_factor, 10),
            new_customers_per_day=_scaled(100, scale_factor, 1),
            customer_changes_per_day=_scaled(300, scale_factor, 2),
            customer_deletes_per_day=_scaled(10, scale_factor, 1),
            base_products=_scaled(1_000, scale_factor, 5),
            new_products_per_day=_scaled(5, scale_factor, 0),
            price_changes_per_day=_scaled(20, scale_factor, 1),
            product_withdrawals_per_day=_scaled(2, scale_factor, 0),
            orders_per_day=_scaled(100_000, scale_factor, 20),
            events_per_day=_scaled(1_000_000, scale_factor, 100),
        )
