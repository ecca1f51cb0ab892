"""A multiprocess backfill: writers of different partitions of one table commit at the same time.

Each worker is a separate process with its own embedded engine, as Dagster's multiprocess executor runs
steps. They start together on a barrier so their commits race for the same table versions.
"""

from deltalake import DeltaTable

from lakehouse_tests.support import run_together

DAYS = ["2026-02-01", "2026-02-02", "2026-02-03", "2026-02-04"]
ROWS_PER_DAY = 50


def _write_one_partition(lake_root: str, day: str, barrier, results) -> None:
    from dagster import AssetExecutionContext, asset, materialize
    from pyspark.sql import DataFrame
    from pyspark.sql import functions as F

    from lakehouse.engine import SparkEngine
    from lakehouse_tests.support import lake_resources
    from lakehouse.partitions import daily_partitions

    @asset(key_prefix=["bronze"], name="contended", partitions_def=daily_partitions())
    def contended(context: AssetExecutionContext, engine: SparkEngine) -> DataFrame:
        frame = engine.spark_session.range(ROWS_PER_DAY).select(
            F.col("id"), F.lit(context.partition_key).cast("date").alias("_run_date")
        )
        frame.count()  # warm the engine so the barrier lines up the commits, not the start-ups
        barrier.wait(timeout=120)
        return frame

    engine = SparkEngine(shuffle_partitions=1)
    result = materialize(
        [contended],
        resources=lake_resources(engine, lake_root),
        partition_key=day,
        raise_on_error=False,
    )
    materializations = result.asset_materializations_for_node("bronze__contended") if result.success else []
    retries = sum(m.metadata["delta_commit_retries"].value for m in materializations)
    results.put((day, result.success, retries))


def test_concurrent_partition_writers_all_land(tmp_path):
    lake_root = str(tmp_path / "lake")
    outcomes = run_together(_write_one_partition, [(lake_root, d) for d in DAYS])

    assert sorted((day, ok) for day, ok, _ in outcomes) == [(d, True) for d in DAYS]
    table = DeltaTable(f"{lake_root}/bronze/contended").to_pyarrow_table()
    counts = {}
    for day in table.column("_run_date").to_pylist():
        counts[day.isoformat()] = counts.get(day.isoformat(), 0) + 1
    assert counts == {d: ROWS_PER_DAY for d in DAYS}
    print(f"commit conflicts retried: {sum(r for _, _, r in outcomes)}")
