"""Alerts reach the team: a failed run, an ERROR gate and a missed freshness window, each posted once to a real
local HTTP receiver (as a generic webhook and as Slack's Web API), from real runs on a real instance: a local
one (run-sharded SQLite) and one in PostgreSQL, as deployed."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg2
import pytest
from dagster._core.definitions.freshness import FreshnessState
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.test_utils import freeze_time
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster._daemon.freshness import FreshnessDaemon

from lakehouse.gold.freshness import gold_freshness_policy
from lakehouse.observability.alerts import (
    FRESHNESS_SENSOR,
    GATE_SENSOR,
    RUN_FAILURE_SENSOR,
    SLACK_CHANNEL_ENV_VAR,
    SLACK_TOKEN_ENV_VAR,
    WEBHOOK_URL_ENV_VAR,
    WEBSERVER_URL_ENV_VAR,
    AlertConfigError,
    AlertDeliveryError,
    AlertTarget,
    alert_sensors,
    alerts_resource,
    freshness_alert_sensor,
    gate_alert_sensor,
    run_failure_alert_sensor,
)
from lakehouse.services.postgres import PostgresService
from lakehouse_tests.fixtures.services import scratch_home
from lakehouse_tests.fixtures.spark_servers import free_port

DAY = "2026-01-02"
DAILY = dg.DailyPartitionsDefinition(start_date="2026-01-01", timezone="UTC")
GATED = dg.AssetKey(["gold", "alerted_orders"])
BROKEN = dg.AssetKey(["bronze", "alerted_source"])
FRESH = dg.AssetKey(["gold", "alerted_star"])
WEBSERVER = "https://dagster.example.test"


@dg.asset(
    key=GATED,
    partitions_def=DAILY,
    check_specs=[dg.AssetCheckSpec("reconciles_with_silver", asset=GATED, blocking=True)],
)
def alerted_orders() -> Iterator[Any]:
    yield dg.Output(3)
    yield dg.AssetCheckResult(
        check_name="reconciles_with_silver",
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description="2 orders of silver are missing from gold",
        metadata={"rejected_version": 7},
    )


@dg.asset(
    key=["gold", "warned_orders"],
    partitions_def=DAILY,
    check_specs=[dg.AssetCheckSpec("row_count_in_range", asset=["gold", "warned_orders"])],
)
def warned_orders() -> Iterator[Any]:
    yield dg.Output(1)
    yield dg.AssetCheckResult(check_name="row_count_in_range", passed=False, severity=dg.AssetCheckSeverity.WARN)


@dg.asset(key=BROKEN, partitions_def=DAILY)
def alerted_source() -> int:
    raise RuntimeError("the source is unreachable")


@dg.asset(key=FRESH, partitions_def=DAILY, freshness_policy=gold_freshness_policy())
def alerted_star() -> int:
    return 1


GATED_JOB = dg.define_asset_job("alerted_gold_job", selection=[GATED, dg.AssetKey(["gold", "warned_orders"])])
BROKEN_JOB = dg.define_asset_job("alerted_bronze_job", selection=[BROKEN])
DEFINITIONS = dg.Definitions(
    assets=[alerted_orders, warned_orders, alerted_source, alerted_star],
    jobs=[GATED_JOB, BROKEN_JOB],
    sensors=alert_sensors(),
    resources={"alerts": AlertTarget()},
)


class Receiver:
    """A real HTTP server on loopback recording every request: path, headers and JSON body. It answers as Slack's
    Web API does (``{"ok": true}``), or with ``status`` when told to fail."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": json.loads(body or b"null")}
                )
                answer = json.dumps({"ok": True, "channel": "C0ALERTS", "ts": "1.0"}).encode()
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def bodies(self) -> list[Any]:
        return [request["body"] for request in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """The project's embedded PostgreSQL on a free port of its own, with a database for the Dagster instance
    (the storage of a deployment, deploy/dagster.yaml)."""
    home = scratch_home("lakehouse-alerts-")
    service = PostgresService(home / "services")
    port = free_port()
    pid = service.start("127.0.0.1", port)
    try:
        admin = psycopg2.connect(**service.connect_kwargs("127.0.0.1", port, database="postgres"))
        try:
            admin.autocommit = True
            with admin.cursor() as cursor:
                cursor.execute("CREATE DATABASE dagster_alerts")
        finally:
            admin.close()
        kwargs = service.connect_kwargs("127.0.0.1", port, database="dagster_alerts")
        yield f"postgresql+psycopg2://{kwargs['user']}:{kwargs['password']}@127.0.0.1:{port}/dagster_alerts"
    finally:
        service.stop(pid)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgres"])
def instance(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    """A persistent instance: a local one (run-sharded SQLite, as ``lakehouse dev``), or one whose runs and
    events are in PostgreSQL, as in a deployment."""
    overrides = None
    if request.param == "postgres":
        overrides = {"storage": {"postgres": {"postgres_url": request.getfixturevalue("postgres_url")}}}
    with dg.DagsterInstance.local_temp(str(tmp_path), overrides=overrides) as instance:
        instance.wipe()  # one database for the module: each test starts from no runs and no events
        yield instance


@pytest.fixture
def webhook_settings(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    """The deployment's settings: the webhook and the UI's address, as environment variables."""
    monkeypatch.setenv(WEBHOOK_URL_ENV_VAR, f"{receiver.url}/hooks/lakehouse")
    monkeypatch.setenv(WEBSERVER_URL_ENV_VAR, WEBSERVER)
    for name in (SLACK_TOKEN_ENV_VAR, SLACK_CHANNEL_ENV_VAR):
        monkeypatch.delenv(name, raising=False)


def tick(
    sensor: dg.SensorDefinition,
    instance: dg.DagsterInstance,
    alerts: AlertTarget,
    cursor: str | None,
    with_definitions: bool = True,
) -> Any:
    """One evaluation of ``sensor`` as the daemon runs it: the instance, the previous cursor, the resource."""
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"alerts": alerts},
        definitions=DEFINITIONS if with_definitions else None,
        sensor_name=sensor.name,
    )
    return sensor.evaluate_tick(context)


def run(instance: dg.DagsterInstance, job: str) -> dg.ExecuteInProcessResult:
    return DEFINITIONS.resolve_job_def(job).execute_in_process(
        instance=instance, partition_key=DAY, raise_on_error=False
    )


def test_a_failed_run_is_posted_once_with_job_asset_partition_and_run_link(instance, receiver, webhook_settings):
    sensor = run_failure_alert_sensor()
    alerts = alerts_resource()
    # a run failure sensor evaluates the runs of its own code location; the runs here have no code location,
    # so the sensor is evaluated without one too
    started = tick(sensor, instance, alerts, None, with_definitions=False)
    result = run(instance, "alerted_bronze_job")
    assert not result.success

    first = tick(sensor, instance, alerts, started.cursor, with_definitions=False)

    [request] = receiver.requests
    assert request["path"] == "/hooks/lakehouse"
    assert request["headers"]["Content-Type"] == "application/json"
    body = request["body"]
    assert body["kind"] == "run_failure"
    assert body["job"] == "alerted_bronze_job"
    assert body["run_id"] == result.run_id
    assert body["run_url"] == f"{WEBSERVER}/runs/{result.run_id}"
    assert body["assets"] == ["bronze/alerted_source"]
    assert body["partition"] == DAY
    assert "the source is unreachable" in body["message"]
    assert first.dagster_run_reactions and not first.dagster_run_reactions[0].error

    tick(sensor, instance, alerts, first.cursor, with_definitions=False)
    assert len(receiver.requests) == 1


def test_an_error_gate_is_posted_once_and_a_warning_not(instance, receiver, webhook_settings):
    sensor = gate_alert_sensor()
    alerts = alerts_resource()
    started = tick(sensor, instance, alerts, None)
    assert "started" in started.skip_message
    result = run(instance, "alerted_gold_job")
    assert not result.success  # the blocking ERROR check failed the run

    first = tick(sensor, instance, alerts, started.cursor)

    [body] = receiver.bodies()
    assert body["kind"] == "gate"
    assert body["assets"] == ["gold/alerted_orders"]
    assert body["partition"] == DAY
    assert body["check"] == "reconciles_with_silver"
    assert body["job"] == "alerted_gold_job"
    assert body["run_url"] == f"{WEBSERVER}/runs/{result.run_id}"
    assert body["message"] == "2 orders of silver are missing from gold"
    assert body["details"] == {"rejected version": 7}
    assert "Gate failed: gold/alerted_orders reconciles_with_silver" in first.skip_message

    second = tick(sensor, instance, alerts, first.cursor)
    assert len(receiver.requests) == 1
    assert second.skip_message == "no new ERROR gates"
    assert json.loads(second.cursor) == json.loads(first.cursor)


def test_the_run_failure_and_the_gate_reach_slack(instance, receiver, monkeypatch):
    monkeypatch.setenv(WEBSERVER_URL_ENV_VAR, WEBSERVER)
    alerts = AlertTarget(
        slack_token="xoxb-lakehouse-test",
        slack_channel="#lakehouse-alerts",
        slack_api_url=f"{receiver.url}/api",
        webserver_url=WEBSERVER,
    )
    gates, failures = gate_alert_sensor(), run_failure_alert_sensor()
    gate_cursor = tick(gates, instance, alerts, None).cursor
    failure_cursor = tick(failures, instance, alerts, None, with_definitions=False).cursor
    result = run(instance, "alerted_gold_job")

    tick(gates, instance, alerts, gate_cursor)
    tick(failures, instance, alerts, failure_cursor, with_definitions=False)

    assert [r["path"] for r in receiver.requests] == ["/api/chat.postMessage", "/api/chat.postMessage"]
    assert all(r["headers"]["Authorization"] == "Bearer xoxb-lakehouse-test" for r in receiver.requests)
    gate, failure = receiver.bodies()
    assert gate["channel"] == failure["channel"] == "#lakehouse-alerts"
    run_link = f"<{WEBSERVER}/runs/{result.run_id}|{result.run_id}>"
    assert "*Gate failed: gold/alerted_orders reconciles_with_silver*" in gate["text"]
    assert "`gold/alerted_orders`" in gate["text"] and f"*Partition:* {DAY}" in gate["text"]
    assert "*Check:* reconciles_with_silver" in gate["text"] and run_link in gate["text"]
    assert "*Run failed: alerted_gold_job*" in failure["text"]
    assert "*Check:* gold/alerted_orders reconciles_with_silver" in failure["text"]
    assert f"*Partition:* {DAY}" in failure["text"] and run_link in failure["text"]


@pytest.fixture
def freshness_workspace(instance: dg.DagsterInstance) -> Iterator[WorkspaceProcessContext]:
    """The definitions as the freshness daemon sees them: a code location loaded in this process."""
    origin = InProcessCodeLocationOrigin(
        loadable_target_origin=LoadableTargetOrigin(module_name=__name__, attribute="DEFINITIONS"),
        location_name="alerts_test",
    )
    with WorkspaceProcessContext(instance, InProcessWorkspaceLoadTarget(origin)) as context:
        yield context


def evaluate_freshness(workspace: WorkspaceProcessContext) -> None:
    """One iteration of Dagster's freshness daemon, which records each asset's freshness state changes."""
    list(FreshnessDaemon().run_iteration(workspace))


def freshness_states(instance: dg.DagsterInstance) -> list[FreshnessState]:
    records = instance.event_log_storage.get_event_records(
        dg.EventRecordsFilter(event_type=dg.DagsterEventType.FRESHNESS_STATE_CHANGE, asset_key=FRESH), ascending=True
    )
    return [record.event_log_entry.dagster_event.event_specific_data.new_state for record in records]


def test_a_missed_freshness_window_is_posted_once(instance, receiver, webhook_settings, freshness_workspace):
    sensor = freshness_alert_sensor()
    alerts = alerts_resource()
    started = tick(sensor, instance, alerts, None)
    result = DEFINITIONS.resolve_implicit_global_asset_job_def().get_subset(asset_selection={FRESH}).execute_in_process(
        instance=instance, partition_key=DAY
    )
    assert result.success
    evaluate_freshness(freshness_workspace)  # just materialized: inside the window
    # the next day at 07:00 UTC the 06:00 deadline has passed with no materialization since midnight
    next_morning = (datetime.now(timezone.utc) + timedelta(days=1)).replace(hour=7, minute=0, second=0, microsecond=0)
    with freeze_time(next_morning):
        evaluate_freshness(freshness_workspace)
    assert freshness_states(instance) == [FreshnessState.PASS, FreshnessState.FAIL]

    first = tick(sensor, instance, alerts, started.cursor)

    [body] = receiver.bodies()
    assert body["kind"] == "freshness"
    assert body["title"] == "Freshness window missed: gold/alerted_star"
    assert body["assets"] == ["gold/alerted_star"]
    # the day due by the deadline: the day that ended at midnight
    assert body["partition"] == (next_morning - timedelta(days=1)).date().isoformat()
    assert body["check"] == "freshness policy: materialized within 6:00:00 before each '0 6 * * *' (UTC)"
    assert body["run_id"] == result.run_id  # the run of its last materialization
    assert body["run_url"] == f"{WEBSERVER}/runs/{result.run_id}"
    assert body["details"]["asset page"] == f"{WEBSERVER}/assets/gold/alerted_star"
    assert f"(partition {DAY})" in body["details"]["last materialized"]

    tick(sensor, instance, alerts, first.cursor)
    assert len(receiver.requests) == 1


def test_with_no_target_nothing_is_sent_and_each_tick_says_why(instance, receiver, monkeypatch):
    for name in (WEBHOOK_URL_ENV_VAR, SLACK_TOKEN_ENV_VAR, SLACK_CHANNEL_ENV_VAR, WEBSERVER_URL_ENV_VAR):
        monkeypatch.delenv(name, raising=False)
    alerts = alerts_resource()
    assert not alerts.enabled
    gates, failures = gate_alert_sensor(), run_failure_alert_sensor()
    gate_cursor = tick(gates, instance, alerts, None).cursor
    failure_cursor = tick(failures, instance, alerts, None, with_definitions=False).cursor
    result = run(instance, "alerted_gold_job")

    gate = tick(gates, instance, alerts, gate_cursor)
    failure = tick(failures, instance, alerts, failure_cursor, with_definitions=False)

    assert receiver.requests == []
    off = f"alerts are off: set {WEBHOOK_URL_ENV_VAR}, or {SLACK_TOKEN_ENV_VAR} and {SLACK_CHANNEL_ENV_VAR}"
    assert gate.skip_message == f"{off}; not sent: Gate failed: gold/alerted_orders reconciles_with_silver"
    assert failure.skip_message == f"{off}; run {result.run_id} of alerted_gold_job failed, not sent"
    # the cursor moved on: turning alerts on later does not send the past
    assert tick(gates, instance, AlertTarget(webhook_url=f"{receiver.url}/hooks"), gate.cursor).skip_message == (
        "no new ERROR gates"
    )
    assert receiver.requests == []


def test_a_slack_token_without_a_channel_fails_the_tick(instance):
    with pytest.raises(Exception, match=f"{SLACK_CHANNEL_ENV_VAR} is not set"):
        tick(gate_alert_sensor(), instance, AlertTarget(slack_token="xoxb-lakehouse-test"), None)
    with pytest.raises(AlertConfigError):
        AlertTarget(slack_channel="#lakehouse-alerts").destinations()


def test_a_refused_delivery_fails_the_tick_and_is_sent_again_next_tick(instance, receiver, webhook_settings):
    sensor = gate_alert_sensor()
    alerts = alerts_resource()
    started = tick(sensor, instance, alerts, None)
    run(instance, "alerted_gold_job")
    receiver.status = 503

    with pytest.raises(AlertDeliveryError, match="not delivered to webhook: HTTPError: HTTP Error 503"):
        tick(sensor, instance, alerts, started.cursor)

    receiver.status = 200
    tick(sensor, instance, alerts, started.cursor)  # the daemon keeps the cursor of the failed tick
    assert [body["check"] for body in receiver.bodies()] == ["reconciles_with_silver"] * 2


def test_the_sensors_are_defined_with_the_alerts_resource():
    sensors = {sensor.name: sensor for sensor in alert_sensors(dg.DefaultSensorStatus.RUNNING)}
    assert sorted(sensors) == sorted([RUN_FAILURE_SENSOR, GATE_SENSOR, FRESHNESS_SENSOR])
    assert all(sensor.required_resource_keys == {"alerts"} for sensor in sensors.values())
    assert all(sensor.default_status is dg.DefaultSensorStatus.RUNNING for sensor in sensors.values())
    dg.Definitions.validate_loadable(DEFINITIONS)
