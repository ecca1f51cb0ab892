"""The source and engine resources pointed at the local services of one ``$LAKEHOUSE_HOME``.

``lakehouse.resources`` chooses these or production's. Building them reads nothing and needs nothing
running: each holds the ``$LAKEHOUSE_HOME`` whose services it uses, and reads the service's address from
the state file when it connects (a step or a sensor using it), so the definitions load while the services
are down, and a step that needs a stopped one fails with "run `lakehouse services up`".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster_aws.redshift import RedshiftClient, RedshiftClientResource
from dagster_snowflake import SnowflakeResource
from pydantic import Field

from lakehouse.engine import EngineMode, SparkEngine
from lakehouse.services import postgres, snowflake
from lakehouse.services.local import SNOWFLAKE_SESSION_TIMEZONE, LocalServices, snowflake_local_session_args
from lakehouse.services.state import LOOPBACK
from lakehouse.settings import lakehouse_home
from lakehouse.sources.extraction import ExtractionMode, mode_field, parallelism_field

# fail fast locally instead of the connector's default of retrying a refused login for a minute
LOCAL_LOGIN_TIMEOUT_SECONDS = 15

_HOME_DESCRIPTION = "The LAKEHOUSE_HOME whose local services serve this resource; their address is read when it connects."


class LocalSnowflakeResource(SnowflakeResource):
    """dagster-snowflake's ``SnowflakeResource`` on the fakesnow server of ``services_home``: everything
    but the address is configuration; host and port are read from the services' state file when a
    connection is made."""

    services_home: str = Field(description=_HOME_DESCRIPTION)
    extraction: str = mode_field(ExtractionMode.STREAM)  # fakesnow has neither an unload nor a stage

    @property
    def _connection_args(self) -> Mapping[str, Any]:
        # the connector's keyword arguments (dagster-snowflake builds them here for get_connection)
        host, port = LocalServices(self.services_home).snowflake_address()
        return {**super()._connection_args, "host": host, "port": port}


class LocalRedshiftClientResource(RedshiftClientResource):
    """dagster-aws's ``RedshiftClientResource`` on the PostgreSQL of ``services_home``: host and port are
    read from the services' state file when a client is made (the ``host`` and ``port`` fields are not
    used)."""

    host: str = Field(default=LOOPBACK, description="Not used: the running service's host is.")
    services_home: str = Field(description=_HOME_DESCRIPTION)
    extraction: str = mode_field(ExtractionMode.PARALLEL)
    extraction_parallelism: int = parallelism_field()

    def get_client(self) -> RedshiftClient:
        host, port = LocalServices(self.services_home).redshift_address()
        client = super().get_client()
        client.conn_args.update(host=host, port=port)
        return client


class LocalClusterEngine(SparkEngine):
    """The engine on the local Sail cluster of ``services_home`` (``lakehouse services up --cluster``), a
    Spark Connect endpoint like any other: its URL is read from the services' state file when the session
    is created."""

    mode: EngineMode = Field(default=EngineMode.REMOTE, description="Always remote: a Spark Connect endpoint.")
    services_home: str = Field(description=_HOME_DESCRIPTION)

    def remote_endpoint(self) -> str:
        return LocalServices(self.services_home).spark_remote_url()


def services_home(services: LocalServices | None) -> str:
    """The home of ``services``, or ``$LAKEHOUSE_HOME`` (read from the environment, no file touched)."""
    return str(services.home if services is not None else lakehouse_home())


def local_snowflake_resource(services: LocalServices | None = None) -> LocalSnowflakeResource:
    """``SnowflakeResource`` for database RETAIL on the local fakesnow server, session time zone UTC."""
    return LocalSnowflakeResource(
        services_home=services_home(services),
        account=snowflake.ACCOUNT,
        user=snowflake.USER,
        password=snowflake.PASSWORD,
        database=snowflake.DATABASE,
        timezone=SNOWFLAKE_SESSION_TIMEZONE,
        login_timeout=LOCAL_LOGIN_TIMEOUT_SECONDS,
        additional_snowflake_connection_args={"protocol": "http", **snowflake_local_session_args()},
    )


def local_redshift_resource(services: LocalServices | None = None) -> LocalRedshiftClientResource:
    """``RedshiftClientResource`` for database ``analytics`` on the local PostgreSQL."""
    return LocalRedshiftClientResource(
        services_home=services_home(services),
        user=postgres.USER,
        password=postgres.PASSWORD,
        database=postgres.DATABASE,
        # the embedded PostgreSQL serves plain TCP on loopback only
        sslmode="disable",
    )


def local_cluster_engine(services: LocalServices | None = None) -> LocalClusterEngine:
    """The engine on the local Sail cluster; its URL is read when the session is created."""
    return LocalClusterEngine(services_home=services_home(services))
