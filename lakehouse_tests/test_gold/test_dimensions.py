"""The gold dimension assets: their definitions and contracts, dim_product (SCD1 by MERGE, ordered by
updated_at) and dim_date (the calendar), on real Delta tables and through Dagster."""

import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pytest
from deltalake import DeltaTable

from lakehouse.contracts import PiiClass
from lakehouse.gold import scd2
from lakehouse.gold.dimensions import (
    DIM_CUSTOMER,
    DIM_DATE,
    DIM_DATE_COLUMNS,
    DIM_PRODUCT,
    DIM_PRODUCT_COLUMNS,
    SILVER_PRODUCTS,
    SURROGATE_KEY_UNIQUE,
    UNKNOWN_MEMBER_EXISTS,
    calendar,
    calendar_range,
    dimension_asset_checks,
    dimension_assets,
    merge_product_window,
    product_rows,
)
from lakehouse.io import DeltaSparkIOManager
from lakehouse.partitions import daily_partitions
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


@pytest.fixture(scope="module")
def assets() -> dict[dg.AssetKey, dg.AssetsDefinition]:
    return {asset.key: asset for asset in dimension_assets()}


# ------------------------------------------------------------------------------------- definitions


def test_every_dimension_is_a_gold_asset_with_owner_kinds_description_and_contract_schema(assets):
    assert set(assets) == {DIM_CUSTOMER, DIM_PRODUCT, DIM_DATE}
    for key, asset in assets.items():
        spec = asset.specs_by_key[key]
        assert spec.group_name == "gold"
        assert spec.owners == ["team:data-platform"]
        assert spec.kinds == {"spark", "delta"}
        assert spec.description
        schema = spec.metadata["dagster/column_schema"]
        assert all(column.tags["pii"] in {c.value for c in PiiClass} for column in schema.columns)
        assert all(column.description for column in schema.columns)


def test_column_schemas_are_the_tables_columns_with_pii_tags(assets):
    def columns(key: dg.AssetKey) -> list[tuple[str, str]]:
        schema = assets[key].specs_by_key[key].metadata["dagster/column_schema"]
        return [(column.name, column.type) for column in schema.columns]

    assert columns(DIM_CUSTOMER) == list(scd2.DIM_CUSTOMER_COLUMNS)
    assert columns(DIM_PRODUCT) == list(DIM_PRODUCT_COLUMNS)
    assert columns(DIM_DATE) == list(DIM_DATE_COLUMNS)
    customer = assets[DIM_CUSTOMER].specs_by_key[DIM_CUSTOMER].metadata["dagster/column_schema"]
    tags = {column.name: column.tags["pii"] for column in customer.columns}
    assert tags["email_hash"] == tags["customer_id"] == "indirect"
    assert tags["segment"] == tags["valid_from"] == "none"
    assert "direct" not in tags.values()  # no gold column identifies a person on its own


def test_merged_dimensions_are_daily_partitioned_single_run_backfills_and_dim_date_is_not(assets):
    for key in (DIM_CUSTOMER, DIM_PRODUCT):
        assert assets[key].partitions_def == daily_partitions
        assert assets[key].backfill_policy == dg.BackfillPolicy.single_run()
    assert assets[DIM_DATE].partitions_def is None
    assert assets[DIM_CUSTOMER].keys_by_input_name == {"customers": dg.AssetKey(["silver", "customers"])}
    assert assets[DIM_PRODUCT].keys_by_input_name == {"products": SILVER_PRODUCTS}


def test_every_check_is_blocking(assets):
    checks = {
        (spec.asset_key, spec.name): spec.blocking for asset in assets.values() for spec in asset.check_specs
    }
    assert set(checks) == {
        (DIM_CUSTOMER, "validity_intervals_do_not_overlap"),
        (DIM_CUSTOMER, "one_current_row_per_customer"),
        (DIM_CUSTOMER, UNKNOWN_MEMBER_EXISTS),
        (DIM_CUSTOMER, SURROGATE_KEY_UNIQUE),
        (DIM_PRODUCT, UNKNOWN_MEMBER_EXISTS),
        (DIM_PRODUCT, SURROGATE_KEY_UNIQUE),
        (DIM_DATE, UNKNOWN_MEMBER_EXISTS),
        (DIM_DATE, SURROGATE_KEY_UNIQUE),
    }
    assert all(checks.values())
    assert dimension_asset_checks() == []


def test_importing_the_dimensions_reads_no_contract_and_starts_no_engine(tmp_path):
    code = (
        "import sys; import lakehouse.gold.dimensions, lakehouse.gold.scd2;"
        "assert 'pysail' not in sys.modules, 'engine imported at import time'"
    )
    env = {"PATH": "/usr/bin:/bin", "LAKEHOUSE_CONTRACTS_DIR": str(tmp_path / "no-contracts-here")}
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert completed.returncode == 0, completed.stderr[-2000:]


# ----------------------------------------------------------------------------------- dim_product


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


def _products(uri: str) -> list[tuple]:
    table = DeltaTable(uri).to_pyarrow_table().sort_by("product_id").to_pylist()
    return [
        (r["product_key"] == 0, r["product_id"], r["product_name"], r["list_price"], r["updated_at"])
        for r in table
    ]


def test_dim_product_keeps_each_product_at_its_latest_change_whatever_the_arrival_order(spark, tmp_path):
    uri = str(tmp_path / "gold" / "dim_product")

    def apply(*rows: tuple):
        return merge_product_window(spark, uri, spark.createDataFrame(list(rows), SILVER_PRODUCTS_SCHEMA))

    first = apply(product(1, "2026-01-02 08:00:00", price="12.50"), product(2, "2026-01-02 09:00:00"))
    assert (first.inserted, first.updated) == (3, 0)  # two products and the unknown member
    apply(product(1, "2026-01-01 08:00:00", price="9.99"))  # late and older: ignored
    apply(product(2, "2026-01-03 09:00:00", name="Big mug"))  # newer: replaces
    again = apply(product(2, "2026-01-03 09:00:00", name="Big mug"))  # the same window again
    assert (again.inserted, again.updated, again.deleted) == (0, 0, 0)
    corrected = apply(product(2, "2026-01-03 09:00:00", name="Large mug"))  # same time, corrected content
    assert corrected.updated == 1
    assert _products(uri) == [
        (True, -1, "unknown", None, None),
        (False, 1, "Mug", Decimal("12.50"), datetime(2026, 1, 2, 8)),
        (False, 2, "Large mug", Decimal("10.00"), datetime(2026, 1, 3, 9)),
    ]


def test_dim_product_asset_merges_its_window_and_passes_its_checks(engine, spark, tmp_path, assets):
    lake_root = tmp_path / "lake"
    silver_uri = str(lake_root / "silver" / "products")
    spark.createDataFrame(
        [
            product(1, "2026-01-01 08:00:00"),
            product(1, "2026-01-02 08:00:00", price="11.00"),
            product(3, "2026-01-03 08:00:00"),
        ],
        SILVER_PRODUCTS_SCHEMA,
    ).write.format("delta").partitionBy("_run_date").save(silver_uri)
    result = dg.materialize(
        [assets[DIM_PRODUCT], dg.AssetSpec(SILVER_PRODUCTS, partitions_def=daily_partitions)],
        selection=[DIM_PRODUCT],
        resources={
            "engine": engine,
            "io_manager": DeltaSparkIOManager(root_uri=str(lake_root), engine=engine),
        },
        tags={
            "dagster/asset_partition_range_start": "2026-01-01",
            "dagster/asset_partition_range_end": "2026-01-02",
        },
    )
    assert result.success
    assert [(p[1], p[3]) for p in _products(str(lake_root / "gold" / "dim_product"))] == [
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
    dim_uri = str(lake_root / "gold" / "dim_product")
    assert metadata["bytes_written"] == committed_bytes(dim_uri, None, metadata["delta_version"]) > 0
    assert isinstance(metadata["duration_seconds"], float) and metadata["duration_seconds"] > 0


# -------------------------------------------------------------------------------------- dim_date


def test_calendar_spans_a_year_before_to_five_years_after_the_partitions_start():
    assert calendar_range(date(2026, 1, 1)) == (date(2025, 1, 1), date(2031, 1, 1))
    assert calendar_range(date(2028, 2, 29)) == (date(2027, 2, 28), date(2033, 2, 28))


def test_calendar_days_iso_weeks_names_and_the_unknown_member(spark):
    rows = {
        r["date_key"]: r.asDict() for r in calendar(spark, date(2025, 12, 28), date(2027, 1, 5)).collect()
    }
    assert len(rows) == (date(2027, 1, 5) - date(2025, 12, 28)).days + 1
    assert rows[20260104] == {
        "date_key": 20260104,
        "date": date(2026, 1, 4),
        "day_of_week": 7,
        "day_name": "Sunday",
        "day_of_month": 4,
        "week_of_year": 1,
        "month": 1,
        "month_name": "January",
        "quarter": 1,
        "year": 2026,
        "is_weekend": True,
    }
    assert (rows[20260105]["day_of_week"], rows[20260105]["day_name"], rows[20260105]["is_weekend"]) == (
        1,
        "Monday",
        False,
    )
    assert rows[20251229]["week_of_year"] == 1  # ISO: the week of 2026-01-01 (a Thursday)
    assert rows[20270101]["week_of_year"] == 53
    assert rows[20261001]["quarter"] == 4
    assert rows[0] == {name: None for name, _ in DIM_DATE_COLUMNS} | {
        "date_key": 0,
        "day_name": "unknown",
        "month_name": "unknown",
    }


def test_dim_date_asset_overwrites_through_the_io_manager_and_passes_its_checks(engine, tmp_path, assets):
    resources = {
        "engine": engine,
        "io_manager": DeltaSparkIOManager(root_uri=str(tmp_path / "lake"), engine=engine),
    }
    uri = str(Path(tmp_path) / "lake" / "gold" / "dim_date")
    for _ in range(2):  # a second run replaces the table, it does not add to it
        before = DeltaTable(uri).version() if DeltaTable.is_deltatable(uri) else None
        result = dg.materialize([assets[DIM_DATE]], resources=resources)
        assert result.success
        [metadata] = materialization_metadata(result, "gold__dim_date")
        assert metadata["bytes_written"] == committed_bytes(uri, before, metadata["delta_version"]) > 0
        assert isinstance(metadata["duration_seconds"], float) and metadata["duration_seconds"] > 0
    table = DeltaTable(uri).to_pyarrow_table()
    assert metadata["dagster/row_count"] == table.num_rows
    assert table.num_rows == (date(2031, 1, 1) - date(2025, 1, 1)).days + 1
    assert [(f.name, str(f.type)) for f in table.schema][:2] == [
        ("date_key", "int32"),
        ("date", "date32[day]"),
    ]
    assert {e.check_name: e.passed for e in result.get_asset_check_evaluations()} == {
        UNKNOWN_MEMBER_EXISTS: True,
        SURROGATE_KEY_UNIQUE: True,
    }
