"""A real chain for the blocking tests: bronze/products from the local Snowflake, silver/products and
gold/dim_product, with bronze's real suite and silver's suite plus one expectation every generated product
breaks, at a chosen severity. Shared by the quality tests and the fault-injection suite."""

import dagster as dg

from lakehouse.bronze import bronze_assets
from lakehouse.contracts import load_contracts
from lakehouse.gold.definitions import gold_assets
from lakehouse.governance import PiiMasking
from lakehouse.quality import build_quality_check, derive_suite, great_expectations_checks, parse_expectations
from lakehouse.resources import snowflake_resource
from lakehouse.silver import silver_assets
from lakehouse_tests.support import lake_resources

BRONZE, SILVER, GOLD = (
    dg.AssetKey(["bronze", "products"]),
    dg.AssetKey(["silver", "products"]),
    dg.AssetKey(["gold", "dim_product"]),
)
DAY = "2026-01-01"


def _only(assets, key):
    return next(a for a in assets if key in a.keys)


def blocking_chain() -> list:
    """The three real assets and the real check of bronze/products."""
    assets = [_only(bronze_assets(), BRONZE), _only(silver_assets(), SILVER), _only(gold_assets(), GOLD)]
    [bronze_check] = [c for c in great_expectations_checks(assets) if c.check_key.asset_key == BRONZE]
    return [*assets, bronze_check]


def silver_check(severity: str) -> dg.AssetChecksDefinition:
    """silver/products' suite plus one expectation every generated product breaks: no price under a cent."""
    contract = load_contracts()["silver.products"]
    extra = parse_expectations(
        {
            "expectations_version": 1,
            "layer": "silver",
            "table": "products",
            "expectations": [
                {
                    "id": "injected_price_below_a_cent",
                    "type": "expect_column_values_to_be_between",
                    "kwargs": {"column": "unit_price", "max_value": 0.01},
                    "severity": severity,
                    "description": "Injected failure.",
                }
            ],
        },
        contract=contract,
    )
    return build_quality_check(derive_suite(contract, extra))


def run_chain(chain, severity, local_services, engine, lake_root):
    resources = {
        **lake_resources(engine, lake_root),
        "snowflake": snowflake_resource(local_services),
        "pii": PiiMasking(salt="quality-test-salt", allow_development_salt=True),
    }
    return dg.materialize(
        [*chain, silver_check(severity)], resources=resources, partition_key=DAY, raise_on_error=False
    )


def materialized(result) -> set[dg.AssetKey]:
    return {event.asset_key for event in result.get_asset_materialization_events()}
