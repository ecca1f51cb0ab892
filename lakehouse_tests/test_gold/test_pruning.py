"""``lakehouse.gold.pruning`` on real Delta tables on disk: the rows a fact run reads instead of the whole
table give exactly the results the whole table gives, and the parts left out are the ones that cannot
matter (files whose statistics exclude the run's keys, partitions that hold none of its lines)."""

from datetime import datetime

import pytest
from deltalake import DeltaTable
from pyspark.sql import functions as F

from lakehouse.gold.checks import order_lines_reconciliation_result
from lakehouse.gold.pruning import in_partitions, partitions_holding, rows_to_rekey, within
from lakehouse.gold.star import rekeyed_order_lines
from lakehouse.gold.tables import FACT_ORDERS
from lakehouse.partitions import DayWindow
from lakehouse_tests.test_gold.star_cases import (
    CUSTOMER_1_CHANGED_AT,
    CUSTOMER_VERSIONS,
    D1,
    D2,
    D3,
    DIM_CUSTOMER_SCHEMA,
    customer_version,
    dim_customer_frame,
    dim_date_frame,
    dim_product_frame,
    fact_orders_frame,
    rows_of,
    silver_orders_frame,
)

KEYS = ("customer_key", "product_key", "order_date_key")


@pytest.fixture
def fact_table(spark, tmp_path):
    """The hand-made fact_orders rows as a Delta table partitioned by day, read back."""
    uri = str(tmp_path / "fact_orders")
    fact_orders_frame(spark).write.format("delta").partitionBy("_run_date").save(uri)
    return uri, spark.read.format("delta").load(uri)


def _sorted(df) -> list[tuple]:
    return rows_of(df, *df.columns)


def test_rows_to_rekey_are_those_keyed_to_an_unknown_member(spark, fact_table):
    _, facts = fact_table
    candidates = rows_to_rekey(facts, dim_customer_frame(spark), KEYS)
    assert _sorted(candidates.select("order_id", *KEYS)) == _sorted(
        facts.where("customer_key = 0 OR product_key = 0 OR order_date_key = 0").select("order_id", *KEYS)
    )
    assert candidates.count() < facts.count()


@pytest.mark.parametrize("late_products", [False, True])
def test_rekeying_the_candidates_gives_what_rekeying_the_whole_table_gives(spark, fact_table, late_products):
    _, facts = fact_table
    late = (dim_customer_frame(spark, True), dim_product_frame(spark, late_products), dim_date_frame(spark))
    whole = rekeyed_order_lines(facts, *late)
    pruned = rekeyed_order_lines(rows_to_rekey(facts, late[0], KEYS), *late)
    assert _sorted(pruned) == _sorted(whole) and whole.count() > 0


def test_a_customer_key_gone_from_the_dimension_makes_its_rows_candidates(spark, fact_table):
    """An out-of-order backfill replaced the version keyed 101: its lines are re-keyed like the whole
    table's would be, though none of them is keyed to an unknown member."""
    _, facts = fact_table
    moved = [customer_version(111, 1, "consumer", datetime(2026, 1, 1, 7), CUSTOMER_1_CHANGED_AT)]
    dim = spark.createDataFrame([v for v in CUSTOMER_VERSIONS if v[0] != 101] + moved, DIM_CUSTOMER_SCHEMA)
    candidates = rows_to_rekey(facts, dim, KEYS)
    assert candidates.where("customer_key = 101").count() == facts.where("customer_key = 101").count() > 0
    others = (dim_product_frame(spark), dim_date_frame(spark))
    assert _sorted(rekeyed_order_lines(candidates, dim, *others)) == _sorted(
        rekeyed_order_lines(facts, dim, *others)
    )


def test_partitions_holding_reads_the_order_id_statistics_of_the_delta_log(spark, fact_table):
    uri, facts = fact_table
    table = DeltaTable(uri)
    by_day = {r[0]: (r[1], r[2]) for r in facts.groupBy("_run_date").agg(F.min("order_id"), F.max("order_id")).collect()}
    every_day = sorted(by_day)
    assert partitions_holding(table, "order_id", -10, 10**9) == every_day
    low, high = by_day[every_day[-1]]
    assert every_day[-1] in partitions_holding(table, "order_id", low, high)
    assert partitions_holding(table, "order_id", 10**8, 10**9) == []
    assert in_partitions("target", []) == "FALSE" and in_partitions("target", None) == "TRUE"
    assert in_partitions("target", [D1, D2]) == "target.`_run_date` IN (DATE'2026-01-01', DATE'2026-01-02')"


def test_within_an_empty_range_is_no_row(fact_table):
    _, facts = fact_table
    assert within(facts, "order_id", None, None).count() == 0
    assert within(facts, "order_id", 1, 2).count() == facts.where("order_id BETWEEN 1 AND 2").count()


def test_the_reconciliation_still_fails_on_a_window_row_that_no_silver_line_accounts_for(spark, fact_table):
    """The silver lines are looked up within their order ids' range, but the window's fact rows are all
    counted: a row of an order far outside that range in the window is still an extra row."""
    _, facts = fact_table
    window = DayWindow(D1, D3)
    stray = facts.where("order_id = 5").withColumn("order_id", F.lit(10**9).cast("bigint"))
    result = order_lines_reconciliation_result(
        FACT_ORDERS, silver_orders_frame(spark), facts.unionByName(stray), window
    )
    assert not result.passed
    day = stray.first()["_run_date"].isoformat()
    assert day in result.metadata["failing_partitions"].value
