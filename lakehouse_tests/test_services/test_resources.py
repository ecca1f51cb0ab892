"""Which resources each deployment gets, and the error when the local services are down."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from dagster_aws.redshift import RedshiftClientResource
from dagster_snowflake import SnowflakeResource

from lakehouse.resources import redshift_resource, snowflake_resource
from lakehouse.services import LocalServices, ServicesNotRunningError
from lakehouse.settings import DEPLOYMENT_ENV_VAR

PROD_ENV = {
    "SNOWFLAKE_ACCOUNT": "acme-xy12345",
    "SNOWFLAKE_USER": "loader",
    "SNOWFLAKE_PASSWORD": "s3cret-sf",
    "SNOWFLAKE_WAREHOUSE": "LOAD_WH",
    "SNOWFLAKE_ROLE": "LOADER",
    "REDSHIFT_HOST": "cluster.example.redshift.amazonaws.com",
    "REDSHIFT_PORT": "5440",
    "REDSHIFT_USER": "reader",
    "REDSHIFT_PASSWORD": "s3cret-rs",
}


@pytest.mark.parametrize("factory", [snowflake_resource, redshift_resource])
def test_local_resource_names_the_fix_when_services_are_down(
    factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DEPLOYMENT_ENV_VAR, "local")
    resource = factory(LocalServices(tmp_path))  # built without the services: they are looked up when used
    with pytest.raises(ServicesNotRunningError) as raised:
        if isinstance(resource, SnowflakeResource):
            with resource.get_connection():
                pass
        else:
            resource.get_client()
    message = str(raised.value)
    assert message.startswith("local services are not running: run `lakehouse services up`")
    assert "\n" not in message


def test_prod_resources_take_every_setting_from_env_vars_at_run_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DEPLOYMENT_ENV_VAR, "prod")
    snowflake, redshift = snowflake_resource(), redshift_resource()
    # built before the secrets exist: nothing is read or stored when the definitions are made
    assert "s3cret" not in repr(snowflake) + repr(redshift)
    assert all(isinstance(v, dg.EnvVar) for v in (snowflake.account, snowflake.user, redshift.host))

    for name, value in PROD_ENV.items():
        monkeypatch.setenv(name, value)
    snowflake, redshift = snowflake_resource(), redshift_resource()

    @dg.asset
    def resolved_settings(snowflake: SnowflakeResource, redshift: RedshiftClientResource) -> dict:
        return {
            "snowflake": (snowflake.account, snowflake.user, snowflake.password, snowflake.warehouse,
                          snowflake.role, snowflake.database),
            "redshift": (redshift.host, redshift.port, redshift.user, redshift.password, redshift.database,
                         redshift.sslmode),
        }

    result = dg.materialize_to_memory(
        [resolved_settings], resources={"snowflake": snowflake, "redshift": redshift}
    )
    assert result.output_for_node("resolved_settings") == {
        "snowflake": ("acme-xy12345", "loader", "s3cret-sf", "LOAD_WH", "LOADER", "RETAIL"),
        "redshift": ("cluster.example.redshift.amazonaws.com", 5440, "reader", "s3cret-rs", "analytics",
                     "verify-full"),
    }


@pytest.mark.parametrize("deployment", ["local", "prod"])
def test_operator_commands_reach_the_configured_spark_connect_url(deployment, monkeypatch) -> None:
    """``lakehouse sql`` runs outside Dagster, which alone resolves an ``EnvVar``: the URL is read at once."""
    from lakehouse.resources import SPARK_REMOTE_ENV_VAR, engine_resource, operator_engine

    monkeypatch.setenv(DEPLOYMENT_ENV_VAR, deployment)
    monkeypatch.setenv(SPARK_REMOTE_ENV_VAR, "sc://spark.internal:15002")
    assert isinstance(engine_resource().remote_url, dg.EnvVar)  # the code location resolves it per run
    assert operator_engine().session_config()["spark.remote"] == "sc://spark.internal:15002"
