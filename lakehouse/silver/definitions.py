"""The silver layer's definitions: one asset per silver contract under ``contracts/silver``, each following
new bronze data by itself (``lakehouse.orchestration.automation``), and a Great Expectations check per silver
table."""

import dagster as dg

from lakehouse.contracts import load_contracts
from lakehouse.orchestration.automation import following_upstream
from lakehouse.quality.checks import great_expectations_checks
from lakehouse.silver.assets import (
    build_silver_behavior_events,
    build_silver_customer_activity,
    build_silver_customers,
    build_silver_orders,
    build_silver_products,
)
from lakehouse.silver.transforms import DEFAULT_LOOKBACK_DAYS


def silver_assets(lookback_days: int = DEFAULT_LOOKBACK_DAYS) -> list[dg.AssetsDefinition]:
    """Every silver asset. ``lookback_days`` is how many days before its window an asset that needs state
    may read (silver/orders: bronze headers and lines; silver/customer_activity: silver customers): it sets
    their partition mappings, so Dagster knows the dependency; a run may look back less through the
    asset's config, never more."""
    if lookback_days < 0:
        raise ValueError(f"lookback_days must be >= 0, got {lookback_days}")
    contracts = load_contracts()
    bronze = {name: c for name, c in contracts.items() if c.layer == "bronze"}

    def silver(table: str):
        return contracts[f"silver.{table}"]

    return [
        build_silver_customers(silver("customers"), bronze),
        build_silver_products(silver("products"), bronze),
        build_silver_orders(silver("orders"), bronze, lookback_days),
        build_silver_behavior_events(silver("behavior_events"), bronze),
        build_silver_customer_activity(silver("customer_activity"), bronze, lookback_days),
    ]


def silver_definitions(lookback_days: int = DEFAULT_LOOKBACK_DAYS) -> dg.Definitions:
    """Every silver asset, re-run by automation when a bronze day it reads changes, and its Great
    Expectations check."""
    assets = following_upstream(silver_assets(lookback_days))
    return dg.Definitions(assets=assets, asset_checks=great_expectations_checks(assets))
