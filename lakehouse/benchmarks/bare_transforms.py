"""The silver layer's pure transforms, bare: no Dagster, no checks, no lineage. Reads the day's bronze
tables exported as Parquet, masks PII, runs the five silver transforms as the silver assets call them, and
writes each result either as a new Delta table partitioned by ``_run_date``, the silver tables' own layout
(what the framework overhead is measured against; Sail writes each Delta partition with one task, a cost
of the layout, not of the framework), or as Parquet (what classic Spark, which has no Delta jars here, can
write too: the engine comparison, both engines compressing with Snappy, so that it compares engines, not
codecs). One engine per process (a process with a Spark Connect session cannot also start a classic one),
so it runs as its own process:

    python -m lakehouse.benchmarks.bare_transforms <embedded|classic> <delta|parquet> <inputs> <outputs> <first_day> <result.json>

Into Delta, each silver table's Great Expectations suite then validates day 1 of the table just written,
as its asset check does but without Dagster (``validate_frame``, Data Docs page included), timed apart from
the transform: what the checks cost by themselves. GX is imported and its context built first, by
validating one bronze suite (not timed), as the bronze checks do before the silver ones in a Dagster run.
"""

import json
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from lakehouse.benchmarks.medallion_run import peak_memory_mb

SILVER_TABLES = ("customers", "products", "orders", "behavior_events", "customer_activity")


def run_silver(
    spark, sink: str, inputs: str, outputs: str, first_day: date, suites: bool = False
) -> dict[str, dict[str, float]]:
    """Each silver table written from the bronze inputs; per table its rows and seconds, and with
    ``suites`` the seconds its Great Expectations suite took to validate day 1 of it."""
    from pyspark.sql import functions as F

    from lakehouse.contracts import load_contracts
    from lakehouse.governance import DEVELOPMENT_SALT, mask_columns, masked_columns
    from lakehouse.partitions import PARTITION_COLUMN, DayWindow
    from lakehouse.quality import suites as gx_suites
    from lakehouse.quality import validation
    from lakehouse.silver import transforms as T

    contracts = load_contracts()
    docs = os.path.join(outputs, "_data_docs")

    def bronze(table: str):
        frame = spark.read.parquet(os.path.join(inputs, table))
        return mask_columns(frame, masked_columns(contracts[f"bronze.{table}"]), DEVELOPMENT_SALT)

    def written(table: str):
        return spark.read.format(sink).load(os.path.join(outputs, table))

    def since(frame, day: date):
        return frame.where(F.col(PARTITION_COLUMN) >= F.lit(day))

    reach = first_day - timedelta(days=T.DEFAULT_LOOKBACK_DAYS)
    built = {
        "customers": lambda: T.silver_customers(bronze("customers")),
        "products": lambda: T.silver_products(bronze("products")),
        "orders": lambda: T.silver_orders(
            since(bronze("orders"), reach),
            since(bronze("order_items"), reach),
            first_day,
            T.DEFAULT_LOOKBACK_DAYS,
        ),
        "behavior_events": lambda: T.silver_behavior_events(bronze("behavior_events")),
        "customer_activity": lambda: T.customer_activity(
            written("orders"),
            written("behavior_events"),
            since(written("customers"), reach),
            T.DEFAULT_LOOKBACK_DAYS,
        ),
    }
    if suites:  # warm: GX imported, its context and Data Docs templates built (not timed)
        warm = gx_suites.load_suite(contracts["bronze.products"])
        products = spark.read.parquet(os.path.join(inputs, "products"))
        validation.validate_frame(products, warm, "warm", Path(docs))
    timings: dict[str, dict[str, float]] = {}
    for table in SILVER_TABLES:
        clock = time.perf_counter()
        shaped = T.to_contract(built[table](), contracts[f"silver.{table}"])
        writer = shaped.write.format(sink).mode("overwrite")
        if sink == "delta":
            writer = writer.partitionBy(PARTITION_COLUMN)
        elif sink == "parquet":  # both engines Snappy: classic Spark's default codec, not Sail's zstd
            writer = writer.option("compression", "snappy")
        writer.save(os.path.join(outputs, table))
        seconds = time.perf_counter() - clock
        rows = written(table).count()
        timings[table] = {"rows": rows, "seconds": round(seconds, 3)}
        if suites:
            suite = gx_suites.load_suite(contracts[f"silver.{table}"])
            clock = time.perf_counter()
            frame = written(table)
            if suite.scope is gx_suites.Scope.PARTITION:
                frame = frame.where(DayWindow.of_day(first_day).filter())  # as the check does
            outcome = validation.validate_frame(frame, suite, f"bare-{first_day}", Path(docs))
            timings[table]["check_seconds"] = round(time.perf_counter() - clock, 3)
            if not outcome.success:  # the same data passed the Dagster run's checks
                failed = ", ".join(result.spec.id for result in outcome.failed)
                raise RuntimeError(f"silver {table}: its suite failed on the bare output ({failed})")
    return timings


def main(mode: str, sink: str, inputs: str, outputs: str, first_day: str, result_path: str) -> None:
    from lakehouse.engine import SparkEngine

    # classic Spark's driver is a JVM with a 1 GB heap by default: too small for SF 10's broadcast joins
    settings = {"spark.ui.showConsoleProgress": "false", "spark.driver.memory": "8g"} if mode == "classic" else {}
    clock = time.perf_counter()
    spark = SparkEngine(mode=mode, spark_config=settings).spark_session
    spark.range(1).count()
    startup = time.perf_counter() - clock
    suites = mode == "embedded" and sink == "delta"
    tables = run_silver(spark, sink, inputs, outputs, date.fromisoformat(first_day), suites)
    result: dict[str, Any] = {
        "mode": mode,
        "sink": sink,
        "engine_startup_seconds": round(startup, 3),
        "tables": tables,
        "seconds": round(sum(t["seconds"] for t in tables.values()), 3),
        "rows": sum(t["rows"] for t in tables.values()),
        **({"check_seconds": round(sum(t["check_seconds"] for t in tables.values()), 3)} if suites else {}),
        "peak_memory": peak_memory_mb(),
    }
    with open(result_path, "w") as out:
        json.dump(result, out)


if __name__ == "__main__":
    main(*sys.argv[1:7])
