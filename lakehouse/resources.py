"""The resources of the active deployment, chosen here and nowhere else.

Local (``LAKEHOUSE_ENV=local``, the default): embedded Sail (or whatever ``LAKEHOUSE_ENGINE`` /
``LAKEHOUSE_SPARK_REMOTE`` say; ``LAKEHOUSE_ENGINE=cluster`` is the local Sail cluster), the lake under
``$LAKEHOUSE_HOME/lake`` (or ``LAKEHOUSE_LAKE_ROOT``), the local fakesnow and PostgreSQL services, and the
development PII salt unless one is set.
Prod (``LAKEHOUSE_ENV=prod``): a Spark Connect endpoint, an ``s3://`` lake root, the real Snowflake and
Redshift and a secret PII salt, all from ``dagster.EnvVar``s resolved at run time, so no secret is read here
or stored in the definitions.

Every function reads the environment when called (when the definitions are built), never at import.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import dagster as dg

from lakehouse.engine import EngineMode, SparkEngine
from lakehouse.governance.pii import DEVELOPMENT_SALT, PII_SALT_ENV_VAR, PiiMasking
from lakehouse.io import DeltaSparkIOManager
from lakehouse.lake import Lake
from lakehouse.observability.alerts import alerts_resource
from lakehouse.settings import LAKE_ROOT_ENV_VAR, Deployment, deployment, lake_root

if TYPE_CHECKING:
    from dagster_aws.redshift import RedshiftClientResource
    from dagster_snowflake import SnowflakeResource

    from lakehouse.services.local import LocalServices

ENGINE_MODE_ENV_VAR = "LAKEHOUSE_ENGINE"
SPARK_REMOTE_ENV_VAR = "LAKEHOUSE_SPARK_REMOTE"
# the LAKEHOUSE_ENGINE value for the Sail cluster `lakehouse services up --cluster` started
LOCAL_CLUSTER_ENGINE = "cluster"


def is_local() -> bool:
    return deployment() is Deployment.LOCAL


def engine_resource() -> SparkEngine:
    """Embedded Sail unless a Spark Connect URL is configured (always, in prod) or the local cluster is
    chosen (``LAKEHOUSE_ENGINE=cluster``)."""
    if not is_local():
        return SparkEngine(mode=EngineMode.REMOTE, remote_url=dg.EnvVar(SPARK_REMOTE_ENV_VAR))
    mode = os.environ.get(ENGINE_MODE_ENV_VAR)
    if mode == LOCAL_CLUSTER_ENGINE:
        return local_cluster_engine()
    if os.environ.get(SPARK_REMOTE_ENV_VAR):
        return SparkEngine(mode=mode or EngineMode.REMOTE, remote_url=dg.EnvVar(SPARK_REMOTE_ENV_VAR))
    return SparkEngine(mode=mode or EngineMode.EMBEDDED)


def local_cluster_engine(services: LocalServices | None = None) -> SparkEngine:
    """The engine on the Sail cluster of ``$LAKEHOUSE_HOME``, a Spark Connect endpoint like any other: its
    URL is read from the services' state file when the session is created, so the definitions load while
    it is down and a step that needs it fails with "run `lakehouse services up --cluster`"."""
    from lakehouse.services.resources import local_cluster_engine as on_local_cluster

    return on_local_cluster(services)


def operator_engine() -> SparkEngine:
    """The engine for operator commands that run outside Dagster (``lakehouse sql``): the code location's
    choice, with a Spark Connect URL given by ``EnvVar`` read now (only Dagster resolves an ``EnvVar``)."""
    engine = engine_resource()
    if isinstance(engine.remote_url, dg.EnvVar):
        return SparkEngine(mode=engine.mode, remote_url=engine.remote_url.get_value())
    return engine


def lake_resource() -> Lake:
    """The lake: ``EnvVar(LAKEHOUSE_LAKE_ROOT)`` in prod, the local root otherwise."""
    if not is_local():
        return Lake(root_uri=dg.EnvVar(LAKE_ROOT_ENV_VAR))
    return Lake(root_uri=lake_root())


def operator_lake() -> Lake:
    """The lake for operator commands that run outside Dagster (``lakehouse table``, ``sql``, ...): the
    same root as the code location's, read from the settings now."""
    return Lake(root_uri=lake_root())


def io_manager_resource(engine: SparkEngine, lake: Lake) -> DeltaSparkIOManager:
    return DeltaSparkIOManager(lake=lake, engine=engine)


def snowflake_resource(services: LocalServices | None = None) -> SnowflakeResource:
    """``SnowflakeResource`` for database RETAIL: the local fakesnow server, or Snowflake from env vars.

    Prod env vars: SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER, SNOWFLAKE_PASSWORD, SNOWFLAKE_WAREHOUSE;
    optional SNOWFLAKE_ROLE, SNOWFLAKE_DATABASE (default RETAIL).
    """
    if is_local():
        from lakehouse.services.resources import local_snowflake_resource

        return local_snowflake_resource(services)
    from dagster_snowflake import SnowflakeResource

    from lakehouse.services.snowflake import DATABASE

    return SnowflakeResource(
        account=dg.EnvVar("SNOWFLAKE_ACCOUNT"),
        user=dg.EnvVar("SNOWFLAKE_USER"),
        password=dg.EnvVar("SNOWFLAKE_PASSWORD"),
        warehouse=dg.EnvVar("SNOWFLAKE_WAREHOUSE"),
        role=_optional_env_var("SNOWFLAKE_ROLE"),
        database=_optional_env_var("SNOWFLAKE_DATABASE") or DATABASE,
    )


def redshift_resource(services: LocalServices | None = None) -> RedshiftClientResource:
    """``RedshiftClientResource`` for database ``analytics``: local PostgreSQL, or Redshift from env vars.

    Prod env vars: REDSHIFT_HOST, REDSHIFT_USER, REDSHIFT_PASSWORD; optional REDSHIFT_PORT (default
    5439), REDSHIFT_DATABASE (default analytics).
    """
    if is_local():
        from lakehouse.services.resources import local_redshift_resource

        return local_redshift_resource(services)
    from dagster_aws.redshift import RedshiftClientResource

    from lakehouse.services.postgres import DATABASE

    return RedshiftClientResource(
        host=dg.EnvVar("REDSHIFT_HOST"),
        port=dg.EnvVar.int("REDSHIFT_PORT") if "REDSHIFT_PORT" in os.environ else 5439,
        user=dg.EnvVar("REDSHIFT_USER"),
        password=dg.EnvVar("REDSHIFT_PASSWORD"),
        database=_optional_env_var("REDSHIFT_DATABASE") or DATABASE,
    )


def pii_resource() -> PiiMasking:
    """The ``pii`` resource. Prod: the salt is ``EnvVar(LAKEHOUSE_PII_SALT)``, resolved when a run starts;
    a run without it fails before reading any data. Local: the same variable when it is set, otherwise the
    development salt."""
    if not is_local():
        return PiiMasking(salt=dg.EnvVar(PII_SALT_ENV_VAR), allow_development_salt=False)
    if os.environ.get(PII_SALT_ENV_VAR):
        return PiiMasking(salt=dg.EnvVar(PII_SALT_ENV_VAR), allow_development_salt=True)
    return PiiMasking(salt=DEVELOPMENT_SALT, allow_development_salt=True)


def build_resources() -> dict[str, Any]:
    """Every resource key the assets, checks and sensors use, for the active deployment."""
    engine, lake = engine_resource(), lake_resource()
    return {
        "engine": engine,
        "lake": lake,
        "io_manager": io_manager_resource(engine, lake),
        "snowflake": snowflake_resource(),
        "redshift": redshift_resource(),
        "pii": pii_resource(),
        "alerts": alerts_resource(),
    }


def executor() -> dg.ExecutorDefinition:
    """Locally every step shares the process's embedded engine, which already uses every core; against a
    remote engine steps are thin clients and run in parallel processes."""
    return dg.in_process_executor if is_local() else dg.multiprocess_executor


def _optional_env_var(name: str) -> dg.EnvVar | None:
    """An ``EnvVar`` if the variable is set, so optional settings stay unset rather than failing."""
    return dg.EnvVar(name) if name in os.environ else None
