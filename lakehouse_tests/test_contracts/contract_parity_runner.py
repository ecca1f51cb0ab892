"""Prints ``contract_parity.lanes`` on one engine mode as JSON (one engine per process: a process that
opened a Spark Connect session cannot also open a classic one)."""

import json
import sys

from lakehouse.engine import SparkEngine
from lakehouse_tests.test_contracts.contract_parity import lanes


def main(mode: str) -> None:
    spark = SparkEngine(mode=mode, shuffle_partitions=2).spark_session
    print(json.dumps(lanes(spark)))


if __name__ == "__main__":
    main(*sys.argv[1:])
