"""The lakehouse's own assets with lineage, and every resource they take, on the session's engine and
services: what the lineage tests run."""

import dagster as dg

from lakehouse.bronze import bronze_assets
from lakehouse.gold.definitions import gold_assets
from lakehouse.governance import PiiMasking
from lakehouse.lineage import with_lineage
from lakehouse.resources import redshift_resource, snowflake_resource
from lakehouse.silver import silver_assets
from lakehouse_tests.support import lake_resources


def lakehouse_resources(engine, local_services, lake_root: str) -> dict:
    """The lake's resources at ``lake_root`` (``lakehouse_tests.support.lake_resources``), both sources on
    the local services and PII masking with a test salt: every resource the lakehouse's assets take."""
    return {
        **lake_resources(engine, lake_root),
        "snowflake": snowflake_resource(local_services),
        "redshift": redshift_resource(local_services),
        "pii": PiiMasking(salt="lineage-test-salt", allow_development_salt=True),
    }


def lakehouse_assets() -> list[dg.AssetsDefinition]:
    """Every bronze, silver and gold asset, with lineage, as the definitions build them."""
    return with_lineage([*bronze_assets(), *silver_assets(), *gold_assets()])
