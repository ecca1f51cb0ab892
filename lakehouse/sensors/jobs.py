"""The bronze ingestion jobs the watermark sensors and the daily schedules launch, one per source table.

A job materializes one table's bronze and quarantine outputs together for one ``_run_date`` partition,
so every run both reads the source once and replaces the day in both lanes.
"""

from __future__ import annotations

from functools import cache

import dagster as dg

from lakehouse.partitions import daily_partitions

BRONZE_LAYER = "bronze"
QUARANTINE_LAYER = "quarantine"
DEFAULT_SCHEDULE_HOUR_UTC = 1


def bronze_asset_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([BRONZE_LAYER, table])


def quarantine_asset_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([QUARANTINE_LAYER, table])


def bronze_job_name(table: str) -> str:
    return f"bronze_{table}_job"


@cache
def bronze_ingestion_job(table: str) -> dg.UnresolvedAssetJobDefinition:
    """The daily-partitioned job loading ``bronze/<table>`` and ``quarantine/<table>`` (and the same day of
    the bronze tables it references).

    Cached, so that the definitions registering the job and the sensors and schedules targeting it hold
    the same object, which Dagster merges instead of reporting two jobs of one name.
    """
    # The table's foreign keys are checked against the bronze tables they reference, so the job also
    # refreshes the same day of those (e.g. order_items -> orders, products -> customers): a row is never
    # quarantined as an orphan only because its parent's sensor has not fired yet.
    selection = (
        dg.AssetSelection.assets(bronze_asset_key(table)).upstream()
        & dg.AssetSelection.groups(BRONZE_LAYER)
    ).required_multi_asset_neighbors()
    return dg.define_asset_job(
        bronze_job_name(table),
        selection=selection,
        partitions_def=daily_partitions,
        description=f"Load one day of source rows into bronze/{table}, invalid rows into quarantine/{table}.",
    )


def bronze_daily_schedule(
    table: str,
    *,
    hour_of_day: int = DEFAULT_SCHEDULE_HOUR_UTC,
    minute_of_hour: int = 0,
    default_status: dg.DefaultScheduleStatus = dg.DefaultScheduleStatus.RUNNING,
) -> dg.UnresolvedPartitionedAssetScheduleDefinition | dg.ScheduleDefinition:
    """Every day at ``hour_of_day`` UTC, the previous day's partition of the table's bronze job.

    A safety net behind the watermark sensor: if the sensor was stopped or its runs kept failing, the day
    that just closed is still loaded once. Re-running a partition replaces it, so the overlap with the
    sensor's own run costs work, never correctness.
    """
    return dg.build_schedule_from_partitioned_job(
        bronze_ingestion_job(table),
        name=f"bronze_{table}_daily_schedule",
        description=f"Yesterday's partition of bronze/{table} at {hour_of_day:02d}:{minute_of_hour:02d} UTC.",
        hour_of_day=hour_of_day,
        minute_of_hour=minute_of_hour,
        default_status=default_status,
    )
