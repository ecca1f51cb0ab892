"""Commit batches loaded into fakesnow's files read back through the real Snowflake connector."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import duckdb
import pytest
import snowflake.connector
from snowflake.connector.constants import FIELD_ID_TO_NAME

from lakehouse.generator import ORDER_ITEMS, SNOWFLAKE_TABLES, GeneratedData, load_snowflake
from lakehouse.generator.load_snowflake import loaded_commit_dates
from lakehouse_tests.test_generator.support import fakesnow_server
from lakehouse_tests.test_generator.reference_checks import row_multiset

# What the connector reports for each source type: (type name, precision, scale); None = not checked.
DESCRIBED_AS = {
    "NUMBER(38,0)": "NUMBER(38,0)",
    "NUMBER(12,2)": "NUMBER(12,2)",
    "VARCHAR": "VARCHAR(16777216)",
    "TIMESTAMP_NTZ": "TIMESTAMP_NTZ(9)",
}
EXPECTED_TYPES = {
    "NUMBER(38,0)": ("FIXED", None, 0),
    "NUMBER(12,2)": ("FIXED", 12, 2),
    "VARCHAR": ("TEXT", None, None),
    "TIMESTAMP_NTZ": ("TIMESTAMP_NTZ", None, None),
    "BOOLEAN": ("BOOLEAN", None, None),
}


@pytest.fixture(scope="module")
def loaded_dir(dirty_data: GeneratedData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db_dir = tmp_path_factory.mktemp("fakesnow")
    first_day = load_snowflake(dirty_data.batches_through(dirty_data.config.start_date), db_dir)
    assert len(first_day.loaded) == len(SNOWFLAKE_TABLES) and not first_day.skipped
    rest = load_snowflake(dirty_data.batches, db_dir)
    assert len(rest.skipped) == len(SNOWFLAKE_TABLES)
    assert len(rest.loaded) == len(SNOWFLAKE_TABLES) * (dirty_data.config.days - 1)
    return db_dir


def test_loading_a_day_again_changes_nothing(dirty_data: GeneratedData, loaded_dir: Path) -> None:
    again = load_snowflake(dirty_data.batches, loaded_dir)
    assert again.loaded == () and again.rows_loaded == 0
    dates = {batch.commit_date for batch in dirty_data.batches}
    assert {table: set(days) for table, days in loaded_commit_dates(loaded_dir).items()} == {
        spec.qualified_name: dates for spec in SNOWFLAKE_TABLES
    }


@pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result")
def test_the_server_describes_the_source_types_and_returns_every_row(
    dirty_data: GeneratedData, loaded_dir: Path
) -> None:
    with fakesnow_server(loaded_dir) as connect_kwargs, snowflake.connector.connect(**connect_kwargs) as conn:
        cursor = conn.cursor()
        for spec in SNOWFLAKE_TABLES:
            cursor.execute(f"SELECT {', '.join(spec.column_names)} FROM {spec.qualified_name}")
            described = {
                column.name: (FIELD_ID_TO_NAME[column.type_code], column.precision, column.scale)
                for column in cursor.description
            }
            for column in spec.columns:
                name, precision, scale = EXPECTED_TYPES[column.sql_type]
                got_name, got_precision, got_scale = described[column.name]
                assert got_name == name, (spec.qualified_name, column.name, described[column.name])
                assert precision is None or got_precision == precision, (spec.qualified_name, column.name)
                assert scale is None or got_scale == scale, (spec.qualified_name, column.name)
            fetched = Counter(cursor.fetchall())
            assert fetched == row_multiset(dirty_data.rows(spec), spec), spec.qualified_name

        # DESCRIBE TABLE reports the Snowflake types of the DDL (with Snowflake's default lengths)
        cursor.execute("DESCRIBE TABLE RETAIL.SALES.ORDER_ITEMS")
        described_types = {row[0]: row[1] for row in cursor.fetchall()}
        assert described_types == {column.name: DESCRIBED_AS[column.sql_type] for column in ORDER_ITEMS.columns}

        # the change column supports watermark queries with Snowflake timestamp literals
        second_day = dirty_data.config.day(1).isoformat()
        cursor.execute(
            f"SELECT COUNT(*) FROM RETAIL.SALES.ORDERS WHERE UPDATED_AT >= '{second_day}'::TIMESTAMP_NTZ"
        )
        (count,) = cursor.fetchone()
        orders = dirty_data.rows("RETAIL.SALES.ORDERS").column("UPDATED_AT").to_pylist()
        # a NULL change column is never in a window (the dirt holds some)
        assert count == sum(stamp is not None and stamp.date().isoformat() >= second_day for stamp in orders)


def test_another_generation_is_refused_unless_replacing(
    clean_data: GeneratedData, dirty_data: GeneratedData, loaded_dir: Path
) -> None:
    with pytest.raises(ValueError, match="different generations"):
        load_snowflake(clean_data.batches, loaded_dir)
    report = load_snowflake(dirty_data.batches, loaded_dir, replace=True)
    assert not report.skipped
    assert report.rows_loaded == sum(dirty_data.rows(spec).num_rows for spec in SNOWFLAKE_TABLES)
    with duckdb.connect(str(loaded_dir / "RETAIL.db"), read_only=True) as duck:
        (orders,) = duck.execute("SELECT COUNT(*) FROM RETAIL.SALES.ORDERS").fetchone()
    assert orders == dirty_data.rows("RETAIL.SALES.ORDERS").num_rows
