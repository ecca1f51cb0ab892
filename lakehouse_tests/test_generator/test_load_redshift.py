"""Commit batches COPY-loaded into PostgreSQL read back with the source shape of Redshift."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import psycopg2
import psycopg2.extensions
import pytest

from lakehouse.generator import BEHAVIOR_EVENTS, GeneratedData, load_redshift
from lakehouse.generator.load_redshift import loaded_commit_dates
from lakehouse_tests.test_generator.reference_checks import row_multiset


@pytest.fixture(scope="module")
def analytics_dsn(dirty_data: GeneratedData, generator_postgres_dsn: str) -> str:
    first_batch = dirty_data.batches_through(dirty_data.config.start_date)
    first_day = load_redshift(first_batch, generator_postgres_dsn)
    assert len(first_day.loaded) == 1 and not first_day.skipped
    rest = load_redshift(dirty_data.batches, generator_postgres_dsn)
    assert len(rest.skipped) == 1 and len(rest.loaded) == dirty_data.config.days - 1
    return psycopg2.extensions.make_dsn(generator_postgres_dsn, dbname="analytics")


def test_loading_a_day_again_changes_nothing(dirty_data: GeneratedData, analytics_dsn: str) -> None:
    again = load_redshift(dirty_data.batches, analytics_dsn)
    assert again.loaded == () and len(again.skipped) == dirty_data.config.days
    assert set(loaded_commit_dates(analytics_dsn)[BEHAVIOR_EVENTS.qualified_name]) == {
        batch.commit_date for batch in dirty_data.batches
    }


def test_a_load_leaves_the_table_vacuumed_and_analyzed(analytics_dsn: str) -> None:
    """So that the first extraction does not set hint bits on every page, and no autovacuum woken by the
    bulk load runs beside the day's runs."""
    with psycopg2.connect(analytics_dsn) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT last_vacuum, last_analyze FROM pg_stat_user_tables "
            "WHERE schemaname = 'web' AND relname = 'behavior_events'"
        )
        vacuumed, analyzed = cursor.fetchone()
    conn.close()
    assert vacuumed is not None and analyzed is not None


def test_events_read_back_with_redshift_types_and_every_row(
    dirty_data: GeneratedData, analytics_dsn: str
) -> None:
    with psycopg2.connect(analytics_dsn) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type, character_maximum_length FROM information_schema.columns "
            "WHERE table_schema = 'web' AND table_name = 'behavior_events' ORDER BY ordinal_position"
        )
        columns = cursor.fetchall()
        cursor.execute(f"SELECT {', '.join(BEHAVIOR_EVENTS.column_names)} FROM web.behavior_events")
        fetched = Counter(cursor.fetchall())
    conn.close()

    assert [name for name, _, _ in columns] == list(BEHAVIOR_EVENTS.column_names)
    rendered = {name: f"{kind}({length})" if length else kind for name, kind, length in columns}
    assert rendered == {
        "event_id": "character varying(36)",
        "customer_id": "bigint",
        "session_id": "character varying(36)",
        "event_type": "character varying(32)",
        "product_id": "bigint",
        "page_url": "character varying(2048)",
        "device": "character varying(16)",
        "event_ts": "timestamp without time zone",
        "loaded_at": "timestamp without time zone",
    }
    assert fetched == row_multiset(dirty_data.rows(BEHAVIOR_EVENTS), BEHAVIOR_EVENTS)


def test_another_generation_is_refused_unless_replacing(
    clean_data: GeneratedData, dirty_data: GeneratedData, analytics_dsn: str
) -> None:
    with pytest.raises(ValueError, match="different generations"):
        load_redshift(clean_data.batches, analytics_dsn)
    report = load_redshift(dirty_data.batches, analytics_dsn, replace=True)
    assert not report.skipped and report.rows_loaded == dirty_data.rows(BEHAVIOR_EVENTS).num_rows
    with psycopg2.connect(analytics_dsn) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM web.behavior_events")
        assert cursor.fetchone()[0] == report.rows_loaded
    conn.close()


def test_a_day_window_is_read_through_the_change_column_index(dirty_data: GeneratedData, analytics_dsn: str) -> None:
    # the stand-in for Redshift's sort key: a day's extraction must not scan every loaded day
    day = dirty_data.config.start_date
    with psycopg2.connect(analytics_dsn) as conn, conn.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")  # small tables: ask whether the index can serve the window
        cursor.execute(
            "EXPLAIN SELECT * FROM web.behavior_events WHERE loaded_at >= %s AND loaded_at < %s ORDER BY loaded_at",
            (day, day + timedelta(days=1)),
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    conn.close()
    assert "behavior_events_loaded_at" in plan, plan
