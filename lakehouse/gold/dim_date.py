"""The ``gold/dim_date`` asset: the calendar, overwritten whole on every run.

Unpartitioned: the calendar spans a year before the partitions' start to five years after it
(``lakehouse.gold.calendar``). The asset writes its table itself (``lakehouse.io.write_frame``), so it
behaves the same under any IO manager, then runs its blocking checks on what it wrote; a failing one rejects the write (``lakehouse.quality.gates``).
"""

from datetime import timedelta

import dagster as dg

from lakehouse.engine import SparkEngine
from lakehouse.gold.calendar import calendar, calendar_range
from lakehouse.gold.checks import DIMENSION_CHECKS, check_specs, date_check_results
from lakehouse.gold.freshness import gold_freshness_policy
from lakehouse.gold.tables import DIM_DATE, gold_contract, primary_key_metadata, read_table
from lakehouse.governance.asset_arguments import asset_arguments
from lakehouse.io import write_frame
from lakehouse.lake import Lake
from lakehouse.observability.metrics import compute_metrics, started
from lakehouse.partitions import daily_partitions
from lakehouse.quality.gates import gate, gated


def dim_date_asset() -> dg.AssetsDefinition:
    contract = gold_contract(DIM_DATE)
    arguments = asset_arguments(contract, partitioned=False, metadata=primary_key_metadata(contract))
    declared_schema = arguments["metadata"]["dagster/column_schema"]

    @dg.asset(
        check_specs=check_specs(DIM_DATE, DIMENSION_CHECKS, partitioned=False),
        freshness_policy=gold_freshness_policy(),
        **arguments,
    )
    def dim_date(context: dg.AssetExecutionContext, engine: SparkEngine, lake: Lake) -> dg.MaterializeResult:
        start = started()
        spark = engine.spark_session
        first_day, end_day = calendar_range(daily_partitions().start.date())
        written = write_frame(
            lake, calendar(spark, first_day, end_day), lake.table(DIM_DATE), log=context.log.warning
        )
        metadata = {
            **written.metadata(declared_schema),
            "first_day": first_day.isoformat(),
            "last_day": (end_day - timedelta(days=1)).isoformat(),
            **compute_metrics(start, written.bytes_written),
        }
        checks = date_check_results(read_table(spark, lake, DIM_DATE))
        return dg.MaterializeResult(
            metadata=metadata, check_results=gate(lake, checks, [gated(written)], context.log.warning)
        )

    return dim_date
