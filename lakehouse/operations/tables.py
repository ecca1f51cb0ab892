"""A lake table as operators see it: opened by its key, its Delta history, and its restore to an earlier
version.

The Spark engine has no history or restore of its own, so both go through delta-rs, by way of the
``Lake``. A table is named by its asset key, ``<layer>/<table>`` (``gold/dim_customer``):
``lake.lake_table(key)``; ``lake.tables()`` lists them all; ``lake.open(table)`` names the key when the
table is missing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from deltalake import CommitProperties

from lakehouse.lake import Lake, LakeTable
from lakehouse.resources import operator_lake

_COMMIT_FIELDS = {
    "version", "timestamp", "operation", "operationParameters", "operationMetrics", "engineInfo",
    "clientVersion", "readVersion", "isBlindAppend", "userMetadata",
}  # fmt: skip


@dataclass(frozen=True)
class HistoryEntry:
    version: int
    timestamp: datetime
    operation: str
    parameters: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    engine: str = ""
    custom: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RestoreOutcome:
    table: LakeTable
    restored_to: int
    version_before: int
    version_after: int
    metrics: dict[str, Any]


def table_history(table: LakeTable, limit: int | None = None, lake: Lake | None = None) -> list[HistoryEntry]:
    """The table's commits, newest first: version, time, operation, its parameters and metrics."""
    lake = lake if lake is not None else operator_lake()
    return [
        HistoryEntry(
            version=int(commit["version"]),
            timestamp=datetime.fromtimestamp(commit["timestamp"] / 1000, tz=timezone.utc),
            operation=str(commit.get("operation", "")),
            parameters=dict(commit.get("operationParameters") or {}),
            metrics=dict(commit.get("operationMetrics") or {}),
            engine=str(commit.get("engineInfo") or commit.get("clientVersion") or ""),
            custom={k: v for k, v in commit.items() if k not in _COMMIT_FIELDS},
        )
        for commit in lake.open(table).history(limit)
    ]


def restore_table(
    table: LakeTable, version: int, reason: str | None = None, lake: Lake | None = None
) -> RestoreOutcome:
    """Make ``version`` the table's current content again, as a new commit (so the restore itself can be
    rolled back). Refuses a version that does not exist or whose files vacuum has already removed."""
    lake = lake if lake is not None else operator_lake()
    current = lake.open(table).version()
    if not 0 <= version <= current:
        raise ValueError(f"{table.key} has versions 0 to {current}; there is no version {version}")
    if version == current:
        raise ValueError(f"{table.key} is already at version {version}; nothing to restore")
    properties = {"lakehouse.operation": "restore", "lakehouse.restored_to": str(version)}
    if reason:
        properties["lakehouse.reason"] = reason
    properties["lakehouse.user"] = os.environ.get("USER", "")
    # A restore needs every data file of ``version``; vacuum removes files older than the retention.
    missing = lake.missing_files(table.uri, version)
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} data file(s) of {table.key} version {version} are gone (vacuumed after the "
            f"retention period?), e.g. {missing[0]}; pick a later version"
        )

    def restore() -> dict[str, Any]:
        fresh = lake.open(table.uri)  # a retry re-reads the table, seeing the concurrent writer's commit
        return fresh.restore(version, commit_properties=CommitProperties(custom_metadata=properties))

    metrics, _ = lake.commit(table.uri, restore)
    return RestoreOutcome(
        table=table,
        restored_to=version,
        version_before=current,
        version_after=lake.open(table.uri).version(),
        metrics=metrics,
    )
