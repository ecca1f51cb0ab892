"""The example production instance, ``deploy/dagster.yaml``, on a real PostgreSQL (the project's embedded
one): its storages are PostgreSQL and hold a run, its events and the schedule storage's tables; runs are
queued and the daemon's run queue keeps the configured per-source limits on the tags the lakehouse's jobs
and watermark sensors put on their runs; runs launch in a process of their own; ``dagster instance info``
accepts the file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import psycopg2
import pytest
import yaml
from dagster._core.remote_origin import RegisteredCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
from dagster._core.run_coordinator import SubmitRunContext
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

from lakehouse.orchestration.jobs import bronze_ingestion_job, lakehouse_daily_job, source_tags
from lakehouse.orchestration.sensors.watermark_sensor import LOADS_TAG, plan_runs
from lakehouse.orchestration.sensors.watermarks import DayState
from lakehouse.services.postgres import PostgresService
from lakehouse_tests.fixtures.services import scratch_home
from lakehouse_tests.fixtures.spark_servers import free_port

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
DEPLOY_DAGSTER_YAML = REPOSITORY_ROOT / "deploy" / "dagster.yaml"
HOST = "127.0.0.1"
LOCATION = RemoteRepositoryOrigin(RegisteredCodeLocationOrigin("lakehouse"), "__repository__")
DAY = date(2026, 1, 2)

SNOWFLAKE_TABLES = ["customers", "products", "orders", "order_items"]
READS_SNOWFLAKE = "lakehouse/reads_snowflake"
READS_REDSHIFT = "lakehouse/reads_redshift"


@dataclass(frozen=True)
class DagsterDatabase:
    """A database and a role of its own for the Dagster instance, as a deployment would create them."""

    host: str
    port: int
    user: str = "dagster"
    password: str = "dagster-instance-secret"
    database: str = "dagster"

    def env(self) -> dict[str, str]:
        return {
            "DAGSTER_PG_HOST": self.host,
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_USERNAME": self.user,
            "DAGSTER_PG_PASSWORD": self.password,
            "DAGSTER_PG_DB": self.database,
        }

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        connection = psycopg2.connect(
            host=self.host, port=self.port, user=self.user, password=self.password, dbname=self.database
        )
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall()
        finally:
            connection.close()


@pytest.fixture(scope="module")
def postgres() -> Iterator[DagsterDatabase]:
    """The project's embedded PostgreSQL on a free port of its own, with a ``dagster`` role and database."""
    home = scratch_home("lakehouse-dagster-instance-")
    service = PostgresService(home / "services")
    port = free_port()
    pid = service.start(HOST, port)
    try:
        database = DagsterDatabase(HOST, port)
        admin = psycopg2.connect(**service.connect_kwargs(HOST, port, database="postgres"))
        try:
            admin.autocommit = True
            with admin.cursor() as cursor:
                cursor.execute(f"CREATE ROLE {database.user} LOGIN PASSWORD %s", (database.password,))
                cursor.execute(f"CREATE DATABASE {database.database} OWNER {database.user}")
        finally:
            admin.close()
        yield database
    finally:
        service.stop(pid)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def dagster_home(postgres: DagsterDatabase, tmp_path: Path, monkeypatch) -> Path:
    """A ``$DAGSTER_HOME`` holding ``deploy/dagster.yaml`` as shipped, the database's variables set."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DEPLOY_DAGSTER_YAML, home / "dagster.yaml")
    for name, value in postgres.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


@pytest.fixture
def instance(dagster_home: Path) -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.from_config(str(dagster_home)) as opened:
        opened.wipe()  # one database for the module: each test starts from no runs
        yield opened


def test_the_file_reads_every_address_and_secret_from_the_environment() -> None:
    config = yaml.safe_load(DEPLOY_DAGSTER_YAML.read_text())
    database = config["storage"]["postgres"]["postgres_db"]
    for field in ("hostname", "port", "username", "password", "db_name"):
        assert set(database[field]) == {"env"}, field
    assert config["telemetry"] == {"enabled": False}


def test_runs_events_and_schedules_are_stored_in_postgres(instance, dagster_home, postgres) -> None:
    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
    assert isinstance(instance.schedule_storage, PostgresScheduleStorage)

    @dg.asset(key=["deployment", "probe"])
    def probe() -> int:
        return 1

    result = dg.materialize([probe], instance=instance)
    assert result.success

    # another process reading the same instance (the webserver, the daemon) sees the run and its events
    with dg.DagsterInstance.from_config(str(dagster_home)) as reader:
        run = reader.get_run_by_id(result.run_id)
        assert run is not None and run.status is dg.DagsterRunStatus.SUCCESS
        materializations = reader.fetch_materializations(dg.AssetKey(["deployment", "probe"]), limit=5)
        assert [record.run_id for record in materializations.records] == [result.run_id]

    # and they are rows of the PostgreSQL database named by the environment
    assert postgres.query("SELECT status FROM runs WHERE run_id = %s", (result.run_id,)) == [("SUCCESS",)]
    (events,) = postgres.query(
        "SELECT count(*) FROM event_logs WHERE run_id = %s AND dagster_event_type = 'ASSET_MATERIALIZATION'",
        (result.run_id,),
    )
    assert events == (1,)
    tables = {
        name for (name,) in postgres.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    }
    assert {"runs", "event_logs", "jobs", "job_ticks", "instigators"} <= tables


def test_runs_are_queued_and_launched_in_a_process_of_their_own(instance) -> None:
    assert isinstance(instance.run_coordinator, dg.QueuedRunCoordinator)
    assert isinstance(instance.run_launcher, dg.DefaultRunLauncher)
    queue = instance.get_concurrency_config().run_queue_config
    assert queue is not None
    assert queue.max_concurrent_runs == 10
    assert {(limit["key"], limit.get("value"), limit["limit"]) for limit in queue.tag_concurrency_limits} == {
        (READS_SNOWFLAKE, "true", 4),
        (READS_REDSHIFT, "true", 2),
        ("dagster/backfill", None, 3),
    }


def test_every_run_reading_a_source_is_under_a_configured_limit(instance) -> None:
    limited = {
        limit["key"] for limit in instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
    }
    for table in [*SNOWFLAKE_TABLES, "behavior_events"]:
        assert set(bronze_ingestion_job(table).tags) & limited, table
    assert bronze_ingestion_job("orders").tags == source_tags(["snowflake"])
    assert bronze_ingestion_job("behavior_events").tags == source_tags(["redshift"])
    assert {READS_SNOWFLAKE, READS_REDSHIFT} <= set(lakehouse_daily_job().tags)


def sensor_run_tags(instance: dg.DagsterInstance, table: str, parents_lacking_the_day: list[str]) -> dict:
    """The tags of the run the table's watermark sensor requests for ``DAY`` (its job's tags with the run
    request's), when the lake lacks the day of ``parents_lacking_the_day`` and holds every other parent's."""
    parents = {"behavior_events": ["customers", "products"], "orders": ["customers"]}[table]
    upstream = {
        parent: Counter() if parent in parents_lacking_the_day else Counter({DAY: 5}) for parent in parents
    }
    plan = plan_runs(
        instance,
        table,
        [(DAY, DayState(rows=10, max_change=datetime(2026, 1, 2, 23, 0)))],
        max_attempts=3,
        upstream=upstream,
    )
    (request,) = plan.requests
    return {**bronze_ingestion_job(table).tags, **request.tags}


def queue(instance: dg.DagsterInstance, job_name: str, tags: dict) -> dg.DagsterRun:
    """A run of the code location's job submitted to the instance's run coordinator, as a sensor, a schedule
    or the UI submits it."""
    run = instance.add_run(
        dg.DagsterRun(
            job_name=job_name,
            tags=tags,
            status=dg.DagsterRunStatus.NOT_STARTED,
            remote_job_origin=RemoteJobOrigin(LOCATION, job_name),
        )
    )
    return instance.run_coordinator.submit_run(SubmitRunContext(run, workspace=None))


def test_the_run_queue_holds_snowflake_runs_beyond_the_limit_and_lets_others_through(instance) -> None:
    # four Snowflake loads in progress: the Snowflake limit
    for table in SNOWFLAKE_TABLES:
        instance.add_run(
            dg.DagsterRun(
                job_name=f"bronze_{table}_job",
                tags=dict(bronze_ingestion_job(table).tags),
                status=dg.DagsterRunStatus.STARTED,
            )
        )
    orders = queue(instance, "bronze_orders_job", sensor_run_tags(instance, "orders", []))
    events = queue(instance, "bronze_behavior_events_job", sensor_run_tags(instance, "behavior_events", []))
    events_with_customers = queue(
        instance, "bronze_behavior_events_job", sensor_run_tags(instance, "behavior_events", ["customers"])
    )
    daily = queue(instance, "lakehouse_daily_job", dict(lakehouse_daily_job().tags))
    silver = queue(instance, "__ASSET_JOB", {"lakehouse/job": "automation"})
    assert {run.status for run in (orders, events, events_with_customers, daily, silver)} == {
        dg.DagsterRunStatus.QUEUED
    }
    assert events_with_customers.tags[LOADS_TAG] == "behavior_events,customers"

    daemon = QueuedRunCoordinatorDaemon(interval_seconds=1)
    dequeued = daemon._get_runs_to_dequeue(
        instance, instance.get_concurrency_config(), fixed_iteration_time=None
    )

    # the Redshift load and the lake-only run go; everything that also queries Snowflake waits
    assert {run.run_id for run in dequeued} == {events.run_id, silver.run_id}


def test_dagster_instance_info_accepts_the_file(dagster_home: Path) -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "instance", "info"],
        env={**os.environ, "DAGSTER_HOME": str(dagster_home)},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    for line in (
        "run_storage: PostgresRunStorage",
        "event_log_storage: PostgresEventLogStorage",
        "schedule_storage: PostgresScheduleStorage",
        "class: DefaultRunLauncher",
        "max_concurrent_runs: 10",
        "key: lakehouse/reads_snowflake",
    ):
        assert line in result.stdout, result.stdout
    # Dagster created its tables at the latest schema: nothing to migrate
    schema = yaml.safe_load(result.stdout.split("Storage schema state:")[1].split("\n", 2)[2])["schema"]
    assert {storage: state["current"] == state["latest"] for storage, state in schema.items()} == {
        "event_log_storage": True,
        "run_storage": True,
        "schedule_storage": True,
    }
