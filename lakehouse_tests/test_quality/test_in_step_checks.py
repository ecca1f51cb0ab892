"""A silver asset built with ``checked=True`` runs its table's Great Expectations check in its own step,
after its write: the result is recorded for the run's partition, a failed ERROR check fails the step, stops
the assets downstream and rejects the write, and ``great_expectations_checks`` builds no second check."""

from datetime import date, datetime
from decimal import Decimal

import dagster as dg
import pytest

from lakehouse.contracts import load_contracts
from lakehouse.governance import PiiMasking
from lakehouse.partitions import daily_partitions
from lakehouse.quality import GREAT_EXPECTATIONS, great_expectations_checks
from lakehouse.quality.validation import data_docs_written
from lakehouse.silver.assets import build_silver_products
from lakehouse_tests.support import lake_resources

PRODUCTS = (
    "product_id bigint, sku string, product_name string, category string, brand string, "
    "unit_price decimal(12,2), currency string, is_active boolean, updated_at timestamp_ntz, "
    "record_source string, record_table string, ingest_timestamp timestamp, _batch_id string, _run_date date"
)
SILVER = dg.AssetKey(["silver", "products"])


def _bronze_rows(spark, day: date, price: str):
    """Two products changed on ``day``, the first at ``price``, as bronze holds them."""
    rows = [
        (10, "SKU-10", "Mug", "kitchen", "Acme", Decimal(price), "EUR", True, datetime(day.year, day.month, day.day, 7)),
        (11, "SKU-11", "Pan", "kitchen", "Acme", Decimal("20.00"), "EUR", True, datetime(day.year, day.month, day.day, 8)),
    ]
    metadata = ("snowflake", "RETAIL.CATALOG.PRODUCTS", datetime(2026, 1, 3), "run", day)
    return spark.createDataFrame([(*row, *metadata) for row in rows], PRODUCTS)


def _bronze_asset(frame):
    """Stands for bronze/products: ``frame`` as its output."""

    @dg.asset(key=["bronze", "products"], partitions_def=daily_partitions(), group_name="bronze")
    def _products():
        return frame

    return _products


def _bronze(spark, day: date, price: str):
    return _bronze_asset(_bronze_rows(spark, day, price))


@dg.asset(key=["gold", "downstream"], partitions_def=daily_partitions(), deps=[SILVER])
def downstream() -> None:
    """Stands for what reads silver/products."""


@pytest.fixture(scope="module")
def checked_products():
    contracts = load_contracts()
    bronze = {name: c for name, c in contracts.items() if c.layer == "bronze"}
    return build_silver_products(contracts["silver.products"], bronze, checked=True)


def _run(spark, resources, checked_products, day: str, price: str, instance):
    bronze = _bronze(spark, date.fromisoformat(day), price)
    return dg.materialize(
        [bronze, checked_products, downstream],
        resources=resources,
        partition_key=day,
        instance=instance,
        raise_on_error=False,
    )


def _steps(result) -> dict[str, str]:
    kinds = ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED")
    return {e.step_key: e.event_type_value for e in result.all_events if e.event_type_value in kinds}


def test_the_check_runs_in_the_asset_s_step_and_blocks_like_a_separate_one(
    spark, engine, tmp_path, monkeypatch, checked_products
):
    monkeypatch.setenv("LAKEHOUSE_HOME", str(tmp_path / "home"))
    resources = {**lake_resources(engine, str(tmp_path / "lake")), "pii": PiiMasking(salt="s")}
    assert great_expectations_checks([checked_products]) == []  # it has its check already
    assert dg.AssetCheckKey(SILVER, GREAT_EXPECTATIONS) in checked_products.check_keys

    with dg.DagsterInstance.ephemeral() as instance:
        passing = _run(spark, resources, checked_products, "2026-01-01", "5.00", instance)
        assert passing.success
        [evaluation] = passing.get_asset_check_evaluations()
        assert evaluation.passed and evaluation.partition == "2026-01-01"
        assert evaluation.metadata["rows_validated"].value == 2
        assert _steps(passing) == {
            "bronze__products": "STEP_SUCCESS",
            "silver__products": "STEP_SUCCESS",  # no step of its own for the check
            "gold__downstream": "STEP_SUCCESS",
        }

        failing = _run(spark, resources, checked_products, "2026-01-02", "-1.00", instance)
        assert not failing.success
        [evaluation] = failing.get_asset_check_evaluations()
        assert not evaluation.passed and evaluation.severity is dg.AssetCheckSeverity.ERROR
        assert evaluation.partition == "2026-01-02"
        metadata = {k: v.value for k, v in evaluation.metadata.items()}
        assert metadata["unexpected_counts"]["unit_price_not_negative"] == 1
        assert metadata["failing_samples"] == {"unit_price_not_negative": ["-1.00"]}
        assert "rejected_version" in metadata  # the write it checked is rejected
        steps = _steps(failing)
        assert steps["silver__products"] == "STEP_FAILURE"
        assert steps.get("gold__downstream") != "STEP_SUCCESS"  # stopped by the blocking check

    days = resources["lake"].open(["silver", "products"]).to_pyarrow_table().column("_run_date").to_pylist()
    assert set(days) == {date(2026, 1, 1)}  # the rejected day is not readable
    data_docs_written(timeout=60)
    assert (tmp_path / "home" / "gx" / "data_docs" / "index.html").is_file()


def test_an_output_kept_in_memory_is_not_validated_and_blocks_nothing(spark, engine, tmp_path, checked_products):
    resources = {"engine": engine, "lake": lake_resources(engine, str(tmp_path / "lake"))["lake"],
                 "pii": PiiMasking(salt="s")}  # fmt: skip
    result = dg.materialize_to_memory(
        [_bronze(spark, date(2026, 1, 1), "-1.00"), checked_products], resources=resources, partition_key="2026-01-01"
    )
    assert result.success  # the failing price is not validated, so nothing blocks
    [evaluation] = result.get_asset_check_evaluations()
    assert not evaluation.passed and evaluation.severity is dg.AssetCheckSeverity.WARN
    assert "not written to the lake" in evaluation.description


def test_a_backfill_range_run_checks_its_whole_window_in_the_step(spark, engine, tmp_path, checked_products):
    """One run over two days (a single-run backfill): the check validates both days, as a separate check
    would, and records its result without a partition."""
    resources = {**lake_resources(engine, str(tmp_path / "lake")), "pii": PiiMasking(salt="s")}
    two_days = _bronze_asset(
        _bronze_rows(spark, date(2026, 1, 1), "5.00").unionByName(_bronze_rows(spark, date(2026, 1, 2), "5.00"))
    )
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [two_days, checked_products],
            resources=resources,
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": "2026-01-01",
                "dagster/asset_partition_range_end": "2026-01-02",
            },
        )
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.passed
    assert evaluation.metadata["rows_validated"].value == 4
    assert evaluation.metadata["scope"].value == "partitions [2026-01-01, 2026-01-03)"
