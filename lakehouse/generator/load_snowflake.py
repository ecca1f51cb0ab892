"""Load commit batches into fakesnow's on-disk storage, the local stand-in for Snowflake.

fakesnow keeps each Snowflake database as a DuckDB file ``<db_dir>/<DATABASE>.db`` (schemas are DuckDB
schemas in it) and serves it over the Snowflake HTTP protocol. The tables are created through
fakesnow's own connection, with Snowflake DDL, so they get the DuckDB types fakesnow describes back to
the real connector (NUMBER(38,0) -> BIGINT -> NUMBER, NUMBER(12,2) -> DECIMAL(12,2), TIMESTAMP_NTZ ->
TIMESTAMP, VARCHAR -> TEXT). Rows then go in as Arrow through the same DuckDB connection, one
``INSERT ... SELECT`` per table and batch: no SQL round trip per row.

The caller must hold the files exclusively (a running fakesnow server on the directory must be paused,
e.g. with ``LocalServices.snowflake_paused()``).

Each (table, commit date) is recorded in ``RETAIL._GENERATOR.LOADED_BATCHES`` in the same transaction
as its rows, so loading a day twice is a no-op and a crash never leaves a half-loaded day. Batches of
another generation (other seed, scale factor, ...) are refused rather than mixed in; ``replace=True``
starts the tables over.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
from fakesnow.instance import FakeSnow

from lakehouse.generator.model import CommitBatch, GenerationMismatchError, LoadedBatch, LoadReport, Progress
from lakehouse.generator.specs import SNOWFLAKE_TABLES, TableSpec, create_table_sql

DATABASE = "RETAIL"
LOAD_LOG_SCHEMA = "_GENERATOR"
LOAD_LOG = f"{DATABASE}.{LOAD_LOG_SCHEMA}.LOADED_BATCHES"
_LOAD_LOG_DDL = (
    f"CREATE TABLE IF NOT EXISTS {LOAD_LOG} (TABLE_NAME VARCHAR, COMMIT_DATE DATE, "
    "ROW_COUNT NUMBER(38,0), GENERATION VARCHAR, LOADED_AT TIMESTAMP_NTZ)"
)


def load_snowflake(
    batches: Iterable[CommitBatch],
    db_dir: Path | str,
    *,
    replace: bool = False,
    progress: Progress | None = None,
) -> LoadReport:
    """Append the Snowflake tables of ``batches`` (in commit order) to the fakesnow files in ``db_dir``.

    ``replace=True`` drops the source tables (and the load log) first.
    """
    started = time.perf_counter()
    ordered = sorted(batches, key=lambda batch: batch.commit_date)
    db_dir = Path(db_dir)
    db_dir.mkdir(parents=True, exist_ok=True)
    fake = FakeSnow(db_path=db_dir)
    loaded: list[LoadedBatch] = []
    skipped: list[LoadedBatch] = []
    try:
        _run_ddl(fake, replace)
        duck = fake.duck_conn
        _refuse_other_generations(duck, ordered, db_dir)
        for batch in ordered:
            for spec in SNOWFLAKE_TABLES:
                rows = batch.rows(spec)
                record = LoadedBatch(spec.qualified_name, batch.commit_date, rows.num_rows)
                if _already_loaded(duck, record):
                    skipped.append(record)
                    continue
                _insert(duck, spec, rows, record, batch.generation)
                loaded.append(record)
            if progress:
                counts = {spec.qualified_name: batch.rows(spec).num_rows for spec in SNOWFLAKE_TABLES}
                progress(f"loaded Snowflake batch {batch.commit_date}", counts)
    finally:
        fake.duck_conn.close()
    return LoadReport(str(db_dir), tuple(loaded), tuple(skipped), time.perf_counter() - started)


def loaded_commit_dates(db_dir: Path | str) -> dict[str, tuple[date, ...]]:
    """Which commit dates of each table a directory already holds (empty if nothing was loaded)."""
    path = Path(db_dir) / f"{DATABASE}.db"
    if not path.exists():
        return {}
    with duckdb.connect(str(path), read_only=True) as duck:
        try:
            rows = duck.execute(f"SELECT TABLE_NAME, COMMIT_DATE FROM {LOAD_LOG} ORDER BY 1, 2").fetchall()
        except duckdb.CatalogException:
            return {}
    result: dict[str, list[date]] = {}
    for table, commit_date in rows:
        result.setdefault(table, []).append(commit_date)
    return {table: tuple(dates) for table, dates in result.items()}


def _run_ddl(fake: FakeSnow, replace: bool) -> None:
    """Create the database, schemas and tables through fakesnow, as a Snowflake client would."""
    with fake.connect(database=DATABASE) as conn, warnings.catch_warnings():
        # fakesnow's cursor fetches DDL results through an API DuckDB warns about; harmless here.
        warnings.filterwarnings("ignore", message="Arrow output on a DB-API result")
        cursor = conn.cursor()
        for schema in sorted({spec.schema for spec in SNOWFLAKE_TABLES} | {LOAD_LOG_SCHEMA}):
            cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {DATABASE}.{schema}")
        if replace:
            for name in [spec.qualified_name for spec in SNOWFLAKE_TABLES] + [LOAD_LOG]:
                cursor.execute(f"DROP TABLE IF EXISTS {name}")
        for spec in SNOWFLAKE_TABLES:
            cursor.execute(create_table_sql(spec))
        cursor.execute(_LOAD_LOG_DDL)


def _refuse_other_generations(
    duck: duckdb.DuckDBPyConnection, batches: list[CommitBatch], db_dir: Path
) -> None:
    generations = {batch.generation for batch in batches}
    generations |= {row[0] for row in duck.execute(f"SELECT DISTINCT GENERATION FROM {LOAD_LOG}").fetchall()}
    if len(generations) > 1:
        raise GenerationMismatchError(
            f"{db_dir} would mix source data of different generations ({', '.join(sorted(generations))}); "
            "load with replace=True to start the tables over"
        )


def _already_loaded(duck: duckdb.DuckDBPyConnection, record: LoadedBatch) -> bool:
    found = duck.execute(
        f"SELECT ROW_COUNT FROM {LOAD_LOG} WHERE TABLE_NAME = ? AND COMMIT_DATE = ?",
        [record.table, record.commit_date],
    ).fetchall()
    if found and found[0][0] != record.rows:
        raise ValueError(
            f"{record.table} of {record.commit_date}: {found[0][0]} rows loaded, the batch has {record.rows}"
        )
    return bool(found)


def _insert(
    duck: duckdb.DuckDBPyConnection, spec: TableSpec, rows: pa.Table, record: LoadedBatch, generation: str
) -> None:
    columns = ", ".join(spec.column_names)
    view = "_generator_batch"
    duck.register(view, rows.select(list(spec.column_names)))
    try:
        duck.execute("BEGIN TRANSACTION")
        try:
            duck.execute(f"INSERT INTO {spec.qualified_name} ({columns}) SELECT {columns} FROM {view}")
            duck.execute(
                f"INSERT INTO {LOAD_LOG} VALUES (?, ?, ?, ?, now()::TIMESTAMP)",
                [record.table, record.commit_date, record.rows, generation],
            )
            duck.execute("COMMIT")
        except BaseException:
            duck.execute("ROLLBACK")
            raise
    finally:
        duck.unregister(view)
