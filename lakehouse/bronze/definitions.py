"""The bronze layer's definitions: one asset per bronze contract under ``contracts/bronze`` (with its
quarantine lane and its contract checks), and a Great Expectations check per bronze table."""

from __future__ import annotations

import dagster as dg

from lakehouse.bronze.assets import build_bronze_asset
from lakehouse.contracts import load_contracts
from lakehouse.quality.checks import great_expectations_checks


def bronze_assets() -> list[dg.AssetsDefinition]:
    return [build_bronze_asset(contract) for _, contract in sorted(load_contracts(layer="bronze").items())]


def bronze_definitions() -> dg.Definitions:
    """Every bronze asset and all its checks: the contract checks run in the asset's step
    (``lakehouse.bronze.checks``), the Great Expectations suites as checks of their own."""
    assets = bronze_assets()
    return dg.Definitions(assets=assets, asset_checks=great_expectations_checks(assets))
