"""Throughput of dim_customer's run: a dimension of N customers, then a day of M changes merged with one
MERGE. A measurement, not a timed test: it is skipped unless ``LAKEHOUSE_BENCHMARKS=1``, and it asserts
only that the result is right. Run it on its own:

    LAKEHOUSE_BENCHMARKS=1 pytest -s lakehouse_tests/test_gold/test_dim_customer_benchmark.py
    python -m lakehouse_tests.test_gold.test_dim_customer_benchmark [customers] [changes]
"""

import json
import os
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.gold import scd2
from lakehouse.gold.merges import merge_customer_window
from lakehouse.lake import Lake

DAY_1 = 1767225600  # 2026-01-01 00:00:00 UTC
DAY_2 = DAY_1 + 86400


def _hash(prefix: str, column: Column) -> Column:
    return F.sha2(F.concat(F.lit(prefix), column.cast("string")), 256)


def _silver(spark: SparkSession, customers: int, *, day_start: int, changed: bool) -> DataFrame:
    """Silver rows of customers 1..``customers``. On a change day, by id: 6 in 10 change a tracked attribute,
    3 in 10 their phone (untracked), 1 in 10 are deleted."""
    ids = spark.range(customers).select((F.col("id") + 1).alias("customer_id"))
    kind = F.col("customer_id") % 10
    segment = F.when(F.lit(changed) & (kind < 6), F.lit("enterprise")).otherwise(F.lit("consumer"))
    phone = F.when(F.lit(changed) & (kind >= 6) & (kind < 9), F.lit("new")).otherwise(F.lit("old"))
    return ids.select(
        "customer_id",
        _hash("e", F.col("customer_id")).alias("email_hash"),
        F.lit("DE").alias("country_code"),
        F.lit("Berlin").alias("city"),
        segment.alias("segment"),
        F.lit("none").alias("loyalty_tier"),
        _hash("f", F.col("customer_id")).alias("first_name_hash"),
        _hash("l", F.col("customer_id")).alias("last_name_hash"),
        _hash(phone, F.col("customer_id")).alias("phone_hash"),
        F.timestamp_seconds(F.lit(day_start) + F.col("customer_id") % 80000)
        .cast("timestamp_ntz")
        .alias("updated_at"),
        (F.lit(changed) & (kind == 9)).alias("is_deleted"),
        F.timestamp_seconds(F.lit(day_start)).cast("date").alias("_run_date"),
    )


def measure(
    spark: SparkSession, root: Path, customers: int = 200_000, changes: int = 20_000
) -> dict[str, Any]:
    lake = Lake(root_uri=str(root))
    silver_uri, dim_uri = lake.table(["silver", "customers"]), lake.table(["gold", "dim_customer"])
    _silver(spark, customers, day_start=DAY_1, changed=False).write.format("delta").partitionBy(
        "_run_date"
    ).save(silver_uri)
    day_1 = spark.read.format("delta").load(silver_uri)
    started = time.perf_counter()
    initial = merge_customer_window(spark, lake, dim_uri, day_1, day_1, str(root / "_scratch"))
    initial_seconds = time.perf_counter() - started
    snapshot = str(root / "dim_before_day_2")
    shutil.copytree(dim_uri, snapshot)

    _silver(spark, changes, day_start=DAY_2, changed=True).write.format("delta").mode("append").save(
        silver_uri
    )
    day_2 = (
        spark.read.format("delta")
        .load(silver_uri)
        .where(F.col("_run_date") == F.lit("2026-01-02").cast("date"))
    )
    started = time.perf_counter()
    silver = spark.read.format("delta").load(silver_uri)
    run = merge_customer_window(spark, lake, dim_uri, day_2, silver, str(root / "_scratch"))
    run_seconds = time.perf_counter() - started

    # The MERGE statement alone, on the same table state, from a materialized merge source.
    touched = day_2.select("customer_id").distinct()
    history = spark.read.format("delta").load(silver_uri).join(touched, "customer_id", "left_semi")
    before = spark.read.format("delta").load(snapshot)
    existing = before.join(touched, "customer_id", "left_semi").unionByName(before.where("customer_key = 0"))
    source_uri = str(root / "merge_source")
    desired = scd2.customer_versions(history).unionByName(scd2.unknown_customer(spark))
    scd2.customer_changes(desired, existing).write.format("delta").save(source_uri)
    view = f"bench_{uuid.uuid4().hex}"
    spark.read.format("delta").load(source_uri).createOrReplaceTempView(view)
    source_rows = spark.table(view).count()
    started = time.perf_counter()
    spark.sql(scd2.merge_statement(snapshot, view))
    merge_seconds = time.perf_counter() - started

    return {
        "customers": customers,
        "changes": changes,
        "initial_load_seconds": round(initial_seconds, 2),
        "initial_rows_per_second": round(initial.rows / initial_seconds),
        "run_seconds": round(run_seconds, 2),
        "run_changes_per_second": round(changes / run_seconds),
        "merge_source_rows": source_rows,
        "merge_statement_seconds": round(merge_seconds, 2),
        "merge_source_rows_per_second": round(source_rows / merge_seconds),
        "rows_inserted": run.inserted,
        "rows_updated": run.updated,
        "rows_deleted": run.deleted,
        "table_rows": run.rows,
    }


@pytest.mark.skipif(
    os.environ.get("LAKEHOUSE_BENCHMARKS") != "1", reason="a measurement; set LAKEHOUSE_BENCHMARKS=1"
)
def test_merge_throughput(spark, tmp_path):
    result = measure(spark, tmp_path)
    print(json.dumps(result, indent=2))
    tracked = result["changes"] * 6 // 10
    deleted = result["changes"] // 10
    assert (result["rows_inserted"], result["rows_updated"]) == (
        tracked,
        tracked + 3 * result["changes"] // 10 + deleted,
    )
    assert result["table_rows"] == result["customers"] + tracked + 1


def main(customers: str = "200000", changes: str = "20000") -> None:
    import tempfile

    from lakehouse.engine import SparkEngine

    spark = SparkEngine().spark_session
    with tempfile.TemporaryDirectory() as root:
        print(json.dumps(measure(spark, Path(root), int(customers), int(changes)), indent=2))


if __name__ == "__main__":
    main(*sys.argv[1:])
