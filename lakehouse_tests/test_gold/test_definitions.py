"""The gold definitions: every asset's declaration (group, owner, kinds, description, contract schema,
partitions, inputs), its blocking checks, the great_expectations checks built from the assets, and an
import that reads no contract and starts no engine."""

import subprocess
import sys

import dagster as dg
import pytest

from lakehouse.contracts import PiiClass, contracts_dir, load_contract
from lakehouse.gold import scd2
from lakehouse.gold.calendar import DIM_DATE_COLUMNS
from lakehouse.gold.checks import FACT_CHECKS, SURROGATE_KEY_UNIQUE, UNKNOWN_MEMBER_EXISTS
from lakehouse.gold.definitions import gold_assets, gold_definitions
from lakehouse.gold.products import DIM_PRODUCT_COLUMNS
from lakehouse.gold.tables import (
    DIM_CUSTOMER,
    DIM_DATE,
    DIM_PRODUCT,
    FACT_CUSTOMER_ACTIVITY,
    FACT_ORDERS,
    SILVER_CUSTOMER_ACTIVITY,
    SILVER_CUSTOMERS,
    SILVER_ORDERS,
    SILVER_PRODUCTS,
)
from lakehouse.partitions import daily_partitions

DIMENSIONS = (DIM_CUSTOMER, DIM_PRODUCT, DIM_DATE)
FACTS = (FACT_ORDERS, FACT_CUSTOMER_ACTIVITY)


@pytest.fixture(scope="module")
def assets() -> dict[dg.AssetKey, dg.AssetsDefinition]:
    return {asset.key: asset for asset in gold_assets()}


def test_gold_assets_are_the_three_dimensions_and_the_two_facts(assets):
    assert list(assets) == [*DIMENSIONS, *FACTS]


def test_every_gold_asset_declares_group_owner_kinds_freshness_and_contract_schema(assets):
    for key, asset in assets.items():
        spec = asset.specs_by_key[key]
        contract = load_contract(contracts_dir() / "gold" / f"{key.path[-1]}.yaml")
        assert spec.group_name == "gold"
        assert spec.owners == ["team:data-platform"]
        assert spec.kinds == {"spark", "delta"}
        assert spec.description == contract.description
        assert spec.freshness_policy is not None
        schema = spec.metadata["dagster/column_schema"]
        assert all(column.tags["pii"] in {c.value for c in PiiClass} for column in schema.columns)
        assert all(column.description for column in schema.columns)
        assert {"engine", "lake"} <= asset.required_resource_keys


def test_column_schemas_are_the_tables_columns_with_pii_tags(assets):
    def columns(key: dg.AssetKey) -> list[tuple[str, str]]:
        schema = assets[key].specs_by_key[key].metadata["dagster/column_schema"]
        return [(column.name, column.type) for column in schema.columns]

    assert columns(DIM_CUSTOMER) == list(scd2.DIM_CUSTOMER_COLUMNS)
    assert columns(DIM_PRODUCT) == list(DIM_PRODUCT_COLUMNS)
    assert columns(DIM_DATE) == list(DIM_DATE_COLUMNS)
    for key in FACTS:
        contract = load_contract(contracts_dir() / "gold" / f"{key.path[-1]}.yaml")
        assert columns(key) == [(c.name, c.type) for c in contract.columns] + [("_run_date", "date")]
        schema = assets[key].specs_by_key[key].metadata["dagster/column_schema"]
        assert {c.name: c.tags.get("pii") for c in schema.columns if c.tags}.get("customer_key") == "indirect"
    customer = assets[DIM_CUSTOMER].specs_by_key[DIM_CUSTOMER].metadata["dagster/column_schema"]
    tags = {column.name: column.tags["pii"] for column in customer.columns}
    assert tags["email_hash"] == tags["customer_id"] == "indirect"
    assert tags["segment"] == tags["valid_from"] == "none"
    assert "direct" not in tags.values()  # no gold column identifies a person on its own


def test_partitions_inputs_and_dependencies(assets):
    for key in (DIM_CUSTOMER, DIM_PRODUCT, *FACTS):
        assert assets[key].partitions_def == daily_partitions()
        assert assets[key].backfill_policy == dg.BackfillPolicy.single_run()
    assert assets[DIM_DATE].partitions_def is None
    assert assets[DIM_CUSTOMER].keys_by_input_name == {"customers": SILVER_CUSTOMERS}
    # a day of dim_customer depends on that day of silver (it reads the other days' history from the lake),
    # so re-running one day of silver re-runs one day of dim_customer
    customers = assets[DIM_CUSTOMER].specs_by_key[DIM_CUSTOMER].deps[0]
    assert customers.partition_mapping is None
    assert assets[DIM_PRODUCT].keys_by_input_name == {"products": SILVER_PRODUCTS}
    orders, activity = (assets[key].specs_by_key[key] for key in FACTS)
    assert {d.asset_key for d in orders.deps} == {SILVER_ORDERS, *DIMENSIONS}
    assert {d.asset_key for d in activity.deps} == {SILVER_CUSTOMER_ACTIVITY, DIM_CUSTOMER, DIM_DATE}


def test_every_check_is_blocking(assets):
    checks = {
        (spec.asset_key, spec.name): spec.blocking for asset in assets.values() for spec in asset.check_specs
    }
    assert set(checks) == {
        (DIM_CUSTOMER, "validity_intervals_do_not_overlap"),
        (DIM_CUSTOMER, "one_current_row_per_customer"),
        (DIM_CUSTOMER, UNKNOWN_MEMBER_EXISTS),
        (DIM_CUSTOMER, SURROGATE_KEY_UNIQUE),
        (DIM_PRODUCT, UNKNOWN_MEMBER_EXISTS),
        (DIM_PRODUCT, SURROGATE_KEY_UNIQUE),
        (DIM_DATE, UNKNOWN_MEMBER_EXISTS),
        (DIM_DATE, SURROGATE_KEY_UNIQUE),
        *((key, name) for key in FACTS for name in FACT_CHECKS),
    }
    assert all(checks.values())


def test_gold_definitions_hold_the_assets_and_a_great_expectations_check_per_table():
    definitions = gold_definitions()
    keys = [asset.key for asset in definitions.assets]
    assert keys == [*DIMENSIONS, *FACTS]
    checks = {
        (spec.asset_key, spec.name, spec.blocking)
        for checks_def in definitions.asset_checks
        for spec in checks_def.check_specs
    }
    assert checks == {(key, "great_expectations", True) for key in keys}
    # with silver and the resources standing in (nothing runs), the assets and their checks resolve together
    silver = [
        dg.AssetSpec(key, partitions_def=daily_partitions())
        for key in (SILVER_CUSTOMERS, SILVER_PRODUCTS, SILVER_ORDERS, SILVER_CUSTOMER_ACTIVITY)
    ]
    stand_ins = {key: dg.ResourceDefinition.none_resource() for key in ("engine", "lake")}
    repository = dg.Definitions.merge(
        definitions, dg.Definitions(assets=silver, resources=stand_ins)
    ).get_repository_def()
    assert set(repository.asset_graph.get_all_asset_keys()) == {*keys, *(spec.key for spec in silver)}
    assert len(repository.asset_graph.asset_check_keys) == 12 + len(keys)  # the assets' own and the GX ones


def test_importing_gold_reads_no_contract_and_starts_no_engine(tmp_path):
    modules = (
        "scd2", "products", "calendar", "star", "reconciliation", "merges", "checks", "tables",
        "dim_customer", "dim_product", "dim_date", "fact_orders", "fact_customer_activity", "definitions",
    )  # fmt: skip
    code = (
        f"import sys; import {', '.join(f'lakehouse.gold.{m}' for m in modules)};"
        "assert 'pysail' not in sys.modules, 'engine imported at import time'"
    )
    env = {"PATH": "/usr/bin:/bin", "LAKEHOUSE_CONTRACTS_DIR": str(tmp_path / "no-contracts-here")}
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
