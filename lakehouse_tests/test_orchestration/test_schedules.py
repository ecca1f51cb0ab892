"""The whole-graph daily schedule and the weekly maintenance schedule, evaluated as Dagster would."""

from datetime import date, datetime, timezone

import dagster as dg
import pytest

from lakehouse.definitions import defs as build_definitions
from lakehouse.operations import (
    DAILY_JOB_NAME,
    DAILY_SCHEDULE_NAME,
    MAINTENANCE_JOB_NAME,
    MAINTENANCE_SCHEDULE_NAME,
)
from lakehouse.operations.runs import day_range, resolve_selection


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


def test_day_range_is_inclusive_and_refuses_days_without_a_partition():
    first, last = date(2026, 1, 1), date(2026, 1, 3)
    assert day_range(first, last) == [first, date(2026, 1, 2), last]
    with pytest.raises(ValueError, match="ends .* before it starts"):
        day_range(date(2026, 1, 3), date(2026, 1, 1))
    with pytest.raises(ValueError, match="2025-12-31 is not a partition: partitions run from 2026-01-01"):
        day_range(date(2025, 12, 31), date(2026, 1, 1))
    with pytest.raises(ValueError, match="is not a partition"):
        day_range(date(2026, 1, 1), date(2999, 1, 1))


def test_a_selection_takes_downstream_assets_and_multi_asset_neighbours(definitions):
    keys = {key.to_user_string() for key in resolve_selection(definitions, ["bronze/orders+"])}
    # bronze and quarantine are one multi-asset; order_items validates its foreign key against orders
    assert {"bronze/orders", "quarantine/orders", "bronze/order_items", "quarantine/order_items"} <= keys
    silver = {"silver/orders", "silver/customer_activity"}
    downstream = silver | {"gold/fact_orders", "gold/fact_customer_activity"}
    assert downstream <= keys
    assert "gold/dim_customer" not in keys and "bronze/customers" not in keys
    only = resolve_selection(definitions, ["gold/dim_customer"])
    assert [key.to_user_string() for key in only] == ["gold/dim_customer"]
    assert resolve_selection(definitions, []) is None
    with pytest.raises(ValueError, match="no asset gold/nope"):
        resolve_selection(definitions, ["gold/nope+"])
