"""The local Sail cluster of ``lakehouse services up --cluster``: started once for the module in its own
``$LAKEHOUSE_HOME``, with the lake's AWS settings pointing at the S3 emulator, queried from a subprocess,
and stopped last.

pysail 0.7.2 runs the driver and the workers of ``local-cluster`` mode as actors inside the server
process, each listening on its own gRPC port; they are counted by those ports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from lakehouse.engine import EngineMode
from lakehouse.resources import (
    ENGINE_MODE_ENV_VAR,
    LOCAL_CLUSTER_ENGINE,
    SPARK_REMOTE_ENV_VAR,
    engine_resource,
)
from lakehouse.services import LocalServices, ServicesNotRunningError, ServiceState, ServiceStatus
from lakehouse.services.spark_cluster import sail_cluster_environment
from lakehouse.services.state import port_accepts_connections
from lakehouse.settings import DEPLOYMENT_ENV_VAR, HOME_ENV_VAR
from lakehouse_tests.fixtures.s3 import create_bucket, s3_settings

pytestmark = pytest.mark.slow

BUCKET = "lakehouse-cluster-test"
CONNECT_SETTINGS = ("SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE")




@dataclass
class Cluster:
    services: LocalServices
    status: ServiceStatus
    aws: dict[str, str]
    query: dict  # what cluster_query_runner saw
    local_table: str
    s3_table: str
    listening_ports: set[int]  # the server process's, right after the query
    pids: set[int]  # the server process and its descendants, right after the query


def _spark_status(services: LocalServices) -> ServiceStatus:
    return next(status for status in services.status() if status.name == "spark")


def _listening_ports(pid: int) -> set[int]:
    connections = psutil.Process(pid).net_connections("tcp")
    return {c.laddr.port for c in connections if c.status == psutil.CONN_LISTEN}


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, s3_endpoint) -> Iterator[Cluster]:
    home = tmp_path_factory.mktemp("cluster-home")
    aws = s3_settings(s3_endpoint)
    create_bucket(s3_endpoint, BUCKET)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(HOME_ENV_VAR, str(home))
        patch.setenv(DEPLOYMENT_ENV_VAR, "local")
        for name, value in aws.items():
            patch.setenv(name, value)
        services = LocalServices()
        try:
            services.up(cluster=True)
            status = _spark_status(services)
            local_table, s3_table = (home / "tables" / "kept").as_uri(), f"s3://{BUCKET}/tables/kept"
            runner = [sys.executable, "-m", "lakehouse_tests.test_services.cluster_query_runner",
                      services.spark_remote_url(), local_table, s3_table]  # fmt: skip
            env = {k: v for k, v in os.environ.items() if k not in CONNECT_SETTINGS}
            completed = subprocess.run(
                runner, check=False, capture_output=True, text=True, timeout=300, env=env
            )
            assert completed.returncode == 0, completed.stderr[-3000:]
            server = psutil.Process(status.pid)
            yield Cluster(
                services=services,
                status=status,
                aws=aws,
                query=json.loads(completed.stdout.strip().splitlines()[-1]),
                local_table=local_table,
                s3_table=s3_table,
                listening_ports=_listening_ports(status.pid),
                pids={status.pid, *(child.pid for child in server.children(recursive=True))},
            )
        finally:
            services.down()


def test_up_with_cluster_starts_a_sail_server_with_a_driver_and_two_workers(cluster: Cluster) -> None:
    status = cluster.status
    assert (status.engine, status.state, status.host) == ("sail", ServiceState.RUNNING, "127.0.0.1")
    assert status.address == f"127.0.0.1:{status.port}"
    assert cluster.services.spark_remote_url() == f"sc://127.0.0.1:{status.port}"
    assert status.log_path == cluster.services.services_dir / "spark" / "sail.log"
    assert status.data_path == cluster.services.services_dir / "spark" / "checkpoints"
    recorded = json.loads(cluster.services.state_path.read_text())["services"]["spark"]
    assert (recorded["pid"], recorded["port"]) == (status.pid, status.port)
    # Spark Connect, the driver and at least two workers, each on its own port
    assert status.port in cluster.listening_ports
    assert len(cluster.listening_ports - {status.port}) >= 3, cluster.listening_ports


def test_services_status_shows_the_running_cluster_and_its_address(cluster: Cluster) -> None:
    lakehouse = str(Path(sys.executable).parent / "lakehouse")
    env = {**os.environ, HOME_ENV_VAR: str(cluster.services.home), "COLUMNS": "200"}
    result = subprocess.run(
        [lakehouse, "services", "status"], check=False, capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if " spark " in line)
    assert "sail" in row and "running" in row and cluster.status.address in row, row


def test_a_spark_connect_session_checkpoints_and_writes_delta_on_the_cluster(cluster: Cluster) -> None:
    assert cluster.query["rows_per_bucket"] == [[0, 334], [1, 333], [2, 333]]
    assert cluster.query[cluster.local_table] == [1000, 499500]
    assert list(Path(cluster.local_table.removeprefix("file://"), "_delta_log").glob("*.json"))


def test_the_server_reaches_an_s3_lake_with_the_callerss3_settings(cluster: Cluster) -> None:
    assert cluster.query[cluster.s3_table] == [1000, 499500]
    server_environment = psutil.Process(cluster.status.pid).environ()
    assert {name: server_environment.get(name) for name in cluster.aws} == cluster.aws
    assert server_environment["SAIL_MODE"] == "local-cluster"
    assert server_environment["SAIL_EXECUTION__CHECKPOINT__PATH"] == cluster.status.data_path.as_uri()


def test_the_server_environment_passes_the_aws_settings_on(tmp_path: Path) -> None:
    caller = {"PATH": "/usr/bin", **s3_settings("http://127.0.0.1:9000"), "AWS_PROFILE": "lake"}
    environment = sail_cluster_environment(caller, tmp_path / "checkpoints")
    assert {name: environment[name] for name in caller} == caller
    assert environment["SAIL_MODE"] == "local-cluster"
    assert environment["SAIL_EXECUTION__CHECKPOINT__PATH"] == (tmp_path / "checkpoints").as_uri()
    assert int(environment["SAIL_CLUSTER__WORKER_INITIAL_COUNT"]) >= 2
    assert environment["SAIL_CLUSTER__WORKER_MAX_COUNT"] == environment["SAIL_CLUSTER__WORKER_INITIAL_COUNT"]
    assert environment["RUST_LOG"] == "warn"
    assert sail_cluster_environment({"RUST_LOG": "info"}, tmp_path)["RUST_LOG"] == "info"


def test_the_cluster_engine_is_the_local_cluster(cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENGINE_MODE_ENV_VAR, LOCAL_CLUSTER_ENGINE)
    monkeypatch.setenv(SPARK_REMOTE_ENV_VAR, "sc://elsewhere:15002")  # the explicit choice wins
    engine = engine_resource()
    assert EngineMode(engine.mode) is EngineMode.REMOTE
    assert engine.session_config()["spark.remote"] == cluster.services.spark_remote_url()  # read when the session is made


def test_plain_up_leaves_a_running_cluster_alone(cluster: Cluster) -> None:
    statuses = {status.name: status for status in cluster.services.up()}
    assert statuses["spark"].pid == cluster.status.pid  # listed while it runs


def test_plain_up_does_not_start_the_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOME_ENV_VAR, str(tmp_path))
    monkeypatch.setenv(ENGINE_MODE_ENV_VAR, LOCAL_CLUSTER_ENGINE)
    services = LocalServices()
    try:
        statuses = {status.name: status for status in services.up()}
        assert {name: status.state for name, status in statuses.items()} == {
            "snowflake": ServiceState.RUNNING,
            "redshift": ServiceState.RUNNING,
            "spark": ServiceState.STOPPED,
        }
        spark = _spark_status(services)
        assert (spark.state, spark.port, spark.pid) == (ServiceState.STOPPED, None, None)
        for ask in (services.spark_remote_url, lambda: engine_resource().session_config()):
            with pytest.raises(ServicesNotRunningError) as raised:
                ask()
            message = str(raised.value)
            assert "run `lakehouse services up --cluster`" in message and "\n" not in message
    finally:
        services.down()


def test_down_stops_the_server_and_its_workers_and_the_port_is_kept(cluster: Cluster) -> None:
    """Last: it stops the module's cluster."""
    assert _spark_status(cluster.services).running
    cluster.services.down()
    stopped = _spark_status(cluster.services)
    assert (stopped.state, stopped.pid, stopped.port) == (ServiceState.STOPPED, None, cluster.status.port)
    assert not [pid for pid in cluster.pids if _alive(pid)]
    assert not [port for port in cluster.listening_ports if port_accepts_connections("127.0.0.1", port)]

    again = {status.name: status for status in cluster.services.up(cluster=True)}["spark"]
    assert (again.state, again.port) == (ServiceState.RUNNING, cluster.status.port)
    assert again.pid != cluster.status.pid
    cluster.services.down()
    assert not _alive(again.pid)
