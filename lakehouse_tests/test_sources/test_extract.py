"""Extraction from the local sources: bounded Arrow batches of the declared types, on every path."""

from __future__ import annotations

import socket
from datetime import date, datetime, timezone
from decimal import Decimal
from types import SimpleNamespace

import psycopg2
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakehouse.resources import redshift_resource, snowflake_resource
from lakehouse.services import LocalServices
from lakehouse.sources import extract
from lakehouse.sources.extract import (
    SourceCount,
    SourceTable,
    Window,
    reconciliation_counts,
    redshift_batches,
    snowflake_batches,
    window_count,
)
from lakehouse.sources.landing import land_batches
from lakehouse.sources.reconciliation import SourceDay


def count_rows(connection, table: SourceTable, window: Window) -> SourceCount:
    """The window's rows as the source's whole-table aggregate counts them."""
    return window_count(reconciliation_counts(connection, table, window.undated_from or datetime.max), window)


PROBE = SourceTable("redshift", "analytics.web.extract_probe", "loaded_at")
PROBE_WINDOW = Window(datetime(2030, 1, 1), datetime(2030, 1, 2))

PROBE_TYPES = pa.schema(
    [
        ("event_id", pa.string()),
        ("amount", pa.decimal128(10, 2)),
        ("unbounded", pa.string()),  # NUMERIC without precision: every digit kept as text
        ("too_wide", pa.string()),  # NUMERIC(50, 1) does not fit a decimal128
        ("small", pa.int16()),
        ("medium", pa.int32()),
        ("big", pa.int64()),
        ("ratio", pa.float32()),
        ("score", pa.float64()),
        ("flag", pa.bool_()),
        ("code", pa.string()),
        ("note", pa.string()),
        ("day", pa.date32()),
        ("at_local", pa.timestamp("us")),
        ("at_utc", pa.timestamp("us", tz="UTC")),
        ("token", pa.string()),  # uuid
        ("clock", pa.string()),  # time
        ("loaded_at", pa.timestamp("us")),
    ]
)


@pytest.fixture(scope="module")
def probe_table(local_services: LocalServices):
    """Five rows in the window (one all NULL but its key), one after it."""
    rows = [
        (f"e{i}", f"{i}.25", f"{i}.123456789012345678901234567890", f"{i}" * 45 + ".5", i, i * 1000,
         i * 10**12, i / 4, i / 3, i % 2 == 0, "ab", f"note {i}", f"2030-01-0{i}",
         f"2030-01-01 0{i}:00:00.123456",
         f"2030-01-01 0{i}:00:00.5+02", f"00000000-0000-0000-0000-00000000000{i}", f"1{i}:30:00",
         f"2030-01-01 0{i}:00:00")
        for i in range(1, 5)
    ]  # fmt: skip
    rows.append(("e5",) + (None,) * 16 + ("2030-01-01 23:59:59.999999",))
    rows.append(("late",) + (None,) * 16 + ("2030-01-02 00:00:00",))
    with psycopg2.connect(local_services.postgres_dsn()) as connection, connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE web.extract_probe (event_id VARCHAR(8), amount NUMERIC(10, 2), unbounded NUMERIC,"
            " too_wide NUMERIC(50, 1), small SMALLINT, medium INTEGER, big BIGINT, ratio REAL,"
            " score DOUBLE PRECISION, flag BOOLEAN, code CHAR(3), note TEXT, day DATE, at_local TIMESTAMP,"
            " at_utc TIMESTAMPTZ, token UUID, clock TIME, loaded_at TIMESTAMP)"
        )
        cursor.executemany(f"INSERT INTO web.extract_probe VALUES ({', '.join(['%s'] * 18)})", rows)
    connection.close()
    yield PROBE
    with psycopg2.connect(local_services.postgres_dsn()) as connection, connection.cursor() as cursor:
        cursor.execute("DROP TABLE web.extract_probe")
    connection.close()


def _table(batches) -> pa.Table:
    return pa.Table.from_batches(list(batches), schema=PROBE_TYPES)


def test_postgres_window_arrives_in_bounded_batches_of_the_declared_types(probe_table, tmp_path):
    with extract.source_connection("redshift", redshift_resource()) as connection:
        batches = list(redshift_batches(connection, probe_table, PROBE_WINDOW, batch_rows=2))
        counted = count_rows(connection, probe_table, PROBE_WINDOW)

    assert [batch.num_rows for batch in batches] == [2, 2, 1]
    assert all(batch.schema == PROBE_TYPES for batch in batches)
    table = pa.Table.from_batches(batches)
    assert counted == SourceCount(in_days=table.num_rows, undated=0)
    assert table.num_rows == 5
    assert table.column("event_id").to_pylist() == ["e1", "e2", "e3", "e4", "e5"]  # ordered, "late" left out
    first = table.slice(0, 1).to_pylist()[0]
    assert first == {
        "event_id": "e1", "amount": Decimal("1.25"), "unbounded": "1.123456789012345678901234567890",
        "too_wide": "1" * 45 + ".5", "small": 1, "medium": 1000, "big": 10**12, "ratio": 0.25,
        "score": pytest.approx(1 / 3), "flag": False, "code": "ab ", "note": "note 1",
        "day": date(2030, 1, 1),
        "at_local": datetime(2030, 1, 1, 1, 0, 0, 123456),
        "at_utc": datetime(2029, 12, 31, 23, 0, 0, 500000, tzinfo=timezone.utc),
        "token": "00000000-0000-0000-0000-000000000001", "clock": "11:30:00",
        "loaded_at": datetime(2030, 1, 1, 1),
    }  # fmt: skip
    last = table.slice(4, 1).to_pylist()[0]
    assert [name for name, value in last.items() if value is not None] == ["event_id", "loaded_at"]

    rows = land_batches(batches, str(tmp_path / "landing"))
    on_disk = pq.read_table(tmp_path / "landing")
    assert rows == on_disk.num_rows == 5
    assert on_disk.schema.field("amount").type == pa.decimal128(10, 2)
    assert on_disk.schema.field("at_utc").type == pa.timestamp("us", tz="UTC")


def test_native_and_row_paths_extract_the_same_arrow(probe_table):
    with extract.source_connection("redshift", redshift_resource()) as connection:
        native = _table(extract._adbc_batches(connection, probe_table, PROBE_WINDOW, batch_rows=3))
        rows = _table(extract._psycopg2_batches(connection, probe_table, PROBE_WINDOW, batch_rows=3))
    assert native.num_rows == 5
    assert native.equals(rows)


def test_generated_day_is_the_same_through_both_paths(generated_sources):
    table = SourceTable("redshift", "analytics.web.behavior_events", "loaded_at")
    window = Window(datetime(2026, 1, 1), datetime(2026, 1, 2))
    with extract.source_connection("redshift", redshift_resource()) as connection:
        native = pa.Table.from_batches(list(extract._adbc_batches(connection, table, window, 500)))
        rows = pa.Table.from_batches(list(extract._psycopg2_batches(connection, table, window, 500)))
        counted = count_rows(connection, table, window)
    assert native.num_rows == counted.in_days > 500
    assert native.equals(rows)


class _ReportedAs:
    """A psycopg2 connection as a different server would describe it (Redshift reports 8.0.2)."""

    def __init__(self, connection, **info) -> None:
        self._connection = connection
        real = connection.info
        settings = dict(
            server_version=real.server_version, host=real.host, port=real.port, dbname=real.dbname,
            user=real.user, password=real.password, dsn_parameters=real.dsn_parameters,
        )  # fmt: skip
        self.info = SimpleNamespace(**(settings | info))

    def cursor(self, *args, **kwargs):
        return self._connection.cursor(*args, **kwargs)


def test_redshift_is_read_through_psycopg2_rows(probe_table, monkeypatch):
    def no_adbc(*_args):
        raise AssertionError("Redshift must not go through the ADBC driver")

    monkeypatch.setattr(extract, "_adbc_batches", no_adbc)
    with extract.source_connection("redshift", redshift_resource()) as connection:
        redshift = _ReportedAs(connection, server_version=80002)
        batches = list(redshift_batches(redshift, probe_table, PROBE_WINDOW, batch_rows=2))
    assert [batch.num_rows for batch in batches] == [2, 2, 1]
    assert _table(batches).column("amount").to_pylist()[:2] == [Decimal("1.25"), Decimal("2.25")]


def test_native_connection_failure_is_a_retryable_connection_error(probe_table):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    with extract.source_connection("redshift", redshift_resource()) as connection:
        unreachable = _ReportedAs(connection, port=closed_port)
        with pytest.raises(ConnectionError, match="Connection refused"):
            list(redshift_batches(unreachable, probe_table, PROBE_WINDOW, batch_rows=2))


def test_snowflake_window_arrives_in_bounded_batches(generated_sources):
    table = SourceTable("snowflake", "RETAIL.CATALOG.PRODUCTS", "UPDATED_AT")
    window = Window(datetime(2026, 1, 1), datetime(2026, 1, 2))
    with extract.source_connection("snowflake", snowflake_resource()) as connection:
        batches = list(snowflake_batches(connection, table, window, batch_rows=3))
        counted = count_rows(connection, table, window)
    assert counted.in_days > 3
    assert sum(batch.num_rows for batch in batches) == counted.in_days
    assert max(batch.num_rows for batch in batches) == 3
    assert batches[0].schema.field("UPDATED_AT").type.unit in ("us", "ns")


def test_native_connection_lost_mid_stream_is_a_retryable_connection_error(probe_table, local_services):
    with extract.source_connection("redshift", redshift_resource()) as connection:
        batches = redshift_batches(connection, probe_table, PROBE_WINDOW, batch_rows=2)
        assert next(batches).num_rows == 2
        with psycopg2.connect(local_services.postgres_dsn()) as admin, admin.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE query LIKE 'FETCH FORWARD %% FROM lakehouse_extract_%%' AND pid <> pg_backend_pid()"
            )
            assert cursor.fetchall() == [(True,)]
        admin.close()
        with pytest.raises(ConnectionError):
            next(batches)


# ------------------------------------------------------------------- history, undated rows, the whole table

EDGES = SourceTable("redshift", "analytics.web.extract_edges", "loaded_at")
EDGE_ROWS = [
    ("history", "2029-06-30 12:00:00"),  # before the first day
    ("day1", "2030-01-01 08:00:00"),
    ("day2", "2030-01-02 08:00:00"),
    ("soon", "2030-01-05 01:00:00"),  # after the window, before the tolerance: a day not due yet
    ("undated", None),
    ("far", "2090-01-01 00:00:00"),  # decades ahead
]
NOW_PLUS_TOLERANCE = datetime(2030, 1, 6)


@pytest.fixture(scope="module")
def edges_table(local_services: LocalServices):
    with psycopg2.connect(local_services.postgres_dsn()) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE web.extract_edges (event_id VARCHAR(8), loaded_at TIMESTAMP)")
        cursor.executemany("INSERT INTO web.extract_edges VALUES (%s, %s)", EDGE_ROWS)
    connection.close()
    yield EDGES
    with psycopg2.connect(local_services.postgres_dsn()) as connection, connection.cursor() as cursor:
        cursor.execute("DROP TABLE web.extract_edges")
    connection.close()


@pytest.mark.parametrize(
    ("window", "expected", "count"),
    [
        (Window(datetime(2030, 1, 2), datetime(2030, 1, 3)), ["day2"], SourceCount(1, 0)),
        (Window(None, datetime(2030, 1, 2)), ["history", "day1"], SourceCount(2, 0)),
        (
            Window(datetime(2030, 1, 2), datetime(2030, 1, 3), undated_from=NOW_PLUS_TOLERANCE),
            ["day2", "far", "undated"],
            SourceCount(1, 2),
        ),
    ],
    ids=["days", "from-the-beginning", "with-undated-rows"],
)
def test_a_window_selects_its_days_the_history_before_them_and_the_undated_rows(edges_table, window, expected, count):
    with extract.source_connection("redshift", redshift_resource()) as connection:
        native = _ids(extract._adbc_batches(connection, edges_table, window, batch_rows=10))
        rows = _ids(extract._psycopg2_batches(connection, edges_table, window, batch_rows=10))
        counted = count_rows(connection, edges_table, window)
    assert sorted(native) == sorted(rows) == sorted(expected)
    assert counted == count


def test_the_whole_table_is_counted_per_day_with_its_future_rows(edges_table):
    with extract.source_connection("redshift", redshift_resource()) as connection:
        counts = reconciliation_counts(connection, edges_table, NOW_PLUS_TOLERANCE)
    assert counts == {
        date(2029, 6, 30): SourceDay(1),
        date(2030, 1, 1): SourceDay(1),
        date(2030, 1, 2): SourceDay(1),
        date(2030, 1, 5): SourceDay(1),
        None: SourceDay(1),
        date(2090, 1, 1): SourceDay(1, future_rows=1),
    }


def test_a_window_cannot_reach_into_the_future_it_quarantines():
    with pytest.raises(ValueError, match="reaches past"):
        Window(datetime(2030, 1, 1), datetime(2030, 1, 7), undated_from=NOW_PLUS_TOLERANCE)


def _ids(batches) -> list[str]:
    return [value for batch in batches for value in batch.column(0).to_pylist()]
