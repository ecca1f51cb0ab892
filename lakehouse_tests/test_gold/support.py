"""Helpers shared by the gold tests: silver/customers rows for the SCD2 rules, a lake holding
silver/customers and gold/dim_customer written the way the assets write them, and a lake holding the
facts' upstream tables with one Dagster run of the fact assets over it."""

from datetime import date, datetime
from pathlib import Path
from typing import Any

import dagster as dg
from pyspark.sql import DataFrame, SparkSession

from lakehouse.gold import scd2
from lakehouse.gold.fact_customer_activity import fact_customer_activity_asset
from lakehouse.gold.fact_orders import fact_orders_asset
from lakehouse.gold.merges import MergeOutcome, merge_customer_window
from lakehouse.gold.tables import (
    DIM_CUSTOMER,
    DIM_DATE,
    DIM_PRODUCT,
    FACT_CUSTOMER_ACTIVITY,
    FACT_ORDERS,
    SILVER_CUSTOMER_ACTIVITY,
    SILVER_CUSTOMERS,
    SILVER_ORDERS,
)
from lakehouse.lake import Lake
from lakehouse.partitions import daily_partitions
from lakehouse_tests.support import lake_resources
from lakehouse_tests.test_gold.star_cases import (
    dim_customer_frame,
    dim_date_frame,
    dim_product_frame,
    silver_activity_frame,
    silver_orders_frame,
)

# ------------------------------------------------------------------------------ silver/customers rows

SILVER_SCHEMA = ", ".join(f"`{name}` {type_}" for name, type_ in scd2.SILVER_CUSTOMER_COLUMNS)
BASE_ATTRIBUTES: dict[str, str] = {
    "email_hash": "e1",
    "country_code": "DE",
    "city": "Berlin",
    "segment": "consumer",
    "loyalty_tier": "none",
    "first_name_hash": "f1",
    "last_name_hash": "l1",
    "phone_hash": "p1",
}
OPEN_END = datetime(9999, 12, 31)


def silver_row(customer_id: int, updated_at: str, *, is_deleted: bool = False, **attributes: str) -> tuple:
    """A silver/customers row (the columns SCD2 reads); its partition is the day of ``updated_at``."""
    values = {**BASE_ATTRIBUTES, **attributes}
    unknown = set(attributes) - set(BASE_ATTRIBUTES)
    assert not unknown, f"not a customer attribute: {unknown}"
    at = datetime.fromisoformat(updated_at)
    return (
        customer_id,
        *(values[name] for name in scd2.TRACKED_ATTRIBUTES),
        *(values[name] for name in scd2.UNTRACKED_ATTRIBUTES),
        at,
        is_deleted,
        at.date(),
    )


def silver_frame(spark: SparkSession, rows: list[tuple]) -> DataFrame:
    return spark.createDataFrame(rows, SILVER_SCHEMA)


def summary(rows: list[Any]) -> list[tuple]:
    """The parts of dim_customer rows the rules are about, ordered by customer and time."""
    picked = [
        (
            r["customer_id"],
            r["segment"],
            r["phone_hash"],
            r["valid_from"],
            r["valid_to"],
            r["is_current"],
            r["is_deleted"],
            r["_run_date"],
        )
        for r in rows
    ]
    return sorted(picked, key=lambda t: (t[0], t[3]))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def day(text: str) -> date:
    return date.fromisoformat(text)


# --------------------------------------------------------------------------------- dim_customer


class CustomerLake:
    """silver/customers and gold/dim_customer under one lake root, written the way the assets write them."""

    def __init__(self, spark: SparkSession, root: Path) -> None:
        self.spark = spark
        self.lake = Lake(root_uri=str(root))
        self.silver_uri = self.lake.table(SILVER_CUSTOMERS)
        self.dim_uri = self.lake.table(DIM_CUSTOMER)
        self.scratch = root / "_scratch"

    def write_silver(self, rows: list[tuple], days: list[date] | None = None) -> str:
        """Replace the silver partitions of ``days`` (default: the rows' days); returns their predicate."""
        days = sorted(days or {row[-1] for row in rows})
        frame = silver_frame(self.spark, rows)
        if not self.lake.exists(self.silver_uri):
            frame.limit(0).write.format("delta").partitionBy("_run_date").save(self.silver_uri)
        predicate = " OR ".join(f"_run_date = DATE'{d.isoformat()}'" for d in days)
        frame.write.format("delta").mode("overwrite").option("replaceWhere", predicate).save(self.silver_uri)
        return predicate

    def apply(self, rows: list[tuple], days: list[date] | None = None) -> MergeOutcome:
        """Write the rows' silver partitions, then run the dimension over exactly that window."""
        predicate = self.write_silver(rows, days)
        silver = self.spark.read.format("delta").load(self.silver_uri)
        outcome = merge_customer_window(
            self.spark, self.lake, self.dim_uri, silver.where(predicate), silver, str(self.scratch)
        )
        assert not any(self.scratch.iterdir()), "the staged merge source is removed"
        return outcome

    def rows(self) -> list[dict[str, Any]]:
        table = self.lake.open(self.dim_uri).to_pyarrow_table().sort_by("customer_key")
        return table.to_pylist()

    def history(self) -> list[tuple]:
        return summary([r for r in self.rows() if r["customer_key"] != scd2.UNKNOWN_KEY])

    def version(self) -> int:
        return self.lake.version(self.dim_uri)


# ---------------------------------------------------------------------------------------- facts

DIMENSION_KEYS = [DIM_CUSTOMER, DIM_PRODUCT, DIM_DATE]
UPSTREAM_SPECS = [
    dg.AssetSpec(SILVER_ORDERS, partitions_def=daily_partitions()),
    dg.AssetSpec(SILVER_CUSTOMER_ACTIVITY, partitions_def=daily_partitions()),
    *[dg.AssetSpec(key) for key in DIMENSION_KEYS],
]
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def fact_assets() -> list[dg.AssetsDefinition]:
    return [fact_orders_asset(), fact_customer_activity_asset()]


class FactLake:
    """A temporary lake root with the facts' upstream tables written as their assets would write them,
    and the resources the facts run with over it."""

    def __init__(self, spark: SparkSession, root: str, engine):
        self.spark, self.root = spark, root
        self.resources = lake_resources(engine, root)
        self.lake = self.resources["lake"]

    def uri(self, key: dg.AssetKey) -> str:
        return self.lake.table(key)

    def write_silver(self, orders: DataFrame | None = None, activity: DataFrame | None = None) -> None:
        for key, frame in ((SILVER_ORDERS, orders), (SILVER_CUSTOMER_ACTIVITY, activity)):
            if frame is not None:
                frame.write.format("delta").mode("overwrite").partitionBy("_run_date").save(self.uri(key))

    def write_dimensions(self, late_arrived: bool = False, dim_date: DataFrame | None = None) -> None:
        frames = (
            dim_customer_frame(self.spark, late_arrived),
            dim_product_frame(self.spark, late_arrived),
            dim_date if dim_date is not None else dim_date_frame(self.spark),
        )
        for key, frame in zip(DIMENSION_KEYS, frames, strict=True):
            frame.write.format("delta").mode("overwrite").option("overwriteSchema", "true").save(
                self.uri(key)
            )

    def rows(self, key: dg.AssetKey) -> list[tuple]:
        """The table's rows as an independent reader (delta-rs) sees them, sorted."""
        table = self.lake.open(key).to_pyarrow_table()
        return sorted(zip(*(table.column(name).to_pylist() for name in table.column_names), strict=True))

    def row(self, key: dg.AssetKey, where: str):
        [found] = self.spark.read.format("delta").load(self.uri(key)).where(where).collect()
        return found


def build_lake(spark: SparkSession, engine, root: str) -> FactLake:
    """A lake at ``root`` holding the fixture's silver partitions and dimensions."""
    built = FactLake(spark, root, engine)
    built.write_silver(silver_orders_frame(spark), silver_activity_frame(spark))
    built.write_dimensions()
    return built


def materialize(
    lake: FactLake,
    *,
    partition: str | None = None,
    window: tuple[str, str] | None = None,
    extra_assets: list | None = None,
    raise_on_error: bool = True,
) -> dg.ExecuteInProcessResult:
    """One run of the fact assets (and ``extra_assets``) over ``lake``, for a partition or a window."""
    assets = [*fact_assets(), *(extra_assets or [])]
    tags = {RANGE_START_TAG: window[0], RANGE_END_TAG: window[1]} if window else None
    return dg.materialize(
        [*assets, *UPSTREAM_SPECS],
        selection=[key for asset in assets for key in asset.keys],
        resources=lake.resources,
        partition_key=partition,
        tags=tags,
        raise_on_error=raise_on_error,
    )


def check_outcomes(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {
        f"{e.asset_key.to_user_string()}:{e.check_name}": e.passed
        for e in result.get_asset_check_evaluations()
    }


def fact_tables(lake: FactLake) -> tuple[list[tuple], list[tuple]]:
    return lake.rows(FACT_ORDERS), lake.rows(FACT_CUSTOMER_ACTIVITY)
