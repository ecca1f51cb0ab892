"""Blocking, through Dagster in one run of real assets: bronze/products from the local Snowflake, then
silver/products, then gold/dim_product. An ERROR expectation failing on silver/products stops dim_product
in that run and rejects silver/products' write (the table is back to its previous content, the rejected
rows readable at the write's version); a WARN one does neither."""

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
    # the first write of silver/products is rejected: the table is empty, the rows kept at its version
    rejected = _written_version(result, SILVER)
    assert silver.metadata["rejected"].value is True
    assert silver.metadata["rejected_version"].value == rejected
    assert silver.metadata["restored_to_version"].value == "none: the table was empty"
    assert DeltaTable(f"{lake_root}/silver/products").to_pyarrow_table().num_rows == 0
    kept = DeltaTable(f"{lake_root}/silver/products", version=rejected).to_pyarrow_table().num_rows
    assert kept == silver.metadata["rows_rejected"].value > 0


def test_an_error_failure_puts_back_the_previous_content(
    chain, local_services, generated_sources, engine, tmp_path
):
    lake_root = str(tmp_path / "lake")
    silver_uri = f"{lake_root}/silver/products"
    run_chain(chain, "WARN", local_services, engine, lake_root)
    previous = DeltaTable(silver_uri)
    previous_files, previous_rows = set(previous.file_uris()), previous.to_pyarrow_table().num_rows

    result = run_chain(chain, "ERROR", local_services, engine, lake_root)

    silver = _evaluations(result)["silver/products"]
    rejected = _written_version(result, SILVER)
    assert rejected > previous.version()
    assert silver.metadata["restored_to_version"].value == previous.version()
    assert silver.metadata["reject_commit_version"].value == rejected + 1
    assert f"version={rejected}" in silver.metadata["rejected_data"].value
    assert "Rejected:" in silver.description
    now = DeltaTable(silver_uri)
    assert set(now.file_uris()) == previous_files and now.to_pyarrow_table().num_rows == previous_rows
    assert now.history(1)[0]["lakehouse.operation"] == "reject"
    assert set(DeltaTable(silver_uri, version=rejected).file_uris()).isdisjoint(previous_files)


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
    assert "rejected" not in silver.metadata
    assert DeltaTable(f"{lake_root}/silver/products").version() == _written_version(result, SILVER)


def _written_version(result, key: dg.AssetKey) -> int:
    [written] = [
        e.materialization.metadata["delta_version"].value
        for e in result.get_asset_materialization_events()
        if e.asset_key == key
    ]
    return written
