"""Lineage of real materializations: bronze customers (from Snowflake) → silver customers → gold
dim_customer, run as a job of the definitions on the local services and a temporary lake, every event
written by the file transport and validated against the OpenLineage JSON Schemas."""

import json
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import dagster as dg
import pytest
from deltalake import DeltaTable

from lakehouse.bronze.checks import BRONZE_CHECKS
from lakehouse.contracts import load_contracts
from lakehouse.lineage import with_lineage
from lakehouse.partitions import daily_partitions
from lakehouse_tests.test_lineage.openlineage_spec import validation_errors
from lakehouse_tests.test_lineage.support import lakehouse_assets, lakehouse_resources

DAY = "2026-01-01"
JOB = "lineage_customers"
PROBE_KEY = dg.AssetKey(["gold", "lineage_probe"])
SELECTION = [
    dg.AssetKey(["bronze", "customers"]),
    dg.AssetKey(["quarantine", "customers"]),
    dg.AssetKey(["silver", "customers"]),
    dg.AssetKey(["gold", "dim_customer"]),
    PROBE_KEY,
]


@dg.asset(key=PROBE_KEY, deps=[dg.AssetKey(["silver", "customers"])], partitions_def=daily_partitions())
def lineage_probe() -> None:
    raise RuntimeError("the probe fails on purpose")


@dg.asset_check(asset=dg.AssetKey(["silver", "customers"]))
def separate_step_check() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=False, severity=dg.AssetCheckSeverity.WARN, description="A check in a step of its own."
    )


@pytest.fixture(scope="module")
def customers_run(engine, local_services, generated_sources, tmp_path_factory, isolated_module_environment):
    tmp = tmp_path_factory.mktemp("lineage")
    lake_root = str(tmp / "lake")
    events_file = tmp / "events.jsonl"
    config = tmp / "openlineage.yml"
    config.write_text(f"transport:\n  type: file\n  log_file_path: {events_file}\n  append: true\n")
    isolated_module_environment.setenv("OPENLINEAGE_CONFIG", str(config))
    defs = dg.Definitions(
        assets=[*lakehouse_assets(), *with_lineage([lineage_probe])],
        asset_checks=with_lineage([separate_step_check]),
        jobs=[dg.define_asset_job(JOB, selection=SELECTION)],
        resources=lakehouse_resources(engine, local_services, lake_root),
    )
    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def(JOB).execute_in_process(
            partition_key=DAY, instance=instance, raise_on_error=False
        )
        materialized_at = {
            entry.dagster_event.asset_key.to_user_string().replace("/", "."): entry.timestamp
            for entry in instance.all_logs(result.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
        }
    events = [json.loads(line) for line in events_file.read_text().splitlines() if line.strip()]
    other = [e for e in events if e["eventType"] == "OTHER"]
    return result, [e for e in events if e["eventType"] != "OTHER"], Path(lake_root), materialized_at, other


@pytest.fixture(scope="module")
def isolated_module_environment():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def _by_job(events) -> dict[str, list[dict]]:
    grouped = defaultdict(list)
    for event in events:
        grouped[event["job"]["name"]].append(event)
    return grouped


def test_every_event_is_valid_openlineage(customers_run):
    _, events, _, _, _ = customers_run
    assert len(events) == 10
    for event in events:
        assert validation_errors(event) == [], event["job"]["name"]
        assert datetime.fromisoformat(event["eventTime"]).utcoffset() is not None


def test_start_then_complete_or_fail_per_materialization(customers_run):
    result, events, _, _, _ = customers_run
    assert not result.success  # the probe fails; everything upstream of it materializes
    by_run = defaultdict(list)
    for event in events:
        by_run[event["run"]["runId"]].append(event)
    assert len(by_run) == 5
    outcome = {}
    for run_events in by_run.values():
        assert [e["eventType"] for e in run_events][0] == "START"
        start, end = run_events
        assert start["job"] == end["job"]
        assert datetime.fromisoformat(start["eventTime"]) <= datetime.fromisoformat(end["eventTime"])
        outcome[end["job"]["name"]] = end["eventType"]
    assert outcome == {
        "bronze.customers": "COMPLETE",
        "quarantine.customers": "COMPLETE",
        "silver.customers": "COMPLETE",
        "gold.dim_customer": "COMPLETE",
        "gold.lineage_probe": "FAIL",
    }
    assert {e["job"]["namespace"] for e in events} == {"lakehouse"}


def test_event_times_come_from_the_dagster_events(customers_run):
    _, events, _, materialized_at, _ = customers_run
    assert len(materialized_at) == 4
    for event in events:
        at = datetime.fromisoformat(event["eventTime"]).timestamp()
        if event["eventType"] == "START" and event["job"]["name"] in materialized_at:
            assert at <= materialized_at[event["job"]["name"]]
        if event["eventType"] == "COMPLETE":
            assert at >= materialized_at[event["job"]["name"]]


def test_parent_is_the_dagster_run(customers_run):
    result, events, _, _, _ = customers_run
    for event in events:
        parent = event["run"]["facets"]["parent"]
        assert parent["run"]["runId"] == result.run_id
        assert (parent["job"]["namespace"], parent["job"]["name"]) == ("lakehouse", JOB)
        assert parent["root"]["run"]["runId"] == result.run_id
        assert event["run"]["facets"]["nominalTime"]["nominalStartTime"].startswith(f"{DAY}T00:00:00")
        assert event["job"]["facets"]["jobType"]["integration"] == "DAGSTER"


def test_datasets_are_named_by_the_naming_spec(customers_run, local_services):
    _, events, lake, _, _ = customers_run
    jobs = _by_job(events)

    def names(event, side):
        return [(d["namespace"], d["name"]) for d in event[side]]

    def table(layer, name):
        return ("file", str((lake / layer / name).resolve()))

    for event in jobs["bronze.customers"]:
        assert names(event, "inputs") == [("snowflake://fakesnow", "RETAIL.CRM.CUSTOMERS")]
        assert names(event, "outputs") == [table("bronze", "customers")]
    for event in jobs["quarantine.customers"]:
        assert names(event, "inputs") == [("snowflake://fakesnow", "RETAIL.CRM.CUSTOMERS")]
        assert names(event, "outputs") == [table("quarantine", "customers")]
    for event in jobs["silver.customers"]:
        assert names(event, "inputs") == [table("bronze", "customers")]
        assert names(event, "outputs") == [table("silver", "customers")]
    for event in jobs["gold.dim_customer"]:
        assert names(event, "inputs") == [table("silver", "customers")]
        assert names(event, "outputs") == [table("gold", "dim_customer")]


def _terminal(events, job):
    return next(e for e in _by_job(events)[job] if e["eventType"] != "START")


def test_schema_and_output_statistics(customers_run):
    result, events, lake, _, _ = customers_run
    contracts = load_contracts()
    metadata = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    for layer, table in (("silver", "customers"), ("gold", "dim_customer"), ("bronze", "customers")):
        output = _terminal(events, f"{layer}.{table}")["outputs"][0]
        fields = [f["name"] for f in output["facets"]["schema"]["fields"]]
        declared = contracts[f"{layer}.{table}"].column_names
        assert tuple(fields[: len(declared)]) == declared
        materialized = metadata[f"{layer}/{table}"]
        statistics = output["outputFacets"]["outputStatistics"]
        assert statistics["rowCount"] == materialized["dagster/row_count"].value > 0
        if "bytes_written" in materialized:
            assert statistics["size"] == materialized["bytes_written"].value
        else:
            assert "size" not in statistics
        assert output["facets"]["version"]["datasetVersion"] == str(materialized["delta_version"].value)
    silver_rows = DeltaTable(str(lake / "silver" / "customers")).to_pyarrow_table().num_rows
    silver = _terminal(events, "silver.customers")["outputs"][0]
    assert silver["outputFacets"]["outputStatistics"]["rowCount"] == silver_rows


def test_column_lineage_of_silver_and_gold(customers_run):
    _, events, lake, _, _ = customers_run
    silver = _terminal(events, "silver.customers")["outputs"][0]["facets"]["columnLineage"]["fields"]
    contract = load_contracts()["silver.customers"]
    assert set(silver) == set(contract.column_names)
    (email,) = silver["email_hash"]["inputFields"]
    assert (email["namespace"], email["name"], email["field"]) == (
        "file",
        str((lake / "bronze" / "customers").resolve()),
        "email",
    )
    assert email["transformations"] == [{"type": "DIRECT", "subtype": "TRANSFORMATION", "masking": True}]
    gold = _terminal(events, "gold.dim_customer")["outputs"][0]["facets"]["columnLineage"]["fields"]
    assert {f["field"] for f in gold["row_hash"]["inputFields"]} == {
        "email_hash", "country_code", "city", "segment", "loyalty_tier"
    }
    assert "columnLineage" not in _terminal(events, "bronze.customers")["outputs"][0]["facets"]


def test_data_quality_assertions_from_the_checks(customers_run):
    result, events, _, _, _ = customers_run
    evaluations = defaultdict(dict)
    for evaluation in result.get_asset_check_evaluations():
        job = evaluation.asset_key.to_user_string().replace("/", ".")
        evaluations[job][evaluation.check_name] = evaluation.passed

    def assertions(job):
        return _terminal(events, job)["outputs"][0]["facets"]["dataQualityAssertions"]["assertions"]

    bronze = assertions("bronze.customers")
    assert {a["assertion"]: a["success"] for a in bronze} == evaluations["bronze.customers"]
    assert set(evaluations["bronze.customers"]) == set(BRONZE_CHECKS)
    assert {a["severity"] for a in bronze} <= {"error", "warn"}
    gold = assertions("gold.dim_customer")
    assert {a["assertion"]: a["success"] for a in gold} == evaluations["gold.dim_customer"]
    assert len(gold) == 4
    for event in events:
        if event["eventType"] == "START":
            assert "dataQualityAssertions" not in event["outputs"][0]["facets"]
            assert event["outputs"][0].get("outputFacets", {}) == {}


def test_a_failing_asset_gets_a_fail_event_with_its_error(customers_run):
    _, events, lake, _, _ = customers_run
    fail = _terminal(events, "gold.lineage_probe")
    assert fail["eventType"] == "FAIL"
    error = fail["run"]["facets"]["errorMessage"]
    assert "the probe fails on purpose" in error["message"]
    assert error["programmingLanguage"] == "python"
    assert "RuntimeError" in error["stackTrace"]
    silver = ("file", str((lake / "silver" / "customers").resolve()))
    assert [(d["namespace"], d["name"]) for d in fail["inputs"]] == [silver]
    assert "outputStatistics" not in fail["outputs"][0].get("outputFacets", {})


def test_checks_in_steps_of_their_own_are_added_to_the_materialization_run(customers_run):
    result, events, _, _, other = customers_run
    (event,) = other
    assert validation_errors(event) == []
    silver = _terminal(events, "silver.customers")
    assert event["run"]["runId"] == silver["run"]["runId"]
    assert event["job"]["name"] == "silver.customers"
    assert event["run"]["facets"]["parent"]["run"]["runId"] == result.run_id
    assert datetime.fromisoformat(event["eventTime"]) >= datetime.fromisoformat(silver["eventTime"])
    assert [(d["namespace"], d["name"]) for d in event["outputs"]] == [
        (d["namespace"], d["name"]) for d in silver["outputs"]
    ]
    (assertion,) = event["outputs"][0]["facets"]["dataQualityAssertions"]["assertions"]
    assert assertion == {
        "assertion": "separate_step_check",
        "name": "separate_step_check",
        "success": False,
        "severity": "warn",
        "description": "A check in a step of its own.",
        "params": {},
    }
