"""A small customers and orders batch, with a defect of every rule kind, run through the real bronze
contracts; used to prove align + validate give identical lanes on every engine."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pyspark.sql import SparkSession

from lakehouse.contracts import align_to_schema, contract_for_source, validate_and_quarantine

T = datetime(2026, 1, 2, 9, 30, 0, 250000)
CUSTOMERS_SCHEMA = (
    "CUSTOMER_ID bigint, FIRST_NAME string, LAST_NAME string, EMAIL string, PHONE string, COUNTRY_CODE string, "
    "CITY string, SEGMENT string, LOYALTY_TIER string, CREATED_AT string, UPDATED_AT timestamp, IS_DELETED boolean, "
    "REFERRER string, _batch_id string"
)
CUSTOMERS = [
    (
        1,
        "Ana",
        "Silva",
        "ana@example.com",
        "+351000",
        "PT",
        "Lisbon",
        "consumer",
        "gold",
        "2024-05-01 10:00:00",
        T,
        False,
        None,
        "b1",
    ),
    (
        1,
        "Ana",
        "Silva",
        "ana@example.com",
        "+351000",
        "PT",
        "Lisbon",
        "consumer",
        "gold",
        "2024-05-01 10:00:00",
        T,
        False,
        None,
        "b1",
    ),
    (2, "Bo", "Lee", "bo@example", "+100", "USA", "Austin", "vip", "none", "N/A", T, False, "ads", "b1"),
    (
        3,
        "Cy",
        "Ng",
        "cy@example.com",
        "+200",
        "SG",
        "Singapore",
        "enterprise",
        "silver",
        "2027-01-01 00:00:00",
        T,
        True,
        None,
        "b1",
    ),
    (
        4,
        "Di",
        "Ro",
        "di@example.com",
        "+300",
        "IT",
        "Rome",
        "consumer",
        "none",
        "2020-01-01 00:00:00",
        T,
        False,
        None,
        "b1",
    ),
    (
        4,
        "Di",
        "Ro",
        "di@example.com",
        "+300",
        "IT",
        "Milan",
        "consumer",
        "none",
        "2020-01-01 00:00:00",
        T,
        False,
        None,
        "b1",
    ),
    (None, None, None, None, None, None, None, None, None, None, None, None, None, None),
]
ORDERS_SCHEMA = (
    "ORDER_ID bigint, CUSTOMER_ID bigint, ORDER_TS timestamp, STATUS string, CHANNEL string, CURRENCY string, "
    "TOTAL_AMOUNT decimal(12,2), UPDATED_AT timestamp, _batch_id string"
)
ORDERS = [
    (10, 1, T, "paid", "web", "EUR", Decimal("10.50"), T, "b1"),
    (11, 99, T, "placed", "kiosk", "US$", Decimal("-1.00"), T, "b1"),
    (12, 3, datetime(2026, 2, 1), "shipped", "store", "SGD", Decimal("0.00"), T, "b1"),
    (None, None, None, None, None, None, None, None, "b1"),
]


def lanes(spark: SparkSession) -> dict[str, dict[str, list]]:
    """Valid and quarantined rows of both batches, as sorted, engine-neutral text."""
    customers = spark.createDataFrame(CUSTOMERS, CUSTOMERS_SCHEMA)
    orders = spark.createDataFrame(ORDERS, ORDERS_SCHEMA)
    result = {}
    references = {"customers": customers.select("CUSTOMER_ID")}
    for name, df in (("RETAIL.CRM.CUSTOMERS", customers), ("RETAIL.SALES.ORDERS", orders)):
        contract = contract_for_source(name)
        valid, quarantine = validate_and_quarantine(
            align_to_schema(df, contract), contract, references=references
        )
        result[contract.table] = {
            "valid_columns": valid.columns,
            "valid": sorted([str(value) for value in row] for row in valid.collect()),
            "quarantine": sorted(
                [row["_batch_id"] or "", row["_original_payload"], [list(r) for r in row["_error_reasons"]]]
                for row in quarantine.collect()
            ),
        }
    return result
