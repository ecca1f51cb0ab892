"""The facts' blocking checks (``lakehouse.gold.checks``): results and metadata on hand-made frames, and in
Dagster runs where a check fails and the asset downstream of the fact does not run. The dimensions'
checks are exercised with their assets (``test_dim_customer``, ``test_dim_product``, ``test_dim_date``)."""

from datetime import timedelta

import dagster as dg
import pytest
from pyspark.sql import functions as F

from lakehouse.contracts import contracts_dir, load_contract
from lakehouse.gold.checks import (
    FOREIGN_KEYS_RESOLVE,
    RECONCILES_WITH_SILVER,
    customer_activity_reconciliation_result,
    foreign_keys_result,
    order_lines_reconciliation_result,
)
from lakehouse.gold.star import fact_activity_rows, fact_order_lines
from lakehouse.gold.tables import DIM_CUSTOMER, FACT_CUSTOMER_ACTIVITY, FACT_ORDERS
from lakehouse.partitions import DayWindow, daily_partitions
from lakehouse_tests.support import step_failure_message
from lakehouse_tests.test_gold.support import FactLake, build_lake, check_outcomes, materialize
from lakehouse_tests.test_gold.star_cases import (
    D1,
    D2,
    D3,
    DIM_DATE_SCHEMA,
    calendar_rows,
    dim_customer_frame,
    dim_date_frame,
    dim_product_frame,
    silver_activity_frame,
    silver_orders_frame,
)

WINDOW = DayWindow(D1, D3 + timedelta(days=1))


@pytest.fixture(scope="module")
def dims(spark) -> dict:
    return {
        "dim_customer": dim_customer_frame(spark),
        "dim_product": dim_product_frame(spark),
        "dim_date": dim_date_frame(spark),
    }


@pytest.fixture(scope="module")
def facts(spark, dims):
    return fact_order_lines(
        silver_orders_frame(spark), dims["dim_customer"], dims["dim_product"], dims["dim_date"]
    )


@pytest.fixture
def lake(spark, engine, tmp_path) -> FactLake:
    return build_lake(spark, engine, str(tmp_path / "lake"))


def _contract(table: str):
    return load_contract(contracts_dir() / "gold" / f"{table}.yaml")


# ------------------------------------------------------------------------------ results on frames


def test_foreign_keys_resolve_counting_the_unknown_member(facts, dims):
    result = foreign_keys_result(FACT_ORDERS, _contract("fact_orders"), facts, dims)
    assert result.passed and result.check_name == FOREIGN_KEYS_RESOLVE
    assert result.severity == dg.AssetCheckSeverity.ERROR
    keys = result.metadata["foreign_keys"].value
    assert keys["customer_key"] == {
        "references": "gold/dim_customer.customer_key",
        "unresolved": 0,
        "unknown_member": 1,
    }
    assert keys["product_key"]["unknown_member"] == 1 and keys["order_date_key"]["unknown_member"] == 0
    assert result.metadata["rows_checked"].value == 8


def test_foreign_keys_fail_on_a_key_missing_from_its_dimension(facts, dims):
    broken = facts.withColumn(
        "order_date_key", F.when(F.col("order_id") == 2, 20991231).otherwise(F.col("order_date_key"))
    )
    no_unknown_customer = {**dims, "dim_customer": dims["dim_customer"].where("customer_key <> 0")}
    result = foreign_keys_result(FACT_ORDERS, _contract("fact_orders"), broken, no_unknown_customer)
    assert not result.passed
    keys = result.metadata["foreign_keys"].value
    assert (keys["order_date_key"]["unresolved"], keys["customer_key"]["unresolved"]) == (2, 1)
    assert "order_date_key (2 rows)" in result.description and "customer_key (1 rows)" in result.description


def test_order_reconciliation_result_passes_and_reports_each_partition(spark, facts):
    result = order_lines_reconciliation_result(FACT_ORDERS, silver_orders_frame(spark), facts, WINDOW)
    assert result.passed and result.check_name == RECONCILES_WITH_SILVER
    metadata = {k: v.value for k, v in result.metadata.items()}
    assert (metadata["silver_lines"], metadata["fact_rows"], metadata["missing_lines"]) == (10, 8, 0)
    assert metadata["silver_line_amount"] == metadata["fact_line_amount"] == "75.00"
    assert [day["_run_date"] for day in metadata["partitions"]] == ["2026-01-01", "2026-01-02", "2026-01-03"]
    assert metadata["failing_partitions"] == []


def test_order_reconciliation_result_fails_on_a_corrupted_row(spark, facts):
    corrupted = facts.withColumn(
        "line_amount",
        F.when(F.col("order_id") == 3, F.lit(500).cast("decimal(14,2)")).otherwise(F.col("line_amount")),
    )
    result = order_lines_reconciliation_result(
        FACT_ORDERS, silver_orders_frame(spark), corrupted, WINDOW
    )
    assert not result.passed
    assert result.metadata["failing_partitions"].value == ["2026-01-02"]
    assert result.metadata["mismatched_lines"].value == 1
    assert result.metadata["fact_line_amount"].value == "570.00"
    assert "2026-01-02" in result.description


def test_activity_reconciliation_result(spark):
    silver = silver_activity_frame(spark)
    fact = fact_activity_rows(silver, dim_customer_frame(spark), dim_date_frame(spark))
    passed = customer_activity_reconciliation_result(FACT_CUSTOMER_ACTIVITY, silver, fact, DayWindow(D1, D3))
    assert (
        passed.passed
        and passed.metadata["silver_revenue"].value == passed.metadata["fact_revenue"].value == "42.00"
    )
    doubled = fact.unionByName(fact.where("customer_id = 1"))
    failed = customer_activity_reconciliation_result(
        FACT_CUSTOMER_ACTIVITY, silver, doubled, DayWindow(D1, D3)
    )
    assert not failed.passed
    assert failed.metadata["failing_partitions"].value == ["2026-01-01", "2026-01-02"]


# ------------------------------------------------------------------------------ blocking in a run


@dg.asset(key=["test", "after_fact_orders"], deps=[FACT_ORDERS], partitions_def=daily_partitions())
def after_fact_orders() -> None:
    """Stands for any consumer of fact_orders."""


@dg.asset(
    key=["test", "after_fact_customer_activity"],
    deps=[FACT_CUSTOMER_ACTIVITY],
    partitions_def=daily_partitions(),
)
def after_fact_customer_activity() -> None:
    """Stands for any consumer of fact_customer_activity."""


DOWNSTREAM = [after_fact_orders, after_fact_customer_activity]
AFTER_ORDERS, AFTER_ACTIVITY = (
    dg.AssetKey(["test", "after_fact_orders"]),
    dg.AssetKey(["test", "after_fact_customer_activity"]),
)


def _materialized(result: dg.ExecuteInProcessResult) -> set[dg.AssetKey]:
    return {event.asset_key for event in result.get_asset_materialization_events()}


def test_passing_checks_let_downstream_assets_run(lake):
    result = materialize(lake, partition=D2.isoformat(), extra_assets=DOWNSTREAM)
    assert result.success
    assert {AFTER_ORDERS, AFTER_ACTIVITY} <= _materialized(result)


def test_a_fact_key_without_a_dimension_row_blocks_the_downstream_asset(lake, spark):
    # A broken dimension without its unknown member: the late customer's line cannot resolve.
    lake.write_dimensions()
    customers_uri = lake.uri(DIM_CUSTOMER)
    dim_customer_frame(spark).where("customer_key <> 0").write.format("delta").mode("overwrite").save(
        customers_uri
    )

    result = materialize(lake, partition=D2.isoformat(), extra_assets=DOWNSTREAM, raise_on_error=False)
    outcomes = check_outcomes(result)
    assert outcomes["gold/fact_orders:foreign_keys_resolve"] is False
    assert outcomes["gold/fact_customer_activity:foreign_keys_resolve"] is False
    assert outcomes["gold/fact_orders:reconciles_with_silver"] is True
    assert not result.success
    assert FACT_ORDERS in _materialized(result)  # written, then stopped by the check
    assert not {AFTER_ORDERS, AFTER_ACTIVITY} & _materialized(result)
    assert "foreign_keys_resolve" in step_failure_message(result)


def test_a_corrupted_fact_row_blocks_the_downstream_asset(lake, spark):
    materialize(lake, partition=D2.isoformat())
    # Someone rewrites a line outside the pipeline with a state silver never had (later, another amount):
    # the next run of its day cannot overwrite a newer state, and the reconciliation sees the stray row.
    fact_uri = lake.uri(FACT_ORDERS)
    spark.sql(
        f"MERGE INTO delta.`{fact_uri}` AS target "
        "USING (SELECT 2L AS order_id, 1L AS line_number) AS source "
        "ON target.order_id = source.order_id AND target.line_number = source.line_number "
        "WHEN MATCHED THEN UPDATE SET target.line_amount = 999.99, "
        "target.updated_at = TIMESTAMP_NTZ'2026-01-02 23:00:00'"
    ).collect()

    result = materialize(lake, partition=D2.isoformat(), extra_assets=DOWNSTREAM, raise_on_error=False)
    outcomes = check_outcomes(result)
    assert outcomes["gold/fact_orders:reconciles_with_silver"] is False
    assert outcomes["gold/fact_customer_activity:reconciles_with_silver"] is True
    assert AFTER_ORDERS not in _materialized(result)
    assert AFTER_ACTIVITY in _materialized(result)  # the other fact's consumer is not held back
    [evaluation] = [
        e
        for e in result.get_asset_check_evaluations()
        if (e.asset_key, e.check_name) == (FACT_ORDERS, RECONCILES_WITH_SILVER)
    ]
    [day] = evaluation.metadata["partitions"].value
    assert (day["fact_rows"], day["lines_here"]) == (7, 6)


def test_a_dimension_defect_that_fans_out_fact_rows_blocks_the_downstream_assets(lake, spark):
    # One day twice in dim_date: every order line and customer day of that day would be written twice.
    calendar = spark.createDataFrame(calendar_rows(), DIM_DATE_SCHEMA)
    lake.write_dimensions(dim_date=calendar.unionByName(calendar.where(f"date = DATE'{D2.isoformat()}'")))

    result = materialize(lake, partition=D2.isoformat(), extra_assets=DOWNSTREAM, raise_on_error=False)
    outcomes = check_outcomes(result)
    assert outcomes["gold/fact_orders:reconciles_with_silver"] is False  # duplicate lines
    assert outcomes["gold/fact_customer_activity:reconciles_with_silver"] is False  # doubled rows and sums
    assert not {AFTER_ORDERS, AFTER_ACTIVITY} & _materialized(result)
