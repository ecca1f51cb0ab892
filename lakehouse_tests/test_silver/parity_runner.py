"""Prints ``silver_cases.all_cases`` on one engine mode as JSON (one engine per process: a process that
opened a Spark Connect session cannot also open a classic one)."""

import json
import sys

from lakehouse.engine import SparkEngine
from lakehouse_tests.test_silver.silver_cases import all_cases

# Tiny inputs: one shuffle partition and no console progress keep the JVM's share of the test short.
CLASSIC_SETTINGS = {"spark.ui.showConsoleProgress": "false"}


def main(mode: str) -> None:
    spark = SparkEngine(mode=mode, shuffle_partitions=1, spark_config=CLASSIC_SETTINGS).spark_session
    print(json.dumps(all_cases(spark)))


if __name__ == "__main__":
    main(*sys.argv[1:])
