"""What every silver asset declares: keys, group, owners, kinds, schema with PII tags, partitions, inputs."""

import dagster as dg
import pytest

from lakehouse.bronze import bronze_assets
from lakehouse.contracts import PiiClass, load_contracts
from lakehouse.engine import SparkEngine
from lakehouse.governance import HASH_SUFFIX, MASKED_PII_CLASSES, PiiMasking, masked_columns
from lakehouse.partitions import daily_partitions
from lakehouse.silver import silver_assets
from lakehouse.silver.transforms import DEFAULT_LOOKBACK_DAYS
from lakehouse_tests.support import lake_resources

SILVER_TABLES = ("customers", "products", "orders", "behavior_events", "customer_activity")


@pytest.fixture(scope="module")
def assets() -> dict[str, dg.AssetsDefinition]:
    return {a.key.path[1]: a for a in silver_assets()}


@pytest.fixture(scope="module")
def silver_contracts():
    return load_contracts(layer="silver")


def spec(asset: dg.AssetsDefinition) -> dg.AssetSpec:
    return asset.specs_by_key[asset.key]


def test_one_asset_per_silver_table_and_contract(assets, silver_contracts):
    assert sorted(assets) == sorted(SILVER_TABLES)
    assert sorted(silver_contracts) == sorted(f"silver.{t}" for t in SILVER_TABLES)
    assert all(c.source is None and c.layer == "silver" for c in silver_contracts.values())


@pytest.mark.parametrize("table", SILVER_TABLES)
def test_asset_declares_group_owner_kinds_partitions_and_backfill_policy(assets, silver_contracts, table):
    asset = assets[table]
    declared = spec(asset)
    assert asset.key == dg.AssetKey(["silver", table])
    assert declared.group_name == "silver"
    assert declared.owners == ["team:data-platform"]
    assert {"spark", "delta"} <= set(declared.kinds)
    assert declared.description == silver_contracts[f"silver.{table}"].description
    assert asset.partitions_def == daily_partitions()
    assert asset.backfill_policy == dg.BackfillPolicy.single_run()
    # engine and lake: the table's check, when the asset runs it in its step (checked=True)
    assert {"io_manager"} <= asset.required_resource_keys <= {"io_manager", "pii", "engine", "lake"}


@pytest.mark.parametrize("table", SILVER_TABLES)
def test_column_schema_comes_from_the_contract_with_pii_tags(assets, silver_contracts, table):
    schema = spec(assets[table]).metadata["dagster/column_schema"]
    contract = silver_contracts[f"silver.{table}"]
    assert [c.name for c in schema.columns] == [*contract.column_names, "_run_date"]
    for column in schema.columns[:-1]:
        declared = contract.column(column.name)
        assert (column.type, column.tags) == (declared.type, {"pii": declared.pii.value})
        assert column.description == declared.description


def test_silver_masks_what_bronze_classes_direct_and_keeps_no_direct_class(silver_contracts):
    bronze = load_contracts(layer="bronze")["bronze.customers"]
    customers = silver_contracts["silver.customers"]
    for name in masked_columns(bronze):
        assert name not in customers.column_names
        assert customers.column(f"{name}{HASH_SUFFIX}").pii is PiiClass.INDIRECT
    clear = [
        f"{c.name}.{col.name}"
        for c in silver_contracts.values()
        for col in c.columns
        if col.pii in MASKED_PII_CLASSES
    ]
    assert clear == [], "a silver column is classified as PII that must be masked"


def test_inputs_and_lookbacks(assets):
    def mappings(table: str) -> dict[tuple[str, ...], object]:
        asset = assets[table]
        return {
            tuple(key.path): asset.get_partition_mapping(key) for key in asset.keys_by_input_name.values()
        }

    assert set(mappings("customers")) == {("bronze", "customers")}
    assert set(mappings("behavior_events")) == {("bronze", "behavior_events")}
    orders = mappings("orders")
    assert set(orders) == {("bronze", "orders"), ("bronze", "order_items")}
    assert all(m.start_offset == -DEFAULT_LOOKBACK_DAYS and m.end_offset == 0 for m in orders.values())
    activity = mappings("customer_activity")
    assert set(activity) == {("silver", "orders"), ("silver", "behavior_events"), ("silver", "customers")}
    assert activity[("silver", "customers")].start_offset == -DEFAULT_LOOKBACK_DAYS


def test_lookback_reach_is_a_parameter(assets):
    longer = {a.key.path[1]: a for a in silver_assets(lookback_days=60)}
    key = dg.AssetKey(["bronze", "orders"])
    assert longer["orders"].get_partition_mapping(key).start_offset == -60
    with pytest.raises(ValueError, match="lookback_days"):
        silver_assets(lookback_days=-1)


def test_bronze_and_silver_load_as_one_code_location():
    engine = SparkEngine()  # lazy: nothing starts
    defs = dg.Definitions(
        assets=[*bronze_assets(), *silver_assets()],
        resources={
            **lake_resources(engine, "/tmp/unused-lake"),
            "pii": PiiMasking(salt="s"),
            "snowflake": dg.ResourceDefinition.none_resource(),
            "redshift": dg.ResourceDefinition.none_resource(),
        },
    )
    graph = defs.resolve_asset_graph()
    silver_keys = {k for k in graph.get_all_asset_keys() if k.path[0] == "silver"}
    assert silver_keys == {dg.AssetKey(["silver", t]) for t in SILVER_TABLES}
    assert (
        dg.AssetKey(["silver", "customers"])
        in graph.get(dg.AssetKey(["silver", "customer_activity"])).parent_keys
    )
