"""The gate: a write whose blocking ERROR checks fail is rejected, so readers see the table as it was.

Checks read what was written, so a write commits first; when one of its checks fails with severity ERROR,
the write is rejected (``lakehouse.lake.rejection``: one metadata-only commit putting back the files it
replaced, in its days or its whole table) and the failing check's result says so, with the version that
holds the rejected rows for inspection. A WARN failure rejects nothing; a passing check costs nothing.

Two kinds of checks gate their writes:

* checks a step returns on what it wrote itself (bronze's lanes, gold's merges): the step knows its
  writes (``GatedWrite``) and passes its results through ``gate`` before returning them;
* the separate ``great_expectations`` checks: ``reject_checked_write`` finds the materialization of the
  checked asset in the same run and rejects the write it records (``delta_version_before`` and
  ``delta_version`` in its metadata). A check run on its own, without its asset, rejects nothing.

See ``docs/gates.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg

from lakehouse.io import WrittenFrame
from lakehouse.lake import Lake
from lakehouse.lake.rejection import VERSION_BEFORE, Rejection, WriteScope, reject_write
from lakehouse.partitions import DayWindow

QUARANTINE = "quarantine"
_MATERIALIZATIONS_SEARCHED = 20
"""The latest materializations of the checked partition searched for the check's own run."""


@dataclass(frozen=True)
class GatedWrite:
    """A table one step wrote, and the versions around the write."""

    uri: str
    version_before: int | None
    version_after: int | None
    scope: WriteScope
    prefix: str = ""
    """Prefix of its keys in the check metadata: none for the checked table, ``quarantine/`` for the lane
    written with it."""

    def reject(self, lake: Lake, reason: str, log: Callable[[str], None] | None = None) -> Rejection:
        return reject_write(
            lake,
            self.uri,
            version_before=self.version_before,
            version_after=self.version_after,
            scope=self.scope,
            reason=reason,
            log=log,
        )


def blocks(result: dg.AssetCheckResult) -> bool:
    """A failed check of severity ERROR: it stops the run's downstream assets, and rejects the write."""
    return not result.passed and result.severity == dg.AssetCheckSeverity.ERROR


def gate(
    lake: Lake,
    results: Iterable[dg.AssetCheckResult],
    writes: Sequence[GatedWrite],
    log: Callable[[str], None] | None = None,
) -> list[dg.AssetCheckResult]:
    """``results`` unchanged when none blocks; otherwise every write is rejected and each blocking result
    carries the rejections in its metadata and description."""
    results = list(results)
    failed = [r.check_name for r in results if blocks(r)]
    if not failed:
        return results
    reason = f"blocking checks failed: {', '.join(failed)}"
    rejections = [(write.prefix, write.reject(lake, reason, log)) for write in writes]
    return [with_rejections(r, rejections) if blocks(r) else r for r in results]


def with_rejections(
    result: dg.AssetCheckResult, rejections: Sequence[tuple[str, Rejection]]
) -> dg.AssetCheckResult:
    """``result`` with what rejecting the writes did: in its metadata (keys prefixed per table) and as a
    sentence per table appended to its description."""
    metadata = dict(result.metadata or {})
    sentences = []
    for prefix, rejection in rejections:
        metadata |= rejection.metadata(prefix)
        sentences.append(f"{prefix}{rejection.summary()}" if prefix else rejection.summary())
    return _replaced(result, metadata, " ".join([result.description or "", *sentences]).strip())


def not_rejected(result: dg.AssetCheckResult, why: str) -> dg.AssetCheckResult:
    """``result`` saying that nothing was rejected, and why."""
    metadata = {**(result.metadata or {}), "rejected": False, "not_rejected": why}
    return _replaced(result, metadata, f"{result.description or ''} Nothing rejected: {why}.".strip())


def _replaced(
    result: dg.AssetCheckResult, metadata: Mapping[str, Any], description: str
) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=result.asset_key,
        check_name=result.check_name,
        passed=result.passed,
        severity=result.severity,
        metadata=metadata,
        description=description,
    )


# ------------------------------------------------------------------------------ separate checks


def reject_checked_write(
    context: dg.AssetCheckExecutionContext | dg.AssetExecutionContext, lake: Lake, result: dg.AssetCheckResult
) -> dg.AssetCheckResult:
    """Reject the write that the failing ``result`` checked: this run's materialization of the asset (and,
    for a bronze table, of its quarantine lane, written in the same step, so the day stays whole)."""
    key = result.asset_key
    written = materialization_in_run(context, key)
    if written is None:
        return not_rejected(result, f"{key.to_user_string()} was not materialized in this run")
    write = written_table(written, prefix="")
    if write is None:
        return not_rejected(result, "its materialization does not record the version it replaced")
    writes = [write]
    if key.path[0] == "bronze":
        lane = materialization_in_run(context, dg.AssetKey([QUARANTINE, *key.path[1:]]))
        lane_write = written_table(lane, prefix=f"{QUARANTINE}/") if lane is not None else None
        writes += [lane_write] if lane_write is not None else []
    return gate(lake, [result], writes, context.log.warning)[0]


def materialization_in_run(
    context: dg.AssetCheckExecutionContext | dg.AssetExecutionContext, key: dg.AssetKey
) -> dg.AssetMaterialization | None:
    """This run's materialization of ``key`` (of the run's first partition), if it has one."""
    partitions = (
        context.partition_keys[:1] if context.has_partition_key or context.has_partition_key_range else None
    )
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=partitions), limit=_MATERIALIZATIONS_SEARCHED
    ).records
    run_id = context.run.run_id
    return next((r.asset_materialization for r in records if r.run_id == run_id), None)


def gated(written: WrittenFrame, prefix: str = "") -> GatedWrite:
    """The write ``write_frame`` made, to gate."""
    return GatedWrite(written.uri, written.version_before, written.version, written.scope, prefix)


def written_table(materialization: dg.AssetMaterialization, prefix: str) -> GatedWrite | None:
    """The write a materialization records (the Delta IO manager's metadata, or a gold asset's), or None
    when it does not say which version it replaced."""
    metadata = {name: value.value for name, value in materialization.metadata.items()}
    if VERSION_BEFORE not in metadata or "table_uri" not in metadata:
        return None
    before = metadata[VERSION_BEFORE]
    return GatedWrite(
        uri=str(metadata["table_uri"]),
        version_before=before if isinstance(before, int) else None,
        version_after=metadata.get("delta_version"),
        scope=_scope(metadata),
        prefix=prefix,
    )


def _scope(metadata: Mapping[str, Any]) -> WriteScope:
    """What the write replaced: the days it wrote (with the rows of no day when it wrote them), or the
    whole table for a ``MERGE`` or an unpartitioned write."""
    days = metadata.get("partitions_written")
    window = DayWindow.of_keys(min(days), max(days)) if days else None
    return WriteScope.of_write(metadata.get("write_mode"), window, undated="undated_rows" in metadata)
