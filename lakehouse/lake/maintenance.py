"""Table maintenance through delta-rs: compaction, Z-order, vacuum, with files and bytes before and after.

The engine (Sail) has no OPTIMIZE or VACUUM, so maintenance runs on delta-rs against the same tables. What
to do is data (``MaintenancePlan``): which tables Z-order by which columns, the retention of vacuum, the
target file size. Every other table is compacted. Nothing here knows Dagster; the job in
``lakehouse.orchestration.jobs`` reports these results as asset observations, ``lakehouse maintain`` as a
table. Every delta-rs access goes through the ``Lake``.

* **Compaction** rewrites a partition's small files into few large ones (bin-packing, row order kept).
* **Z-order** rewrites a partition's files ordered along a Z-curve of the given columns, so a reader
  filtering on them (``customer_key`` in the facts) skips most files. It also compacts.
* **Vacuum** deletes data files no version younger than the retention needs. At least 7 days (168 h):
  time travel and ``lakehouse table restore`` can reach back exactly as far as the retention, and a
  reader or writer still working from an older snapshot must not lose its files. Shorter is refused.

Compaction and Z-order are commits of their own that change no row; a concurrent append still lands
(delta-rs resolves the conflict or the commit is retried).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lakehouse.lake.resource import LAYERS, FileStats, Lake, LakeTable

MIN_RETENTION_HOURS = 168
"""Seven days: the shortest vacuum retention the lakehouse accepts."""

DEFAULT_Z_ORDER: dict[str, list[str]] = {
    "gold/fact_orders": ["customer_key"],
    "gold/fact_customer_activity": ["customer_key"],
}
"""Tables read mostly by customer: their files are Z-ordered by ``customer_key``."""


class RetentionTooShort(ValueError):
    """A vacuum retention under seven days."""


@dataclass(frozen=True)
class MaintenancePlan:
    """What maintenance does: data, overridable per run (the job's config), never branches in code."""

    retention_hours: int = MIN_RETENTION_HOURS
    z_order: Mapping[str, Sequence[str]] = field(default_factory=lambda: dict(DEFAULT_Z_ORDER))
    target_file_size_bytes: int | None = None
    """None: the table's ``delta.targetFileSize``, else delta-rs's default (100 MB)."""

    def __post_init__(self) -> None:
        check_retention(self.retention_hours)
        for key, columns in self.z_order.items():
            if not columns:
                raise ValueError(f"z_order for {key} names no column")

    def z_order_columns(self, table: LakeTable) -> list[str]:
        return list(self.z_order.get(table.key, ()))


@dataclass(frozen=True)
class TableMaintenance:
    """What maintenance did to one table."""

    table: LakeTable
    strategy: str  # "compact" or "z_order"
    z_order_columns: list[str]
    version_before: int
    version_after: int
    live_before: FileStats
    live_after: FileStats
    stored_before: FileStats
    stored_after: FileStats
    files_removed: int
    files_added: int
    files_vacuumed: int
    retention_hours: int
    seconds: float

    def metadata(self) -> dict[str, Any]:
        """Plain values for Dagster metadata (and the CLI's table)."""
        return {
            "maintenance/strategy": self.strategy,
            "maintenance/z_order_columns": ", ".join(self.z_order_columns) or "-",
            "maintenance/files_before": self.live_before.files,
            "maintenance/files_after": self.live_after.files,
            "maintenance/bytes_before": self.live_before.bytes,
            "maintenance/bytes_after": self.live_after.bytes,
            "maintenance/stored_files_before": self.stored_before.files,
            "maintenance/stored_files_after": self.stored_after.files,
            "maintenance/stored_bytes_before": self.stored_before.bytes,
            "maintenance/stored_bytes_after": self.stored_after.bytes,
            "maintenance/files_rewritten": self.files_removed,
            "maintenance/files_written": self.files_added,
            "maintenance/files_vacuumed": self.files_vacuumed,
            "maintenance/retention_hours": self.retention_hours,
            "maintenance/seconds": round(self.seconds, 3),
            "delta_version_before": self.version_before,
            "delta_version": self.version_after,
            "table_uri": self.table.uri,
        }


def check_retention(hours: int) -> None:
    if hours < MIN_RETENTION_HOURS:
        raise RetentionTooShort(
            f"vacuum retention of {hours} h is under the minimum of {MIN_RETENTION_HOURS} h (7 days): older "
            "versions must stay restorable and readers of an older snapshot must keep their files"
        )


def tables_to_maintain(lake: Lake, layers: Sequence[str] = LAYERS, tables: Sequence[str] = ()) -> list[LakeTable]:
    """The named tables (``<layer>/<table>``, each must exist), or every table of ``layers``."""
    if not tables:
        return lake.tables(layers)
    chosen = [lake.lake_table(key) for key in tables]
    for table in chosen:
        lake.open(table)  # a missing table is an error before any work
    return chosen


def maintain_table(table: LakeTable, plan: MaintenancePlan, lake: Lake) -> TableMaintenance:
    """Compact (or Z-order, if the plan says so) every partition of ``table``, then vacuum it."""
    check_retention(plan.retention_hours)
    started = time.perf_counter()
    delta = lake.open(table)
    columns = plan.z_order_columns(table)
    if columns:
        known = {column.name for column in delta.schema().fields}
        unknown = [column for column in columns if column not in known]
        if unknown:
            raise ValueError(f"cannot Z-order {table.key} by {', '.join(unknown)}: no such column")
    version_before, live_before = delta.version(), lake.live_files(delta)
    stored_before = lake.stored_files(table.uri)

    def optimize() -> dict[str, Any]:
        fresh = lake.open(table.uri)  # a retry re-reads the table, seeing the concurrent writer's commit
        if columns:
            return fresh.optimize.z_order(columns, target_size=plan.target_file_size_bytes)
        return fresh.optimize.compact(target_size=plan.target_file_size_bytes)

    metrics, _ = lake.commit(table.uri, optimize)
    vacuumed = lake.open(table.uri).vacuum(
        retention_hours=plan.retention_hours, dry_run=False, enforce_retention_duration=True
    )
    after = lake.open(table.uri)
    return TableMaintenance(
        table=table,
        strategy="z_order" if columns else "compact",
        z_order_columns=columns,
        version_before=version_before,
        version_after=after.version(),
        live_before=live_before,
        live_after=lake.live_files(after),
        stored_before=stored_before,
        stored_after=lake.stored_files(table.uri),
        files_removed=int(metrics.get("numFilesRemoved", 0)),
        files_added=int(metrics.get("numFilesAdded", 0)),
        files_vacuumed=len(vacuumed),
        retention_hours=plan.retention_hours,
        seconds=time.perf_counter() - started,
    )
