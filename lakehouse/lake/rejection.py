"""Rejecting one committed write: a new commit that puts back the files the write replaced.

A write whose blocking checks fail has already committed (checks read what was written). Rejecting it
commits the inverse of its file actions in its scope: a ``remove`` for every data file the write added and
an ``add`` for every file it removed, with the file's size, partition values and statistics as the log
had them. No data file is read or written, so it costs one small commit whatever the table's size, and
the rejected files stay on storage: the rejected rows are readable by time travel at the write's version
until vacuum's retention removes them.

The scope is what the write replaced: the days of a day-partitioned overwrite (and the partition of no
day when it replaced the undated rows), or the whole table for a ``MERGE`` or an unpartitioned write. Other
days, written by concurrent runs, are not touched. When a later write has already replaced the scope (its
live files are no longer the rejected write's), nothing is committed: that write is the table's truth now.

Nothing here knows Dagster; ``lakehouse.quality.gates`` decides when to reject.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, Any

from lakehouse.lake.resource import Lake, Target
from lakehouse.partitions import PARTITION_COLUMN, DayWindow

if TYPE_CHECKING:
    from deltalake import DeltaTable

REJECT_OPERATION = "reject"
VERSION_BEFORE = "delta_version_before"
"""Materialization metadata of every write: the version it replaced, what rejecting it restores."""


def version_before_metadata(version: int | None) -> dict[str, int | str]:
    """``delta_version_before`` as a write's materialization reports it (no table yet: a sentence)."""
    return {VERSION_BEFORE: version if version is not None else "none: the table did not exist"}


@dataclass(frozen=True)
class WriteScope:
    """The part of a table one write replaced: its ``window``'s days (and the rows of no day when
    ``undated``), or the whole table when ``window`` is None."""

    window: DayWindow | None = None
    undated: bool = False

    @classmethod
    def of_write(cls, mode: str | None, window: DayWindow | None, undated: bool = False) -> WriteScope:
        """What a write of ``mode`` over ``window`` replaced: the window's days (with the rows of no day
        when it wrote them), or the whole table for a ``MERGE`` or an unpartitioned write."""
        if mode == "merge" or window is None:
            return cls()
        return cls(window, undated)

    def holds(self, partition: Mapping[str, Any]) -> bool:
        if self.window is None:
            return True
        day = partition.get(PARTITION_COLUMN)
        return (self.undated and day is None) or self.window.contains(day)

    def describe(self) -> list[str] | str:
        if self.window is None:
            return "whole table"
        return [*self.window.days_iso(), *(["no day (undated rows)"] if self.undated else [])]


@dataclass(frozen=True)
class Rejection:
    """What rejecting one write did (or why it did nothing)."""

    uri: str
    scope: WriteScope
    rejected_version: int | None
    restored_to_version: int | None
    reject_commit_version: int | None = None
    rows_rejected: int = 0
    rows_restored: int = 0
    files_removed: int = 0
    files_restored: int = 0
    not_rejected: str | None = None
    """Why nothing was committed (the write committed nothing, a later write replaced its scope), or None."""
    seconds: float = 0.0

    @property
    def rejected(self) -> bool:
        return self.not_rejected is None

    def metadata(self, prefix: str = "") -> dict[str, Any]:
        """Plain values for check metadata (keys prefixed by ``prefix``, e.g. ``quarantine_``)."""
        values: dict[str, Any] = {
            "rejected": self.rejected,
            "rejected_table": self.uri,
            "rejected_version": self.rejected_version,
            "restored_to_version": (
                self.restored_to_version
                if self.restored_to_version is not None
                else "none: the table was empty"
            ),
            "rejected_partitions": self.scope.describe(),
        }
        if self.rejected:
            values |= {
                "reject_commit_version": self.reject_commit_version,
                "rows_rejected": self.rows_rejected,
                "rows_restored": self.rows_restored,
                "reject_seconds": round(self.seconds, 3),
                "rejected_data": self.time_travel_hint(),
            }
        else:
            values["not_rejected"] = self.not_rejected
        return {f"{prefix}{key}": value for key, value in values.items()}

    def time_travel_hint(self) -> str:
        return (
            f"the rejected rows stay readable at version {self.rejected_version} of {self.uri} until vacuum's "
            f"retention (7 days at least): delta-rs with version={self.rejected_version}, Spark with "
            f"option('versionAsOf', {self.rejected_version})"
        )

    def summary(self) -> str:
        """One line for a check's description."""
        if not self.rejected:
            return f"Write of version {self.rejected_version} not rejected: {self.not_rejected}."
        restored = (
            f"version {self.restored_to_version}"
            if self.restored_to_version is not None
            else "an empty table"
        )
        return (
            f"Rejected: {self.rows_rejected} rows of version {self.rejected_version} removed and {restored} "
            f"restored by version {self.reject_commit_version}; the rejected rows stay readable at version "
            f"{self.rejected_version}."
        )


def reject_write(
    lake: Lake,
    target: Target,
    *,
    version_before: int | None,
    version_after: int | None,
    scope: WriteScope = WriteScope(),
    reason: str = "",
    log: Callable[[str], None] | None = None,
) -> Rejection:
    """Undo, in ``scope``, what the commits after ``version_before`` (None: the table did not exist) up to
    ``version_after`` changed, with one commit of file actions, unless a later write has replaced the scope.

    The commit is retried when it loses a race; each attempt re-reads the table and checks again that its
    live files in scope are still those of ``version_after``.
    """
    started = time.perf_counter()
    uri = lake.uri(target)
    not_yet = Rejection(uri, scope, version_after, version_before)
    if version_after is None or version_after == version_before:
        return _replace(not_yet, not_rejected="the write committed nothing", started=started)
    after = _files(lake.open(uri, version=version_after), scope)
    before = {} if version_before is None else _files(lake.open(uri, version=version_before), scope)
    added = [f for path, f in after.items() if path not in before]
    removed = [f for path, f in before.items() if path not in after]
    if not added and not removed:
        return _replace(not_yet, not_rejected="the write changed no file in its scope", started=started)
    properties = {
        "lakehouse.operation": REJECT_OPERATION,
        "lakehouse.rejected_version": str(version_after),
        "lakehouse.restored_to": "none" if version_before is None else str(version_before),
        "lakehouse.scope": json.dumps(scope.describe()),
    }
    if reason:
        properties["lakehouse.reason"] = reason

    def commit() -> int | str:
        from deltalake import CommitProperties

        table = lake.open(uri)  # a retry re-reads the table, seeing the concurrent writer's commit
        live = _files(table, scope).keys()
        if live == before.keys():
            return f"{_scope_words(scope)} already hold version {version_before}'s files (rejected before?)"
        if live != after.keys():
            return (
                f"a later write replaced {_scope_words(scope)} after version {version_after}; "
                "the table was left as it is"
            )
        metadata = table.metadata()
        table.create_write_transaction(
            [*(_remove_action(f) for f in added), *(_add_action(f) for f in removed)],
            mode="append",
            schema=table.schema(),
            partition_by=metadata.partition_columns or None,
            commit_properties=CommitProperties(custom_metadata=properties),
        )
        return lake.version(uri)

    committed, _ = lake.commit(uri, commit, log)
    if isinstance(committed, str):
        return _replace(not_yet, not_rejected=committed, started=started)
    return Rejection(
        uri=uri,
        scope=scope,
        rejected_version=version_after,
        restored_to_version=version_before,
        reject_commit_version=committed,
        rows_rejected=sum(f.records for f in added),
        rows_restored=sum(f.records for f in removed),
        files_removed=len(added),
        files_restored=len(removed),
        seconds=time.perf_counter() - started,
    )


def _replace(rejection: Rejection, *, not_rejected: str, started: float) -> Rejection:
    return replace(rejection, not_rejected=not_rejected, seconds=time.perf_counter() - started)


def _scope_words(scope: WriteScope) -> str:
    return "the table" if scope.window is None else f"the partitions {', '.join(scope.describe())}"


# ------------------------------------------------------------------------------ the log's add actions


@dataclass(frozen=True)
class _LoggedFile:
    """A live data file with everything its ``add`` action needs to be written again."""

    path: str
    size: int
    modification_time: int
    partition: dict[str, Any]
    records: int
    stats: str


def _files(table: DeltaTable, scope: WriteScope) -> dict[str, _LoggedFile]:
    """The snapshot's live data files in ``scope``, by path."""
    import pyarrow as pa

    actions = pa.table(table.get_add_actions(flatten=False))
    exact = _exact_statistics(actions.schema)
    files = {}
    for row in actions.to_pylist():
        partition = dict(row.get("partition") or {})
        if not scope.holds(partition):
            continue
        files[row["path"]] = _LoggedFile(
            path=row["path"],
            size=row["size_bytes"],
            modification_time=row["modification_time"],
            partition=partition,
            records=row.get("num_records") or 0,
            stats=_stats_json(row, exact),
        )
    return files


def _exact_statistics(schema: Any) -> dict[str, Any]:
    """Of the ``min`` statistics' columns, those whose values go back to the log's JSON unchanged
    (integers, strings, dates; nested structs of them), as a tree of names.

    A timestamp, float or decimal could come back with another precision or time zone, and a min or max
    off by a little makes a reader skip a file it needs; those columns get no min or max (a reader then
    reads their files), which is always correct.
    """
    import pyarrow as pa

    def exact(fields: Any) -> dict[str, Any]:
        kept: dict[str, Any] = {}
        for fld in fields:
            if pa.types.is_struct(fld.type):
                kept[fld.name] = exact(list(fld.type))
            elif (
                pa.types.is_integer(fld.type)
                or pa.types.is_string(fld.type)
                or pa.types.is_large_string(fld.type)
                or pa.types.is_date32(fld.type)
            ):
                kept[fld.name] = None
        return kept

    if "min" not in schema.names or not pa.types.is_struct(schema.field("min").type):
        return {}
    return exact(list(schema.field("min").type))


def _stats_json(row: Mapping[str, Any], exact: Mapping[str, Any]) -> str:
    """The ``stats`` of a file's ``add`` action: ``numRecords`` (the lake counts rows from it), the null
    counts, and the min and max of the columns kept exactly (see ``_exact_statistics``)."""
    stats: dict[str, Any] = {"numRecords": row.get("num_records") or 0}
    if row.get("null_count") is not None:
        stats["nullCount"] = row["null_count"]
    for name, column in (("minValues", "min"), ("maxValues", "max")):
        values = _kept(row.get(column), exact)
        if values:
            stats[name] = values
    return json.dumps(stats, default=_json_value)


def _kept(values: Mapping[str, Any] | None, exact: Mapping[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for name, nested in exact.items():
        value = (values or {}).get(name)
        if value is None:
            continue
        if nested is not None:
            value = _kept(value, nested)
            if not value:
                continue
        kept[name] = value
    return kept


def _json_value(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"no JSON form for {value!r}")


def _partition_values(partition: Mapping[str, Any]) -> dict[str, str | None]:
    """Partition values as the Delta log writes them: strings (a DATE as ``YYYY-MM-DD``), NULL as None."""
    return {
        name: None
        if value is None
        else value.isoformat()
        if isinstance(value, date)
        else str(value).lower()
        if isinstance(value, bool)
        else str(value)
        for name, value in partition.items()
    }


def _remove_action(data_file: _LoggedFile) -> Any:
    from deltalake.transaction import RemoveAction

    return RemoveAction(
        path=data_file.path,
        data_change=True,
        deletion_timestamp=int(time.time() * 1000),
        size=data_file.size,
        partition_values=_partition_values(data_file.partition),
    )


def _add_action(data_file: _LoggedFile) -> Any:
    from deltalake.transaction import AddAction

    return AddAction(
        path=data_file.path,
        size=data_file.size,
        partition_values=_partition_values(data_file.partition),
        modification_time=data_file.modification_time,
        data_change=True,
        stats=data_file.stats,
    )
