"""The star schema's logic for the gold facts: surrogate-key lookups, unknown members, the fact rows and
the re-keying of late members.

DataFrames in, DataFrames out: nothing here knows Dagster, reads a table or writes one, so every rule is
unit-tested on small frames, on the embedded engine and on classic Apache Spark alike.

Key rules (docs/model.md, gold):

* ``customer_key`` is the ``dim_customer`` version valid at an instant (``order_ts`` for an order line,
  the end of the day for a customer's day of activity). A customer the dimension does not know yet gets
  the unknown member ``0``; a known customer always gets one of its versions (see
  ``with_customer_key`` for instants outside its history).
* ``product_key`` is the ``dim_product`` row of the product, ``0`` when unknown.
* date keys are the ``dim_date`` row of the day, ``0`` outside the calendar.
* A fact keyed ``0`` is never dropped; ``rekeyed_order_lines`` / ``rekeyed_activity_rows`` find the ones
  whose member has arrived since, so the caller can update them in place.

The queries that hold the facts against silver are in ``lakehouse.gold.reconciliation``.
"""

from collections.abc import Callable, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakehouse.partitions import PARTITION_COLUMN
from lakehouse.ranking import first_per_key

UNKNOWN_KEY = 0
"""The surrogate key of every dimension's unknown member."""

ORDER_LINE_KEY: tuple[str, ...] = ("order_id", "line_number")
CUSTOMER_DAY_KEY: tuple[str, ...] = ("customer_id", PARTITION_COLUMN)

FACT_ORDERS_COLUMNS: tuple[tuple[str, str], ...] = (
    ("order_id", "bigint"),
    ("line_number", "bigint"),
    ("customer_key", "bigint"),
    ("product_key", "bigint"),
    ("order_date_key", "int"),
    ("customer_id", "bigint"),
    ("product_id", "bigint"),
    ("order_ts", "timestamp_ntz"),
    ("status", "string"),
    ("channel", "string"),
    ("currency", "string"),
    ("quantity", "bigint"),
    ("unit_price", "decimal(12,2)"),
    ("discount_amount", "decimal(12,2)"),
    ("line_amount", "decimal(14,2)"),
    ("updated_at", "timestamp_ntz"),
    (PARTITION_COLUMN, "date"),
)
"""gold/fact_orders, in table order (the contract's columns, then the partition column)."""

ACTIVITY_COUNTS: tuple[str, ...] = (
    "orders",
    "sessions",
    "page_views",
    "product_views",
    "add_to_carts",
    "purchases",
)
"""Count metrics of a customer's day: a count that silver left NULL is zero, which changes no sum."""

FACT_CUSTOMER_ACTIVITY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("customer_key", "bigint"),
    ("date_key", "int"),
    ("customer_id", "bigint"),
    ("orders", "bigint"),
    ("revenue", "decimal(14,2)"),
    ("sessions", "bigint"),
    ("page_views", "bigint"),
    ("product_views", "bigint"),
    ("add_to_carts", "bigint"),
    ("purchases", "bigint"),
    ("conversion_rate", "double"),
    ("first_seen_ts", "timestamp_ntz"),
    ("last_seen_ts", "timestamp_ntz"),
    (PARTITION_COLUMN, "date"),
)
"""gold/fact_customer_activity, in table order (the contract's columns, then the partition column)."""

# --------------------------------------------------------------------------------------------- keys


def with_customer_key(rows: DataFrame, dim_customer: DataFrame, *, as_of: Column) -> DataFrame:
    """``rows`` plus ``customer_key``: the version of ``rows.customer_id`` valid at ``as_of``.

    Each row of ``rows`` gets exactly one key.

    The version valid at ``as_of`` (``valid_from <= as_of < valid_to``) is, because SCD2 intervals of a
    customer never overlap, the latest version that had started by ``as_of``; that is how it is found, so
    one ordering also covers the instants no interval contains:

    * after a soft delete closed the history (or in the gap before a re-activation), the latest version
      that had started, i.e. the one the customer last had;
    * before the first version (the dimension opens a customer at the ``updated_at`` of its first known
      change, which can be later than an order placed the same day), the first version.

    Instants, not days: a customer changed several times in a day has a version per change, and an order
    placed between two of them gets the earlier one (one placed exactly at a change, the later one).

    So ``0`` means only "this customer is not in the dimension yet", which is what re-keying repairs.

    The lookup is per distinct ``(customer_id, as_of)`` and made of hash aggregates and joins (no window
    over the rows: measured on Sail, a third of the time for a day of order lines).
    """
    versions = (
        dim_customer.where(F.col("customer_key") != UNKNOWN_KEY)
        .groupBy(
            F.col("customer_id").alias("_version_customer_id"), F.col("valid_from").alias("_version_from")
        )
        # one key per version even in a dimension that repeats a valid_from: a row never fans out
        .agg(F.max("customer_key").alias("_version_key"))
    )
    instants = rows.select(F.col("customer_id").alias("_lookup_customer_id"), as_of.alias("_lookup_as_of"))
    started = F.col("_version_from") <= F.col("_lookup_as_of")
    chosen = (
        instants.distinct()
        .join(versions, F.col("_lookup_customer_id") == F.col("_version_customer_id"))
        .groupBy("_lookup_customer_id", "_lookup_as_of")
        .agg(
            # the latest version started by as_of, else (as_of before the history, or NULL) the first one
            F.coalesce(F.max(F.when(started, F.col("_version_from"))), F.min("_version_from")).alias(
                "_chosen_from"
            )
        )
        .join(
            versions,
            (F.col("_lookup_customer_id") == F.col("_version_customer_id"))
            & (F.col("_chosen_from") == F.col("_version_from")),
        )
        .select("_lookup_customer_id", "_lookup_as_of", "_version_key")
    )
    same_instant = (F.col("customer_id") == F.col("_lookup_customer_id")) & F.col("_as_of").eqNullSafe(
        F.col("_lookup_as_of")
    )
    return (
        rows.withColumn("_as_of", as_of)
        .join(chosen, same_instant, "left")
        .withColumn("customer_key", F.coalesce(F.col("_version_key"), F.lit(UNKNOWN_KEY).cast("bigint")))
        .drop("_lookup_customer_id", "_lookup_as_of", "_version_key", "_as_of")
    )


def with_product_key(rows: DataFrame, dim_product: DataFrame) -> DataFrame:
    """``rows`` plus ``product_key``: the ``dim_product`` row of ``rows.product_id`` (SCD1, one per product),
    ``0`` when the product is not in the dimension yet."""
    products = dim_product.where(F.col("product_key") != UNKNOWN_KEY).select(
        F.col("product_id").alias("_product_id"), F.col("product_key").alias("_product_key")
    )
    return (
        rows.join(products, F.col("product_id") == F.col("_product_id"), "left")
        .withColumn("product_key", F.coalesce(F.col("_product_key"), F.lit(UNKNOWN_KEY).cast("bigint")))
        .drop("_product_id", "_product_key")
    )


def with_date_key(rows: DataFrame, dim_date: DataFrame, *, day: Column, key_column: str) -> DataFrame:
    """``rows`` plus ``key_column``: the ``dim_date`` key of ``day``, ``0`` outside the calendar.

    Looked up rather than computed from the date, so a fact never points at a day the dimension lacks.
    """
    calendar = dim_date.where(F.col("date_key") != UNKNOWN_KEY).select(
        F.col("date").alias("_calendar_date"), F.col("date_key").alias("_calendar_key")
    )
    return (
        rows.withColumn("_day", day)
        .join(calendar, F.col("_day") == F.col("_calendar_date"), "left")
        .withColumn(key_column, F.coalesce(F.col("_calendar_key"), F.lit(UNKNOWN_KEY)).cast("int"))
        .drop("_day", "_calendar_date", "_calendar_key")
    )


def end_of_day(day: Column) -> Column:
    """The last microsecond of ``day`` as ``timestamp_ntz``: the instant at which "the version current
    at the end of the day" is valid (a version opened at midnight belongs to the next day)."""
    return F.date_add(day, 1).cast("timestamp_ntz") - F.expr("INTERVAL 1 MICROSECOND")


# ----------------------------------------------------------------------------------------- facts


def latest_line_states(silver_orders: DataFrame) -> DataFrame:
    """One row per order line: its latest state among the given silver partitions.

    Latest = greatest ``updated_at``; of equal states (silver repeats an unchanged line in the partition
    of every day its order changed), the earliest partition, the day the state appeared. The same rule
    decides the MERGE, so a multi-day window and day-by-day runs give the same table.
    """
    return first_per_key(
        silver_orders, ORDER_LINE_KEY, [F.col("updated_at").desc(), F.col(PARTITION_COLUMN).asc()]
    )


def fact_order_lines(
    silver_orders: DataFrame, dim_customer: DataFrame, dim_product: DataFrame, dim_date: DataFrame
) -> DataFrame:
    """fact_orders rows for the lines of the given silver partitions, keyed to the dimensions.

    Each line appears once, in its latest state, with ``_run_date`` = the silver partition holding it.
    """
    lines = latest_line_states(silver_orders)
    keyed = with_customer_key(lines, dim_customer, as_of=F.col("order_ts"))
    keyed = with_product_key(keyed, dim_product)
    keyed = with_date_key(keyed, dim_date, day=F.to_date("order_ts"), key_column="order_date_key")
    return _typed(keyed, FACT_ORDERS_COLUMNS)


def fact_activity_rows(silver_activity: DataFrame, dim_customer: DataFrame, dim_date: DataFrame) -> DataFrame:
    """fact_customer_activity rows for the given silver partitions: silver's metrics, keyed to the
    customer version current at the end of the activity day and to the day."""
    keyed = with_customer_key(silver_activity, dim_customer, as_of=end_of_day(F.col("activity_date")))
    keyed = with_date_key(keyed, dim_date, day=F.col("activity_date"), key_column="date_key")
    keyed = keyed.withColumns({c: F.coalesce(F.col(c), F.lit(0)) for c in ACTIVITY_COUNTS})
    return _typed(keyed, FACT_CUSTOMER_ACTIVITY_COLUMNS)


def _typed(df: DataFrame, columns: Sequence[tuple[str, str]]) -> DataFrame:
    """The table's columns in table order and types, so the schema never depends on the inputs'."""
    return df.select(*[F.col(name).cast(type_).alias(name) for name, type_ in columns])


# ------------------------------------------------------------------------------------- re-keying


def rekeyed_order_lines(
    fact_orders: DataFrame, dim_customer: DataFrame, dim_product: DataFrame, dim_date: DataFrame
) -> DataFrame:
    """The fact_orders lines keyed to an unknown member whose member the dimensions now have, or to a
    dim_customer version that no longer exists.

    Returns ``order_id, line_number, customer_key, product_key, order_date_key``: the new keys, where
    only a key that was ``0`` (or stale) changes (a known key was chosen when the line was written and
    stays). Lines still unresolved are not returned, so the result (the update to apply) is empty once
    nothing is left to repair: bounded by the unknown-member rows, and idempotent.

    A customer key goes stale when an out-of-order backfill moves a version's ``valid_from`` (its
    surrogate key is derived from it, and dim_customer replaces the row): such lines are treated as
    unknown and looked up again, so they never dangle.
    """
    return _rekeyed(
        with_stale_customer_keys_unknown(fact_orders, dim_customer),
        row_key=ORDER_LINE_KEY,
        key_columns=("customer_key", "product_key", "order_date_key"),
        resolve=lambda rows: with_date_key(
            with_product_key(
                with_customer_key(rows, dim_customer, as_of=F.col("order_ts")),
                dim_product,
            ),
            dim_date,
            day=F.to_date("order_ts"),
            key_column="order_date_key",
        ),
        inputs=("customer_id", "product_id", "order_ts"),
    )


def rekeyed_activity_rows(
    fact_activity: DataFrame, dim_customer: DataFrame, dim_date: DataFrame
) -> DataFrame:
    """The fact_customer_activity rows keyed to an unknown member whose member now exists.

    Returns ``customer_id, _run_date, customer_key, date_key``; same rules as ``rekeyed_order_lines``.
    The fact keeps no ``activity_date``: ``_run_date`` is that day (silver/customer_activity's contract).
    """
    return _rekeyed(
        with_stale_customer_keys_unknown(fact_activity, dim_customer),
        row_key=CUSTOMER_DAY_KEY,
        key_columns=("customer_key", "date_key"),
        resolve=lambda rows: with_date_key(
            with_customer_key(rows, dim_customer, as_of=end_of_day(F.col(PARTITION_COLUMN))),
            dim_date,
            day=F.col(PARTITION_COLUMN),
            key_column="date_key",
        ),
        inputs=(),
    )


def with_stale_customer_keys_unknown(fact: DataFrame, dim_customer: DataFrame) -> DataFrame:
    """``customer_key`` set to the unknown member where dim_customer no longer holds that key."""
    known = dim_customer.select(F.col("customer_key").alias("_known_customer_key")).distinct()
    return (
        fact.join(F.broadcast(known), F.col("customer_key") == F.col("_known_customer_key"), "left")
        .withColumn(
            "customer_key",
            F.when(F.col("_known_customer_key").isNull(), F.lit(UNKNOWN_KEY).cast("bigint")).otherwise(
                F.col("customer_key")
            ),
        )
        .drop("_known_customer_key")
    )


def _rekeyed(
    fact: DataFrame,
    *,
    row_key: Sequence[str],
    key_columns: Sequence[str],
    resolve: Callable[[DataFrame], DataFrame],
    inputs: Sequence[str],
) -> DataFrame:
    """Rows with any key ``0``, looked up again by ``resolve`` (which adds ``key_columns`` from the
    business keys in ``row_key`` + ``inputs``); returned with their new keys when one was resolved."""
    any_unknown = F.lit(False)
    for key in key_columns:
        any_unknown = any_unknown | (F.col(key) == UNKNOWN_KEY)
    unknown = fact.where(any_unknown).select(
        *dict.fromkeys([*row_key, *inputs]), *[F.col(k).alias(f"_old_{k}") for k in key_columns]
    )
    resolved = resolve(unknown)
    new_keys = [
        F.when(F.col(f"_old_{k}") == UNKNOWN_KEY, F.col(k)).otherwise(F.col(f"_old_{k}")).alias(k)
        for k in key_columns
    ]
    changed = F.lit(False)
    for key in key_columns:
        changed = changed | ((F.col(f"_old_{key}") == UNKNOWN_KEY) & (F.col(key) != UNKNOWN_KEY))
    return resolved.where(changed).select(*row_key, *new_keys)
