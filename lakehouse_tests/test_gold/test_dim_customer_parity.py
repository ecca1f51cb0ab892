"""The dimensions' pure logic gives identical rows on embedded Sail and on classic Apache Spark (the
cluster path): SCD2 versions and the MERGE source, surrogate keys and row hashes included, dim_product
rows and the calendar. The MERGE itself is not compared: classic Spark has no Delta jars here.

Run as ``python -m lakehouse_tests.test_gold.test_dim_customer_parity <mode>`` it prints the rows of one
engine as JSON (a process that opened a Spark Connect session cannot also open a classic one).
"""

import json
import os
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal

import pytest
from pyspark.sql import DataFrame, SparkSession

from lakehouse.gold import scd2
from lakehouse.gold.calendar import calendar
from lakehouse.gold.products import product_rows

BASE = ("e1", "DE", "Berlin", "consumer", "none", "f1", "l1", "p1")
SILVER_SCHEMA = ", ".join(f"`{name}` {type_}" for name, type_ in scd2.SILVER_CUSTOMER_COLUMNS)
PRODUCTS_SCHEMA = (
    "product_id bigint, sku string, product_name string, category string, brand string, "
    "unit_price decimal(12,2), currency string, is_active boolean, updated_at timestamp_ntz, _run_date date"
)


def _row(
    customer_id: int, updated_at: str, changes: dict[int, str] | None = None, deleted: bool = False
) -> tuple:
    values = list(BASE)
    for index, value in (changes or {}).items():
        values[index] = value
    at = datetime.fromisoformat(updated_at)
    return (customer_id, *values, at, deleted, at.date())


ON_TIME = [
    _row(1, "2026-01-01 10:00:00"),  # new, then a tracked change, then an untracked one
    _row(1, "2026-01-02 10:00:00", {3: "enterprise"}),
    _row(1, "2026-01-04 10:00:00", {3: "enterprise", 7: "p2"}),
    _row(2, "2026-01-01 11:00:00"),  # deleted, then back
    _row(2, "2026-01-02 11:00:00", deleted=True),
    _row(2, "2026-01-03 11:00:00", {4: "gold"}),
    _row(3, "2026-01-02 12:00:00", {1: "FR", 2: "Paris"}, deleted=True),  # first seen deleted
    _row(4, "2026-01-01 13:00:00"),  # nothing changes
    _row(4, "2026-01-03 13:00:00"),
]
LATE = [
    _row(1, "2026-01-03 09:00:00", {3: "small_business"}),  # splits 1's second version
    _row(4, "2025-12-31 13:00:00"),  # moves 4's start earlier: a new key, the old one deleted
]


def _texts(frame: DataFrame, order: list[str]) -> list[list[str]]:
    return [[str(value) for value in row] for row in frame.orderBy(*order).collect()]


def parity_rows(spark: SparkSession) -> dict[str, list[list[str]]]:
    existing = scd2.customer_versions(spark.createDataFrame(ON_TIME, SILVER_SCHEMA))
    desired = scd2.customer_versions(spark.createDataFrame(ON_TIME + LATE, SILVER_SCHEMA)).unionByName(
        scd2.unknown_customer(spark)
    )
    # The MERGE source from the versions as local data: classic Spark would plan both histories again.
    dim_schema = ", ".join(f"`{name}` {type_}" for name, type_ in scd2.DIM_CUSTOMER_COLUMNS)
    desired_rows, existing_rows = desired.collect(), existing.collect()
    changes = scd2.customer_changes(
        spark.createDataFrame(desired_rows, dim_schema), spark.createDataFrame(existing_rows, dim_schema)
    )
    products = spark.createDataFrame(
        [
            (
                1,
                "SKU-1",
                "Mug",
                "kitchen",
                "Acme",
                Decimal("9.99"),
                "EUR",
                True,
                datetime(2026, 1, 1, 8),
                date(2026, 1, 1),
            ),
            (
                1,
                "SKU-1",
                "Mug",
                "kitchen",
                "Acme",
                Decimal("12.50"),
                "EUR",
                False,
                datetime(2026, 1, 2, 8),
                date(2026, 1, 2),
            ),
            (
                2,
                "SKU-2",
                "Pan",
                "kitchen",
                "Acme",
                Decimal("30.00"),
                "USD",
                True,
                datetime(2026, 1, 1, 9),
                date(2026, 1, 1),
            ),
        ],
        PRODUCTS_SCHEMA,
    )
    return {
        "versions": sorted(
            ([str(value) for value in row] for row in desired_rows), key=lambda r: (int(r[1]), r[11])
        ),
        "changes": _texts(changes, ["customer_key"]),
        "products": _texts(product_rows(products), ["product_id"]),
        "calendar": _texts(calendar(spark, date(2025, 12, 25), date(2027, 1, 10)), ["date_key"]),
    }


@pytest.fixture(scope="module")
def embedded_rows(spark) -> dict[str, list[list[str]]]:
    return parity_rows(spark)


def test_embedded_sail_rows_are_right(embedded_rows):
    """Checked on its own, so that parity never compares two wrong answers."""
    versions = [(r[1], r[5], r[11], r[12], r[13], r[14]) for r in embedded_rows["versions"]]
    assert versions == [
        ("-1", "unknown", "1900-01-01 00:00:00", "9999-12-31 00:00:00", "True", "False"),
        ("1", "consumer", "2026-01-01 10:00:00", "2026-01-02 10:00:00", "False", "False"),
        ("1", "enterprise", "2026-01-02 10:00:00", "2026-01-03 09:00:00", "False", "False"),
        ("1", "small_business", "2026-01-03 09:00:00", "2026-01-04 10:00:00", "False", "False"),
        ("1", "enterprise", "2026-01-04 10:00:00", "9999-12-31 00:00:00", "True", "False"),
        ("2", "consumer", "2026-01-01 11:00:00", "2026-01-02 11:00:00", "False", "True"),
        ("2", "consumer", "2026-01-03 11:00:00", "9999-12-31 00:00:00", "True", "False"),
        ("3", "consumer", "2026-01-02 12:00:00", "2026-01-02 12:00:00", "True", "True"),
        ("4", "consumer", "2025-12-31 13:00:00", "9999-12-31 00:00:00", "True", "False"),
    ]
    changes = sorted((r[1], r[11], r[-1]) for r in embedded_rows["changes"])
    assert changes == [
        ("-1", "1900-01-01 00:00:00", "insert"),
        ("1", "2026-01-02 10:00:00", "update"),  # closed earlier, at the late change
        ("1", "2026-01-03 09:00:00", "insert"),
        ("1", "2026-01-04 10:00:00", "insert"),  # 1's last version reopens after the late one
        ("4", "2025-12-31 13:00:00", "insert"),
        ("4", "2026-01-01 13:00:00", "delete"),
    ]
    assert [(r[1], r[6]) for r in embedded_rows["products"]] == [("1", "12.50"), ("2", "30.00")]
    assert len(embedded_rows["calendar"]) == (date(2027, 1, 10) - date(2025, 12, 25)).days + 1


@pytest.mark.jvm
def test_classic_apache_spark_gives_the_same_rows(embedded_rows):
    # pyspark marks a process that opened a Connect session in its environment; a child must not inherit it.
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE")}
    command = [sys.executable, "-m", "lakehouse_tests.test_gold.test_dim_customer_parity", "classic"]
    completed = subprocess.run(command, check=False, capture_output=True, text=True, timeout=300, env=env)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert json.loads(completed.stdout.strip().splitlines()[-1]) == embedded_rows


def main(mode: str) -> None:
    from lakehouse.engine import SparkEngine

    print(json.dumps(parity_rows(SparkEngine(mode=mode, shuffle_partitions=2).spark_session)))


if __name__ == "__main__":
    main(*sys.argv[1:])
