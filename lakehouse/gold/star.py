"""The star schema's logic for the gold facts: surrogate-key lookups, unknown members, re-keying of late
members, and the queries that reconcile the facts with silver.

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
"""

from collections.abc import Callable, Sequence
from datetime import date

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from lakehouse.ranking import first_per_key

UNKNOWN_KEY = 0
"""The surrogate key of every dimension's unknown member."""

PARTITION_COLUMN = "_run_date"
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

ACTIVITY_RECONCILED_SUMS: tuple[str, ...] = (
    "orders",
    "revenue",
    "sessions",
    "page_views",
    "product_views",
    "add_to_carts",
    "purchases",
)

# --------------------------------------------------------------------------------------------- keys


def with_customer_key(rows: DataFrame, dim_customer: DataFrame, *, as_of: Column) -> DataFrame:
    """``rows`` plus ``customer_key``: the version of ``rows.customer_id`` valid at ``as_of``.

    Each row of ``rows`` gets exactly one key.

    The version valid at ``as_of`` (``valid_from <= as_of < valid_to``) is, because SCD2 intervals of a
    customer never overlap, the latest version that had started by ``as_of``; that is how it is found, so
    one ordering also covers the instants no interval contains:

    * after a soft delete closed the history (or in the gap before a re-activation), the latest version
      that had started, i.e. the one the customer last had;
    * before the first version (the dimension opens a customer at the ``updated_at`` of the first silver
      day that saw it, which can be later than an order placed the same day), the first version.

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


# ------------------------------------------------------------------------------------ integrity


def foreign_key_report(
    facts: DataFrame, column: str, dimension: DataFrame, dimension_column: str
) -> DataFrame:
    """One row: ``rows``, ``unresolved`` (values, NULL included, that match no dimension row) and
    ``unknown_member`` (rows keyed ``0``, which resolve to the unknown member when it exists)."""
    keys = (
        dimension.select(F.col(dimension_column).alias("_dimension_key"))
        .distinct()
        .withColumn("_resolved", F.lit(True))
    )
    joined = facts.select(F.col(column).alias("_fact_key")).join(
        keys, F.col("_fact_key") == F.col("_dimension_key"), "left"
    )
    return joined.agg(
        F.count(F.lit(1)).alias("rows"),
        F.count_if(F.col("_resolved").isNull()).alias("unresolved"),
        F.count_if(F.col("_fact_key") == UNKNOWN_KEY).alias("unknown_member"),
    )


def _in_window(start: date, end: date) -> Column:
    return (F.col(PARTITION_COLUMN) >= F.lit(start)) & (F.col(PARTITION_COLUMN) < F.lit(end))


def reconcile_order_lines(
    silver_orders: DataFrame, fact_orders: DataFrame, start: date, end: date
) -> DataFrame:
    """Silver and gold order lines compared per partition of ``[start, end)``; one row per day present
    on either side, ``reconciled`` true when the day is consistent.

    For every silver line of the day (``silver_lines``):

    * ``missing_lines``: no fact row at all (a lost line);
    * ``behind_lines``: the fact row holds an older state than silver (``updated_at`` smaller, or equal
      but from a later partition): a reverted or never-applied change;
    * ``lines_here``: the fact row holds exactly this state in this partition; of those,
      ``mismatched_lines`` differ from silver in quantity or line amount.

    For the fact side, ``fact_rows`` rows live in the day, ``duplicate_rows`` of them share their line
    with another row of the window. Consistent means no missing, behind, mismatched or duplicate row,
    ``fact_rows == lines_here`` (every fact row of the day comes from that silver day), and equal sums of
    ``line_amount`` and ``quantity`` over those rows. A line whose fact row holds a newer state, or the
    same state in an earlier partition, is accounted for in the day that holds it.
    """
    silver = silver_orders.where(_in_window(start, end)).select(
        *ORDER_LINE_KEY,
        F.col("updated_at").alias("_s_updated_at"),
        F.col(PARTITION_COLUMN).alias("_s_run_date"),
        F.col("line_amount").alias("_s_amount"),
        F.col("quantity").alias("_s_quantity"),
    )
    fact = fact_orders.select(
        *ORDER_LINE_KEY,
        F.col("updated_at").alias("_f_updated_at"),
        F.col(PARTITION_COLUMN).alias("_f_run_date"),
        F.col("line_amount").alias("_f_amount"),
        F.col("quantity").alias("_f_quantity"),
        F.lit(True).alias("_in_fact"),
    )
    joined = silver.join(fact, list(ORDER_LINE_KEY), "left")
    missing = F.col("_in_fact").isNull()
    same_state = F.col("_f_updated_at") == F.col("_s_updated_at")
    behind = ~missing & (
        (F.col("_f_updated_at") < F.col("_s_updated_at"))
        | (same_state & (F.col("_f_run_date") > F.col("_s_run_date")))
    )
    here = ~missing & same_state & (F.col("_f_run_date") == F.col("_s_run_date"))
    mismatched = here & (
        ~F.col("_f_amount").eqNullSafe(F.col("_s_amount"))
        | ~F.col("_f_quantity").eqNullSafe(F.col("_s_quantity"))
    )
    silver_side = joined.groupBy(F.col("_s_run_date").alias(PARTITION_COLUMN)).agg(
        F.count(F.lit(1)).alias("silver_lines"),
        F.count_if(missing).alias("missing_lines"),
        F.count_if(behind).alias("behind_lines"),
        F.count_if(here).alias("lines_here"),
        F.count_if(mismatched).alias("mismatched_lines"),
        F.sum(F.when(here, F.col("_s_amount"))).alias("silver_line_amount"),
        F.sum(F.when(here, F.col("_s_quantity"))).alias("silver_quantity"),
    )
    # A duplicated line would also double its silver line in the join above: counted on its own.
    copies = Window.partitionBy(*[F.col(c) for c in ORDER_LINE_KEY])
    fact_side = (
        fact_orders.where(_in_window(start, end))
        .withColumn("_copies", F.count(F.lit(1)).over(copies))
        .groupBy(PARTITION_COLUMN)
        .agg(
            F.count(F.lit(1)).alias("fact_rows"),
            F.count_if(F.col("_copies") > 1).alias("duplicate_rows"),
            F.sum("line_amount").alias("fact_line_amount"),
            F.sum("quantity").alias("fact_quantity"),
        )
    )
    counts = (
        "silver_lines",
        "missing_lines",
        "behind_lines",
        "lines_here",
        "mismatched_lines",
        "fact_rows",
        "duplicate_rows",
    )
    sums = ("silver_line_amount", "fact_line_amount", "silver_quantity", "fact_quantity")
    day = silver_side.join(fact_side, PARTITION_COLUMN, "full").select(
        PARTITION_COLUMN,
        *[F.coalesce(F.col(c), F.lit(0)).cast("bigint").alias(c) for c in counts],
        *[F.coalesce(F.col(c), F.lit(0)).cast("decimal(38,2)").alias(c) for c in sums],
    )
    return day.withColumn(
        "reconciled",
        (F.col("missing_lines") == 0)
        & (F.col("behind_lines") == 0)
        & (F.col("mismatched_lines") == 0)
        & (F.col("duplicate_rows") == 0)
        & (F.col("lines_here") == F.col("fact_rows"))
        & (F.col("silver_line_amount") == F.col("fact_line_amount"))
        & (F.col("silver_quantity") == F.col("fact_quantity")),
    ).orderBy(PARTITION_COLUMN)


def reconcile_customer_activity(
    silver_activity: DataFrame, fact_activity: DataFrame, start: date, end: date
) -> DataFrame:
    """Silver and gold customer days compared per partition of ``[start, end)``; one row per day present
    on either side, ``reconciled`` true when the day is consistent.

    Per day: ``silver_rows`` and ``fact_rows``; ``missing_rows`` (silver customer days absent from the
    fact) and ``extra_rows`` (fact customer days absent from silver); ``silver_<m>`` / ``fact_<m>``, the
    sums of every metric in ``ACTIVITY_RECONCILED_SUMS``, each side summed on its own (so a duplicated
    row shows as a difference). Consistent means no missing or extra customer day, equal row counts and
    equal sums.
    """
    in_window = _in_window(start, end)

    def totals(df: DataFrame, prefix: str) -> DataFrame:
        # A sum over nothing but NULLs is zero: gold stores silver's NULL counts as 0, which adds nothing.
        return (
            df.where(in_window)
            .groupBy(PARTITION_COLUMN)
            .agg(
                F.count(F.lit(1)).alias(f"{prefix}rows"),
                *[F.coalesce(F.sum(m), F.lit(0)).alias(f"{prefix}{m}") for m in ACTIVITY_RECONCILED_SUMS],
            )
        )

    def days_without_counterpart(df: DataFrame, other: DataFrame, name: str) -> DataFrame:
        keys = list(CUSTOMER_DAY_KEY)
        return (
            df.where(in_window)
            .select(*keys)
            .join(other.where(in_window).select(*keys), keys, "left_anti")
            .groupBy(PARTITION_COLUMN)
            .agg(F.countDistinct(*[F.col(k) for k in keys]).alias(name))
        )

    per_day = (
        totals(silver_activity, "silver_")
        .join(totals(fact_activity, "fact_"), PARTITION_COLUMN, "full")
        .join(
            days_without_counterpart(silver_activity, fact_activity, "missing_rows"), PARTITION_COLUMN, "left"
        )
        .join(
            days_without_counterpart(fact_activity, silver_activity, "extra_rows"), PARTITION_COLUMN, "left"
        )
    )
    counts = ("silver_rows", "fact_rows", "missing_rows", "extra_rows")
    sums = [f"{p}{m}" for m in ACTIVITY_RECONCILED_SUMS for p in ("silver_", "fact_")]
    per_day = per_day.select(
        PARTITION_COLUMN,
        *[F.coalesce(F.col(c), F.lit(0)).cast("bigint").alias(c) for c in counts],
        *[F.coalesce(F.col(c), F.lit(0)).alias(c) for c in sums],
    )
    sums_equal = F.lit(True)
    for metric in ACTIVITY_RECONCILED_SUMS:
        sums_equal = sums_equal & (F.col(f"silver_{metric}") == F.col(f"fact_{metric}"))
    return per_day.withColumn(
        "reconciled",
        (F.col("missing_rows") == 0)
        & (F.col("extra_rows") == 0)
        & (F.col("silver_rows") == F.col("fact_rows"))
        & sums_equal,
    ).orderBy(PARTITION_COLUMN)
