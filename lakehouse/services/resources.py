"""The source resources pointed at the local services: the servers ``lakehouse services up`` started
(ports from the state file). ``lakehouse.resources`` chooses these or production's; called when
definitions are built, never at import.
"""

from __future__ import annotations

from dagster_aws.redshift import RedshiftClientResource
from dagster_snowflake import SnowflakeResource

from lakehouse.services import postgres, snowflake
from lakehouse.services.local import LocalServices, snowflake_local_session_args

# fail fast locally instead of the connector's default of retrying a refused login for a minute
LOCAL_LOGIN_TIMEOUT_SECONDS = 15


def local_snowflake_resource(services: LocalServices | None = None) -> SnowflakeResource:
    """``SnowflakeResource`` for database RETAIL on the local fakesnow server."""
    host, port = (services or LocalServices()).snowflake_address()
    return SnowflakeResource(
        account=snowflake.ACCOUNT,
        user=snowflake.USER,
        password=snowflake.PASSWORD,
        database=snowflake.DATABASE,
        login_timeout=LOCAL_LOGIN_TIMEOUT_SECONDS,
        additional_snowflake_connection_args={
            "host": host,
            "port": port,
            "protocol": "http",
            **snowflake_local_session_args(),
        },
    )


def local_redshift_resource(services: LocalServices | None = None) -> RedshiftClientResource:
    """``RedshiftClientResource`` for database ``analytics`` on the local PostgreSQL."""
    host, port = (services or LocalServices()).redshift_address()
    return RedshiftClientResource(
        host=host,
        port=port,
        user=postgres.USER,
        password=postgres.PASSWORD,
        database=postgres.DATABASE,
        # the embedded PostgreSQL serves plain TCP on loopback only
        sslmode="disable",
    )
