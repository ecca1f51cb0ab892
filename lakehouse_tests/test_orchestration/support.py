"""The orchestration's jobs, schedules and sensors loaded beside the assets they target, as the code location
loads them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_aws.redshift import RedshiftClientResource
from dagster_snowflake import SnowflakeResource

from lakehouse.bronze import bronze_assets
from lakehouse.engine import SparkEngine
from lakehouse.lake import Lake
from lakehouse.orchestration.definitions import bronze_source_contracts
from lakehouse.orchestration.jobs import bronze_ingestion_job


def loadable_definitions(ingestion: dg.Definitions, resources: Mapping[str, Any] | None = None) -> dg.Definitions:
    """The ingestion definitions beside the bronze assets, as in the code location; the source resources
    and the lake default to placeholders that are never connected."""
    placeholders: dict[str, Any] = {
        "engine": SparkEngine(),
        "lake": Lake(root_uri="/nonexistent/lake"),
        "io_manager": dg.InMemoryIOManager(),
        "snowflake": SnowflakeResource(account="unused", user="unused", password="unused"),
        "redshift": RedshiftClientResource(
            host="unused", port=5439, user="unused", password="unused", database="analytics"
        ),
        **(resources or {}),
    }
    # the code location registers the bronze jobs too: the same objects must merge without a clash
    jobs = dg.Definitions(jobs=[bronze_ingestion_job(contract.table) for contract in bronze_source_contracts()])
    return dg.Definitions.merge(dg.Definitions(assets=bronze_assets(), resources=placeholders), jobs, ingestion)
