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

ROWS_PER_FILE = 1_000_000


@dataclass(frozen=True)
class LandedBatch:
    uri: str
    rows: int
    files: int
    schema: pa.Schema | None


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


def land_batches(batches: Iterable[pa.RecordBatch], uri: str) -> LandedBatch:
    """Write ``batches`` as Parquet files under ``uri`` (a directory); returns what was landed."""
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
                writer = pq.ParquetWriter(f"{root}/part-{files:05d}.parquet", schema, filesystem=filesystem)
                files += 1
                rows_in_file = 0
            table = pa.Table.from_batches([batch]).cast(schema)
            writer.write_table(table)
            rows += batch.num_rows
            rows_in_file += batch.num_rows
    finally:
        if writer is not None:
            writer.close()
    return LandedBatch(uri=uri, rows=rows, files=files, schema=schema)

