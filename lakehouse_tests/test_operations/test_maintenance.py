"""Maintenance on real Delta tables written by the engine in many small commits: compaction and Z-order
drop the file count without changing a row, vacuum keeps what the retention protects and refuses less
than seven days, and the Dagster job reports files and bytes per table as asset observations."""

import json
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from lakehouse.io import DeltaSparkIOManager
from lakehouse.operations import (
    MIN_RETENTION_HOURS,
    MaintenancePlan,
    RetentionTooShort,
    lake_maintenance_job,
    lake_table,
    lake_tables,
    maintain_table,
    restore_table,
)
from lakehouse.operations.tables import live_files, stored_files
from lakehouse_tests.support import step_failure_message

APPENDS = 6  # each append writes one file per day partition: 12 small files per table


def _write_small_files(spark, uri: str, appends: int = APPENDS) -> None:
    for batch in range(appends):
        start = batch * 200
        frame = spark.range(start, start + 200).selectExpr(
            "id AS order_id",
            "CAST((id * 7919) % 97 AS BIGINT) AS customer_key",
            "CAST(id % 1000 AS DECIMAL(12,2)) AS amount",
            "DATE'2026-01-01' + CAST(id % 2 AS INT) AS _run_date",
        )
        frame.write.format("delta").mode("append").partitionBy("_run_date").save(uri)


def _rows(uri: str, version: int | None = None) -> list[dict]:
    table = DeltaTable(uri, version=version).to_pyarrow_table()
    return sorted(table.to_pylist(), key=lambda row: row["order_id"])


@pytest.fixture
def lake(spark, tmp_path) -> str:
    root = str(tmp_path / "lake")
    for key in ("bronze/orders", "silver/orders", "gold/fact_orders"):
        _write_small_files(spark, f"{root}/{key}")
    (tmp_path / "lake" / "gold" / "_scratch").mkdir()  # not a table: ignored
    return root


def test_lake_tables_lists_every_delta_table_by_layer(lake):
    assert [t.key for t in lake_tables(lake)] == ["bronze/orders", "silver/orders", "gold/fact_orders"]
    assert [t.key for t in lake_tables(lake, ["gold"])] == ["gold/fact_orders"]


def test_compaction_drops_the_file_count_and_keeps_every_row(lake):
    table = lake_table("silver/orders", lake)
    before_rows = _rows(table.uri)
    report = maintain_table(table, MaintenancePlan())
    assert report.strategy == "compact"
    assert report.live_before.files == 2 * APPENDS
    assert report.live_after.files == 2  # one per day partition
    assert report.files_removed == 2 * APPENDS and report.files_added == 2
    assert report.version_after == report.version_before + 1
    assert _rows(table.uri) == before_rows
    assert live_files(DeltaTable(table.uri)) == report.live_after
    # the compacted-away files are younger than the retention: vacuum keeps them, old versions stay readable
    assert report.files_vacuumed == 0
    assert report.stored_after.files == report.stored_before.files + report.files_added
    assert _rows(table.uri, version=report.version_before) == before_rows
    # idempotent: a second run finds nothing to compact
    again = maintain_table(table, MaintenancePlan())
    assert again.files_removed == 0 and again.live_after == report.live_after


def test_fact_tables_are_z_ordered_by_customer_key(lake):
    table = lake_table("gold/fact_orders", lake)
    before_rows = _rows(table.uri)
    report = maintain_table(table, MaintenancePlan())
    assert report.strategy == "z_order" and report.z_order_columns == ["customer_key"]
    assert report.live_before.files == 2 * APPENDS and report.live_after.files == 2
    assert _rows(table.uri) == before_rows
    history = DeltaTable(table.uri).history(1)[0]
    assert history["operation"] == "OPTIMIZE"
    assert history["operationMetrics"]["plannerStrategy"] == "zOrder"
    # the rows were written in order_id order; each rewritten file now holds them along customer_key
    # (a Z-curve of one column is that column's order), so a reader filtering on it skips row groups
    delta = DeltaTable(table.uri)
    for path in pa.table(delta.get_add_actions(flatten=True)).column("path").to_pylist():
        data = pq.read_table(f"{table.uri}/{path}", columns=["customer_key"])
        keys = data.column("customer_key").to_pylist()
        assert len(keys) == APPENDS * 100
        assert keys == sorted(keys)


def test_z_order_by_a_missing_column_is_a_clear_error_and_changes_nothing(lake):
    table = lake_table("silver/orders", lake)
    version = DeltaTable(table.uri).version()
    with pytest.raises(ValueError, match="cannot Z-order silver/orders by nope: no such column"):
        maintain_table(table, MaintenancePlan(z_order={"silver/orders": ["nope"]}))
    assert DeltaTable(table.uri).version() == version


@pytest.mark.parametrize("hours", [0, 24, MIN_RETENTION_HOURS - 1])
def test_vacuum_refuses_less_than_seven_days(lake, hours):
    table = lake_table("bronze/orders", lake)
    version = DeltaTable(table.uri).version()
    with pytest.raises(RetentionTooShort, match="under the minimum of 168 h"):
        MaintenancePlan(retention_hours=hours)
    assert DeltaTable(table.uri).version() == version


def _age_tombstones(uri: str, hours: float) -> None:
    """Pretend the files removed so far were removed ``hours`` ago (rewrites the remove actions' time)."""
    for commit in sorted(Path(uri, "_delta_log").glob("*.json")):
        lines = []
        for line in commit.read_text().splitlines():
            action = json.loads(line)
            if "remove" in action:
                action["remove"]["deletionTimestamp"] -= int(hours * 3600 * 1000)
            lines.append(json.dumps(action))
        commit.write_text("\n".join(lines) + "\n")


def test_vacuum_deletes_only_files_removed_longer_ago_than_the_retention(lake):
    table = lake_table("bronze/orders", lake)
    first = maintain_table(table, MaintenancePlan())
    assert first.files_vacuumed == 0
    rows = _rows(table.uri)
    _age_tombstones(table.uri, hours=MIN_RETENTION_HOURS - 1)  # six days and 23 hours: still kept
    assert maintain_table(table, MaintenancePlan()).files_vacuumed == 0
    _age_tombstones(table.uri, hours=2)  # now 8 days and 1 hour
    second = maintain_table(table, MaintenancePlan())
    assert second.files_vacuumed == 2 * APPENDS
    assert second.stored_after == second.live_after == stored_files(table.uri)
    assert _rows(table.uri) == rows
    # the versions before the compaction lost their files: restoring one is refused, clearly
    with pytest.raises(FileNotFoundError, match="vacuumed after the retention period"):
        restore_table(table, first.version_before)


def test_maintenance_job_reports_files_and_bytes_per_table(lake, engine):
    resources = {"io_manager": DeltaSparkIOManager(root_uri=lake, engine=engine)}
    with dg.DagsterInstance.ephemeral() as instance:
        result = lake_maintenance_job().execute_in_process(resources=resources, instance=instance)
        assert result.success
        observations = {
            event.asset_key.to_user_string(): event.event_specific_data.asset_observation.metadata
            for event in result.all_events
            if event.event_type_value == "ASSET_OBSERVATION"
        }
        assert set(observations) == {"bronze/orders", "silver/orders", "gold/fact_orders"}
        for key, metadata in observations.items():
            assert metadata["maintenance/files_before"].value == 2 * APPENDS, key
            assert metadata["maintenance/files_after"].value == 2, key
            assert metadata["maintenance/bytes_before"].value > 0
            assert metadata["maintenance/bytes_after"].value > 0
            assert metadata["maintenance/retention_hours"].value == MIN_RETENTION_HOURS
        assert observations["gold/fact_orders"]["maintenance/strategy"].value == "z_order"
        assert observations["silver/orders"]["maintenance/strategy"].value == "compact"
        # the observations are stored against the table assets, where the UI shows them
        stored = instance.fetch_observations(dg.AssetKey(["gold", "fact_orders"]), limit=5).records
        assert len(stored) == 1
        summary = [
            event.event_specific_data.metadata
            for event in result.all_events
            if event.event_type_value == "STEP_OUTPUT"
        ]
        assert summary and summary[0]["files_before"].value == 6 * APPENDS
        assert summary[0]["files_after"].value == 6


def test_maintenance_job_refuses_a_short_retention_before_any_work(lake, engine):
    resources = {"io_manager": DeltaSparkIOManager(root_uri=lake, engine=engine)}
    versions = {t.key: DeltaTable(t.uri).version() for t in lake_tables(lake)}
    result = lake_maintenance_job().execute_in_process(
        resources=resources,
        run_config={"ops": {"maintain_lake_tables": {"config": {"retention_hours": 24}}}},
        raise_on_error=False,
    )
    assert not result.success
    message = step_failure_message(result)
    assert "retention_hours" in message and "168" in message, message
    assert {t.key: DeltaTable(t.uri).version() for t in lake_tables(lake)} == versions


def test_maintenance_job_config_chooses_tables_and_z_order(lake, engine):
    resources = {"io_manager": DeltaSparkIOManager(root_uri=lake, engine=engine)}
    config = {"tables": ["silver/orders"], "z_order": {"silver/orders": ["customer_key"]}}
    result = lake_maintenance_job().execute_in_process(
        resources=resources, run_config={"ops": {"maintain_lake_tables": {"config": config}}}
    )
    assert result.success
    observed = [e for e in result.all_events if e.event_type_value == "ASSET_OBSERVATION"]
    assert [e.asset_key.to_user_string() for e in observed] == ["silver/orders"]
    metadata = observed[0].event_specific_data.asset_observation.metadata
    assert metadata["maintenance/strategy"].value == "z_order"
    assert DeltaTable(f"{lake}/gold/fact_orders").history(1)[0]["operation"] == "WRITE"  # untouched
