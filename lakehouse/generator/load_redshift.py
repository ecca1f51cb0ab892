"""Load commit batches into PostgreSQL, the local stand-in for Redshift (same wire protocol and DDL).

The tables are created in database ``analytics`` (created if missing; the DSN may name any database
on the server) with Redshift-compatible DDL, and rows are streamed with ``COPY ... FROM STDIN`` as CSV
written by Arrow, a chunk at a time.

Each (table, commit date) is recorded in ``analytics._generator.loaded_batches`` in the same
transaction as its rows, under an advisory lock, so loading a day twice is a no-op and a crash never
leaves a half-loaded day. Batches of another generation (other seed, scale factor, ...) are refused
rather than mixed in; ``replace=True`` starts the tables over.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterable
from datetime import date

import psycopg2
import psycopg2.extensions
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg2 import sql

from lakehouse.generator.model import CommitBatch, GenerationMismatchError, LoadedBatch, LoadReport, Progress
from lakehouse.generator.specs import REDSHIFT_TABLES, TableSpec, create_table_sql

DATABASE = "analytics"
LOAD_LOG_SCHEMA = "_generator"
LOAD_LOG = f"{LOAD_LOG_SCHEMA}.loaded_batches"
_LOAD_LOG_DDL = (
    f"CREATE TABLE IF NOT EXISTS {LOAD_LOG} (table_name VARCHAR(256), commit_date DATE, "
    "row_count BIGINT, generation VARCHAR(64), loaded_at TIMESTAMP)"
)
_COPY_CHUNK_ROWS = 250_000
_LOCK_KEY = 0x6C616B65  # "lake": serialises concurrent loaders on one server


def load_redshift(
    batches: Iterable[CommitBatch],
    dsn: str,
    *,
    replace: bool = False,
    progress: Progress | None = None,
) -> LoadReport:
    """Append the Redshift tables of ``batches`` (in commit order) to ``analytics`` on the DSN's server.

    ``replace=True`` drops the source tables (and the load log) first.
    """
    started = time.perf_counter()
    ordered = sorted(batches, key=lambda batch: batch.commit_date)
    target = ensure_database(dsn, DATABASE)
    loaded: list[LoadedBatch] = []
    skipped: list[LoadedBatch] = []
    conn = psycopg2.connect(target)
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            _run_ddl(cursor, replace)
            _refuse_other_generations(cursor, ordered)
        for batch in ordered:
            for spec in REDSHIFT_TABLES:
                rows = batch.rows(spec)
                record = LoadedBatch(spec.qualified_name, batch.commit_date, rows.num_rows)
                with conn, conn.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
                    if _already_loaded(cursor, record):
                        skipped.append(record)
                        continue
                    _copy(cursor, spec, rows)
                    cursor.execute(
                        f"INSERT INTO {LOAD_LOG} VALUES (%s, %s, %s, %s, now() AT TIME ZONE 'UTC')",
                        (record.table, record.commit_date, record.rows, batch.generation),
                    )
                    loaded.append(record)
            if progress:
                counts = {spec.qualified_name: batch.rows(spec).num_rows for spec in REDSHIFT_TABLES}
                progress(f"loaded Redshift batch {batch.commit_date}", counts)
        if loaded:
            # Fresh statistics, so windows are planned on the index; and vacuumed now, as a long-lived source
            # table is, so that neither the first extraction (setting hint bits on every page it reads) nor an
            # autovacuum woken by the bulk load competes with the runs for the disk and the cores.
            conn.autocommit = True  # VACUUM cannot run in a transaction
            with conn.cursor() as cursor:
                for spec in REDSHIFT_TABLES:
                    table = sql.SQL("{}.{}").format(sql.Identifier(spec.schema), sql.Identifier(spec.name))
                    cursor.execute(sql.SQL("VACUUM (ANALYZE) {}").format(table))
    finally:
        conn.close()
    return LoadReport(_describe(target), tuple(loaded), tuple(skipped), time.perf_counter() - started)


def ensure_database(dsn: str, database: str) -> str:
    """The DSN of ``database`` on the DSN's server, creating the database if it does not exist."""
    if psycopg2.extensions.parse_dsn(dsn).get("dbname") == database:
        return dsn
    conn = psycopg2.connect(dsn)
    try:
        conn.autocommit = True  # CREATE DATABASE cannot run in a transaction
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    finally:
        conn.close()
    return psycopg2.extensions.make_dsn(dsn, dbname=database)


def loaded_commit_dates(dsn: str) -> dict[str, tuple[date, ...]]:
    """Which commit dates of each table the server already holds (empty if nothing was loaded)."""
    target = psycopg2.extensions.make_dsn(dsn, dbname=DATABASE)
    try:
        conn = psycopg2.connect(target)
    except psycopg2.OperationalError:
        return {}
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s)", (LOAD_LOG,))
            if cursor.fetchone()[0] is None:
                return {}
            cursor.execute(f"SELECT table_name, commit_date FROM {LOAD_LOG} ORDER BY 1, 2")
            rows = cursor.fetchall()
    finally:
        conn.close()
    result: dict[str, list[date]] = {}
    for table, commit_date in rows:
        result.setdefault(table, []).append(commit_date)
    return {table: tuple(dates) for table, dates in result.items()}


def _run_ddl(cursor: psycopg2.extensions.cursor, replace: bool) -> None:
    for schema in sorted({spec.schema for spec in REDSHIFT_TABLES} | {LOAD_LOG_SCHEMA}):
        cursor.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    if replace:
        for spec in REDSHIFT_TABLES:
            table = sql.SQL("{}.{}").format(sql.Identifier(spec.schema), sql.Identifier(spec.name))
            cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
        cursor.execute(f"DROP TABLE IF EXISTS {LOAD_LOG}")
    for spec in REDSHIFT_TABLES:
        cursor.execute(create_table_sql(spec))
        # A Redshift events table is sorted on its load time (SORTKEY), so a day's window reads only that
        # day's blocks; the stand-in's equivalent is an index, or every extraction would scan all history.
        cursor.execute(
            sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {}.{} ({})").format(
                sql.Identifier(f"{spec.name}_{spec.change_column}"),
                sql.Identifier(spec.schema),
                sql.Identifier(spec.name),
                sql.Identifier(spec.change_column),
            )
        )
    cursor.execute(_LOAD_LOG_DDL)


def _refuse_other_generations(cursor: psycopg2.extensions.cursor, batches: list[CommitBatch]) -> None:
    cursor.execute(f"SELECT DISTINCT generation FROM {LOAD_LOG}")
    generations = {batch.generation for batch in batches} | {row[0] for row in cursor.fetchall()}
    if len(generations) > 1:
        raise GenerationMismatchError(
            f"database {DATABASE} would mix source data of different generations "
            f"({', '.join(sorted(generations))}); load with replace=True to start the tables over"
        )


def _already_loaded(cursor: psycopg2.extensions.cursor, record: LoadedBatch) -> bool:
    cursor.execute(
        f"SELECT row_count FROM {LOAD_LOG} WHERE table_name = %s AND commit_date = %s",
        (record.table, record.commit_date),
    )
    found = cursor.fetchone()
    if found is not None and found[0] != record.rows:
        raise ValueError(
            f"{record.table} of {record.commit_date}: {found[0]} rows loaded, the batch has {record.rows}"
        )
    return found is not None


def _copy(cursor: psycopg2.extensions.cursor, spec: TableSpec, rows: pa.Table) -> None:
    """Stream rows as CSV: Arrow writes NULL as an empty field and quotes every string, which is
    exactly how PostgreSQL's CSV format tells NULL from the empty string."""
    statement = sql.SQL("COPY {}.{} ({}) FROM STDIN WITH (FORMAT csv)").format(
        sql.Identifier(spec.schema),
        sql.Identifier(spec.name),
        sql.SQL(", ").join(sql.Identifier(name) for name in spec.column_names),
    )
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    selected = rows.select(list(spec.column_names))
    for offset in range(0, selected.num_rows, _COPY_CHUNK_ROWS):
        buffer = io.BytesIO()
        pacsv.write_csv(selected.slice(offset, _COPY_CHUNK_ROWS), buffer, options)
        buffer.seek(0)
        cursor.copy_expert(statement, buffer)


def _describe(dsn: str) -> str:
    """The DSN without its password, for reports and logs."""
    parts = psycopg2.extensions.parse_dsn(dsn)
    parts.pop("password", None)
    return " ".join(f"{key}={value}" for key, value in sorted(parts.items()))
