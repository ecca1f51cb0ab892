"""The jobs of the code location: the whole graph for one day, one table's bronze for one day, and the
lake's weekly maintenance.

* ``lakehouse_daily_job``: every asset (bronze, quarantine, silver, gold) and its checks for one
  ``_run_date`` partition; what the daily schedule, ``lakehouse backfill`` and the runbooks run.
* ``bronze_ingestion_job(table)`` (``bronze_<table>_job``): one table's bronze and quarantine outputs
  together for one partition, so every run both reads the source once and replaces the day in both lanes,
  and the bronze tables its foreign keys reference (transitively), which the table's watermark sensor
  selects only for a day they do not hold yet.
* ``lake_maintenance_job``: compaction, Z-order and vacuum of every Delta table of the lake through
  delta-rs (``lakehouse.lake.maintenance``), each table's files and bytes before and after reported
  as an ``AssetObservation`` of the table's asset, so they show on the asset's page in the UI.

Every job is cached, so the definitions registering it and the schedules and sensors targeting it hold the
same object, which Dagster merges instead of reporting two jobs of one name.
"""

from collections.abc import Iterable
from functools import cache
from typing import Optional

import dagster as dg
from pydantic import Field

from lakehouse.contracts import SourceSystem, load_contracts
from lakehouse.lake import LAYERS, Lake
from lakehouse.lake.maintenance import (
    DEFAULT_Z_ORDER,
    MIN_RETENTION_HOURS,
    MaintenancePlan,
    TableMaintenance,
    maintain_table,
    tables_to_maintain,
)
from lakehouse.partitions import daily_partitions

DAILY_JOB_NAME = "lakehouse_daily_job"
PARTITION_TAG = "dagster/partition"  # put on partitioned runs by Dagster (no public constant in 1.13)

# The statuses of a run that may still write its partitions; MANAGED runs are driven outside Dagster.
UNFINISHED = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.SUSPENDED,
    dg.DagsterRunStatus.CANCELING,
]
MAINTENANCE_JOB_NAME = "lake_maintenance_job"
BRONZE_LAYER = "bronze"
QUARANTINE_LAYER = "quarantine"
# A run reading a source system carries ``lakehouse/reads_<system>: true`` (one key per system, since a
# bronze run may read both), so an instance's run queue can limit the runs querying each source at once
# (deploy/dagster.yaml: ``concurrency: runs: tag_concurrency_limits``).
READS_SOURCE_TAG_PREFIX = "lakehouse/reads_"


def source_tags(systems: Iterable[SourceSystem | str]) -> dict[str, str]:
    """The run tags of a run reading ``systems``: ``{"lakehouse/reads_snowflake": "true", ...}``."""
    return {f"{READS_SOURCE_TAG_PREFIX}{SourceSystem(s).value}": "true" for s in sorted(set(systems))}


def bronze_source_system(table: str) -> SourceSystem:
    """The source system ``bronze/<table>`` is extracted from, as its contract names it."""
    return SourceSystem(load_contracts(layer=BRONZE_LAYER)[f"{BRONZE_LAYER}.{table}"].source.system)


# --------------------------------------------------------------------------------------------- daily


def lakehouse_daily_job():
    """Every asset of the code location for one day."""
    return _daily_job(daily_partitions())


@cache  # one job per partitions definition (that is, per configured first day)
def _daily_job(partitions: dg.PartitionsDefinition):
    return dg.define_asset_job(
        DAILY_JOB_NAME,
        selection=dg.AssetSelection.all(),
        partitions_def=partitions,
        description="Every asset of the lakehouse (bronze, quarantine, silver, gold) and its blocking "
        "checks for one _run_date partition.",
        tags={"lakehouse/job": "daily", **source_tags(SourceSystem)},
    )


# -------------------------------------------------------------------------------------------- bronze


def bronze_asset_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([BRONZE_LAYER, table])


def quarantine_asset_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([QUARANTINE_LAYER, table])


def bronze_job_name(table: str) -> str:
    return f"bronze_{table}_job"


def bronze_ingestion_job(table: str):
    """The daily-partitioned job loading ``bronze/<table>`` and ``quarantine/<table>`` (and the same day of
    the bronze tables it references)."""
    return _bronze_ingestion_job(table, daily_partitions())


@cache  # one job per table and partitions definition
def _bronze_ingestion_job(table: str, partitions: dg.PartitionsDefinition):
    # The table's foreign keys are checked against the bronze tables they reference (order_items ->
    # orders, products; orders -> customers), so the job can load the same day of those too: its sensor
    # selects them for a day they lack, so that a row is never quarantined as an orphan only because its
    # parent's day has not been loaded yet, and leaves out those that hold the day.
    selection = (
        dg.AssetSelection.assets(bronze_asset_key(table)).upstream() & dg.AssetSelection.groups(BRONZE_LAYER)
    ).required_multi_asset_neighbors()
    return dg.define_asset_job(
        bronze_job_name(table),
        selection=selection,
        partitions_def=partitions,
        description=f"Load one day of source rows into bronze/{table}, invalid rows into quarantine/{table}.",
        tags=source_tags([bronze_source_system(table)]),
    )


# --------------------------------------------------------------------------------------- maintenance


class LakeMaintenanceConfig(dg.Config):
    """What maintenance does, as data: change it in the launchpad or the schedule's run config."""

    retention_hours: int = Field(
        default=MIN_RETENTION_HOURS,
        ge=MIN_RETENTION_HOURS,
        description="Vacuum keeps every file a version younger than this needs; at least 168 (7 days).",
    )
    z_order: dict[str, list[str]] = Field(
        default_factory=lambda: {key: list(columns) for key, columns in DEFAULT_Z_ORDER.items()},
        description="Tables (<layer>/<table>) Z-ordered by these columns; every other table is compacted.",
    )
    target_file_size_bytes: Optional[int] = Field(
        default=None, ge=1, description="Target file size; unset: the table's delta.targetFileSize or 100 MB."
    )
    layers: list[str] = Field(
        default_factory=lambda: list(LAYERS), description="Layers whose tables to maintain."
    )
    tables: list[str] = Field(
        default_factory=list,
        description="Only these tables (<layer>/<table>); empty: every table of the layers.",
    )

    def plan(self) -> MaintenancePlan:
        return MaintenancePlan(
            retention_hours=self.retention_hours,
            z_order=self.z_order,
            target_file_size_bytes=self.target_file_size_bytes,
        )


def maintenance_summary(results: list[TableMaintenance]) -> dict[str, dg.MetadataValue]:
    """The run's totals and a per-table markdown table, for the op's output metadata."""
    lines = [
        "| table | strategy | files before | files after | bytes before | bytes after | vacuumed |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.table.key} | {r.strategy} | {r.live_before.files} | {r.live_after.files} | "
            f"{r.live_before.bytes} | {r.live_after.bytes} | {r.files_vacuumed} |"
        )
    return {
        "tables": dg.MetadataValue.int(len(results)),
        "files_before": dg.MetadataValue.int(sum(r.live_before.files for r in results)),
        "files_after": dg.MetadataValue.int(sum(r.live_after.files for r in results)),
        "bytes_before": dg.MetadataValue.int(sum(r.live_before.bytes for r in results)),
        "bytes_after": dg.MetadataValue.int(sum(r.live_after.bytes for r in results)),
        "files_vacuumed": dg.MetadataValue.int(sum(r.files_vacuumed for r in results)),
        "per_table": dg.MetadataValue.md("\n".join(lines)),
    }


@dg.op(
    name="maintain_lake_tables",
    description="Compact (or Z-order) and vacuum every Delta table of the lake through delta-rs.",
    out=dg.Out(dg.Nothing),
    tags={"dagster/kind/deltalake": ""},
)
def maintain_lake_tables(context: dg.OpExecutionContext, config: LakeMaintenanceConfig, lake: Lake):
    plan = config.plan()
    tables = tables_to_maintain(lake, config.layers, config.tables)
    results: list[TableMaintenance] = []
    failed: dict[str, str] = {}
    for table in tables:
        # One table failing (a commit race lost too often, a broken file) must not stop the others.
        try:
            result = maintain_table(table, plan, lake)
        except Exception as error:  # reported below, after every other table was maintained
            context.log.error(f"{table.key}: maintenance failed: {type(error).__name__}: {error}")
            failed[table.key] = f"{type(error).__name__}: {error}"
            continue
        results.append(result)
        context.log_event(
            dg.AssetObservation(
                asset_key=dg.AssetKey(table.asset_key_path),
                metadata=result.metadata(),
                description=f"{result.strategy} and vacuum ({plan.retention_hours} h retention)",
            )
        )
        context.log.info(
            f"{table.key}: {result.strategy}, "
            f"files {result.live_before.files} → {result.live_after.files}, "
            f"bytes {result.live_before.bytes:,} → {result.live_after.bytes:,}, "
            f"{result.files_vacuumed} file(s) vacuumed"
        )
    context.add_output_metadata(maintenance_summary(results))
    if failed:
        raise dg.Failure(
            description=f"maintenance failed for {len(failed)} of {len(tables)} table(s): "
            f"{', '.join(failed)}",
            metadata={key: dg.MetadataValue.text(message) for key, message in failed.items()},
        )


@cache
def lake_maintenance_job() -> dg.JobDefinition:
    @dg.job(
        name=MAINTENANCE_JOB_NAME,
        description="Compaction, Z-order of the facts by customer_key and vacuum (7 days retention) of every "
        "Delta table, with files and bytes before and after per table.",
        tags={"lakehouse/job": "maintenance"},
    )
    def _lake_maintenance():
        maintain_lake_tables()

    return _lake_maintenance
