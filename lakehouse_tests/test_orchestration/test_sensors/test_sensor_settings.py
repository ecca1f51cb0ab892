"""What a watermark sensor costs its source: its interval and lag come from the deployment's settings when
the definitions are built, and a quiet tick (no new data) sends the source the statements
docs/automation.md counts, counted on real connections to the local Snowflake and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import psycopg2
import pytest
from snowflake.connector.connection import SnowflakeConnection

from lakehouse.orchestration.definitions import bronze_ingestion_definitions
from lakehouse.orchestration.sensors.settings import sensor_interval_seconds, sensor_lag_days
from lakehouse.partitions import last_partition_day
from lakehouse.settings import DEPLOYMENT_ENV_VAR
from lakehouse_tests.test_orchestration.test_sensors.support import (
    DAY_3,
    NOW,
    Sources,
    requested,
    with_lake,
    write_lake,
)

TABLES = ["behavior_events", "customers", "order_items", "orders", "products"]
SNOWFLAKE_TABLES = ["customers", "order_items", "orders", "products"]
SETTINGS = [
    "LAKEHOUSE_SENSOR_INTERVAL_SECONDS",
    "LAKEHOUSE_SNOWFLAKE_SENSOR_INTERVAL_SECONDS",
    "LAKEHOUSE_REDSHIFT_SENSOR_INTERVAL_SECONDS",
    "LAKEHOUSE_SENSOR_LAG_DAYS",
    "LAKEHOUSE_SNOWFLAKE_SENSOR_LAG_DAYS",
    "LAKEHOUSE_REDSHIFT_SENSOR_LAG_DAYS",
]


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The environment with none of the sensor settings set, to set them test by test."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def intervals() -> dict[str, int]:
    definitions = bronze_ingestion_definitions(running=False)
    return {sensor.name.split("_watermark")[0].removeprefix("bronze_"): sensor.minimum_interval_seconds
            for sensor in definitions.sensors}


def test_the_interval_is_the_deployments_setting_per_source(settings: pytest.MonkeyPatch) -> None:
    settings.setenv(DEPLOYMENT_ENV_VAR, "local")
    assert intervals() == {table: 60 for table in TABLES}
    settings.setenv(DEPLOYMENT_ENV_VAR, "prod")  # a tick at most every 15 minutes: no warehouse kept awake
    assert intervals() == {table: 900 for table in TABLES}

    settings.setenv("LAKEHOUSE_SENSOR_INTERVAL_SECONDS", "1800")
    assert intervals() == {table: 1800 for table in TABLES}
    settings.setenv("LAKEHOUSE_SNOWFLAKE_SENSOR_INTERVAL_SECONDS", "3600")  # the per-source one wins
    assert intervals() == {"behavior_events": 1800, **{table: 3600 for table in SNOWFLAKE_TABLES}}
    settings.setenv("LAKEHOUSE_REDSHIFT_SENSOR_INTERVAL_SECONDS", "120")
    assert intervals()["behavior_events"] == 120

    settings.setenv("LAKEHOUSE_SNOWFLAKE_SENSOR_INTERVAL_SECONDS", "15m")
    with pytest.raises(ValueError, match="LAKEHOUSE_SNOWFLAKE_SENSOR_INTERVAL_SECONDS='15m' is not a whole number"):
        bronze_ingestion_definitions(["orders"])
    settings.setenv("LAKEHOUSE_REDSHIFT_SENSOR_INTERVAL_SECONDS", "0")
    with pytest.raises(ValueError, match="LAKEHOUSE_REDSHIFT_SENSOR_INTERVAL_SECONDS='0' .* at least 1"):
        sensor_interval_seconds("redshift")


def test_the_lag_is_the_deployments_setting_per_source(settings: pytest.MonkeyPatch) -> None:
    assert sensor_lag_days("snowflake") == sensor_lag_days("redshift") == 2
    settings.setenv("LAKEHOUSE_SENSOR_LAG_DAYS", "5")
    settings.setenv("LAKEHOUSE_REDSHIFT_SENSOR_LAG_DAYS", "0")
    assert (sensor_lag_days("snowflake"), sensor_lag_days("redshift")) == (5, 0)
    descriptions = {sensor.name: sensor.description for sensor in bronze_ingestion_definitions().sensors}
    assert "re-examining 5 day(s)" in descriptions["bronze_orders_watermark_sensor"]
    assert "re-examining 0 day(s)" in descriptions["bronze_behavior_events_watermark_sensor"]
    settings.setenv("LAKEHOUSE_SENSOR_LAG_DAYS", "-1")
    with pytest.raises(ValueError, match="LAKEHOUSE_SENSOR_LAG_DAYS='-1' is not a whole number of at least 0"):
        sensor_lag_days("snowflake")


def test_explicit_arguments_win_over_the_settings(settings: pytest.MonkeyPatch) -> None:
    settings.setenv("LAKEHOUSE_SENSOR_INTERVAL_SECONDS", "1800")
    settings.setenv("LAKEHOUSE_SENSOR_LAG_DAYS", "5")
    definitions = bronze_ingestion_definitions(["orders"], minimum_interval_seconds=45, lag_days=1)
    sensor = definitions.sensors[0]
    assert sensor.minimum_interval_seconds == 45 and "re-examining 1 day(s)" in sensor.description


# ------------------------------------------------------------------------------- ticks on real sources


def matching_lake(sources: Sources, lake: Path, table: str) -> None:
    """The lake holding every closed day of ``table`` as the source does, as its bronze runs leave it."""
    last_open = last_partition_day(NOW.date())
    states = sources.expected_states(table, DAY_3)
    write_lake(lake, table, {day: state.rows for day, state in states.items() if day <= last_open})


def evaluate(table: str, sources: Sources, lake: Path, cursor: str | None) -> dg.SensorResult:
    """One tick of the table's sensor as the code location builds it (settings from the environment)."""
    definitions = bronze_ingestion_definitions([table], clock=lambda: NOW)
    context = dg.build_sensor_context(
        cursor=cursor, instance=dg.DagsterInstance.ephemeral(), resources=with_lake(sources, lake)
    )
    result = definitions.sensors[0](context)
    assert isinstance(result, dg.SensorResult)
    return result


def examined_from(result: dg.SensorResult) -> date:
    message = str(result.skip_reason.skip_message)
    return date.fromisoformat(message.split("examined days from ", 1)[1][:10])


@pytest.mark.parametrize("table, variable", [("orders", "LAKEHOUSE_SNOWFLAKE_SENSOR_LAG_DAYS"),
                                             ("behavior_events", "LAKEHOUSE_REDSHIFT_SENSOR_LAG_DAYS")])
def test_the_lag_setting_is_the_window_a_tick_examines(
    sources: Sources, tmp_path: Path, settings: pytest.MonkeyPatch, table: str, variable: str
) -> None:
    sources.hold_through(DAY_3)
    matching_lake(sources, tmp_path, table)
    for lag in (0, 1):
        settings.setenv(variable, str(lag))
        result = evaluate(table, sources, tmp_path, cursor=None)
        assert requested(result) == [], result.skip_reason
        assert examined_from(result) == DAY_3 - timedelta(days=lag)  # the lake's watermark minus the lag


@pytest.fixture
def postgres_statements(sources: Sources):
    """The statements the local PostgreSQL executes for the tests' role from now on, from its own log:
    every statement of a new session is logged before it runs (``log_statement = 'all'`` on the role)."""
    log = sources.services.redshift.log_path
    dsn = sources.services.postgres_dsn()
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute("ALTER ROLE CURRENT_USER SET log_statement = 'all'")
    start = log.stat().st_size

    def logged() -> list[str]:
        text = log.read_text()[start:]
        return [line.split("statement: ", 1)[1] for line in text.splitlines() if "statement: " in line]

    try:
        yield logged
    finally:
        with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
            cursor.execute("ALTER ROLE CURRENT_USER RESET log_statement")


@pytest.fixture
def snowflake_statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements the Snowflake connector sends from now on: ``cmd_query`` sends each to the server
    as one query request (one row of Snowflake's QUERY_HISTORY), the connector's own (COMMIT) included."""
    sent: list[str] = []
    send = SnowflakeConnection.cmd_query

    def counting(self, sql, *args, **kwargs):
        sent.append(sql)
        return send(self, sql, *args, **kwargs)

    monkeypatch.setattr(SnowflakeConnection, "cmd_query", counting)
    return sent


def test_a_quiet_snowflake_tick_sends_one_query_and_a_commit(
    sources: Sources, tmp_path: Path, settings: pytest.MonkeyPatch, snowflake_statements: list[str]
) -> None:
    """docs/automation.md: per table and tick, one aggregate query (the one a warehouse runs) and the
    COMMIT dagster-snowflake sends when a connection closes."""
    sources.hold_through(DAY_3)
    matching_lake(sources, tmp_path, "orders")
    first = evaluate("orders", sources, tmp_path, cursor=None)
    snowflake_statements.clear()

    quiet = evaluate("orders", sources, tmp_path, cursor=first.cursor)

    assert requested(quiet) == [] and quiet.cursor == first.cursor
    assert len(snowflake_statements) == 2, snowflake_statements
    query, commit = snowflake_statements
    assert query.startswith("SELECT CAST(\"UPDATED_AT\" AS DATE)") and "FROM RETAIL.SALES.ORDERS" in query
    assert commit == "COMMIT"


def test_a_quiet_redshift_tick_runs_one_query(
    sources: Sources, tmp_path: Path, settings: pytest.MonkeyPatch, postgres_statements
) -> None:
    """docs/automation.md: per table and tick, one aggregate query, in the transaction psycopg2 opens."""
    sources.hold_through(DAY_3)
    matching_lake(sources, tmp_path, "behavior_events")
    first = evaluate("behavior_events", sources, tmp_path, cursor=None)
    before = len(postgres_statements())

    quiet = evaluate("behavior_events", sources, tmp_path, cursor=first.cursor)

    assert requested(quiet) == [] and quiet.cursor == first.cursor
    statements = postgres_statements()[before:]
    assert len(statements) == 2, statements
    begin, query = statements
    assert begin == "BEGIN"
    assert query.startswith('SELECT CAST("loaded_at" AS DATE)') and "FROM web.behavior_events" in query
