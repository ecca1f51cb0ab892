"""Governance of the definitions: who owns each asset, where it belongs, what kind it is, which of its
columns hold personal data, and when gold is due."""

import dagster as dg
import pytest

from lakehouse.contracts import PiiClass, load_contracts
from lakehouse.definitions import defs as build_definitions
from lakehouse.gold.freshness import GOLD_DEADLINE_CRON, GOLD_WINDOW
from lakehouse.governance import MASKED_PII_CLASSES
from lakehouse.governance.column_schema import PII_TAG

LAYERS = ("bronze", "quarantine", "silver", "gold")


@pytest.fixture(scope="module")
def specs(local_services) -> dict[str, dg.AssetSpec]:
    return {spec.key.to_user_string(): spec for spec in build_definitions().resolve_all_asset_specs()}


def test_every_asset_has_owners_a_layer_group_and_kinds(specs):
    for name, spec in specs.items():
        layer = spec.key.path[0]
        assert spec.group_name == layer, name
        assert layer in LAYERS, name
        assert spec.owners, name
        assert all(owner.startswith(("team:", "user:")) or "@" in owner for owner in spec.owners), name
        assert {"spark", "delta"} <= set(spec.kinds), name


def _declared_columns(spec: dg.AssetSpec) -> dict[str, dg.TableColumn]:
    schema = spec.metadata.get("dagster/column_schema")
    schema = getattr(schema, "schema", schema)
    assert isinstance(schema, dg.TableSchema), f"{spec.key.to_user_string()} declares no column schema"
    return {column.name: column for column in schema.columns}


@pytest.mark.parametrize("layer", ["bronze", "silver", "gold"])
def test_every_contract_column_is_tagged_with_its_pii_class(specs, layer):
    contracts = load_contracts(layer=layer)
    assert contracts
    lanes = ("bronze", "quarantine") if layer == "bronze" else (layer,)
    for contract in contracts.values():
        for lane in lanes:
            columns = _declared_columns(specs[f"{lane}/{contract.table}"])
            for column in contract.columns:
                assert columns[column.name].tags == {PII_TAG: column.pii.value}, (lane, contract.table, column.name)
            # every declared column carries a class, the ones the contract does not declare included
            assert all(PII_TAG in c.tags for c in columns.values()), (lane, contract.table)


def test_the_quarantine_payload_is_as_sensitive_as_the_row_it_holds(specs):
    payload = _declared_columns(specs["quarantine/customers"])["_original_payload"]
    assert payload.tags == {PII_TAG: PiiClass.DIRECT.value}


def test_no_gold_column_is_classified_as_pii_that_must_be_masked():
    """Gold holds hashes and keys only: a column classified direct or sensitive would be clear PII in the
    star schema (what the data holds is checked on real tables in test_pipeline)."""
    for contract in load_contracts(layer="gold").values():
        leaked = [c.name for c in contract.columns if c.pii in MASKED_PII_CLASSES]
        assert leaked == [], contract.table


def test_gold_assets_and_only_gold_assets_are_due_by_six_utc(specs):
    for name, spec in specs.items():
        policy = spec.freshness_policy
        if spec.key.path[0] != "gold":
            assert policy is None, name
            continue
        assert isinstance(policy, dg.FreshnessPolicy), name
        assert policy.deadline_cron == GOLD_DEADLINE_CRON == "0 6 * * *"
        assert policy.lower_bound_delta == GOLD_WINDOW
        assert policy.timezone == "UTC"
