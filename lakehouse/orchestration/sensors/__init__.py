"""Sensors and schedules: incremental bronze ingestion driven by watermarks on the sources' change columns.

* ``watermarks``: the cursor, the scan window and the source-versus-lake reconciliation (pure).
* ``source_stats``: per-day row counts and greatest change values from Snowflake and Redshift.
* ``lake_stats``: per-day row counts of bronze + quarantine from the Delta logs.
* ``jobs``: the per-table bronze jobs and their daily safety-net schedules.
* ``watermark_sensor``: the sensor of one source table.
* ``definitions``: all of them for the code location (``bronze_ingestion_definitions``).
"""

from lakehouse.sensors.definitions import bronze_ingestion_definitions, bronze_source_contracts
from lakehouse.sensors.jobs import (
    bronze_asset_key,
    bronze_daily_schedule,
    bronze_ingestion_job,
    bronze_job_name,
    quarantine_asset_key,
)
from lakehouse.sensors.watermark_sensor import (
    DEFAULT_LAG_DAYS,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MINIMUM_INTERVAL_SECONDS,
    WatermarkSettings,
    bronze_watermark_sensor,
    evaluate_watermark_tick,
    watermark_sensor_name,
)
from lakehouse.sensors.watermarks import DayState, WatermarkCursor

__all__ = [
    "DEFAULT_LAG_DAYS",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_MINIMUM_INTERVAL_SECONDS",
    "DayState",
    "WatermarkCursor",
    "WatermarkSettings",
    "bronze_asset_key",
    "bronze_daily_schedule",
    "bronze_ingestion_definitions",
    "bronze_ingestion_job",
    "bronze_job_name",
    "bronze_source_contracts",
    "bronze_watermark_sensor",
    "evaluate_watermark_tick",
    "quarantine_asset_key",
    "watermark_sensor_name",
]
