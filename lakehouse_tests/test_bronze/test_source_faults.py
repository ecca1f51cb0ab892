"""An unreachable source is retried with back-off, then fails with a clear message and writes nothing."""

import dataclasses

from dagster_aws.redshift import RedshiftClientResource
from dagster_snowflake import SnowflakeResource
from deltalake import DeltaTable

from lakehouse.bronze import build_bronze_asset
from lakehouse.contracts import ForeignKeyRule, contract_for_source
from lakehouse_tests.test_bronze.support import FAST_RETRIES, closed_port, materialize_bronze
from lakehouse_tests.support import step_failure_message

def test_unreachable_snowflake_is_retried_then_fails_cleanly(bronze_resources, lake_root):
    resources = dict(bronze_resources)
    resources["snowflake"] = SnowflakeResource(
        account="fakesnow",
        user="fake",
        password="snow",
        database="RETAIL",
        login_timeout=2,
        additional_snowflake_connection_args={"host": "127.0.0.1", "port": closed_port(), "protocol": "http"},
    )
    asset = build_bronze_asset(contract_for_source("RETAIL.CATALOG.PRODUCTS"))
    result = materialize_bronze(resources, partition="2026-01-01", assets=[asset], config=FAST_RETRIES, raise_on_error=False)
    assert not result.success
    assert "snowflake RETAIL.CATALOG.PRODUCTS unreachable after 2 attempts" in step_failure_message(result)
    assert not DeltaTable.is_deltatable(f"{lake_root}/bronze/products")
    assert not DeltaTable.is_deltatable(f"{lake_root}/quarantine/products")


def test_unreachable_redshift_is_retried_then_fails_cleanly(bronze_resources, lake_root):
    resources = dict(bronze_resources)
    resources["redshift"] = RedshiftClientResource(
        host="127.0.0.1", port=closed_port(), user="lakehouse", password="lakehouse", database="analytics",
        connect_timeout=2, sslmode="disable",
    )
    contract = contract_for_source("analytics.web.behavior_events")
    contract = dataclasses.replace(contract, rules=tuple(r for r in contract.rules if not isinstance(r, ForeignKeyRule)))
    result = materialize_bronze(
        resources, partition="2026-01-01", assets=[build_bronze_asset(contract)], config=FAST_RETRIES, raise_on_error=False
    )
    assert not result.success
    assert "redshift analytics.web.behavior_events unreachable after 2 attempts" in step_failure_message(result)
    assert not DeltaTable.is_deltatable(f"{lake_root}/bronze/behavior_events")
