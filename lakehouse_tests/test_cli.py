"""The `lakehouse` command as a user runs it, in its own LAKEHOUSE_HOME."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lakehouse_tests.fixtures.services import scratch_home

LAKEHOUSE = str(Path(sys.executable).parent / "lakehouse")


def _run(home: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE")}
    environment.update({"LAKEHOUSE_HOME": str(home), "LAKEHOUSE_ENV": "local", "COLUMNS": "200"})
    environment.update(env or {})
    return subprocess.run([LAKEHOUSE, *args], capture_output=True, text=True, env=environment, timeout=600)


@pytest.fixture(scope="module")
def cli_home():
    home = scratch_home("lakehouse-cli-home-")
    yield home
    _run(home, "services", "down")
    shutil.rmtree(home, ignore_errors=True)


def test_services_up_status_down(cli_home):
    up = _run(cli_home, "services", "up")
    assert up.returncode == 0, up.stderr
    status = _run(cli_home, "services", "status")
    assert status.stdout.count("running") == 2, status.stdout
    again = _run(cli_home, "services", "up")
    assert "reus" in again.stdout.lower() or again.stdout.count("running") >= 2
    down = _run(cli_home, "services", "down")
    assert down.returncode == 0, down.stderr
    assert "running" not in _run(cli_home, "services", "status").stdout


def test_generate_loads_both_sources_with_progress(cli_home):
    result = _run(cli_home, "generate", "--scale-factor", "0.002", "--days", "2", "--dirt", "0.02")
    assert result.returncode == 0, result.stderr
    assert "loading Snowflake tables into fakesnow" in result.stdout
    assert "loading Redshift events into PostgreSQL" in result.stdout
    assert "injected defects listed in the manifest" in result.stdout
    assert (cli_home / "generated").is_dir()


TABLES = [
    *(f"{lane}/{table}" for lane in ("bronze", "quarantine")
      for table in ("behavior_events", "customers", "order_items", "orders", "products")),
    *(f"silver/{table}" for table in ("behavior_events", "customer_activity", "customers", "orders", "products")),
    *(f"gold/{table}" for table in ("dim_customer", "dim_date", "dim_product", "fact_customer_activity", "fact_orders")),
]


def test_demo_runs_end_to_end(cli_home):
    """In an 80-column terminal, with nothing from the libraries on stderr: no Python warning from a run,
    no log line from the engine when it stops at exit."""
    result = _run(cli_home, "demo", "--scale-factor", "0.002", "--days", "2", "--dirt", "0.02", env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.count("52 of 52 checks passed") == 2, result.stdout  # every check of the daily job, each day
    assert "Warning" not in result.stderr and " WARN " not in result.stderr, result.stderr
    assert result.stderr.strip() == "", result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, [line for line in lines if len(line) > 80]
    for name in TABLES:  # each table's row, its name whole, one count per day
        rows = [line.split() for line in lines if line.split()[:1] == [name]]
        assert len(rows) == 1 and len(rows[0]) == 3, (name, result.stdout)


def test_demo_runs_log_json_lines_and_lineage_to_the_home(cli_home):
    """The local instance the demo records its runs in sends every run's log to the JSON-lines file, and
    every materialization emits OpenLineage events to the default file transport."""
    log = [json.loads(line) for line in (cli_home / "logs" / "lakehouse.jsonl").read_text().splitlines()]
    materializations = [e for e in log if e["event_type"] == "ASSET_MATERIALIZATION"]
    assert {e["partition"] for e in materializations} == {"2026-01-01", "2026-01-02"}
    assert len({e["run_id"] for e in materializations}) == 2
    assert all(e["job"] == "lakehouse_daily_job" and len(e["asset_keys"]) == 1 for e in materializations)
    assert {key for e in materializations for key in e["asset_keys"]} >= {"bronze/orders", "gold/dim_customer"}
    events = [json.loads(line) for line in (cli_home / "lineage" / "openlineage.jsonl").read_text().splitlines()]
    completed = {e["job"]["name"] for e in events if e["eventType"] == "COMPLETE"}
    assert {"bronze.orders", "silver.orders", "gold.fact_orders"} <= completed


def test_another_generation_is_refused_unless_replaced(cli_home):
    refused = _run(cli_home, "generate", "--scale-factor", "0.002", "--days", "2", "--seed", "7")
    assert refused.returncode == 1
    assert "another generation of data; pass --replace" in refused.stderr, refused.stderr
    result = _run(cli_home, "demo", "--scale-factor", "0.002", "--days", "2", "--seed", "7", "--replace")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_bad_option_is_one_clear_line_and_non_zero(cli_home):
    result = _run(cli_home, "generate", "--days", "0")
    assert result.returncode != 0
    assert "Invalid value for '--days'" in result.stderr
    assert "Traceback" not in result.stderr


def test_runtime_error_is_one_line_naming_the_cause(cli_home):
    result = _run(cli_home, "demo", env={"LAKEHOUSE_ENV": "staging"})
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "LAKEHOUSE_ENV='staging' is not one of: local, prod" in lines[0]


def test_dev_serves_the_definitions_in_the_dagster_ui(cli_home):
    import json
    import signal
    import socket
    import time
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    environment = {k: v for k, v in os.environ.items() if k not in ("SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE")}
    environment.update({"LAKEHOUSE_HOME": str(cli_home), "LAKEHOUSE_ENV": "local"})
    server = subprocess.Popen(
        [LAKEHOUSE, "dev", "--port", str(port), "--host", "127.0.0.1"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    query = json.dumps({"query": "{ assetNodes { assetKey { path } } }"}).encode()
    try:
        deadline, keys = time.monotonic() + 180, None
        while time.monotonic() < deadline and keys is None:
            assert server.poll() is None, "lakehouse dev exited"
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/graphql", data=query, headers={"Content-Type": "application/json"}
                )
                nodes = json.load(urllib.request.urlopen(request, timeout=5))["data"]["assetNodes"]
                keys = {"/".join(node["assetKey"]["path"]) for node in nodes} or None
            except OSError:
                time.sleep(0.5)
        assert keys and {"bronze/orders", "quarantine/orders"} <= keys
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


def test_sql_queries_the_gold_star_after_the_demo(cli_home):
    query = (
        "SELECT c.segment, COUNT(*) AS lines, SUM(f.line_amount) AS revenue FROM gold_fact_orders f "
        "JOIN gold_dim_customer c ON f.customer_key = c.customer_key GROUP BY c.segment ORDER BY c.segment"
    )
    result = _run(cli_home, "sql", query)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "segment" in result.stdout and "revenue" in result.stdout
    assert "consumer" in result.stdout


def test_sql_on_an_empty_lake_is_a_clear_error(tmp_path):
    result = _run(tmp_path, "sql", "SELECT 1")
    assert result.returncode == 1
    assert "the lake holds no tables yet" in result.stderr


def test_table_history_names_the_partition_and_run_of_each_version(cli_home):
    result = _run(cli_home, "table", "history", "gold/dim_customer")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "MERGE" in result.stdout
    assert "2026-01-01" in result.stdout and "2026-01-02" in result.stdout  # written by the demo's runs
    listing = _run(cli_home, "table", "list")
    assert listing.returncode == 0 and "gold/fact_orders" in listing.stdout and "quarantine/orders" in listing.stdout


def test_backfill_of_a_selection_shows_progress_per_day(cli_home):
    result = _run(cli_home, "backfill", "--start", "2026-01-02", "--end", "2026-01-02", "--select", "gold/fact_orders")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "lakehouse_daily_job for 2026-01-02 (1 asset(s), day 1 of 1)" in result.stdout
    assert "2026-01-02 succeeded: 1 asset(s) materialized" in result.stdout
    assert "1 of 1 day(s) succeeded" in result.stdout


def test_maintain_compacts_z_orders_the_facts_and_refuses_a_short_retention(cli_home):
    result = _run(cli_home, "maintain", "--table", "gold/fact_orders", "--table", "silver/orders")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "gold/fact_orders: z_order" in result.stdout and "silver/orders: compact" in result.stdout
    refused = _run(cli_home, "maintain", "--retention-hours", "24")
    assert refused.returncode == 2
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "under the minimum of 168 h (7 days)" in lines[0], refused.stderr


def test_operations_errors_are_one_line(cli_home):
    for args, message in (
        (("table", "restore", "gold/dim_customer", "--version", "999"), "there is no version 999"),
        (("table", "history", "gold/nope"), "no Delta table gold/nope"),
        (("table", "history", "nope"), "is not a table key <layer>/<table>"),
        (("backfill", "--start", "2026-01-03", "--end", "2026-01-01"), "ends (2026-01-01) before it starts"),
        (("backfill", "--start", "2026-01-01", "--end", "2026-01-01", "--select", "gold/nope"), "no asset gold/nope"),
    ):
        result = _run(cli_home, *args)
        assert result.returncode != 0, args
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and message in lines[0], (args, result.stderr)


def test_quarantine_counts_per_table_and_day(cli_home):
    result = _run(cli_home, "quarantine", "counts", "orders")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2026-01-01" in result.stdout and "row(s) quarantined in total" in result.stdout


def test_services_status_lists_the_sail_cluster_stopped_until_started_with_cluster(tmp_path):
    result = _run(tmp_path, "services", "status")
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if " spark " in line)
    assert "sail" in row and "stopped" in row, row
    assert "--cluster" in _run(tmp_path, "services", "up", "--help").stdout


@pytest.mark.parametrize("command", ["demo", "dev"])
def test_demo_and_dev_choose_the_embedded_engine_or_the_local_cluster(tmp_path, command):
    result = _run(tmp_path, command, "--help")
    assert result.returncode == 0, result.stderr
    assert "--engine [embedded|cluster]" in result.stdout, result.stdout
