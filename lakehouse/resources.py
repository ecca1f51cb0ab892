"""The resources of the active deployment, chosen here and nowhere else.

Local (``LAKEHOUSE_ENV=local``, the default): embedded Sail (or whatever ``LAKEHOUSE_ENGINE`` /
``LAKEHOUSE_SPARK_REMOTE`` say; ``LAKEHOUSE_ENGINE=cluster`` is the local Sail cluster), the lake under
``$LAKEHOUSE_HOME/lake`` (or ``LAKEHOUSE_LAKE_ROOT``), the local fakesnow and PostgreSQL services, and the
development PII salt unless one is set.
Prod (``LAKEHOUSE_ENV=prod``): a Spark Connect endpoint, an ``s3://`` lake root, the real Snowflake
(key-pair authentication, a password only as the fallback) and Redshift (over verified SSL) and a secret PII
salt, all from ``dagster.EnvVar``s resolved at run time, so no secret is read here or stored in the
definitions; the lake on S3 takes its credentials from the standard AWS chain (``lakehouse.lake.storage``).
The settings are listed in docs/engines.md ("Production settings").

Every function reads the environment when called (when the definitions are built), never at import; a
function may look at whether an optional variable is set, never at a secret's value. Building the resources
needs nothing running: the local services are looked up when a step or sensor uses them.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import dagster as dg
from dagster_aws.redshift import RedshiftClient, RedshiftClientResource
from dagster_snowflake import SnowflakeResource
from pydantic import Field, model_validator

from lakehouse.engine import EngineMode, SparkEngine
from lakehouse.governance.pii import DEVELOPMENT_SALT, PII_SALT_ENV_VAR, PiiMasking
from lakehouse.io import DeltaSparkIOManager
from lakehouse.lake import Lake
from lakehouse.observability.alerts import alerts_resource
from lakehouse.settings import LAKE_ROOT_ENV_VAR, Deployment, deployment, lake_root
from lakehouse.sources.extraction import ExtractionMode, mode_field, parallelism_field

if TYPE_CHECKING:
    from lakehouse.services.local import LocalServices

ENGINE_MODE_ENV_VAR = "LAKEHOUSE_ENGINE"
SPARK_REMOTE_ENV_VAR = "LAKEHOUSE_SPARK_REMOTE"
# embedded Sail's memory pool (SparkEngine.memory_limit), e.g. 4g; "none" leaves it unbounded
ENGINE_MEMORY_LIMIT_ENV_VAR = "LAKEHOUSE_ENGINE_MEMORY_LIMIT"
# the LAKEHOUSE_ENGINE value for the Sail cluster `lakehouse services up --cluster` started
LOCAL_CLUSTER_ENGINE = "cluster"

# Snowflake authentication in prod, in order of preference: key-pair (the key's PEM text, or the same
# base64-encoded, or a file), then a password
SNOWFLAKE_PRIVATE_KEY_ENV_VAR = "SNOWFLAKE_PRIVATE_KEY"
SNOWFLAKE_PRIVATE_KEY_PATH_ENV_VAR = "SNOWFLAKE_PRIVATE_KEY_PATH"
SNOWFLAKE_PRIVATE_KEY_PASSPHRASE_ENV_VAR = "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"
SNOWFLAKE_PASSWORD_ENV_VAR = "SNOWFLAKE_PASSWORD"
SNOWFLAKE_AUTHENTICATION_MISSING = (
    f"Snowflake authentication is not configured: set {SNOWFLAKE_PRIVATE_KEY_ENV_VAR} or "
    f"{SNOWFLAKE_PRIVATE_KEY_PATH_ENV_VAR} (key-pair, with {SNOWFLAKE_PRIVATE_KEY_PASSPHRASE_ENV_VAR} for an "
    f"encrypted key), or {SNOWFLAKE_PASSWORD_ENV_VAR}"
)
# Redshift over SSL in prod: libpq's sslmode, and the root certificate that verifies the server
REDSHIFT_SSLMODE_ENV_VAR = "REDSHIFT_SSLMODE"
REDSHIFT_SSLROOTCERT_ENV_VAR = "REDSHIFT_SSLROOTCERT"
DEFAULT_REDSHIFT_SSLMODE = "verify-full"
# How bronze extracts each source in prod (lakehouse.sources.extraction): by default the warehouse unloads
# the window to the lake's landing prefix
SNOWFLAKE_EXTRACTION_ENV_VAR = "LAKEHOUSE_SNOWFLAKE_EXTRACTION"
SNOWFLAKE_UNLOAD_STAGE_ENV_VAR = "LAKEHOUSE_SNOWFLAKE_UNLOAD_STAGE"
REDSHIFT_EXTRACTION_ENV_VAR = "LAKEHOUSE_REDSHIFT_EXTRACTION"
REDSHIFT_UNLOAD_IAM_ROLE_ENV_VAR = "LAKEHOUSE_REDSHIFT_UNLOAD_IAM_ROLE"
LIBPQ_SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


class ProductionSnowflakeResource(SnowflakeResource):
    """dagster-snowflake's ``SnowflakeResource`` with the credentials ``snowflake_authentication`` picks.

    It also loads with no credential set (a code location is validated where no secret exists); a step or
    sensor that uses it then fails with one line naming the variables to set.
    """

    extraction: str = mode_field(ExtractionMode.UNLOAD)
    unload_stage: str | None = Field(
        default=None,
        description="The external stage 'unload' writes through, e.g. @RETAIL.PUBLIC.LAKE_LANDING; its URL "
        "must be the lake's _landing/ prefix.",
    )

    @model_validator(mode="before")
    @classmethod
    def validate_authentication(cls, values: Any) -> Any:
        # replaces SnowflakeResource's check of the same name, which refuses a resource with no credential
        methods = [name for name in ("password", "private_key", "private_key_path") if values.get(name) is not None]
        if len(methods) > 1:
            raise ValueError(f"Snowflake takes one authentication method, got {' and '.join(methods)}")
        return values

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if all(v is None for v in (self.password, self.private_key, self.private_key_path, self.authenticator)):
            raise ValueError(SNOWFLAKE_AUTHENTICATION_MISSING)


class ProductionRedshiftClientResource(RedshiftClientResource):
    """dagster-aws's ``RedshiftClientResource`` over SSL: ``sslmode`` (default ``verify-full``: encrypted,
    the certificate verified and issued to the host) and the root certificate libpq verifies it with."""

    sslmode: str = Field(default=DEFAULT_REDSHIFT_SSLMODE, description=f"libpq sslmode: {', '.join(LIBPQ_SSLMODES)}.")
    sslrootcert: str | None = Field(
        default=None,
        description="libpq sslrootcert: a CA bundle file, or 'system' for the system's trusted roots; "
        "unset, libpq reads ~/.postgresql/root.crt.",
    )
    extraction: str = mode_field(ExtractionMode.UNLOAD)
    extraction_parallelism: int = parallelism_field()
    unload_iam_role: str | None = Field(
        default=None, description="The IAM role ARN 'unload' lets Redshift write the lake's landing prefix with."
    )

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if self.sslmode not in LIBPQ_SSLMODES:
            raise ValueError(
                f"{REDSHIFT_SSLMODE_ENV_VAR}={self.sslmode!r} is not one of: {', '.join(LIBPQ_SSLMODES)}"
            )

    def get_client(self) -> RedshiftClient:
        client = super().get_client()
        if self.sslrootcert:
            client.conn_args["sslrootcert"] = self.sslrootcert
        return client


def is_local() -> bool:
    return deployment() is Deployment.LOCAL


def engine_resource() -> SparkEngine:
    """Embedded Sail unless a Spark Connect URL is configured (always, in prod) or the local cluster is
    chosen (``LAKEHOUSE_ENGINE=cluster``)."""
    if not is_local():
        return SparkEngine(mode=EngineMode.REMOTE, remote_url=dg.EnvVar(SPARK_REMOTE_ENV_VAR))
    mode = os.environ.get(ENGINE_MODE_ENV_VAR)
    if mode == LOCAL_CLUSTER_ENGINE:
        # the local Sail cluster's URL is read from the services' state file when the session is created,
        # so the definitions load while it is down ("run `lakehouse services up --cluster`" when used)
        from lakehouse.services.resources import local_cluster_engine

        return local_cluster_engine()
    if os.environ.get(SPARK_REMOTE_ENV_VAR):
        return SparkEngine(mode=mode or EngineMode.REMOTE, remote_url=dg.EnvVar(SPARK_REMOTE_ENV_VAR))
    limit = os.environ.get(ENGINE_MEMORY_LIMIT_ENV_VAR)
    return SparkEngine(mode=mode or EngineMode.EMBEDDED, **({"memory_limit": limit} if limit else {}))


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
    """``SnowflakeResource`` for database RETAIL, session time zone UTC: the local fakesnow server, or
    Snowflake from env vars.

    Prod env vars: SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER, SNOWFLAKE_WAREHOUSE; optional SNOWFLAKE_ROLE,
    SNOWFLAKE_DATABASE (default RETAIL); authentication as ``snowflake_authentication`` says.
    """
    if is_local():
        from lakehouse.services.resources import local_snowflake_resource

        return local_snowflake_resource(services)
    from lakehouse.services.local import SNOWFLAKE_SESSION_TIMEZONE
    from lakehouse.services.snowflake import DATABASE

    return ProductionSnowflakeResource(
        account=dg.EnvVar("SNOWFLAKE_ACCOUNT"),
        user=dg.EnvVar("SNOWFLAKE_USER"),
        warehouse=dg.EnvVar("SNOWFLAKE_WAREHOUSE"),
        role=_optional_env_var("SNOWFLAKE_ROLE"),
        database=_optional_env_var("SNOWFLAKE_DATABASE") or DATABASE,
        timezone=SNOWFLAKE_SESSION_TIMEZONE,
        extraction=_optional_env_var(SNOWFLAKE_EXTRACTION_ENV_VAR) or ExtractionMode.UNLOAD.value,
        unload_stage=_optional_env_var(SNOWFLAKE_UNLOAD_STAGE_ENV_VAR),
        **snowflake_authentication(),
    )


def snowflake_authentication() -> dict[str, dg.EnvVar]:
    """The prod Snowflake credentials, as ``EnvVar``s chosen by which variables are set (their values are
    read at run time): key-pair authentication with ``SNOWFLAKE_PRIVATE_KEY`` (the key's PEM text, or that
    text base64-encoded) or else ``SNOWFLAKE_PRIVATE_KEY_PATH`` (a PEM file), each with
    ``SNOWFLAKE_PRIVATE_KEY_PASSPHRASE`` if the key is encrypted; ``SNOWFLAKE_PASSWORD`` only when no key is
    set. None set: nothing, and the resource fails when used (``SNOWFLAKE_AUTHENTICATION_MISSING``)."""
    passphrase = _optional_env_var(SNOWFLAKE_PRIVATE_KEY_PASSPHRASE_ENV_VAR)
    key = {"private_key_password": passphrase} if passphrase is not None else {}
    if SNOWFLAKE_PRIVATE_KEY_ENV_VAR in os.environ:
        return {"private_key": dg.EnvVar(SNOWFLAKE_PRIVATE_KEY_ENV_VAR), **key}
    if SNOWFLAKE_PRIVATE_KEY_PATH_ENV_VAR in os.environ:
        return {"private_key_path": dg.EnvVar(SNOWFLAKE_PRIVATE_KEY_PATH_ENV_VAR), **key}
    if SNOWFLAKE_PASSWORD_ENV_VAR in os.environ:
        return {"password": dg.EnvVar(SNOWFLAKE_PASSWORD_ENV_VAR)}
    return {}


def redshift_resource(services: LocalServices | None = None) -> RedshiftClientResource:
    """``RedshiftClientResource`` for database ``analytics``: local PostgreSQL, or Redshift from env vars.

    Prod env vars: REDSHIFT_HOST, REDSHIFT_USER, REDSHIFT_PASSWORD; optional REDSHIFT_PORT (default
    5439), REDSHIFT_DATABASE (default analytics), REDSHIFT_SSLMODE (default verify-full) and
    REDSHIFT_SSLROOTCERT (a CA bundle file, or ``system``; unset, libpq's ``~/.postgresql/root.crt``).
    """
    if is_local():
        from lakehouse.services.resources import local_redshift_resource

        return local_redshift_resource(services)
    from lakehouse.services.postgres import DATABASE

    return ProductionRedshiftClientResource(
        host=dg.EnvVar("REDSHIFT_HOST"),
        port=dg.EnvVar.int("REDSHIFT_PORT") if "REDSHIFT_PORT" in os.environ else 5439,
        user=dg.EnvVar("REDSHIFT_USER"),
        password=dg.EnvVar("REDSHIFT_PASSWORD"),
        database=_optional_env_var("REDSHIFT_DATABASE") or DATABASE,
        sslmode=_optional_env_var(REDSHIFT_SSLMODE_ENV_VAR) or DEFAULT_REDSHIFT_SSLMODE,
        sslrootcert=_optional_env_var(REDSHIFT_SSLROOTCERT_ENV_VAR),
        extraction=_optional_env_var(REDSHIFT_EXTRACTION_ENV_VAR) or ExtractionMode.UNLOAD.value,
        unload_iam_role=_optional_env_var(REDSHIFT_UNLOAD_IAM_ROLE_ENV_VAR),
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
