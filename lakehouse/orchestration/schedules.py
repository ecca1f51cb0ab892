"""When the jobs run.

* ``lakehouse_daily_schedule``: every day at 00:30 UTC, the whole graph for the day that just ended. The
  partitions are UTC days and a day's partition exists once the day has closed; the 30 minutes let commits
  in flight at midnight land in the sources first. Rows committed later still land: the watermark sensors
  re-run the bronze day (and ``lakehouse backfill`` re-runs the whole graph for any days).
* ``bronze_<table>_daily_schedule``: every day at 01:00 UTC, the day that just ended of one table's bronze
  job; a safety net behind the table's watermark sensor.
* ``lake_maintenance_weekly_schedule``: Sundays at 03:00 UTC, after the daily run and the bronze safety-net
  schedules have finished, so compaction rarely races a writer.
"""

from __future__ import annotations

import dagster as dg

from lakehouse.orchestration.jobs import bronze_ingestion_job, lake_maintenance_job, lakehouse_daily_job

DAILY_SCHEDULE_NAME = "lakehouse_daily_schedule"
DAILY_HOUR_UTC = 0
DAILY_MINUTE_UTC = 30
BRONZE_SCHEDULE_HOUR_UTC = 1
MAINTENANCE_SCHEDULE_NAME = "lake_maintenance_weekly_schedule"
MAINTENANCE_CRON = "0 3 * * 0"


def lakehouse_daily_schedule(
    default_status: dg.DefaultScheduleStatus = dg.DefaultScheduleStatus.RUNNING,
):
    return dg.build_schedule_from_partitioned_job(
        lakehouse_daily_job(),
        name=DAILY_SCHEDULE_NAME,
        description=f"Yesterday's partition of every asset, "
        f"at {DAILY_HOUR_UTC:02d}:{DAILY_MINUTE_UTC:02d} UTC.",
        hour_of_day=DAILY_HOUR_UTC,
        minute_of_hour=DAILY_MINUTE_UTC,
        default_status=default_status,
    )


def bronze_daily_schedule(
    table: str,
    *,
    hour_of_day: int = BRONZE_SCHEDULE_HOUR_UTC,
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


def lake_maintenance_schedule(
    default_status: dg.DefaultScheduleStatus = dg.DefaultScheduleStatus.RUNNING,
) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name=MAINTENANCE_SCHEDULE_NAME,
        job=lake_maintenance_job(),
        cron_schedule=MAINTENANCE_CRON,
        execution_timezone="UTC",
        description="Compaction, Z-order and vacuum of every lake table, Sundays at 03:00 UTC.",
        default_status=default_status,
    )
