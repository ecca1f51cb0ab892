"""Faults while a run is under way: partitions of one asset written by concurrent processes, and a source
that becomes unreachable in the middle of a backfill. Rows lost are counted against ground truth: what the
same partitions give when nothing goes wrong."""

import pytest
from collections import Counter
from datetime import date

from dagster_snowflake import SnowflakeResource
from deltalake import DeltaTable

from lakehouse.bronze import build_bronze_asset
from lakehouse.contracts import contract_for_source
from lakehouse_tests.support import lake_resources, run_together, step_failure_message
from lakehouse_tests.test_faults.support import table_rows
from lakehouse_tests.test_bronze.support import FAST_RETRIES, closed_port, materialize_bronze
from lakehouse_tests.test_io.support import ROWS_PER_DAY, write_one_partition

pytestmark = pytest.mark.slow

def state(uri: str) -> tuple[int, Counter]:
    """A table's version and rows."""
    return DeltaTable(uri).version(), table_rows(uri)


def test_two_partitions_written_by_concurrent_processes_both_land(tmp_path, faults):
    """Two processes, each with its own engine, as Dagster's multiprocess executor runs a backfill's
    partitions, commit to one new table at the same moment (they start together on a barrier)."""
    root, days = str(tmp_path / "lake"), ["2026-02-01", "2026-02-02"]
    outcomes = run_together(write_one_partition, [(root, d) for d in days])

    table = DeltaTable(f"{root}/bronze/contended").to_pyarrow_table()
    present = Counter(zip(table.column("_run_date").to_pylist(), table.column("id").to_pylist()))
    truth = Counter((date.fromisoformat(day), i) for day in days for i in range(ROWS_PER_DAY))
    lost = sum((truth - present).values())
    retries = sum(r for _, _, r in outcomes)
    survived = all(ok for _, ok, _ in outcomes) and present == truth
    faults.record("two partitions written concurrently", survived=survived, rows_lost=lost,
                  detail=f"commit conflicts retried: {retries}")

    assert [(day, ok) for day, ok, _ in outcomes] == [(d, True) for d in days]
    assert present == truth  # both partitions, every row once
    assert lost == 0


def test_a_source_unreachable_mid_backfill_fails_cleanly_and_a_rerun_converges(
    bronze_resources, bronze_lake_root, engine, tmp_path, faults
):
    """Day 1 of bronze/products loads; the source goes away before day 2: the step retries with back-off,
    fails with a clear message, and the tables stay at day 1's version. Day 2 re-run once the source is
    back gives what an uninterrupted backfill gives."""
    asset = build_bronze_asset(contract_for_source("RETAIL.CATALOG.PRODUCTS"))
    lanes = ["bronze/products", "quarantine/products"]
    materialize_bronze(bronze_resources, partition="2026-01-01", assets=[asset], config=FAST_RETRIES)
    before = {lane: state(f"{bronze_lake_root}/{lane}") for lane in lanes}

    unreachable = dict(bronze_resources)
    unreachable["snowflake"] = SnowflakeResource(
        account="fakesnow", user="fake", password="snow", database="RETAIL", login_timeout=2,
        additional_snowflake_connection_args={
            "host": "127.0.0.1", "port": closed_port(), "protocol": "http"
        },
    )
    failed = materialize_bronze(
        unreachable, partition="2026-01-02", assets=[asset], config=FAST_RETRIES, raise_on_error=False
    )
    after = {lane: state(f"{bronze_lake_root}/{lane}") for lane in lanes}

    materialize_bronze(bronze_resources, partition="2026-01-02", assets=[asset], config=FAST_RETRIES)
    truth_root = str(tmp_path / "uninterrupted")
    truth_resources = {**bronze_resources, **lake_resources(engine, truth_root)}
    materialize_bronze(truth_resources, partition="2026-01-01", assets=[asset], config=FAST_RETRIES)
    materialize_bronze(truth_resources, partition="2026-01-02", assets=[asset], config=FAST_RETRIES)
    final = {lane: table_rows(f"{bronze_lake_root}/{lane}") for lane in lanes}
    truth = {lane: table_rows(f"{truth_root}/{lane}") for lane in lanes}

    lost = sum(
        sum((before[lane][1] - after[lane][1]).values()) + sum((truth[lane] - final[lane]).values())
        for lane in lanes
    )
    message = "" if failed.success else step_failure_message(failed)
    retried_then_failed = not failed.success and "unreachable after 2 attempts" in message
    survived = retried_then_failed and after == before and final == truth
    faults.record("source unreachable mid-backfill", survived=survived, rows_lost=lost)

    assert not failed.success
    assert "snowflake RETAIL.CATALOG.PRODUCTS unreachable after 2 attempts" in message
    assert after == before  # no partial table: same versions, same rows
    assert sum(truth["bronze/products"].values()) > sum(before["bronze/products"][1].values()) > 0
    assert final == truth
    assert lost == 0
