"""The bronze contract checks on a partition written to a real Delta table."""

from datetime import date, datetime

from lakehouse.bronze.checks import PRIMARY_KEY_UNIQUE, REQUIRED_COLUMNS_NOT_NULL, contract_check_results
from lakehouse.partitions import DayWindow
from lakehouse_tests.test_contracts.builders import column, make_contract

T0 = datetime(2026, 1, 1, 12, 0, 0)
LATER = datetime(2026, 1, 1, 18, 0, 0)
DAY = DayWindow.of_day(date(2026, 1, 1))

CONTRACT = make_contract(
    [
        column("id", "bigint", nullable=False),
        column("updated_at", "timestamp_ntz", nullable=False),
        column("city", "string"),
    ],
    [{"id": "version_unique", "kind": "unique", "columns": ["id", "updated_at"], "message": "conflicting versions"}],
    change_column="updated_at",
)


def _results(spark, tmp_path, rows):
    uri = str(tmp_path / "things")
    frame = spark.createDataFrame(
        [(*row, date(2026, 1, 1)) for row in rows], "id bigint, updated_at timestamp_ntz, city string, _run_date date"
    )
    frame.write.format("delta").partitionBy("_run_date").save(uri)
    return {result.check_name: result for result in contract_check_results(spark, CONTRACT, uri, DAY)}


def test_exact_copies_pass_and_are_counted_conflicting_versions_fail(spark, tmp_path):
    results = _results(
        spark,
        tmp_path,
        [
            (1, T0, "Paris"),
            (1, T0, "Paris"),  # exact redelivery
            (1, T0, "Paris"),  # and another
            (1, LATER, "Lyon"),  # a later version of the same id: a different key
            (2, T0, "Rome"),
            (2, T0, "Milan"),  # same key, different content: a conflict
            (3, T0, None),
            (None, T0, "Oslo"),
            (None, T0, "Bergen"),  # NULL keys are never compared
        ],
    )
    unique = results[PRIMARY_KEY_UNIQUE]
    assert not unique.passed
    assert unique.metadata["conflicting_keys"].value == {"version_unique": 1}
    assert unique.metadata["exact_duplicate_rows"].value == 2
    assert unique.metadata["rows"].value == 9
    not_null = results[REQUIRED_COLUMNS_NOT_NULL]
    assert not not_null.passed
    assert not_null.metadata["null_counts"].value == {"id": 2, "updated_at": 0}


def test_distinct_keys_pass(spark, tmp_path):
    results = _results(spark, tmp_path, [(1, T0, "Paris"), (1, LATER, "Paris"), (2, T0, "Rome")])
    unique = results[PRIMARY_KEY_UNIQUE]
    assert unique.passed
    assert unique.metadata["conflicting_keys"].value == {"version_unique": 0}
    assert unique.metadata["exact_duplicate_rows"].value == 0
    assert results[REQUIRED_COLUMNS_NOT_NULL].passed


def test_rows_differing_only_in_where_a_null_is_are_different_images(spark, tmp_path):
    """The row image hashes each value with its NULL flag: Spark's hash skips NULLs, so without the flags
    ("Paris", NULL) and (NULL, "Paris") would be one image and the conflict would pass."""
    contract = make_contract(
        [
            column("id", "bigint", nullable=False),
            column("updated_at", "timestamp_ntz", nullable=False),
            column("city", "string"),
            column("region", "string"),
        ],
        [{"id": "version_unique", "kind": "unique", "columns": ["id", "updated_at"], "message": "conflict"}],
        change_column="updated_at",
    )
    uri = str(tmp_path / "places")
    rows = [(1, T0, "Paris", None, date(2026, 1, 1)), (1, T0, None, "Paris", date(2026, 1, 1))]
    schema = "id bigint, updated_at timestamp_ntz, city string, region string, _run_date date"
    spark.createDataFrame(rows, schema).write.format("delta").partitionBy("_run_date").save(uri)
    results = {result.check_name: result for result in contract_check_results(spark, contract, uri, DAY)}
    unique = results[PRIMARY_KEY_UNIQUE]
    assert not unique.passed
    assert unique.metadata["conflicting_keys"].value == {"version_unique": 1}
    assert unique.metadata["exact_duplicate_rows"].value == 0
