"""Blocking, through Dagster in one run of real assets: bronze/products from the local Snowflake, then
silver/products, then gold/dim_product. An ERROR expectation failing on silver/products stops dim_product
in that run; a WARN one does not."""

import dagster as dg
import pytest
from deltalake import DeltaTable

from lakehouse.bronze import bronze_assets
from lakehouse.contracts import load_contracts
from lakehouse.gold.definitions import gold_assets
from lakehouse.governance import PiiMasking
from lakehouse.quality import (
    GREAT_EXPECTATIONS,
    build_quality_check,
    derive_suite,
    great_expectations_checks,
    parse_expectations,
)
from lakehouse.resources import snowflake_resource
from lakehouse.silver import silver_assets
from lakehouse_tests.support import lake_resources

BRONZE, SILVER, GOLD = (
    dg.AssetKey(["bronze", "products"]),
    dg.AssetKey(["silver", "products"]),
    dg.AssetKey(["gold", "dim_product"]),
)
DAY = "2026-01-01"


def _only(assets, key):
    return next(a for a in assets if key in a.keys)


@pytest.fixture(scope="module")
def chain():
    """The three real assets and the real check of bronze/products."""
    assets = [_only(bronze_assets(), BRONZE), _only(silver_assets(), SILVER), _only(gold_assets(), GOLD)]
    [bronze_check] = [c for c in great_expectations_checks(assets) if c.check_key.asset_key == BRONZE]
    return [*assets, bronze_check]


def _silver_check(severity: str) -> dg.AssetChecksDefinition:
    """silver/products' suite plus one expectation every generated product breaks: no price under a cent."""
    contract = load_contracts()["silver.products"]
    extra = parse_expectations(
        {
            "expectations_version": 1,
            "layer": "silver",
            "table": "products",
            "expectations": [
                {
                    "id": "injected_price_below_a_cent",
                    "type": "expect_column_values_to_be_between",
                    "kwargs": {"column": "unit_price", "max_value": 0.01},
                    "severity": severity,
                    "description": "Injected failure.",
                }
            ],
        },
        contract=contract,
    )
    return build_quality_check(derive_suite(contract, extra))


def _run(chain, severity, local_services, engine, lake_root):
    resources = {
        **lake_resources(engine, lake_root),
        "snowflake": snowflake_resource(local_services),
        "pii": PiiMasking(salt="quality-test-salt", allow_development_salt=True),
    }
    return dg.materialize(
        [*chain, _silver_check(severity)], resources=resources, partition_key=DAY, raise_on_error=False
    )


def _evaluations(result) -> dict[str, dg.AssetCheckEvaluation]:
    return {
        e.asset_key.to_user_string(): e
        for e in result.get_asset_check_evaluations()
        if e.check_name == GREAT_EXPECTATIONS
    }


def _materialized(result) -> set[dg.AssetKey]:
    return {event.asset_key for event in result.get_asset_materialization_events()}


def test_an_error_failure_stops_the_downstream_asset_in_the_same_run(
    chain, local_services, generated_sources, engine, tmp_path
):
    lake_root = str(tmp_path / "lake")
    result = _run(chain, "ERROR", local_services, engine, lake_root)
    checks = _evaluations(result)
    assert checks["bronze/products"].passed  # the real suite passes on the generated data
    silver = checks["silver/products"]
    assert not silver.passed and silver.severity is dg.AssetCheckSeverity.ERROR
    assert [f["id"] for f in silver.metadata["failed_expectations"].value] == ["injected_price_below_a_cent"]
    assert silver.metadata["unexpected_counts"].value["injected_price_below_a_cent"] > 0
    assert {BRONZE, SILVER} <= _materialized(result)
    assert GOLD not in _materialized(result)
    assert not result.success
    assert not DeltaTable.is_deltatable(f"{lake_root}/gold/dim_product")


def test_a_warn_failure_does_not_stop_the_downstream_asset(
    chain, local_services, generated_sources, engine, tmp_path
):
    lake_root = str(tmp_path / "lake")
    result = _run(chain, "WARN", local_services, engine, lake_root)
    silver = _evaluations(result)["silver/products"]
    assert not silver.passed and silver.severity is dg.AssetCheckSeverity.WARN
    assert {BRONZE, SILVER, GOLD} <= _materialized(result)
    assert result.success
    assert DeltaTable(f"{lake_root}/gold/dim_product").to_pyarrow_table().num_rows > 1
