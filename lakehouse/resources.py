"""The resources of the active deployment, chosen in one place.

Local: embedded Sail (or whatever ``LAKEHOUSE_ENGINE`` / ``LAKEHOUSE_SPARK_REMOTE`` say), the lake under
``$LAKEHOUSE_HOME/lake``, and the local fakesnow and PostgreSQL services.
Prod: a Spark Connect endpoint, an ``s3://`` lake root and the real Snowflake and Redshift, all from
``dagster.EnvVar``s resolved at run time, so no secret is read here or stored in the definitions.
"""

from __future__ import annotations

import os
from typing import Any

import dagster as dg

from lakehouse.engine import EngineMode, SparkEngine
from lakehouse.io import DeltaSparkIOManager
from lakehouse.settings import Deployment, deployment, lake_root

ENGINE_MODE_ENV_VAR = "LAKEHOUSE_ENGINE"
SPARK_REMOTE_ENV_VAR = "LAKEHOUSE_SPARK_REMOTE"


def engine_resource() -> SparkEngine:
    """Embedded Sail unless a Spark Connect URL is configured (always, in prod)."""
    if deployment() is Deployment.PROD:
        return SparkEngine(mode=EngineMode.REMOTE, remote_url=dg.EnvVar(SPARK_REMOTE_ENV_VAR))
    mode = os.environ.get(ENGINE_MODE_ENV_VAR)
    if os.environ.get(SPARK_REMOTE_ENV_VAR):
        return SparkEngine(mode=mode or EngineMode.REMOTE, remote_url=dg.EnvVar(SPARK_REMOTE_ENV_VAR))
    return SparkEngine(mode=mode or EngineMode.EMBEDDED)


def lake_io_manager(engine: SparkEngine) -> DeltaSparkIOManager:
    if deployment() is Deployment.PROD:
        return DeltaSparkIOManager(root_uri=dg.EnvVar("LAKEHOUSE_LAKE_ROOT"), engine=engine)
    return DeltaSparkIOManager(root_uri=lake_root(), engine=engine)


def build_resources() -> dict[str, Any]:
    """Every resource key the assets use, for the active deployment."""
    from lakehouse.governance.pii import pii_resource
    from lakehouse.services.resources import redshift_resource, snowflake_resource

    engine = engine_resource()
    return {
        "engine": engine,
        "io_manager": lake_io_manager(engine),
        "snowflake": snowflake_resource(),
        "redshift": redshift_resource(),
        "pii": pii_resource(),
    }
