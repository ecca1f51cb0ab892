"""The silver transforms: DataFrames in, DataFrames out, no Dagster (docs/model.md, "Silver").

Every input carries a ``_run_date`` DATE column and every output is keyed by it, and every computation is
partitioned by it: a day's result depends only on that day's rows (and a bounded lookback before it), so a
multi-day backfill window gives exactly what the same days run one by one would give, and re-running a
day gives the same rows.

Bronze inputs reach these functions with their PII already masked (``<column>_hash``, see
``lakehouse.governance``): nothing here ever sees a clear name, e-mail or phone number.
"""

from collections.abc import Sequence
from datetime import date

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from lakehouse.contracts import Contract
from lakehouse.partitions import PARTITION_COLUMN
from lakehouse.ranking import first_per_key

AS_OF = "_as_of"
_SESSION_START = "_session_start"

DEFAULT_LOOKBACK_DAYS = 35
SESSION_INACTIVITY_MINUTES = 30
DERIVED_SESSION_PREFIX = "derived-"

# Event types counted per customer and day in customer_activity, and the columns they are counted in.
ACTIVITY_EVENT_COUNTS = (
    ("page_view", "page_views"),
    ("product_view", "product_views"),
    ("add_to_cart", "add_to_carts"),
    ("purchase", "purchases"),
)


# ----------------------------------------------------------------------------------------- helpers


def latest_per_key(
    df: DataFrame, keys: Sequence[str], by: Sequence[str] = (PARTITION_COLUMN,), *, mostly_unique: bool = True
) -> DataFrame:
    """The row with the greatest ``updated_at`` per ``keys`` within each group of ``by`` (the day);
    ``mostly_unique`` as in ``lakehouse.ranking.first_per_key``.

    Exact redeliveries tie on ``updated_at`` and are identical, so whichever one is kept, the result is
    the same; two *different* images with one ``updated_at`` never get here (bronze quarantines them).
    """
    return first_per_key(df, [*keys, *by], [F.col("updated_at").desc()], mostly_unique=mostly_unique)


def trimmed(column: str) -> Column:
    return F.trim(F.col(column))


def to_contract(df: DataFrame, contract: Contract) -> DataFrame:
    """Exactly the contract's columns, in its order and types, then ``_run_date``.

    The last step of every silver asset: the table's schema is the contract, and no column the contract
    does not name (a raw PII column, an evolved bronze column) can slip through.
    """
    missing = [name for name in (*contract.column_names, PARTITION_COLUMN) if name not in df.columns]
    if missing:
        raise ValueError(f"{contract.name}: the transform produced no column(s) {missing}")
    return df.select(
        *(F.col(column.name).cast(column.type).alias(column.name) for column in contract.columns),
        F.col(PARTITION_COLUMN).cast("date").alias(PARTITION_COLUMN),
    )


# ----------------------------------------------------------------------------- customers, products


def silver_customers(customers: DataFrame) -> DataFrame:
    """Every distinct version of each customer changed on a day (one row per ``customer_id`` and
    ``updated_at``), standardized (bronze names, PII already hashed).

    Every version, not the day's last: each change of a tracked attribute opens a version of
    dim_customer, and an order placed between two changes of one day belongs to the earlier one.

    Exact redeliveries share ``customer_id`` and ``updated_at`` and are identical, so whichever copy is
    kept, the result is the same; two *different* images with one ``updated_at`` never get here (bronze
    quarantines them, and its blocking ``primary_key_unique`` check stops the run).
    """
    version = ["customer_id", "updated_at", PARTITION_COLUMN]
    versions = first_per_key(customers, version, [F.col("updated_at")])
    return versions.select(
        "customer_id",
        "first_name_hash",
        "last_name_hash",
        "email_hash",
        "phone_hash",
        F.upper(trimmed("country_code")).alias("country_code"),
        trimmed("city").alias("city"),
        trimmed("segment").alias("segment"),
        trimmed("loyalty_tier").alias("loyalty_tier"),
        "created_at",
        "updated_at",
        "is_deleted",
        PARTITION_COLUMN,
    )


def silver_products(products: DataFrame) -> DataFrame:
    """The latest version of each product per day, text trimmed, currency upper-cased."""
    latest = latest_per_key(products, ["product_id"])
    return latest.select(
        "product_id",
        trimmed("sku").alias("sku"),
        trimmed("product_name").alias("product_name"),
        trimmed("category").alias("category"),
        trimmed("brand").alias("brand"),
        "unit_price",
        F.upper(trimmed("currency")).alias("currency"),
        "is_active",
        "updated_at",
        PARTITION_COLUMN,
    )


# ---------------------------------------------------------------------------------------- orders


def changed_orders(headers: DataFrame, lines: DataFrame, first_run_date: date) -> DataFrame:
    """``(order_id, _as_of)``: every order whose header or any line changed on a day of the window
    (``_run_date >= first_run_date``), once per such day.

    Kept with ``localCheckpoint()``: the header and line states each join it, the lines' three times
    (``first_per_key``), and Sail would compute the distinct union again for each (silver orders at SF 10:
    7.7-8.1 s without, 4.4-4.9 s with)."""
    in_window = F.col(PARTITION_COLUMN) >= F.lit(first_run_date)
    return (
        headers.where(in_window)
        .select("order_id", F.col(PARTITION_COLUMN).alias(AS_OF))
        .unionByName(lines.where(in_window).select("order_id", F.col(PARTITION_COLUMN).alias(AS_OF)))
        .distinct()
    ).localCheckpoint()


def state_as_of(
    rows: DataFrame, changed: DataFrame, keys: Sequence[str], lookback_days: int, *, mostly_unique: bool
) -> DataFrame:
    """For each changed order and day ``_as_of``, the latest image per ``keys`` among the rows of the
    days ``[_as_of - lookback_days, _as_of]``: the state as of the end of ``_as_of``."""
    reachable = _in_reach(rows, changed, lookback_days)
    return latest_per_key(reachable, keys, by=(AS_OF,), mostly_unique=mostly_unique)


def _in_reach(rows: DataFrame, changed: DataFrame, lookback_days: int) -> DataFrame:
    """``rows`` of each changed order that its day ``_as_of`` reaches: days ``[_as_of - lookback_days,
    _as_of]``, once per such day.

    ``rows`` are first cut to the range of the changed order ids, a literal range: order ids grow with
    time, so the engine skips the lookback's files of orders whose life cycle has ended (whose ids all lie
    below the range) instead of reading every day of the lookback; the join keeps the same rows."""
    reachable = (F.col(PARTITION_COLUMN) <= F.col(AS_OF)) & (
        F.col(PARTITION_COLUMN) >= F.date_sub(F.col(AS_OF), lookback_days)
    )
    return _within_order_ids(rows, changed).join(changed, "order_id").where(reachable)


def _within_order_ids(rows: DataFrame, changed: DataFrame) -> DataFrame:
    """``rows`` whose ``order_id`` lies between the least and the greatest of ``changed`` (none when
    ``changed`` is empty)."""
    bounds = changed.agg(F.min("order_id").alias("low"), F.max("order_id").alias("high")).first()
    if bounds["low"] is None:
        return rows.where(F.lit(False))
    return rows.where(F.col("order_id").between(F.lit(bounds["low"]), F.lit(bounds["high"])))


def silver_orders(
    headers: DataFrame,
    lines: DataFrame,
    first_run_date: date,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
    *,
    changed: DataFrame | None = None,
) -> DataFrame:
    """Order lines joined to their header: one row per line of every order changed on a day ``D`` of the
    window, each line and its header in their latest state as of the end of ``D``.

    ``headers`` and ``lines`` are bronze orders and order_items covering the window plus ``lookback_days``
    before it: a status change on ``D`` rewrites only the header, so the lines are found on the day the
    order was placed. A line whose header is not within the lookback has no row (see
    ``lines_without_header``). ``changed`` is ``changed_orders(headers, lines, first_run_date)`` when the
    caller has it already.
    """
    if changed is None:
        changed = changed_orders(headers, lines, first_run_date)
    # A changed order has a header version in reach for each status it went through (most repeat), while
    # its lines were mostly written once, when it was placed.
    header = state_as_of(headers, changed, ["order_id"], lookback_days, mostly_unique=False).select(
        "order_id",
        AS_OF,
        "customer_id",
        "order_ts",
        F.lower(trimmed("status")).alias("status"),
        F.lower(trimmed("channel")).alias("channel"),
        F.upper(trimmed("currency")).alias("currency"),
        F.col("total_amount").alias("order_total"),
        F.col("updated_at").alias("_header_updated_at"),
    )
    line = state_as_of(lines, changed, ["order_id", "line_number"], lookback_days, mostly_unique=True)
    line = line.select(
        "order_id",
        AS_OF,
        "line_number",
        "product_id",
        "quantity",
        "unit_price",
        "discount_amount",
        F.col("updated_at").alias("_line_updated_at"),
    )
    joined = line.join(header, ["order_id", AS_OF], "inner")
    return joined.select(
        "order_id",
        "line_number",
        "customer_id",
        "order_ts",
        F.to_date("order_ts").alias("order_date"),
        "status",
        "channel",
        "currency",
        "product_id",
        "quantity",
        "unit_price",
        "discount_amount",
        (F.col("quantity") * F.col("unit_price") - F.col("discount_amount"))
        .cast("decimal(14,2)")
        .alias("line_amount"),
        "order_total",
        F.greatest("_header_updated_at", "_line_updated_at").alias("updated_at"),
        F.col(AS_OF).alias(PARTITION_COLUMN),
    )


def lines_without_header(
    headers: DataFrame,
    lines: DataFrame,
    first_run_date: date,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
    *,
    changed: DataFrame | None = None,
) -> DataFrame:
    """Lines of changed orders whose header is nowhere in the lookback: ``silver_orders`` cannot place
    them, so the asset reports them instead of dropping them unseen. ``changed`` as in ``silver_orders``."""
    if changed is None:
        changed = changed_orders(headers, lines, first_run_date)
    # Which lines and headers are in reach is all that matters here, not their latest state: no ranking.
    header_keys = _in_reach(headers, changed, lookback_days).select("order_id", AS_OF).distinct()
    line_keys = _in_reach(lines, changed, lookback_days).select("order_id", "line_number", AS_OF).distinct()
    return line_keys.join(header_keys, ["order_id", AS_OF], "left_anti")


# ------------------------------------------------------------------------------- behavior events


def first_load_per_event(events: DataFrame) -> DataFrame:
    """One row per ``event_id`` and day: its first load (least ``loaded_at``); redeliveries dropped.

    Almost every event is loaded once, so only the events loaded more than once are ranked
    (``lakehouse.ranking.first_per_key``). Measured on Sail with a million events a day, this writes in a
    third of the time of one window over every event.
    """
    return first_per_key(events, ["event_id", PARTITION_COLUMN], [F.col("loaded_at").asc()])


def derived_session_id(customer_id: Column, first_event_ts: Column) -> Column:
    """``'derived-' || sha2(customer_id || first event_ts)``, the timestamp written to the microsecond so
    the text (and the id) is the same on every engine."""
    text = F.concat(customer_id.cast("string"), F.date_format(first_event_ts, "yyyy-MM-dd HH:mm:ss.SSSSSS"))
    return F.concat(F.lit(DERIVED_SESSION_PREFIX), F.sha2(text, 256))


def sessionize(events: DataFrame, inactivity_minutes: int = SESSION_INACTIVITY_MINUTES) -> DataFrame:
    """Fill in ``session_id`` where the source has none, and flag it in ``session_derived``.

    A customer's events without a session are grouped per day (``_run_date``) into sessions that end
    after more than ``inactivity_minutes`` without an event, ordered by ``event_ts``; an event with
    neither customer nor session is a session of its own. Events with a source session pass through
    untouched, so the window sorts only the events that need it.
    """
    columns = [name for name in events.columns if name != "session_id"]
    known = events.where(F.col("session_id").isNotNull()).select(
        *columns, "session_id", F.lit(False).alias("session_derived")
    )

    # A session's start is the running maximum of the start times seen so far (events in time order).
    in_order = Window.partitionBy(PARTITION_COLUMN, "customer_id").orderBy("event_ts", "event_id")
    previous = F.lag("event_ts").over(in_order)
    idle = F.expr(f"INTERVAL {int(inactivity_minutes)} MINUTES")
    starts_session = previous.isNull() | (F.col("event_ts") > previous + idle)
    unknown = events.where(F.col("session_id").isNull())
    with_starts = unknown.withColumn(_SESSION_START, F.when(starts_session, F.col("event_ts")))
    with_sessions = with_starts.withColumn(
        _SESSION_START,
        F.max(_SESSION_START).over(in_order.rowsBetween(Window.unboundedPreceding, Window.currentRow)),
    )
    session_id = F.when(
        F.col("customer_id").isNotNull(), derived_session_id(F.col("customer_id"), F.col(_SESSION_START))
    ).otherwise(F.concat(F.lit(DERIVED_SESSION_PREFIX), F.sha2(F.col("event_id"), 256)))
    derived = with_sessions.select(
        *columns, session_id.alias("session_id"), F.lit(True).alias("session_derived")
    )
    return known.unionByName(derived)


def silver_behavior_events(
    events: DataFrame, inactivity_minutes: int = SESSION_INACTIVITY_MINUTES
) -> DataFrame:
    """Events loaded on each day, one row per ``event_id``, every event in a session."""
    sessions = sessionize(first_load_per_event(events), inactivity_minutes)
    return sessions.select(
        "event_id",
        "customer_id",
        "session_id",
        "session_derived",
        "event_type",
        "product_id",
        "page_url",
        "device",
        "event_ts",
        F.to_date("event_ts").alias("event_date"),
        "loaded_at",
        PARTITION_COLUMN,
    )


# ----------------------------------------------------------------------------- customer activity


def order_activity(orders: DataFrame) -> DataFrame:
    """Per customer and day: the orders placed that day (``order_date = _run_date``) and their revenue."""
    placed = orders.where(F.col("order_date") == F.col(PARTITION_COLUMN))
    return placed.groupBy(PARTITION_COLUMN, "customer_id").agg(
        F.countDistinct("order_id").alias("orders"),
        F.sum("line_amount").alias("revenue"),
        F.min("order_ts").alias("_first_order_ts"),
        F.max("order_ts").alias("_last_order_ts"),
    )


def event_activity(events: DataFrame) -> DataFrame:
    """Per identified customer and day: sessions, counted event types, first and last event time.

    Aggregated per session first, then per customer: the sessions are the session rows, with no
    ``count(DISTINCT session_id)`` beside the other aggregates: on Sail, with ten million events a day,
    8 to 15 s with the distinct count, 2.5 s in two levels.
    """
    counts = [
        F.count_if(F.col("event_type") == kind).alias(name) for kind, name in ACTIVITY_EVENT_COUNTS
    ]
    per_session = (
        events.where(F.col("customer_id").isNotNull())
        .groupBy(PARTITION_COLUMN, "customer_id", "session_id")
        .agg(
            *counts,
            F.min("event_ts").alias("_first_event_ts"),
            F.max("event_ts").alias("_last_event_ts"),
        )
    )
    return per_session.groupBy(PARTITION_COLUMN, "customer_id").agg(
        F.count("session_id").alias("sessions"),  # as count(DISTINCT ...), a NULL session is no session
        *[F.sum(name).alias(name) for _, name in ACTIVITY_EVENT_COUNTS],
        F.min("_first_event_ts").alias("_first_event_ts"),
        F.max("_last_event_ts").alias("_last_event_ts"),
    )


def latest_customer_on(customers: DataFrame, days: DataFrame, lookback_days: int) -> DataFrame:
    """For each day ``_run_date`` of ``days`` and each customer, the customer's latest silver row (greatest
    ``updated_at``; of a day with several versions, its last) of the days ``[_run_date - lookback_days,
    _run_date]``: ``customer_id, _run_date, segment, country_code``; customers with none in reach are
    absent. One aggregate, whichever customers were active."""
    candidates = (
        customers.select(
            "customer_id", "segment", "country_code", "updated_at", F.col(PARTITION_COLUMN).alias("_customer_day")
        )
        .crossJoin(days.select(F.col(PARTITION_COLUMN).alias(AS_OF)))
        .where(
            (F.col("_customer_day") <= F.col(AS_OF))
            & (F.col("_customer_day") >= F.date_sub(F.col(AS_OF), lookback_days))
        )
    )
    latest = F.max_by(F.struct("segment", "country_code"), "updated_at")
    return (
        candidates.groupBy("customer_id", F.col(AS_OF).alias(PARTITION_COLUMN))
        .agg(latest.alias("_customer"))
        .select("customer_id", PARTITION_COLUMN, "_customer.segment", "_customer.country_code")
    )


def customer_activity(
    orders: DataFrame,
    events: DataFrame,
    customers: DataFrame,
    customer_lookback_days: int = DEFAULT_LOOKBACK_DAYS,
) -> DataFrame:
    """Per customer and day: orders placed and revenue (silver orders), sessions and event counts (silver
    behavior events of the day), with the customer's latest known segment and country (silver customers,
    bounded lookback). Anonymous events are not attributed."""
    activity = order_activity(orders).join(event_activity(events), [PARTITION_COLUMN, "customer_id"], "full_outer")
    # Looked up from the days alone, not from ``activity``'s keys: the engine would aggregate the day's
    # events a second time for them.
    days = orders.select(PARTITION_COLUMN).union(events.select(PARTITION_COLUMN)).distinct()
    customer = latest_customer_on(customers, days, customer_lookback_days)
    orders_placed = F.coalesce(F.col("orders"), F.lit(0).cast("bigint"))
    sessions = F.coalesce(F.col("sessions"), F.lit(0).cast("bigint"))
    return activity.join(customer, [PARTITION_COLUMN, "customer_id"], "left").select(
        F.col(PARTITION_COLUMN).alias("activity_date"),
        "customer_id",
        "segment",
        "country_code",
        orders_placed.alias("orders"),
        F.coalesce(F.col("revenue"), F.lit(0)).cast("decimal(14,2)").alias("revenue"),
        sessions.alias("sessions"),
        *(F.coalesce(F.col(name), F.lit(0).cast("bigint")).alias(name) for _, name in ACTIVITY_EVENT_COUNTS),
        F.when(sessions > 0, orders_placed.cast("double") / sessions.cast("double")).alias("conversion_rate"),
        F.least("_first_event_ts", "_first_order_ts").alias("first_seen_ts"),
        F.greatest("_last_event_ts", "_last_order_ts").alias("last_seen_ts"),
        PARTITION_COLUMN,
    )
