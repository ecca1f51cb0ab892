"""The ``gold/dim_customer`` asset: customers as SCD Type 2, merged from a window of silver/customers.

Daily-partitioned over an unpartitioned Delta table: a run covers a window of one or more days (a backfill
is one run, ``BackfillPolicy.single_run``) and writes the table itself with one ``MERGE INTO``
(``lakehouse.gold.merges.merge_customer_window``; the rules in ``lakehouse.gold.scd2``), then runs its
blocking checks on the table; a failing one rejects the ``MERGE`` (``lakehouse.quality.gates``).

Its input is the window's partitions of silver/customers, so a day of dim_customer depends on that day
of silver alone: a change re-run for one day (a late commit) re-runs that day of dim_customer, not every
day (as a dependency on the whole table would). The customers of the window's rows have their history
rebuilt from all their silver rows: the window's from the input, the other days' read from the lake
(``silver_history``). Under ``materialize_to_memory`` the input is the run's own silver output.
"""

import dagster as dg
from pyspark.sql import DataFrame, SparkSession

from lakehouse.engine import SparkEngine
from lakehouse.gold.checks import CUSTOMER_CHECKS, check_specs, customer_check_results
from lakehouse.gold.freshness import gold_freshness_policy
from lakehouse.gold.merges import merge_customer_window
from lakehouse.gold.tables import (
    DIM_CUSTOMER,
    SILVER_CUSTOMERS,
    gold_contract,
    merged_days_metadata,
    primary_key_metadata,
    read_table,
)
from lakehouse.governance.asset_arguments import asset_arguments
from lakehouse.governance.column_schema import column
from lakehouse.lake import Lake, WriteScope
from lakehouse.lake.rejection import version_before_metadata
from lakehouse.observability.metrics import compute_metrics, started
from lakehouse.partitions import PARTITION_COLUMN, DayWindow
from lakehouse.quality.gates import GatedWrite, gate


def dim_customer_asset() -> dg.AssetsDefinition:
    contract = gold_contract(DIM_CUSTOMER)
    run_date = column(
        PARTITION_COLUMN,
        "date",
        "The silver partition that last set the row's content; NULL on the unknown member.",
    )

    @dg.asset(
        ins={"customers": dg.AssetIn(key=SILVER_CUSTOMERS)},
        check_specs=check_specs(DIM_CUSTOMER, CUSTOMER_CHECKS),
        freshness_policy=gold_freshness_policy(),
        **asset_arguments(contract, extra_columns=[run_date], metadata=primary_key_metadata(contract)),
    )
    def dim_customer(
        context: dg.AssetExecutionContext, engine: SparkEngine, lake: Lake, customers: DataFrame
    ) -> dg.MaterializeResult:
        start = started()
        spark = engine.spark_session
        window = DayWindow.of_context(context)
        uri = lake.table(DIM_CUSTOMER)
        before = lake.version(uri)
        outcome, _ = lake.commit(
            uri,
            lambda: merge_customer_window(
                spark,
                lake,
                uri,
                customers,
                silver_history(spark, lake, customers, window),
                lake.scratch(DIM_CUSTOMER),
            ),
            log=context.log.warning,
        )
        context.log.info(
            f"{uri}: {outcome.inserted} rows inserted, {outcome.updated} updated, {outcome.deleted} deleted"
        )
        metadata = (
            outcome.metadata()
            | merged_days_metadata(window)
            | compute_metrics(start, outcome.bytes_written)
            | version_before_metadata(before)
        )
        checks = customer_check_results(read_table(spark, lake, DIM_CUSTOMER))
        written = GatedWrite(uri, before, outcome.version, WriteScope())
        return dg.MaterializeResult(
            metadata=metadata, check_results=gate(lake, checks, [written], context.log.warning)
        )

    return dim_customer



def silver_history(spark: SparkSession, lake: Lake, window_rows: DataFrame, window: DayWindow) -> DataFrame:
    """Every silver/customers row: the window's as the run hands them over, every other day's from the lake
    (none when silver/customers is not in the lake, as under ``materialize_to_memory``)."""
    uri = lake.table(SILVER_CUSTOMERS)
    if not lake.exists(uri):
        return window_rows
    other_days = spark.read.format("delta").load(uri).where(~window.filter())
    return window_rows.unionByName(other_days)
