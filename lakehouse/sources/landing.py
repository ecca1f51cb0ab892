"""The landing zone: extracted Arrow batches written as Parquet where the engine can read them.

The landing directory lives under the lake root (local disk or S3), so a remote Spark cluster reads
exactly what a laptop's embedded engine reads. Batches stream straight to Parquet, so memory stays
bounded by one batch whatever the window's size.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs as pafs
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.pandas.types import from_arrow_schema

ROWS_PER_FILE = 1_000_000


def normalized_schema(schema: pa.Schema) -> pa.Schema:
    """One schema for every batch of a result: connectors may pick a different integer width per
    chunk, and Spark reads Parquet timestamps at microsecond precision."""
    fields = []
    for field in schema:
        kind = field.type
        if pa.types.is_integer(kind):
            kind = pa.int64()
        elif pa.types.is_timestamp(kind):
            kind = pa.timestamp("us", tz=kind.tz)
        elif pa.types.is_large_string(kind):
            kind = pa.string()
        fields.append(pa.field(field.name, kind, nullable=True))
    return pa.schema(fields)


def land_batches(batches: Iterable[pa.RecordBatch], uri: str, file_prefix: str = "part") -> int:
    """Write ``batches`` as Parquet files under ``uri`` (a directory), named ``<file_prefix>-<n>.parquet``
    (writers landing into one directory at once give each its own prefix); returns the rows written.
    ``landed_files`` describes what the directory then holds."""
    filesystem, root = pafs.FileSystem.from_uri(uri)
    filesystem.create_dir(root, recursive=True)
    writer: pq.ParquetWriter | None = None
    schema: pa.Schema | None = None
    rows = files = rows_in_file = 0
    try:
        for batch in batches:
            if batch.num_rows == 0:
                continue
            if schema is None:
                schema = normalized_schema(batch.schema)
            if writer is None or rows_in_file >= ROWS_PER_FILE:
                if writer is not None:
                    writer.close()
                writer = pq.ParquetWriter(f"{root}/{file_prefix}-{files:05d}.parquet", schema, filesystem=filesystem)
                files += 1
                rows_in_file = 0
            table = pa.Table.from_batches([batch]).cast(schema)
            writer.write_table(table)
            rows += batch.num_rows
            rows_in_file += batch.num_rows
    finally:
        if writer is not None:
            writer.close()
    return rows


@dataclass(frozen=True)
class LandedFiles:
    """The Parquet files under a landing directory, as their footers describe them: no row is read."""

    uri: str
    paths: tuple[str, ...]
    rows: int
    schema: pa.Schema | None  # the files' schemas unified; None when nothing landed


def landed_files(uri: str) -> LandedFiles:
    """The Parquet files under the landing directory ``uri``, whoever wrote them (``land_batches``, a
    Redshift ``UNLOAD``, a Snowflake ``COPY INTO``); none if it does not exist."""
    filesystem, root = pafs.FileSystem.from_uri(uri)
    selector = pafs.FileSelector(root, recursive=True, allow_not_found=True)
    paths = sorted(
        info.path for info in filesystem.get_file_info(selector) if info.is_file and info.path.endswith(".parquet")
    )
    footers = [pq.ParquetFile(path, filesystem=filesystem).metadata for path in paths]
    rows = sum(footer.num_rows for footer in footers)
    schema = pa.unify_schemas([footer.schema.to_arrow_schema() for footer in footers]) if footers else None
    return LandedFiles(uri=uri, paths=tuple(paths), rows=rows, schema=schema)


def read_landed(spark: SparkSession, landed: LandedFiles) -> DataFrame:
    """The landed rows as the engine reads them, with the schema the footers give (every column the source
    sent). Given explicitly, because an engine may not map every Parquet type a warehouse writes on its
    own (Sail reads no nanosecond timestamp, which Snowflake unloads); given, it casts them on read."""
    if landed.schema is None:
        raise ValueError(f"nothing landed under {landed.uri}")
    return spark.read.schema(from_arrow_schema(landed.schema, prefer_timestamp_ntz=True)).parquet(landed.uri)
