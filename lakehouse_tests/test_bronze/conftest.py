"""Generated sources loaded once into the session's local services, and a fresh lake per test."""

from datetime import date

import dagster as dg
import pytest

from lakehouse.bronze import bronze_assets
from lakehouse.resources import redshift_resource, snowflake_resource
from lakehouse_tests.support import lake_resources

FIRST_DAY = date(2026, 1, 1)


@pytest.fixture
def lake_root(tmp_path) -> str:
    return str(tmp_path / "lake")


@pytest.fixture
def bronze_resources(engine, local_services, generated_sources, lake_root) -> dict:
    return {
        **lake_resources(engine, lake_root),
        "snowflake": snowflake_resource(local_services),
        "redshift": redshift_resource(local_services),
    }


def materialize_bronze(resources, *, partition=None, window=None, assets=None, config=None, raise_on_error=True):
    tags = {"dagster/asset_partition_range_start": window[0], "dagster/asset_partition_range_end": window[1]} if window else None
    assets = assets if assets is not None else bronze_assets()
    run_config = {"ops": {a.node_def.name: {"config": config} for a in assets}} if config else None
    with dg.DagsterInstance.ephemeral() as instance:
        return dg.materialize(
            assets,
            resources=resources,
            partition_key=partition,
            tags=tags,
            run_config=run_config,
            instance=instance,
            raise_on_error=raise_on_error,
        )
