"""The repository is a ``dg`` project (``[tool.dg]`` in pyproject.toml): ``dg check defs``, ``dg list defs``
and ``dg dev`` run from its root load the code location ``lakehouse`` from ``lakehouse.definitions``, as
``workspace.yaml`` does.

Each command runs as a deployment's CI or an engineer runs it, in its own process, with
``LAKEHOUSE_ENV=prod`` and none of the production variables set: the credentials and addresses are
``EnvVar``s resolved when a run starts, so the definitions load without them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakehouse.settings import DEPLOYMENT_ENV_VAR, HOME_ENV_VAR, Deployment
from lakehouse_tests.fixtures.spark_servers import free_port
from lakehouse_tests.test_ui.webserver import Webserver, _wait_until_loaded

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
DG = VENV_BIN / "dg"
LOCATION_NAME = "lakehouse"
TIMEOUT_SECONDS = 300

# Variables a production deployment sets; left unset so loading cannot depend on them.
PRODUCTION_PREFIXES = ("LAKEHOUSE_", "SNOWFLAKE_", "REDSHIFT_", "AWS_", "DAGSTER_")

EXPECTED_ASSETS = {
    "bronze/orders",
    "bronze/behavior_events",
    "quarantine/orders",
    "silver/orders",
    "gold/dim_customer",
    "gold/fact_orders",
    "gold/fact_customer_activity",
}
EXPECTED_SENSORS = {
    "lakehouse_automation_sensor",
    "bronze_orders_watermark_sensor",
    "bronze_behavior_events_watermark_sensor",
}
EXPECTED_SCHEDULES = {"lakehouse_daily_schedule", "lake_maintenance_weekly_schedule"}
EXPECTED_JOBS = {"lakehouse_daily_job", "lake_maintenance_job", "bronze_orders_job"}


@pytest.fixture(scope="module")
def deployment_env(tmp_path_factory) -> dict[str, str]:
    """The environment of a production deployment's CI: ``LAKEHOUSE_ENV=prod``, the project's virtualenv
    active, a scratch ``DAGSTER_HOME`` and ``LAKEHOUSE_HOME``, no production variable set."""
    scratch = tmp_path_factory.mktemp("dg-project")
    dagster_home = scratch / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\nnux:\n  enabled: false\n")
    env = {name: value for name, value in os.environ.items() if not name.startswith(PRODUCTION_PREFIXES)}
    env.update(
        {
            DEPLOYMENT_ENV_VAR: Deployment.PROD.value,
            HOME_ENV_VAR: str(scratch / "lakehouse_home"),
            "DAGSTER_HOME": str(dagster_home),
            "VIRTUAL_ENV": str(VENV_BIN.parent),
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        }
    )
    return env


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=REPOSITORY_ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_SECONDS
    )


def failure(result: subprocess.CompletedProcess) -> str:
    return f"exit {result.returncode}\nstdout:\n{result.stdout[-5000:]}\nstderr:\n{result.stderr[-5000:]}"


def test_dg_reads_the_project_configuration(deployment_env):
    result = run([str(DG), "check", "toml"], deployment_env)

    assert result.returncode == 0, failure(result)
    assert "Project configuration file is valid" in result.stdout + result.stderr


def test_dg_check_defs_loads_the_code_location(deployment_env):
    result = run([str(DG), "check", "defs"], deployment_env)

    assert result.returncode == 0, failure(result)
    assert "All definitions loaded successfully." in result.stdout, failure(result)


def test_dg_list_defs_lists_the_assets_jobs_sensors_and_schedules(deployment_env):
    result = run([str(DG), "list", "defs", "--json"], deployment_env)

    assert result.returncode == 0, failure(result)
    listed = json.loads(result.stdout)
    assets = {asset["asset_key"] for asset in listed["assets"]}
    assert EXPECTED_ASSETS <= assets
    assert {key.split("/")[0] for key in assets} == {"bronze", "quarantine", "silver", "gold"}
    assert EXPECTED_JOBS <= {job["name"] for job in listed["jobs"]}
    assert EXPECTED_SENSORS <= {sensor["name"] for sensor in listed["sensors"]}
    assert EXPECTED_SCHEDULES <= {schedule["name"] for schedule in listed["schedules"]}
    checks = {check["key"] for check in listed["asset_checks"]}
    assert "bronze/orders:nothing_lost" in checks


def test_workspace_yaml_still_loads_the_same_location(deployment_env):
    result = run(
        [str(VENV_BIN / "dagster"), "definitions", "validate", "-w", str(REPOSITORY_ROOT / "workspace.yaml")],
        deployment_env,
    )

    assert result.returncode == 0, failure(result)


LOCATION_ASSETS = """
query LocationAssets {
  workspaceOrError {
    ... on Workspace {
      locationEntries {
        name
        locationOrLoadError {
          __typename
          ... on RepositoryLocation {
            repositories { name assetNodes { assetKey { path } } sensors { name } schedules { name } }
          }
        }
      }
    }
  }
}
"""


@pytest.fixture
def dg_dev(deployment_env, tmp_path) -> Iterator[Webserver]:
    """``dg dev`` from the repository root on a free port, until its code location has loaded; then the
    whole process group it started (webserver, daemon, code server) is stopped."""
    port = free_port()
    log = tmp_path / "dg-dev.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(DG), "dev", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPOSITORY_ROOT,
            env=deployment_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Webserver(
        url=f"http://127.0.0.1:{port}", log=log, dagster_home=Path(deployment_env["DAGSTER_HOME"])
    )
    try:
        _wait_until_loaded(server, process, port, TIMEOUT_SECONDS)
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.slow
def test_dg_dev_serves_the_code_location(dg_dev):
    entries = dg_dev.graphql(LOCATION_ASSETS)["workspaceOrError"]["locationEntries"]

    assert [entry["name"] for entry in entries] == [LOCATION_NAME]
    location = entries[0]["locationOrLoadError"]
    assert location["__typename"] == "RepositoryLocation", location
    (repository,) = location["repositories"]
    assets = {"/".join(node["assetKey"]["path"]) for node in repository["assetNodes"]}
    assert EXPECTED_ASSETS <= assets
    assert EXPECTED_SENSORS <= {sensor["name"] for sensor in repository["sensors"]}
    assert EXPECTED_SCHEDULES <= {schedule["name"] for schedule in repository["schedules"]}
