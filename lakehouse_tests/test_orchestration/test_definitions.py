"""The orchestration's definitions: every job, schedule and sensor by name, and the ingestion definitions
loading beside the bronze assets (targets, resources)."""

from __future__ import annotations

import subprocess
import sys

import dagster as dg

from lakehouse.orchestration.definitions import bronze_ingestion_definitions, orchestration_definitions
from lakehouse_tests.test_orchestration.support import loadable_definitions

TABLES = ["behavior_events", "customers", "order_items", "orders", "products"]


def test_every_job_schedule_and_sensor_keeps_its_name() -> None:
    definitions = orchestration_definitions(running=False)
    assert sorted(job.name for job in definitions.jobs) == sorted(
        ["lakehouse_daily_job", "lake_maintenance_job", *(f"bronze_{t}_job" for t in TABLES)]
    )
    assert sorted(schedule.name for schedule in definitions.schedules) == [
        "lake_maintenance_weekly_schedule",
        "lakehouse_daily_schedule",
    ]
    assert sorted(sensor.name for sensor in definitions.sensors) == [
        *(f"bronze_{t}_watermark_sensor" for t in TABLES),
        "lakehouse_automation_sensor",
        "lakehouse_freshness_alert_sensor",
        "lakehouse_gate_alert_sensor",
        "lakehouse_run_failure_alert_sensor",
    ]
    assert not definitions.assets and not definitions.resources
    assert all(s.default_status is dg.DefaultScheduleStatus.STOPPED for s in definitions.schedules)
    assert all(s.default_status is dg.DefaultSensorStatus.STOPPED for s in definitions.sensors)


def test_one_job_and_sensor_per_bronze_table() -> None:
    definitions = bronze_ingestion_definitions()
    assert [job.name for job in definitions.jobs] == [f"bronze_{t}_job" for t in TABLES]
    assert [sensor.name for sensor in definitions.sensors] == [f"bronze_{t}_watermark_sensor" for t in TABLES]
    assert not definitions.schedules  # the daily schedule fills what the sensors left; no per-table one
    assert not definitions.assets and not definitions.resources
    by_name = {sensor.name: sensor for sensor in definitions.sensors}
    # the source the sensor queries, and the lake whose Delta logs it counts
    assert by_name["bronze_behavior_events_watermark_sensor"].required_resource_keys == {"redshift", "lake"}
    assert by_name["bronze_orders_watermark_sensor"].required_resource_keys == {"snowflake", "lake"}
    assert all(sensor.minimum_interval_seconds == 60 for sensor in definitions.sensors)
    assert all(sensor.default_status is dg.DefaultSensorStatus.RUNNING for sensor in definitions.sensors)


def test_the_definitions_load_with_the_bronze_assets() -> None:
    ingestion = bronze_ingestion_definitions(running=False, minimum_interval_seconds=30)
    definitions = loadable_definitions(ingestion)
    dg.Definitions.validate_loadable(definitions)
    repository = definitions.get_repository_def()
    job = repository.get_job("bronze_orders_job")
    # the orders job can load the same day of the customers its foreign key is checked against (its sensor
    # selects them only for a day they do not hold)
    assert job.asset_layer.selected_asset_keys == {
        dg.AssetKey(["bronze", "orders"]),
        dg.AssetKey(["quarantine", "orders"]),
        dg.AssetKey(["bronze", "customers"]),
        dg.AssetKey(["quarantine", "customers"]),
    }
    items = repository.get_job("bronze_order_items_job").asset_layer.selected_asset_keys
    assert {k.path[1] for k in items} == {"order_items", "orders", "products", "customers"}
    products = repository.get_job("bronze_products_job").asset_layer.selected_asset_keys
    assert products == {dg.AssetKey(["bronze", "products"]), dg.AssetKey(["quarantine", "products"])}
    sensor = repository.get_sensor_def("bronze_orders_watermark_sensor")
    assert sensor.job_name == "bronze_orders_job" and sensor.minimum_interval_seconds == 30
    assert sensor.default_status is dg.DefaultSensorStatus.STOPPED


def test_importing_the_orchestration_package_reads_nothing() -> None:
    code = "import lakehouse.orchestration, lakehouse.orchestration.definitions"
    env = {"PATH": "/usr/bin:/bin", "LAKEHOUSE_ENV": "nonsense", "LAKEHOUSE_CONTRACTS_DIR": "/nonexistent"}
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
