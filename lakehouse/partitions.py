"""The one partitioning scheme of the lakehouse: a day of data, UTC, keyed by ``_run_date``."""

from dagster import DailyPartitionsDefinition

PARTITION_START_DATE = "2026-01-01"

daily_partitions = DailyPartitionsDefinition(start_date=PARTITION_START_DATE, timezone="UTC", end_offset=0)
