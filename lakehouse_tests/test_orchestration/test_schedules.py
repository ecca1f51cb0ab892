"""The whole-graph daily schedule and the weekly maintenance schedule, evaluated as Dagster would."""

from datetime import datetime, timezone

import dagster as dg
import pytest

from lakehouse.definitions import defs as build_definitions
from lakehouse.orchestration.jobs import DAILY_JOB_NAME, MAINTENANCE_JOB_NAME
from lakehouse.orchestration.schedules import DAILY_SCHEDULE_NAME, MAINTENANCE_SCHEDULE_NAME


@pytest.fixture(scope="module")
def definitions(local_services):
    return build_definitions()


def test_the_daily_job_covers_every_asset_for_one_day(definitions):
    job = definitions.resolve_job_def(DAILY_JOB_NAME)
    graph = definitions.resolve_asset_graph()
    assert job.partitions_def.get_partition_keys()[0] == "2026-01-01"
    assert set(job.asset_layer.executable_asset_keys) == set(graph.get_all_asset_keys())


def test_the_daily_schedule_runs_the_day_that_just_ended_after_midnight(definitions):
    schedule = definitions.resolve_schedule_def(DAILY_SCHEDULE_NAME)
    assert schedule.cron_schedule == "30 0 * * *"
    assert schedule.execution_timezone == "UTC"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_schedule_context(
            instance=instance, scheduled_execution_time=datetime(2026, 1, 3, 0, 30, tzinfo=timezone.utc)
        )
        result = schedule.evaluate_tick(context)
    assert [request.partition_key for request in result.run_requests] == ["2026-01-02"]
    assert schedule.job_name == DAILY_JOB_NAME


def test_the_maintenance_schedule_is_weekly_on_sunday_night(definitions):
    schedule = definitions.resolve_schedule_def(MAINTENANCE_SCHEDULE_NAME)
    assert schedule.cron_schedule == "0 3 * * 0"
    assert schedule.execution_timezone == "UTC"
    assert schedule.job_name == MAINTENANCE_JOB_NAME
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_schedule_context(
            instance=instance, scheduled_execution_time=datetime(2026, 1, 4, 3, 0, tzinfo=timezone.utc)
        )
        result = schedule.evaluate_tick(context)
    assert len(result.run_requests) == 1
