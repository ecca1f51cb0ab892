"""Unpartitioned overwrite, append and merge modes, empty partitions, and failed writes."""

from datetime import date

import pytest
from dagster import AssetExecutionContext, Config, asset, materialize
from deltalake import DeltaTable
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse.engine import SparkEngine
from lakehouse.io.delta_io_manager import MERGE_KEYS_KEY, WRITE_MODE_KEY, DeltaWriteError, write_frame
from lakehouse.partitions import DayWindow, daily_partitions


class Rows(Config):
    rows: list[list[str]] = []


def _frame(engine: SparkEngine, rows: list[list[str]]) -> DataFrame:
    return engine.spark_session.createDataFrame([(int(i), v) for i, v in rows], "id long, value string")


@asset(key_prefix=["gold"], name="lookup")
def overwritten(engine: SparkEngine, config: Rows) -> DataFrame:
    return _frame(engine, config.rows)


@asset(key_prefix=["gold"], name="lookup", metadata={WRITE_MODE_KEY: "append"})
def appended(engine: SparkEngine, config: Rows) -> DataFrame:
    return _frame(engine, config.rows)


@asset(key_prefix=["gold"], name="lookup", metadata={WRITE_MODE_KEY: "merge", MERGE_KEYS_KEY: ["id"]})
def merged(engine: SparkEngine, config: Rows) -> DataFrame:
    return _frame(engine, config.rows)


def _run(asset_def, resources, rows, **kwargs):
    return materialize(
        [asset_def],
        resources=resources,
        run_config={"ops": {"gold__lookup": {"config": {"rows": rows}}}},
        **kwargs,
    )


def _table(uri: str) -> list[tuple]:
    table = DeltaTable(uri).to_pyarrow_table()
    return sorted(zip(table.column("id").to_pylist(), table.column("value").to_pylist()))


def test_unpartitioned_asset_overwrites(engine, io_manager, lake_root):
    resources = {"engine": engine, "io_manager": io_manager}
    _run(overwritten, resources, [["1", "a"], ["2", "b"]])
    _run(overwritten, resources, [["3", "c"]])
    assert _table(f"{lake_root}/gold/lookup") == [(3, "c")]


def test_append_mode_keeps_earlier_rows(engine, io_manager, lake_root):
    resources = {"engine": engine, "io_manager": io_manager}
    _run(appended, resources, [["1", "a"]])
    _run(appended, resources, [["2", "b"]])
    assert _table(f"{lake_root}/gold/lookup") == [(1, "a"), (2, "b")]


def test_merge_mode_updates_matches_and_inserts_the_rest(engine, io_manager, lake_root):
    resources = {"engine": engine, "io_manager": io_manager}
    _run(merged, resources, [["1", "a"], ["2", "b"]])
    _run(merged, resources, [["2", "B"], ["3", "c"]])
    _run(merged, resources, [["2", "B"], ["3", "c"]])
    assert _table(f"{lake_root}/gold/lookup") == [(1, "a"), (2, "B"), (3, "c")]


def test_merge_mode_without_keys_is_a_clear_error(engine, io_manager):
    @asset(key_prefix=["gold"], name="lookup", metadata={WRITE_MODE_KEY: "merge"})
    def keyless(engine: SparkEngine) -> DataFrame:
        return _frame(engine, [["1", "a"]])

    result = materialize([keyless], resources={"engine": engine, "io_manager": io_manager}, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "needs delta/merge_keys" in str(failure.step_failure_data.error.cause or failure.step_failure_data.error)


class Day(Config):
    rows: int = 2
    poison: bool = False


@asset(key_prefix=["bronze"], name="daily", partitions_def=daily_partitions())
def daily(context: AssetExecutionContext, engine: SparkEngine, config: Day) -> DataFrame:
    day = context.partition_key
    frame = engine.spark_session.range(config.rows).select(
        F.col("id"), F.lit(day).cast("date").alias("_run_date"), F.lit("ok").alias("note")
    )
    if config.poison:
        # Fails while the engine is writing data files, after planning succeeded.
        frame = frame.withColumn("note", F.expr("CAST(CONCAT('x', note) AS INT)").cast("string"))
    return frame


def _run_daily(resources, day, **config):
    return materialize(
        [daily],
        resources=resources,
        partition_key=day,
        run_config={"ops": {"bronze__daily": {"config": config}}},
        raise_on_error=False,
    )


def test_empty_window_writes_a_valid_empty_partition(engine, io_manager, lake_root):
    resources = {"engine": engine, "io_manager": io_manager}
    assert _run_daily(resources, "2026-01-01").success
    assert _run_daily(resources, "2026-01-02").success
    assert _run_daily(resources, "2026-01-02", rows=0).success
    table = DeltaTable(f"{lake_root}/bronze/daily").to_pyarrow_table()
    assert sorted(d.isoformat() for d in table.column("_run_date").to_pylist()) == ["2026-01-01", "2026-01-01"]


def test_empty_first_partition_creates_the_table(engine, io_manager, lake_root):
    resources = {"engine": engine, "io_manager": io_manager}
    result = _run_daily(resources, "2026-01-05", rows=0)
    assert result.success
    table = DeltaTable(f"{lake_root}/bronze/daily")
    assert table.to_pyarrow_table().num_rows == 0
    assert sorted(f.name for f in table.schema().fields) == ["_run_date", "id", "note"]


def test_failed_write_leaves_previous_version_readable_and_unchanged(engine, io_manager, lake_root):
    resources = {"engine": engine, "io_manager": io_manager}
    assert _run_daily(resources, "2026-01-01", rows=3).success
    uri = f"{lake_root}/bronze/daily"
    version, before = DeltaTable(uri).version(), DeltaTable(uri).to_pyarrow_table()

    result = _run_daily(resources, "2026-01-01", rows=5, poison=True)

    assert not result.success
    assert DeltaTable(uri).version() == version
    assert DeltaTable(uri).to_pyarrow_table().equals(before)
    assert engine.spark_session.read.format("delta").load(uri).count() == 3


def test_rows_of_no_day_are_replaced_whole_by_every_write_that_holds_them(engine, lake, lake_root):
    spark = engine.spark_session
    uri = f"{lake_root}/quarantine/undated_probe"
    day_1, day_2 = date(2026, 1, 1), date(2026, 1, 2)

    def frame(rows):
        return spark.createDataFrame(rows, "id int, _run_date date")

    write_frame(lake, frame([(1, day_1), (2, None)]), uri, window=DayWindow.of_day(day_1), undated=True)
    written = write_frame(
        lake, frame([(3, day_2), (2, None), (4, None)]), uri, window=DayWindow.of_day(day_2), undated=True
    )

    rows = DeltaTable(uri).to_pyarrow_table().to_pylist()
    assert sorted((r["id"], r["_run_date"]) for r in rows) == [(1, day_1), (2, None), (3, day_2), (4, None)]
    assert (written.rows, written.undated_rows) == (1, 2)
    assert written.metadata()["undated_rows"] == 2
    with pytest.raises(DeltaWriteError, match="outside the run's partitions"):
        write_frame(lake, frame([(5, None)]), uri, window=DayWindow.of_day(day_1))
    assert len(DeltaTable(uri).to_pyarrow_table()) == 4
