"""The ``gold/fact_customer_activity`` asset: one row per customer and day of activity.

A run replaces its window's partitions with silver/customer_activity's rows keyed to the dimensions
(``lakehouse.gold.star``; the customer version current at the end of the day), written by the asset itself
with ``lakehouse.io.write_frame``, so it behaves the same under any IO manager. The dimensions are read from
the lake (``deps``, not inputs). Before that, the rows of the other days still keyed to an unknown member
whose member has arrived are re-keyed with a ``MERGE``; the run's own days are rebuilt, so re-keyed anyway.
Only the rows that re-keying can change are read (``lakehouse.gold.pruning.rows_to_rekey``), and the
``MERGE`` reads only their partitions, so the re-keying does not scan the history every day.
Blocking checks (``lakehouse.gold.checks``) run on what was written; when one fails, the window's write is
rejected (``lakehouse.quality.gates``) and its days are as they were before the run.
"""

import dagster as dg
from pyspark.sql import DataFrame

from lakehouse.engine import SparkEngine
from lakehouse.gold.checks import (
    FACT_CHECKS,
    check_specs,
    customer_activity_reconciliation_result,
    foreign_keys_result,
)
from lakehouse.gold.freshness import gold_freshness_policy
from lakehouse.gold.merges import rekey
from lakehouse.gold.pruning import rows_to_rekey
from lakehouse.gold.star import CUSTOMER_DAY_KEY, fact_activity_rows, rekeyed_activity_rows
from lakehouse.gold.tables import (
    DIM_CUSTOMER,
    DIM_DATE,
    FACT_CUSTOMER_ACTIVITY,
    SILVER_CUSTOMER_ACTIVITY,
    gold_contract,
    read_dimensions,
    read_table,
)
from lakehouse.governance.asset_arguments import asset_arguments
from lakehouse.io import write_frame
from lakehouse.lake import Lake
from lakehouse.observability.metrics import compute_metrics, started
from lakehouse.partitions import DayWindow
from lakehouse.quality.gates import gate, gated

DIMENSIONS = (DIM_CUSTOMER, DIM_DATE)
KEY_COLUMNS = ("customer_key", "date_key")


def fact_customer_activity_asset() -> dg.AssetsDefinition:
    contract = gold_contract(FACT_CUSTOMER_ACTIVITY)
    arguments = asset_arguments(contract)
    declared_schema = arguments["metadata"]["dagster/column_schema"]

    @dg.asset(
        ins={"silver_customer_activity": dg.AssetIn(key=SILVER_CUSTOMER_ACTIVITY)},
        deps=DIMENSIONS,
        check_specs=check_specs(FACT_CUSTOMER_ACTIVITY, FACT_CHECKS),
        freshness_policy=gold_freshness_policy(),
        **arguments,
    )
    def fact_customer_activity(
        context: dg.AssetExecutionContext,
        engine: SparkEngine,
        lake: Lake,
        silver_customer_activity: DataFrame,
    ) -> dg.MaterializeResult:
        began = started()
        spark = engine.spark_session
        window = DayWindow.of_context(context)
        uri = lake.table(FACT_CUSTOMER_ACTIVITY)
        dims = read_dimensions(spark, lake, DIMENSIONS)

        rekeyed, rekey_bytes = 0, 0
        before = lake.version(uri)
        if before is not None:
            outside_window = read_table(spark, lake, FACT_CUSTOMER_ACTIVITY).where(~window.filter())
            to_rekey = rows_to_rekey(outside_window, dims["dim_customer"], KEY_COLUMNS)
            rekeyed = rekey(
                spark,
                lake,
                uri,
                rekeyed_activity_rows(to_rekey, dims["dim_customer"], dims["dim_date"]),
                row_key=CUSTOMER_DAY_KEY,
                key_columns=KEY_COLUMNS,
                log=context.log.warning,
            )
            rekey_bytes = lake.bytes_added(uri, before)
        if rekeyed:
            context.log.info(f"{uri}: re-keyed {rekeyed} rows whose dimension member has arrived")
        rows = fact_activity_rows(silver_customer_activity, dims["dim_customer"], dims["dim_date"])
        written = write_frame(lake, rows, uri, window=window, log=context.log.warning)
        metadata = {
            **written.metadata(declared_schema),
            "rows_rekeyed": rekeyed,
            **compute_metrics(began, rekey_bytes + written.bytes_written),
        }

        table = read_table(spark, lake, FACT_CUSTOMER_ACTIVITY)
        checks = [
            foreign_keys_result(FACT_CUSTOMER_ACTIVITY, contract, table.where(window.filter()), dims),
            customer_activity_reconciliation_result(
                FACT_CUSTOMER_ACTIVITY, silver_customer_activity, table, window
            ),
        ]
        # a failing check rejects the window's write; the re-keyed rows of other days are right either way
        return dg.MaterializeResult(
            metadata=metadata, check_results=gate(lake, checks, [gated(written)], context.log.warning)
        )

    return fact_customer_activity
