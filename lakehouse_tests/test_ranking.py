"""``first_per_key`` on the embedded engine: the same rows whichever way the keys are ranked."""

import pytest
from pyspark.sql import functions as F

from lakehouse.ranking import first_per_key

ROWS = [
    # key, day, version, payload
    (1, 1, 3, "a3"),
    (1, 1, 1, "a1"),
    (1, 1, 2, "a2"),
    (2, 1, 1, "b1"),
    (2, 2, 5, "b5 (another day)"),
    (3, 1, 7, "c7"),
    (3, 1, 7, "c7"),  # an exact copy
]
COLUMNS = ["id", "day", "version", "payload"]


@pytest.mark.parametrize("mostly_unique", [True, False])
def test_first_per_key_keeps_the_first_row_of_every_key_in_order(spark, mostly_unique):
    df = spark.createDataFrame(ROWS, COLUMNS)
    first = first_per_key(df, ["id", "day"], [F.col("version").desc()], mostly_unique=mostly_unique)
    assert first.columns == COLUMNS
    assert sorted(tuple(row) for row in first.collect()) == [
        (1, 1, 3, "a3"),
        (2, 1, 1, "b1"),
        (2, 2, 5, "b5 (another day)"),
        (3, 1, 7, "c7"),
    ]


def test_first_per_key_breaks_ties_with_the_next_ordering(spark):
    df = spark.createDataFrame([(1, 1, "late"), (1, 1, "early"), (2, 3, "only")], ["id", "version", "payload"])
    first = first_per_key(df, ["id"], [F.col("version").desc(), F.col("payload").asc()])
    assert sorted(tuple(row) for row in first.collect()) == [(1, 1, "early"), (2, 3, "only")]
