"""The gold tables and the silver tables they read: asset keys, contracts, and reading a gold table back
from the lake.

Every gold asset writes its own table through the engine and the ``Lake`` (a ``MERGE``, or a write with
``lakehouse.io.write_frame``) and reads the other gold tables it needs from the lake, so nothing of gold
goes through an IO manager but its silver inputs.
"""

from collections.abc import Sequence
from typing import Any

import dagster as dg
from pyspark.sql import DataFrame, SparkSession

from lakehouse.contracts import Contract, contracts_dir, load_contract
from lakehouse.lake import Lake
from lakehouse.partitions import DayWindow

GOLD = "gold"
SILVER = "silver"

DIM_CUSTOMER = dg.AssetKey([GOLD, "dim_customer"])
DIM_PRODUCT = dg.AssetKey([GOLD, "dim_product"])
DIM_DATE = dg.AssetKey([GOLD, "dim_date"])
FACT_ORDERS = dg.AssetKey([GOLD, "fact_orders"])
FACT_CUSTOMER_ACTIVITY = dg.AssetKey([GOLD, "fact_customer_activity"])

SILVER_CUSTOMERS = dg.AssetKey([SILVER, "customers"])
SILVER_PRODUCTS = dg.AssetKey([SILVER, "products"])
SILVER_ORDERS = dg.AssetKey([SILVER, "orders"])
SILVER_CUSTOMER_ACTIVITY = dg.AssetKey([SILVER, "customer_activity"])


def gold_contract(key: dg.AssetKey) -> Contract:
    """The contract of a gold table, read now (never at import)."""
    return load_contract(contracts_dir() / GOLD / f"{key.path[-1]}.yaml")


def primary_key_metadata(contract: Contract) -> dict[str, Any]:
    """What a dimension declares beyond every table asset's definition metadata: its primary key."""
    return {"primary_key": dg.MetadataValue.json(list(contract.primary_key))}


def merged_days_metadata(window: DayWindow) -> dict[str, Any]:
    """The days a dimension's run merged, as materialization metadata."""
    return {"partitions_merged": dg.MetadataValue.json(window.days_iso())}


def read_table(spark: SparkSession, lake: Lake, key: dg.AssetKey) -> DataFrame:
    """The whole Delta table of ``key`` as the engine reads it now."""
    return spark.read.format("delta").load(lake.table(key))


def read_dimensions(spark: SparkSession, lake: Lake, keys: Sequence[dg.AssetKey]) -> dict[str, DataFrame]:
    """The gold dimensions, whole, by table name (``dim_customer``); a clear failure names the one
    missing."""
    frames = {}
    for key in keys:
        uri = lake.table(key)
        if not lake.exists(uri):
            name = key.to_user_string()
            raise dg.Failure(f"{name} does not exist at {uri}: materialize {name} before the facts")
        frames[key.path[-1]] = read_table(spark, lake, key)
    return frames
