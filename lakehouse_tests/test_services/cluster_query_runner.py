"""Runs one query on a Spark Connect endpoint and prints what it saw as JSON, in its own process: a
Connect session sticks to the process that opened it.

The query keeps a frame with ``localCheckpoint()`` (data the driver and every worker must reach), then
counts its rows per bucket, writes it as a Delta table to each location given and reads it back (row count
and sum of ``id``); each outcome, or the first line of the engine's error.
"""

import json
import sys

from pyspark.sql import functions as F

from lakehouse.engine import SparkEngine


def _outcome(action):
    try:
        return action()
    except Exception as error:  # noqa: BLE001 - the engine's own exception over Spark Connect
        return str(error).splitlines()[0]


def main(url: str, *locations: str) -> None:
    spark = SparkEngine(mode="remote", remote_url=url, shuffle_partitions=2).spark_session
    kept = spark.range(1000).repartition(4).withColumn("bucket", F.col("id") % 3).localCheckpoint()

    def write_and_read(location: str) -> list[int]:
        kept.write.format("delta").mode("overwrite").save(location)
        row = spark.read.format("delta").load(location).agg(F.count("*"), F.sum("id")).collect()[0]
        return [row[0], row[1]]

    def rows_per_bucket() -> list[list[int]]:
        return sorted([row["bucket"], row["count"]] for row in kept.groupBy("bucket").count().collect())

    outcomes = {"rows_per_bucket": _outcome(rows_per_bucket)}
    for location in locations:
        outcomes[location] = _outcome(lambda location=location: write_and_read(location))
    print(json.dumps(outcomes))


if __name__ == "__main__":
    main(*sys.argv[1:])
