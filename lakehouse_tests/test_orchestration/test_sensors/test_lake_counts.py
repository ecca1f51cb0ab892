"""Per-day lake counts read from the Delta logs of bronze and quarantine."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from lakehouse.lake import Lake
from lakehouse.orchestration.sensors.watermark_sensor import lake_day_counts
from lakehouse.orchestration.sensors.watermarks import latest_loaded_day
from lakehouse_tests.test_orchestration.test_sensors.support import write_lake

D1, D2, D3 = date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)


def lake_at(root: Path) -> Lake:
    return Lake(root_uri=str(root))


def test_a_missing_lake_has_no_rows(tmp_path: Path) -> None:
    counts = lake_day_counts(lake_at(tmp_path), "orders")
    assert counts == {} and latest_loaded_day(counts) is None


def test_bronze_and_quarantine_rows_add_up_per_day(tmp_path: Path) -> None:
    write_lake(tmp_path, "orders", {D1: 5, D2: 1, D3: 3})  # one row of each day in quarantine
    lake = lake_at(tmp_path)
    assert lake.day_counts(["quarantine", "orders"]) == {D1: 1, D2: 1, D3: 1}
    assert lake_day_counts(lake, "orders") == {D1: 5, D2: 1, D3: 3}
    assert lake_day_counts(lake, "orders", since=D2) == {D2: 1, D3: 3}
    assert latest_loaded_day(lake_day_counts(lake, "orders")) == D3


def test_a_day_only_in_quarantine_is_loaded(tmp_path: Path) -> None:
    write_lake(tmp_path, "orders", {D1: 4, D2: 1})  # day 2's only row is invalid
    assert latest_loaded_day(lake_day_counts(lake_at(tmp_path), "orders")) == D2


def test_files_without_statistics_are_counted_from_their_footers(tmp_path: Path) -> None:
    uri = str(tmp_path / "bronze" / "orders")
    rows = pa.table({"x": [1, 2, 3], "_run_date": pa.array([D1, D1, D2])})
    write_deltalake(uri, rows, partition_by=["_run_date"])
    log = tmp_path / "bronze" / "orders" / "_delta_log" / "00000000000000000000.json"
    actions = [json.loads(line) for line in log.read_text().splitlines()]
    for action in actions:
        action.get("add", {}).pop("stats", None)
    log.write_text("".join(json.dumps(action) + "\n" for action in actions))
    assert lake_at(tmp_path).day_counts(uri) == {D1: 2, D2: 1}


def test_a_table_not_partitioned_by_run_date_is_refused(tmp_path: Path) -> None:
    uri = str(tmp_path / "bronze" / "orders")
    write_deltalake(uri, pa.table({"x": [1]}))
    with pytest.raises(ValueError, match="not partitioned by _run_date"):
        lake_at(tmp_path).day_counts(uri)
