"""The code location loads with nothing running, and the local services are looked up when a step or a
sensor uses them: a stopped one fails that step or tick with the one-line "run `lakehouse services up`"."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from lakehouse.bronze import build_bronze_asset
from lakehouse.contracts import ForeignKeyRule, contract_for_source
from lakehouse.governance.pii import DEVELOPMENT_SALT, PiiMasking
from lakehouse.lake import Lake
from lakehouse.orchestration.definitions import bronze_source_contracts
from lakehouse.orchestration.sensors.watermark_sensor import WatermarkSettings, bronze_watermark_sensor
from lakehouse.resources import ENGINE_MODE_ENV_VAR, engine_resource, redshift_resource, snowflake_resource
from lakehouse.services import LocalServices, ServicesNotRunningError
from lakehouse.settings import DEPLOYMENT_ENV_VAR, HOME_ENV_VAR
from lakehouse_tests.support import lake_resources, materialize_days, step_failure_message

REPO_ROOT = Path(__file__).resolve().parents[2]
FIX = "local services are not running: run `lakehouse services up`"


def _environment_without_lakehouse_settings(**settings: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("LAKEHOUSE_", "DAGSTER_"))}
    return {**environment, **settings}


@pytest.mark.parametrize(
    "settings",
    [{}, {ENGINE_MODE_ENV_VAR: "cluster"}, {DEPLOYMENT_ENV_VAR: "prod"}],
    ids=["local", "local-cluster", "prod-without-secrets"],
)
def test_dagster_definitions_validate_passes_with_nothing_running(settings, tmp_path: Path) -> None:
    home, dagster_home = tmp_path / "home", tmp_path / "dagster"
    home.mkdir()
    dagster_home.mkdir()
    environment = _environment_without_lakehouse_settings(
        **{HOME_ENV_VAR: str(home), "DAGSTER_HOME": str(dagster_home)}, **settings
    )
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    assert list(home.iterdir()) == []  # no services state read, nothing written


def test_building_the_local_resources_reads_no_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DEPLOYMENT_ENV_VAR, "local")
    monkeypatch.setenv(HOME_ENV_VAR, str(tmp_path))
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "state.json").write_text("not json")  # unreadable: must not be read now
    snowflake, redshift = snowflake_resource(), redshift_resource()
    monkeypatch.setenv(ENGINE_MODE_ENV_VAR, "cluster")
    engine = engine_resource()
    assert snowflake.services_home == redshift.services_home == engine.services_home == str(tmp_path.resolve())
    with pytest.raises(Exception, match="unreadable services state file"):
        engine.session_config()  # read when the session is made


@pytest.mark.parametrize("resource_key", ["snowflake", "redshift"])
def test_a_resource_on_stopped_services_fails_when_used_with_the_one_line_fix(resource_key, tmp_path) -> None:
    services = LocalServices(tmp_path)
    resource = {"snowflake": snowflake_resource, "redshift": redshift_resource}[resource_key](services)
    with pytest.raises(ServicesNotRunningError) as raised:
        if resource_key == "snowflake":
            with resource.get_connection():
                pass
        else:
            resource.get_client()
    message = str(raised.value)
    assert message.startswith(FIX) and f"{resource_key} is not running" in message and "\n" not in message


SOURCES = {"snowflake": "RETAIL.CATALOG.PRODUCTS", "redshift": "analytics.web.behavior_events"}


@pytest.mark.parametrize("system", ["snowflake", "redshift"])
def test_a_bronze_step_on_stopped_services_fails_with_the_one_line_fix(system, engine, tmp_path: Path) -> None:
    services = LocalServices(tmp_path / "home")
    contract = contract_for_source(SOURCES[system])
    # the foreign-key rules would load the referenced tables first; this step is about its own source
    contract = dataclasses.replace(contract, rules=tuple(r for r in contract.rules if not isinstance(r, ForeignKeyRule)))
    resources = {
        **lake_resources(engine, str(tmp_path / "lake")),
        "snowflake": snowflake_resource(services),
        "redshift": redshift_resource(services),
        "pii": PiiMasking(salt=DEVELOPMENT_SALT, allow_development_salt=True),
    }
    result = materialize_days([build_bronze_asset(contract)], resources, partition="2026-01-01", raise_on_error=False)
    assert not result.success
    message = step_failure_message(result)
    assert f"ServicesNotRunningError: {FIX} ({system} is not running under" in message
    assert "attempt" not in message  # not taken for an unreachable source and retried
    assert not Lake(root_uri=str(tmp_path / "lake")).exists(["bronze", contract.table])


@pytest.mark.parametrize("table", ["products", "behavior_events"])
def test_a_watermark_sensor_on_stopped_services_fails_its_tick_with_the_one_line_fix(table, tmp_path) -> None:
    services = LocalServices(tmp_path / "home")
    sensor = bronze_watermark_sensor(bronze_source_contracts([table])[0], WatermarkSettings())
    context = dg.build_sensor_context(
        instance=dg.DagsterInstance.ephemeral(),
        resources={
            "snowflake": snowflake_resource(services),
            "redshift": redshift_resource(services),
            "lake": Lake(root_uri=str(tmp_path / "lake")),
        },
    )
    with pytest.raises(ServicesNotRunningError) as raised:
        sensor(context)
    assert str(raised.value).startswith(FIX) and "\n" not in str(raised.value)
