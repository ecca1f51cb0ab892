"""One row per key, chosen by an ordering: the de-duplication every layer needs, at the cost of a hash
aggregate when most keys are unique.

A window (``row_number() over (partition by key order by ...)``) sorts every row. In the lake's tables
almost every key occurs once (an event loaded once, a line in one state a day), so only the keys that
repeat, found by a hash aggregate, are ranked by a window; the rest pass through an anti-join. Measured on
Sail with a day of order lines, this writes in a quarter of the time of one window over every row.

The repeated keys (few, and read twice: by the anti-join and the semi-join) are computed once and kept
with ``DataFrame.localCheckpoint()``. Classic Spark would reuse the aggregate's exchange anyway; Sail
evaluates a subplan again for each of its readers, so without it a million-event day was aggregated twice
per call (and four times in ``silver_behavior_events``, whose two session branches each read the result).
Measured on Sail at SF 10 (10M events), silver behavior_events went from 15-18 s to 7-9 s.

The checkpoint is ``lakehouse.engine.compat.checkpoint_aggregate``, which hash-partitions the repeated
keys first: on a Sail cluster an aggregate over a one-partition input kept by a checkpoint otherwise fails
on the driver (docs/engines.md). It costs one shuffle of the few repeated keys.

DataFrames in, DataFrames out; Spark SQL plus ``localCheckpoint`` (which a Sail server allows once
``execution.checkpoint.path`` is set; ``lakehouse.engine.sail`` sets it for the embedded one).
"""

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from lakehouse.engine.compat import checkpoint_aggregate

_RANK = "_rank_within_key"
_ROWS = "_rows_of_key"


def first_per_key(
    df: DataFrame, keys: Sequence[str], order: Sequence[Column], *, mostly_unique: bool = True
) -> DataFrame:
    """The first row of each ``keys`` value in ``order`` (ties: any one of them), with ``df``'s columns.

    ``mostly_unique=False`` when most keys repeat (e.g. every version of a record in reach): one window
    over every row is then cheaper than finding the repeated keys first.

    ``keys`` must not be null: a row with a null key part never matches in the joins that split unique
    from repeated keys, so it would be kept whatever its copies.
    """
    keys = list(keys)
    if not mostly_unique:
        return _first_ranked(df, keys, order)
    repeated = checkpoint_aggregate(
        df.groupBy(*keys).agg(F.count(F.lit(1)).alias(_ROWS)).where(F.col(_ROWS) > 1).select(*keys), keys
    )
    unique = df.join(repeated, keys, "left_anti")
    first_of_many = _first_ranked(df.join(repeated, keys, "left_semi"), keys, order)
    return unique.unionByName(first_of_many).select(*df.columns)


def _first_ranked(df: DataFrame, keys: list[str], order: Sequence[Column]) -> DataFrame:
    return (
        df.withColumn(_RANK, F.row_number().over(Window.partitionBy(*keys).orderBy(*order)))
        .where(F.col(_RANK) == 1)
        .drop(_RANK)
    )
