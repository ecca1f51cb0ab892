"""The one partitioning scheme of the lakehouse: a day of data, UTC, keyed by the ``_run_date`` DATE column.

Everything that names the partition column or a run's days takes them from here:

* ``PARTITION_COLUMN``: the DATE column every partitioned table carries.
* ``daily_partitions()``: the Dagster partitions definition of every partitioned asset.
* ``DayWindow``: the half-open range of days ``[start, end)`` a run addresses (one day, or a whole
  backfill range run at once), built from a Dagster context, a time window or partition keys, and turned
  into the SQL predicate, the column filter and the list of days.

Importing this module imports no Dagster (the contracts, which know nothing of Dagster, use the column).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from pyspark.sql import Column
from pyspark.sql import functions as F

from lakehouse.settings import first_partition

if TYPE_CHECKING:
    import dagster as dg

PARTITION_COLUMN = "_run_date"


def daily_partitions() -> dg.DailyPartitionsDefinition:
    """Every partitioned asset's partitions: UTC days from ``lakehouse.settings.first_partition()``; a day is
    a partition once it has ended. One object per first day, so every asset and job shares it."""
    return _daily_partitions(first_partition())


@cache
def _daily_partitions(start: date) -> dg.DailyPartitionsDefinition:
    import dagster as dg

    return dg.DailyPartitionsDefinition(start_date=start.isoformat(), timezone="UTC", end_offset=0)


def last_partition_day(today: date) -> date:
    """The latest day with a partition on ``today`` (UTC): the last complete day, as the partitions end
    there (``end_offset=0``); rows of later days wait until their day has closed."""
    return today + timedelta(days=daily_partitions().end_offset - 1)


def blocking_daily_check(name: str, asset: dg.AssetKey, description: str) -> dg.AssetCheckSpec:
    """A blocking check of a daily-partitioned asset, itself partitioned by day: its result is recorded
    for the run's partition, so the asset's page shows one evaluation per partition and run."""
    import dagster as dg

    return dg.AssetCheckSpec(
        name, asset=asset, description=description, blocking=True, partitions_def=daily_partitions()
    )


@dataclass(frozen=True)
class DayWindow:
    """The days ``[start, end)`` a run writes or reads: one day, or a backfill range run at once."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"empty day window [{self.start}, {self.end})")

    # ------------------------------------------------------------------------------------ building

    @classmethod
    def of_day(cls, day: date) -> DayWindow:
        return cls(day, day + timedelta(days=1))

    @classmethod
    def of_keys(cls, first: str, last: str | None = None) -> DayWindow:
        """The days from partition key ``first`` to ``last`` (default ``first``), both included."""
        start = date.fromisoformat(first)
        return cls(start, date.fromisoformat(last or first) + timedelta(days=1))

    @classmethod
    def of_time_window(cls, window: Any) -> DayWindow:
        """From a Dagster ``TimeWindow`` (UTC midnights) or anything with ``start`` and ``end`` datetimes."""
        return cls(_day(window.start), _day(window.end))

    @classmethod
    def of_context(cls, context: Any) -> DayWindow:
        """The run's days, from an asset, check, output or input context of a daily-partitioned run."""
        if hasattr(context, "asset_partitions_time_window"):  # an IO manager's OutputContext / InputContext
            return cls.of_time_window(context.asset_partitions_time_window)
        return cls.of_time_window(context.partition_time_window)

    @classmethod
    def of_context_or_none(cls, context: Any) -> DayWindow | None:
        """``of_context``, or None when the context addresses no partition (an unpartitioned asset, or a
        check run on its own)."""
        if hasattr(context, "has_asset_partitions"):
            return cls.of_context(context) if context.has_asset_partitions else None
        if context.has_partition_key or context.has_partition_key_range:
            return cls.of_context(context)
        return None

    # ------------------------------------------------------------------------------------- using

    def predicate(self, column: str = PARTITION_COLUMN) -> str:
        """Spark SQL: the rows of these days (a literal predicate, so Delta prunes the other partitions)."""
        return f"`{column}` >= DATE'{self.start.isoformat()}' AND `{column}` < DATE'{self.end.isoformat()}'"

    def filter(self, column: str = PARTITION_COLUMN) -> Column:
        """The same predicate as a Column."""
        col = F.col(f"`{column}`")
        return (col >= F.lit(self.start)) & (col < F.lit(self.end))

    def contains(self, day: date | None) -> bool:
        return day is not None and self.start <= day < self.end

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days)]

    def days_iso(self) -> list[str]:
        return [day.isoformat() for day in self.days]

    def timestamps(self) -> tuple[datetime, datetime]:
        """``[start, end)`` as naive UTC midnights: the range of a source's change column for these days."""
        return datetime.combine(self.start, datetime.min.time()), datetime.combine(self.end, datetime.min.time())

    def __str__(self) -> str:
        return f"[{self.start}, {self.end})"


def _day(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value
