"""``LocalServices``: the local stand-ins for Snowflake and Redshift of one ``$LAKEHOUSE_HOME``, and on
request a local Spark cluster.

Used by the ``lakehouse services`` CLI, the local resources (when they connect), the data generator's
loader and the test fixtures. Servers are detached processes: they keep running after the process that
called ``up()`` exits, until ``down()``. The sources start on every ``up()``; the Sail cluster only on
``up(cluster=True)``, since the embedded engine is the local default.

Layout under ``$LAKEHOUSE_HOME/services/``::

    state.json              host, and per service: port, pid, paused_by
    .lock                   inter-process lock around up / down / pause
    snowflake/data/*.db     fakesnow's DuckDB files, one per database (RETAIL.db)
    snowflake/fakesnow.log
    redshift/pgdata/        the PostgreSQL cluster (its postmaster.pid is the pid file)
    redshift/postgres.log
    spark/checkpoints/      the Sail cluster's DataFrame checkpoints
    spark/sail.log
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import psutil

from lakehouse.services import postgres, snowflake, spark_cluster
from lakehouse.services.process import RunningService
from lakehouse.services.state import SERVICES_DIR, ServiceRecord, StateStore, free_port
from lakehouse.services.status import ServiceError, ServicesNotRunningError, ServiceState, ServiceStatus
from lakehouse.settings import lakehouse_home

Progress = Callable[[str], None]


class LocalService(Protocol):
    name: str
    engine: str
    data_path: Path
    log_path: Path

    def find_running(self, record: ServiceRecord) -> RunningService | None: ...

    def start(self, host: str, port: int) -> int: ...

    def stop(self, pid: int) -> None: ...


class LocalServices:
    """Start, stop and locate the local services. ``home`` defaults to ``$LAKEHOUSE_HOME``."""

    def __init__(self, home: str | os.PathLike[str] | None = None) -> None:
        self.home = Path(home).resolve() if home is not None else lakehouse_home()
        self.services_dir = self.home / SERVICES_DIR
        self._store = StateStore(self.services_dir)
        self.snowflake = snowflake.FakesnowService(self.services_dir)
        self.redshift = postgres.PostgresService(self.services_dir)
        self.spark = spark_cluster.SailClusterService(self.services_dir)

    @property
    def state_path(self) -> Path:
        return self._store.path

    def _sources(self) -> tuple[LocalService, ...]:
        return (self.snowflake, self.redshift)

    def _services(self) -> tuple[LocalService, ...]:
        return (*self._sources(), self.spark)

    # lifecycle

    def up(self, progress: Progress | None = None, *, cluster: bool = False) -> list[ServiceStatus]:
        """Start whatever is not running; reuse what is. Ports chosen on the first ``up`` are kept.

        The Sail cluster is started only with ``cluster``; without it, a running cluster is left alone.
        """
        report = progress or _silent
        with self._store.locked():
            state = self._store.load()
            for service in self._services() if cluster else self._sources():
                record = state.record(service.name)
                running = service.find_running(record)
                if running is not None:
                    record.pid, record.port = running.pid, running.port
                    report(f"{service.name}: {service.engine} already running on {state.host}:{running.port}")
                    continue
                if _alive(record.paused_by):
                    raise ServiceError(
                        f"{service.name} is paused for a bulk load by process {record.paused_by}; "
                        "run `up` again when it has finished"
                    )
                if record.port is None:
                    taken = {r.port for r in state.services.values() if r.port is not None}
                    record.port = free_port(state.host, exclude=taken)
                report(f"{service.name}: starting {service.engine} on {state.host}:{record.port}")
                started = time.perf_counter()
                record.pid, record.paused_by = service.start(state.host, record.port), None
                # saved per service, so a failure of the next one still leaves this one findable
                self._store.save(state)
                elapsed = time.perf_counter() - started
                report(f"{service.name}: running (pid {record.pid}, started in {elapsed:.1f} s)")
            self._store.save(state)
        return self.status()

    def down(self, progress: Progress | None = None) -> list[ServiceStatus]:
        """Stop every running service. Data and ports are kept for the next ``up``."""
        report = progress or _silent
        with self._store.locked():
            state = self._store.load()
            for service in self._services():
                record = state.record(service.name)
                running = service.find_running(record)
                if running is None:
                    report(f"{service.name}: not running")
                else:
                    report(f"{service.name}: stopping {service.engine} (pid {running.pid})")
                    service.stop(running.pid)
                record.pid = None
                self._store.save(state)
        return self.status()

    def status(self) -> list[ServiceStatus]:
        """Each service as it is now (checked against the live process table, not only the state file):
        the sources, then the Sail cluster, which is stopped unless ``up(cluster=True)`` started it."""
        state = self._store.load()
        statuses = []
        for service in self._services():
            record = state.services.get(service.name, ServiceRecord())
            running = service.find_running(record)
            if running is not None:
                service_state, pid, port = ServiceState.RUNNING, running.pid, running.port
            else:
                paused = _alive(record.paused_by)
                service_state = ServiceState.PAUSED if paused else ServiceState.STOPPED
                pid, port = None, record.port
            statuses.append(
                ServiceStatus(
                    name=service.name,
                    engine=service.engine,
                    state=service_state,
                    host=state.host,
                    port=port,
                    pid=pid,
                    data_path=service.data_path,
                    log_path=service.log_path,
                )
            )
        return statuses

    @contextmanager
    def snowflake_paused(self) -> Iterator[Path]:
        """Stop fakesnow for a bulk load and yield its DuckDB directory; restart it afterwards.

        DuckDB lets one process at a time open a database file, so a loader writing the files directly
        needs the server out of the way. It is restarted on the same port (also when the block raises),
        so resources and ``dagster dev`` configured with that port keep working. If it was not running,
        it is not started afterwards either.
        """
        service = self.snowflake
        with self._store.locked():
            state = self._store.load()
            record = state.record(service.name)
            running = service.find_running(record)
            if running is not None:
                service.stop(running.pid)
                record.pid, record.port, record.paused_by = None, running.port, os.getpid()
                self._store.save(state)
        service.data_path.mkdir(parents=True, exist_ok=True)
        try:
            yield service.data_path
        finally:
            if running is not None:
                with self._store.locked():
                    state = self._store.load()
                    record = state.record(service.name)
                    record.paused_by = None
                    self._store.save(state)
                    record.pid = service.start(state.host, running.port)
                    self._store.save(state)

    # connection details for code that does not go through Dagster resources

    def snowflake_address(self) -> tuple[str, int]:
        return self._require_running(self.snowflake)

    def redshift_address(self) -> tuple[str, int]:
        return self._require_running(self.redshift)

    def spark_remote_url(self) -> str:
        """The Spark Connect URL (``sc://host:port``) of the running Sail cluster."""
        host, port = self._require_running(self.spark, start_command="lakehouse services up --cluster")
        return f"sc://{host}:{port}"

    def snowflake_connect_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``snowflake.connector.connect`` against the local fakesnow server."""
        host, port = self.snowflake_address()
        return {
            "account": snowflake.ACCOUNT,
            "user": snowflake.USER,
            "password": snowflake.PASSWORD,
            "database": snowflake.DATABASE,
            "host": host,
            "port": port,
            "protocol": "http",
            "timezone": SNOWFLAKE_SESSION_TIMEZONE,
            **snowflake_local_session_args(),
        }

    def postgres_dsn(self, database: str = postgres.DATABASE) -> str:
        """A libpq URI (``psycopg2.connect(dsn)``) for the local PostgreSQL standing in for Redshift."""
        host, port = self.redshift_address()
        return f"postgresql://{postgres.USER}:{postgres.PASSWORD}@{host}:{port}/{database}"

    def _require_running(
        self, service: LocalService, start_command: str = "lakehouse services up"
    ) -> tuple[str, int]:
        state = self._store.load()
        running = service.find_running(state.services.get(service.name, ServiceRecord()))
        if running is None:
            raise ServicesNotRunningError(
                f"{service.name} is not running under {self.services_dir}", command=start_command
            )
        return state.host, running.port


# The Snowflake session's TIMEZONE, locally and in production: the extraction windows are UTC wall times
# (TIMESTAMP_NTZ), so the session says UTC rather than inheriting the account's default.
SNOWFLAKE_SESSION_TIMEZONE = "UTC"


def snowflake_local_session_args() -> dict[str, Any]:
    """Connector arguments that keep a local session local: no telemetry sent to Snowflake's servers."""
    return {"session_parameters": {"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False}}


def _alive(pid: int | None) -> bool:
    return pid is not None and psutil.pid_exists(pid)


def _silent(_message: str) -> None:
    return None
