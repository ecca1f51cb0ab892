"""Maintenance on real Delta tables written by the engine in many small commits: compaction and Z-order
drop the file count without changing a row, vacuum keeps what the retention protects and refuses less
than seven days. (The Dagster job that runs it weekly: ``test_orchestration/test_maintenance_job.py``.)"""

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from lakehouse.lake import Lake
from lakehouse.lake.maintenance import (
    MIN_RETENTION_HOURS,
    MaintenancePlan,
    RetentionTooShort,
    maintain_table,
)
from lakehouse.operations.tables import restore_table
from lakehouse_tests.test_operations.support import APPENDS, small_files_lake


def _rows(uri: str, version: int | None = None) -> list[dict]:
    table = DeltaTable(uri, version=version).to_pyarrow_table()
    return sorted(table.to_pylist(), key=lambda row: row["order_id"])


@pytest.fixture
def lake(spark, tmp_path) -> Lake:
    return small_files_lake(spark, tmp_path)


def test_lake_tables_lists_every_delta_table_by_layer(lake):
    assert [t.key for t in lake.tables()] == ["bronze/orders", "silver/orders", "gold/fact_orders"]
    assert [t.key for t in lake.tables(["gold"])] == ["gold/fact_orders"]


def test_compaction_drops_the_file_count_and_keeps_every_row(lake):
    table = lake.lake_table("silver/orders")
    before_rows = _rows(table.uri)
    report = maintain_table(table, MaintenancePlan(), lake)
    assert report.strategy == "compact"
    assert report.live_before.files == 2 * APPENDS
    assert report.live_after.files == 2  # one per day partition
    assert report.files_removed == 2 * APPENDS and report.files_added == 2
    assert report.version_after == report.version_before + 1
    assert _rows(table.uri) == before_rows
    assert lake.live_files(DeltaTable(table.uri)) == report.live_after
    # the compacted-away files are younger than the retention: vacuum keeps them, old versions stay readable
    assert report.files_vacuumed == 0
    assert report.stored_after.files == report.stored_before.files + report.files_added
    assert _rows(table.uri, version=report.version_before) == before_rows
    # idempotent: a second run finds nothing to compact
    again = maintain_table(table, MaintenancePlan(), lake)
    assert again.files_removed == 0 and again.live_after == report.live_after


def test_fact_tables_are_z_ordered_by_customer_key(lake):
    table = lake.lake_table("gold/fact_orders")
    before_rows = _rows(table.uri)
    report = maintain_table(table, MaintenancePlan(), lake)
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
    table = lake.lake_table("silver/orders")
    version = DeltaTable(table.uri).version()
    with pytest.raises(ValueError, match="cannot Z-order silver/orders by nope: no such column"):
        maintain_table(table, MaintenancePlan(z_order={"silver/orders": ["nope"]}), lake)
    assert DeltaTable(table.uri).version() == version


@pytest.mark.parametrize("hours", [0, 24, MIN_RETENTION_HOURS - 1])
def test_vacuum_refuses_less_than_seven_days(lake, hours):
    table = lake.lake_table("bronze/orders")
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
    table = lake.lake_table("bronze/orders")
    first = maintain_table(table, MaintenancePlan(), lake)
    assert first.files_vacuumed == 0
    rows = _rows(table.uri)
    _age_tombstones(table.uri, hours=MIN_RETENTION_HOURS - 1)  # six days and 23 hours: still kept
    assert maintain_table(table, MaintenancePlan(), lake).files_vacuumed == 0
    _age_tombstones(table.uri, hours=2)  # now 8 days and 1 hour
    second = maintain_table(table, MaintenancePlan(), lake)
    assert second.files_vacuumed == 2 * APPENDS
    assert second.stored_after == second.live_after == lake.stored_files(table.uri)
    assert _rows(table.uri) == rows
    # the versions before the compaction lost their files: restoring one is refused, clearly
    with pytest.raises(FileNotFoundError, match="vacuumed after the retention period"):
        restore_table(table, first.version_before, lake=lake)
