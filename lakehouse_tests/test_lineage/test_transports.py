"""Transports through the standard OpenLineage client configuration: HTTP to a Marquez-compatible
endpoint, the console, the local file default; and an unreachable endpoint never fails a run.

Each test materializes gold/dim_date (no inputs, small) through a job of the definitions."""

import json
import logging
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest

from lakehouse.lineage import default_events_file
from lakehouse_tests.test_lineage.openlineage_spec import validation_errors
from lakehouse_tests.test_lineage.support import lakehouse_assets, lakehouse_resources

DIM_DATE = dg.AssetKey(["gold", "dim_date"])
JOB = "lineage_calendar"


@pytest.fixture
def run_calendar(engine, local_services, tmp_path):
    """Materialize gold/dim_date once; returns the result and the run's event log."""

    def run():
        defs = dg.Definitions(
            assets=lakehouse_assets(),
            jobs=[dg.define_asset_job(JOB, selection=[DIM_DATE])],
            resources=lakehouse_resources(engine, local_services, str(tmp_path / "lake")),
        )
        with dg.DagsterInstance.ephemeral() as instance:
            result = defs.resolve_job_def(JOB).execute_in_process(instance=instance, raise_on_error=False)
            logs = instance.all_logs(result.run_id)
        return result, logs

    return run


class _LineageReceiver(BaseHTTPRequestHandler):
    received: list[tuple[str, str, dict]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers["Content-Type"], json.loads(body)))
        self.send_response(201)
        self.end_headers()

    def log_message(self, *args) -> None:  # keep the test output quiet
        pass


@pytest.fixture
def marquez_like_server() -> Iterator[tuple[str, list]]:
    received: list = []
    handler = type("Receiver", (_LineageReceiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_http_transport_posts_every_event_to_the_lineage_endpoint(
    run_calendar, marquez_like_server, monkeypatch
):
    url, received = marquez_like_server
    monkeypatch.setenv("OPENLINEAGE_URL", url)  # the Marquez default endpoint is api/v1/lineage
    result, _ = run_calendar()
    assert result.success
    assert [(path, content_type) for path, content_type, _ in received] == [
        ("/api/v1/lineage", "application/json")
    ] * 2
    events = [event for _, _, event in received]
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    assert {e["job"]["name"] for e in events} == {"gold.dim_date"}
    for event in events:
        assert validation_errors(event) == []
    assert events[1]["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] > 2000


def test_an_unreachable_endpoint_is_a_warning_not_a_failed_run(run_calendar, tmp_path, monkeypatch):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    config = tmp_path / "openlineage.yml"
    config.write_text(
        "transport:\n"
        "  type: http\n"
        f"  url: http://127.0.0.1:{closed_port}\n"
        "  timeout: 2\n"
        "  retry:\n"
        "    total: 0\n"
    )
    monkeypatch.setenv("OPENLINEAGE_CONFIG", str(config))
    result, logs = run_calendar()
    assert result.success
    assert [e.asset_key for e in result.get_asset_materialization_events()] == [DIM_DATE]
    warnings = [entry.user_message for entry in logs if entry.level == logging.WARNING]
    assert any("OpenLineage events of step gold__dim_date not emitted" in m for m in warnings), warnings


def test_console_transport_logs_the_events(run_calendar, caplog, monkeypatch):
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "console")
    with caplog.at_level(logging.INFO, logger="openlineage.client.transport.console"):
        result, _ = run_calendar()
    assert result.success
    console = "openlineage.client.transport.console"
    events = [json.loads(r.getMessage()) for r in caplog.records if r.name == console]
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    for event in events:
        assert validation_errors(event) == []


def test_without_configuration_events_go_to_a_file_under_lakehouse_home(run_calendar, tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("LAKEHOUSE_HOME", str(home))
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.openlineage/openlineage.yml
    monkeypatch.chdir(tmp_path)  # no ./openlineage.yml
    result, _ = run_calendar()
    assert result.success
    events_file = default_events_file()
    assert events_file == home / "lineage" / "openlineage.jsonl"
    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    for event in events:
        assert validation_errors(event) == []
    assert events[0]["run"]["runId"] == events[1]["run"]["runId"]


def test_openlineage_disabled_emits_nothing(run_calendar, tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("LAKEHOUSE_HOME", str(home))
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
    result, logs = run_calendar()
    assert result.success
    assert not (home / "lineage").exists()
    warnings = [entry.user_message for entry in logs if entry.level == logging.WARNING]
    assert not [message for message in warnings if "OpenLineage" in message]
