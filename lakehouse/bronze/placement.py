"""Which partition each extracted row belongs to, by its change column, so that no source row is left out.

* A row of day ``D`` (UTC) goes to partition ``D``; a row dated before the first partition goes to the
  first partition, keeping its real change value (the first partition takes the source's history).
* An *undated* row, whose change column is NULL or later than the extraction time plus the tolerance for
  clock skew, belongs to no day: no day's window would ever select it, and a row claiming a day that has
  not come is a source error, not a row to hold back for that day. It goes to quarantine with
  ``_run_date`` NULL and a reason naming the change column. Every bronze run extracts the undated rows
  anew and replaces that partition with them, so each is held exactly once, however many runs see it;
  once a future-dated row's day comes, it leaves the undated partition and loads with its day.
"""

from __future__ import annotations

from datetime import date, datetime

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakehouse.contracts import ERROR_REASONS_COLUMN
from lakehouse.contracts.align import quoted, reason, reasons_array
from lakehouse.partitions import PARTITION_COLUMN

CHANGE_COLUMN_NOT_NULL = "change_column_not_null"
CHANGE_COLUMN_NOT_IN_FUTURE = "change_column_not_in_future"


def run_date_of(change: Column, *, first_day: date, undated_from: datetime) -> Column:
    """The ``_run_date`` of a row with change value ``change``: its UTC day, the first partition for an
    earlier one, NULL for an undated row."""
    undated = change.isNull() | (change >= timestamp_ntz(undated_from))
    day = F.greatest(F.to_date(change), F.lit(first_day))
    return F.when(undated, F.lit(None).cast("date")).otherwise(day)


def timestamp_ntz(moment: datetime) -> Column:
    """A naive UTC moment as a TIMESTAMP_NTZ literal, from its text: no session time zone applies."""
    return F.lit(moment.strftime("%Y-%m-%d %H:%M:%S.%f")).cast("timestamp_ntz")


def with_undated_reasons(checked: DataFrame, change_column: str) -> DataFrame:
    """``checked`` (rows with their ``_error_reasons``) with the reason of each undated row (``_run_date``
    NULL) added, naming the change column. The messages do not quote the extraction time, so re-running a
    partition gives the same rows."""
    change = quoted(change_column)
    undated = F.col(PARTITION_COLUMN).isNull()
    reasons = reasons_array(
        [
            F.when(
                undated & change.isNull(),
                reason(
                    CHANGE_COLUMN_NOT_NULL,
                    change_column,
                    f"{change_column} is NULL: the row belongs to no day, so no partition's window selects it",
                ),
            ),
            F.when(
                undated & change.isNotNull(),
                reason(
                    CHANGE_COLUMN_NOT_IN_FUTURE,
                    change_column,
                    f"{change_column} is later than the extraction time plus the tolerance for clock skew: "
                    "the row claims a day that has not come",
                ),
            ),
        ]
    )
    return checked.withColumn(
        ERROR_REASONS_COLUMN,
        F.when(undated, F.concat(F.col(ERROR_REASONS_COLUMN), reasons)).otherwise(F.col(ERROR_REASONS_COLUMN)),
    )
