"""When the jobs run.

* ``lakehouse_daily_schedule``: every day at 00:30 UTC, the safety net of the day that just ended. The
  watermark sensors load a closed day's bronze within a minute or two of midnight and automation carries it
  through silver and gold (``lakehouse.orchestration.automation``), so on a normal day there is nothing left:
  the tick is skipped, saying so. Only what nothing has materialized for the day yet (a bronze table whose
  day has no source row, so its sensor had nothing to compare; a stopped sensor; a missing calendar) is run,
  as one run of ``lakehouse_daily_job`` selecting exactly those assets. A day with runs still writing it is
  skipped too: what they leave missing is the next day's business of the sensors and automation, or of
  ``lakehouse backfill``.
* ``lake_maintenance_weekly_schedule``: Sundays at 03:00 UTC, after the night's loads, so compaction rarely
  races a writer.
"""

from __future__ import annotations

import dagster as dg

from lakehouse.orchestration.jobs import PARTITION_TAG, UNFINISHED, lake_maintenance_job, lakehouse_daily_job
from lakehouse.partitions import last_partition_day

DAILY_SCHEDULE_NAME = "lakehouse_daily_schedule"
DAILY_CRON = "30 0 * * *"
MAINTENANCE_SCHEDULE_NAME = "lake_maintenance_weekly_schedule"
MAINTENANCE_CRON = "0 3 * * 0"


def lakehouse_daily_schedule(
    default_status: dg.DefaultScheduleStatus = dg.DefaultScheduleStatus.RUNNING,
) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=DAILY_SCHEDULE_NAME,
        job=lakehouse_daily_job(),
        cron_schedule=DAILY_CRON,
        execution_timezone="UTC",
        default_status=default_status,
        description="At 00:30 UTC, whatever nothing has materialized of the day that just ended (sensors "
        "load bronze, automation silver and gold); skipped, saying why, when the day is complete.",
    )
    def _daily(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        return fill_the_day(context)

    return _daily


def fill_the_day(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    """A run of the assets with nothing materialized for the day that just ended, or why there is none."""
    day = last_partition_day(context.scheduled_execution_time.date()).isoformat()
    runs_of_the_day = dg.RunsFilter(statuses=UNFINISHED, tags={PARTITION_TAG: day})
    unfinished = context.instance.get_runs(filters=runs_of_the_day)
    if unfinished:
        runs = ", ".join(run.run_id[:8] for run in unfinished)
        return dg.SkipReason(f"{day}: run(s) {runs} still writing the day; sensors and automation go on")
    assets = context.repository_def.assets_defs_by_key
    missing = sorted(
        (key for key, asset in assets.items() if not _materialized(context.instance, key, asset, day)),
        key=lambda key: key.to_user_string(),
    )
    if not missing:
        return dg.SkipReason(
            f"{day}: every asset is materialized (bronze by the watermark sensors, silver and gold by "
            "automation); nothing to run"
        )
    selection = _with_inseparable_outputs(missing, assets)
    names = ", ".join(key.to_user_string() for key in missing)
    context.log.info(f"{day}: materializing what nothing has yet: {names}")
    return dg.RunRequest(
        run_key=f"{DAILY_SCHEDULE_NAME}:{day}",
        partition_key=day,
        asset_selection=selection,
        tags={"lakehouse/fills": names},
    )


def _materialized(
    instance: dg.DagsterInstance, key: dg.AssetKey, asset: dg.AssetsDefinition, day: str
) -> bool:
    """Whether the asset's partition ``day`` (an unpartitioned asset: the asset) is materialized, its latest
    attempt included (a failed one is not)."""
    if asset.partitions_def is None:
        return instance.get_latest_materialization_event(key) is not None
    status = instance.get_status_by_partition(key, [day], asset.partitions_def) or {}
    return status.get(day) == dg.AssetPartitionStatus.MATERIALIZED


def _with_inseparable_outputs(
    keys: list[dg.AssetKey], assets: dict[dg.AssetKey, dg.AssetsDefinition]
) -> list[dg.AssetKey]:
    """``keys`` and every other output of a multi-asset that must run whole (bronze and its quarantine)."""
    selected = set(keys)
    for key in keys:
        if not assets[key].can_subset:
            selected.update(assets[key].keys)
    return sorted(selected, key=lambda key: key.to_user_string())


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
