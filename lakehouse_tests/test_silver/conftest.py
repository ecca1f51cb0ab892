"""Bronze + silver materialized through Dagster and the real Delta IO manager on a lake of this module's own.

The source data is test_bronze's generation (the same fixture, so the shared local services never hold
another one); the lake root is private to these tests.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from lakehouse.governance import PiiMasking
from lakehouse.resources import redshift_resource, snowflake_resource
from lakehouse_tests.support import lake_resources
from lakehouse_tests.test_silver.support import BACKFILL_WINDOW, LAST_DAY, SALT, SilverLake, materialize_layers


@pytest.fixture(scope="module")
def silver_lake(
    engine,
    local_services,
    generated_sources,
    tmp_path_factory,
) -> Iterator[SilverLake]:
    """Bronze + silver for the first two days in one backfill run, then the third day on its own."""
    root = str(Path(tmp_path_factory.mktemp("silver")) / "lake")
    resources = {
        **lake_resources(engine, root),
        "snowflake": snowflake_resource(local_services),
        "redshift": redshift_resource(local_services),
        "pii": PiiMasking(salt=SALT),
    }
    backfill = materialize_layers(resources, window=BACKFILL_WINDOW)
    last_day = materialize_layers(resources, partition=LAST_DAY)
    yield SilverLake(root, resources, backfill, last_day, generated_sources)
