"""The daily safety-net schedule and the weekly maintenance schedule, evaluated as Dagster would."""

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

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


YESTERDAY = "2026-01-02"
AFTER_MIDNIGHT = datetime(2026, 1, 3, 0, 30, tzinfo=timezone.utc)


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    """A schedule's context needs an instance it can reload by reference, so not an ephemeral one. Not
    entered as a context manager: entering an instance sets process-wide state that outlives the test."""
    instance = dg.DagsterInstance.local_temp(str(tmp_path))
    yield instance
    instance.dispose()


def evaluate_daily_schedule(definitions, instance: dg.DagsterInstance):
    repository = definitions.get_repository_def()
    # closed after the tick: the instance it reloads by reference sets process-wide state until then
    with dg.build_schedule_context(
        instance=instance, scheduled_execution_time=AFTER_MIDNIGHT, repository_def=repository
    ) as context:
        return repository.get_schedule_def(DAILY_SCHEDULE_NAME).evaluate_tick(context)


def mark_materialized(
    instance: dg.DagsterInstance, definitions, *, leaving_out: set[str] = frozenset()
) -> None:
    """Record a materialization of yesterday's partition of every asset but ``leaving_out``, as the sensors'
    and automation's runs would have."""
    for key, asset in definitions.get_repository_def().assets_defs_by_key.items():
        if key.to_user_string() in leaving_out:
            continue
        partition = YESTERDAY if asset.partitions_def is not None else None
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key, partition=partition))


def test_the_daily_schedule_runs_after_midnight_on_the_daily_job(definitions):
    schedule = definitions.resolve_schedule_def(DAILY_SCHEDULE_NAME)
    assert schedule.cron_schedule == "30 0 * * *"
    assert schedule.execution_timezone == "UTC"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert schedule.job_name == DAILY_JOB_NAME


def test_on_an_empty_instance_the_daily_schedule_runs_the_whole_day_that_just_ended(definitions, instance):
    result = evaluate_daily_schedule(definitions, instance)
    (request,) = result.run_requests
    assert request.partition_key == YESTERDAY
    graph = definitions.resolve_asset_graph()
    assert set(request.asset_selection) == set(graph.get_all_asset_keys())


def test_a_day_the_sensors_and_automation_completed_is_skipped_saying_so(definitions, instance):
    mark_materialized(instance, definitions)
    result = evaluate_daily_schedule(definitions, instance)
    assert not result.run_requests
    assert result.skip_message.startswith(f"{YESTERDAY}: every asset is materialized")


def test_only_what_nothing_materialized_is_run_with_its_inseparable_outputs(definitions, instance):
    """A bronze table whose day had no source row (its sensor had nothing to request) and the calendar that
    was never built: exactly those run, bronze with its quarantine lane, which one step writes together."""
    mark_materialized(instance, definitions, leaving_out={"bronze/products", "gold/dim_date"})
    result = evaluate_daily_schedule(definitions, instance)
    (request,) = result.run_requests
    assert request.partition_key == YESTERDAY
    assert sorted(k.to_user_string() for k in request.asset_selection) == [
        "bronze/products",
        "gold/dim_date",
        "quarantine/products",
    ]
    assert request.tags["lakehouse/fills"] == "bronze/products, gold/dim_date"


def test_a_day_still_being_written_is_left_to_its_runs(definitions, instance):
    instance.add_run(
        dg.DagsterRun(
            job_name="bronze_orders_job",
            status=dg.DagsterRunStatus.STARTED,
            tags={"dagster/partition": YESTERDAY},
        )
    )
    result = evaluate_daily_schedule(definitions, instance)
    assert not result.run_requests
    assert "still writing the day" in result.skip_message


def test_the_maintenance_schedule_is_weekly_on_sunday_night(definitions, instance):
    schedule = definitions.resolve_schedule_def(MAINTENANCE_SCHEDULE_NAME)
    assert schedule.cron_schedule == "0 3 * * 0"
    assert schedule.execution_timezone == "UTC"
    assert schedule.job_name == MAINTENANCE_JOB_NAME
    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=datetime(2026, 1, 4, 3, 0, tzinfo=timezone.utc)
    )
    result = schedule.evaluate_tick(context)
    assert len(result.run_requests) == 1
