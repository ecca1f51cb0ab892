"""A real materialization of a small daily-partitioned asset through Dagster and the Delta IO manager, run
in-process (``write``) or as a separate process (``python -m lakehouse_tests.test_faults.writer``) that the
fault tests kill with SIGKILL at a chosen point of its Delta write.

A step is ``<day>:<generation>``: the partition to materialize and which generation of its rows to write, so a
re-run of the same step writes exactly the same rows.
"""

import argparse
from collections.abc import Sequence

import dagster as dg
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse.engine import SparkEngine
from lakehouse.io.delta_io_manager import MERGE_KEYS_KEY, WRITE_MODE_KEY
from lakehouse.partitions import daily_partitions
from lakehouse_tests.support import lake_resources

ASSET_KEY = ["faults", "events"]
ROWS = 40


def rows_of(day: str, generation: int) -> list[tuple[int, str, str]]:
    """Generation 1 writes ids 0..ROWS-1; each later one rewrites every other id and adds five new ones."""
    base = int(day.replace("-", "")) * 1000
    count = ROWS + 5 * (generation - 1)
    return [
        (base + i, f"g{generation if i % 2 == 0 or i >= ROWS else 1}-{i}", day) for i in range(count)
    ]


def build_asset(mode: str) -> dg.AssetsDefinition:
    metadata = {WRITE_MODE_KEY: mode}
    if mode == "merge":
        metadata[MERGE_KEYS_KEY] = ["id"]

    @dg.asset(
        key=ASSET_KEY, partitions_def=daily_partitions(), metadata=metadata, config_schema={"generation": int}
    )
    def events(context: dg.AssetExecutionContext, engine: SparkEngine) -> DataFrame:
        data = rows_of(context.partition_key, context.op_execution_context.op_config["generation"])
        frame = engine.spark_session.createDataFrame(data, "id long, value string, day string")
        return frame.select("id", "value", F.col("day").cast("date").alias("_run_date"))

    return events


def write(lake_root: str, engine: SparkEngine, steps: Sequence[str], mode: str) -> None:
    asset = build_asset(mode)
    resources = lake_resources(engine, lake_root)
    for step in steps:
        day, generation = step.split(":")
        dg.materialize(
            [asset],
            resources=resources,
            partition_key=day,
            run_config={"ops": {asset.node_def.name: {"config": {"generation": int(generation)}}}},
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("lake_root")
    parser.add_argument("--mode", choices=["overwrite", "merge"], default="overwrite")
    parser.add_argument("steps", nargs="+")
    args = parser.parse_args(argv)
    engine = SparkEngine(shuffle_partitions=1)
    write(args.lake_root, engine, args.steps, args.mode)
    engine.spark_session.stop()


if __name__ == "__main__":
    main()
