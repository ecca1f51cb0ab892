"""The first pass in one aggregate query (``lakehouse.quality.aggregate``): the same results as GX's own
validation of the suite, on passing, failing, empty and drifted batches; one aggregate query plus one per
uniqueness or SQL expectation, however many column expectations the suite has; failures still get their
counts and failing values; the Data Docs page follows in the background, where the check said it would be."""

import re
from datetime import datetime
from decimal import Decimal

import pytest

from lakehouse.contracts import load_contracts
from lakehouse.quality import data_docs_written, load_suite, validate_frame
from lakehouse.quality.suites import SAMPLE_SIZE
from lakehouse.quality.validation import FIRST_PASS, _context_for
from lakehouse_tests.test_quality.order_rows import BRONZE_ORDERS, DAY, order_row

SILVER_PRODUCTS = (
    "product_id bigint, sku string, product_name string, category string, brand string, "
    "unit_price decimal(12,2), currency string, is_active boolean, updated_at timestamp_ntz, _run_date date"
)


def _product(product_id, price="9.99", currency="USD", sku="SKU"):
    return (
        product_id,
        sku,
        "name",
        "toys",
        "acme",
        None if price is None else Decimal(price),
        currency,
        True,
        datetime(2026, 1, 1, 8, 0),
        DAY,
    )


def _gx_and_aggregate(frame, suite, docs):
    """The suite's first pass on ``frame`` by GX's own validation and by the aggregate pass."""
    from great_expectations.core.run_identifier import RunIdentifier

    from lakehouse.quality.gx_expectations import configurations_built_once

    gx = _context_for(str(docs))
    objects = gx.objects(suite)
    run_id = RunIdentifier(run_name="compare")
    with configurations_built_once():
        expected = objects.definition.run(
            batch_parameters={"dataframe": frame}, result_format=dict(FIRST_PASS), run_id=run_id
        )
        actual = gx.first_pass(suite, objects, frame, run_id)
    return expected.to_json_dict(), actual.to_json_dict()


def _comparable(result):
    """A result without what differs between two validations of the same batch: the batch's load time,
    and an error's traceback (its stack, not its message)."""
    if isinstance(result, dict):
        return {k: _comparable(v) for k, v in result.items() if k not in ("batch_markers", "exception_traceback")}
    if isinstance(result, list):
        return [_comparable(v) for v in result]
    return result


ORDERS_FRAMES = {
    "passing": lambda: [order_row(1), order_row(1), order_row(2), order_row(3, status="paid")],
    "failing": lambda: [
        order_row(1, status="lost"),
        order_row(2, currency="usd"),
        order_row(3, status="placed"),
        order_row(3, status="paid"),  # two row images of one key: the SQL expectation
        order_row(4, currency=None),
    ],
    "empty": lambda: [],
}


@pytest.mark.parametrize("frame", sorted(ORDERS_FRAMES))
def test_the_aggregate_pass_gives_gx_s_results_for_bronze_orders(spark, tmp_path, frame):
    """Column maps, a column pair, a SQL expectation, types, the column set and the row count."""
    suite = load_suite(load_contracts()["bronze.orders"])
    data = spark.createDataFrame(ORDERS_FRAMES[frame](), BRONZE_ORDERS)
    expected, actual = _gx_and_aggregate(data, suite, tmp_path)
    assert _comparable(actual) == _comparable(expected)
    if frame != "empty":  # an empty day fails the row count expectation
        assert expected["success"] is (frame == "passing")


PRODUCTS_FRAMES = {
    "passing": lambda: [_product(1), _product(2)],
    "failing": lambda: [
        _product(1),
        _product(1, price="-1.00"),  # a duplicated key per day, and a negative price
        _product(2, currency="usd"),
        _product(3, price=None),
        _product(None),
    ],
}


@pytest.mark.parametrize("frame", sorted(PRODUCTS_FRAMES))
def test_the_aggregate_pass_gives_gx_s_results_for_silver_products(spark, tmp_path, frame):
    """Compound uniqueness (NULLs, ``ignore_row_if``), WARN expectations, between on decimals."""
    suite = load_suite(load_contracts()["silver.products"])
    data = spark.createDataFrame(PRODUCTS_FRAMES[frame](), SILVER_PRODUCTS)
    expected, actual = _gx_and_aggregate(data, suite, tmp_path)
    assert _comparable(actual) == _comparable(expected)
    assert expected["success"] is (frame == "passing")


def test_expectations_on_a_missing_column_are_left_to_gx_and_report_what_gx_reports(spark, tmp_path):
    suite = load_suite(load_contracts()["silver.products"])
    data = spark.createDataFrame([_product(1), _product(2)], SILVER_PRODUCTS).drop("currency")
    expected, actual = _gx_and_aggregate(data, suite, tmp_path)
    assert _comparable(actual) == _comparable(expected)
    failed = {r["expectation_config"]["meta"]["id"] for r in actual["results"] if not r["success"]}
    assert failed == {"table_columns", "currency_type", "currency_format", "currency_not_null"}


def _collects(spark, monkeypatch) -> list:
    """Every ``collect()`` of a DataFrame from now on, from any thread: one per query a validation runs
    (GX's metrics and the lakehouse's alike collect their answers)."""
    frame_type = type(spark.range(1))
    collected = []
    collect = frame_type.collect

    def counting(self):
        collected.append(self)
        return collect(self)

    monkeypatch.setattr(frame_type, "collect", counting)
    return collected


def test_a_passing_suite_costs_one_aggregate_query_and_one_per_uniqueness_or_sql_expectation(
    spark, tmp_path, monkeypatch
):
    products = load_suite(load_contracts()["silver.products"])  # 23 expectations, one compound unique
    orders = load_suite(load_contracts()["bronze.orders"])  # 26 expectations, one SQL
    products_frame = spark.createDataFrame([_product(1), _product(2)], SILVER_PRODUCTS)
    orders_frame = spark.createDataFrame([order_row(1), order_row(2)], BRONZE_ORDERS)
    for suite, frame in ((products, products_frame), (orders, orders_frame)):
        validate_frame(frame, suite, "warm", tmp_path)  # the suite's objects and plan, once per process
    collected = _collects(spark, monkeypatch)
    assert validate_frame(products_frame, products, "counted", tmp_path).success
    assert len(collected) == 2  # the aggregate, the group-by of the key
    collected.clear()
    assert validate_frame(orders_frame, orders, "counted", tmp_path).success
    assert len(collected) == 2  # the aggregate, the SQL expectation's query


def test_a_failing_suite_still_gets_its_counts_and_failing_values(spark, tmp_path):
    suite = load_suite(load_contracts()["silver.products"])
    rows = [_product(1), _product(1, price="-1.00"), _product(2, currency="usd"), _product(3, price=None)]
    rows += [_product(10 + i, currency=f"x{i}") for i in range(SAMPLE_SIZE + 1)]
    outcome = validate_frame(spark.createDataFrame(rows, SILVER_PRODUCTS), suite, "failing", tmp_path)
    results = {r.spec.id: r for r in outcome.results}
    assert outcome.severity.value == "ERROR"
    assert {r.spec.id for r in outcome.failed} == {
        "product_unique_per_day",
        "unit_price_not_negative",
        "currency_format",
        "unit_price_not_null",
    }
    assert results["product_unique_per_day"].unexpected_count == 2
    assert results["unit_price_not_negative"].sample == ("-1.00",)
    assert results["currency_format"].unexpected_count == SAMPLE_SIZE + 2
    assert len(results["currency_format"].sample) == SAMPLE_SIZE
    assert set(results["currency_format"].sample) <= {"usd", *(f"x{i}" for i in range(SAMPLE_SIZE + 1))}
    assert results["unit_price_not_null"].unexpected_count == 1
    assert results["currency_not_null"].success and results["currency_not_null"].unexpected_count == 0


def test_the_page_is_written_after_the_result_where_the_result_says(spark, tmp_path):
    """The page's address is known before it is rendered: GX writes it there."""
    from great_expectations.core.run_identifier import RunIdentifier

    suite = load_suite(load_contracts()["silver.products"])
    frame = spark.createDataFrame([_product(1, price="-1.00")], SILVER_PRODUCTS)
    outcome = validate_frame(frame, suite, "in the background", tmp_path)
    data_docs_written(timeout=60)
    page = outcome.data_docs_path
    assert page is not None and page.is_file() and page.is_relative_to(tmp_path / "validations")
    text = " ".join(re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8")).split())
    assert "Expectation Suite: silver.products" in text
    assert "Sampled Unexpected Values -1.0" in text  # its failing value, from the second pass
    assert (tmp_path / "index.html").is_file()
    assert (tmp_path / "expectations" / "silver" / "products.html").is_file()

    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    identifier = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite.name),
        run_id=RunIdentifier(run_name="any-run"),
        batch_identifier="lakehouse-silver.products",
    )
    gx = _context_for(str(tmp_path))
    [site] = gx.context.get_docs_sites_urls(resource_identifier=identifier, only_if_exists=False)
    assert site["site_url"] == gx.page_path(identifier).as_uri()
