"""Small hand-made silver partitions and dimensions for the gold facts, shaped exactly as docs/model.md
describes them, and the star schema's results on them as engine-neutral text.

Used by the pure tests (``test_star``, ``test_reconciliation``), by the parity test that runs the same
rules on classic Apache Spark in a subprocess, and by the fact assets' tests, which write these frames as
the facts' upstream tables.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal

from pyspark.sql import DataFrame, SparkSession

from lakehouse.gold.reconciliation import reconcile_customer_activity, reconcile_order_lines
from lakehouse.gold.star import fact_activity_rows, fact_order_lines, rekeyed_order_lines
from lakehouse.partitions import DayWindow

D1, D2, D3 = date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)
END_OF_TIME = datetime(9999, 12, 31)
D1_MIDNIGHT = datetime(2026, 1, 1)

# ----------------------------------------------------------------------------------------- builders

SILVER_ORDERS_SCHEMA = (
    "order_id bigint, line_number bigint, customer_id bigint, order_ts timestamp_ntz, order_date date, "
    "status string, channel string, currency string, product_id bigint, quantity bigint, "
    "unit_price decimal(12,2), discount_amount decimal(12,2), line_amount decimal(14,2), "
    "order_total decimal(12,2), updated_at timestamp_ntz, _run_date date"
)
SILVER_ACTIVITY_SCHEMA = (
    "activity_date date, customer_id bigint, segment string, country_code string, orders bigint, "
    "revenue decimal(14,2), sessions bigint, page_views bigint, product_views bigint, add_to_carts bigint, "
    "purchases bigint, conversion_rate double, first_seen_ts timestamp_ntz, last_seen_ts timestamp_ntz, "
    "_run_date date"
)
DIM_CUSTOMER_SCHEMA = (
    "customer_key bigint, customer_id bigint, email_hash string, country_code string, city string, "
    "segment string, loyalty_tier string, first_name_hash string, last_name_hash string, phone_hash string, "
    "row_hash string, valid_from timestamp_ntz, valid_to timestamp_ntz, is_current boolean, "
    "is_deleted boolean, _run_date date"
)
DIM_PRODUCT_SCHEMA = (
    "product_key bigint, product_id bigint, sku string, product_name string, category string, brand string, "
    "list_price decimal(12,2), currency string, is_active boolean, updated_at timestamp_ntz"
)
DIM_DATE_SCHEMA = (
    "date_key int, date date, day_of_week int, day_name string, day_of_month int, week_of_year int, "
    "month int, month_name string, quarter int, year int, is_weekend boolean"
)


def order_line(
    order_id: int,
    line_number: int,
    customer_id: int,
    order_ts: datetime,
    product_id: int,
    quantity: int,
    unit_price: str,
    updated_at: datetime,
    run_date: date,
    *,
    status: str = "placed",
    discount: str = "0.00",
) -> tuple:
    """A silver/orders row; ``line_amount`` as silver computes it."""
    amount = quantity * Decimal(unit_price) - Decimal(discount)
    return (
        order_id, line_number, customer_id, order_ts, order_ts.date(), status, "web", "EUR", product_id,
        quantity, Decimal(unit_price), Decimal(discount), amount, amount, updated_at, run_date,
    )  # fmt: skip


def customer_version(
    key: int, customer_id: int, segment: str, valid_from: datetime, valid_to: datetime = END_OF_TIME,
    *, is_deleted: bool = False, run_date: date = D1,
) -> tuple:  # fmt: skip
    """A dim_customer row (hashes are placeholders: the facts never read them). A version closed by a
    soft delete stays the current row, as docs/model.md specifies."""
    current = valid_to == END_OF_TIME or is_deleted
    return (
        key, customer_id, f"email-{customer_id}", "DE", "Berlin", segment, "none", "fn", "ln", "ph",
        f"hash-{customer_id}-{segment}", valid_from, valid_to, current, is_deleted, run_date,
    )  # fmt: skip


UNKNOWN_CUSTOMER = (0, -1, None, None, None, None, None, None, None, None, None,
                    datetime(1900, 1, 1), END_OF_TIME, True, False, D1)  # fmt: skip


def product(key: int, product_id: int) -> tuple:
    return (key, product_id, f"SKU-{product_id}", f"Product {product_id}", "toys", "acme",
            Decimal("5.00"), "EUR", True, datetime(2025, 12, 1))  # fmt: skip


UNKNOWN_PRODUCT = (0, -1, None, "unknown", None, None, None, None, None, None)


def calendar_rows(first: date = D1, days: int = 10) -> list[tuple]:
    rows = [(0, None, None, "unknown", None, None, None, "unknown", None, None, None)]
    for offset in range(days):
        day = first + timedelta(days=offset)
        iso = day.isocalendar()
        rows.append((
            int(day.strftime("%Y%m%d")), day, iso.weekday, day.strftime("%A"), day.day, iso.week, day.month,
            day.strftime("%B"), (day.month - 1) // 3 + 1, day.year, iso.weekday >= 6,
        ))  # fmt: skip
    return rows


def activity_row(
    customer_id: int, day: date, orders: int | None, revenue: str | None, sessions: int | None,
    page_views: int | None = 0,
) -> tuple:  # fmt: skip
    """A silver/customer_activity row (counts may be NULL, as silver may leave them)."""
    rate = None if not sessions else (orders or 0) / sessions
    first = datetime.combine(day, datetime.min.time()) + timedelta(hours=9)
    return (
        day, customer_id, "consumer", "DE", orders, None if revenue is None else Decimal(revenue), sessions,
        page_views, 1, 0, orders, rate, first, first + timedelta(hours=2), day,
    )  # fmt: skip


# Customer 1 has two versions (a segment change at D2 12:00); customer 2 was soft-deleted at D2 09:00;
# customer 3 is late: it is not in the dimension when its first order arrives. Product 12 is late too.
CUSTOMER_1_CHANGED_AT = datetime(2026, 1, 2, 12)
CUSTOMER_2_DELETED_AT = datetime(2026, 1, 2, 9)
CUSTOMER_VERSIONS = [
    UNKNOWN_CUSTOMER,
    customer_version(101, 1, "consumer", datetime(2026, 1, 1, 8), CUSTOMER_1_CHANGED_AT),
    customer_version(102, 1, "enterprise", CUSTOMER_1_CHANGED_AT, run_date=D2),
    customer_version(201, 2, "consumer", D1_MIDNIGHT, CUSTOMER_2_DELETED_AT, is_deleted=True, run_date=D2),
]
LATE_CUSTOMER = customer_version(301, 3, "small_business", datetime(2026, 1, 2, 13), run_date=D3)
PRODUCTS = [UNKNOWN_PRODUCT, product(1010, 10), product(1011, 11)]
LATE_PRODUCT = product(1012, 12)

ORDER_1_PLACED_AT, ORDER_1_SHIPPED_AT = datetime(2026, 1, 2, 11, 59, 59), datetime(2026, 1, 3, 10)
SILVER_ORDER_LINES = [
    # order 1: placed D2 11:59:59 (customer 1's first version), shipped D3 (a newer state of the line)
    order_line(1, 1, 1, ORDER_1_PLACED_AT, 10, 2, "5.00", ORDER_1_PLACED_AT, D2, discount="1.00"),
    order_line(
        1, 1, 1, ORDER_1_PLACED_AT, 10, 2, "5.00", ORDER_1_SHIPPED_AT, D3, discount="1.00", status="shipped"
    ),
    # order 2: placed exactly when customer 1's second version opened; line 2's product is late
    order_line(2, 1, 1, datetime(2026, 1, 2, 12), 11, 1, "7.50", datetime(2026, 1, 2, 12), D2),
    order_line(2, 2, 1, datetime(2026, 1, 2, 12), 12, 3, "2.00", datetime(2026, 1, 2, 12), D2),
    # order 3: the late customer
    order_line(3, 1, 3, datetime(2026, 1, 2, 13, 30), 10, 1, "5.00", datetime(2026, 1, 2, 13, 30), D2),
    # order 4: placed after customer 2's soft delete closed its history
    order_line(4, 1, 2, datetime(2026, 1, 2, 10), 11, 4, "7.50", datetime(2026, 1, 2, 10), D2),
    # order 5: placed before customer 1's first version opened (same day, before the day's last change)
    order_line(5, 1, 1, datetime(2026, 1, 1, 7), 10, 1, "5.00", datetime(2026, 1, 1, 7), D1),
    # order 6: unchanged line 1 repeated in D2 because its order's line 2 changed on D2
    order_line(6, 1, 1, datetime(2026, 1, 1, 9), 10, 1, "5.00", datetime(2026, 1, 1, 9), D1),
    order_line(6, 1, 1, datetime(2026, 1, 1, 9), 10, 1, "5.00", datetime(2026, 1, 1, 9), D2),
    order_line(6, 2, 1, datetime(2026, 1, 1, 9), 11, 1, "7.50", datetime(2026, 1, 2, 8), D2),
]

SILVER_ACTIVITY = [
    activity_row(1, D1, 2, "10.00", None, page_views=None),  # orders only: silver left the event counts NULL
    activity_row(
        1, D2, 2, "27.00", 2
    ),  # customer 1 changed segment at D2 12:00: current at the end of D2 is 102
    activity_row(3, D2, 1, "5.00", 1),  # the late customer
    activity_row(2, D2, 0, None, 3),  # events only, after its delete
]


def silver_orders_frame(spark: SparkSession, rows: list[tuple] = SILVER_ORDER_LINES) -> DataFrame:
    return spark.createDataFrame(rows, SILVER_ORDERS_SCHEMA)


def silver_activity_frame(spark: SparkSession, rows: list[tuple] = SILVER_ACTIVITY) -> DataFrame:
    return spark.createDataFrame(rows, SILVER_ACTIVITY_SCHEMA)


def dim_customer_frame(spark: SparkSession, late_arrived: bool = False) -> DataFrame:
    return spark.createDataFrame(
        CUSTOMER_VERSIONS + ([LATE_CUSTOMER] if late_arrived else []), DIM_CUSTOMER_SCHEMA
    )


def dim_product_frame(spark: SparkSession, late_arrived: bool = False) -> DataFrame:
    return spark.createDataFrame(PRODUCTS + ([LATE_PRODUCT] if late_arrived else []), DIM_PRODUCT_SCHEMA)


def dim_date_frame(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(calendar_rows(), DIM_DATE_SCHEMA)


def fact_orders_frame(spark: SparkSession) -> DataFrame:
    """fact_orders rows of the fixture's silver lines, keyed to the fixture's dimensions."""
    return fact_order_lines(
        silver_orders_frame(spark), dim_customer_frame(spark), dim_product_frame(spark), dim_date_frame(spark)
    )


def rows_of(df: DataFrame, *columns: str) -> list[tuple]:
    return sorted(tuple(row) for row in df.select(*columns).collect())


# --------------------------------------------------------------------------------- parity results


def star_results(spark: SparkSession) -> dict[str, list[list[str]]]:
    """Every rule of ``star`` and ``reconciliation`` on the fixture, as sorted rows of strings (comparable
    across processes).

    The facts are built once and handed on as local data, so re-keying and reconciliation run on the
    engine without recomputing them (the JVM pays per query).
    """
    silver, activity = silver_orders_frame(spark), silver_activity_frame(spark)
    customers, calendar = dim_customer_frame(spark), dim_date_frame(spark)
    facts = fact_order_lines(silver, customers, dim_product_frame(spark), calendar)
    activity_facts = fact_activity_rows(activity, customers, calendar)
    results: dict[str, list[list[str]]] = {}

    def collected(name: str, df: DataFrame) -> DataFrame:
        rows = df.collect()
        results[name] = sorted([[str(v) for v in row] for row in rows])
        return spark.createDataFrame(rows, df.schema)

    facts = collected("fact_orders", facts)
    activity_facts = collected("fact_customer_activity", activity_facts)
    late = (dim_customer_frame(spark, True), dim_product_frame(spark, True), calendar)
    collected("rekeyed_order_lines", rekeyed_order_lines(facts, *late))
    window = DayWindow(D1, D3 + timedelta(days=1))
    collected("reconcile_order_lines", reconcile_order_lines(silver, facts, window))
    collected(
        "reconcile_customer_activity",
        reconcile_customer_activity(activity, activity_facts, DayWindow(D1, D3)),
    )
    return results
