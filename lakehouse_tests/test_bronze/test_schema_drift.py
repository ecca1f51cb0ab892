"""Schema drift at the source, each case handled by the contract's policy: a new column (evolve,
quarantine, fail), a dropped column (filled when nullable, fail when required) and a changed type
(cast or quarantine, fail). Each case reads a drifted copy of the products table through the real
Snowflake connector."""

import dataclasses

import pytest
from deltalake import DeltaTable

from lakehouse.bronze import build_bronze_asset
from lakehouse.contracts import (
    EvolutionPolicy,
    MissingColumnPolicy,
    NewColumnPolicy,
    Source,
    TypeChangePolicy,
    contract_for_source,
)
from lakehouse.resources import snowflake_resource
from lakehouse_tests.test_bronze.support import materialize_bronze
from lakehouse_tests.support import step_failure_message

DAY = "2026-01-01"
COLUMNS = ["PRODUCT_ID", "SKU", "PRODUCT_NAME", "CATEGORY", "BRAND", "UNIT_PRICE", "CURRENCY", "IS_ACTIVE", "UPDATED_AT"]


@pytest.fixture(scope="module")
def drifted_tables(local_services, generated_sources):
    """Copies of RETAIL.CATALOG.PRODUCTS with one change each, created through the connector."""
    kept = ", ".join(c for c in COLUMNS if c != "BRAND")
    text_price = ", ".join(
        "CASE WHEN PRODUCT_ID = (SELECT MIN(PRODUCT_ID) FROM RETAIL.CATALOG.PRODUCTS) THEN 'n/a' "
        "ELSE CAST(UNIT_PRICE AS VARCHAR) END AS UNIT_PRICE"
        if c == "UNIT_PRICE"
        else c
        for c in COLUMNS
    )
    statements = {
        "PRODUCTS_NEW_COLUMN": f"SELECT {', '.join(COLUMNS)}, 'eu-west' AS WAREHOUSE_REGION FROM RETAIL.CATALOG.PRODUCTS",
        "PRODUCTS_DROPPED_COLUMN": f"SELECT {kept} FROM RETAIL.CATALOG.PRODUCTS",
        "PRODUCTS_TEXT_PRICE": f"SELECT {text_price} FROM RETAIL.CATALOG.PRODUCTS",
    }
    with snowflake_resource(local_services).get_connection() as connection:
        cursor = connection.cursor()
        for name, select in statements.items():
            cursor.execute(f"CREATE OR REPLACE TABLE RETAIL.CATALOG.{name} AS {select}")
        cursor.close()
    return statements


def _contract(source_table: str, **policy):
    base = contract_for_source("RETAIL.CATALOG.PRODUCTS")
    return dataclasses.replace(
        base,
        source=Source(system=base.source.system, table=f"RETAIL.CATALOG.{source_table}", change_column="updated_at"),
        evolution=dataclasses.replace(EvolutionPolicy(), **policy),
    )


def _run(resources, contract):
    return materialize_bronze(resources, partition=DAY, assets=[build_bronze_asset(contract)], raise_on_error=False)


def _rows(lake_root, layer):
    return DeltaTable(f"{lake_root}/{layer}/products").to_pyarrow_table()


def test_new_column_evolves_the_table(bronze_resources, lake_root, drifted_tables):
    result = _run(bronze_resources, _contract("PRODUCTS_NEW_COLUMN", new_column=NewColumnPolicy.EVOLVE))
    assert result.success
    bronze = _rows(lake_root, "bronze")
    assert set(bronze.column("warehouse_region").to_pylist()) == {"eu-west"}
    assert _rows(lake_root, "quarantine").num_rows == 0
    schema_check = next(e for e in result.get_asset_check_evaluations() if e.check_name == "schema_matches_contract")
    assert schema_check.passed and schema_check.metadata["evolved_columns"].value == ["warehouse_region"]


def test_new_column_quarantines_the_batch(bronze_resources, lake_root, drifted_tables):
    result = _run(bronze_resources, _contract("PRODUCTS_NEW_COLUMN", new_column=NewColumnPolicy.QUARANTINE))
    assert result.success
    assert _rows(lake_root, "bronze").num_rows == 0
    quarantine = _rows(lake_root, "quarantine")
    assert quarantine.num_rows > 0
    for reasons in quarantine.column("_error_reasons").to_pylist():
        assert any(r["rule_id"] == "new_column" and r["column"] == "warehouse_region" for r in reasons)
    lost = next(e for e in result.get_asset_check_evaluations() if e.check_name == "nothing_lost")
    assert lost.passed


def test_new_column_fails_naming_table_and_column(bronze_resources, lake_root, drifted_tables):
    result = _run(bronze_resources, _contract("PRODUCTS_NEW_COLUMN", new_column=NewColumnPolicy.FAIL))
    assert not result.success
    message = step_failure_message(result)
    assert "bronze.products" in message and "warehouse_region" in message
    assert not DeltaTable.is_deltatable(f"{lake_root}/bronze/products")


def test_dropped_nullable_column_is_filled_with_nulls(bronze_resources, lake_root, drifted_tables):
    contract = _contract("PRODUCTS_DROPPED_COLUMN", missing_column=MissingColumnPolicy.FILL_NULL)
    contract = dataclasses.replace(
        contract,
        columns=tuple(dataclasses.replace(c, nullable=True) if c.name == "brand" else c for c in contract.columns),
        rules=tuple(r for r in contract.rules if "brand" not in getattr(r, "columns", ())),
    )
    result = _run(bronze_resources, contract)
    assert result.success
    bronze = _rows(lake_root, "bronze")
    assert bronze.num_rows > 0 and bronze.column("brand").null_count == bronze.num_rows


def test_dropped_required_column_fails_naming_table_and_column(bronze_resources, lake_root, drifted_tables):
    result = _run(bronze_resources, _contract("PRODUCTS_DROPPED_COLUMN"))
    assert not result.success
    message = step_failure_message(result)
    assert "bronze.products" in message and "'brand'" in message


def test_changed_type_is_cast_and_unparsable_values_quarantined(bronze_resources, lake_root, drifted_tables):
    result = _run(bronze_resources, _contract("PRODUCTS_TEXT_PRICE", type_change=TypeChangePolicy.CAST_OR_QUARANTINE))
    assert result.success
    quarantine = _rows(lake_root, "quarantine")
    price_rejects = [
        row for row in quarantine.to_pylist() if any(r["column"] == "unit_price" for r in row["_error_reasons"])
    ]
    assert len(price_rejects) == 1 and '"UNIT_PRICE":"n/a"' in price_rejects[0]["_original_payload"]
    bronze = _rows(lake_root, "bronze")
    assert str(bronze.schema.field("unit_price").type) == "decimal128(12, 2)"
    assert bronze.column("unit_price").null_count == 0
    [materialization] = [
        m for m in result.asset_materializations_for_node("bronze_products") if m.asset_key.path[0] == "bronze"
    ]
    alignment = materialization.metadata["schema_alignment"].value
    assert alignment["type_changes"][0]["column"] == "unit_price"


def test_changed_type_fails_naming_table_and_column(bronze_resources, lake_root, drifted_tables):
    result = _run(bronze_resources, _contract("PRODUCTS_TEXT_PRICE", type_change=TypeChangePolicy.FAIL))
    assert not result.success
    message = step_failure_message(result)
    assert "bronze.products" in message and "'unit_price'" in message
