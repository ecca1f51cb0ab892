"""The queries that hold the gold facts against silver, per partition of a run's window, and the report
of a fact's foreign keys against its dimensions.

DataFrames in, DataFrames out, like ``lakehouse.gold.star``: nothing here knows Dagster or reads a table.
``lakehouse.gold.checks`` turns their rows into the facts' blocking check results.
"""

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from lakehouse.gold.star import CUSTOMER_DAY_KEY, ORDER_LINE_KEY, UNKNOWN_KEY
from lakehouse.partitions import PARTITION_COLUMN, DayWindow

ACTIVITY_RECONCILED_SUMS: tuple[str, ...] = (
    "orders",
    "revenue",
    "sessions",
    "page_views",
    "product_views",
    "add_to_carts",
    "purchases",
)
"""The metrics of a customer's day whose sums silver and gold must agree on."""


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


def reconcile_order_lines(
    silver_orders: DataFrame,
    fact_orders: DataFrame,
    window: DayWindow,
    *,
    fact_lines: DataFrame | None = None,
) -> DataFrame:
    """Silver and gold order lines compared per partition of ``window``; one row per day present
    on either side, ``reconciled`` true when the day is consistent.

    ``fact_lines``: the rows of ``fact_orders`` that can hold a silver line of the window, looked up by
    line (default: all of ``fact_orders``); a caller that knows them (``lakehouse.gold.pruning.within``
    the window's order ids) spares the scan of the whole history. The window's own fact rows are always
    read from ``fact_orders``, so a row there that no silver line accounts for is still seen.

    For every silver line of the day (``silver_lines``):

    * ``missing_lines``: no fact row at all (a lost line);
    * ``behind_lines``: the fact row holds an older state than silver (``updated_at`` smaller, or equal
      but from a later partition): a reverted or never-applied change;
    * ``lines_here``: the fact row holds exactly this state in this partition; of those,
      ``mismatched_lines`` differ from silver in quantity or line amount.

    ``lines_in_several_rows``: the fact rows found for the day's silver lines beyond one per line, wherever
    they live (a line left in a partition that a ``MERGE`` did not read, beside its copy in the window).

    For the fact side, ``fact_rows`` rows live in the day, ``duplicate_rows`` of them share their line
    with another row of the window. Consistent means no missing, behind, mismatched or duplicate row, no
    line in several rows, ``fact_rows == lines_here`` (every fact row of the day comes from that silver
    day), and equal sums of
    ``line_amount`` and ``quantity`` over those rows. A line whose fact row holds a newer state, or the
    same state in an earlier partition, is accounted for in the day that holds it.
    """
    silver = silver_orders.where(window.filter()).select(
        *ORDER_LINE_KEY,
        F.col("updated_at").alias("_s_updated_at"),
        F.col(PARTITION_COLUMN).alias("_s_run_date"),
        F.col("line_amount").alias("_s_amount"),
        F.col("quantity").alias("_s_quantity"),
    )
    fact = (fact_orders if fact_lines is None else fact_lines).select(
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
    # One row per silver line and fact row holding it: a line held twice appears twice.
    silver_lines = silver.groupBy(F.col("_s_run_date").alias(PARTITION_COLUMN)).agg(
        F.count(F.lit(1)).alias("silver_lines")
    )
    silver_side = joined.groupBy(F.col("_s_run_date").alias(PARTITION_COLUMN)).agg(
        F.count(F.lit(1)).alias("_pairs"),
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
        fact_orders.where(window.filter())
        .withColumn("_copies", F.count(F.lit(1)).over(copies))
        .groupBy(PARTITION_COLUMN)
        .agg(
            F.count(F.lit(1)).alias("fact_rows"),
            F.count_if(F.col("_copies") > 1).alias("duplicate_rows"),
            F.sum("line_amount").alias("fact_line_amount"),
            F.sum("quantity").alias("fact_quantity"),
        )
    )
    silver_side = silver_side.join(silver_lines, PARTITION_COLUMN).withColumn(
        "lines_in_several_rows", F.col("_pairs") - F.col("silver_lines")
    )
    counts = (
        "silver_lines",
        "lines_in_several_rows",
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
        & (F.col("lines_in_several_rows") == 0)
        & (F.col("behind_lines") == 0)
        & (F.col("mismatched_lines") == 0)
        & (F.col("duplicate_rows") == 0)
        & (F.col("lines_here") == F.col("fact_rows"))
        & (F.col("silver_line_amount") == F.col("fact_line_amount"))
        & (F.col("silver_quantity") == F.col("fact_quantity")),
    ).orderBy(PARTITION_COLUMN)


def reconcile_customer_activity(
    silver_activity: DataFrame, fact_activity: DataFrame, window: DayWindow
) -> DataFrame:
    """Silver and gold customer days compared per partition of ``window``; one row per day present
    on either side, ``reconciled`` true when the day is consistent.

    Per day: ``silver_rows`` and ``fact_rows``; ``missing_rows`` (silver customer days absent from the
    fact) and ``extra_rows`` (fact customer days absent from silver); ``silver_<m>`` / ``fact_<m>``, the
    sums of every metric in ``ACTIVITY_RECONCILED_SUMS``, each side summed on its own (so a duplicated
    row shows as a difference). Consistent means no missing or extra customer day, equal row counts and
    equal sums.
    """
    in_window = window.filter()

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
