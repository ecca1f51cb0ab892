"""The UI's flow through Dagster's GraphQL API, the one the UI itself calls: the asset graph has every layer,
a run materializes one partition of bronze and silver customers, and every check of those assets passes."""

import pytest

from lakehouse_tests.test_ui.webserver import (
    ASSET_JOB_NAME,
    LOCATION_NAME,
    REPOSITORY_NAME,
    asset_nodes,
    check_executions,
    run_failures,
    wait_for_run,
)

pytestmark = pytest.mark.slow

LAYERS = ("bronze", "quarantine", "silver", "gold")
PARTITION = "2026-01-01"
# bronze/customers cannot be materialized without quarantine/customers (one multi-asset writes both)
SELECTION = ("bronze/customers", "quarantine/customers", "silver/customers")

LAUNCH_RUN = """
mutation LaunchRun($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on PythonError { message stack }
    ... on Error { message }
  }
}
"""


@pytest.fixture(scope="module")
def assets(dagster_webserver):
    return asset_nodes(dagster_webserver)


@pytest.fixture(scope="module")
def materialized_run(dagster_webserver, assets) -> dict:
    """One run launched as the UI's Materialize button does: the asset selection with its checks and the
    partition tag, on the implicit asset job; finished."""
    selected = [assets[path] for path in SELECTION]
    params = {
        "selector": {
            "repositoryLocationName": LOCATION_NAME,
            "repositoryName": REPOSITORY_NAME,
            "jobName": ASSET_JOB_NAME,
            "assetSelection": [{"path": list(asset.key)} for asset in selected],
            "assetCheckSelection": [
                {"assetKey": {"path": list(asset.key)}, "name": check}
                for asset in selected
                for check in asset.checks
            ],
        },
        "mode": "default",
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": PARTITION}]},
    }
    launched = dagster_webserver.graphql(LAUNCH_RUN, {"executionParams": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    run = wait_for_run(dagster_webserver, run_id)
    return {**run, "runId": run_id}


def test_every_layer_is_a_group_of_the_asset_graph(assets):
    groups = {asset.group for asset in assets.values()}
    assert set(LAYERS) <= groups
    for asset in assets.values():
        assert asset.key[0] == asset.group, f"{asset.path} is in group {asset.group}"
    # every bronze table has its quarantine lane
    bronze = {asset.key[1] for asset in assets.values() if asset.group == "bronze"}
    assert bronze and {a.key[1] for a in assets.values() if a.group == "quarantine"} == bronze


def test_the_selected_assets_are_partitioned_and_checked(assets):
    assert all(path in assets for path in SELECTION)
    assert assets["bronze/customers"].checks, "bronze/customers declares no checks"
    assert all(assets[path].partitioned for path in SELECTION)


def test_a_partition_run_launched_through_the_api_succeeds(dagster_webserver, materialized_run):
    run_id = materialized_run["runId"]
    assert materialized_run["status"] == "SUCCESS", run_failures(dagster_webserver, run_id)
    tags = {tag["key"]: tag["value"] for tag in materialized_run["tags"]}
    assert tags["dagster/partition"] == PARTITION
    assert sorted("/".join(key["path"]) for key in materialized_run["assetSelection"]) == sorted(SELECTION)


def test_every_check_of_the_materialized_assets_passed(dagster_webserver, assets, materialized_run):
    run_id = materialized_run["runId"]
    expected = sorted((path, check) for path in SELECTION for check in assets[path].checks)
    selected = sorted(
        ("/".join(c["assetKey"]["path"]), c["name"]) for c in materialized_run["assetCheckSelection"] or []
    )
    assert selected == expected
    results = {}
    for path, check in expected:
        evaluated = [
            e for e in check_executions(dagster_webserver, assets[path], check, run_id) if e["evaluation"]
        ]
        assert len(evaluated) == 1, f"{path}:{check} evaluated {len(evaluated)} times in run {run_id}"
        results[(path, check)] = (evaluated[0]["status"], evaluated[0]["evaluation"]["success"])
    assert results == {key: ("SUCCEEDED", True) for key in expected}


def test_each_check_has_one_execution_per_run(dagster_webserver, assets, materialized_run):
    run_id = materialized_run["runId"]
    recorded = {}
    for path in SELECTION:
        for check in assets[path].checks:
            executions = check_executions(dagster_webserver, assets[path], check, run_id)
            recorded[(path, check)] = [e["status"] for e in executions]
    assert recorded == {key: ["SUCCEEDED"] for key in recorded}


FRESHNESS = """
query Freshness {
  assetNodes {
    assetKey { path }
    internalFreshnessPolicy {
      __typename
      ... on CronFreshnessPolicy { deadlineCron lowerBoundDeltaSeconds timezone }
    }
    freshnessStatusInfo { freshnessStatus }
  }
}
"""


def test_gold_assets_show_their_service_level(dagster_webserver):
    """What the asset catalog shows as each gold asset's freshness: due by 06:00 UTC, and a state."""
    nodes = {"/".join(n["assetKey"]["path"]): n for n in dagster_webserver.graphql(FRESHNESS)["assetNodes"]}
    gold = {path: node for path, node in nodes.items() if path.startswith("gold/")}
    assert len(gold) == 5
    for path, node in nodes.items():
        policy = node["internalFreshnessPolicy"]
        if path not in gold:
            assert policy is None, path
            continue
        assert policy == {
            "__typename": "CronFreshnessPolicy",
            "deadlineCron": "0 6 * * *",
            "lowerBoundDeltaSeconds": 6 * 3600,
            "timezone": "UTC",
        }, path
        # never materialized on this server, so the daemon has no verdict yet
        assert node["freshnessStatusInfo"]["freshnessStatus"] in ("UNKNOWN", "PASS", "WARN", "FAIL"), path
