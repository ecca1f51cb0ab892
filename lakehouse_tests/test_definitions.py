"""The code location loads: every definition, resource and asset key, on the local services."""

import subprocess
import sys
from pathlib import Path

import dagster as dg

from lakehouse.definitions import defs as build_definitions
from lakehouse.engine import EngineMode, SparkEngine
from lakehouse.bronze.definitions import bronze_definitions
from lakehouse.gold.definitions import gold_definitions
from lakehouse.io import DeltaSparkIOManager
from lakehouse.lake import Lake
from lakehouse.silver.definitions import silver_definitions

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_definitions_load_with_every_resource(local_services):
    definitions = build_definitions()
    assert isinstance(definitions, dg.Definitions)
    resources = definitions.resources
    assert {"engine", "lake", "io_manager", "snowflake", "redshift", "pii", "alerts"} <= set(resources)
    assert isinstance(resources["engine"], SparkEngine)
    assert resources["engine"].mode == EngineMode.EMBEDDED
    assert isinstance(resources["lake"], Lake)
    assert resources["lake"].root_uri == str(local_services.home / "lake")
    assert isinstance(resources["io_manager"], DeltaSparkIOManager)
    assert resources["io_manager"].lake.root_uri == resources["lake"].root_uri
    definitions.validate_loadable(definitions)


SOURCE_TABLES = ("behavior_events", "customers", "order_items", "orders", "products")
EXPECTED_ASSET_KEYS = sorted(
    [f"{layer}/{table}" for layer in ("bronze", "quarantine") for table in SOURCE_TABLES]
    + [f"silver/{table}" for table in ("behavior_events", "customer_activity", "customers", "orders", "products")]
    + [f"gold/{table}" for table in ("dim_customer", "dim_date", "dim_product", "fact_customer_activity", "fact_orders")]
)
EXPECTED_CHECKS = sorted(
    [
        f"bronze/{table}:{check}"
        for table in SOURCE_TABLES
        for check in (
            "nothing_lost",
            "primary_key_unique",
            "reconciled_with_source",
            "required_columns_not_null",
            "schema_matches_contract",
        )
    ]
    + [
        "gold/dim_customer:one_current_row_per_customer",
        "gold/dim_customer:surrogate_key_unique",
        "gold/dim_customer:unknown_member_exists",
        "gold/dim_customer:validity_intervals_do_not_overlap",
        "gold/dim_date:surrogate_key_unique",
        "gold/dim_date:unknown_member_exists",
        "gold/dim_product:surrogate_key_unique",
        "gold/dim_product:unknown_member_exists",
        "gold/fact_customer_activity:foreign_keys_resolve",
        "gold/fact_customer_activity:reconciles_with_silver",
        "gold/fact_orders:foreign_keys_resolve",
        "gold/fact_orders:reconciles_with_silver",
    ]
    + [f"{table}:great_expectations" for table in EXPECTED_ASSET_KEYS if not table.startswith("quarantine/")]
)


def test_asset_keys_and_checks_snapshot(local_services):
    """Renames are deliberate: this list changes only together with the code."""
    graph = build_definitions().resolve_asset_graph()
    assert sorted(key.to_user_string() for key in graph.get_all_asset_keys()) == EXPECTED_ASSET_KEYS
    assert sorted(f"{c.asset_key.to_user_string()}:{c.name}" for c in graph.asset_check_keys) == EXPECTED_CHECKS


def test_each_layer_hands_out_its_assets_and_all_their_checks():
    """The three layers' definitions together are the whole asset graph; a layer's checks check its own
    tables only, and no check is built twice."""
    layers = {"bronze": bronze_definitions(), "silver": silver_definitions(), "gold": gold_definitions()}
    keys, checks = [], []
    for layer, definitions in layers.items():
        own = {key for asset in definitions.assets for key in asset.keys}
        assert {key.path[0] for key in own} <= {layer, "quarantine"}, layer
        in_assets = [c for asset in definitions.assets for c in asset.check_keys]
        separate = [c for check in definitions.asset_checks for c in check.check_keys]
        assert {c.asset_key for c in [*in_assets, *separate]} <= own, layer
        keys += [key.to_user_string() for key in own]
        checks += [f"{c.asset_key.to_user_string()}:{c.name}" for c in [*in_assets, *separate]]
    assert sorted(keys) == EXPECTED_ASSET_KEYS
    assert sorted(checks) == EXPECTED_CHECKS


EXPECTED_JOBS = sorted(
    [f"bronze_{table}_job" for table in SOURCE_TABLES] + ["lake_maintenance_job", "lakehouse_daily_job"]
)
EXPECTED_SCHEDULES = ["lake_maintenance_weekly_schedule", "lakehouse_daily_schedule"]
EXPECTED_SENSORS = sorted(
    [f"bronze_{table}_watermark_sensor" for table in SOURCE_TABLES]
    + ["lakehouse_automation_sensor"]
    + ["lakehouse_freshness_alert_sensor", "lakehouse_gate_alert_sensor", "lakehouse_run_failure_alert_sensor"]
)


def test_jobs_schedules_and_sensors_snapshot(local_services):
    """Jobs, schedules and sensors are named deliberately too: operators and runbooks refer to them by name."""
    definitions = build_definitions()
    jobs = {job.name for job in definitions.resolve_all_job_defs()} - {"__ASSET_JOB"}
    assert sorted(jobs) == EXPECTED_JOBS
    assert sorted(schedule.name for schedule in definitions.schedules or []) == EXPECTED_SCHEDULES
    assert sorted(sensor.name for sensor in definitions.sensors or []) == EXPECTED_SENSORS


def test_every_asset_has_owners_group_kinds_and_description(local_services):
    for spec in build_definitions().resolve_all_asset_specs():
        name = spec.key.to_user_string()
        assert spec.owners, name
        assert spec.group_name == spec.key.path[0], name
        assert spec.kinds, name
        assert spec.description, name


def test_dagster_definitions_validate_passes_on_the_workspace(local_services):
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]


def test_importing_the_definitions_module_starts_nothing():
    code = (
        "import os, sys; import lakehouse.definitions;"
        "assert 'pysail' not in sys.modules, 'engine imported at import time';"
        "assert 'SPARK_CONNECT_MODE_ENABLED' not in os.environ"
    )
    env = {"PATH": "/usr/bin:/bin", "LAKEHOUSE_ENV": "nonsense"}  # an invalid setting must not be read at import
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]
