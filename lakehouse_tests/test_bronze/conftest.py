"""Generated sources loaded once into the session's local services, and a fresh lake per test."""

from datetime import date

import dagster as dg
import pytest

from lakehouse.bronze import bronze_assets
from lakehouse.generator import GeneratedData, GeneratorConfig, generate_data, load_redshift, load_snowflake
from lakehouse.io import DeltaSparkIOManager
from lakehouse.services.resources import redshift_resource, snowflake_resource

CONFIG = GeneratorConfig(scale_factor=0.005, days=3, dirt=0.03, seed=5)
FIRST_DAY = date(2026, 1, 1)


@pytest.fixture(scope="session")
def generated_sources(local_services) -> GeneratedData:
    data = generate_data(CONFIG)
    with local_services.snowflake_paused() as db_dir:
        load_snowflake(data.batches, db_dir, replace=True)
    load_redshift(data.batches, local_services.postgres_dsn(), replace=True)
    return data


@pytest.fixture
def lake_root(tmp_path) -> str:
    return str(tmp_path / "lake")


@pytest.fixture
def bronze_resources(engine, local_services, generated_sources, lake_root) -> dict:
    return {
        "engine": engine,
        "io_manager": DeltaSparkIOManager(root_uri=lake_root, engine=engine),
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
