"""Bronze's gate: when a blocking check of the step fails with severity ERROR, both lanes' writes are
rejected, so bronze and quarantine hold the day as it was before the run, and the failing check says which
versions keep the rejected rows."""

import dataclasses

import dagster as dg
from deltalake import DeltaTable

from lakehouse.bronze import build_bronze_asset
from lakehouse.bronze.checks import REQUIRED_COLUMNS_NOT_NULL
from lakehouse.contracts import NotNullRule, contract_for_source
from lakehouse_tests.test_bronze.support import materialize_bronze

DAY = "2026-01-01"


def _without_the_key_rule(contract):
    """The contract letting a NULL customer_id through to bronze, which still declares it required: the
    generator's NULL-key row of the day then fails ``required_columns_not_null``."""
    rules = tuple(r for r in contract.rules if not (isinstance(r, NotNullRule) and r.column == "customer_id"))
    return dataclasses.replace(contract, rules=rules)


def _snapshot(uri: str) -> tuple[set[str], int]:
    table = DeltaTable(uri)
    return set(table.file_uris()), table.to_pyarrow_table().num_rows


def test_a_failed_error_check_rejects_both_lanes(bronze_resources, lake_root):
    contract = contract_for_source("RETAIL.CRM.CUSTOMERS")
    lanes = {lane: f"{lake_root}/{lane}/customers" for lane in ("bronze", "quarantine")}
    materialize_bronze(bronze_resources, partition=DAY, assets=[build_bronze_asset(contract)])
    previous = {lane: _snapshot(uri) for lane, uri in lanes.items()}

    result = materialize_bronze(
        bronze_resources,
        partition=DAY,
        assets=[build_bronze_asset(_without_the_key_rule(contract))],
        raise_on_error=False,
    )

    [failed] = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert failed.check_name == REQUIRED_COLUMNS_NOT_NULL and failed.severity is dg.AssetCheckSeverity.ERROR
    assert not result.success
    metadata = {name: value.value for name, value in failed.metadata.items()}
    assert metadata["rejected"] is True and metadata["quarantine/rejected"] is True
    assert metadata["rejected_partitions"] == [DAY]
    assert metadata["quarantine/rejected_partitions"] == [DAY, "no day (undated rows)"]
    for lane, uri in lanes.items():
        assert _snapshot(uri) == previous[lane], lane
    rejected = DeltaTable(lanes["bronze"], version=metadata["rejected_version"]).to_pyarrow_table()
    assert rejected.filter(rejected["customer_id"].is_null()).num_rows > 0  # the rejected rows, kept
    assert "Rejected:" in failed.description and "quarantine/Rejected:" in failed.description
    passed = [e for e in result.get_asset_check_evaluations() if e.passed]
    assert passed and all("rejected" not in e.metadata for e in passed)
