"""The star schema's pure logic (``lakehouse.gold.star``) on small hand-made frames: customer versions
valid at order time, unknown members, re-keying; with ``lakehouse.gold.reconciliation``, the same results
on classic Apache Spark. Run as a module (``python -m lakehouse_tests.test_gold.test_star classic``) it
prints the parity results of one engine.
"""

import json
import os
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse.contracts import contracts_dir, load_contract
from lakehouse.gold import scd2
from lakehouse.gold.star import (
    FACT_CUSTOMER_ACTIVITY_COLUMNS,
    FACT_ORDERS_COLUMNS,
    fact_activity_rows,
    fact_order_lines,
    latest_line_states,
    rekeyed_activity_rows,
    rekeyed_order_lines,
)
from lakehouse_tests.test_gold.star_cases import (
    CUSTOMER_1_CHANGED_AT,
    CUSTOMER_VERSIONS,
    D1,
    D2,
    D3,
    DIM_CUSTOMER_SCHEMA,
    UNKNOWN_CUSTOMER,
    activity_row,
    customer_version,
    dim_customer_frame,
    dim_date_frame,
    dim_product_frame,
    fact_orders_frame,
    order_line,
    rows_of,
    silver_activity_frame,
    silver_orders_frame,
    star_results,
)
from lakehouse_tests.test_gold.support import silver_frame, silver_row

# ------------------------------------------------------------------------------------------ tests


@pytest.fixture(scope="module")
def facts(spark) -> DataFrame:
    return fact_orders_frame(spark)


def test_columns_and_types_are_the_contracts(spark, facts):
    for table, columns, frame in (
        ("fact_orders", FACT_ORDERS_COLUMNS, facts),
        ("fact_customer_activity", FACT_CUSTOMER_ACTIVITY_COLUMNS,
         fact_activity_rows(silver_activity_frame(spark), dim_customer_frame(spark), dim_date_frame(spark))),
    ):  # fmt: skip
        contract = load_contract(contracts_dir() / "gold" / f"{table}.yaml")
        expected = [(c.name, c.type) for c in contract.columns] + [("_run_date", "date")]
        assert list(columns) == expected
        assert [(f.name, f.dataType.simpleString()) for f in frame.schema.fields] == expected


def test_each_line_once_in_its_latest_state_and_earliest_partition_of_that_state(spark):
    latest = latest_line_states(silver_orders_frame(spark))
    assert latest.count() == 8
    states = {(r.order_id, r.line_number): (r.status, r._run_date) for r in latest.collect()}
    assert states[(1, 1)] == ("shipped", D3)  # the newer state wins
    assert states[(6, 1)] == ("placed", D1)  # the same state again on D2: it appeared on D1


def test_customer_key_is_the_version_valid_at_order_time(facts):
    keys = {(r.order_id, r.line_number): r.customer_key for r in facts.collect()}
    assert keys[(1, 1)] == 101  # one second before the second version opened
    assert keys[(2, 1)] == 102  # valid_from is inclusive
    assert keys[(6, 2)] == 101
    assert keys[(4, 1)] == 201  # after a soft delete: the version the customer last had
    assert keys[(5, 1)] == 101  # before the first version: the first version


def test_orders_between_changes_of_one_day_key_to_the_version_valid_at_their_time(spark):
    """A dimension built by the SCD2 rules from one day's silver versions (a customer who was consumer
    from 00:06, enterprise from 06:05 and small_business from 20:30), and orders placed around them."""
    silver = silver_frame(
        spark,
        [
            silver_row(7, "2026-01-02 00:06:00"),
            silver_row(7, "2026-01-02 06:05:00", segment="enterprise"),
            silver_row(7, "2026-01-02 14:00:00", segment="enterprise", phone_hash="p2"),  # untracked
            silver_row(7, "2026-01-02 20:30:00", segment="small_business", phone_hash="p2"),
        ],
    )
    dim = scd2.customer_versions(silver).unionByName(scd2.unknown_customer(spark))
    version_of = {r.segment: r.customer_key for r in dim.where("customer_id = 7").collect()}
    assert len(version_of) == 3
    placed = {
        1: datetime(2026, 1, 2, 0, 1),  # before the first version: the first one
        2: datetime(2026, 1, 2, 3, 17),  # between the first two changes
        3: datetime(2026, 1, 2, 6, 5),  # exactly at a change: valid_from is inclusive
        4: datetime(2026, 1, 2, 14, 30),  # after an untracked change: still the same version
        5: datetime(2026, 1, 2, 20, 29, 59, 999999),
        6: datetime(2026, 1, 2, 23, 0),
    }
    lines = [order_line(order, 1, 7, at, 10, 1, "5.00", at, D2) for order, at in placed.items()]
    facts = fact_order_lines(
        silver_orders_frame(spark, lines), dim, dim_product_frame(spark), dim_date_frame(spark)
    )
    keys = {r.order_id: r.customer_key for r in facts.collect()}
    assert keys == {
        1: version_of["consumer"],
        2: version_of["consumer"],
        3: version_of["enterprise"],
        4: version_of["enterprise"],
        5: version_of["enterprise"],
        6: version_of["small_business"],
    }
    activity = fact_activity_rows(
        silver_activity_frame(spark, [activity_row(7, D2, 6, "30.00", 1)]), dim, dim_date_frame(spark)
    )
    assert [r.customer_key for r in activity.collect()] == [version_of["small_business"]]  # the day's last


def test_a_dimension_repeating_a_version_start_never_duplicates_a_line(spark):
    # the same valid_from as 102
    repeated = customer_version(103, 1, "consumer", CUSTOMER_1_CHANGED_AT, run_date=D2)
    facts = fact_order_lines(
        silver_orders_frame(spark),
        spark.createDataFrame([*CUSTOMER_VERSIONS, repeated], DIM_CUSTOMER_SCHEMA),
        dim_product_frame(spark),
        dim_date_frame(spark),
    )
    keys = {(r.order_id, r.line_number): r.customer_key for r in facts.collect()}
    assert facts.count() == len(keys) == 8
    assert keys[(2, 1)] == 103  # one of the two versions (the greater key), never both
    assert keys[(1, 1)] == 101


def test_unknown_members_get_key_zero_and_no_line_is_dropped(facts):
    rows = {(r.order_id, r.line_number): r for r in facts.collect()}
    assert len(rows) == facts.count() == 8
    assert rows[(3, 1)].customer_key == 0 and rows[(3, 1)].product_key == 1010  # late customer
    assert rows[(2, 2)].product_key == 0 and rows[(2, 2)].customer_key == 102  # late product
    assert rows[(2, 2)].line_amount == Decimal("6.00")
    assert {r.order_date_key for r in rows.values()} == {20260101, 20260102}


def test_order_dates_outside_the_calendar_get_the_unknown_date(spark):
    far = order_line(
        9, 1, 1, datetime(2031, 6, 1, 10), 10, 1, "5.00", datetime(2031, 6, 1, 10), date(2031, 6, 1)
    )
    facts = fact_order_lines(
        silver_orders_frame(spark, [far]),
        dim_customer_frame(spark),
        dim_product_frame(spark),
        dim_date_frame(spark),
    )
    assert rows_of(facts, "order_id", "customer_key", "order_date_key") == [(9, 102, 0)]


def test_rekeying_resolves_late_members_and_changes_only_unknown_keys(spark, facts):
    calendar = dim_date_frame(spark)
    # Nothing has arrived yet: nothing to update.
    assert (
        rekeyed_order_lines(facts, dim_customer_frame(spark), dim_product_frame(spark), calendar).count() == 0
    )
    # The customer arrives: only its line changes, and only its customer key.
    late_customers = dim_customer_frame(spark, late_arrived=True)
    rekeyed = rekeyed_order_lines(facts, late_customers, dim_product_frame(spark), calendar)
    assert rekeyed.columns == ["order_id", "line_number", "customer_key", "product_key", "order_date_key"]
    assert rows_of(rekeyed, *rekeyed.columns) == [(3, 1, 301, 1010, 20260102)]
    # Both members arrive: both lines; once applied, nothing is left to do (idempotent).
    both = rekeyed_order_lines(facts, late_customers, dim_product_frame(spark, True), calendar)
    assert rows_of(both, *both.columns) == [(2, 2, 102, 1012, 20260102), (3, 1, 301, 1010, 20260102)]
    applied = facts.alias("f").join(both.alias("r"), ["order_id", "line_number"], "left").select(
        *[F.coalesce(F.col(f"r.{c}"), F.col(f"f.{c}")).alias(c) if c in both.columns[2:] else F.col(f"f.{c}")
          for c, _ in FACT_ORDERS_COLUMNS if c not in ("order_id", "line_number")],
        "order_id", "line_number",
    )  # fmt: skip
    assert rekeyed_order_lines(applied, late_customers, dim_product_frame(spark, True), calendar).count() == 0
    assert applied.count() == 8


def test_a_customer_key_gone_from_the_dimension_is_looked_up_again(spark, facts):
    """An out-of-order backfill can replace a dim_customer version under a new key (the key derives from
    valid_from); facts holding the old key are re-keyed instead of dangling."""
    keyed_to_101 = {row[0] for row in rows_of(facts.where("customer_key = 101"), "order_id")}
    assert keyed_to_101
    moved = [customer_version(111, 1, "consumer", datetime(2026, 1, 1, 7), CUSTOMER_1_CHANGED_AT)]
    dim = spark.createDataFrame(
        [v for v in CUSTOMER_VERSIONS if v[0] != 101] + moved, DIM_CUSTOMER_SCHEMA
    )
    rekeyed = rekeyed_order_lines(facts, dim, dim_product_frame(spark), dim_date_frame(spark))
    assert {row[0] for row in rows_of(rekeyed.where("customer_key = 111"), "order_id")} == keyed_to_101
    assert rekeyed.where("customer_key = 101").count() == 0


def test_activity_keys_to_the_version_current_at_the_end_of_the_day(spark):
    rows = fact_activity_rows(silver_activity_frame(spark), dim_customer_frame(spark), dim_date_frame(spark))
    keyed = {(r.customer_id, r._run_date): r for r in rows.collect()}
    assert keyed[(1, D1)].customer_key == 101
    assert keyed[(1, D2)].customer_key == 102
    assert keyed[(2, D2)].customer_key == 201  # deleted during the day: the closed version
    assert keyed[(3, D2)].customer_key == 0
    assert keyed[(1, D2)].date_key == 20260102
    # silver's NULL counts are zero in gold; NULL revenue stays NULL
    assert (keyed[(1, D1)].sessions, keyed[(1, D1)].page_views, keyed[(1, D1)].revenue) == (
        0,
        0,
        Decimal("10.00"),
    )
    assert keyed[(2, D2)].revenue is None
    late = rekeyed_activity_rows(rows, dim_customer_frame(spark, True), dim_date_frame(spark))
    assert rows_of(late, *late.columns) == [(3, D2, 301, 20260102)]


def test_a_version_opened_at_midnight_belongs_to_the_next_day(spark):
    versions = [
        UNKNOWN_CUSTOMER,
        customer_version(11, 7, "consumer", datetime(2026, 1, 1), datetime(2026, 1, 3)),
        customer_version(12, 7, "enterprise", datetime(2026, 1, 3)),
    ]
    rows = fact_activity_rows(
        silver_activity_frame(spark, [activity_row(7, D2, 1, "1.00", 1), activity_row(7, D3, 1, "1.00", 1)]),
        spark.createDataFrame(versions, DIM_CUSTOMER_SCHEMA),
        dim_date_frame(spark),
    )
    assert rows_of(rows, "_run_date", "customer_key") == [(D2, 11), (D3, 12)]


# ---------------------------------------------------------------------------------- engine parity


@pytest.fixture(scope="module")
def embedded_results(spark) -> dict:
    return star_results(spark)


@pytest.mark.jvm
def test_classic_apache_spark_gives_identical_results(embedded_results):
    # pyspark marks a process that opened a Connect session in its environment; a child must not inherit it.
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE")}
    completed = subprocess.run(
        [sys.executable, "-m", "lakehouse_tests.test_gold.test_star", "classic"],
        capture_output=True, text=True, timeout=300, env=env, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    classic = json.loads(completed.stdout.strip().splitlines()[-1])
    assert classic.keys() == embedded_results.keys()
    for name, rows in embedded_results.items():
        assert classic[name] == rows, name
    assert len(embedded_results["fact_orders"]) == 8 and embedded_results["rekeyed_order_lines"]


def _main(mode: str) -> None:
    from lakehouse.engine import SparkEngine

    # One core's worth of tasks: the frames are tiny, and the JVM's per-task cost dominates.
    quiet = {"spark.default.parallelism": "1", "spark.ui.showConsoleProgress": "false"}
    engine = SparkEngine(mode=mode, shuffle_partitions=1, spark_config=quiet)
    print(json.dumps(star_results(engine.spark_session)))


if __name__ == "__main__":
    _main(*sys.argv[1:])
