"""Delta Lake IO manager for Spark DataFrames, written through the engine so it runs unchanged on any
Delta-enabled Spark Connect endpoint.

Table location is the asset key: ``["bronze", "orders"]`` lives at ``<root_uri>/bronze/orders``.

Partitioned assets carry a ``_run_date`` DATE column. A write replaces exactly the partitions of the
run's window (one day, or a whole ``BackfillPolicy.single_run`` range) with ``replaceWhere``; the
predicate covers the window's start *and* end, rows outside the window are refused before anything is
written, and the partition column's type is checked against the partitions definition, so neither a
start-only predicate nor a type mismatch can overwrite other partitions.
"""


import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from dagster import (
    ConfigurableIOManager,
    InputContext,
    MetadataValue,
    OutputContext,
    TableColumn,
    TableSchema,
)
from pydantic import Field
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakehouse.engine import SparkEngine
from lakehouse.io.commits import retry_commit_conflicts
from lakehouse.io.storage import (
    bytes_added,
    delta_storage_options,
    join_uri,
    latest_version,
    table_exists,
    table_version,
)
from lakehouse.observability.metrics import ROW_COUNT, started, with_write_metrics

PARTITION_COLUMN = "_run_date"
WRITE_MODE_KEY = "delta/write_mode"
MERGE_KEYS_KEY = "delta/merge_keys"
MERGE_SCHEMA_KEY = "delta/merge_schema"
PARTITION_COLUMN_KEY = "delta/partition_column"

WRITE_MODES = ("overwrite", "append", "merge")

_T = TypeVar("_T")


class DeltaWriteError(Exception):
    """A write was refused before touching the table; the message names the table and the cause."""


class DeltaSparkIOManager(ConfigurableIOManager):
    """Stores Spark DataFrames as Delta tables under ``root_uri``, one table per asset key.

    Per-asset behaviour comes from asset definition metadata:
    ``delta/write_mode`` (``overwrite`` default, ``append``, ``merge``), ``delta/merge_keys`` (columns
    matched by ``merge``), ``delta/merge_schema`` (allow new columns), ``delta/partition_column``
    (default ``_run_date``).

    Every write reports, as materialization metadata, ``dagster/row_count``, ``bytes_written`` (the size of
    the data files its commits added, from the Delta log), ``duration_seconds`` (what the asset reported
    in its ``Output``'s metadata for its compute, plus the write; see ``lakehouse.observability.metrics``),
    ``delta_version``, ``table_uri``, the write mode, commit retries, the column schema and, for a
    partitioned asset, the days written.
    """

    root_uri: str = Field(description="Lake root: a local path or s3://bucket/prefix.")
    engine: SparkEngine
    commit_retries: int = Field(default=8, description="Retries of a commit that lost a concurrent race.")
    retry_backoff_seconds: float = Field(default=0.2, description="First back-off; doubles per retry.")

    # ----------------------------------------------------------------------------------------- paths

    def table_uri(self, asset_key_path: Sequence[str]) -> str:
        return join_uri(self.root_uri, *asset_key_path)

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
        uri = self.table_uri(context.asset_key.path)
        metadata = context.definition_metadata or {}
        mode = metadata.get(WRITE_MODE_KEY, "overwrite")
        if mode not in WRITE_MODES:
            raise DeltaWriteError(f"{uri}: {WRITE_MODE_KEY}={mode!r} is not one of {', '.join(WRITE_MODES)}")

        window = _run_window(context)
        partition_column = metadata.get(PARTITION_COLUMN_KEY, PARTITION_COLUMN)
        if window is not None:
            _require_partition_column(obj, partition_column, uri)
            self._require_matching_table_partition_type(uri, partition_column)
            predicate = window.predicate(partition_column)
            stats = obj.agg(
                F.count(F.lit(1)).alias("rows"),
                F.count_if(~F.coalesce(F.expr(predicate), F.lit(False))).alias("outside"),
            ).first()
            rows, outside = int(stats["rows"]), int(stats["outside"])
            if outside:
                raise DeltaWriteError(
                    f"{uri}: {outside} of {rows} rows have {partition_column} outside the run's partitions "
                    f"[{window.start}, {window.end}); refusing to write"
                )
        else:
            predicate = None
            rows = obj.count()

        merge_schema = bool(metadata.get(MERGE_SCHEMA_KEY, False))
        before = latest_version(uri)
        if mode == "merge":
            keys = list(metadata.get(MERGE_KEYS_KEY) or [])
            if not keys:
                raise DeltaWriteError(f"{uri}: write mode 'merge' needs {MERGE_KEYS_KEY} in the asset metadata")
            _, retries = self.retrying_commit(
                context.log, uri, lambda: self._merge(obj, uri, keys, partition_column if window else None)
            )
        else:
            _, retries = self.retrying_commit(
                context.log,
                uri,
                lambda: self._write(obj, uri, mode, predicate, partition_column if window else None, merge_schema),
            )

        version = table_version(uri)
        output_metadata: dict[str, Any] = {
            ROW_COUNT: rows,
            **with_write_metrics(
                context.output_metadata, bytes_written=bytes_added(uri, before, version), start=start
            ),
            "table_uri": MetadataValue.path(uri),
            "delta_version": version,
            "write_mode": mode,
            "delta_commit_retries": retries,
            "dagster/column_schema": MetadataValue.table_schema(
                _column_schema(obj.schema, declared=metadata.get("dagster/column_schema"))
            ),
        }
        if window is not None:
            output_metadata["partitions_written"] = MetadataValue.json(window.days_iso())
        context.add_output_metadata(output_metadata)

    def _write(
        self,
        df: DataFrame,
        uri: str,
        mode: str,
        predicate: str | None,
        partition_column: str | None,
        merge_schema: bool,
    ) -> None:
        if predicate is not None or mode == "append":
            self._create_if_missing(df, uri, partition_column)
        writer = df.write.format("delta")
        if merge_schema:
            writer = writer.option("mergeSchema", "true")
        if mode == "append":
            writer.mode("append").save(uri)
        elif predicate is not None:
            writer.mode("overwrite").option("replaceWhere", predicate).save(uri)
        else:
            writer.mode("overwrite").save(uri)

    def _merge(self, df: DataFrame, uri: str, keys: list[str], partition_column: str | None) -> None:
        self._create_if_missing(df, uri, partition_column)
        view = f"lakehouse_merge_source_{uuid.uuid4().hex}"
        df.createOrReplaceTempView(view)
        condition = " AND ".join(f"target.`{k}` <=> source.`{k}`" for k in keys)
        try:
            self.engine.spark_session.sql(
                f"MERGE INTO delta.`{uri}` AS target USING {view} AS source ON {condition} "
                "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
            )
        finally:
            self.engine.spark_session.catalog.dropTempView(view)

    def _create_if_missing(self, df: DataFrame, uri: str, partition_column: str | None) -> None:
        """Create the table empty, with its schema and partitioning, in a commit of its own.

        Concurrent writers of different partitions may all find no table; an *append* of nothing cannot
        destroy another writer's rows, and the losers of the race for version 0 retry on the new table.
        """
        if table_exists(uri):
            return
        writer = df.limit(0).write.format("delta").mode("append")
        if partition_column is not None:
            writer = writer.partitionBy(partition_column)
        writer.save(uri)

    def retrying_commit(self, log: Any, uri: str, write: Callable[[], _T]) -> tuple[_T, int]:
        """Run ``write`` (anything that commits to the table at ``uri``: a write, a ``MERGE``), running it
        again when it lost a commit race with a concurrent writer, with this IO manager's retries and
        exponential back-off. ``write`` must re-read the table on each attempt, so that a retry sees the
        winner's commit. ``log`` is a Dagster logger (``context.log``); each retry is a warning on it.
        Returns ``write``'s result and the retries used."""
        return retry_commit_conflicts(
            write,
            what=uri,
            log=log.warning,
            retries=self.commit_retries,
            backoff_seconds=self.retry_backoff_seconds,
        )

    # ----------------------------------------------------------------------------------------- input

    def load_input(self, context: InputContext) -> DataFrame:
        key_path = context.upstream_output.asset_key.path if context.upstream_output else context.asset_key.path
        uri = self.table_uri(key_path)
        if not table_exists(uri):
            raise FileNotFoundError(f"Delta table {uri} does not exist: materialize {'/'.join(key_path)} first")
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

    # ----------------------------------------------------------------------------------- delta-rs side

    def _require_matching_table_partition_type(self, uri: str, partition_column: str) -> None:
        """An existing table whose partition column is not a DATE would not match a date predicate the
        way the caller means; refuse instead of guessing."""
        if not table_exists(uri):
            return
        from deltalake import DeltaTable

        table = DeltaTable(uri, storage_options=delta_storage_options(uri))
        fields = {f.name: f for f in table.schema().fields}
        field = fields.get(partition_column)
        if field is None:
            raise DeltaWriteError(f"{uri}: existing table has no partition column {partition_column!r}")
        type_name = getattr(field.type, "type", str(field.type))
        if type_name != "date":
            raise DeltaWriteError(
                f"{uri}: existing table's {partition_column} is {type_name}, not date; refusing a partition replace"
            )


# ------------------------------------------------------------------------------------- partitions


class PartitionWindow:
    """A half-open range of days ``[start, end)`` addressed by a run."""

    def __init__(self, start: date, end: date):
        if end <= start:
            raise ValueError(f"empty partition window [{start}, {end})")
        self.start, self.end = start, end

    def predicate(self, column: str) -> str:
        return f"`{column}` >= DATE'{self.start.isoformat()}' AND `{column}` < DATE'{self.end.isoformat()}'"

    def days_iso(self) -> list[str]:
        days = (self.end - self.start).days
        return [(self.start + timedelta(days=i)).isoformat() for i in range(days)]


def _window_from_time_window(start: datetime, end: datetime) -> PartitionWindow:
    return PartitionWindow(start.date(), end.date())


def _run_window(context: OutputContext | InputContext) -> PartitionWindow | None:
    """The days a run writes (output) or reads (input), or None for an unpartitioned asset."""
    if not context.has_asset_partitions:
        return None
    _require_daily(context.asset_partitions_def, context.asset_key.to_user_string())
    window = context.asset_partitions_time_window
    return _window_from_time_window(window.start, window.end)


def _require_daily(partitions_def, asset: str) -> None:
    from dagster import TimeWindowPartitionsDefinition

    if not isinstance(partitions_def, TimeWindowPartitionsDefinition) or partitions_def.cron_schedule != "0 0 * * *":
        raise DeltaWriteError(f"{asset}: the Delta IO manager partitions tables by day; got {partitions_def!r}")


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
