"""The queries that hold the facts against silver (``lakehouse.gold.reconciliation``), on small hand-made
frames: consistent days, and every kind of lost, corrupted, stale, stray or duplicated row they catch."""

from datetime import timedelta
from decimal import Decimal

import pytest
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse.gold.reconciliation import (
    foreign_key_report,
    reconcile_customer_activity,
    reconcile_order_lines,
)
from lakehouse.gold.star import fact_activity_rows, fact_order_lines
from lakehouse.partitions import DayWindow
from lakehouse_tests.test_gold.star_cases import (
    D1,
    D2,
    D3,
    dim_customer_frame,
    dim_date_frame,
    dim_product_frame,
    fact_orders_frame,
    silver_activity_frame,
    silver_orders_frame,
)


@pytest.fixture(scope="module")
def facts(spark) -> DataFrame:
    return fact_orders_frame(spark)


def test_reconciliation_of_consistent_order_lines(spark, facts):
    silver = silver_orders_frame(spark)
    window = DayWindow(D1, D3 + timedelta(days=1))
    days = {r._run_date: r for r in reconcile_order_lines(silver, facts, window).collect()}
    assert all(r.reconciled for r in days.values())
    assert (days[D1].silver_lines, days[D1].lines_here, days[D1].fact_rows) == (2, 2, 2)
    # D2: 7 silver lines; (1,1) moved on to D3, (6,1)'s state lives in D1: 5 here
    assert (days[D2].silver_lines, days[D2].lines_here, days[D2].fact_rows) == (7, 5, 5)
    assert days[D3].fact_line_amount == days[D3].silver_line_amount == Decimal("9.00")
    # A window of D2 alone sees only D2's side; still consistent.
    only_d2 = reconcile_order_lines(silver, facts, DayWindow(D2, D3)).collect()
    assert [(r._run_date, r.reconciled) for r in only_d2] == [(D2, True)]


def test_reconciliation_finds_lost_corrupted_stale_and_stray_rows(spark, facts):
    silver = silver_orders_frame(spark)
    window = DayWindow(D1, D3 + timedelta(days=1))

    def failing_days(fact: DataFrame) -> dict:
        report = reconcile_order_lines(silver, fact, window).collect()
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
    days = reconcile_customer_activity(silver, fact, DayWindow(D1, D3)).collect()
    assert [(r._run_date, r.silver_rows, r.fact_rows, r.reconciled) for r in days] == [
        (D1, 1, 1, True),
        (D2, 3, 3, True),
    ]
    assert days[1].fact_revenue == Decimal("32.00")
    doubled = fact.withColumn("sessions", F.when(F.col("customer_id") == 3, 2).otherwise(F.col("sessions")))
    bad = {r._run_date: r for r in reconcile_customer_activity(silver, doubled, DayWindow(D1, D3)).collect()}
    assert bad[D1].reconciled and not bad[D2].reconciled
    assert (bad[D2].silver_sessions, bad[D2].fact_sessions) == (6, 7)
    dropped = {
        r._run_date: r
        for r in reconcile_customer_activity(
            silver, fact.where("customer_id <> 2"), DayWindow(D1, D3)
        ).collect()
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


def test_a_line_also_held_by_a_row_outside_the_window_fails_its_day(spark, facts):
    """A line left in a partition the window does not cover, beside its row in the window (what a
    ``MERGE`` that did not read that partition would leave), is caught by the lookup by line."""
    silver = silver_orders_frame(spark)
    copy = facts.where("order_id = 5").withColumns(
        {"_run_date": F.lit(D3 + timedelta(days=5)), "updated_at": F.col("updated_at") + F.expr("INTERVAL 9 DAYS")}
    )
    window = DayWindow(D1, D2)
    assert [r.reconciled for r in reconcile_order_lines(silver, facts, window).collect()] == [True]
    (day,) = reconcile_order_lines(silver, facts.unionByName(copy), window).collect()
    assert (day.reconciled, day.lines_in_several_rows, day.duplicate_rows) == (False, 1, 0)
    assert day.silver_lines == 2
