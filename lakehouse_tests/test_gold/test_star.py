"""The star schema's pure logic on small hand-made frames: customer versions valid at order time, unknown
members, re-keying, reconciliation and foreign-key reports; the same results on classic Apache Spark.

The builders here shape frames exactly as docs/model.md describes silver and the dimensions, and are
shared with the asset and integrity tests of this folder. Run as a module
(``python -m lakehouse_tests.test_gold.test_star classic``) it prints the parity results of one engine.
"""

import json
import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.contracts import contracts_dir, load_contract
from lakehouse.gold.star import (
    FACT_CUSTOMER_ACTIVITY_COLUMNS,
    FACT_ORDERS_COLUMNS,
    fact_activity_rows,
    fact_order_lines,
    foreign_key_report,
    latest_line_states,
    reconcile_customer_activity,
    reconcile_order_lines,
    rekeyed_activity_rows,
    rekeyed_order_lines,
)

D1, D2, D3 = date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)
END_OF_TIME = datetime(9999, 12, 31)
D1_MIDNIGHT = datetime(2026, 1, 1)

# ----------------------------------------------------------------------------------------- builders

SILVER_ORDERS_SCHEMA = (
    "order_id bigint, line_number bigint, customer_id bigint, order_ts timestamp_ntz, order_date date, "
    "status string, channel string, currency string, product_id bigint, quantity bigint, "
    "unit_price decimal(12,2), discount_amount decimal(12,2), line_amount decimal(14,2), "
    "order_total decimal(12,2), updated_at timestamp_ntz, _run_date date"
)
SILVER_ACTIVITY_SCHEMA = (
    "activity_date date, customer_id bigint, segment string, country_code string, orders bigint, "
    "revenue decimal(14,2), sessions bigint, page_views bigint, product_views bigint, add_to_carts bigint, "
    "purchases bigint, conversion_rate double, first_seen_ts timestamp_ntz, last_seen_ts timestamp_ntz, "
    "_run_date date"
)
DIM_CUSTOMER_SCHEMA = (
    "customer_key bigint, customer_id bigint, email_hash string, country_code string, city string, "
    "segment string, loyalty_tier string, first_name_hash string, last_name_hash string, phone_hash string, "
    "row_hash string, valid_from timestamp_ntz, valid_to timestamp_ntz, is_current boolean, "
    "is_deleted boolean, _run_date date"
)
DIM_PRODUCT_SCHEMA = (
    "product_key bigint, product_id bigint, sku string, product_name string, category string, brand string, "
    "list_price decimal(12,2), currency string, is_active boolean, updated_at timestamp_ntz"
)
DIM_DATE_SCHEMA = (
    "date_key int, date date, day_of_week int, day_name string, day_of_month int, week_of_year int, "
    "month int, month_name string, quarter int, year int, is_weekend boolean"
)


def order_line(
    order_id: int,
    line_number: int,
    customer_id: int,
    order_ts: datetime,
    product_id: int,
    quantity: int,
    unit_price: str,
    updated_at: datetime,
    run_date: date,
    *,
    status: str = "placed",
    discount: str = "0.00",
) -> tuple:
    """A silver/orders row; ``line_amount`` as silver computes it."""
    amount = quantity * Decimal(unit_price) - Decimal(discount)
    return (
        order_id, line_number, customer_id, order_ts, order_ts.date(), status, "web", "EUR", product_id,
        quantity, Decimal(unit_price), Decimal(discount), amount, amount, updated_at, run_date,
    )  # fmt: skip


def customer_version(
    key: int, customer_id: int, segment: str, valid_from: datetime, valid_to: datetime = END_OF_TIME,
    *, is_deleted: bool = False, run_date: date = D1,
) -> tuple:  # fmt: skip
    """A dim_customer row (hashes are placeholders: the facts never read them). A version closed by a
    soft delete stays the current row, as docs/model.md specifies."""
    current = valid_to == END_OF_TIME or is_deleted
    return (
        key, customer_id, f"email-{customer_id}", "DE", "Berlin", segment, "none", "fn", "ln", "ph",
        f"hash-{customer_id}-{segment}", valid_from, valid_to, current, is_deleted, run_date,
    )  # fmt: skip


UNKNOWN_CUSTOMER = (0, -1, None, None, None, None, None, None, None, None, None,
                    datetime(1900, 1, 1), END_OF_TIME, True, False, D1)  # fmt: skip


def product(key: int, product_id: int) -> tuple:
    return (key, product_id, f"SKU-{product_id}", f"Product {product_id}", "toys", "acme",
            Decimal("5.00"), "EUR", True, datetime(2025, 12, 1))  # fmt: skip


UNKNOWN_PRODUCT = (0, -1, None, "unknown", None, None, None, None, None, None)


def calendar_rows(first: date = D1, days: int = 10) -> list[tuple]:
    rows = [(0, None, None, "unknown", None, None, None, "unknown", None, None, None)]
    for offset in range(days):
        day = first + timedelta(days=offset)
        iso = day.isocalendar()
        rows.append((
            int(day.strftime("%Y%m%d")), day, iso.weekday, day.strftime("%A"), day.day, iso.week, day.month,
            day.strftime("%B"), (day.month - 1) // 3 + 1, day.year, iso.weekday >= 6,
        ))  # fmt: skip
    return rows


def activity_row(
    customer_id: int, day: date, orders: int | None, revenue: str | None, sessions: int | None,
    page_views: int | None = 0,
) -> tuple:  # fmt: skip
    """A silver/customer_activity row (counts may be NULL, as silver may leave them)."""
    rate = None if not sessions else (orders or 0) / sessions
    first = datetime.combine(day, datetime.min.time()) + timedelta(hours=9)
    return (
        day, customer_id, "consumer", "DE", orders, None if revenue is None else Decimal(revenue), sessions,
        page_views, 1, 0, orders, rate, first, first + timedelta(hours=2), day,
    )  # fmt: skip


# Customer 1 has two versions (a segment change at D2 12:00); customer 2 was soft-deleted at D2 09:00;
# customer 3 is late: it is not in the dimension when its first order arrives. Product 12 is late too.
CUSTOMER_1_CHANGED_AT = datetime(2026, 1, 2, 12)
CUSTOMER_2_DELETED_AT = datetime(2026, 1, 2, 9)
CUSTOMER_VERSIONS = [
    UNKNOWN_CUSTOMER,
    customer_version(101, 1, "consumer", datetime(2026, 1, 1, 8), CUSTOMER_1_CHANGED_AT),
    customer_version(102, 1, "enterprise", CUSTOMER_1_CHANGED_AT, run_date=D2),
    customer_version(201, 2, "consumer", D1_MIDNIGHT, CUSTOMER_2_DELETED_AT, is_deleted=True, run_date=D2),
]
LATE_CUSTOMER = customer_version(301, 3, "small_business", datetime(2026, 1, 2, 13), run_date=D3)
PRODUCTS = [UNKNOWN_PRODUCT, product(1010, 10), product(1011, 11)]
LATE_PRODUCT = product(1012, 12)

ORDER_1_PLACED_AT, ORDER_1_SHIPPED_AT = datetime(2026, 1, 2, 11, 59, 59), datetime(2026, 1, 3, 10)
SILVER_ORDER_LINES = [
    # order 1: placed D2 11:59:59 (customer 1's first version), shipped D3 (a newer state of the line)
    order_line(1, 1, 1, ORDER_1_PLACED_AT, 10, 2, "5.00", ORDER_1_PLACED_AT, D2, discount="1.00"),
    order_line(
        1, 1, 1, ORDER_1_PLACED_AT, 10, 2, "5.00", ORDER_1_SHIPPED_AT, D3, discount="1.00", status="shipped"
    ),
    # order 2: placed exactly when customer 1's second version opened; line 2's product is late
    order_line(2, 1, 1, datetime(2026, 1, 2, 12), 11, 1, "7.50", datetime(2026, 1, 2, 12), D2),
    order_line(2, 2, 1, datetime(2026, 1, 2, 12), 12, 3, "2.00", datetime(2026, 1, 2, 12), D2),
    # order 3: the late customer
    order_line(3, 1, 3, datetime(2026, 1, 2, 13, 30), 10, 1, "5.00", datetime(2026, 1, 2, 13, 30), D2),
    # order 4: placed after customer 2's soft delete closed its history
    order_line(4, 1, 2, datetime(2026, 1, 2, 10), 11, 4, "7.50", datetime(2026, 1, 2, 10), D2),
    # order 5: placed before customer 1's first version opened (same day, before the day's last change)
    order_line(5, 1, 1, datetime(2026, 1, 1, 7), 10, 1, "5.00", datetime(2026, 1, 1, 7), D1),
    # order 6: unchanged line 1 repeated in D2 because its order's line 2 changed on D2
    order_line(6, 1, 1, datetime(2026, 1, 1, 9), 10, 1, "5.00", datetime(2026, 1, 1, 9), D1),
    order_line(6, 1, 1, datetime(2026, 1, 1, 9), 10, 1, "5.00", datetime(2026, 1, 1, 9), D2),
    order_line(6, 2, 1, datetime(2026, 1, 1, 9), 11, 1, "7.50", datetime(2026, 1, 2, 8), D2),
]

SILVER_ACTIVITY = [
    activity_row(1, D1, 2, "10.00", None, page_views=None),  # orders only: silver left the event counts NULL
    activity_row(
        1, D2, 2, "27.00", 2
    ),  # customer 1 changed segment at D2 12:00: current at the end of D2 is 102
    activity_row(3, D2, 1, "5.00", 1),  # the late customer
    activity_row(2, D2, 0, None, 3),  # events only, after its delete
]


def silver_orders_frame(spark: SparkSession, rows: list[tuple] = SILVER_ORDER_LINES) -> DataFrame:
    return spark.createDataFrame(rows, SILVER_ORDERS_SCHEMA)


def silver_activity_frame(spark: SparkSession, rows: list[tuple] = SILVER_ACTIVITY) -> DataFrame:
    return spark.createDataFrame(rows, SILVER_ACTIVITY_SCHEMA)


def dim_customer_frame(spark: SparkSession, late_arrived: bool = False) -> DataFrame:
    return spark.createDataFrame(
        CUSTOMER_VERSIONS + ([LATE_CUSTOMER] if late_arrived else []), DIM_CUSTOMER_SCHEMA
    )


def dim_product_frame(spark: SparkSession, late_arrived: bool = False) -> DataFrame:
    return spark.createDataFrame(PRODUCTS + ([LATE_PRODUCT] if late_arrived else []), DIM_PRODUCT_SCHEMA)


def dim_date_frame(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(calendar_rows(), DIM_DATE_SCHEMA)


def rows_of(df: DataFrame, *columns: str) -> list[tuple]:
    return sorted(tuple(row) for row in df.select(*columns).collect())


# --------------------------------------------------------------------------------- parity results


def star_results(spark: SparkSession) -> dict[str, list[list[str]]]:
    """Every rule of ``star`` on the fixture, as sorted rows of strings (comparable across processes).

    The facts are built once and handed on as local data, so re-keying and reconciliation run on the
    engine without recomputing them (the JVM pays per query).
    """
    silver, activity = silver_orders_frame(spark), silver_activity_frame(spark)
    customers, calendar = dim_customer_frame(spark), dim_date_frame(spark)
    facts = fact_order_lines(silver, customers, dim_product_frame(spark), calendar)
    activity_facts = fact_activity_rows(activity, customers, calendar)
    results: dict[str, list[list[str]]] = {}

    def collected(name: str, df: DataFrame) -> DataFrame:
        rows = df.collect()
        results[name] = sorted([[str(v) for v in row] for row in rows])
        return spark.createDataFrame(rows, df.schema)

    facts = collected("fact_orders", facts)
    activity_facts = collected("fact_customer_activity", activity_facts)
    late = (dim_customer_frame(spark, True), dim_product_frame(spark, True), calendar)
    collected("rekeyed_order_lines", rekeyed_order_lines(facts, *late))
    collected("reconcile_order_lines", reconcile_order_lines(silver, facts, D1, D3 + timedelta(days=1)))
    collected("reconcile_customer_activity", reconcile_customer_activity(activity, activity_facts, D1, D3))
    return results


# ------------------------------------------------------------------------------------------ tests


@pytest.fixture(scope="module")
def facts(spark) -> DataFrame:
    return fact_order_lines(
        silver_orders_frame(spark), dim_customer_frame(spark), dim_product_frame(spark), dim_date_frame(spark)
    )


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


def test_a_dimension_repeating_a_version_start_never_duplicates_a_line(spark):
    repeated = customer_version(103, 1, "consumer", CUSTOMER_1_CHANGED_AT, run_date=D2)  # same valid_from as 102
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


def test_reconciliation_of_consistent_order_lines(spark, facts):
    silver = silver_orders_frame(spark)
    days = {
        r._run_date: r for r in reconcile_order_lines(silver, facts, D1, D3 + timedelta(days=1)).collect()
    }
    assert all(r.reconciled for r in days.values())
    assert (days[D1].silver_lines, days[D1].lines_here, days[D1].fact_rows) == (2, 2, 2)
    # D2: 7 silver lines; (1,1) moved on to D3, (6,1)'s state lives in D1: 5 here
    assert (days[D2].silver_lines, days[D2].lines_here, days[D2].fact_rows) == (7, 5, 5)
    assert days[D3].fact_line_amount == days[D3].silver_line_amount == Decimal("9.00")
    # A window of D2 alone sees only D2's side; still consistent.
    only_d2 = reconcile_order_lines(silver, facts, D2, D3).collect()
    assert [(r._run_date, r.reconciled) for r in only_d2] == [(D2, True)]


def test_reconciliation_finds_lost_corrupted_stale_and_stray_rows(spark, facts):
    silver = silver_orders_frame(spark)
    window = (D1, D3 + timedelta(days=1))

    def failing_days(fact: DataFrame) -> dict:
        report = reconcile_order_lines(silver, fact, *window).collect()
        return {r._run_date: r for r in report if not r.reconciled}

    lost = failing_days(facts.where("NOT (order_id = 2 AND line_number = 1)"))
    assert list(lost) == [D2] and lost[D2].missing_lines == 1
    corrupted = failing_days(facts.withColumn(
        "line_amount", F.when(F.col("order_id") == 4, F.lit(Decimal("1.00"))).otherwise(F.col("line_amount"))
    ))  # fmt: skip
    assert list(corrupted) == [D2] and corrupted[D2].mismatched_lines == 1
    assert corrupted[D2].fact_line_amount != corrupted[D2].silver_line_amount
    reverted = failing_days(  # line (1,1) back in its D2 state: D3's change was lost
        facts.where("order_id <> 1").unionByName(
            fact_order_lines(silver.where("_run_date = DATE'2026-01-02'"), dim_customer_frame(spark),
                             dim_product_frame(spark), dim_date_frame(spark)).where("order_id = 1")
        )
    )  # fmt: skip
    assert reverted[D3].behind_lines == 1
    stray = failing_days(
        facts.unionByName(facts.where("order_id = 5").withColumn("order_id", F.lit(99).cast("bigint")))
    )
    assert list(stray) == [D1] and (stray[D1].fact_rows, stray[D1].lines_here) == (3, 2)
    # A line written twice (e.g. inserted twice by one MERGE) doubles its silver line in the join too:
    # caught by the duplicate count, not by the sums.
    twice = failing_days(facts.unionByName(facts.where("order_id = 5")))
    assert list(twice) == [D1] and twice[D1].duplicate_rows == 2


def test_reconciliation_of_customer_activity(spark):
    silver = silver_activity_frame(spark)
    fact = fact_activity_rows(silver, dim_customer_frame(spark), dim_date_frame(spark))
    days = reconcile_customer_activity(silver, fact, D1, D3).collect()
    assert [(r._run_date, r.silver_rows, r.fact_rows, r.reconciled) for r in days] == [
        (D1, 1, 1, True),
        (D2, 3, 3, True),
    ]
    assert days[1].fact_revenue == Decimal("32.00")
    doubled = fact.withColumn("sessions", F.when(F.col("customer_id") == 3, 2).otherwise(F.col("sessions")))
    bad = {r._run_date: r for r in reconcile_customer_activity(silver, doubled, D1, D3).collect()}
    assert bad[D1].reconciled and not bad[D2].reconciled
    assert (bad[D2].silver_sessions, bad[D2].fact_sessions) == (6, 7)
    dropped = {
        r._run_date: r
        for r in reconcile_customer_activity(silver, fact.where("customer_id <> 2"), D1, D3).collect()
    }
    assert dropped[D2].missing_rows == 1 and not dropped[D2].reconciled


def test_foreign_key_report_counts_unresolved_keys_and_the_unknown_member(spark, facts):
    customers = dim_customer_frame(spark)
    [report] = foreign_key_report(facts, "customer_key", customers, "customer_key").collect()
    assert (report.rows, report.unresolved, report.unknown_member) == (8, 0, 1)
    without_unknown_member = customers.where("customer_key <> 0")
    [report] = foreign_key_report(facts, "customer_key", without_unknown_member, "customer_key").collect()
    assert report.unresolved == 1
    broken = facts.withColumn(
        "product_key", F.when(F.col("order_id") == 4, 555).otherwise(F.col("product_key"))
    )
    [report] = foreign_key_report(broken, "product_key", dim_product_frame(spark), "product_key").collect()
    assert (report.unresolved, report.unknown_member) == (1, 1)


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
