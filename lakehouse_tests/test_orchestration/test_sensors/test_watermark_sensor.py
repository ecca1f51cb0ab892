"""Watermark sensor ticks against real local sources holding generated data, and a stand-in lake.

Every test asserts both what a tick asks for (partition keys and run keys) and the cursor it stores.
The sources move forward one commit day at a time, as they do in production; expected counts come from
the generated rows, not from the SQL under test.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

import dagster as dg
import pytest

from lakehouse.orchestration.definitions import bronze_ingestion_definitions
from lakehouse.orchestration.jobs import bronze_job_name
from lakehouse.orchestration.sensors.watermark_sensor import (
    PARTITION_TAG,
    RUN_KEY_TAG,
    WatermarkSettings,
    bronze_watermark_sensor,
)
from lakehouse.orchestration.sensors.watermarks import (
    DayState,
    WatermarkCursor,
    attempt_run_key,
    source_state_key,
)
from lakehouse.settings import FIRST_PARTITION_ENV_VAR
from lakehouse_tests.test_orchestration.support import loadable_definitions
from lakehouse_tests.test_orchestration.test_sensors.support import (
    DAY_1,
    DAY_2,
    DAY_3,
    NOW,
    Sources,
    contract_of,
    requested,
    tick,
    with_lake,
    write_lake,
)

TABLES = ["customers", "products", "orders", "order_items", "behavior_events"]


def key(table: str, day: date, state: DayState, attempt: int = 1) -> str:
    return attempt_run_key(source_state_key(bronze_job_name(table), day, state), attempt)


def cursor_of(result: dg.SensorResult) -> WatermarkCursor:
    cursor = WatermarkCursor.from_json(result.cursor)
    assert cursor is not None
    return cursor


def seed_run(
    instance: dg.DagsterInstance, table: str, day: date, run_key: str, status: dg.DagsterRunStatus
) -> None:
    """Record a run of the table's job for ``day`` as the sensor daemon would have launched it."""
    instance.add_run(
        dg.DagsterRun(
            job_name=bronze_job_name(table),
            status=status,
            tags={RUN_KEY_TAG: run_key, PARTITION_TAG: day.isoformat()},
        )
    )


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    return tmp_path / "lake"


def test_the_generated_sources_hold_late_rows(sources: Sources) -> None:
    """The premise of the late-row tests: day 2's commit holds orders of day 1, day 3's of days 1 and 2."""
    day_1 = sources.expected_states("orders", DAY_1)
    day_2 = sources.expected_states("orders", DAY_2)
    day_3 = sources.expected_states("orders", DAY_3)
    assert set(day_1) == {DAY_1}
    assert day_2[DAY_1].rows > day_1[DAY_1].rows
    assert day_3[DAY_1].rows > day_2[DAY_1].rows and day_3[DAY_2].rows > day_2[DAY_2].rows


@pytest.mark.parametrize("table", TABLES)
def test_new_rows_request_their_day(sources: Sources, lake: Path, table: str) -> None:
    sources.hold_through(DAY_1)
    expected = sources.expected_states(table, DAY_1)[DAY_1]

    result = tick(sources, table, lake, cursor=None)

    assert requested(result) == [(DAY_1.isoformat(), key(table, DAY_1, expected))]
    assert result.run_requests[0].tags["lakehouse/source_rows"] == str(expected.rows)
    assert cursor_of(result) == WatermarkCursor(high_water=expected.max_change, unconfirmed_from=DAY_1)


def test_a_day_already_in_the_lake_requests_nothing(sources: Sources, lake: Path) -> None:
    sources.hold_through(DAY_1)
    state = sources.expected_states("orders", DAY_1)[DAY_1]
    first = tick(sources, "orders", lake, cursor=None)
    write_lake(lake, "orders", {DAY_1: state.rows})  # what the requested run writes

    result = tick(sources, "orders", lake, cursor=first.cursor)

    assert requested(result) == []
    assert result.skip_reason is not None and "matches the source" in str(result.skip_reason.skip_message)
    assert cursor_of(result) == WatermarkCursor(high_water=state.max_change, unconfirmed_from=None)


def test_a_failed_run_is_requested_again_under_a_new_key_until_the_attempts_run_out(
    sources: Sources, lake: Path
) -> None:
    sources.hold_through(DAY_1)
    state = sources.expected_states("orders", DAY_1)[DAY_1]
    instance = dg.DagsterInstance.ephemeral()
    first = tick(sources, "orders", lake, cursor=None, instance=instance)
    first_key = key("orders", DAY_1, state)
    assert requested(first) == [(DAY_1.isoformat(), first_key)]

    seed_run(instance, "orders", DAY_1, first_key, dg.DagsterRunStatus.FAILURE)  # nothing reached the lake
    retry = tick(sources, "orders", lake, cursor=first.cursor, instance=instance)
    assert requested(retry) == [(DAY_1.isoformat(), key("orders", DAY_1, state, attempt=2))]
    assert cursor_of(retry) == cursor_of(first)

    seed_run(instance, "orders", DAY_1, key("orders", DAY_1, state, attempt=2), dg.DagsterRunStatus.FAILURE)
    seed_run(instance, "orders", DAY_1, key("orders", DAY_1, state, attempt=3), dg.DagsterRunStatus.FAILURE)
    exhausted = tick(sources, "orders", lake, cursor=retry.cursor, instance=instance)
    assert requested(exhausted) == []
    assert "given up on 2026-01-01" in str(exhausted.skip_reason.skip_message)
    assert cursor_of(exhausted).unconfirmed_from == DAY_1  # still examined at every tick


def test_a_day_with_a_run_in_flight_is_left_alone(sources: Sources, lake: Path) -> None:
    sources.hold_through(DAY_1)
    state = sources.expected_states("orders", DAY_1)[DAY_1]
    instance = dg.DagsterInstance.ephemeral()
    seed_run(instance, "orders", DAY_1, key("orders", DAY_1, state), dg.DagsterRunStatus.STARTED)

    result = tick(sources, "orders", lake, cursor=None, instance=instance)

    assert requested(result) == []
    assert "waiting on running loads of 2026-01-01" in str(result.skip_reason.skip_message)
    assert cursor_of(result) == WatermarkCursor(high_water=state.max_change, unconfirmed_from=DAY_1)


def test_dagster_resolves_the_requests_against_the_job(sources: Sources, lake: Path) -> None:
    """Evaluated as the daemon does, with the code location's definitions: the requested partition is one
    of the job's and the run lands on the table's bronze job."""
    sources.hold_through(DAY_1)
    ingestion = bronze_ingestion_definitions(["orders"], clock=lambda: NOW)
    repository = loadable_definitions(ingestion, with_lake(sources, lake)).get_repository_def()
    sensor = repository.get_sensor_def("bronze_orders_watermark_sensor")
    instance = dg.DagsterInstance.ephemeral()  # held here: the context keeps only a weak reference
    context = dg.build_sensor_context(
        instance=instance, repository_def=repository, resources=with_lake(sources, lake)
    )

    data = sensor.evaluate_tick(context)

    assert sensor.job_name == "bronze_orders_job"
    assert [request.partition_key for request in data.run_requests] == ["2026-01-01"]
    assert set(data.run_requests[0].asset_selection) <= set(
        repository.get_job(sensor.job_name).asset_layer.selected_asset_keys
    )
    assert data.run_requests[0].tags["dagster/partition"] == "2026-01-01"
    assert WatermarkCursor.from_json(data.cursor).unconfirmed_from == DAY_1


def selected_tables(result: dg.SensorResult) -> dict[str, list[str]]:
    """Per requested day, the tables its run loads (bronze and quarantine of each, always together)."""
    selected = {}
    for request in result.run_requests or []:
        keys = sorted(key.to_user_string() for key in request.asset_selection)
        tables = sorted({key.split("/")[1] for key in keys})
        assert keys == sorted(f"{layer}/{t}" for t in tables for layer in ("bronze", "quarantine"))
        selected[str(request.partition_key)] = tables
    return selected


def test_a_run_loads_the_referenced_tables_only_for_a_day_they_lack(sources: Sources, lake: Path) -> None:
    """orders' foreign key is checked against bronze customers: a day customers already holds is not
    extracted again with orders; a day it lacks is loaded in the same run, so no order is an orphan only
    because its customer's day was not loaded yet."""
    sources.hold_through(DAY_2)
    write_lake(lake, "customers", {DAY_1: 5})

    result = tick(sources, "orders", lake, cursor=None)

    assert selected_tables(result) == {"2026-01-01": ["orders"], "2026-01-02": ["customers", "orders"]}
    assert result.run_requests[1].tags["lakehouse/loads"] == "orders,customers"


def test_a_day_whose_referenced_table_is_being_loaded_waits_for_that_run(
    sources: Sources, lake: Path
) -> None:
    """Two runs never write one day of a table at once: orders waits while customers' run writes the day."""
    sources.hold_through(DAY_1)
    instance = dg.DagsterInstance.ephemeral()
    seed_run(instance, "customers", DAY_1, "customers-run", dg.DagsterRunStatus.STARTED)

    result = tick(sources, "orders", lake, cursor=None, instance=instance)

    assert requested(result) == []
    assert "waiting on running loads of 2026-01-01" in str(result.skip_reason.skip_message)


def test_late_rows_request_their_loaded_day_again(sources: Sources, lake: Path) -> None:
    sources.hold_through(DAY_1)
    loaded = sources.expected_states("orders", DAY_1)[DAY_1]
    write_lake(lake, "orders", {DAY_1: loaded.rows})
    before = tick(sources, "orders", lake, cursor=None)
    assert requested(before) == []

    sources.hold_through(DAY_2)  # day 2's commit: day 2's rows and late rows of day 1
    now = sources.expected_states("orders", DAY_2)
    result = tick(sources, "orders", lake, cursor=before.cursor)

    assert requested(result) == [
        (DAY_1.isoformat(), key("orders", DAY_1, now[DAY_1])),
        (DAY_2.isoformat(), key("orders", DAY_2, now[DAY_2])),
    ]
    assert key("orders", DAY_1, now[DAY_1]) != key("orders", DAY_1, loaded)
    assert cursor_of(result) == WatermarkCursor(high_water=now[DAY_2].max_change, unconfirmed_from=DAY_1)


def test_the_same_tick_twice_asks_for_the_same_runs(sources: Sources, lake: Path) -> None:
    sources.hold_through(DAY_2)
    write_lake(lake, "orders", {DAY_1: sources.expected_states("orders", DAY_1)[DAY_1].rows})
    instance = dg.DagsterInstance.ephemeral()
    cursor = WatermarkCursor(high_water=datetime(2026, 1, 1, 23, 0)).to_json()

    once = tick(sources, "orders", lake, cursor=cursor, instance=instance)
    again = tick(sources, "orders", lake, cursor=cursor, instance=instance)

    assert [day for day, _ in requested(once)] == ["2026-01-01", "2026-01-02"]
    assert requested(once) == requested(again)
    assert once.cursor == again.cursor


def test_a_day_still_open_waits_for_its_partition(sources: Sources, lake: Path) -> None:
    """Partitions end at the last complete day, so rows of today are loaded once the day has closed."""
    sources.hold_through(DAY_2)
    now = sources.expected_states("orders", DAY_2)
    during_day_2 = datetime(2026, 1, 2, 18, 0, tzinfo=timezone.utc)

    early = tick(sources, "orders", lake, cursor=None, now=during_day_2)
    assert requested(early) == [(DAY_1.isoformat(), key("orders", DAY_1, now[DAY_1]))]
    assert cursor_of(early) == WatermarkCursor(high_water=now[DAY_2].max_change, unconfirmed_from=DAY_1)

    write_lake(lake, "orders", {DAY_1: now[DAY_1].rows})
    just_after_midnight = datetime(2026, 1, 3, 0, 5, tzinfo=timezone.utc)
    after_midnight = tick(sources, "orders", lake, cursor=early.cursor, now=just_after_midnight)
    assert requested(after_midnight) == [(DAY_2.isoformat(), key("orders", DAY_2, now[DAY_2]))]


@pytest.mark.parametrize("day_1_in_lake", ["current", "stale"])
def test_a_lost_cursor_requests_exactly_the_differing_days_from_the_lake_watermark_minus_lag(
    sources: Sources, lake: Path, day_1_in_lake: str
) -> None:
    """The lake holds days 1-2 as loaded after day 2's commit (day 1 possibly reloaded since); day 3's
    commit added day 3 and late rows of days 1 and 2. With the lake's watermark at day 2 and a one-day lag,
    a tick without cursor examines days 1-3 and asks for exactly the ones that differ. Asking for a day
    the lake already holds could not duplicate rows anyway: a partition run replaces its partition."""
    sources.hold_through(DAY_3)
    after_day_2 = sources.expected_states("orders", DAY_2)
    now = sources.expected_states("orders", DAY_3)
    day_1_rows = now[DAY_1].rows if day_1_in_lake == "current" else after_day_2[DAY_1].rows
    write_lake(lake, "orders", {DAY_1: day_1_rows, DAY_2: after_day_2[DAY_2].rows})

    result = tick(sources, "orders", lake, cursor=None, lag_days=1)

    differing = ([DAY_1] if day_1_in_lake == "stale" else []) + [DAY_2, DAY_3]
    assert requested(result) == [(day.isoformat(), key("orders", day, now[day])) for day in differing]
    assert cursor_of(result) == WatermarkCursor(now[DAY_3].max_change, unconfirmed_from=differing[0])


def test_a_lost_cursor_over_an_empty_lake_starts_at_the_first_partition(sources: Sources, lake: Path) -> None:
    sources.hold_through(DAY_3)
    now = sources.expected_states("orders", DAY_3)

    result = tick(sources, "orders", lake, cursor=None, lag_days=0)

    every_day = [DAY_1, DAY_2, DAY_3]
    assert requested(result) == [(day.isoformat(), key("orders", day, now[day])) for day in every_day]


def test_days_before_a_configured_first_partition_are_counted_with_it(
    sources: Sources, lake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources.hold_through(DAY_3)
    monkeypatch.setenv(FIRST_PARTITION_ENV_VAR, DAY_2.isoformat())
    now = sources.expected_states("orders", DAY_3)
    first = DayState(now[DAY_1].rows + now[DAY_2].rows, now[DAY_2].max_change)

    result = tick(sources, "orders", lake, cursor=None, lag_days=0)

    assert requested(result) == [
        (DAY_2.isoformat(), key("orders", DAY_2, first)),
        (DAY_3.isoformat(), key("orders", DAY_3, now[DAY_3])),
    ]
    write_lake(lake, "orders", {DAY_2: first.rows, DAY_3: now[DAY_3].rows})
    assert requested(tick(sources, "orders", lake, cursor=result.cursor, lag_days=0)) == []


def test_the_cursor_is_small_json(sources: Sources, lake: Path) -> None:
    sources.hold_through(DAY_3)
    result = tick(sources, "orders", lake, cursor=None)
    document = json.loads(result.cursor)
    assert set(document) == {"version", "high_water", "unconfirmed_from"} and len(result.cursor) < 120


@pytest.mark.parametrize("table", ["orders", "behavior_events"])
def test_a_source_table_that_does_not_exist_yet_is_skipped_keeping_the_cursor(
    sources: Sources, lake: Path, table: str
) -> None:
    import dataclasses

    contract = contract_of(table)
    schema = "SALES" if table == "orders" else "web"
    missing = dataclasses.replace(
        contract,
        source=dataclasses.replace(
            contract.source, table=f"{contract.source.table.split('.')[0]}.{schema}.not_there"
        ),
    )
    settings = WatermarkSettings(clock=lambda: NOW)
    context = dg.build_sensor_context(
        cursor='{"high_water":"2026-01-02T00:00:00","version":1}',
        instance=dg.DagsterInstance.ephemeral(),
        resources=with_lake(sources, lake),
    )
    result = bronze_watermark_sensor(missing, settings)(context)
    assert not result.run_requests
    assert "does not exist yet" in str(result.skip_reason)
    assert result.cursor == '{"high_water":"2026-01-02T00:00:00","version":1}'
