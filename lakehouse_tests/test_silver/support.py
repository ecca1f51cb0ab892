"""Helpers and settings shared by the silver tests: one Dagster run over bronze + silver, and rows read back
with delta-rs."""

from dataclasses import dataclass

import dagster as dg
from deltalake import DeltaTable

from lakehouse.bronze import bronze_assets
from lakehouse.generator import GeneratedData
from lakehouse.silver import silver_assets
from lakehouse_tests.support import materialize_days

SALT = "silver-test-salt"
SILVER_TABLES = ("customers", "products", "orders", "behavior_events", "customer_activity")
BACKFILL_WINDOW = ("2026-01-01", "2026-01-02")
LAST_DAY = "2026-01-03"


def materialize_layers(
    resources: dict,
    *,
    partition: str | None = None,
    window: tuple[str, str] | None = None,
    selection: dg.AssetSelection | None = None,
    run_config: dict | None = None,
    raise_on_error: bool = True,
) -> dg.ExecuteInProcessResult:
    """One Dagster run over bronze + silver (or ``selection`` of them) for a partition or a window."""
    return materialize_days(
        [*bronze_assets(), *silver_assets()],
        resources,
        partition=partition,
        window=window,
        selection=selection,
        run_config=run_config,
        raise_on_error=raise_on_error,
    )


def table_rows(lake_root: str, layer: str, table: str) -> list[dict]:
    """Every row of a Delta table, read independently of the engine (delta-rs), in a stable order."""
    rows = DeltaTable(f"{lake_root}/{layer}/{table}").to_pyarrow_table().to_pylist()
    return sorted(rows, key=lambda row: [str(v) for v in row.values()])


@dataclass
class SilverLake:
    root: str
    resources: dict
    backfill: dg.ExecuteInProcessResult
    last_day: dg.ExecuteInProcessResult
    data: GeneratedData

    def rows(self, table: str, layer: str = "silver") -> list[dict]:
        return table_rows(self.root, layer, table)
