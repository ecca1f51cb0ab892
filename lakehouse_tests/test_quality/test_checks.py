"""The great_expectations check on real Delta tables: a small silver/products table written through the
Delta IO manager, validated by the table's real suite on the embedded engine, scoped to the run's days."""

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pytest

from lakehouse.contracts import load_contracts
from lakehouse.partitions import daily_partitions
from lakehouse.quality import (
    GREAT_EXPECTATIONS,
    Scope,
    Severity,
    build_quality_check,
    data_docs_written,
    derive_suite,
    load_suite,
    parse_expectations,
)
from lakehouse.settings import HOME_ENV_VAR
from lakehouse_tests.support import lake_resources

KEY = dg.AssetKey(["silver", "products"])
SCHEMA = (
    "product_id bigint, sku string, product_name string, category string, brand string, "
    "unit_price decimal(12,2), currency string, is_active boolean, updated_at timestamp_ntz, _run_date date"
)


def _row(product_id: int, day: date, price: str = "9.99", currency: str = "USD"):
    changed = datetime(day.year, day.month, day.day, 10, 0)
    return (
        product_id,
        f"SKU-{product_id:06d}",
        f"Product {product_id}",
        "toys",
        "Acme",
        Decimal(price),
        currency,
        True,
        changed,
        day,
    )


ROWS = {
    # a clean day
    date(2026, 1, 1): [_row(1, date(2026, 1, 1)), _row(2, date(2026, 1, 1)), _row(3, date(2026, 1, 1))],
    # a lower-case currency (contract regex) and a negative price (contract range)
    date(2026, 1, 2): [_row(1, date(2026, 1, 2), currency="usd"), _row(2, date(2026, 1, 2), price="-1.00")],
}


@dg.asset(key=KEY, partitions_def=daily_partitions(), required_resource_keys={"engine"})
def products(context: dg.AssetExecutionContext):
    day = context.partition_time_window.start.date()
    return context.resources.engine.spark_session.createDataFrame(ROWS[day], SCHEMA)


@pytest.fixture
def lake(engine, tmp_path, monkeypatch):
    monkeypatch.setenv(HOME_ENV_VAR, str(tmp_path / "home"))  # Data Docs go under $LAKEHOUSE_HOME/gx
    return lake_resources(engine, tmp_path / "lake")


@pytest.fixture(scope="module")
def contract():
    return load_contracts()["silver.products"]


def _evaluate(resources, check, day: str, instance=None) -> dg.AssetCheckEvaluation:
    result = dg.materialize(
        [products, check], resources=resources, partition_key=day, raise_on_error=False, instance=instance
    )
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.check_name == GREAT_EXPECTATIONS
    return evaluation


def _value(evaluation, key):
    return evaluation.metadata[key].value


def test_a_clean_partition_passes_with_counts_and_a_data_docs_page(lake, contract, tmp_path):
    suite = load_suite(contract)
    evaluation = _evaluate(lake, build_quality_check(suite), "2026-01-01")
    assert evaluation.passed, evaluation.description
    assert _value(evaluation, "expectations_evaluated") == len(suite.expectations) > 20
    assert _value(evaluation, "expectations_failed") == 0
    assert _value(evaluation, "rows_validated") == 3
    assert _value(evaluation, "scope") == "partitions [2026-01-01, 2026-01-02)"
    assert _value(evaluation, "unexpected_counts")["currency_format"] == 0
    page = Path(_value(evaluation, "data_docs_path"))
    assert page.is_relative_to(tmp_path / "home" / "gx" / "data_docs") and page.suffix == ".html"
    data_docs_written(timeout=60)  # the page follows the check's result (validation.py)
    assert "silver.products" in page.read_text(encoding="utf-8")
    assert _value(evaluation, "data_docs") == page.as_uri()


def test_an_error_expectation_failing_fails_the_check_with_error_severity_and_samples(lake, contract):
    check = build_quality_check(load_suite(contract))
    with dg.DagsterInstance.ephemeral() as instance:
        assert _evaluate(lake, check, "2026-01-01", instance).passed
        evaluation = _evaluate(lake, check, "2026-01-02", instance)
        assert not evaluation.passed
        assert evaluation.severity is dg.AssetCheckSeverity.ERROR
        assert _value(evaluation, "rows_validated") == 2  # only the run's day
        assert _value(evaluation, "expectations_failed") == 2
        assert {f["id"]: f["unexpected_count"] for f in _value(evaluation, "failed_expectations")} == {
            "currency_format": 1,
            "unit_price_not_negative": 1,
        }
        assert _value(evaluation, "failing_samples") == {
            "currency_format": ["usd"],
            "unit_price_not_negative": ["-1.00"],
        }
        results = _value(evaluation, "expectation_results")
        assert results["currency_format"]["type"] == "expect_column_values_to_match_regex"
        assert results["currency_format"]["unexpected_percent"] == 50.0
        assert "currency_format [ERROR, 1 unexpected]" in evaluation.description
        # the bad day does not leak into the clean one: validating day one again still passes
        assert _evaluate(lake, check, "2026-01-01", instance).passed


def test_only_warn_expectations_failing_gives_warn_severity(lake, contract):
    extra = parse_expectations(
        {
            "expectations_version": 1,
            "layer": "silver",
            "table": "products",
            "derived": {
                "currency_format": {"severity": "WARN"},
                "unit_price_not_negative": {"severity": "WARN"},
            },
        },
        contract=contract,
    )
    evaluation = _evaluate(lake, build_quality_check(derive_suite(contract, extra)), "2026-01-02")
    assert not evaluation.passed
    assert evaluation.severity is dg.AssetCheckSeverity.WARN
    assert [f["severity"] for f in _value(evaluation, "failed_expectations")] == ["WARN", "WARN"]


def test_mostly_is_a_threshold_kept_as_data(lake, contract):
    """Half the day's rows break the currency rule: mostly 0.5 passes, mostly 0.51 does not."""

    def suite(mostly: float):
        extra = parse_expectations(
            {
                "expectations_version": 1,
                "layer": "silver",
                "table": "products",
                "derived": {
                    "currency_format": {"mostly": mostly},
                    "unit_price_not_negative": {"mostly": mostly},
                },
            },
            contract=contract,
        )
        return derive_suite(contract, extra)

    with dg.DagsterInstance.ephemeral() as instance:
        assert _evaluate(lake, build_quality_check(suite(0.5)), "2026-01-02", instance).passed
        assert not _evaluate(lake, build_quality_check(suite(0.51)), "2026-01-02", instance).passed


def test_a_table_scoped_suite_validates_every_day(lake, contract):
    extra = parse_expectations(
        {"expectations_version": 1, "layer": "silver", "table": "products", "scope": "table"}
    )
    suite = derive_suite(contract, extra)
    assert suite.scope is Scope.TABLE
    check = build_quality_check(suite)
    with dg.DagsterInstance.ephemeral() as instance:
        first = _evaluate(lake, check, "2026-01-01", instance)
        second = _evaluate(lake, check, "2026-01-02", instance)
    assert first.passed and _value(first, "rows_validated") == 3
    assert not second.passed and _value(second, "rows_validated") == 5
    assert _value(second, "scope") == "whole table"
    assert Severity.ERROR.value in {f["severity"] for f in _value(second, "failed_expectations")}
