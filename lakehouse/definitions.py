"""The code location: merges the layers' definitions, the orchestration, and the resources of the active
deployment.

Built lazily by Dagster (``@dg.definitions``), so importing this module reads no environment and starts
nothing.
"""

import dagster as dg

from lakehouse.bronze.definitions import bronze_definitions
from lakehouse.gold.definitions import gold_definitions
from lakehouse.lineage import with_lineage
from lakehouse.observability.json_logs import json_lines_logger
from lakehouse.orchestration.definitions import orchestration_definitions
from lakehouse.resources import build_resources, executor
from lakehouse.silver.definitions import silver_definitions


def with_observed_lineage(layer: dg.Definitions) -> dg.Definitions:
    """A layer's assets and checks, each emitting OpenLineage events when it runs (docs/lineage.md)."""
    return dg.Definitions(assets=with_lineage(layer.assets or []), asset_checks=with_lineage(layer.asset_checks or []))


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions.merge(
        *(with_observed_lineage(layer) for layer in (bronze_definitions(), silver_definitions(), gold_definitions())),
        orchestration_definitions(),
        dg.Definitions(
            resources=build_resources(),
            executor=executor(),
            loggers={"console": dg.colored_console_logger, "json": json_lines_logger},
        ),
    )
