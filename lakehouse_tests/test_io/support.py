"""A partition writer for concurrent-commit tests: one process per partition, each with its own embedded
engine, as Dagster's multiprocess executor runs steps."""

ROWS_PER_DAY = 50


def write_one_partition(lake_root: str, day: str, barrier, results) -> None:
    """Materialize ``day`` of ``bronze/contended`` (``ROWS_PER_DAY`` rows) in this process, with its own engine,
    once every writer is at ``barrier``; put ``(day, success, commit retries)`` on ``results``. Run in spawned
    processes (``lakehouse_tests.support.run_together``), so it is found by its module path."""
    from dagster import AssetExecutionContext, asset, materialize
    from pyspark.sql import DataFrame
    from pyspark.sql import functions as F

    from lakehouse.engine import SparkEngine
    from lakehouse.partitions import daily_partitions
    from lakehouse_tests.support import lake_resources

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
