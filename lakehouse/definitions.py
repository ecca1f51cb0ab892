"""The code location: assembles the layers' definitions with the resources of the active deployment.

Built lazily by Dagster (``@dg.definitions``), so importing this module reads no environment and starts
nothing.
"""

import dagster as dg

from lakehouse.bronze import bronze_assets
from lakehouse.gold.dimensions import dimension_assets
from lakehouse.gold.facts import fact_assets
from lakehouse.lineage import with_lineage
from lakehouse.observability.json_logs import json_lines_logger
from lakehouse.operations import operations_definitions
from lakehouse.quality import quality_checks
from lakehouse.resources import build_resources
from lakehouse.sensors import bronze_ingestion_definitions
from lakehouse.silver.definitions import silver_assets
from lakehouse.settings import Deployment, deployment


@dg.definitions
def defs() -> dg.Definitions:
    # Locally every step shares the process's embedded engine, which already uses every core; against a
    # remote engine steps are thin clients and run in parallel processes.
    executor = dg.in_process_executor if deployment() is Deployment.LOCAL else dg.multiprocess_executor
    return dg.Definitions.merge(
        # every materialization emits OpenLineage events (hooks on the assets: docs/lineage.md)
        dg.Definitions(assets=with_lineage(bronze_assets())),
        dg.Definitions(assets=with_lineage(silver_assets())),
        dg.Definitions(assets=with_lineage([*dimension_assets(), *fact_assets()])),
        # a blocking great_expectations check per bronze, silver and gold table (docs/quality.md)
        dg.Definitions(asset_checks=with_lineage(quality_checks())),
        bronze_ingestion_definitions(),
        operations_definitions(),
        dg.Definitions(
            resources=build_resources(),
            executor=executor,
            loggers={"console": dg.colored_console_logger, "json": json_lines_logger},
        ),
    )
