"""Helpers shared by the bronze tests (and the fault-injection suite)."""

import dagster as dg

from lakehouse.bronze import bronze_assets


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
