"""Per-day statistics of a source table's change column: one small aggregate query per sensor tick.

``SELECT CAST(change AS DATE), COUNT(*), MAX(change) ... WHERE change >= %(since)s GROUP BY 1`` returns
one row per day however large the table, and the filter on the change column is the one extraction
uses, so the counts compare like for like with what a bronze run extracts. The value is always a bound
parameter, never formatted into the SQL.

Change columns are TIMESTAMP_NTZ holding UTC, so the day of a value is its UTC day and the values come
back naive. The sources are reached through the same Dagster resources as extraction:
``SnowflakeResource.get_connection()`` (the Snowflake connector, pyformat parameters) and, for Redshift,
a psycopg2 connection opened from ``RedshiftClientResource``'s connection arguments, because its client
runs queries without parameters. The table and its change column are the ones the bronze asset extracts
by (``lakehouse.sources.extract.source_table``), so the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import psycopg2
from dagster_aws.redshift import RedshiftClientResource
from dagster_snowflake import SnowflakeResource
from snowflake.connector.errors import ProgrammingError

from lakehouse.orchestration.sensors.watermarks import DayState
from lakehouse.sources.extract import (
    SourceTable,
    as_date,
    daily_stats_query,
    fetch_all,
    naive_utc,
    source_connection,
)


class SourceTableMissing(LookupError):
    """The source table does not exist (yet): nothing to load, not an error of the sensor."""


# Snowflake reports a missing object as error 2003 (SQLSTATE 42S02); PostgreSQL/Redshift as 42P01.
_MISSING_TABLE_SQLSTATES = {"42S02", "42P01"}


def snowflake_day_states(
    snowflake: SnowflakeResource, table: SourceTable, since: datetime | None
) -> dict[date, DayState]:
    """Per-day source states of a Snowflake table from ``since`` (naive UTC; None: every day) on."""
    return _source_day_states("snowflake", snowflake, table, since)


def redshift_day_states(
    redshift: RedshiftClientResource, table: SourceTable, since: datetime | None
) -> dict[date, DayState]:
    """Per-day source states of a Redshift table from ``since`` (naive UTC; None: every day) on."""
    return _source_day_states("redshift", redshift, table, since)


def _source_day_states(
    system: str, resource, table: SourceTable, since: datetime | None
) -> dict[date, DayState]:
    query = daily_stats_query(table, bounded=since is not None)
    with source_connection(system, resource) as connection:
        try:
            return _day_states(fetch_all(connection, query, {"since": since} if since is not None else None))
        except (ProgrammingError, psycopg2.Error) as error:
            state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
            if state in _MISSING_TABLE_SQLSTATES:
                raise SourceTableMissing(f"{table.qualified_name} does not exist") from error
            raise


def _day_states(rows: Iterable[tuple[Any, Any, Any]]) -> dict[date, DayState]:
    return {
        as_date(day): DayState(int(count), naive_utc(high)) for day, count, high in rows if day is not None
    }
