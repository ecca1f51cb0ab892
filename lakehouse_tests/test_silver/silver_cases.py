"""Small hand-made inputs for the non-trivial silver transforms, and their outputs as engine-neutral text.

Used twice: the embedded-engine tests check the answers row by row, and the parity test runs the same
cases on classic Apache Spark in a subprocess and compares, so parity never compares two wrong answers.
"""

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal

from pyspark.sql import DataFrame, SparkSession

from lakehouse.contracts import load_contracts
from lakehouse.governance import mask_columns
from lakehouse.silver import transforms as T

SALT = "test-salt"
D1, D2, D3, D4 = date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3), date(2026, 1, 4)


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def money(text: str) -> Decimal:
    return Decimal(text)


# --------------------------------------------------------------------------------------- customers

BRONZE_CUSTOMERS_SCHEMA = (
    "customer_id bigint, first_name string, last_name string, email string, phone string, "
    "country_code string, "
    "city string, segment string, loyalty_tier string, created_at timestamp_ntz, updated_at timestamp_ntz, "
    "is_deleted boolean, _batch_id string, _run_date date"
)
CREATED = ts("2025-06-01 08:00:00")
BRONZE_CUSTOMERS = [
    # customer 1 changes twice on D2 (tier none -> gold); the 15:00 image is also redelivered exactly
    (1, "Ana", "Silva", "ana@example.com", "+351 912 345 678", "PT", "Lisbon", "consumer", "none", CREATED,
     ts("2026-01-02 09:00:00"), False, "b2", D2),
    (1, "Ana", "Silva", "ana@example.com", "+351 912 345 678", "PT", "Lisbon", "consumer", "gold", CREATED,
     ts("2026-01-02 15:00:00"), False, "b2", D2),
    (1, "Ana", "Silva", "ana@example.com", "+351 912 345 678", "PT", "Lisbon", "consumer", "gold", CREATED,
     ts("2026-01-02 15:00:00"), False, "b2", D2),
    # customer 1 again on D3: the same person written differently, and a soft delete
    (1, " Ana ", "Silva ", " Ana@Example.COM ", "+351-912-345-678", " pt ", " Lisbon ", "consumer", "gold",
     CREATED,
     ts("2026-01-03 08:00:00"), True, "b3", D3),
    (2, "Bo", "Lee", "bo@example.com", "+1 (555) 010-0000", "us", "Austin ", "enterprise", "silver", CREATED,
     ts("2026-01-02 23:59:59.999998"), False, "b2", D2),
]  # fmt: skip


def bronze_customers(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(BRONZE_CUSTOMERS, BRONZE_CUSTOMERS_SCHEMA)


def masked_bronze_customers(spark: SparkSession) -> DataFrame:
    contract = load_contracts(layer="bronze")["bronze.customers"]
    return mask_columns(
        bronze_customers(spark), [c.name for c in contract.columns if c.pii.value == "direct"], SALT
    )


def customers_case(spark: SparkSession) -> DataFrame:
    return T.silver_customers(masked_bronze_customers(spark))


# ------------------------------------------------------------------------------------------ orders

HEADERS_SCHEMA = (
    "order_id bigint, customer_id bigint, order_ts timestamp_ntz, status string, channel string, "
    "currency string, "
    "total_amount decimal(12,2), updated_at timestamp_ntz, _run_date date"
)
LINES_SCHEMA = (
    "order_id bigint, line_number bigint, product_id bigint, quantity bigint, unit_price decimal(12,2), "
    "discount_amount decimal(12,2), updated_at timestamp_ntz, _run_date date"
)
PLACED_100 = ts("2026-01-01 10:00:00")
PLACED_101 = ts("2026-01-03 11:00:00")
PLACED_104 = ts("2025-11-20 12:00:00")
HEADERS = [
    # 100: placed and paid on D1 (lines written with the placed row), shipped on D3 (header only)
    (100, 7, PLACED_100, "placed", "web", "EUR", money("25.00"), PLACED_100, D1),
    (100, 7, PLACED_100, "paid", "web", "EUR", money("25.00"), ts("2026-01-01 10:05:00"), D1),
    (100, 7, PLACED_100, "shipped", "web", "EUR", money("25.00"), ts("2026-01-03 09:00:00"), D3),
    # 101: placed on D3 (redelivered exactly), paid with a coupon on D3, delivered on D4
    (101, 8, PLACED_101, "placed", "Mobile", "usd", money("30.00"), PLACED_101, D3),
    (101, 8, PLACED_101, "placed", "Mobile", "usd", money("30.00"), PLACED_101, D3),
    (101, 8, PLACED_101, "paid", "Mobile", "usd", money("27.00"), ts("2026-01-03 11:10:00"), D3),
    (101, 8, PLACED_101, "delivered", "Mobile", "usd", money("27.00"), ts("2026-01-04 16:00:00"), D4),
    # 102: only changed before the window
    (102, 7, ts("2026-01-01 12:00:00"), "placed", "store", "EUR", money("5.00"), ts("2026-01-01 12:00:00"),
     D1),
    # 104: placed 44 days before D3, returned on D3: its lines are beyond the default lookback
    (104, 9, PLACED_104, "placed", "web", "EUR", money("8.00"), PLACED_104, date(2025, 11, 20)),
    (104, 9, PLACED_104, "returned", "web", "EUR", money("8.00"), ts("2026-01-03 07:00:00"), D3),
    # 105: its header is beyond the lookback, but a line changes on D3
    (105, 9, ts("2025-11-01 09:00:00"), "placed", "web", "EUR", money("4.00"), ts("2025-11-01 09:00:00"),
     date(2025, 11, 1)),
]  # fmt: skip
LINES = [
    (100, 1, 500, 2, money("10.00"), money("0.00"), PLACED_100, D1),
    (100, 2, 501, 1, money("5.00"), money("0.00"), PLACED_100, D1),
    (101, 1, 502, 3, money("10.00"), money("0.00"), PLACED_101, D3),
    (101, 1, 502, 3, money("10.00"), money("0.00"), PLACED_101, D3),
    (101, 1, 502, 3, money("10.00"), money("3.00"), ts("2026-01-03 11:10:00"), D3),
    (102, 1, 503, 1, money("5.00"), money("0.00"), ts("2026-01-01 12:00:00"), D1),
    (104, 1, 504, 4, money("2.00"), money("0.00"), PLACED_104, date(2025, 11, 20)),
    (105, 1, 505, 1, money("4.00"), money("0.50"), ts("2026-01-03 08:00:00"), D3),
]


def order_inputs(spark: SparkSession) -> tuple[DataFrame, DataFrame]:
    return spark.createDataFrame(HEADERS, HEADERS_SCHEMA), spark.createDataFrame(LINES, LINES_SCHEMA)


def orders_case(spark: SparkSession, lookback_days: int = T.DEFAULT_LOOKBACK_DAYS) -> DataFrame:
    """The window D3..D4 (a two-day backfill) over inputs that reach back into 2025."""
    headers, lines = order_inputs(spark)
    return T.silver_orders(headers, lines, first_run_date=D3, lookback_days=lookback_days)


def orders_long_lookback_case(spark: SparkSession) -> DataFrame:
    return orders_case(spark, lookback_days=50)


def lines_without_header_case(spark: SparkSession) -> DataFrame:
    headers, lines = order_inputs(spark)
    return T.lines_without_header(headers, lines, first_run_date=D3).select(
        "order_id", "line_number", "_as_of"
    )


# ---------------------------------------------------------------------------------- behavior events

EVENTS_SCHEMA = (
    "event_id string, customer_id bigint, session_id string, event_type string, product_id bigint, "
    "page_url string, device string, event_ts timestamp_ntz, loaded_at timestamp_ntz, _run_date date"
)


def _event(event_id, customer, session, event_type, at, loaded, run_date=D2, device="mobile"):
    return (
        event_id,
        customer,
        session,
        event_type,
        None,
        "https://shop/",
        device,
        ts(at),
        ts(loaded),
        run_date,
    )


EVENTS = [
    # customer 7 without source sessions: 10:00, 10:20, 10:50 (exactly 30 min idle: same session),
    # 11:21 (31 min idle: a new session), 11:30
    _event("e1", 7, None, "page_view", "2026-01-02 10:00:00", "2026-01-02 10:05:00"),
    _event("e2", 7, None, "product_view", "2026-01-02 10:20:00", "2026-01-02 10:25:00"),
    _event("e3", 7, None, "add_to_cart", "2026-01-02 10:50:00", "2026-01-02 10:55:00"),
    _event("e4", 7, None, "page_view", "2026-01-02 11:21:00", "2026-01-02 11:25:00"),
    _event("e5", 7, None, "purchase", "2026-01-02 11:30:00", "2026-01-02 11:35:00"),
    # customer 7 the next day: sessions never span partitions
    _event("e6", 7, None, "page_view", "2026-01-02 11:40:00", "2026-01-03 00:05:00", run_date=D3),
    # customer 8 with a source session: kept as it is
    _event("e7", 8, "s-1", "page_view", "2026-01-02 12:00:00", "2026-01-02 12:05:00"),
    # anonymous, no session: a session of its own; anonymous with a session: kept
    _event("e8", None, None, "search", "2026-01-02 13:00:00", "2026-01-02 13:05:00"),
    _event("e9", None, "s-2", "page_view", "2026-01-02 13:00:00", "2026-01-02 13:05:00"),
    # e10 loaded twice (the first load wins) and redelivered exactly
    _event("e10", 8, "s-1", "page_view", "2026-01-02 12:01:00", "2026-01-02 12:05:00", device="tablet"),
    _event("e10", 8, "s-1", "page_view", "2026-01-02 12:01:00", "2026-01-02 12:05:00", device="tablet"),
    _event("e10", 8, "s-1", "page_view", "2026-01-02 12:01:00", "2026-01-02 12:10:00", device="desktop"),
]


def events_case(spark: SparkSession) -> DataFrame:
    return T.silver_behavior_events(spark.createDataFrame(EVENTS, EVENTS_SCHEMA))


# -------------------------------------------------------------------------------- customer activity

SILVER_ORDERS_SCHEMA = (
    "order_id bigint, line_number bigint, customer_id bigint, order_ts timestamp_ntz, order_date date, "
    "line_amount decimal(14,2), _run_date date"
)
SILVER_ORDERS = [
    (10, 1, 1, ts("2026-01-02 09:00:00"), D2, money("10.00"), D2),
    (10, 2, 1, ts("2026-01-02 09:00:00"), D2, money("5.50"), D2),
    (11, 1, 1, ts("2026-01-02 18:00:00"), D2, money("3.00"), D2),
    # placed the day before, changed on D2: not an order placed on D2
    (12, 1, 1, ts("2026-01-01 20:00:00"), D1, money("99.00"), D2),
    (13, 1, 3, ts("2026-01-03 07:30:00"), D3, money("12.34"), D3),
]
SILVER_EVENTS_SCHEMA = (
    "event_id string, customer_id bigint, session_id string, event_type string, event_ts timestamp_ntz, "
    "_run_date date"
)
SILVER_EVENTS = [
    ("a1", 1, "s1", "page_view", ts("2026-01-02 08:00:00"), D2),
    ("a2", 1, "s1", "product_view", ts("2026-01-02 08:01:00"), D2),
    ("a3", 1, "s1", "add_to_cart", ts("2026-01-02 08:02:00"), D2),
    ("a4", 1, "s2", "page_view", ts("2026-01-02 17:00:00"), D2),
    ("a5", 1, "s2", "purchase", ts("2026-01-02 17:59:00"), D2),
    ("a6", 1, "s2", "page_view", ts("2026-01-02 17:10:00"), D2),
    ("a7", 2, "s3", "page_view", ts("2026-01-02 12:00:00"), D2),
    ("a8", None, "s4", "page_view", ts("2026-01-02 12:00:00"), D2),
    # a late upload: an event of D1 loaded on D3 belongs to D3's activity
    ("a9", 4, "s5", "search", ts("2026-01-01 22:00:00"), D3),
    ("a10", 4, "s6", "page_view", ts("2026-01-02 10:00:00"), D2),
]
SILVER_CUSTOMERS_SCHEMA = (
    "customer_id bigint, segment string, country_code string, updated_at timestamp_ntz, _run_date date"
)
SILVER_CUSTOMERS = [
    # customer 1's only version is beyond the lookback
    (1, "consumer", "PT", ts("2025-11-01 10:00:00"), date(2025, 11, 1)),
    # customer 2: the version of D3 is not known yet on D2
    (2, "small_business", "US", ts("2025-12-31 10:00:00"), date(2025, 12, 31)),
    (2, "enterprise", "US", ts("2026-01-03 10:00:00"), D3),
    # customer 3: two versions on D3; the later one counts
    (3, "consumer", "DE", ts("2025-12-20 10:00:00"), date(2025, 12, 20)),
    (3, "consumer", "FR", ts("2026-01-03 06:00:00"), D3),
    (3, "enterprise", "FR", ts("2026-01-03 08:00:00"), D3),
    (4, "consumer", "IT", ts("2026-01-01 10:00:00"), D1),
]


def activity_case(spark: SparkSession) -> DataFrame:
    return T.customer_activity(
        spark.createDataFrame(SILVER_ORDERS, SILVER_ORDERS_SCHEMA),
        spark.createDataFrame(SILVER_EVENTS, SILVER_EVENTS_SCHEMA),
        spark.createDataFrame(SILVER_CUSTOMERS, SILVER_CUSTOMERS_SCHEMA),
    )


# --------------------------------------------------------------------------------------- as text

CASES: dict[str, Callable[[SparkSession], DataFrame]] = {
    "customers": customers_case,
    "orders": orders_case,
    "orders_long_lookback": orders_long_lookback_case,
    "lines_without_header": lines_without_header_case,
    "behavior_events": events_case,
    "customer_activity": activity_case,
}


def as_text(df: DataFrame) -> dict:
    """Columns with their types, and rows as sorted lists of strings, comparable across processes."""
    return {
        "schema": [[f.name, f.dataType.simpleString()] for f in df.schema.fields],
        "rows": sorted([["<null>" if v is None else str(v) for v in row] for row in df.collect()]),
    }


# Compared on classic Apache Spark: the non-trivial transforms. The lookback variants of orders run the same
# code with other arguments and are checked on the embedded engine only (each JVM query costs seconds).
PARITY_CASES = ("customers", "orders", "behavior_events", "customer_activity")


def all_cases(spark: SparkSession, names: tuple[str, ...] = PARITY_CASES) -> dict[str, dict]:
    return {name: as_text(CASES[name](spark)) for name in names}
