"""Bronze: raw source rows with metadata columns, contract-aligned; bad rows to quarantine."""

from lakehouse.bronze.assets import BronzeConfig, build_bronze_asset
from lakehouse.bronze.definitions import bronze_assets, bronze_definitions

__all__ = ["BronzeConfig", "bronze_assets", "bronze_definitions", "build_bronze_asset"]
