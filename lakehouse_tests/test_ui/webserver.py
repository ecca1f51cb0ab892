"""``dagster-webserver`` on the repository's ``workspace.yaml`` in its own process, and small GraphQL helpers.

The server gets a scratch ``DAGSTER_HOME`` whose instance launches runs straight away (no daemon), so a run
started from the UI or the API executes in its own process against the same local services and lake.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from lakehouse_tests.fixtures.spark_servers import wait_until_listening

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
WORKSPACE = REPOSITORY_ROOT / "workspace.yaml"
LOCATION_NAME = "lakehouse"
REPOSITORY_NAME = "__repository__"
ASSET_JOB_NAME = "__ASSET_JOB"

# Runs start as soon as they are submitted: the default instance queues them for a daemon.
DAGSTER_YAML = """\
run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
telemetry:
  enabled: false
nux:
  enabled: false
"""


class WebserverError(RuntimeError):
    pass


@dataclass(frozen=True)
class Webserver:
    url: str
    log: Path
    dagster_home: Path

    def log_text(self, last_chars: int = 20_000) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else "(no log)"
        return text[-last_chars:]

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None, timeout: float = 60.0) -> dict:
        """The ``data`` of a GraphQL answer; any GraphQL error fails with the server's message."""
        response = requests.post(
            f"{self.url}/graphql", json={"query": query, "variables": dict(variables or {})}, timeout=timeout
        )
        response.raise_for_status()
        answer = response.json()
        if answer.get("errors"):
            raise WebserverError(f"GraphQL errors: {json.dumps(answer['errors'], indent=2)}")
        return answer["data"]


def dagster_home(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "dagster.yaml").write_text(DAGSTER_YAML)
    return directory


@contextmanager
def running_webserver(
    port: int, home: Path, log: Path, env: Mapping[str, str], startup_timeout: float = 120.0
) -> Iterator[Webserver]:
    """``dagster-webserver -w workspace.yaml`` on 127.0.0.1:``port``, up once its code location has loaded."""
    command = [
        sys.executable,
        "-m",
        "dagster_webserver",
        "-w",
        str(WORKSPACE),
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    full_env = {**os.environ, **env, "DAGSTER_HOME": str(home)}
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=REPOSITORY_ROOT,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Webserver(url=f"http://127.0.0.1:{port}", log=log, dagster_home=home)
    try:
        _wait_until_loaded(server, process, port, startup_timeout)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


LOCATION_STATUS = """
query LocationStatus {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on PythonError { message stack }
        }
      }
    }
  }
}
"""


def _wait_until_loaded(server: Webserver, process: subprocess.Popen, port: int, timeout: float) -> None:
    """Wait until the server listens, then poll the workspace until the code location is loaded (or failed
    to load): the port opens before the location has finished loading."""
    deadline = time.monotonic() + timeout
    try:
        wait_until_listening(port, process, server.log, timeout)
    except (RuntimeError, TimeoutError) as error:
        raise WebserverError(f"dagster-webserver: {error}:\n{server.log_text()}") from error
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise WebserverError(
                f"dagster-webserver exited with code {process.returncode}; "
                f"log {server.log}:\n{server.log_text()}"
            )
        try:
            entries = server.graphql(LOCATION_STATUS)["workspaceOrError"]["locationEntries"]
        except (requests.RequestException, WebserverError):
            entries = []
        entry = next((e for e in entries if e["name"] == LOCATION_NAME), None)
        if entry and entry["loadStatus"] == "LOADED":
            location = entry["locationOrLoadError"]
            if location and location["__typename"] == "PythonError":
                raise WebserverError(
                    f"code location {LOCATION_NAME!r} failed to load: {location['message']}\n"
                    + "".join(location["stack"])
                )
            return
        time.sleep(0.25)
    raise WebserverError(
        f"dagster-webserver did not load {LOCATION_NAME!r} within {timeout}s; "
        f"log {server.log}:\n{server.log_text()}"
    )


# ------------------------------------------------------------------------------------- GraphQL helpers

ASSET_NODES = """
query AssetNodes {
  assetNodes {
    assetKey { path }
    groupName
    isPartitioned
    assetChecksOrError {
      __typename
      ... on AssetChecks { checks { name blocking } }
    }
  }
}
"""


@dataclass(frozen=True)
class AssetNode:
    key: tuple[str, ...]
    group: str
    partitioned: bool
    checks: tuple[str, ...]

    @property
    def path(self) -> str:
        return "/".join(self.key)


def asset_nodes(server: Webserver) -> dict[str, AssetNode]:
    """Every asset the code location defines, by ``layer/table``, with its group and its checks' names."""
    nodes = {}
    for node in server.graphql(ASSET_NODES)["assetNodes"]:
        checks = node["assetChecksOrError"]
        if checks["__typename"] != "AssetChecks":
            raise WebserverError(f"asset checks of {node['assetKey']['path']}: {checks['__typename']}")
        asset = AssetNode(
            key=tuple(node["assetKey"]["path"]),
            group=node["groupName"],
            partitioned=node["isPartitioned"],
            checks=tuple(sorted(check["name"] for check in checks["checks"])),
        )
        nodes[asset.path] = asset
    return nodes


RUN_STATUS = """
query RunStatus($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run {
      status
      tags { key value }
      assetSelection { path }
      assetCheckSelection { assetKey { path } name }
    }
    ... on Error { message }
  }
}
"""

RUN_FAILURES = """
query RunFailures($runId: ID!) {
  logsForRun(runId: $runId) {
    ... on EventConnection {
      events {
        __typename
        ... on MessageEvent { message stepKey }
        ... on ExecutionStepFailureEvent { error { message stack } }
        ... on RunFailureEvent { error { message } }
      }
    }
  }
}
"""

FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}


def wait_for_run(server: Webserver, run_id: str, timeout: float = 180.0) -> dict:
    """Poll the run until it finishes; its final ``Run`` fields. A timeout or a failure says why."""
    deadline = time.monotonic() + timeout
    while True:
        run = server.graphql(RUN_STATUS, {"runId": run_id})["runOrError"]
        if run["__typename"] != "Run":
            raise WebserverError(f"run {run_id}: {run['__typename']} {run.get('message', '')}")
        if run["status"] in FINISHED:
            return run
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"run {run_id} still {run['status']} after {timeout}s\n{run_failures(server, run_id)}"
            )
        time.sleep(0.5)


def run_failures(server: Webserver, run_id: str) -> str:
    """The run's errors and its last events, as a user reads them in the run's event log."""
    events = server.graphql(RUN_FAILURES, {"runId": run_id})["logsForRun"].get("events", [])
    lines = []
    for event in events:
        error = event.get("error")
        if error:
            lines.append(f"{event['__typename']} {event.get('stepKey') or ''}: {error['message']}")
            lines.extend(error.get("stack") or [])
    lines.extend(f"{e['__typename']}: {e.get('message', '')}" for e in events[-15:])
    return "\n".join(lines)


CHECK_EXECUTIONS = """
query CheckExecutions($assetKey: AssetKeyInput!, $checkName: String!) {
  assetCheckExecutions(assetKey: $assetKey, checkName: $checkName, limit: 20) {
    runId
    status
    partition
    evaluation { success severity partition }
  }
}
"""


def check_executions(server: Webserver, asset: AssetNode, check: str, run_id: str) -> list[dict]:
    """The executions of one check recorded for one run (the newest first)."""
    executions = server.graphql(CHECK_EXECUTIONS, {"assetKey": {"path": list(asset.key)}, "checkName": check})
    return [e for e in executions["assetCheckExecutions"] if e["runId"] == run_id]
