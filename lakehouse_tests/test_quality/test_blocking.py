"""Blocking, through Dagster in one run of real assets: bronze/products from the local Snowflake, then
silver/products, then gold/dim_product. An ERROR expectation failing on silver/products stops dim_product
in that run; a WARN one does not."""

import dagster as dg
import pytest
from deltalake import DeltaTable

from lakehouse.quality import GREAT_EXPECTATIONS
from lakehouse_tests.test_quality.support import BRONZE, GOLD, SILVER, blocking_chain, materialized, run_chain


@pytest.fixture(scope="module")
def chain():
    """The three real assets and the real check of bronze/products."""
    return blocking_chain()


def _evaluations(result) -> dict[str, dg.AssetCheckEvaluation]:
    return {
        e.asset_key.to_user_string(): e
        for e in result.get_asset_check_evaluations()
        if e.check_name == GREAT_EXPECTATIONS
    }


def test_an_error_failure_stops_the_downstream_asset_in_the_same_run(
    chain, local_services, generated_sources, engine, tmp_path
):
    lake_root = str(tmp_path / "lake")
    result = run_chain(chain, "ERROR", local_services, engine, lake_root)
    checks = _evaluations(result)
    assert checks["bronze/products"].passed  # the real suite passes on the generated data
    silver = checks["silver/products"]
    assert not silver.passed and silver.severity is dg.AssetCheckSeverity.ERROR
    assert [f["id"] for f in silver.metadata["failed_expectations"].value] == ["injected_price_below_a_cent"]
    assert silver.metadata["unexpected_counts"].value["injected_price_below_a_cent"] > 0
    assert {BRONZE, SILVER} <= materialized(result)
    assert GOLD not in materialized(result)
    assert not result.success
    assert not DeltaTable.is_deltatable(f"{lake_root}/gold/dim_product")


def test_a_warn_failure_does_not_stop_the_downstream_asset(
    chain, local_services, generated_sources, engine, tmp_path
):
    lake_root = str(tmp_path / "lake")
    result = run_chain(chain, "WARN", local_services, engine, lake_root)
    silver = _evaluations(result)["silver/products"]
    assert not silver.passed and silver.severity is dg.AssetCheckSeverity.WARN
    assert {BRONZE, SILVER, GOLD} <= materialized(result)
    assert result.success
    assert DeltaTable(f"{lake_root}/gold/dim_product").to_pyarrow_table().num_rows > 1
