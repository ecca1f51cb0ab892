"""The non-trivial silver transforms (latest version per day, orders with lines and lookback,
sessionization, customer activity) give identical results on embedded Sail and on classic Apache Spark,
the cluster path. The embedded answers are checked on their own in ``test_transforms``."""

import json
import os
import subprocess
import sys

import pytest

from lakehouse_tests.test_silver.silver_cases import PARITY_CASES, all_cases


@pytest.mark.jvm
def test_classic_apache_spark_gives_the_same_silver_rows(spark):
    embedded = all_cases(spark)
    assert set(embedded) == set(PARITY_CASES) and all(case["rows"] for case in embedded.values())
    # pyspark marks a process that opened a Connect session in its environment; a child must not inherit it.
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE")}
    command = [sys.executable, "-m", "lakehouse_tests.test_silver.parity_runner", "classic"]
    completed = subprocess.run(command, check=False, capture_output=True, text=True, timeout=300, env=env)
    assert completed.returncode == 0, completed.stderr[-3000:]
    classic = json.loads(completed.stdout.strip().splitlines()[-1])
    for name in PARITY_CASES:
        assert classic[name] == embedded[name], f"{name}: classic Apache Spark differs from embedded Sail"
