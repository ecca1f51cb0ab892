"""gold/dim_product: its rows (``lakehouse.gold.products``), its SCD1 MERGE ordered by updated_at on real
Delta tables, and the asset through Dagster."""

from datetime import datetime
from decimal import Decimal

import dagster as dg
import pytest

from lakehouse.gold.checks import SURROGATE_KEY_UNIQUE, UNKNOWN_MEMBER_EXISTS
from lakehouse.gold.dim_product import dim_product_asset
from lakehouse.gold.merges import merge_product_window
from lakehouse.gold.products import DIM_PRODUCT_COLUMNS, product_rows
from lakehouse.gold.tables import DIM_PRODUCT, SILVER_PRODUCTS
from lakehouse.lake import Lake
from lakehouse.partitions import daily_partitions
from lakehouse_tests.support import lake_resources
from lakehouse_tests.test_observability.support import committed_bytes, materialization_metadata

SILVER_PRODUCTS_SCHEMA = (
    "product_id bigint, sku string, product_name string, category string, brand string, "
    "unit_price decimal(12,2), currency string, is_active boolean, updated_at timestamp_ntz, _run_date date"
)


def product(
    product_id: int, updated_at: str, *, price: str = "10.00", name: str = "Mug", active: bool = True
) -> tuple:
    at = datetime.fromisoformat(updated_at)
    return (
        product_id,
        f"SKU-{product_id}",
        name,
        "kitchen",
        "Acme",
        Decimal(price),
        "EUR",
        active,
        at,
        at.date(),
    )


@pytest.fixture
def lake(tmp_path) -> Lake:
    return Lake(root_uri=str(tmp_path / "lake"))


def test_product_rows_take_each_products_latest_row(spark):
    rows = (
        product_rows(
            spark.createDataFrame(
                [
                    product(1, "2026-01-01 08:00:00"),
                    product(1, "2026-01-02 08:00:00", price="12.50"),
                    product(2, "2026-01-01 09:00:00"),
                ],
                SILVER_PRODUCTS_SCHEMA,
            )
        )
        .orderBy("product_id")
        .collect()
    )
    assert [(r["product_id"], r["list_price"]) for r in rows] == [
        (1, Decimal("12.50")),
        (2, Decimal("10.00")),
    ]
    assert all(r["product_key"] > 0 for r in rows)
    assert list(rows[0].asDict()) == [name for name, _ in DIM_PRODUCT_COLUMNS]


def _products(lake: Lake) -> list[tuple]:
    table = lake.open(DIM_PRODUCT).to_pyarrow_table().sort_by("product_id").to_pylist()
    return [
        (r["product_key"] == 0, r["product_id"], r["product_name"], r["list_price"], r["updated_at"])
        for r in table
    ]


def test_dim_product_keeps_each_product_at_its_latest_change_whatever_the_arrival_order(spark, lake):
    uri = lake.table(DIM_PRODUCT)

    def apply(*rows: tuple):
        window_rows = spark.createDataFrame(list(rows), SILVER_PRODUCTS_SCHEMA)
        return merge_product_window(spark, lake, uri, window_rows)

    first = apply(product(1, "2026-01-02 08:00:00", price="12.50"), product(2, "2026-01-02 09:00:00"))
    assert (first.inserted, first.updated) == (3, 0)  # two products and the unknown member
    apply(product(1, "2026-01-01 08:00:00", price="9.99"))  # late and older: ignored
    apply(product(2, "2026-01-03 09:00:00", name="Big mug"))  # newer: replaces
    again = apply(product(2, "2026-01-03 09:00:00", name="Big mug"))  # the same window again
    assert (again.inserted, again.updated, again.deleted) == (0, 0, 0)
    corrected = apply(product(2, "2026-01-03 09:00:00", name="Large mug"))  # same time, corrected content
    assert corrected.updated == 1
    assert _products(lake) == [
        (True, -1, "unknown", None, None),
        (False, 1, "Mug", Decimal("12.50"), datetime(2026, 1, 2, 8)),
        (False, 2, "Large mug", Decimal("10.00"), datetime(2026, 1, 3, 9)),
    ]


def test_dim_product_asset_merges_its_window_and_passes_its_checks(engine, spark, lake):
    spark.createDataFrame(
        [
            product(1, "2026-01-01 08:00:00"),
            product(1, "2026-01-02 08:00:00", price="11.00"),
            product(3, "2026-01-03 08:00:00"),
        ],
        SILVER_PRODUCTS_SCHEMA,
    ).write.format("delta").partitionBy("_run_date").save(lake.table(SILVER_PRODUCTS))
    result = dg.materialize(
        [dim_product_asset(), dg.AssetSpec(SILVER_PRODUCTS, partitions_def=daily_partitions())],
        selection=[DIM_PRODUCT],
        resources=lake_resources(engine, lake.root_uri),
        tags={
            "dagster/asset_partition_range_start": "2026-01-01",
            "dagster/asset_partition_range_end": "2026-01-02",
        },
    )
    assert result.success
    assert [(p[1], p[3]) for p in _products(lake)] == [
        (-1, None),
        (1, Decimal("11.00")),
    ]  # product 3 changed on Jan 3, outside the window
    assert {e.check_name: e.passed for e in result.get_asset_check_evaluations()} == {
        UNKNOWN_MEMBER_EXISTS: True,
        SURROGATE_KEY_UNIQUE: True,
    }
    metadata = materialization_metadata(result, "gold__dim_product")[0]  # one per day, the run's numbers
    assert metadata["dagster/row_count"] == metadata["rows_inserted"] + metadata["rows_updated"] == 2
    assert metadata["table_rows"] == 2
    assert metadata["partitions_merged"] == ["2026-01-01", "2026-01-02"]
    dim_uri = lake.table(DIM_PRODUCT)
    assert metadata["bytes_written"] == committed_bytes(dim_uri, None, metadata["delta_version"]) > 0
    assert isinstance(metadata["duration_seconds"], float) and metadata["duration_seconds"] > 0
