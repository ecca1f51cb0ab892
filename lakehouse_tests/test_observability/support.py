"""Reading what materializations report, and what a Delta table's commits added independently of
``Lake.bytes_added`` (which compares delta-rs snapshots): each commit's own log entry,
through delta-rs's history, and the raw ``_delta_log`` JSON of a local table."""

import json
from pathlib import Path
from typing import Any

import dagster as dg
from deltalake import DeltaTable


def materialization_metadata(result: dg.ExecuteInProcessResult, node: str) -> list[dict[str, Any]]:
    """The raw metadata values of each materialization the step of ``node`` reported, in order."""
    return [
        {key: value.value for key, value in materialization.metadata.items()}
        for materialization in result.asset_materializations_for_node(node)
    ]


def committed_bytes(uri: str, after_version: int | None, up_to_version: int) -> int:
    """Sum of ``numAddedBytes`` of the commits after ``after_version`` (all when None) up to
    ``up_to_version``, from the commits' ``operationMetrics`` as delta-rs's history reads them."""
    first = -1 if after_version is None else after_version
    commits = [entry for entry in DeltaTable(uri).history() if first < entry["version"] <= up_to_version]
    assert len(commits) == up_to_version - first, "a commit of the range is missing from the history"
    return sum(int(entry["operationMetrics"]["numAddedBytes"]) for entry in commits)


def logged_add_sizes(uri: str, version: int) -> list[int]:
    """The ``size`` of every ``add`` action in the raw JSON commit file of ``version`` (local tables)."""
    commit = Path(uri) / "_delta_log" / f"{version:020d}.json"
    actions = [json.loads(line) for line in commit.read_text().splitlines() if line.strip()]
    return [action["add"]["size"] for action in actions if "add" in action]
