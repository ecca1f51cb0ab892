"""Generated sources loaded once into the session's local services, and a fresh lake per test."""

import pytest

from lakehouse.resources import redshift_resource, snowflake_resource
from lakehouse_tests.support import lake_resources


@pytest.fixture
def lake_root(tmp_path) -> str:
    return str(tmp_path / "lake")


@pytest.fixture
def bronze_resources(engine, local_services, generated_sources, lake_root) -> dict:
    return {
        **lake_resources(engine, lake_root),
        "snowflake": snowflake_resource(local_services),
        "redshift": redshift_resource(local_services),
    }
