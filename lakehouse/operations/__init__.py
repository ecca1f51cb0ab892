"""Operations: the daily whole-graph schedule, lake maintenance, and the library behind the runbooks.

* ``tables``: the lake's Delta tables by key (``gold/dim_customer``): listing, sizes, history, restore.
* ``maintenance``: compaction, Z-order and vacuum through delta-rs, as a data-driven plan (no Dagster).
* ``jobs`` / ``schedules``: ``lakehouse_daily_job`` and ``lake_maintenance_job`` and when they run.
* ``runs``: run the daily job (or a selection and its downstream) for a range of days, in order.
* ``quarantine``: bronze and quarantine rows per table and day, by rule.
* ``definitions``: the jobs and schedules for the code location (``operations_definitions``).

Runbooks using these are in ``docs/runbooks/``.
"""

from lakehouse.operations.definitions import operations_definitions
from lakehouse.operations.jobs import (
    DAILY_JOB_NAME,
    MAINTENANCE_JOB_NAME,
    LakeMaintenanceConfig,
    lake_maintenance_job,
    lakehouse_daily_job,
)
from lakehouse.operations.maintenance import (
    DEFAULT_Z_ORDER,
    MIN_RETENTION_HOURS,
    MaintenancePlan,
    RetentionTooShort,
    TableMaintenance,
    maintain_table,
)
from lakehouse.operations.schedules import (
    DAILY_SCHEDULE_NAME,
    MAINTENANCE_SCHEDULE_NAME,
    lake_maintenance_schedule,
    lakehouse_daily_schedule,
)
from lakehouse.operations.tables import (
    LAYERS,
    FileStats,
    LakeTable,
    TableNotFound,
    lake_table,
    lake_tables,
    restore_table,
    table_history,
)

__all__ = [
    "DAILY_JOB_NAME",
    "DAILY_SCHEDULE_NAME",
    "DEFAULT_Z_ORDER",
    "LAYERS",
    "MAINTENANCE_JOB_NAME",
    "MAINTENANCE_SCHEDULE_NAME",
    "MIN_RETENTION_HOURS",
    "FileStats",
    "LakeMaintenanceConfig",
    "LakeTable",
    "MaintenancePlan",
    "RetentionTooShort",
    "TableMaintenance",
    "TableNotFound",
    "lake_maintenance_job",
    "lake_maintenance_schedule",
    "lake_table",
    "lake_tables",
    "lakehouse_daily_job",
    "lakehouse_daily_schedule",
    "maintain_table",
    "operations_definitions",
    "restore_table",
    "table_history",
]
