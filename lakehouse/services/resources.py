"""Dagster resources for the two source systems, for the active deployment.

Local: pointed at the servers ``lakehouse services up`` started (ports from the state file).
Prod: configured only from ``dagster.EnvVar``s, resolved by Dagster at run time, so no secret is read
here or stored in the definitions.

Called when definitions are built, never at import.
"""

from __future__ import annotations

import os

import dagster as dg
from dagster_aws.redshift import RedshiftClientResource
from dagster_snowflake import SnowflakeResource

from lakehouse.services import postgres, snowflake
from lakehouse.services.local import LocalServices, snowflake_local_session_args
from lakehouse.settings import Deployment, deployment

# fail fast locally instead of the connector's default of retrying a refused login for a minute
LOCAL_LOGIN_TIMEOUT_SECONDS = 15


def snowflake_resource(services: LocalServices | None = None) -> SnowflakeResource:
    """``SnowflakeResource`` for database RETAIL: the local fakesnow server, or Snowflake from env vars.

    Prod env vars: SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER, SNOWFLAKE_PASSWORD, SNOWFLAKE_WAREHOUSE;
    optional SNOWFLAKE_ROLE, SNOWFLAKE_DATABASE (default RETAIL).
    """
    if deployment() is Deployment.PROD:
        return SnowflakeResource(
            account=dg.EnvVar("SNOWFLAKE_ACCOUNT"),
            user=dg.EnvVar("SNOWFLAKE_USER"),
            password=dg.EnvVar("SNOWFLAKE_PASSWORD"),
            warehouse=dg.EnvVar("SNOWFLAKE_WAREHOUSE"),
            role=_optional_env_var("SNOWFLAKE_ROLE"),
            database=_optional_env_var("SNOWFLAKE_DATABASE") or snowflake.DATABASE,
        )
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


def redshift_resource(services: LocalServices | None = None) -> RedshiftClientResource:
    """``RedshiftClientResource`` for database ``analytics``: local PostgreSQL, or Redshift from env vars.

    Prod env vars: REDSHIFT_HOST, REDSHIFT_USER, REDSHIFT_PASSWORD; optional REDSHIFT_PORT (default
    5439), REDSHIFT_DATABASE (default analytics).
    """
    if deployment() is Deployment.PROD:
        return RedshiftClientResource(
            host=dg.EnvVar("REDSHIFT_HOST"),
            port=dg.EnvVar.int("REDSHIFT_PORT") if "REDSHIFT_PORT" in os.environ else 5439,
            user=dg.EnvVar("REDSHIFT_USER"),
            password=dg.EnvVar("REDSHIFT_PASSWORD"),
            database=_optional_env_var("REDSHIFT_DATABASE") or postgres.DATABASE,
        )
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


def _optional_env_var(name: str) -> dg.EnvVar | None:
    """An ``EnvVar`` if the variable is set, so optional settings stay unset rather than failing."""
    return dg.EnvVar(name) if name in os.environ else None
