"""Runs the Sail cluster probes on one Spark Connect endpoint and prints their outcomes as JSON (one
engine per process, as for the parity runner).

* ``one_partition_aggregate_checkpoint``: the engine's own failure, in three lines of Spark: an aggregate
  over a one-partition input kept with ``localCheckpoint()``; "ok" or the first line of the error.
* ``first_per_key``: ``lakehouse.ranking.first_per_key`` over a one-row frame (a day of one small file),
  which reached that failure before it hash-partitioned the repeated keys; its rows, or the error.
"""

import json
import sys

from pyspark.sql import functions as F

from lakehouse.engine import SparkEngine
from lakehouse.ranking import first_per_key


def _outcome(action):
    """What ``action`` returned, or the first line of the engine's error."""
    try:
        return action()
    except Exception as error:  # the engine's own exception over Spark Connect
        return str(error).splitlines()[0]


def main(url: str) -> None:
    spark = SparkEngine(mode="remote", remote_url=url, shuffle_partitions=2).spark_session
    one_row = spark.createDataFrame([(1, "a", 5)], "id long, label string, version long")

    def first_rows():
        first = first_per_key(one_row, ["id"], [F.col("version").desc()])
        return [list(row) for row in first.orderBy("id").collect()]
    print(
        json.dumps(
            {
                "one_partition_aggregate_checkpoint": _outcome(
                    lambda: spark.range(3).agg(F.sum("id")).localCheckpoint() and "ok"
                ),
                "first_per_key": _outcome(first_rows),
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
