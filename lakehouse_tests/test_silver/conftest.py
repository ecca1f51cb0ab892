"""Bronze + silver materialized through Dagster and the real Delta IO manager on a lake of this module's own.

The source data is test_bronze's generation (the same fixture, so the shared local services never hold
another one); the lake root is private to these tests.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
from deltalake import DeltaTable

from lakehouse.bronze import bronze_assets
from lakehouse.generator import GeneratedData
from lakehouse.governance import PiiMasking
from lakehouse.resources import redshift_resource, snowflake_resource
from lakehouse.silver import silver_assets
from lakehouse_tests.support import lake_resources

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
    tags = (
        {"dagster/asset_partition_range_start": window[0], "dagster/asset_partition_range_end": window[1]}
        if window
        else None
    )
    with dg.DagsterInstance.ephemeral() as instance:
        return dg.materialize(
            [*bronze_assets(), *silver_assets()],
            resources=resources,
            partition_key=partition,
            tags=tags,
            selection=selection,
            run_config=run_config,
            instance=instance,
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


@pytest.fixture(scope="module")
def silver_lake(
    engine,
    local_services,
    generated_sources,  # noqa: F811  (the fixture imported above)
    tmp_path_factory,
) -> Iterator[SilverLake]:
    """Bronze + silver for the first two days in one backfill run, then the third day on its own."""
    root = str(Path(tmp_path_factory.mktemp("silver")) / "lake")
    resources = {
        **lake_resources(engine, root),
        "snowflake": snowflake_resource(local_services),
        "redshift": redshift_resource(local_services),
        "pii": PiiMasking(salt=SALT),
    }
    backfill = materialize_layers(resources, window=BACKFILL_WINDOW)
    last_day = materialize_layers(resources, partition=LAST_DAY)
    yield SilverLake(root, resources, backfill, last_day, generated_sources)
