"""validate_frame on the embedded engine: GX evaluates the whole suite once without failing values, then
the failed expectations alone for up to five of them; the bronze uniqueness query tells redeliveries from
conflicting row images, with one run of its query; the Data Docs page of the validation shows the failing
values."""

import sys

import pytest
from great_expectations.constants import MAX_RESULT_RECORDS

from lakehouse.contracts import load_contracts
from lakehouse.quality import data_docs_written, gx_expectations, load_suite, validate_frame
from lakehouse.quality.suites import SAMPLE_SIZE
from lakehouse_tests.test_quality.order_rows import BRONZE_ORDERS, order_row


@pytest.fixture(scope="module")
def bronze_orders_suite():
    return load_suite(load_contracts()["bronze.orders"])


def _by_id(outcome):
    return {result.spec.id: result for result in outcome.results}


def test_redeliveries_pass_and_two_row_images_of_one_key_fail_with_their_rows(
    spark, bronze_orders_suite, tmp_path
):
    rows = [
        order_row(1),
        order_row(1),  # an exact redelivery: stays in bronze
        order_row(2, status="placed"),
        order_row(2, status="paid"),  # same (order_id, updated_at), another row image
        order_row(3),
    ]
    frame = spark.createDataFrame(rows, BRONZE_ORDERS)
    outcome = validate_frame(frame, bronze_orders_suite, "run-1", tmp_path)
    results = _by_id(outcome)
    assert outcome.rows == 5
    assert [r.spec.id for r in outcome.failed] == ["order_version_unique"]
    unique = results["order_version_unique"]
    assert unique.unexpected_count == 1  # one key, with two row images
    [row] = unique.sample
    assert (row["order_id"], row["row_images"]) == (2, 2)
    # passing expectations carry GX's counts and no failing values
    assert results["status_allowed"].unexpected_count == 0 and results["status_allowed"].sample == ()
    assert results["status_allowed"].unexpected_percent == 0.0


def test_failed_row_expectations_get_up_to_five_failing_values_on_their_data_docs_page(
    spark, bronze_orders_suite, tmp_path
):
    bad = [order_row(10 + i, status=f"lost-{i}", minute=i) for i in range(SAMPLE_SIZE + 2)]
    good = [order_row(100 + i, minute=i) for i in range(3)]
    outcome = validate_frame(
        spark.createDataFrame(bad + good, BRONZE_ORDERS), bronze_orders_suite, "run 2/2026-01-01", tmp_path
    )
    status = _by_id(outcome)["status_allowed"]
    assert not status.success and status.unexpected_count == SAMPLE_SIZE + 2
    assert len(status.sample) == SAMPLE_SIZE and set(status.sample) <= {f"lost-{i}" for i in range(7)}
    assert status.as_metadata()["unexpected_percent"] == pytest.approx(70.0)
    assert outcome.severity.value == "ERROR"
    page = outcome.data_docs_path
    assert page is not None and page.is_relative_to(tmp_path) and page.suffix == ".html"
    data_docs_written(timeout=60)
    html = page.read_text(encoding="utf-8")
    assert "bronze.orders" in html
    assert sum(f"lost-{i}" in html for i in range(7)) >= 1  # the page shows the failing values too


def test_a_passing_suite_writes_its_page_and_nothing_fails(spark, bronze_orders_suite, tmp_path):
    outcome = validate_frame(
        spark.createDataFrame([order_row(1), order_row(2)], BRONZE_ORDERS), bronze_orders_suite, "run-3", tmp_path
    )
    assert outcome.success and outcome.severity is None
    assert all(result.sample == () for result in outcome.results)
    data_docs_written(timeout=60)
    assert outcome.data_docs_path is not None and outcome.data_docs_path.exists()
    # a page per validation: the earlier runs' pages stay
    assert len(list((tmp_path / "validations").rglob("*.html"))) >= 1


def test_a_sql_expectation_runs_its_query_once_and_counts_again_only_past_what_gx_fetches(
    spark, bronze_orders_suite, tmp_path, monkeypatch
):
    """The bronze uniqueness query: its rows and its count come from one query (no ``count()``) unless
    it returns more rows than GX fetches (200); then the count is exact all the same."""
    frame_type = type(spark.range(1))
    counted = []  # count() calls made by the SQL expectation's metric (GX's uniqueness metrics make others)
    count = frame_type.count

    def counting(self):
        if sys._getframe(1).f_code.co_filename == gx_expectations.__file__:
            counted.append(self)
        return count(self)

    monkeypatch.setattr(frame_type, "count", counting)

    def conflicting(keys: int):
        rows = [order_row(i, status=s) for i in range(1, keys + 1) for s in ("placed", "paid")]
        frame = spark.createDataFrame(rows, BRONZE_ORDERS)
        return _by_id(validate_frame(frame, bronze_orders_suite, f"run-{keys}", tmp_path))["order_version_unique"]

    few = conflicting(3)
    assert (few.unexpected_count, len(few.sample), counted) == (3, 3, [])
    many = conflicting(MAX_RESULT_RECORDS + 5)
    assert not many.success and many.unexpected_count == MAX_RESULT_RECORDS + 5
    assert len(many.sample) == SAMPLE_SIZE and all(row["row_images"] == 2 for row in many.sample)
    assert len(counted) == 1


@pytest.mark.parametrize(
    ("core", "replacement", "kwargs"),
    [
        ("ExpectColumnValuesToBeUnique", "LakehouseColumnValuesToBeUnique", {"column": "k"}),
        ("ExpectCompoundColumnsToBeUnique", "LakehouseCompoundColumnsToBeUnique", {"column_list": ["k", "d"]}),
        (
            "ExpectCompoundColumnsToBeUnique",
            "LakehouseCompoundColumnsToBeUnique",
            {"column_list": ["k", "d"], "ignore_row_if": "any_value_is_missing", "mostly": 0.5},
        ),
    ],
)
def test_uniqueness_counted_by_a_group_by_reports_what_gx_s_window_reports(spark, core, replacement, kwargs):
    """Same success, counts, percentages and failing values as GX's core expectation, on duplicates,
    NULLs and unique rows alike."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    rows = [(1, "x"), (1, "x"), (1, "y"), (None, "x"), (None, "x"), (None, None), (None, None), (2, None), (2, "w")]
    frames = [rows, rows[2:3] + rows[8:], []]
    context = gx.get_context(mode="ephemeral")
    batches = context.data_sources.add_spark("unique").add_dataframe_asset("rows")
    definition = batches.add_batch_definition_whole_dataframe("all")
    for data in frames:
        batch = definition.get_batch(batch_parameters={"dataframe": spark.createDataFrame(data, "k bigint, d string")})
        expected = batch.validate(getattr(gxe, core)(**kwargs), result_format="BASIC")
        actual = batch.validate(getattr(gx_expectations, replacement)(**kwargs), result_format="BASIC")
        assert actual.success == expected.success and actual.exception_info == expected.exception_info
        values = "partial_unexpected_list"  # GX's own failing values, in no particular order
        assert {k: v for k, v in actual.result.items() if k != values} == {
            k: v for k, v in expected.result.items() if k != values
        }
        assert sorted(map(str, actual.result[values])) == sorted(map(str, expected.result[values]))
    assert expected.result["element_count"] == 0  # the last frame is empty


MAP_EXPECTATIONS = [
    ("expect_column_values_to_not_be_null", {"column": "k"}),
    ("expect_column_values_to_be_between", {"column": "k", "min_value": 0, "max_value": 1}),
    ("expect_column_values_to_match_regex", {"column": "d", "regex": "^x$"}),
    ("expect_column_values_to_be_in_set", {"column": "d", "value_set": ["x"]}),
    ("expect_column_values_to_not_be_in_set", {"column": "d", "value_set": ["y"]}),
    ("expect_column_pair_values_a_to_be_greater_than_b", {"column_A": "n", "column_B": "k"}),
    ("expect_column_values_to_be_unique", {"column": "k"}),
    ("expect_compound_columns_to_be_unique", {"column_list": ["k", "d"]}),
]


@pytest.mark.parametrize(("type_name", "kwargs"), MAP_EXPECTATIONS)
def test_map_expectations_skip_the_values_query_only_when_no_values_are_wanted(
    spark, monkeypatch, type_name, kwargs
):
    """Against GX's core expectation: same success, counts and percentages with no failing values asked for
    (the lakehouse's first pass), passing thanks to ``mostly`` or failing, and the same failing values when
    five are asked for (its second pass); only the first makes no values query."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    frame_type = type(spark.range(1))
    values_queries = []
    collect = frame_type.collect

    def counting(self):
        if sys._getframe(1).f_code.co_name.endswith("_map_condition_values"):
            values_queries.append(self)
        return collect(self)

    monkeypatch.setattr(frame_type, "collect", counting)
    rows = [(1, "x", 2), (1, "x", 0), (1, "y", 0), (2, "x", 3), (None, "z", 1), (3, None, 4), (5, "x", 6)]
    frame = spark.createDataFrame(rows, "k bigint, d string, n bigint")
    definition = (
        gx.get_context(mode="ephemeral")
        .data_sources.add_spark("map")
        .add_dataframe_asset("rows")
        .add_batch_definition_whole_dataframe("all")
    )
    batch = definition.get_batch(batch_parameters={"dataframe": frame})
    core = getattr(gxe, "".join(part.capitalize() for part in type_name.split("_")))
    replacement = gx_expectations.REPLACED[type_name]
    for mostly, wanted in [(1.0, 0), (0.1, 0), (1.0, SAMPLE_SIZE)]:
        result_format = {"result_format": "BASIC", "partial_unexpected_count": wanted}
        expected = batch.validate(core(**kwargs, mostly=mostly), result_format=dict(result_format))
        values_queries.clear()
        actual = batch.validate(replacement(**kwargs, mostly=mostly), result_format=dict(result_format))
        assert actual.success == expected.success and expected.exception_info == actual.exception_info
        assert expected.result["unexpected_count"] > 0  # every one of them finds something to report
        values = "partial_unexpected_list"  # GX's own failing values, in no particular order
        assert {k: v for k, v in actual.result.items() if k != values} == {
            k: v for k, v in expected.result.items() if k != values
        }
        assert sorted(map(str, actual.result[values])) == sorted(map(str, expected.result[values]))
        assert len(values_queries) == (1 if wanted else 0)
        if mostly < 1:
            assert actual.success  # a passing expectation still reports its unexpected count


def test_inside_a_validation_each_expectation_builds_its_configuration_once(
    spark, bronze_orders_suite, tmp_path, monkeypatch
):
    """GX rebuilds ``Expectation.configuration`` on every read (tens of reads per expectation and
    validation); validate_frame builds it once per expectation object and drops what it kept afterwards."""
    from great_expectations.expectations.expectation import Expectation

    builds = []  # the objects themselves: kept alive, no two share an id()
    build = Expectation.configuration.fget

    def counting(self):
        inside = getattr(gx_expectations._validation, "configurations", None) is not None
        if inside and type(self) in gx_expectations.REPLACED.values():
            builds.append(self)
        return build(self)

    monkeypatch.setattr(Expectation, "configuration", property(counting))
    bad = [order_row(10 + i, status=f"lost-{i}") for i in range(3)]  # a second pass for failing values too
    frame = spark.createDataFrame(bad + [order_row(1)], BRONZE_ORDERS)
    outcome = validate_frame(frame, bronze_orders_suite, "once", tmp_path)
    assert not outcome.success and builds
    assert len(builds) == len({id(built) for built in builds})  # once per object
    assert getattr(gx_expectations._validation, "configurations", None) is None  # nothing kept after it

    spec = bronze_orders_suite.expectations[0]
    expectation = gx_expectations.REPLACED[spec.type](**spec.gx_kwargs)
    assert expectation.configuration is not expectation.configuration  # outside a validation: GX's own
    with gx_expectations.configurations_built_once():
        assert expectation.configuration is expectation.configuration
        assert expectation.configuration == type(expectation)(**spec.gx_kwargs).configuration


def test_configurations_built_once_change_no_result(spark, bronze_orders_suite, tmp_path, monkeypatch):
    """The same outcome, failing values included, with GX rebuilding every configuration on every read."""
    from contextlib import nullcontext

    rows = [order_row(10 + i, status=f"lost-{i}", minute=i) for i in range(SAMPLE_SIZE + 2)]
    rows += [order_row(2, status="placed"), order_row(2, status="paid"), order_row(3, currency="usd")]
    frame = spark.createDataFrame(rows, BRONZE_ORDERS)

    def summary(outcome):
        return sorted(
            (r.spec.id, r.success, r.unexpected_count, r.unexpected_percent, sorted(map(str, r.sample)), r.error)
            for r in outcome.results
        )

    once = summary(validate_frame(frame, bronze_orders_suite, "once", tmp_path))
    monkeypatch.setattr(gx_expectations, "configurations_built_once", nullcontext)
    assert once == summary(validate_frame(frame, bronze_orders_suite, "every-read", tmp_path))
    assert sum(not success for _, success, *_ in once) >= 2


def test_data_docs_on_an_object_store_are_published_there(spark, bronze_orders_suite, s3_env):
    """A cluster's steps run in short-lived processes: the site is published to S3, where the lake is."""
    from pyarrow import fs as pafs

    from lakehouse.lake.storage import filesystem
    from lakehouse_tests.fixtures.s3 import BUCKET

    location = f"s3://{BUCKET}/data-docs-test"
    bad = [order_row(10, status="lost")]
    outcome = validate_frame(spark.createDataFrame(bad, BRONZE_ORDERS), bronze_orders_suite, "s3-run", location)
    assert outcome.data_docs_uri is not None and outcome.data_docs_uri.startswith(f"{location}/validations/")
    assert outcome.data_docs_path is None
    data_docs_written(timeout=60)
    store, base = filesystem(location)
    with store.open_input_stream(outcome.data_docs_uri.split("://", 1)[1]) as page:
        html = page.read().decode("utf-8")
    assert "bronze.orders" in html and "lost" in html
    published = {info.path.removeprefix(base + "/") for info in store.get_file_info(pafs.FileSelector(base, recursive=True))}
    assert "index.html" in published and any(path.startswith("static/") for path in published)


def test_data_docs_go_beside_a_lake_on_an_object_store_unless_configured(monkeypatch, tmp_path):
    from lakehouse.settings import DATA_DOCS_ENV_VAR, HOME_ENV_VAR, LAKE_ROOT_ENV_VAR, data_docs_location

    monkeypatch.delenv(DATA_DOCS_ENV_VAR, raising=False)
    monkeypatch.setenv(HOME_ENV_VAR, str(tmp_path))
    monkeypatch.delenv(LAKE_ROOT_ENV_VAR, raising=False)
    assert data_docs_location() == str(tmp_path / "gx" / "data_docs")
    monkeypatch.setenv(LAKE_ROOT_ENV_VAR, "s3://acme-lake/prod")
    assert data_docs_location() == "s3://acme-lake/prod/_data_docs"
    monkeypatch.setenv(DATA_DOCS_ENV_VAR, "s3://acme-docs/quality/")
    assert data_docs_location() == "s3://acme-docs/quality"
