"""Delta Lake IO manager for Spark DataFrames, written through the engine so it runs unchanged on any
Delta-enabled Spark Connect endpoint.

Table location comes from the ``Lake`` it holds: ``["bronze", "orders"]`` lives at ``<root>/bronze/orders``.

Partitioned assets carry a ``_run_date`` DATE column. A write replaces exactly the partitions of the
run's window (one day, or a whole ``BackfillPolicy.single_run`` range) with ``replaceWhere``; the
predicate covers the window's start *and* end, a row outside the window fails the write before its
commit (so none of its rows is written), and the partition column's type is checked against the partitions
definition, so neither a start-only predicate nor a type mismatch can overwrite other partitions.

The output's plan is evaluated once, by the write itself: the refusal of rows outside the window is part
of that evaluation, and the rows written, bytes and version are read from the Delta log the write
committed (``numRecords`` of the files it added), with one delta-rs read of the log before the write and
an incremental one after it.
"""


import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dagster import (
    ConfigurableIOManager,
    InputContext,
    MetadataValue,
    OutputContext,
    TableColumn,
    TableSchema,
)
from pydantic import Field
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakehouse.engine import SparkEngine
from lakehouse.lake import DataFile, Lake
from lakehouse.lake.rejection import WriteScope, version_before_metadata
from lakehouse.observability.metrics import ROW_COUNT, started, with_write_metrics
from lakehouse.partitions import PARTITION_COLUMN, DayWindow

if TYPE_CHECKING:
    from deltalake import DeltaTable

WRITE_MODE_KEY = "delta/write_mode"
MERGE_KEYS_KEY = "delta/merge_keys"
MERGE_SCHEMA_KEY = "delta/merge_schema"
PARTITION_COLUMN_KEY = "delta/partition_column"
UNDATED_ROWS_KEY = "delta/undated_rows"

WRITE_MODES = ("overwrite", "append", "merge")

# Starts the message of the error a write raises at a row outside the run's partitions.
_OUTSIDE_WINDOW = "lakehouse: row outside the run's partitions:"


class DeltaWriteError(Exception):
    """A write was refused before its commit, so the table holds none of its rows; the message names the
    table and the cause."""


class DeltaSparkIOManager(ConfigurableIOManager):
    """Stores Spark DataFrames as Delta tables of the ``lake``, one table per asset key.

    Per-asset behaviour comes from asset definition metadata:
    ``delta/write_mode`` (``overwrite`` default, ``append``, ``merge``), ``delta/merge_keys`` (columns
    matched by ``merge``), ``delta/merge_schema`` (allow new columns), ``delta/partition_column``
    (default ``_run_date``), ``delta/undated_rows`` (the table also holds rows of no day, with a NULL
    partition value, and every write of a partitioned run replaces them whole along with its days).

    Every write reports, as materialization metadata, ``dagster/row_count``, ``bytes_written`` (the size of
    the data files its commits added, from the Delta log), ``duration_seconds`` (what the asset reported
    in its ``Output``'s metadata for its compute, plus the write; see ``lakehouse.observability.metrics``),
    ``delta_version``, ``table_uri``, the write mode, commit retries, the column schema and, for a
    partitioned asset, the days written.
    """

    lake: Lake = Field(description="Where the tables live; its commit retries apply to every write.")
    engine: SparkEngine

    # ---------------------------------------------------------------------------------------- output

    def handle_output(self, context: OutputContext, obj: DataFrame | None) -> None:
        if obj is None:
            # The asset wrote its own table (e.g. a MERGE it issued itself); nothing to store.
            return
        if not isinstance(obj, DataFrame):
            raise DeltaWriteError(
                f"{context.asset_key.to_user_string()}: expected a Spark DataFrame, got {type(obj).__name__}"
            )
        start = started()
        metadata = context.definition_metadata or {}
        window = _run_window(context)
        written = write_frame(
            self.lake,
            obj,
            self.lake.table(context.asset_key),
            mode=metadata.get(WRITE_MODE_KEY, "overwrite"),
            window=window,
            partition_column=metadata.get(PARTITION_COLUMN_KEY, PARTITION_COLUMN),
            merge_keys=metadata.get(MERGE_KEYS_KEY) or (),
            merge_schema=bool(metadata.get(MERGE_SCHEMA_KEY, False)),
            undated=bool(metadata.get(UNDATED_ROWS_KEY, False)),
            log=context.log.warning,
        )
        context.add_output_metadata(
            {
                **written.metadata(declared_schema=metadata.get("dagster/column_schema")),
                **with_write_metrics(context.output_metadata, bytes_written=written.bytes_written, start=start),
            }
        )

    # ----------------------------------------------------------------------------------------- input

    def load_input(self, context: InputContext) -> DataFrame:
        key = context.upstream_output.asset_key if context.upstream_output else context.asset_key
        uri = self.lake.table(key)
        if not self.lake.exists(uri):
            raise FileNotFoundError(f"Delta table {uri} does not exist: materialize {key.to_user_string()} first")
        df = self.engine.spark_session.read.format("delta").load(uri)
        window = _run_window(context)
        if window is None:
            return df
        partition_column = (
            (context.upstream_output.definition_metadata or {}).get(PARTITION_COLUMN_KEY, PARTITION_COLUMN)
            if context.upstream_output
            else PARTITION_COLUMN
        )
        return df.where(window.predicate(partition_column))

# ------------------------------------------------------------------------------------------ writes


@dataclass(frozen=True)
class WrittenFrame:
    """What one write committed, read from the Delta log it committed to."""

    uri: str
    mode: str
    rows: int
    bytes_written: int
    version: int
    commit_retries: int
    window: DayWindow | None
    schema: T.StructType
    undated_rows: int | None = None
    """Rows of no day written (``_run_date`` NULL), for a table that holds them; None otherwise."""
    version_before: int | None = None
    """The table's version read before the write (None: there was no table): what rejecting the write
    restores (``lakehouse.quality.gates``)."""

    @property
    def scope(self) -> WriteScope:
        """What the write replaced, for rejecting it: its days (with the rows of no day when it wrote
        them), or the whole table for a merge or an unpartitioned write."""
        return WriteScope.of_write(self.mode, self.window, undated=self.undated_rows is not None)

    def metadata(self, declared_schema: TableSchema | None = None) -> dict[str, Any]:
        """Materialization metadata: row count, table, version, mode, retries, schema, days written."""
        metadata: dict[str, Any] = {
            ROW_COUNT: self.rows,
            "table_uri": MetadataValue.path(self.uri),
            "delta_version": self.version,
            **version_before_metadata(self.version_before),
            "write_mode": self.mode,
            "delta_commit_retries": self.commit_retries,
            "dagster/column_schema": MetadataValue.table_schema(_column_schema(self.schema, declared_schema)),
        }
        if self.window is not None:
            metadata["partitions_written"] = MetadataValue.json(self.window.days_iso())
        if self.undated_rows is not None:
            metadata["undated_rows"] = self.undated_rows
        return metadata


def write_frame(
    lake: Lake,
    df: DataFrame,
    uri: str,
    *,
    mode: str = "overwrite",
    window: DayWindow | None = None,
    partition_column: str = PARTITION_COLUMN,
    merge_keys: Sequence[str] = (),
    merge_schema: bool = False,
    undated: bool = False,
    log: Callable[[str], None] | None = None,
) -> WrittenFrame:
    """Write ``df`` to the Delta table at ``uri`` through the engine, retrying lost commit races.

    With a ``window``, exactly its days are replaced (``mode`` overwrite) and a row outside them fails the
    write before its commit; with ``undated`` too, the rows of no day (partition value NULL) are replaced
    along with them, so the table holds the latest write's. ``merge`` upserts on ``merge_keys``;
    ``append`` appends. The rows, bytes and version are read from the Delta log the write committed.
    """
    if mode not in WRITE_MODES:
        raise DeltaWriteError(f"{uri}: {WRITE_MODE_KEY}={mode!r} is not one of {', '.join(WRITE_MODES)}")
    column = partition_column if window is not None else None
    table = lake.open_if_exists(uri)  # the log as it was before this write: one read serves every check below
    version_before = None if table is None else table.version()
    predicate, rows_to_write = None, df
    if window is not None:
        _require_partition_column(df, column, uri)
        _require_date_partition_column(table, uri, column)
        predicate = _replaced(window, column, undated)
        rows_to_write = _refusing_rows_outside(df, window, column, uri, undated)

    files_before = lake.data_files(table)
    keys = list(merge_keys)
    if mode == "merge" and not keys:
        raise DeltaWriteError(f"{uri}: write mode 'merge' needs {MERGE_KEYS_KEY} in the asset metadata")
    spark = df.sparkSession
    try:
        if mode == "merge":
            _, retries = lake.commit(uri, lambda: _merge(lake, spark, rows_to_write, uri, keys, column), log)
        else:
            _, retries = lake.commit(
                uri, lambda: _write(lake, rows_to_write, uri, mode, predicate, column, merge_schema), log
            )
    except Exception as error:
        if window is not None and _OUTSIDE_WINDOW in str(error):
            raise _outside_window_error(df, window, column, uri, undated) from None
        raise

    if table is None:
        table = lake.open(uri)
    else:
        table.update_incremental()
    new_files = [f for path, f in lake.data_files(table).items() if path not in files_before]
    added = [f for f in new_files if window is None or window.contains(f.partition.get(column))]
    rows_of_days, undated_rows, undated_files = df, None, []
    if window is not None and undated:
        undated_files = [f for f in new_files if f.partition.get(column) is None]
        undated_rows = _rows_written(df.where(F.col(f"`{column}`").isNull()), mode, undated_files)
        rows_of_days = df.where(F.col(f"`{column}`").isNotNull())
    return WrittenFrame(
        uri=uri,
        mode=mode,
        rows=_rows_written(rows_of_days, mode, added),
        bytes_written=sum(f.size for f in [*added, *undated_files]),
        version=table.version(),
        commit_retries=retries,
        window=window,
        schema=df.schema,
        undated_rows=undated_rows,
        version_before=version_before,
    )


def _write(
    lake: Lake,
    df: DataFrame,
    uri: str,
    mode: str,
    predicate: str | None,
    partition_column: str | None,
    merge_schema: bool,
) -> None:
    if predicate is not None or mode == "append":
        create_if_missing(lake, df, uri, partition_column)
    writer = df.write.format("delta")
    if merge_schema:
        writer = writer.option("mergeSchema", "true")
    if mode == "append":
        writer.mode("append").save(uri)
    elif predicate is not None:
        writer.mode("overwrite").option("replaceWhere", predicate).save(uri)
    else:
        writer.mode("overwrite").save(uri)


def _merge(
    lake: Lake, spark: SparkSession, df: DataFrame, uri: str, keys: list[str], partition_column: str | None
) -> None:
    create_if_missing(lake, df, uri, partition_column)
    view = f"lakehouse_merge_source_{uuid.uuid4().hex}"
    df.createOrReplaceTempView(view)
    condition = " AND ".join(f"target.`{k}` <=> source.`{k}`" for k in keys)
    try:
        spark.sql(
            f"MERGE INTO delta.`{uri}` AS target USING {view} AS source ON {condition} "
            "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
        )
    finally:
        spark.catalog.dropTempView(view)


def create_if_missing(lake: Lake, df: DataFrame, uri: str, partition_column: str | None) -> None:
    """Create the table empty, with ``df``'s schema and partitioning, in a commit of its own.

    Concurrent writers of different partitions may all find no table; an *append* of nothing cannot
    destroy another writer's rows, and the losers of the race for version 0 retry on the new table.
    No row of ``df`` is evaluated (``limit(0)``), so a write refused afterwards leaves no row.
    """
    if lake.exists(uri):
        return
    writer = df.limit(0).write.format("delta").mode("append")
    if partition_column is not None:
        writer = writer.partitionBy(partition_column)
    writer.save(uri)


# ------------------------------------------------------------------------------------- partitions


def _run_window(context: OutputContext | InputContext) -> DayWindow | None:
    """The days a run writes (output) or reads (input), or None for an unpartitioned asset."""
    if not context.has_asset_partitions:
        return None
    _require_daily(context.asset_partitions_def, context.asset_key.to_user_string())
    return DayWindow.of_context(context)


def _require_daily(partitions_def, asset: str) -> None:
    from dagster import TimeWindowPartitionsDefinition

    if not isinstance(partitions_def, TimeWindowPartitionsDefinition) or partitions_def.cron_schedule != "0 0 * * *":
        raise DeltaWriteError(f"{asset}: the Delta IO manager partitions tables by day; got {partitions_def!r}")


def _rows_written(obj: DataFrame, mode: str, added: list[DataFile]) -> int:
    """Rows this write stored: the ``numRecords`` its commit logged for the files it added (of a
    partitioned table, only the files in the run's partitions, so a concurrent writer of other partitions
    does not count). Counted on the engine when a file has no statistics, and for a merge, whose
    rewritten files hold unchanged rows too (its count is of the rows merged)."""
    if mode != "merge" and all(f.records is not None for f in added):
        return sum(f.records for f in added)
    return obj.count()


def _require_date_partition_column(table: "DeltaTable | None", uri: str, partition_column: str) -> None:
    """An existing table whose partition column is not a DATE would not match a date predicate the
    way the caller means; refuse instead of guessing."""
    if table is None:
        return
    fields = {f.name: f for f in table.schema().fields}
    field = fields.get(partition_column)
    if field is None:
        raise DeltaWriteError(f"{uri}: existing table has no partition column {partition_column!r}")
    type_name = getattr(field.type, "type", str(field.type))
    if type_name != "date":
        raise DeltaWriteError(
            f"{uri}: existing table's {partition_column} is {type_name}, not date; refusing a partition replace"
        )


def _replaced(window: DayWindow, column: str, undated: bool) -> str:
    """The ``replaceWhere`` predicate of a write of ``window``: its days, and the rows of no day too."""
    days = window.predicate(column)
    return f"({days}) OR `{column}` IS NULL" if undated else days


def _refusing_rows_outside(df: DataFrame, window: DayWindow, column: str, uri: str, undated: bool) -> DataFrame:
    """``df`` whose evaluation fails at the first row with ``column`` outside ``window`` (or NULL, unless
    ``undated`` rows are written too).

    The check runs inside the write's own evaluation of the plan, not in a pass before it: the engine
    raises before the commit, so a refused write commits nothing (the data files it had written are no
    part of the table, and ``VACUUM`` removes them). Sail does not enforce ``replaceWhere``, and without
    this a row of another day would be added to that day's partition.
    """
    refusal = f"{_OUTSIDE_WINDOW} {uri}: {column} outside [{window.start}, {window.end})"
    return df.withColumn(
        column,
        F.when(F.expr(_replaced(window, column, undated)), F.col(column)).otherwise(
            F.raise_error(F.lit(refusal))
        ),
    )


def _outside_window_error(
    df: DataFrame, window: DayWindow, column: str, uri: str, undated: bool
) -> DeltaWriteError:
    """The refusal, with the numbers: counted only now that the write has failed."""
    stats = df.agg(
        F.count(F.lit(1)).alias("rows"),
        F.count_if(~F.coalesce(F.expr(_replaced(window, column, undated)), F.lit(False))).alias("outside"),
    ).first()
    return DeltaWriteError(
        f"{uri}: {int(stats['outside'])} of {int(stats['rows'])} rows have {column} outside the run's "
        f"partitions [{window.start}, {window.end}); refusing to write (none of them was committed)"
    )


def _require_partition_column(df: DataFrame, column: str, uri: str) -> None:
    fields = {f.name: f for f in df.schema.fields}
    if column not in fields:
        raise DeltaWriteError(f"{uri}: partitioned output has no {column!r} column")
    if not isinstance(fields[column].dataType, T.DateType):
        raise DeltaWriteError(
            f"{uri}: partition column {column!r} must be DATE, got {fields[column].dataType.simpleString()}"
        )


def _column_schema(schema: T.StructType, declared: TableSchema | None = None) -> TableSchema:
    """The schema actually written, keeping the descriptions and tags (e.g. PII classes) the asset
    declares for its columns, so the materialization does not hide them in the UI."""
    declared = getattr(declared, "schema", declared)  # a TableSchemaMetadataValue or the TableSchema itself
    known = {c.name: c for c in declared.columns} if isinstance(declared, TableSchema) else {}
    columns = []
    for field in schema.fields:
        declared_column = known.get(field.name)
        columns.append(
            TableColumn(
                name=field.name,
                type=field.dataType.simpleString(),
                description=declared_column.description if declared_column else None,
                tags=dict(declared_column.tags) if declared_column and declared_column.tags else None,
            )
        )
    return TableSchema(columns=columns)
