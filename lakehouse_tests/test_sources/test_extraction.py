"""The extraction modes: parallel time slices on the local PostgreSQL, the unload statements generated from
the contracts (their queries run on the local stand-ins), and the unloaded files read from S3."""

from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyarrow import fs as pafs
from pyspark.sql import functions as F

from lakehouse.contracts import align_to_schema, load_contracts
from lakehouse.contracts.model import ALIGNMENT_ERRORS_COLUMN
from lakehouse.resources import redshift_resource, snowflake_resource
from lakehouse.sources import extract
from lakehouse.sources.extract import SourceTable, Window, reconciliation_counts, source_table, window_count
from lakehouse.sources.extraction import (
    Extracted,
    ExtractionMode,
    ExtractionSettingError,
    ExtractionSettings,
    extract_window,
    extraction_settings,
    literal_window_query,
    redshift_unload_statement,
    snowflake_unload_statement,
    window_slices,
)
from lakehouse.sources.landing import landed_files, read_landed
from lakehouse_tests.fixtures.s3 import BUCKET

DAY_ONE = Window(datetime(2026, 1, 1), datetime(2026, 1, 2), undated_from=datetime(2026, 1, 3))
FIRST_PARTITION = Window(None, datetime(2026, 1, 2), undated_from=datetime(2026, 1, 3))
EVENTS = SourceTable("redshift", "analytics.web.behavior_events", "loaded_at")
PARALLEL = ExtractionSettings(ExtractionMode.PARALLEL, parallelism=3)
STREAM = ExtractionSettings(ExtractionMode.STREAM)
SNOWFLAKE_TABLES = ("customers", "products", "orders", "order_items")


def load_contract(layer: str, table: str):
    return load_contracts(layer=layer)[f"{layer}.{table}"]


def _land(table: SourceTable, window: Window, settings: ExtractionSettings, uri: str) -> Extracted:
    resource = redshift_resource() if table.system == "redshift" else snowflake_resource()
    with extract.source_connection(table.system, resource) as connection:
        return extract_window(
            connection, table, window, landing_uri=uri, landing_root=uri, settings=settings, batch_rows=50_000
        )


def _landed(uri: str) -> pa.Table:
    return pq.read_table(uri.removeprefix("file://"))


@pytest.mark.parametrize("window", [DAY_ONE, FIRST_PARTITION], ids=["a-day", "from-the-beginning"])
def test_parallel_slices_land_exactly_the_rows_of_one_stream(generated_sources, tmp_path, window):
    parallel = _land(EVENTS, window, PARALLEL, (tmp_path / "parallel").as_uri())
    stream = _land(EVENTS, window, STREAM, (tmp_path / "stream").as_uri())
    with extract.source_connection("redshift", redshift_resource()) as connection:
        at_source = window_count(reconciliation_counts(connection, EVENTS, window.undated_from), window)

    assert parallel.rows == stream.rows == at_source.total > 1000
    assert parallel.files == 3 and stream.files == 1
    sliced, whole = _landed((tmp_path / "parallel").as_uri()), _landed((tmp_path / "stream").as_uri())
    assert sliced.schema == whole.schema
    assert sliced.sort_by("event_id").equals(whole.sort_by("event_id"))


def test_slices_cover_the_window_once_history_and_undated_rows_included():
    slices = window_slices(FIRST_PARTITION, 4)
    assert [s.start for s in slices] == [None, datetime(2026, 1, 1, 6), datetime(2026, 1, 1, 12), datetime(2026, 1, 1, 18)]
    assert [s.end for s in slices] == [*[s.start for s in slices[1:]], FIRST_PARTITION.end]
    assert [s.undated_from for s in slices] == [None, None, None, FIRST_PARTITION.undated_from]
    assert window_slices(DAY_ONE, 1) == [DAY_ONE]


def test_the_settings_come_from_the_resource_with_the_system_s_default():
    assert extraction_settings("redshift", redshift_resource()).mode is ExtractionMode.PARALLEL
    assert extraction_settings("snowflake", snowflake_resource()).mode is ExtractionMode.STREAM
    assert extraction_settings("redshift", object()).mode is ExtractionMode.PARALLEL
    with pytest.raises(ExtractionSettingError, match="'copy' is not one of: unload, parallel, stream"):
        extraction_settings("redshift", redshift_resource().model_copy(update={"extraction": "copy"}))
    with pytest.raises(ExtractionSettingError, match="must be 1 or more, got 0"):
        extraction_settings("redshift", redshift_resource().model_copy(update={"extraction_parallelism": 0}))
    with pytest.raises(ExtractionSettingError, match="snowflake extraction 'parallel' reads PostgreSQL"):
        extraction_settings("snowflake", snowflake_resource().model_copy(update={"extraction": "parallel"}))


# ----------------------------------------------------------------------------------- unload statements

LANDING_ROOT = f"s3://{BUCKET}/lake/_landing"


def test_redshift_unload_writes_the_window_as_parquet_to_the_landing_prefix():
    contract = load_contract("bronze", "behavior_events")
    statement = redshift_unload_statement(
        source_table(contract), DAY_ONE, f"{LANDING_ROOT}/behavior_events/run-1/extracted", "arn:aws:iam::1:role/unload"
    )
    assert statement == (
        "UNLOAD ('SELECT * FROM web.behavior_events WHERE (\"loaded_at\" >= ''2026-01-01 00:00:00.000000''::TIMESTAMP"
        " AND \"loaded_at\" < ''2026-01-02 00:00:00.000000''::TIMESTAMP) OR \"loaded_at\" IS NULL OR \"loaded_at\" >="
        " ''2026-01-03 00:00:00.000000''::TIMESTAMP') TO 's3://lakehouse-test/lake/_landing/behavior_events/run-1/"
        "extracted/part_' IAM_ROLE 'arn:aws:iam::1:role/unload' FORMAT AS PARQUET MAXFILESIZE 256 MB"
    )


@pytest.mark.parametrize("name", SNOWFLAKE_TABLES)
def test_snowflake_copy_into_the_stage_writes_the_window_with_its_column_names(name):
    table = source_table(load_contract("bronze", name))
    statement = snowflake_unload_statement(
        table, DAY_ONE, f"{LANDING_ROOT}/{name}/run-1/extracted", LANDING_ROOT, "RETAIL.PUBLIC.LAKE_LANDING"
    )
    assert statement == (
        f"COPY INTO @RETAIL.PUBLIC.LAKE_LANDING/{name}/run-1/extracted/ FROM ({literal_window_query(table, DAY_ONE)}) "
        "FILE_FORMAT = (TYPE = PARQUET) HEADER = TRUE MAX_FILE_SIZE = 268435456"
    )
    assert f"FROM {table.qualified_name} WHERE" in statement
    assert "'2026-01-01 00:00:00.000000'::TIMESTAMP_NTZ" in statement and "ORDER BY" not in statement


@pytest.mark.parametrize("name", ["behavior_events", *SNOWFLAKE_TABLES])
def test_the_unloaded_query_selects_the_window_at_the_source(generated_sources, name):
    table = source_table(load_contract("bronze", name))
    resource = redshift_resource() if table.system == "redshift" else snowflake_resource()
    with extract.source_connection(table.system, resource) as connection:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM ({literal_window_query(table, DAY_ONE)}) AS unloaded")
            unloaded = cursor.fetchone()[0]
        at_source = window_count(reconciliation_counts(connection, table, DAY_ONE.undated_from), DAY_ONE)
    assert unloaded == at_source.total > 0


def test_an_unload_needs_its_setting_and_a_lake_on_s3(generated_sources, tmp_path):
    unload = ExtractionSettings(ExtractionMode.UNLOAD)
    with pytest.raises(ExtractionSettingError, match="LAKEHOUSE_REDSHIFT_UNLOAD_IAM_ROLE"):
        _land(EVENTS, DAY_ONE, unload, f"{LANDING_ROOT}/events")
    with pytest.raises(ExtractionSettingError, match="put the lake on S3"):
        redshift_unload_statement(EVENTS, DAY_ONE, (tmp_path / "landing").as_uri(), "arn:aws:iam::1:role/unload")
    orders = source_table(load_contract("bronze", "orders"))
    with pytest.raises(ExtractionSettingError, match="LAKEHOUSE_SNOWFLAKE_UNLOAD_STAGE"):
        _land(orders, DAY_ONE, unload, f"{LANDING_ROOT}/orders")


# ------------------------------------------------------------------------- the unloaded files, from S3


def _unloaded_like_snowflake(rows: list[dict]) -> pa.Table:
    """Rows of SALES.ORDERS as Snowflake unloads them: upper-case names, NUMBER as DECIMAL(38, 0), money
    as DECIMAL(12, 2), TIMESTAMP_NTZ as a timestamp without a time zone."""
    return pa.table(
        {
            "ORDER_ID": pa.array([r["id"] for r in rows], pa.decimal128(38, 0)),
            "CUSTOMER_ID": pa.array([r["customer"] for r in rows], pa.decimal128(38, 0)),
            "ORDER_TS": pa.array([r["at"] for r in rows], pa.timestamp("ns")),
            "STATUS": ["placed"] * len(rows),
            "CHANNEL": ["web"] * len(rows),
            "CURRENCY": ["EUR"] * len(rows),
            "TOTAL_AMOUNT": pa.array([r["amount"] for r in rows], pa.decimal128(12, 2)),
            "UPDATED_AT": pa.array([r["at"] for r in rows], pa.timestamp("ns")),
        }
    )


def test_files_unloaded_to_s3_are_counted_from_their_footers_and_read_to_the_contract(spark, s3_env):
    from decimal import Decimal

    landing = f"{LANDING_ROOT}/orders/run-1/extracted"
    filesystem, root = pafs.FileSystem.from_uri(landing)
    at = datetime(2026, 1, 1, 8, 30)
    rows = [{"id": i, "customer": 100 + i, "at": at, "amount": Decimal(f"{i}.50")} for i in range(1, 8)]
    # two files, named as Snowflake names them
    pq.write_table(_unloaded_like_snowflake(rows[:4]), f"{root}/data_0_0_0.snappy.parquet", filesystem=filesystem)
    pq.write_table(_unloaded_like_snowflake(rows[4:]), f"{root}/data_0_1_0.snappy.parquet", filesystem=filesystem)

    landed = landed_files(landing)
    assert (len(landed.paths), landed.rows) == (2, 7)
    contract = load_contract("bronze", "orders")
    aligned = align_to_schema(read_landed(spark, landed), contract, render_payload=False).frame
    types = dict(aligned.dtypes)
    assert types["order_id"] == "bigint" and types["updated_at"] == "timestamp_ntz"
    first = aligned.where("order_id = 1").first()
    assert (first["customer_id"], first["updated_at"], first["total_amount"]) == (101, at, Decimal("1.50"))
    assert aligned.where(F.size(ALIGNMENT_ERRORS_COLUMN) > 0).count() == 0
    assert landed_files(f"{LANDING_ROOT}/orders/nothing-here").rows == 0
    assert date(2026, 1, 1) == first["updated_at"].date()
