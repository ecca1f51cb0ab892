"""dim_date as pure DataFrame logic: one row per day of the calendar's range, plus the unknown day.

Nothing here knows Dagster, reads a table or writes one; the ``gold/dim_date`` asset overwrites its table
with ``calendar(...)`` on every run.
"""

from datetime import date

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.gold.scd2 import UNKNOWN_KEY, UNKNOWN_TEXT

DIM_DATE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("date_key", "int"),
    ("date", "date"),
    ("day_of_week", "int"),
    ("day_name", "string"),
    ("day_of_month", "int"),
    ("week_of_year", "int"),
    ("month", "int"),
    ("month_name", "string"),
    ("quarter", "int"),
    ("year", "int"),
    ("is_weekend", "boolean"),
)
"""gold/dim_date, in table order."""

CALENDAR_YEARS_BEFORE = 1
CALENDAR_YEARS_AFTER = 5

_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def calendar_range(partitions_start: date) -> tuple[date, date]:
    """The calendar's half-open range of days: from the partitions' start date minus one year to five
    years after it (``[2025-01-01, 2031-01-01)`` for a 2026-01-01 start), whole years either side."""
    return _shift_years(partitions_start, -CALENDAR_YEARS_BEFORE), _shift_years(
        partitions_start, CALENDAR_YEARS_AFTER
    )


def calendar(spark: SparkSession, first_day: date, end_day: date) -> DataFrame:
    """One row per day of ``[first_day, end_day)`` plus the unknown member (``date_key = 0``).

    ``day_of_week`` is ISO (1 = Monday), from ``dayofweek`` (1 = Sunday) because Sail's ``weekday``
    answers -1 for Sundays; ``week_of_year`` is ISO (Spark's ``weekofyear``); names are English.
    """
    days = (end_day - first_day).days
    day = F.col("date")
    iso_day_of_week = ((F.dayofweek(day) + 5) % 7) + 1
    dates = spark.range(days).select(
        F.date_add(F.lit(first_day.isoformat()).cast("date"), F.col("id").cast("int")).alias("date")
    )
    known = dates.select(
        (F.year(day) * 10000 + F.month(day) * 100 + F.dayofmonth(day)).cast("int").alias("date_key"),
        day,
        iso_day_of_week.cast("int").alias("day_of_week"),
        _name_of(iso_day_of_week, _DAY_NAMES).alias("day_name"),
        F.dayofmonth(day).cast("int").alias("day_of_month"),
        F.weekofyear(day).cast("int").alias("week_of_year"),
        F.month(day).cast("int").alias("month"),
        _name_of(F.month(day), _MONTH_NAMES).alias("month_name"),
        F.quarter(day).cast("int").alias("quarter"),
        F.year(day).cast("int").alias("year"),
        (iso_day_of_week >= 6).alias("is_weekend"),
    )
    return known.unionByName(unknown_date(spark))


def unknown_date(spark: SparkSession) -> DataFrame:
    """The unknown day: key ``0``, names ``unknown``, every number and the date NULL."""
    columns = []
    for name, type_ in DIM_DATE_COLUMNS:
        if name == "date_key":
            value = F.lit(UNKNOWN_KEY)
        elif name in ("day_name", "month_name"):
            value = F.lit(UNKNOWN_TEXT)
        else:
            value = F.lit(None)
        columns.append(value.cast(type_).alias(name))
    return spark.range(1).select(*columns)


def _name_of(number: Column, names: tuple[str, ...]) -> Column:
    return F.element_at(F.array(*[F.lit(n) for n in names]), number.cast("int"))


def _shift_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28)
