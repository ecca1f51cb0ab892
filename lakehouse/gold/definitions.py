"""The gold layer's definitions: the star schema's five assets and every check of theirs.

Each partitioned asset follows new silver data by itself (``lakehouse.orchestration.automation``). Each
asset runs its own blocking checks in its step (``lakehouse.gold.checks``); the blocking
``great_expectations`` check of each table is built from the assets handed out here.
"""

import dagster as dg

from lakehouse.gold.dim_customer import dim_customer_asset
from lakehouse.gold.dim_date import dim_date_asset
from lakehouse.gold.dim_product import dim_product_asset
from lakehouse.gold.fact_customer_activity import fact_customer_activity_asset
from lakehouse.gold.fact_orders import fact_orders_asset
from lakehouse.orchestration.automation import following_upstream
from lakehouse.quality.checks import great_expectations_checks


def gold_assets() -> list[dg.AssetsDefinition]:
    """The dimensions, then the facts, built from their contracts under ``contracts/gold`` (read now, not
    at import)."""
    return [
        dim_customer_asset(),
        dim_product_asset(),
        dim_date_asset(),
        fact_orders_asset(),
        fact_customer_activity_asset(),
    ]


def gold_definitions() -> dg.Definitions:
    """The gold assets with their ``great_expectations`` checks (their other checks are part of them)."""
    assets = following_upstream(gold_assets())
    return dg.Definitions(assets=assets, asset_checks=great_expectations_checks(assets))
