"""align_to_schema + validate_and_quarantine give identical lanes on embedded Sail and classic Apache
Spark (the cluster path)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from lakehouse_tests.test_contracts.contract_parity import lanes


def _reason_ids(lane: dict) -> list[list[str]]:
    return [[reason[0] for reason in row[2]] for row in lane["quarantine"]]


@pytest.fixture(scope="module")
def embedded_lanes(spark) -> dict:
    return lanes(spark)


def test_embedded_sail_lanes_are_right(embedded_lanes):
    """Checked on its own, so parity never compares two wrong answers."""
    customers, orders = embedded_lanes["customers"], embedded_lanes["orders"]
    assert customers["valid_columns"][-2:] == ["referrer", "_batch_id"]
    assert [row[0] for row in customers["valid"]] == ["1", "1"]
    assert sorted(_reason_ids(customers)) == [
        ["created_at_type", "email_format", "country_code_format", "segment_allowed"],
        ["created_not_after_update"],
        ["customer_id_not_null", "first_name_not_null", "last_name_not_null", "email_not_null", "phone_not_null",
         "country_code_not_null", "city_not_null", "segment_not_null", "loyalty_tier_not_null", "created_at_not_null",
         "updated_at_not_null", "is_deleted_not_null"],
        ["customer_version_unique"],
        ["customer_version_unique"],
    ]  # fmt: skip
    assert [row[0] for row in orders["valid"]] == ["10"]
    assert sorted(_reason_ids(orders)) == [
        ["order_customer_exists", "channel_allowed", "currency_format", "total_amount_not_negative"],
        ["order_id_not_null", "customer_id_not_null", "order_ts_not_null", "status_not_null", "channel_not_null",
         "currency_not_null", "total_amount_not_null", "updated_at_not_null"],
        ["order_ts_not_after_update"],
    ]  # fmt: skip


@pytest.mark.jvm
def test_classic_apache_spark_gives_the_same_lanes(embedded_lanes):
    # pyspark marks a process that opened a Connect session in its environment; a child must not inherit it.
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE")}
    command = [sys.executable, "-m", "lakehouse_tests.test_contracts.contract_parity_runner", "classic"]
    completed = subprocess.run(command, check=False, capture_output=True, text=True, timeout=300, env=env)
    assert completed.returncode == 0, completed.stderr[-3000:]
    classic = json.loads(completed.stdout.strip().splitlines()[-1])
    assert classic == json.loads(json.dumps(embedded_lanes))
