"""The fact assets through Dagster over a temporary lake of real Delta tables: hand-made silver partitions
and dimensions (shaped as docs/model.md describes them), each partition run twice, runs out of order,
a whole window in one run, and late dimension members arriving between runs."""

import shutil
from datetime import timedelta

import pytest

from lakehouse.gold.tables import FACT_CUSTOMER_ACTIVITY, FACT_ORDERS
from lakehouse_tests.test_gold.star_cases import D1, D2, D3
from lakehouse_tests.test_gold.support import (
    DIMENSION_KEYS,
    FactLake,
    build_lake,
    check_outcomes,
    fact_tables,
    materialize,
)
from lakehouse_tests.test_observability.support import committed_bytes, materialization_metadata


@pytest.fixture
def lake(spark, engine, tmp_path) -> FactLake:
    return build_lake(spark, engine, str(tmp_path / "lake"))


# ------------------------------------------------------------------------------------------ tests


def test_each_partition_twice_gives_identical_content_and_every_check_passes(lake):
    snapshots = []
    for _ in range(2):
        for day in (D1, D2, D3):
            result = materialize(lake, partition=day.isoformat())
            outcomes = check_outcomes(result)
            assert len(outcomes) == 4 and all(outcomes.values()), (day, outcomes)
        snapshots.append(fact_tables(lake))
    assert snapshots[0] == snapshots[1]
    orders, activity = snapshots[0]
    assert len(orders) == 8 and len(activity) == 4
    shipped = lake.row(FACT_ORDERS, "order_id = 1")
    assert (shipped.status, shipped._run_date, shipped.customer_key) == ("shipped", D3, 101)
    assert lake.row(FACT_ORDERS, "order_id = 6 AND line_number = 1")._run_date == D1


def test_rerunning_an_earlier_day_after_a_later_one_keeps_the_later_state(lake):
    materialize(lake, partition=D2.isoformat())
    assert lake.row(FACT_ORDERS, "order_id = 1").status == "placed"
    materialize(lake, partition=D3.isoformat())
    after_d3 = fact_tables(lake)
    result = materialize(lake, partition=D2.isoformat())  # out of order: D2 again after D3
    assert all(check_outcomes(result).values())
    assert fact_tables(lake) == after_d3
    line = lake.row(FACT_ORDERS, "order_id = 1")
    assert (line.status, line._run_date) == ("shipped", D3)


def test_a_window_in_one_run_gives_the_table_of_day_by_day_runs(lake, spark, engine, tmp_path):
    for day in (D1, D2, D3):
        materialize(lake, partition=day.isoformat())
    day_by_day = fact_tables(lake)

    other = build_lake(spark, engine, str(tmp_path / "other"))
    result = materialize(other, window=(D1.isoformat(), D3.isoformat()))
    assert all(check_outcomes(result).values())
    assert fact_tables(other) == day_by_day


def test_late_members_get_key_zero_then_are_rekeyed_by_the_next_run_and_nothing_is_lost(lake):
    materialize(lake, partition=D2.isoformat())
    orders_before, activity_before = fact_tables(lake)
    assert (
        lake.row(FACT_ORDERS, "order_id = 3").customer_key == 0
    )  # the order arrived before its customer
    assert lake.row(FACT_ORDERS, "order_id = 2 AND line_number = 2").product_key == 0
    assert lake.row(FACT_CUSTOMER_ACTIVITY, "customer_id = 3").customer_key == 0

    lake.write_dimensions(late_arrived=True)  # the customer and the product arrive
    result = materialize(lake, partition=D3.isoformat())  # the next run, for another day
    assert all(check_outcomes(result).values())
    orders_metadata = result.asset_materializations_for_node("gold__fact_orders")[0].metadata
    assert orders_metadata["rows_rekeyed"].value == 2
    activity_metadata = result.asset_materializations_for_node("gold__fact_customer_activity")[0].metadata
    assert activity_metadata["rows_rekeyed"].value == 1

    late_line = lake.row(FACT_ORDERS, "order_id = 3")
    assert (late_line.customer_key, late_line._run_date, late_line.status) == (301, D2, "placed")
    assert lake.row(FACT_ORDERS, "order_id = 2 AND line_number = 2").product_key == 1012
    assert lake.row(FACT_CUSTOMER_ACTIVITY, "customer_id = 3").customer_key == 301
    orders_after, activity_after = fact_tables(lake)
    # nothing lost: D2's rows are all still there (D3's line (1,1) moved out of D2 into D3)
    assert {(r[0], r[1]) for r in orders_after} == {(r[0], r[1]) for r in orders_before}
    assert len(activity_after) == len(activity_before)

    # Applied once: another run has nothing left to re-key and changes nothing.
    again = materialize(lake, partition=D3.isoformat())
    assert again.asset_materializations_for_node("gold__fact_orders")[0].metadata["rows_rekeyed"].value == 0
    assert fact_tables(lake) == (orders_after, activity_after)


def test_materializations_report_rows_bytes_and_duration_of_every_commit_of_the_run(lake):
    materialize(lake, partition=D2.isoformat())  # members not arrived yet: rows keyed 0
    lake.write_dimensions(late_arrived=True)
    facts = (FACT_ORDERS, FACT_CUSTOMER_ACTIVITY)
    before = {key: lake.lake.version(key) for key in facts}
    result = materialize(lake, partition=D1.isoformat())  # writes D1 and re-keys D2's rows: several commits

    [orders] = materialization_metadata(result, "gold__fact_orders")
    assert orders["dagster/row_count"] == orders["lines_inserted"] + orders["lines_updated"] > 0
    assert orders["rows_rekeyed"] == 2
    [activity] = materialization_metadata(result, "gold__fact_customer_activity")
    in_d1 = [row for row in lake.rows(FACT_CUSTOMER_ACTIVITY) if D1 in row]
    assert activity["dagster/row_count"] == len(in_d1) > 0
    assert activity["rows_rekeyed"] == 1
    for key, metadata in zip(facts, (orders, activity), strict=True):
        # two commits, both counted: the upsert (orders) or the window's write (activity), and the re-key
        assert metadata["delta_version"] == before[key] + 2
        committed = committed_bytes(lake.uri(key), before[key], metadata["delta_version"])
        assert metadata["bytes_written"] == committed > 0
        assert isinstance(metadata["duration_seconds"], float) and 0 < metadata["duration_seconds"] < 300


def test_missing_dimension_fails_with_its_name(lake):
    shutil.rmtree(lake.uri(DIMENSION_KEYS[1]))
    result = materialize(lake, partition=D2.isoformat(), raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure and e.step_key == "gold__fact_orders")
    assert "gold/dim_product does not exist" in failure.event_specific_data.error.message


def test_empty_days_write_empty_partitions(lake):
    empty_day = (D3 + timedelta(days=5)).isoformat()
    result = materialize(lake, partition=empty_day)
    assert all(check_outcomes(result).values())
    assert fact_tables(lake) == ([], [])
    assert lake.lake.open(FACT_ORDERS).schema().fields[-1].name == "_run_date"
