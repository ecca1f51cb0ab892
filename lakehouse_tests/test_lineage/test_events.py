"""Events built from plain step records: what is present, what is left out, and always valid."""

import json
from datetime import datetime, timedelta, timezone

from openlineage.client.serde import Serde

from lakehouse.lineage.events import (
    AssetLineage,
    CheckOutcome,
    SchemaField,
    StepOutcome,
    Written,
    asset_run_id,
    step_run_events,
)
from lakehouse.lineage.naming import DatasetName
from lakehouse_tests.test_lineage.openlineage_spec import validation_errors

STARTED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
ORDERS = AssetLineage(
    key_path=("silver", "orders"),
    output=DatasetName("s3://lake", "lake/silver/orders"),
    inputs=(
        DatasetName("s3://lake", "lake/bronze/orders"),
        DatasetName("s3://lake", "lake/bronze/order_items"),
    ),
    description="Order lines",
    schema=(SchemaField("order_id", "bigint", "The order"),),
)
QUARANTINE = AssetLineage(
    key_path=("quarantine", "orders"), output=DatasetName("file", "/lake/quarantine/orders")
)


def _step(**overrides) -> StepOutcome:
    values = dict(
        dagster_run_id="0b0c5a1e-6a39-4d0f-9f34-1a2b3c4d5e6f",
        dagster_job_name="silver_daily",
        step_key="silver__orders",
        attempt=1,
        started_at=STARTED,
        finished_at=STARTED + timedelta(seconds=3),
        succeeded=True,
    )
    values.update(overrides)
    return StepOutcome(**values)


def _json(events) -> list[dict]:
    return [json.loads(Serde.to_json(event)) for event in events]


def test_complete_carries_statistics_when_the_metadata_reports_them():
    written = Written(row_count=120, bytes_written=4096, files_written=2, version="7")
    step = _step(
        written={("silver", "orders"): written},
        checks={("silver", "orders"): (CheckOutcome("reconciles", False, "warn", "counts match"),)},
        nominal_window=(STARTED, STARTED + timedelta(days=1)),
    )
    start, complete = _json(step_run_events(step, [ORDERS], "analytics"))
    for event in (start, complete):
        assert validation_errors(event) == []
    assert (start["eventType"], complete["eventType"]) == ("START", "COMPLETE")
    assert start["eventTime"] == "2026-01-02T03:04:05+00:00"
    assert complete["eventTime"] == "2026-01-02T03:04:08+00:00"
    assert start["run"]["runId"] == complete["run"]["runId"] == asset_run_id(step, ORDERS.key_path)
    assert (complete["job"]["namespace"], complete["job"]["name"]) == ("analytics", "silver.orders")
    statistics = complete["outputs"][0]["outputFacets"]["outputStatistics"]
    assert (statistics["rowCount"], statistics["size"], statistics["fileCount"]) == (120, 4096, 2)
    (assertion,) = complete["outputs"][0]["facets"]["dataQualityAssertions"]["assertions"]
    assert (assertion["assertion"], assertion["success"]) == ("reconciles", False)
    assert assertion["severity"] == "warn"
    assert complete["run"]["facets"]["nominalTime"]["nominalEndTime"] == "2026-01-03T03:04:05+00:00"


def test_statistics_absent_from_the_metadata_are_left_out():
    step = _step(written={("silver", "orders"): Written(row_count=5)})
    _, complete = _json(step_run_events(step, [ORDERS], "lakehouse"))
    statistics = complete["outputs"][0]["outputFacets"]["outputStatistics"]
    assert statistics["rowCount"] == 5 and "size" not in statistics
    step = _step(written={("silver", "orders"): Written()})
    _, complete = _json(step_run_events(step, [ORDERS], "lakehouse"))
    assert "outputStatistics" not in complete["outputs"][0]["outputFacets"]
    assert validation_errors(complete) == []


def test_a_successful_step_emits_nothing_for_an_asset_it_did_not_materialize():
    step = _step(written={("silver", "orders"): Written(row_count=1)})
    events = _json(step_run_events(step, [ORDERS, QUARANTINE], "lakehouse"))
    assert {e["job"]["name"] for e in events} == {"silver.orders"}


def test_a_failed_step_fails_every_asset_with_the_error():
    step = _step(succeeded=False, error_message="ValueError: bad", error_stack="Traceback ...")
    events = _json(step_run_events(step, [ORDERS, QUARANTINE], "lakehouse"))
    assert [(e["job"]["name"], e["eventType"]) for e in events] == [
        ("silver.orders", "START"),
        ("silver.orders", "FAIL"),
        ("quarantine.orders", "START"),
        ("quarantine.orders", "FAIL"),
    ]
    for event in events:
        assert validation_errors(event) == []
        if event["eventType"] == "FAIL":
            assert event["run"]["facets"]["errorMessage"]["message"] == "ValueError: bad"
        else:
            assert "errorMessage" not in event["run"]["facets"]


def test_run_ids_differ_per_asset_and_per_attempt():
    first, retry = _step(), _step(attempt=2, started_at=STARTED + timedelta(minutes=1))
    ids = {
        asset_run_id(first, ORDERS.key_path),
        asset_run_id(first, QUARANTINE.key_path),
        asset_run_id(retry, ORDERS.key_path),
    }
    assert len(ids) == 3
    assert asset_run_id(first, ORDERS.key_path) == asset_run_id(_step(), ORDERS.key_path)
