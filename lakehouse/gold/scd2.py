"""SCD Type 2 history of ``gold/dim_customer``, as pure DataFrame logic.

Nothing here knows Dagster, reads a table or writes one: DataFrames in, DataFrames and a ``MERGE``
statement out, so every rule is unit-tested on small frames, on the embedded engine and on classic Apache
Spark alike. ``lakehouse.gold.merges`` reads the tables and issues the one ``MERGE`` of a run.

The rules (docs/model.md)
-------------------------
The source rows are ``silver/customers`` rows: every distinct version of a customer, one row per
``customer_id`` and ``updated_at`` (a customer changed three times on one day has three rows in that day's
partition, and each change can open a version). A customer's history is its source rows ordered by
``updated_at`` (never by arrival), read in that order:

* The first row opens a version (``valid_from`` = its ``updated_at``).
* A row whose **tracked** attributes (``email_hash``, ``country_code``, ``city``, ``segment``,
  ``loyalty_tier``; compared through ``row_hash``) differ from the open version's closes that version at
  the row's ``updated_at`` and opens a new one there: ``valid_to`` of a version is ``valid_from`` of the
  next, so intervals are contiguous and never overlap.
* A row with the same tracked attributes opens nothing. Its **untracked** attributes
  (``first_name_hash``, ``last_name_hash``, ``phone_hash``) overwrite the open version's in place (SCD1);
  a row identical to the open version changes nothing at all.
* A **soft delete** (``is_deleted``) closes the open version at the delete's ``updated_at``:
  ``is_deleted`` true, and the row stays ``is_current`` so that the key keeps exactly one current row. The
  delete's own attribute values are not applied (it closes, it does not change). A further delete changes
  nothing; a later row that is not deleted reopens the customer with a new version, so the interval
  between the delete and the reopening is covered by no version. A customer whose first known row is a
  delete gets one zero-length version ``[t, t)``, deleted and current: the key exists, valid at no instant.
* Several changes within one day are read like changes on different days: each tracked change opens a
  version at its own ``updated_at``, so a version may last minutes, and an order placed between two
  changes of a day belongs to the earlier one (``lakehouse.gold.star.with_customer_key``).
* The last version is current; ``valid_to`` is ``9999-12-31 00:00:00`` while it is open.
* ``customer_key = xxhash64(customer_id, valid_from)`` with the sign bit cleared: the same version
  always gets the same key, so re-runs and the ``MERGE`` are idempotent. ``0`` is the unknown member
  (``customer_id = -1``), which always exists.
* ``_run_date`` is the greatest silver partition among the rows that set the version's content: the row
  that opened it, rows that changed its untracked attributes, and the row that closed it. A row that
  changes nothing does not touch it, so an unchanged customer's rows stay byte-identical.

Late and out-of-order rows
--------------------------
A run does not patch the current row from its window alone. For every customer that the window's
silver partitions hold, it recomputes the customer's **whole** history from all of that customer's
silver rows (every partition), compares it with the customer's rows in the dimension, and applies the
difference (insert / update / delete by ``customer_key``) in one ``MERGE``. The history is therefore a
function of the set of silver rows, not of the order in which they arrived: a late row lands at its
place in time, splitting the interval it falls into (the earlier part keeps its key, the later part is a
new version ending where the next version begins), and applying days one by one, as one window, in any
order, or twice gives the same table.

Why the silver rows and not the dimension alone: the dimension forgets rows that changed no tracked
attribute. With versions ``A [t1, inf)`` and an untracked change at ``t2`` absorbed into it, a late
tracked change ``C`` at ``t1 < t < t2`` must give ``A [t1, t)``, ``C [t, t2)``, ``A [t2, inf)``: the
current row is the source row with the greatest ``updated_at``, which is ``A``. Patching the
dimension would make ``C`` current, since nothing in it remembers ``t2``.

Consequences: a version's ``valid_from`` can move when an earlier row with the same tracked attributes
arrives late (an out-of-order backfill), which changes its ``customer_key``: the old row is deleted and a
fact keyed to it must be re-keyed. Rows of the customers a window touches are rebuilt from silver as it is
now; a customer that a window does not touch is left as it is.
"""

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from lakehouse.partitions import PARTITION_COLUMN

CUSTOMER_KEY = "customer_key"
CUSTOMER_ID = "customer_id"
TRACKED_ATTRIBUTES: tuple[str, ...] = ("email_hash", "country_code", "city", "segment", "loyalty_tier")
"""A change of any of these opens a new version."""
UNTRACKED_ATTRIBUTES: tuple[str, ...] = ("first_name_hash", "last_name_hash", "phone_hash")
"""Updated in place on the version they fall into (SCD1)."""

DIM_CUSTOMER_COLUMNS: tuple[tuple[str, str], ...] = (
    (CUSTOMER_KEY, "bigint"),
    (CUSTOMER_ID, "bigint"),
    *((name, "string") for name in TRACKED_ATTRIBUTES),
    *((name, "string") for name in UNTRACKED_ATTRIBUTES),
    ("row_hash", "string"),
    ("valid_from", "timestamp_ntz"),
    ("valid_to", "timestamp_ntz"),
    ("is_current", "boolean"),
    ("is_deleted", "boolean"),
    (PARTITION_COLUMN, "date"),
)
"""gold/dim_customer, in table order (the contract's columns, then ``_run_date``)."""

SILVER_CUSTOMER_COLUMNS: tuple[tuple[str, str], ...] = (
    (CUSTOMER_ID, "bigint"),
    *((name, "string") for name in TRACKED_ATTRIBUTES),
    *((name, "string") for name in UNTRACKED_ATTRIBUTES),
    ("updated_at", "timestamp_ntz"),
    ("is_deleted", "boolean"),
    (PARTITION_COLUMN, "date"),
)
"""The silver/customers columns the history is built from (the others are not needed)."""

OPEN_END = "9999-12-31 00:00:00"
"""``valid_to`` of a version that is still open."""
UNKNOWN_KEY = 0
UNKNOWN_CUSTOMER_ID = -1
UNKNOWN_VALID_FROM = "1900-01-01 00:00:00"
UNKNOWN_TEXT = "unknown"
UNKNOWN_COUNTRY = "ZZ"
"""ISO-3166 user-assigned code, used by CLDR for an unknown region; keeps the two-letter format."""

CHANGE_COLUMN = "_change"
"""What the ``MERGE`` does with a source row: one of ``INSERT``, ``UPDATE``, ``DELETE``."""
INSERT, UPDATE, DELETE = "insert", "update", "delete"

_MAX_LONG = 0x7FFFFFFFFFFFFFFF
_FIELD_SEPARATOR = "\u001f"  # ASCII unit separator: cannot occur in the hashed text columns
_NULL_MARKER = "\u001e"  # ASCII record separator stands for NULL, so NULL and '' hash differently

# Internal columns of customer_versions.
_TRACKED_HASH = "_scd_tracked_hash"
_UNTRACKED_HASH = "_scd_untracked_hash"
_OPENS = "_scd_opens"
_CLOSES = "_scd_closes"


def surrogate_key(*columns: Column | str) -> Column:
    """``xxhash64`` of the columns with the sign bit cleared: deterministic, positive, a bigint.

    Identical on Sail and Apache Spark (Spark's xxhash64, seed 42), so keys do not depend on the engine.
    """
    return F.xxhash64(*columns).bitwiseAND(F.lit(_MAX_LONG))


def attribute_hash(columns: tuple[str, ...]) -> Column:
    """SHA-256 (hex) of the columns' text, separated and with NULL distinguished from ''."""
    parts = [F.coalesce(F.col(name).cast("string"), F.lit(_NULL_MARKER)) for name in columns]
    return F.sha2(F.concat_ws(_FIELD_SEPARATOR, *parts), 256)


def _source_rows(history: DataFrame) -> DataFrame:
    """The silver rows in the dimension's types, one per customer and ``updated_at``.

    Silver holds one row per customer and ``updated_at`` within a partition, and a partition's rows all
    have ``updated_at`` in its day (the first partition: on or before it), so two rows with one
    ``updated_at`` only arise from a stale copy in another partition; the latest partition wins, ties broken by content so that the choice never depends
    on the engine's row order.
    """
    typed = history.select(*[F.col(name).cast(type_).alias(name) for name, type_ in SILVER_CUSTOMER_COLUMNS])
    hashed = typed.withColumn(_TRACKED_HASH, attribute_hash(TRACKED_ATTRIBUTES)).withColumn(
        _UNTRACKED_HASH, attribute_hash(UNTRACKED_ATTRIBUTES)
    )
    same_instant = Window.partitionBy(CUSTOMER_ID, "updated_at").orderBy(
        F.col(PARTITION_COLUMN).desc_nulls_last(),
        F.col("is_deleted").desc(),
        F.col(_TRACKED_HASH),
        F.col(_UNTRACKED_HASH),
    )
    return (
        hashed.withColumn("_scd_rank", F.row_number().over(same_instant))
        .where("_scd_rank = 1")
        .drop("_scd_rank")
    )


def customer_versions(history: DataFrame) -> DataFrame:
    """Every SCD2 version of the customers in ``history`` (silver/customers rows, any partitions), in
    the columns of ``DIM_CUSTOMER_COLUMNS``. See the module docstring for the rules.

    The result depends only on the set of rows in ``history``, not on their order or on which run
    delivered them: that is what makes late rows, out-of-order backfills and re-runs converge.

    How: two passes of window functions over each customer's rows in ``updated_at`` order and no join (an
    engine may compute the windows once per side of a join). The first pass looks one row back to mark
    the rows that open a version, close one (a delete) or change untracked attributes; the second carries
    each version's start forward and looks one row ahead. A version is then read off its *last* row that
    is not a delete: its tracked attributes are the version's (a row with other ones would have opened a
    new version), its untracked ones are the latest, and the row after it (an opening, a delete, or none)
    says how the version ends.
    """
    rows = _source_rows(history)
    by_time = Window.partitionBy(CUSTOMER_ID).orderBy("updated_at")
    so_far = by_time.rowsBetween(Window.unboundedPreceding, Window.currentRow)
    # Sail evaluates each window function separately for every customer, so related values travel
    # together in one struct-valued lag / lead.
    previous = F.lag(F.struct("is_deleted", _TRACKED_HASH, _UNTRACKED_HASH)).over(by_time)
    rows = rows.select("*", previous.alias("_scd_previous"))
    deleted, previous = F.col("is_deleted"), F.col("_scd_previous")
    first = previous.isNull()
    # A version is open after any row that is not a delete, so the previous row says whether one is open.
    opens = F.when(deleted, first).otherwise(
        first | previous["is_deleted"] | (previous[_TRACKED_HASH] != F.col(_TRACKED_HASH))
    )
    closes = deleted & (first | ~previous["is_deleted"])
    # Rows that set a version's content: its opening, a change of its untracked attributes (a row that
    # opens nothing follows a row of its own version), its closing delete.
    untracked_changed = ~deleted & ~first & (previous[_UNTRACKED_HASH] != F.col(_UNTRACKED_HASH))
    rows = rows.select(
        "*", opens.alias(_OPENS), closes.alias(_CLOSES), untracked_changed.alias("_scd_untracked_changed")
    )
    sets_content = F.col(_OPENS) | F.col(_CLOSES) | F.col("_scd_untracked_changed")

    rows = rows.select(
        "*",
        F.max(F.when(F.col(_OPENS), F.col("updated_at"))).over(so_far).alias("_scd_valid_from"),
        # Silver partition D holds the rows changed on day D, so partitions grow with updated_at and the
        # latest content-setting partition so far is the greatest one of the current version.
        F.max(F.when(sets_content, F.col(PARTITION_COLUMN))).over(so_far).alias("_scd_content_run_date"),
        F.lead(F.struct("updated_at", "is_deleted", _OPENS, PARTITION_COLUMN))
        .over(by_time)
        .alias("_scd_next"),
        F.max(F.col(_OPENS).cast("int"))
        .over(by_time.rowsBetween(1, Window.unboundedFollowing))
        .alias("_scd_reopened"),
    )

    next_row = F.col("_scd_next")
    next_at, next_deleted, next_opens = next_row["updated_at"], next_row["is_deleted"], next_row[_OPENS]
    zero_length = F.col(_OPENS) & F.col(_CLOSES)  # first seen deleted: the delete opens and closes at once
    last_of_version = (~deleted & (next_row.isNull() | next_opens | next_deleted)) | zero_length
    ends_at_next_row = ~zero_length & next_row.isNotNull()
    valid_to = (
        F.when(zero_length, F.col("updated_at"))
        .when(ends_at_next_row, next_at)
        .otherwise(F.lit(OPEN_END).cast("timestamp_ntz"))
    )
    is_deleted = zero_length | (ends_at_next_row & next_deleted)
    content_run_date = F.col("_scd_content_run_date")
    run_date = F.when(ends_at_next_row, F.greatest(content_run_date, next_row[PARTITION_COLUMN])).otherwise(
        content_run_date
    )
    return rows.where(last_of_version).select(
        surrogate_key(F.col(CUSTOMER_ID), F.col("_scd_valid_from")).alias(CUSTOMER_KEY),
        F.col(CUSTOMER_ID),
        *[F.col(name) for name in TRACKED_ATTRIBUTES],
        *[F.col(name) for name in UNTRACKED_ATTRIBUTES],
        F.col(_TRACKED_HASH).alias("row_hash"),
        F.col("_scd_valid_from").alias("valid_from"),
        valid_to.alias("valid_to"),
        (F.coalesce(F.col("_scd_reopened"), F.lit(0)) == 0).alias("is_current"),
        is_deleted.alias("is_deleted"),
        run_date.alias(PARTITION_COLUMN),
    )


def unknown_customer(spark: SparkSession) -> DataFrame:
    """The unknown member: ``customer_key = 0``, ``customer_id = -1``, valid from 1900 to the open end.

    Facts whose customer the dimension does not know yet point at it. Text attributes say ``unknown``
    (the country ``ZZ``); the hashes are NULL, since there is no name, e-mail or phone to hash.
    """
    attributes = spark.range(1).select(
        F.lit(UNKNOWN_KEY).cast("bigint").alias(CUSTOMER_KEY),
        F.lit(UNKNOWN_CUSTOMER_ID).cast("bigint").alias(CUSTOMER_ID),
        F.lit(None).cast("string").alias("email_hash"),
        F.lit(UNKNOWN_COUNTRY).alias("country_code"),
        F.lit(UNKNOWN_TEXT).alias("city"),
        F.lit(UNKNOWN_TEXT).alias("segment"),
        F.lit(UNKNOWN_TEXT).alias("loyalty_tier"),
        *[F.lit(None).cast("string").alias(name) for name in UNTRACKED_ATTRIBUTES],
    )
    return attributes.select(
        "*",
        attribute_hash(TRACKED_ATTRIBUTES).alias("row_hash"),
        F.lit(UNKNOWN_VALID_FROM).cast("timestamp_ntz").alias("valid_from"),
        F.lit(OPEN_END).cast("timestamp_ntz").alias("valid_to"),
        F.lit(True).alias("is_current"),
        F.lit(False).alias("is_deleted"),
        F.lit(None).cast("date").alias(PARTITION_COLUMN),
    )


def customer_changes(desired: DataFrame, existing: DataFrame) -> DataFrame:
    """The ``MERGE`` source: rows of ``desired`` that ``existing`` lacks (``insert``) or holds with other
    values (``update``), and rows of ``existing`` that ``desired`` lacks (``delete``); identical rows are
    left out, so applying the same history twice changes nothing.

    ``desired`` is the complete dimension content of some customers (``customer_versions`` plus, if wanted,
    the unknown member); ``existing`` the dimension's current rows of exactly those customers. Both have
    the columns of ``DIM_CUSTOMER_COLUMNS``; the result has them plus ``CHANGE_COLUMN``.
    """
    columns = [name for name, _ in DIM_CUSTOMER_COLUMNS]
    values = [name for name in columns if name != CUSTOMER_KEY]
    wanted = desired.select(
        CUSTOMER_KEY,
        *[F.col(name).alias(f"_new_{name}") for name in values],
        F.lit(True).alias("_in_desired"),
    )
    present = existing.select(
        CUSTOMER_KEY,
        *[F.col(name).alias(f"_old_{name}") for name in values],
        F.lit(True).alias("_in_existing"),
    )
    paired = wanted.join(present, CUSTOMER_KEY, "full_outer")
    identical = F.lit(True)
    for name in values:
        identical = identical & F.col(f"_new_{name}").eqNullSafe(F.col(f"_old_{name}"))
    change = (
        F.when(F.col("_in_existing").isNull(), F.lit(INSERT))
        .when(F.col("_in_desired").isNull(), F.lit(DELETE))
        .when(~identical, F.lit(UPDATE))
    )
    gone = F.col("_in_desired").isNull()
    return (
        paired.select(
            F.col(CUSTOMER_KEY),
            *[
                F.when(gone, F.col(f"_old_{name}")).otherwise(F.col(f"_new_{name}")).alias(name)
                for name in values
            ],
            change.alias(CHANGE_COLUMN),
        )
        .where(F.col(CHANGE_COLUMN).isNotNull())
        .select(*columns, CHANGE_COLUMN)
    )


def merge_statement(table_uri: str, source_view: str) -> str:
    """The one ``MERGE INTO`` of a run: apply ``customer_changes`` (registered as ``source_view``).

    Only standard Delta clauses (``WHEN MATCHED AND ... THEN DELETE``, ``WHEN MATCHED THEN UPDATE SET``,
    ``WHEN NOT MATCHED AND ... THEN INSERT``), so it runs on Sail and on Apache Spark with Delta alike. A
    row is matched on ``customer_key`` alone: the key is the version's identity.
    """
    columns = [name for name, _ in DIM_CUSTOMER_COLUMNS]
    assignments = ", ".join(f"`{name}` = source.`{name}`" for name in columns if name != CUSTOMER_KEY)
    names = ", ".join(f"`{name}`" for name in columns)
    values = ", ".join(f"source.`{name}`" for name in columns)
    return (
        f"MERGE INTO delta.`{table_uri}` AS target USING `{source_view}` AS source "
        f"ON target.`{CUSTOMER_KEY}` = source.`{CUSTOMER_KEY}` "
        f"WHEN MATCHED AND source.`{CHANGE_COLUMN}` = '{DELETE}' THEN DELETE "
        f"WHEN MATCHED THEN UPDATE SET {assignments} "
        f"WHEN NOT MATCHED AND source.`{CHANGE_COLUMN}` <> '{DELETE}' THEN INSERT ({names}) VALUES ({values})"
    )
