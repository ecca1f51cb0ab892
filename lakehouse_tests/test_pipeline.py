"""The whole pipeline, day after day, through Dagster and Delta on the local services: bronze, silver and
the gold star, every blocking check passing, and the SCD2 history of dim_customer equal to what the
generator's change stream implies."""

import re
from collections import defaultdict

import dagster as dg
import pyarrow as pa
import pytest
from deltalake import DeltaTable

from lakehouse.bronze.definitions import bronze_definitions
from lakehouse.contracts import load_contracts
from lakehouse.gold.definitions import gold_definitions
from lakehouse.governance import HASH_SUFFIX, PiiMasking, masked_columns
from lakehouse.resources import redshift_resource, snowflake_resource
from lakehouse.silver.definitions import silver_definitions
from lakehouse_tests.support import lake_resources

pytestmark = pytest.mark.slow

DAYS = ("2026-01-01", "2026-01-02", "2026-01-03")
TRACKED = ("COUNTRY_CODE", "CITY", "SEGMENT", "LOYALTY_TIER", "EMAIL")
HEX_SHA256 = re.compile("[0-9a-f]{64}")


@pytest.fixture(scope="module")
def pipeline(engine, local_services, generated_sources, tmp_path_factory):
    lake_root = str(tmp_path_factory.mktemp("pipeline") / "lake")
    resources = {
        **lake_resources(engine, lake_root),
        "snowflake": snowflake_resource(local_services),
        "redshift": redshift_resource(local_services),
        "pii": PiiMasking(salt="pipeline-test-salt", allow_development_salt=True),
    }
    layers = dg.Definitions.merge(bronze_definitions(), silver_definitions(), gold_definitions())
    assets = [*layers.assets, *layers.asset_checks]
    results = []
    with dg.DagsterInstance.ephemeral() as instance:
        for day in DAYS:
            results.append(
                dg.materialize(assets, resources=resources, partition_key=day, instance=instance, raise_on_error=False)
            )
    return lake_root, results


def test_every_day_runs_and_every_check_passes(pipeline):
    _, results = pipeline
    assert [r.success for r in results] == [True] * len(DAYS)
    for result in results:
        evaluations = result.get_asset_check_evaluations()
        assert len(evaluations) == 52  # 37 contract and integrity checks, 15 great_expectations suites
        assert [(e.asset_key.to_user_string(), e.check_name) for e in evaluations if not e.passed] == []


def _expected_versions(generated_sources) -> dict[int, list[tuple]]:
    """Per customer, its SCD2 versions as (tracked attributes, is_deleted), from the ground truth: every
    valid row in UPDATED_AT order (silver's grain: customer x updated_at), a new version whenever the
    tracked attributes change, several changes of one day included."""
    history = generated_sources.customer_history().to_pylist()  # in CUSTOMER_ID, UPDATED_AT order
    versions: dict[int, list[tuple]] = defaultdict(list)
    for row in history:
        attributes = tuple(str(row[c]).strip() for c in TRACKED[:-1])
        email = str(row["EMAIL"]).strip().lower()  # gold holds its salted hash: equal exactly when this is
        state = (attributes, bool(row["IS_DELETED"]), email)
        if not versions[row["CUSTOMER_ID"]] or versions[row["CUSTOMER_ID"]][-1] != state:
            versions[row["CUSTOMER_ID"]].append(state)
    return versions


def test_dim_customer_history_matches_the_change_stream(pipeline, generated_sources):
    lake_root, _ = pipeline
    dim = DeltaTable(f"{lake_root}/gold/dim_customer").to_pyarrow_table().to_pylist()
    by_customer: dict[int, list[dict]] = defaultdict(list)
    for row in dim:
        if row["customer_key"] != 0:
            by_customer[row["customer_id"]].append(row)
    expected = _expected_versions(generated_sources)
    assert set(by_customer) == set(expected)
    never_deleted = [c for c, states in expected.items() if not any(deleted for _, deleted, _ in states)]
    assert len(never_deleted) > 10
    for customer, rows in by_customer.items():
        rows.sort(key=lambda r: r["valid_from"])
        assert sum(r["is_current"] for r in rows) == 1, customer
        for earlier, later in zip(rows, rows[1:]):
            assert earlier["valid_to"] == later["valid_from"], customer  # contiguous, never overlapping
        current = next(r for r in rows if r["is_current"])
        attributes, deleted, _ = expected[customer][-1]
        assert (current["country_code"], current["city"], current["segment"], current["loyalty_tier"]) == attributes
        assert current["is_deleted"] == deleted
    for customer in never_deleted:
        # one version per change of the tracked attributes, e-mail included
        assert len(by_customer[customer]) == len(expected[customer]), customer


def test_every_order_line_reaches_the_fact_once(pipeline):
    lake_root, _ = pipeline
    silver = DeltaTable(f"{lake_root}/silver/orders").to_pyarrow_table()
    fact = DeltaTable(f"{lake_root}/gold/fact_orders").to_pyarrow_table()
    silver_lines = set(zip(silver.column("order_id").to_pylist(), silver.column("line_number").to_pylist()))
    fact_lines = list(zip(fact.column("order_id").to_pylist(), fact.column("line_number").to_pylist()))
    assert len(fact_lines) == len(set(fact_lines)) == len(silver_lines)
    assert set(fact_lines) == silver_lines


def _clear_pii(generated_sources) -> set[str]:
    """Every value the source data holds in a column a bronze contract classifies direct or sensitive."""
    values: set[str] = set()
    for contract in load_contracts(layer="bronze").values():
        masked = set(masked_columns(contract))
        rows = generated_sources.rows(contract.source.table)
        for name in rows.column_names:
            if name.lower() in masked:
                values |= {str(v).strip().lower() for v in rows.column(name).to_pylist() if v is not None}
    values.discard("")
    return values


def test_gold_holds_no_clear_pii(pipeline, generated_sources):
    """No string column of any gold table holds a name, e-mail address or phone number of the sources, and
    every masked column holds only salted SHA-256 hashes."""
    lake_root, _ = pipeline
    clear = _clear_pii(generated_sources)
    assert any("@" in v for v in clear) and len(clear) > 100  # the sources do hold PII to leak
    for contract in load_contracts(layer="gold").values():
        table = DeltaTable(f"{lake_root}/gold/{contract.table}").to_pyarrow_table()
        assert table.num_rows > 0, contract.table
        for field in table.schema:
            if not pa.types.is_string(field.type) and not pa.types.is_large_string(field.type):
                continue
            values = {v for v in table.column(field.name).to_pylist() if v is not None}
            if field.name.endswith(HASH_SUFFIX):
                assert values and all(HEX_SHA256.fullmatch(v) for v in values), (contract.table, field.name)
            leaked = sorted(v for v in values if v.strip().lower() in clear)
            assert leaked == [], (contract.table, field.name, leaked[:5])
