"""Rows of bronze/orders for the validation tests: the table's schema, the day and one order."""

from datetime import date, datetime
from decimal import Decimal

BRONZE_ORDERS = (
    "order_id bigint, customer_id bigint, order_ts timestamp_ntz, status string, channel string, "
    "currency string, total_amount decimal(12,2), updated_at timestamp_ntz, record_source string, "
    "record_table string, ingest_timestamp timestamp, _batch_id string, _run_date date"
)
DAY = date(2026, 1, 1)


def order_row(order_id: int, status: str = "placed", currency: str = "USD", minute: int = 0):
    placed = datetime(2026, 1, 1, 9, 0)
    changed = datetime(2026, 1, 1, 10, minute)
    return (
        order_id,
        order_id % 7 + 1,
        placed,
        status,
        "web",
        currency,
        Decimal("19.99"),
        changed,
        "snowflake",
        "RETAIL.SALES.ORDERS",
        datetime(2026, 1, 1, 12, 0),
        "batch-1",
        DAY,
    )
