"""The ``gold/dim_product`` asset: products as SCD Type 1, merged from a window of silver/products.

Daily-partitioned over an unpartitioned Delta table: a run merges the latest row of each product its
window holds with one ``MERGE INTO`` ordered by ``updated_at`` (``lakehouse.gold.products``), then runs its
blocking checks on the table; a failing one rejects the ``MERGE`` (``lakehouse.quality.gates``).
"""

import dagster as dg
from pyspark.sql import DataFrame

from lakehouse.engine import SparkEngine
from lakehouse.gold.checks import DIMENSION_CHECKS, check_specs, product_check_results
from lakehouse.gold.freshness import gold_freshness_policy
from lakehouse.gold.merges import merge_product_window
from lakehouse.gold.tables import (
    DIM_PRODUCT,
    SILVER_PRODUCTS,
    gold_contract,
    merged_days_metadata,
    primary_key_metadata,
    read_table,
)
from lakehouse.governance.asset_arguments import asset_arguments
from lakehouse.lake import Lake, WriteScope
from lakehouse.lake.rejection import version_before_metadata
from lakehouse.observability.metrics import compute_metrics, started
from lakehouse.partitions import DayWindow
from lakehouse.quality.gates import GatedWrite, gate


def dim_product_asset() -> dg.AssetsDefinition:
    contract = gold_contract(DIM_PRODUCT)

    @dg.asset(
        ins={"products": dg.AssetIn(key=SILVER_PRODUCTS)},
        check_specs=check_specs(DIM_PRODUCT, DIMENSION_CHECKS),
        freshness_policy=gold_freshness_policy(),
        # the table has no _run_date: a product's one row is not a day's
        **asset_arguments(contract, extra_columns=[], metadata=primary_key_metadata(contract)),
    )
    def dim_product(
        context: dg.AssetExecutionContext, engine: SparkEngine, lake: Lake, products: DataFrame
    ) -> dg.MaterializeResult:
        start = started()
        spark = engine.spark_session
        uri = lake.table(DIM_PRODUCT)
        before = lake.version(uri)
        outcome, _ = lake.commit(
            uri, lambda: merge_product_window(spark, lake, uri, products), log=context.log.warning
        )
        metadata = (
            outcome.metadata()
            | merged_days_metadata(DayWindow.of_context(context))
            | compute_metrics(start, outcome.bytes_written)
            | version_before_metadata(before)
        )
        checks = product_check_results(read_table(spark, lake, DIM_PRODUCT))
        written = GatedWrite(uri, before, outcome.version, WriteScope())
        return dg.MaterializeResult(
            metadata=metadata, check_results=gate(lake, checks, [written], context.log.warning)
        )

    return dim_product
