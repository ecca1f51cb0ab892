"""One non-trivial transform gives identical results on embedded Sail, classic Apache Spark, Apache
Spark's own Spark Connect server (remote mode), and Sail in cluster mode."""

import json
import os
import subprocess
import sys

import pytest

from lakehouse_tests.fixtures.spark_servers import apache_spark_connect_server, sail_local_cluster_server
from lakehouse_tests.test_engine.parity_transform import result_rows

EXPECTED_MONTHS = {("1", "2026-01"), ("1", "2026-02"), ("1", "2026-03"), ("2", "2026-02"), ("3", "2026-03")}


def _rows_in_subprocess(mode: str, url: str | None = None) -> list[list[str]]:
    args = [sys.executable, "-m", "lakehouse_tests.test_engine.parity_runner", mode] + ([url] if url else [])
    # pyspark marks a process that opened a Connect session in its environment; a child must not inherit it.
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE")}
    completed = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def embedded_rows(spark) -> list[list[str]]:
    rows = result_rows(spark)
    assert {(r[0], r[2]) for r in rows} == EXPECTED_MONTHS
    customer_1_feb = next(r for r in rows if r[0] == "1" and r[2] == "2026-02")
    # one order of 20.25, running total 10.50 + 20.25, 2 days after the first order (01-30)
    assert customer_1_feb == ["1", "consumer", "2026-02", "1", "20.25", "30.75", "2", "2"]
    return rows


@pytest.mark.jvm
def test_classic_apache_spark_matches_embedded_sail(embedded_rows):
    assert _rows_in_subprocess("classic") == embedded_rows


@pytest.mark.jvm
def test_apache_spark_connect_server_matches_embedded_sail(embedded_rows, tmp_path):
    with apache_spark_connect_server(tmp_path) as url:
        assert _rows_in_subprocess("remote", url) == embedded_rows


def test_sail_cluster_mode_matches_embedded_sail(embedded_rows, tmp_path):
    with sail_local_cluster_server(tmp_path) as url:
        assert _rows_in_subprocess("remote", url) == embedded_rows
