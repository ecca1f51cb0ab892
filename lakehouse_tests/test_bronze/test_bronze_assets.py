"""Bronze ingestion end to end: real connectors against the local services, real Delta tables, the
generator's defect manifest as the ground truth of what must be quarantined."""

import json
from collections import Counter
from datetime import date

import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable

from lakehouse.bronze.checks import BRONZE_CHECKS
from lakehouse.contracts import contract_for_source
from lakehouse.generator import ALL_TABLES, RowKind
from lakehouse_tests.test_bronze.support import (
    bronze_table_name,
    locator_of,
    manifest_locator,
    materialize_bronze,
)
from lakehouse_tests.test_contracts.defects import PLACEMENT_RULE_FOR_DEFECT, expected_rule
from lakehouse_tests.test_observability.support import committed_bytes

DAYS = ("2026-01-01", "2026-01-02")
METADATA = ("record_source", "record_table", "ingest_timestamp", "_batch_id", "_run_date")


@pytest.fixture
def two_days(bronze_resources):
    """One backfill run over the first two days, every bronze asset."""
    result = materialize_bronze(bronze_resources, window=DAYS)
    assert result.success
    return result


def _table(lake_root: str, layer: str, table: str):
    return DeltaTable(f"{lake_root}/{layer}/{table}").to_pyarrow_table()


def _in_days(dates) -> bool:
    return dates.isoformat() in DAYS


def _undated(defect) -> bool:
    """A row of no day (NULL or decades-ahead change column): every run finds it once the source holds it,
    and the sources hold every generated day."""
    return defect.kind in PLACEMENT_RULE_FOR_DEFECT


def test_every_check_passes_and_nothing_is_lost(two_days):
    evaluations = two_days.get_asset_check_evaluations()
    assert {(e.asset_key.path[1], e.check_name) for e in evaluations} == {
        (bronze_table_name(spec), check) for spec in ALL_TABLES for check in BRONZE_CHECKS
    }
    failed = [(e.asset_key.to_user_string(), e.check_name) for e in evaluations if not e.passed]
    assert failed == []
    for evaluation in evaluations:
        if evaluation.check_name == "nothing_lost":
            meta = {k: v.value for k, v in evaluation.metadata.items()}
            assert meta["rows_extracted"] == meta["rows_written"] + meta["rows_quarantined"] > 0


def test_exactly_the_injected_bad_rows_are_quarantined_with_reasons(two_days, generated_sources, lake_root):
    for spec in ALL_TABLES:
        name = bronze_table_name(spec)
        expected = Counter(
            manifest_locator(spec, d.locator)
            for d in generated_sources.defects
            if d.table == spec.qualified_name and (_undated(d) or _in_days(d.change_date))
        )
        quarantine = _table(lake_root, "quarantine", name)
        payloads = [json.loads(p) for p in quarantine.column("_original_payload").to_pylist()]
        actual = Counter(locator_of(spec, payload) for payload in payloads)
        assert actual == expected, f"{name}: quarantined rows differ from the manifest"
        assert all(len(reasons) >= 1 for reasons in quarantine.column("_error_reasons").to_pylist())
        assert set(METADATA) <= set(quarantine.column_names)


def test_rows_of_no_day_are_quarantined_with_a_null_run_date_and_the_reason(
    two_days, generated_sources, lake_root
):
    held = 0
    for spec in ALL_TABLES:
        name, contract = bronze_table_name(spec), contract_for_source(spec.qualified_name)
        expected = {
            manifest_locator(spec, d.locator): expected_rule(contract, d)
            for d in generated_sources.defects
            if d.table == spec.qualified_name and _undated(d)
        }
        held += len(expected)
        quarantine = _table(lake_root, "quarantine", name).to_pylist()
        undated = {
            locator_of(spec, json.loads(row["_original_payload"])): {r["rule_id"] for r in row["_error_reasons"]}
            for row in quarantine
            if row["_run_date"] is None
        }
        assert undated.keys() == expected.keys(), name
        assert all(rule in undated[locator] for locator, rule in expected.items()), name
    assert held > 0


def test_every_valid_row_reaches_bronze(two_days, generated_sources, lake_root):
    for spec in ALL_TABLES:
        truth = generated_sources.rows(spec, kinds=(RowKind.VALID, RowKind.DUPLICATE))
        change_days = pc.cast(truth.column(spec.change_column), "date32").to_pylist()
        expected = sum(1 for d in change_days if _in_days(d))
        bronze = _table(lake_root, "bronze", bronze_table_name(spec))
        assert bronze.num_rows == expected, bronze_table_name(spec)


def _materialization_metadata(result, table: str) -> dict[str, list[dict]]:
    """Layer -> the metadata of each of its materializations by the table's step."""
    by_layer: dict[str, list[dict]] = {}
    for materialization in result.asset_materializations_for_node(f"bronze_{table}"):
        metadata = {k: v.value for k, v in materialization.metadata.items()}
        by_layer.setdefault(materialization.asset_key.path[0], []).append(metadata)
    return by_layer


def test_materializations_carry_rows_bytes_duration_and_the_quarantine_rate(two_days, lake_root):
    rates = []
    for spec in ALL_TABLES:
        name = bronze_table_name(spec)
        by_layer = _materialization_metadata(two_days, name)
        assert {layer: len(m) for layer, m in by_layer.items()} == {"bronze": 2, "quarantine": 2}  # 1 a day
        bronze, quarantine = by_layer["bronze"][0], by_layer["quarantine"][0]
        written = _table(lake_root, "bronze", name).num_rows
        quarantined = _table(lake_root, "quarantine", name).num_rows
        assert bronze["dagster/row_count"] == written > 0
        # the rows of no day are counted apart from the days' rows
        undated = quarantine.get("undated_rows", 0)
        assert quarantine["dagster/row_count"] + undated == bronze["rows_quarantined"] == quarantined
        assert bronze["rows_extracted"] == written + quarantined
        assert bronze["quarantine_rate"] == pytest.approx(quarantined / bronze["rows_extracted"])
        rates.append(bronze["quarantine_rate"])
        for layer, metadata in (("bronze", bronze), ("quarantine", quarantine)):
            uri = f"{lake_root}/{layer}/{name}"
            assert metadata["bytes_written"] == committed_bytes(uri, None, metadata["delta_version"])
        assert bronze["bytes_written"] > 0
        # compute and write, not the write alone: quarantine is written first, so bronze's time includes it
        assert 0 < quarantine["duration_seconds"] < bronze["duration_seconds"]
    assert any(rate > 0 for rate in rates)


def test_metadata_columns_on_every_bronze_row(two_days, lake_root):
    orders = _table(lake_root, "bronze", "orders")
    assert set(orders.column("record_source").to_pylist()) == {"snowflake"}
    assert set(orders.column("record_table").to_pylist()) == {"RETAIL.SALES.ORDERS"}
    assert {d.isoformat() for d in orders.column("_run_date").to_pylist()} == set(DAYS)
    (batch_id,) = set(orders.column("_batch_id").to_pylist())
    assert batch_id.startswith(two_days.run_id)
    assert orders.column("ingest_timestamp").null_count == 0
    events = _table(lake_root, "bronze", "behavior_events")
    assert set(events.column("record_source").to_pylist()) == {"redshift"}
    assert set(events.column("record_table").to_pylist()) == {"analytics.web.behavior_events"}
    # _run_date is the UTC day of the change column
    for run_date, updated_at in zip(orders.column("_run_date").to_pylist(), orders.column("updated_at").to_pylist()):
        assert run_date == updated_at.date()


def _content(lake_root: str, layer: str, table: str) -> list:
    data = _table(lake_root, layer, table).drop_columns(["ingest_timestamp", "_batch_id"])
    return sorted(json.dumps(row, default=str, sort_keys=True) for row in data.to_pylist())


def test_rerunning_a_partition_gives_identical_content(bronze_resources, lake_root):
    tables = [(layer, t) for layer in ("bronze", "quarantine") for t in ("orders", "order_items", "behavior_events")]
    assert materialize_bronze(bronze_resources, partition="2026-01-01").success
    assert materialize_bronze(bronze_resources, partition="2026-01-02").success
    first = {key: _content(lake_root, *key) for key in tables}
    assert materialize_bronze(bronze_resources, partition="2026-01-02").success
    second = {key: _content(lake_root, *key) for key in tables}
    assert first == second
    assert all(first.values())


def test_empty_window_writes_a_valid_empty_partition(bronze_resources, generated_sources, lake_root):
    result = materialize_bronze(bronze_resources, partition="2026-02-15")
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())
    for spec in ALL_TABLES:
        # a day without rows still finds the source's rows of no day, and holds them in quarantine alone
        undated = sum(1 for d in generated_sources.defects if d.table == spec.qualified_name and _undated(d))
        [bronze] = _materialization_metadata(result, bronze_table_name(spec))["bronze"]
        counts = (bronze["rows_extracted"], bronze["rows_quarantined"])
        assert counts == (undated, undated)
        assert _table(lake_root, "bronze", bronze_table_name(spec)).num_rows == 0
        quarantine = _table(lake_root, "quarantine", bronze_table_name(spec))
        assert quarantine.num_rows == undated
        assert quarantine.column("_run_date").null_count == undated


def test_backfill_window_rows_land_in_their_own_days(two_days, lake_root):
    items = _table(lake_root, "bronze", "order_items")
    by_day = Counter(d.isoformat() for d in items.column("_run_date").to_pylist())
    assert set(by_day) == set(DAYS)
    assert date(2026, 1, 3).isoformat() not in by_day
