"""The Delta IO manager over real Delta tables on disk, written by the embedded engine and read back by
delta-rs as an independent reader."""


from datetime import date, timedelta

import pytest
import dagster as dg
from dagster import (
    AssetExecutionContext,
    AssetIn,
    BackfillPolicy,
    Config,
    asset,
    materialize,
)
from deltalake import DeltaTable
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse.engine import SparkEngine
from lakehouse.lake import Lake
from lakehouse.partitions import daily_partitions
from lakehouse_tests.support import step_failure_message
from lakehouse_tests.test_observability.support import committed_bytes

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


class RowsConfig(Config):
    label: str = "v1"
    rows_per_day: int = 3
    shift_days: int = 0  # produce rows for days outside the window, to prove they are refused


def _rows_for_window(context: AssetExecutionContext, engine: SparkEngine, config: RowsConfig) -> DataFrame:
    window = context.partition_time_window
    days = (window.end - window.start).days
    first = window.start.date() + timedelta(days=config.shift_days)
    spark = engine.spark_session
    rows = [
        (day * 100 + i, f"{config.label}-{day}-{i}", (first + timedelta(days=day)).isoformat())
        for day in range(days)
        for i in range(config.rows_per_day)
    ]
    return spark.createDataFrame(rows, "id long, label string, day string").select(
        "id", "label", F.to_date("day").alias("_run_date")
    )


@asset(key_prefix=["bronze"], partitions_def=daily_partitions(), backfill_policy=BackfillPolicy.single_run())
def events(context: AssetExecutionContext, engine: SparkEngine, config: RowsConfig) -> DataFrame:
    return _rows_for_window(context, engine, config)


@asset(
    key_prefix=["silver"],
    partitions_def=daily_partitions(),
    ins={"events": AssetIn(key=["bronze", "events"])},
    backfill_policy=BackfillPolicy.single_run(),
)
def events_copy(events: DataFrame) -> DataFrame:
    return events.withColumn("label", F.upper("label"))


def _materialize(resources, assets, *, partition=None, window=None, config=None, raise_on_error=True):
    tags = {RANGE_START_TAG: window[0], RANGE_END_TAG: window[1]} if window else None
    run_config = {"ops": {"bronze__events": {"config": config}}} if config else None
    return materialize(
        assets,
        resources=resources,
        partition_key=partition,
        tags=tags,
        run_config=run_config,
        raise_on_error=raise_on_error,
    )


def _delta_rows(uri: str) -> list[tuple]:
    table = DeltaTable(uri).to_pyarrow_table()
    return sorted(zip(*(table.column(c).to_pylist() for c in ("id", "label", "_run_date"))))


@pytest.fixture
def resources(engine, lake, io_manager):
    return {"engine": engine, "lake": lake, "io_manager": io_manager}


def test_same_partition_written_twice_gives_same_content(resources, lake_root):
    uri = f"{lake_root}/bronze/events"
    _materialize(resources, [events], partition="2026-01-02")
    first = _delta_rows(uri)
    _materialize(resources, [events], partition="2026-01-02")
    assert _delta_rows(uri) == first
    assert len(first) == 3
    assert DeltaTable(uri).version() == 2  # create, write, replace


def test_partition_write_replaces_only_its_own_day(resources, lake_root):
    uri = f"{lake_root}/bronze/events"
    for day in ("2026-01-01", "2026-01-02", "2026-01-03"):
        _materialize(resources, [events], partition=day)
    _materialize(resources, [events], partition="2026-01-02", config={"label": "v2", "rows_per_day": 2})
    rows = _delta_rows(uri)
    by_day = {}
    for _, label, day in rows:
        by_day.setdefault(day.isoformat(), set()).add(label.split("-")[0])
    assert by_day == {"2026-01-01": {"v1"}, "2026-01-02": {"v2"}, "2026-01-03": {"v1"}}
    assert sum(1 for r in rows if r[2] == date(2026, 1, 2)) == 2


def test_backfill_window_replaces_every_day_of_the_window_and_nothing_else(resources, lake_root):
    uri = f"{lake_root}/bronze/events"
    _materialize(resources, [events], window=("2026-01-01", "2026-01-05"))
    # A predicate built from the window's start only would replace 01-02 alone and leave v1 rows on 01-03/04.
    _materialize(resources, [events], window=("2026-01-02", "2026-01-04"), config={"label": "v2"})
    labels = {(day.isoformat(), label.split("-")[0]) for _, label, day in _delta_rows(uri)}
    assert labels == {
        ("2026-01-01", "v1"),
        ("2026-01-02", "v2"),
        ("2026-01-03", "v2"),
        ("2026-01-04", "v2"),
        ("2026-01-05", "v1"),
    }


def test_rows_outside_the_window_are_refused_and_nothing_is_written(resources, lake_root):
    uri = f"{lake_root}/bronze/events"
    _materialize(resources, [events], window=("2026-01-01", "2026-01-03"))
    before, version = _delta_rows(uri), DeltaTable(uri).version()
    result = _materialize(
        resources, [events], partition="2026-01-02", config={"label": "bad", "shift_days": 1}, raise_on_error=False
    )
    assert not result.success
    message = step_failure_message(result)
    assert "3 of 3 rows have _run_date outside the run's partitions" in message and "bronze/events" in message
    assert _delta_rows(uri) == before
    assert DeltaTable(uri).version() == version  # no commit


def test_rows_outside_the_window_of_a_first_write_leave_no_row(resources, lake_root):
    # three days of three rows, shifted one day: the last day falls after the window; refused as a whole
    result = _materialize(
        resources, [events], window=("2026-01-01", "2026-01-03"), config={"shift_days": 1}, raise_on_error=False
    )
    assert not result.success
    assert "3 of 9 rows have _run_date outside" in step_failure_message(result)
    table = DeltaTable(f"{lake_root}/bronze/events")
    assert table.version() == 0 and table.to_pyarrow_table().num_rows == 0  # created empty, nothing more


def test_partition_column_of_the_wrong_type_is_refused(engine, io_manager, lake_root):
    @asset(key_prefix=["bronze"], name="events", partitions_def=daily_partitions())
    def string_dated_events(engine: SparkEngine) -> DataFrame:
        return engine.spark_session.createDataFrame([(1, "2026-01-02")], "id long, _run_date string")

    result = materialize(
        [string_dated_events],
        resources={"engine": engine, "io_manager": io_manager},
        partition_key="2026-01-02",
        raise_on_error=False,
    )
    assert not result.success
    assert "must be DATE, got string" in step_failure_message(result)
    assert not DeltaTable.is_deltatable(f"{lake_root}/bronze/events")


def test_existing_table_with_a_non_date_partition_column_is_never_overwritten(engine, resources, lake_root):
    uri = f"{lake_root}/bronze/events"
    engine.spark_session.createDataFrame(
        [(1, "old", "2026-01-01"), (2, "old", "2026-01-02")], "id long, label string, _run_date string"
    ).write.format("delta").partitionBy("_run_date").mode("overwrite").save(uri)
    result = _materialize(resources, [events], partition="2026-01-02", raise_on_error=False)
    assert not result.success
    assert "not date" in step_failure_message(result)
    assert DeltaTable(uri).to_pyarrow_table().num_rows == 2
    assert DeltaTable(uri).version() == 0


def test_downstream_loads_exactly_the_requested_partitions(resources, lake_root):
    _materialize(resources, [events], window=("2026-01-01", "2026-01-04"))
    result = materialize(
        [events, events_copy],
        resources=resources,
        selection=[events_copy],
        partition_key="2026-01-03",
    )
    assert result.success
    rows = _delta_rows(f"{lake_root}/silver/events_copy")
    assert {r[2] for r in rows} == {date(2026, 1, 3)}
    assert all(label.startswith("V1-") for _, label, _ in rows)
    assert len(rows) == 3


def test_materialization_metadata(resources, lake_root):
    result = _materialize(resources, [events], window=("2026-01-01", "2026-01-02"))
    materialization = result.asset_materializations_for_node("bronze__events")[0]
    metadata = {k: v.value for k, v in materialization.metadata.items()}
    assert metadata["dagster/row_count"] == 6
    assert metadata["delta_version"] == 1  # version 0 creates the empty table
    assert metadata["table_uri"] == f"{lake_root}/bronze/events"
    assert metadata["partitions_written"] == ["2026-01-01", "2026-01-02"]
    assert [c.name for c in metadata["dagster/column_schema"].columns] == ["id", "label", "_run_date"]


def test_materialization_metrics_rows_bytes_and_duration_of_each_write(resources, lake_root):
    uri = f"{lake_root}/bronze/events"
    before = None
    for rows_per_day in (3, 5):  # a first write creates the table; a second replaces the same days
        result = _materialize(
            resources, [events], window=("2026-01-01", "2026-01-03"), config={"rows_per_day": rows_per_day}
        )
        materializations = result.asset_materializations_for_node("bronze__events")
        assert len(materializations) == 3  # one per day of the window, with the run's numbers
        metadata = {k: v.value for k, v in materializations[0].metadata.items()}
        assert metadata["dagster/row_count"] == 3 * rows_per_day == len(_delta_rows(uri))
        version = metadata["delta_version"]
        assert metadata["bytes_written"] == committed_bytes(uri, before, version) > 0
        assert isinstance(metadata["duration_seconds"], float) and 0 < metadata["duration_seconds"] < 120
        before = version


def test_every_table_written_is_read_back_by_delta_rs_with_the_same_rows(engine, resources, lake_root):
    _materialize(resources, [events], window=("2026-01-01", "2026-01-03"))
    uri = f"{lake_root}/bronze/events"
    engine_rows = sorted(tuple(r) for r in engine.spark_session.read.format("delta").load(uri).collect())
    assert engine_rows == _delta_rows(uri)
    assert DeltaTable(uri).metadata().partition_columns == ["_run_date"]


def test_materialized_column_schema_keeps_declared_descriptions_and_tags(engine, io_manager):
    declared = dg.TableSchema(
        columns=[dg.TableColumn("label", "string", description="a label", tags={"pii": "indirect"})]
    )

    @asset(key_prefix=["gold"], name="labelled", metadata={"dagster/column_schema": declared})
    def labelled(engine: SparkEngine) -> DataFrame:
        return engine.spark_session.createDataFrame([(1, "a")], "id long, label string")

    result = materialize([labelled], resources={"engine": engine, "io_manager": io_manager})
    schema = result.asset_materializations_for_node("gold__labelled")[0].metadata["dagster/column_schema"].value
    columns = {c.name: c for c in schema.columns}
    assert columns["label"].tags == {"pii": "indirect"} and columns["label"].description == "a label"
    assert columns["id"].type == "bigint"


class _Warnings:
    def __init__(self):
        self.messages: list[str] = []

    def warning(self, message: str) -> None:
        self.messages.append(message)


def test_lake_commit_runs_a_lost_commit_again_within_the_lakes_settings(engine, lake_root):
    lake = Lake(root_uri=lake_root, commit_retries=2, retry_backoff_seconds=0.001)
    uri = lake.table(["bronze", "events"])
    frame = engine.spark_session.createDataFrame([(1,)], "id long")
    attempts = []

    def write_losing_twice() -> int:
        attempts.append(len(attempts))
        if len(attempts) <= 2:  # what the engine reports when a concurrent writer took the version
            raise RuntimeError("Failed to commit transaction: version 1 already exists")
        frame.write.format("delta").mode("append").save(uri)
        return DeltaTable(uri).version()

    log = _Warnings()
    assert lake.commit(uri, write_losing_twice, log.warning) == (0, 2)
    assert len(log.messages) == 2 and all(uri in m for m in log.messages)
    assert DeltaTable(uri).to_pyarrow_table().num_rows == 1

    def always_losing() -> None:
        attempts.append(len(attempts))
        raise RuntimeError("Failed to commit transaction: version 2 already exists")

    def broken() -> None:
        attempts.append(len(attempts))
        raise ValueError("not a commit conflict")

    attempts.clear()
    with pytest.raises(RuntimeError, match="Failed to commit"):
        lake.commit(uri, always_losing, _Warnings().warning)
    assert len(attempts) == 3  # the first attempt and the two retries allowed

    attempts.clear()
    with pytest.raises(ValueError):
        lake.commit(uri, broken, _Warnings().warning)
    assert len(attempts) == 1  # anything but a lost commit race is not retried
