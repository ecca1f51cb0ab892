"""The bronze layer's assets, one per bronze contract under ``contracts/bronze``."""

from __future__ import annotations

import dagster as dg

from lakehouse.bronze.assets import build_bronze_asset
from lakehouse.contracts import load_contracts


def bronze_assets() -> list[dg.AssetsDefinition]:
    return [build_bronze_asset(contract) for _, contract in sorted(load_contracts(layer="bronze").items())]
