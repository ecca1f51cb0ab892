"""The operations jobs and schedules, for the code location (assets and resources come from elsewhere)."""

import dagster as dg

from lakehouse.operations.jobs import lake_maintenance_job, lakehouse_daily_job
from lakehouse.operations.schedules import lake_maintenance_schedule, lakehouse_daily_schedule


def operations_definitions(running: bool = True) -> dg.Definitions:
    """``lakehouse_daily_job`` and ``lake_maintenance_job`` with their schedules (running when the code
    location loads, unless ``running`` is false)."""
    status = dg.DefaultScheduleStatus.RUNNING if running else dg.DefaultScheduleStatus.STOPPED
    return dg.Definitions(
        jobs=[lakehouse_daily_job(), lake_maintenance_job()],
        schedules=[lakehouse_daily_schedule(status), lake_maintenance_schedule(status)],
    )
