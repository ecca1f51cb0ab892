"""Starting, reusing, stopping and recovering the services, each test with its own ``$LAKEHOUSE_HOME``
unless it only reads the session's services."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import psutil
import psycopg2
import pytest
import snowflake.connector

from lakehouse.services import (
    LocalServices,
    ServiceError,
    ServicesNotRunningError,
    ServiceState,
    ServiceStatus,
)
from lakehouse.services.process import wait_until_exited
from lakehouse.services.state import free_port, port_accepts_connections, port_is_free


def _by_name(statuses: list[ServiceStatus]) -> dict[str, ServiceStatus]:
    """The sources' statuses by name (the optional Sail cluster has its own tests)."""
    return {status.name: status for status in statuses if status.name != "spark"}


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _write_state(services: LocalServices, records: dict[str, dict]) -> None:
    services.state_path.parent.mkdir(parents=True, exist_ok=True)
    services.state_path.write_text(json.dumps({"host": "127.0.0.1", "services": records}))


def test_second_up_reuses_the_running_services(local_services: LocalServices) -> None:
    before = _by_name(local_services.status())
    after = _by_name(local_services.up())
    assert {name: (s.pid, s.port) for name, s in after.items()} == {
        name: (s.pid, s.port) for name, s in before.items()
    }
    assert all(status.state is ServiceState.RUNNING for status in after.values())
    assert all(status.host == "127.0.0.1" for status in after.values())
    recorded = json.loads(local_services.state_path.read_text())["services"]
    assert {name: (r["pid"], r["port"]) for name, r in recorded.items() if name in after} == {
        name: (s.pid, s.port) for name, s in after.items()
    }


def test_services_outlive_the_process_that_started_them_until_down(tmp_path: Path) -> None:
    """As with ``lakehouse services up`` in one shell and ``dagster dev`` in another."""
    starter = f"from lakehouse.services import LocalServices; LocalServices({str(tmp_path)!r}).up()"
    subprocess.run([sys.executable, "-c", starter], check=True, timeout=120)
    services = LocalServices(tmp_path)
    first = _by_name(services.status())
    try:
        assert {s.state for s in first.values()} == {ServiceState.RUNNING}
        with snowflake.connector.connect(**services.snowflake_connect_kwargs()) as connection:
            connection.cursor().execute("CREATE TABLE PUBLIC.KEPT AS SELECT 1 AS ID")
        with psycopg2.connect(services.postgres_dsn()) as connection, connection.cursor() as cursor:
            cursor.execute("CREATE TABLE web.kept AS SELECT 1 AS id")
        connection.close()

        stopped = _by_name(services.down())
        assert {s.state for s in stopped.values()} == {ServiceState.STOPPED}
        assert {name: s.pid for name, s in stopped.items()} == {"snowflake": None, "redshift": None}
        assert {name: s.port for name, s in stopped.items()} == {name: s.port for name, s in first.items()}
        assert all(_gone(s.pid) for s in first.values())
        assert not any(port_accepts_connections(s.host, s.port) for s in first.values())
        with pytest.raises(ServicesNotRunningError, match=r"run `lakehouse services up`"):
            services.snowflake_connect_kwargs()

        again = _by_name(services.up())
        assert {name: s.port for name, s in again.items()} == {name: s.port for name, s in first.items()}
        with snowflake.connector.connect(**services.snowflake_connect_kwargs()) as connection:
            assert connection.cursor().execute("SELECT ID FROM PUBLIC.KEPT").fetchall() == [(1,)]
        with psycopg2.connect(services.postgres_dsn()) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT id FROM web.kept")
            assert cursor.fetchall() == [(1,)]
        connection.close()
    finally:
        services.down()


def test_crashed_servers_are_replaced_on_the_recorded_ports(tmp_path: Path) -> None:
    services = LocalServices(tmp_path)
    first = _by_name(services.up())
    try:
        for status in first.values():
            process = psutil.Process(status.pid)
            process.send_signal(signal.SIGKILL)
            assert wait_until_exited(process, timeout=10)
        # the state file still names the dead pids; status must not believe it
        assert {s.state for s in _by_name(services.status()).values()} == {ServiceState.STOPPED}

        again = _by_name(services.up())
        assert {s.state for s in again.values()} == {ServiceState.RUNNING}
        assert {name: s.port for name, s in again.items()} == {name: s.port for name, s in first.items()}
        assert all(again[name].pid != first[name].pid for name in first)
    finally:
        services.down()


# The main thread ends with the exit system call (not the whole process), so it turns zombie while a
# second thread lives on with the process's listening socket, as when a killed server's threads exit
# after its main thread.
_MAIN_THREAD_EXITS_FIRST = """
import ctypes, platform, socket, threading, time
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 0))
server.listen()
threading.Thread(target=time.sleep, args=(60,)).start()
print(server.getsockname()[1], flush=True)
SYS_EXIT = {"x86_64": 60, "aarch64": 93}[platform.machine()]  # this thread only, unlike exit_group
ctypes.CDLL(None).syscall(SYS_EXIT, 0)
"""


def test_a_zombie_main_thread_is_not_an_exit_while_another_thread_holds_the_port() -> None:
    server = subprocess.Popen([sys.executable, "-c", _MAIN_THREAD_EXITS_FIRST], stdout=subprocess.PIPE)
    process = psutil.Process(server.pid)
    try:
        port = int(server.stdout.readline())
        assert not wait_until_exited(process, timeout=0.5)
        assert process.status() == psutil.STATUS_ZOMBIE
        assert not port_is_free("127.0.0.1", port)
        process.kill()
        assert wait_until_exited(process, timeout=10)
        assert port_is_free("127.0.0.1", port)
    finally:
        server.kill()
        server.wait()
        server.stdout.close()


def test_a_recorded_pid_reused_by_another_program_is_neither_trusted_nor_stopped(tmp_path: Path) -> None:
    services = LocalServices(tmp_path)
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _write_state(services, {"snowflake": {"port": free_port(), "pid": stranger.pid}})
        assert _by_name(services.status())["snowflake"].state is ServiceState.STOPPED
        services.down()
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_a_recorded_port_taken_by_another_program_is_a_clear_error(tmp_path: Path) -> None:
    services = LocalServices(tmp_path)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        _write_state(services, {"snowflake": {"port": port, "pid": None}})
        with pytest.raises(ServiceError, match=rf"^snowflake: port {port} on 127\.0\.0\.1 is already in use"):
            services.up()
    assert _by_name(services.status())["snowflake"].state is ServiceState.STOPPED
