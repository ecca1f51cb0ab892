"""Incremental extraction from the source systems, as bounded Arrow batches.

Every query is parameterized (no value is ever formatted into SQL) and selects the rows whose change
column falls in a half-open window ``[start, end)``. Results stream as Arrow record batches of at most
``batch_rows`` rows, so no step holds a whole table in Python objects.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import TypeVar

import pyarrow as pa

from lakehouse.sources.reconciliation import SourceDay

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
    """Which rows of a source table one extraction selects, by their change column (naive UTC,
    TIMESTAMP_NTZ semantics).

    ``[start, end)`` holds the rows of the run's days; ``start`` None opens it to every earlier row (the
    first partition takes the source's history). ``undated_from`` also selects the rows no day holds:
    a NULL change column, or one at or after this instant (the extraction time plus the tolerance for
    clock skew); None selects none of them.
    """

    start: datetime | None
    end: datetime
    undated_from: datetime | None = None

    def __post_init__(self) -> None:
        if self.start is not None and self.start >= self.end:
            raise ValueError(f"empty window [{self.start}, {self.end})")
        if self.undated_from is not None and self.undated_from < self.end:
            raise ValueError(
                f"the window [{self.start}, {self.end}) reaches past {self.undated_from}, where rows count as "
                "dated in the future"
            )


@dataclass(frozen=True)
class SourceCount:
    """Rows of a window counted at the source: those of its days, and those no day holds."""

    in_days: int
    undated: int = 0

    @property
    def total(self) -> int:
        return self.in_days + self.undated


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


def _conditions(table: SourceTable, window: Window, placeholder: Callable[[str], str]) -> tuple[str, str | None]:
    """SQL conditions on the change column: the rows of the window's days, and the undated rows (None
    when the window selects none)."""
    change = _quoted(table.change_column)
    in_days = f"{change} < {placeholder('end')}"
    if window.start is not None:
        in_days = f"{change} >= {placeholder('start')} AND {in_days}"
    if window.undated_from is None:
        return in_days, None
    return in_days, f"{change} IS NULL OR {change} >= {placeholder('undated_from')}"


def _where(conditions: tuple[str, str | None]) -> str:
    in_days, undated = conditions
    return in_days if undated is None else f"({in_days}) OR {undated}"


def window_query(table: SourceTable, window: Window, placeholder: Callable[[str], str]) -> str:
    """Every column of the window's rows, in whatever order the source returns them: nothing downstream
    needs an order, and sorting a day at the source costs the source a sort of the whole day."""
    return f"SELECT * FROM {table.relation} WHERE {_where(_conditions(table, window, placeholder))}"


def daily_stats_query(table: SourceTable, *, bounded: bool = True) -> str:
    """Rows and greatest change value per UTC day of the change column, from ``%(since)s`` on (every day
    when not ``bounded``; rows with a NULL change column form a group of their own): what a watermark
    sensor compares with the lake, filtered on the column extraction filters on."""
    change = _quoted(table.change_column)
    where = f"WHERE {change} >= %(since)s " if bounded else ""
    return (
        f"SELECT CAST({change} AS DATE) AS change_day, COUNT(*) AS row_count, MAX({change}) AS max_change "
        f"FROM {table.relation} {where}GROUP BY 1 ORDER BY 1"
    )


def reconciliation_query(table: SourceTable) -> str:
    """The whole table by UTC day of the change column: rows, and rows at or after ``%(undated_from)s``
    (dated in the future). Rows with a NULL change column form the group of day NULL."""
    change = _quoted(table.change_column)
    return (
        f"SELECT CAST({change} AS DATE) AS change_day, COUNT(*) AS row_count, "
        f"COUNT(CASE WHEN {change} >= %(undated_from)s THEN 1 END) AS future_rows "
        f"FROM {table.relation} GROUP BY 1"
    )


def _pyformat(name: str) -> str:
    return f"%({name})s"


def _params(window: Window) -> dict[str, datetime]:
    params = {"start": window.start, "end": window.end, "undated_from": window.undated_from}
    return {name: value for name, value in params.items() if value is not None}


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


def fetch_all(connection, sql: str, params: dict | None) -> list[tuple]:
    """Run one parameterized query (pyformat placeholders) on either driver and return its rows."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def reconciliation_counts(connection, table: SourceTable, undated_from: datetime) -> dict[date | None, SourceDay]:
    """The whole table per UTC day of its change column (None: a NULL one), with the rows of each day
    dated at or after ``undated_from``: one aggregate query."""
    rows = fetch_all(connection, reconciliation_query(table), {"undated_from": undated_from})
    return {as_date(day): SourceDay(int(count), int(future or 0)) for day, count, future in rows}


def window_count(counts: dict[date | None, SourceDay], window: Window) -> SourceCount:
    """The rows of ``window`` as ``reconciliation_counts`` counted them, with the same ``undated_from``:
    those of the window's days, and those of no day (a NULL change column, or dated at or after
    ``undated_from``); the window's days end before ``undated_from``, so no row is both. The counts are per
    day, so the window must start and end at midnight, as a run's windows do."""
    if any(bound is not None and bound.time() != datetime.min.time() for bound in (window.start, window.end)):
        raise ValueError(f"[{window.start}, {window.end}) is not a window of whole days")
    first, end = (None if window.start is None else window.start.date()), window.end.date()
    in_days = sum(
        day.rows for when, day in counts.items() if when is not None and when < end and (first is None or when >= first)
    )
    if window.undated_from is None:  # the window selects no undated row
        return SourceCount(in_days)
    undated = sum(day.future_rows for day in counts.values()) + (counts[None].rows if None in counts else 0)
    return SourceCount(in_days, undated)


def as_date(value: date | datetime | str | None) -> date | None:
    """A day as a driver returns it (a date, a datetime or ISO text); None stays None."""
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value))


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
        cursor.execute(window_query(table, window, _pyformat), _params(window))
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
_PG_NUMERIC = 1700
# The same types by name, as the ADBC driver tags each field ("POSTGRESQL:type"); uuid is left out on
# purpose: the driver returns it as 16 bytes, and it lands as its text like every other unlisted type.
_PG_NATIVE_TYPE_NAMES = {
    "bool", "int8", "int2", "int4", "text", "float4", "float8", "bpchar", "varchar", "date", "timestamp",
    "timestamptz",
}  # fmt: skip
_POSTGRES_VERSION_WITH_NATIVE_PATH = 90000  # Redshift reports server_version 8.0.2


def _numeric_arrow_type(precision: int | None, scale: int | None) -> pa.DataType:
    if precision is None or precision <= 0 or precision > 38:
        return pa.string()  # unconstrained NUMERIC: keep every digit, the contract casts it
    return pa.decimal128(precision, scale or 0)


def _pg_arrow_type(column) -> pa.DataType:
    if column.type_code == _PG_NUMERIC:  # NUMERIC(p, s)
        return _numeric_arrow_type(column.precision, column.scale)
    return _PG_ARROW_TYPES.get(column.type_code, pa.string())


def redshift_batches(connection, table: SourceTable, window: Window, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Stream the window from Redshift (or PostgreSQL) through a server-side cursor, ``batch_rows`` rows
    at a time, as Arrow batches of the types ``_pg_arrow_type`` names.

    ``connection`` is the psycopg2 connection of ``source_connection``. On PostgreSQL the rows are
    decoded into Arrow by the ADBC PostgreSQL driver (C, binary protocol), on a second connection with
    the same settings; on Redshift they go through psycopg2's rows, as ADBC cannot serve Redshift
    within bounded memory (see ``_adbc_batches``).
    """
    if serves_native_path(connection):
        yield from _adbc_batches(connection, table, window, batch_rows)
    else:
        yield from _psycopg2_batches(connection, table, window, batch_rows)


def serves_native_path(connection) -> bool:
    """Whether the server behind a psycopg2 connection is PostgreSQL proper (the ADBC driver's binary
    protocol), not Redshift (which reports server_version 8.0.2)."""
    return connection.info.server_version >= _POSTGRES_VERSION_WITH_NATIVE_PATH


def _cursor_name() -> str:
    return f"lakehouse_extract_{int(time.time() * 1e6)}"


def _psycopg2_batches(
    connection, table: SourceTable, window: Window, batch_rows: int
) -> Iterator[pa.RecordBatch]:
    # A named cursor keeps the result on the server; fetchmany pulls one bounded chunk per round trip.
    with connection.cursor(name=_cursor_name()) as cursor:
        cursor.itersize = batch_rows
        cursor.execute(window_query(table, window, _pyformat), _params(window))
        schema: pa.Schema | None = None
        while True:
            rows = cursor.fetchmany(batch_rows)
            if schema is None and cursor.description is not None:
                schema = pa.schema([pa.field(c.name, _pg_arrow_type(c)) for c in cursor.description])
            if not rows:
                break
            columns = zip(*rows)  # rows to columns in C, not one Python loop per column
            yield pa.RecordBatch.from_arrays(
                [_pg_array(values, field.type) for values, field in zip(columns, schema)], schema=schema
            )


def _pg_array(values, arrow_type: pa.DataType) -> pa.Array:
    if pa.types.is_string(arrow_type):
        return pa.array([None if v is None else str(v) for v in values], type=arrow_type)
    return pa.array(values, type=arrow_type)


def _dollar_placeholders(window: Window) -> tuple[Callable[[str], str], tuple[datetime, ...]]:
    """Positional placeholders (``$1``, ``$2``, ...) for the window's parameters, and their values."""
    params = _params(window)
    numbers = {name: f"${index}" for index, name in enumerate(params, start=1)}
    return numbers.__getitem__, tuple(params.values())


def _adbc_batches(
    connection, table: SourceTable, window: Window, batch_rows: int
) -> Iterator[pa.RecordBatch]:
    """The window through ``adbc_driver_postgresql``: bound parameters, a server-side cursor, and each
    ``FETCH`` of at most ``batch_rows`` rows decoded straight into one Arrow batch.

    Why a cursor rather than the driver's own streaming: the driver streams a result through
    ``COPY ... TO STDOUT (FORMAT binary)`` only for a query without parameters; a query with bound
    parameters (all of ours) is executed in one ``PQexecParams`` and returned as a single batch of the
    whole result. ``DECLARE`` with the bound window and ``FETCH FORWARD n`` keeps memory to one batch.

    Amazon Redshift: the driver's support is documented as experimental, and Redshift has no COPY to the
    client at all, so the driver always takes that whole-result path there; ``DECLARE`` sent as a
    prepared statement is reported to fail on Redshift too. ``redshift_batches`` therefore sends Redshift
    (server_version 8.0.2) through psycopg2, whose named cursor interpolates the parameters client-side.
    """
    import adbc_driver_manager
    import adbc_driver_postgresql.dbapi

    name = _cursor_name()
    try:
        # autocommit off (the DB-API default): the cursor lives in the transaction the driver opens
        with adbc_driver_postgresql.dbapi.connect(_libpq_conninfo(connection)) as native:
            with native.cursor() as cursor:
                # FETCH cannot run inside COPY: ask for the plain binary result of each statement
                cursor.adbc_statement.set_options(**{"adbc.postgresql.use_copy": "false"})
                placeholder, values = _dollar_placeholders(window)
                declare = f"DECLARE {name} NO SCROLL CURSOR FOR {window_query(table, window, placeholder)}"
                cursor.execute(declare, values)
                schema: pa.Schema | None = None
                while True:
                    cursor.execute(f"FETCH FORWARD {int(batch_rows)} FROM {name}")
                    fetched = cursor.fetch_arrow_table()
                    if fetched.num_rows == 0:
                        break
                    if schema is None:
                        schema = _adbc_landing_schema(fetched.schema)
                    for batch in fetched.to_batches(max_chunksize=batch_rows):
                        yield _conformed(batch, schema)
    except adbc_driver_manager.OperationalError as error:
        # the connection-level class the callers retry on, whichever driver raised it
        raise ConnectionError(f"PostgreSQL connection failed: {error}") from error


# libpq settings carried over from the psycopg2 connection (the resource's conn_args), by their libpq names
_LIBPQ_SETTINGS = (
    "sslmode", "connect_timeout", "options", "sslrootcert", "sslcert", "sslkey", "application_name",
)  # fmt: skip


def _libpq_conninfo(connection) -> str:
    """A libpq ``key='value'`` string that reaches the same server, as the same user, with the same
    settings as ``connection`` (psycopg2's ``connection.info``; its settings omit the password)."""
    info = connection.info
    settings = {"host": info.host, "port": info.port, "dbname": info.dbname, "user": info.user}
    settings |= {key: info.dsn_parameters.get(key) for key in _LIBPQ_SETTINGS}
    settings["password"] = info.password
    return " ".join(
        f"{key}={_libpq_quoted(str(value))}" for key, value in settings.items() if value not in (None, "")
    )


def _libpq_quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _adbc_landing_schema(schema: pa.Schema) -> pa.Schema:
    """The Arrow schema the psycopg2 path gives the same columns (``_pg_arrow_type``), from the types
    and PostgreSQL tags the ADBC driver reports."""
    return pa.schema([pa.field(field.name, _adbc_landing_type(field)) for field in schema])


def _adbc_landing_type(field: pa.Field) -> pa.DataType:
    tags = field.metadata or {}
    type_name = tags.get(b"POSTGRESQL:type", b"").decode()
    if type_name == "numeric":
        typmod = int(tags.get(b"POSTGRESQL:typmod", b"-1"))
        if typmod < 4:  # no precision declared
            return pa.string()
        return _numeric_arrow_type(((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0xFFFF)
    if type_name in _PG_NATIVE_TYPE_NAMES:
        return field.type
    return pa.string()


def _conformed(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    columns = []
    for column, field in zip(batch.columns, schema):
        if column.type == field.type:
            columns.append(column)
        elif pa.types.is_decimal(field.type):  # NUMERIC(p, s) arrives as its text
            columns.append(_storage(column).cast(field.type))
        else:
            columns.append(_as_text(column))
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _storage(column: pa.Array) -> pa.Array:
    return column.storage if isinstance(column, pa.ExtensionArray) else column


def _as_text(column: pa.Array) -> pa.Array:
    """Text for a column of a type without an Arrow counterpart here: the server's text where the driver
    kept it, else each value's ``str()``, as the psycopg2 path gives it."""
    storage = _storage(column)
    if pa.types.is_string(storage.type) or pa.types.is_large_string(storage.type):
        return storage.cast(pa.string())
    return pa.array([None if value is None else str(value) for value in column.to_pylist()], type=pa.string())


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
