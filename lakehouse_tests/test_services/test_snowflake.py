"""The local Snowflake through the real connector and dagster-snowflake's resource."""

from __future__ import annotations

import duckdb
import pytest
import snowflake.connector

from lakehouse.services import LocalServices, ServiceState
from lakehouse.resources import snowflake_resource
from lakehouse.services.state import port_accepts_connections


def _status(services: LocalServices, name: str):
    return next(s for s in services.status() if s.name == name)


def test_connector_writes_with_binding_and_resource_reads_back(local_services: LocalServices) -> None:
    with snowflake.connector.connect(**local_services.snowflake_connect_kwargs()) as connection:
        cursor = connection.cursor()
        cursor.execute("CREATE SCHEMA IF NOT EXISTS CRM")
        cursor.execute(
            "CREATE OR REPLACE TABLE CRM.BINDING_PROBE (ID NUMBER, NAME VARCHAR, AMOUNT NUMBER(12, 2))"
        )
        insert = "INSERT INTO CRM.BINDING_PROBE VALUES (%s, %s, %s)"
        cursor.execute(insert, (1, "o'brien", "10.50"))
        cursor.executemany(insert, [(2, "b", 2), (3, None, 3.25)])

    # a second, independent session made by the resource sees the first one's committed rows
    with snowflake_resource().get_connection() as connection:
        cursor = connection.cursor()
        cursor.execute("SELECT CURRENT_DATABASE()")
        assert cursor.fetchone() == ("RETAIL",)
        cursor.execute("SELECT ID, NAME, AMOUNT FROM CRM.BINDING_PROBE ORDER BY ID")
        rows = [(int(i), name, float(amount)) for i, name, amount in cursor.fetchall()]
    assert rows == [(1, "o'brien", 10.5), (2, "b", 2.0), (3, None, 3.25)]


def test_null_timestamps_arrive_as_null(local_services: LocalServices) -> None:
    with snowflake_resource().get_connection() as connection:
        cursor = connection.cursor()
        cursor.execute(
            "CREATE OR REPLACE TABLE PUBLIC.NULL_TIME_PROBE (ID NUMBER, SEEN TIMESTAMP_NTZ, SEEN_TZ TIMESTAMP_TZ)"
        )
        cursor.execute(
            "INSERT INTO PUBLIC.NULL_TIME_PROBE VALUES (1, NULL, NULL), "
            "(2, '2026-01-01 10:00:00.25', '2026-01-01 10:00:00+00:00')"
        )
        cursor.execute("SELECT ID, SEEN, SEEN_TZ FROM PUBLIC.NULL_TIME_PROBE ORDER BY ID")
        (first, second) = cursor.fetchall()
        cursor.execute("SELECT SEEN FROM PUBLIC.NULL_TIME_PROBE ORDER BY ID")
        (arrow,) = list(cursor.fetch_arrow_batches())
    assert first[1:] == (None, None)
    assert str(second[1]) == "2026-01-01 10:00:00.250000"
    assert second[2] is not None
    assert arrow.column("SEEN").null_count == 1


def test_server_side_qmark_binding(local_services: LocalServices) -> None:
    kwargs = {**local_services.snowflake_connect_kwargs(), "paramstyle": "qmark"}
    with snowflake.connector.connect(**kwargs) as connection:
        cursor = connection.cursor()
        cursor.execute("CREATE OR REPLACE TABLE PUBLIC.QMARK_PROBE (ID NUMBER, NAME VARCHAR)")
        cursor.executemany("INSERT INTO PUBLIC.QMARK_PROBE VALUES (?, ?)", [(1, "a"), (2, "b")])
        cursor.execute("SELECT NAME FROM PUBLIC.QMARK_PROBE WHERE ID = ?", (2,))
        assert cursor.fetchall() == [("b",)]


def test_table_survives_a_server_restart_and_paused_gives_exclusive_files(
    local_services: LocalServices,
) -> None:
    with snowflake.connector.connect(**local_services.snowflake_connect_kwargs()) as connection:
        connection.cursor().execute("CREATE OR REPLACE TABLE PUBLIC.RESTART_PROBE AS SELECT 42 AS ANSWER")
    before = _status(local_services, "snowflake")

    with local_services.snowflake_paused() as data_path:
        assert _status(local_services, "snowflake").state is ServiceState.PAUSED
        assert not port_accepts_connections(before.host, before.port)
        # the server released its DuckDB lock: this process can open the file read-write
        with duckdb.connect(str(data_path / "RETAIL.db")) as database:
            assert database.sql("SELECT answer FROM public.restart_probe").fetchall() == [(42,)]
            database.execute("INSERT INTO public.restart_probe VALUES (43)")

    after = _status(local_services, "snowflake")
    assert after.state is ServiceState.RUNNING
    assert after.port == before.port
    assert after.pid != before.pid  # a new server process, reading the same files
    with snowflake.connector.connect(**local_services.snowflake_connect_kwargs()) as connection:
        cursor = connection.cursor()
        cursor.execute("SELECT ANSWER FROM PUBLIC.RESTART_PROBE ORDER BY ANSWER")
        assert cursor.fetchall() == [(42,), (43,)]


def test_paused_restarts_the_server_when_the_load_fails(local_services: LocalServices) -> None:
    before = _status(local_services, "snowflake")
    with pytest.raises(RuntimeError, match="load failed"):
        with local_services.snowflake_paused():
            raise RuntimeError("load failed")
    after = _status(local_services, "snowflake")
    assert after.state is ServiceState.RUNNING
    assert after.port == before.port
    assert port_accepts_connections(after.host, after.port)


def test_a_session_without_a_database_sees_retail(local_services: LocalServices) -> None:
    with snowflake.connector.connect(**local_services.snowflake_connect_kwargs()) as connection:
        connection.cursor().execute("CREATE OR REPLACE TABLE PUBLIC.QUALIFIED_PROBE AS SELECT 1 AS ONE")
    kwargs = {**local_services.snowflake_connect_kwargs(), "database": None}
    with snowflake.connector.connect(**kwargs) as connection:
        cursor = connection.cursor()
        cursor.execute("SELECT ONE FROM RETAIL.PUBLIC.QUALIFIED_PROBE")
        assert cursor.fetchall() == [(1,)]
