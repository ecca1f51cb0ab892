"""Runs the parity transform on one engine mode and prints its rows as JSON (one engine per process:
a process that has opened a Spark Connect session cannot also open a classic one)."""

import json
import sys

from lakehouse.engine import SparkEngine
from lakehouse_tests.test_engine.parity_transform import result_rows


def main(mode: str, url: str | None = None) -> None:
    spark = SparkEngine(mode=mode, remote_url=url, shuffle_partitions=2).spark_session
    print(json.dumps(result_rows(spark)))


if __name__ == "__main__":
    main(*sys.argv[1:])
