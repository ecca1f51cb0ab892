"""Lineage test fixtures: the lakehouse's own assets with lineage, on the session's engine and services."""

import os
from collections.abc import Iterator

import dagster as dg
import pytest

from lakehouse.bronze import bronze_assets
from lakehouse.gold.definitions import gold_assets
from lakehouse.governance import PiiMasking
from lakehouse.lineage import with_lineage
from lakehouse.resources import redshift_resource, snowflake_resource
from lakehouse.silver import silver_assets
from lakehouse_tests import support


@pytest.fixture(autouse=True)
def isolated_openlineage_environment() -> Iterator[None]:
    """Each test configures OpenLineage itself; the client may add ``OPENLINEAGE__*`` variables of its
    own (it aliases ``OPENLINEAGE_URL``), so every such variable is put back afterwards."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("OPENLINEAGE")}
    for name in saved:
        del os.environ[name]
    yield
    for name in [k for k in os.environ if k.startswith("OPENLINEAGE")]:
        del os.environ[name]
    os.environ.update(saved)


def lake_resources(engine, local_services, lake_root: str) -> dict:
    return {
        **support.lake_resources(engine, lake_root),
        "snowflake": snowflake_resource(local_services),
        "redshift": redshift_resource(local_services),
        "pii": PiiMasking(salt="lineage-test-salt", allow_development_salt=True),
    }


def lakehouse_assets() -> list[dg.AssetsDefinition]:
    """Every bronze, silver and gold asset, with lineage, as the definitions build them."""
    return with_lineage([*bronze_assets(), *silver_assets(), *gold_assets()])
