"""The one partitioning scheme of the lakehouse: a day of data, UTC, keyed by ``_run_date``."""

from dagster import AssetCheckSpec, AssetKey, DailyPartitionsDefinition

PARTITION_START_DATE = "2026-01-01"

daily_partitions = DailyPartitionsDefinition(start_date=PARTITION_START_DATE, timezone="UTC", end_offset=0)


def blocking_daily_check(name: str, asset: AssetKey, description: str) -> AssetCheckSpec:
    """A blocking check of a daily-partitioned asset, itself partitioned by day: its result is recorded
    for the run's partition, so the asset's page shows one evaluation per partition and run."""
    return AssetCheckSpec(name, asset=asset, description=description, blocking=True, partitions_def=daily_partitions)
