"""Incremental extraction from the source systems, as bounded Arrow batches.

Every query is parameterized (no value is ever formatted into SQL) and selects the rows whose change
column falls in a half-open window ``[start, end)``. Results stream as Arrow record batches of at most
``batch_rows`` rows, so no step holds a whole table in Python objects.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TypeVar

import pyarrow as pa

T = TypeVar("T")


class SourceUnavailableError(RuntimeError):
    """The source could not be reached after every retry; nothing was written."""


@dataclass(frozen=True)
class SourceTable:
    """Where a table lives in its source and which column drives incremental extraction.

    Extraction selects every column (``SELECT *``) on purpose: a new, dropped or retyped source column
    must reach the contract's schema-evolution policy, not be hidden by a fixed column list.
    """

    system: str  # "snowflake" | "redshift"
    qualified_name: str  # DATABASE.SCHEMA.TABLE
    change_column: str  # as the source spells it (upper case in Snowflake)

    @property
    def relation(self) -> str:
        """The name used in SQL: three parts in Snowflake; schema.table in Redshift, where the connection
        already selects the database."""
        parts = self.qualified_name.split(".")
        return ".".join(parts if self.system == "snowflake" else parts[1:])


@dataclass(frozen=True)
class Window:
    """A half-open range of change-column values, UTC, naive (TIMESTAMP_NTZ semantics)."""

    start: datetime
    end: datetime


def source_table(contract) -> SourceTable:
    """The source table a bronze contract reads, with its change column spelled as the source does
    (Snowflake folds unquoted names to upper case; Redshift to lower case)."""
    system = contract.source.system.value
    change = contract.source.change_column
    return SourceTable(
        system=system,
        qualified_name=contract.source.table,
        change_column=change.upper() if system == "snowflake" else change,
    )


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def window_query(table: SourceTable, placeholder: Callable[[str], str]) -> str:
    change = _quoted(table.change_column)
    return (
        f"SELECT * FROM {table.relation} "
        f"WHERE {change} >= {placeholder('start')} AND {change} < {placeholder('end')} "
        f"ORDER BY {change}"
    )


def count_query(table: SourceTable, placeholder: Callable[[str], str]) -> str:
    change = _quoted(table.change_column)
    return (
        f"SELECT COUNT(*) FROM {table.relation} "
        f"WHERE {change} >= {placeholder('start')} AND {change} < {placeholder('end')}"
    )


def daily_stats_query(table: SourceTable) -> str:
    """Rows and greatest change value per UTC day of the change column, from ``%(since)s`` on: what a
    watermark sensor compares with the lake, filtered on the column extraction filters on."""
    change = _quoted(table.change_column)
    return (
        f"SELECT CAST({change} AS DATE) AS change_day, COUNT(*) AS row_count, MAX({change}) AS max_change "
        f"FROM {table.relation} WHERE {change} >= %(since)s GROUP BY 1 ORDER BY 1"
    )


def _pyformat(name: str) -> str:
    return f"%({name})s"


def _params(window: Window) -> dict[str, datetime]:
    return {"start": window.start, "end": window.end}


# ------------------------------------------------------------------------------------- connections


@contextmanager
def source_connection(system: str, resource) -> Iterator:
    """A DB-API connection from the source's Dagster resource, closed on exit: dagster-snowflake's
    ``SnowflakeResource.get_connection()``, or psycopg2 with ``RedshiftClientResource``'s settings (its
    client runs queries without bound parameters, which extraction requires)."""
    if system == "snowflake":
        with resource.get_connection() as connection:
            yield connection
        return
    import psycopg2

    connection = psycopg2.connect(**resource.get_client().conn_args)
    try:
        yield connection
    finally:
        connection.close()


def fetch_all(connection, sql: str, params: dict) -> list[tuple]:
    """Run one parameterized query (pyformat placeholders) on either driver and return its rows."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def count_rows(connection, table: SourceTable, window: Window) -> int:
    return int(fetch_all(connection, count_query(table, _pyformat), _params(window))[0][0])


def naive_utc(moment: datetime | None) -> datetime | None:
    """A moment as naive UTC wall time (TIMESTAMP_NTZ semantics), whether it comes aware or naive."""
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


# ---------------------------------------------------------------------------------------- Snowflake


def snowflake_batches(connection, table: SourceTable, window: Window, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Stream the window from Snowflake with the connector's native Arrow result batches."""
    cursor = connection.cursor()
    try:
        cursor.execute(window_query(table, _pyformat), _params(window))
        for chunk in cursor.fetch_arrow_batches():  # the connector yields one pyarrow.Table per result chunk
            yield from chunk.to_batches(max_chunksize=batch_rows)
    finally:
        cursor.close()


# ------------------------------------------------------------------------------- Redshift (PostgreSQL)


# PostgreSQL type OIDs (Redshift speaks the same protocol) and the Arrow types they arrive as.
_PG_ARROW_TYPES: dict[int, pa.DataType] = {
    16: pa.bool_(),
    20: pa.int64(),
    21: pa.int16(),
    23: pa.int32(),
    25: pa.string(),
    700: pa.float32(),
    701: pa.float64(),
    1042: pa.string(),
    1043: pa.string(),
    1082: pa.date32(),
    1114: pa.timestamp("us"),
    1184: pa.timestamp("us", tz="UTC"),
    2950: pa.string(),
}


def _pg_arrow_type(column) -> pa.DataType:
    if column.type_code == 1700:  # NUMERIC(p, s)
        precision, scale = column.precision, column.scale
        if precision is None or precision <= 0 or precision > 38:
            return pa.string()  # unconstrained NUMERIC: keep every digit, the contract casts it
        return pa.decimal128(precision, scale or 0)
    return _PG_ARROW_TYPES.get(column.type_code, pa.string())


def redshift_batches(connection, table: SourceTable, window: Window, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Stream the window from Redshift through a server-side cursor, ``batch_rows`` rows at a time."""
    # A named cursor keeps the result on the server; fetchmany pulls one bounded chunk per round trip.
    with connection.cursor(name=f"lakehouse_extract_{int(time.time() * 1e6)}") as cursor:
        cursor.itersize = batch_rows
        cursor.execute(window_query(table, _pyformat), _params(window))
        schema: pa.Schema | None = None
        while True:
            rows = cursor.fetchmany(batch_rows)
            if schema is None and cursor.description is not None:
                schema = pa.schema([pa.field(c.name, _pg_arrow_type(c)) for c in cursor.description])
            if not rows:
                break
            yield pa.RecordBatch.from_arrays(
                [_pg_array([row[i] for row in rows], field.type) for i, field in enumerate(schema)],
                schema=schema,
            )


def _pg_array(values: list, arrow_type: pa.DataType) -> pa.Array:
    if pa.types.is_string(arrow_type):
        return pa.array([None if v is None else str(v) for v in values], type=arrow_type)
    return pa.array(values, type=arrow_type)


# ------------------------------------------------------------------------------------------ helpers


def with_retries(
    action: Callable[[], T],
    *,
    what: str,
    attempts: int,
    backoff_seconds: float,
    retry_on: tuple[type[BaseException], ...],
    log: Callable[[str], None] | None = None,
) -> T:
    """Run ``action``; on a connection-level error retry with exponential back-off, then fail clearly."""
    delay = backoff_seconds
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except retry_on as error:
            if attempt == attempts:
                raise SourceUnavailableError(
                    f"{what} unreachable after {attempts} attempts: {type(error).__name__}: {error}"
                ) from error
            if log:
                log(f"{what} unreachable (attempt {attempt} of {attempts}): {error}; retrying in {delay:.2f}s")
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")
