"""Column lineage declared in contracts: loaded, checked across contracts, and bad declarations named."""

import shutil

import pytest
import yaml

from lakehouse.contracts import (
    ColumnRef,
    ContractError,
    LineageTransformation,
    contracts_dir,
    load_contracts,
)


def test_declared_lineage_loads_as_typed_references():
    contracts = load_contracts()
    email = contracts["silver.customers"].column("email_hash").lineage
    assert email.inputs == (ColumnRef("bronze", "customers", "email"),)
    assert email.transformation is LineageTransformation.MASKING
    amount = contracts["silver.orders"].column_lineage["line_amount"]
    assert [str(ref) for ref in amount.inputs] == [
        "bronze/order_items.quantity",
        "bronze/order_items.unit_price",
        "bronze/order_items.discount_amount",
    ]
    assert contracts["gold.fact_customer_activity"].column_lineage["customer_key"].inputs == (
        ColumnRef("gold", "dim_customer", "customer_key"),
    )
    assert contracts["bronze.customers"].column_lineage == {}
    # every silver and gold column not derived from nothing declares where it comes from
    for name, contract in contracts.items():
        if contract.layer in ("silver", "gold") and name != "gold.dim_date":
            assert set(contract.column_lineage) == set(contract.column_names), name


@pytest.fixture
def contracts_copy(tmp_path):
    root = tmp_path / "contracts"
    shutil.copytree(contracts_dir(), root)
    return root


def _edit_column(root, table, column, **changes):
    path = root / f"{table}.yaml"
    document = yaml.safe_load(path.read_text())
    for entry in document["columns"]:
        if entry["name"] == column:
            entry.update(changes)
            for key in [k for k, v in changes.items() if v is None]:
                del entry[key]
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_a_reference_to_an_unknown_column_is_named(contracts_copy):
    _edit_column(contracts_copy, "silver/customers", "city", lineage=["bronze/customers.town"])
    expected = r"columns\[6\]\.lineage\[0\]: 'bronze/customers.town' is not a column of bronze.customers"
    with pytest.raises(ContractError, match=expected):
        load_contracts(contracts_copy)


def test_a_reference_to_an_unknown_table_is_named(contracts_copy):
    _edit_column(contracts_copy, "gold/dim_product", "sku", lineage=["silver/catalog.sku"])
    with pytest.raises(ContractError, match=r"'silver/catalog.sku' names no contract"):
        load_contracts(contracts_copy)


def test_a_layer_may_read_only_itself_or_the_layer_before(contracts_copy):
    _edit_column(contracts_copy, "gold/dim_product", "sku", lineage=["bronze/products.sku"])
    with pytest.raises(ContractError, match=r"a gold table may read silver or gold"):
        load_contracts(contracts_copy)


def test_lineage_needs_a_transformation_and_a_well_formed_reference(contracts_copy):
    _edit_column(contracts_copy, "silver/products", "sku", transformation=None)
    with pytest.raises(ContractError, match=r"columns\[1\]: .transformation. is a dependency of .lineage."):
        load_contracts(contracts_copy)
    _edit_column(
        contracts_copy, "silver/products", "sku", transformation="identity", lineage=["products.sku"]
    )
    with pytest.raises(ContractError, match=r"does not match"):
        load_contracts(contracts_copy)


def test_expectation_files_next_to_contracts_are_not_contracts(contracts_copy):
    (contracts_copy / "silver" / "customers.expectations.yaml").write_text("expectations: []\n")
    assert "silver.customers" in load_contracts(contracts_copy)
