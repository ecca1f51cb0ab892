"""Bad input and quality gates: the generator's bad rows ingested for real, and an ERROR violation downstream.

Bronze ingests, in one backfill run, sources generated dirty enough that every defect target of the generator
(table, kind, column: the whole bad-input catalogue) occurs, held by a private pair of local services; the
generator's defect manifest is the ground truth. Each target counts as one fault: every row of it must be in
quarantine with the rule it breaks among its reasons; and every good row must reach bronze. A row of no day (a
NULL or decades-ahead change column) is found by any run after the source committed it, not by its change day's,
and must be in quarantine with ``_run_date`` NULL.
"""

import json
from collections import defaultdict

import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable

from lakehouse.contracts import contract_for_source
from lakehouse.generator import ALL_TABLES, DEFECT_TARGETS, RowKind
from lakehouse_tests.support import lake_resources
from lakehouse_tests.test_bronze.support import (
    bronze_table_name,
    locator_of,
    manifest_locator,
    materialize_bronze,
)
from lakehouse_tests.test_contracts.defects import PLACEMENT_RULE_FOR_DEFECT, expected_rule
from lakehouse_tests.test_faults.support import CATALOGUE
from lakehouse_tests.test_quality.support import GOLD, SILVER, blocking_chain, materialized, run_chain

pytestmark = pytest.mark.slow

DAYS = tuple(CATALOGUE.day(i).isoformat() for i in range(CATALOGUE.days))


def test_every_bad_row_is_quarantined_with_its_reason_and_every_good_row_delivered(
    catalogue_sources, engine, tmp_path, faults
):
    held_through = CATALOGUE.day(CATALOGUE.days - 1)
    catalogue_sources.hold_through(held_through)
    generated_sources, lake_root = catalogue_sources.data, str(tmp_path / "lake")
    targets = {(table, kind.value, col) for table, pairs in DEFECT_TARGETS.items() for kind, col in pairs}
    assert {(d.table, d.kind, d.column) for d in generated_sources.defects} == targets
    resources = {**catalogue_sources.resources, **lake_resources(engine, lake_root)}
    result = materialize_bronze(resources, window=(DAYS[0], DAYS[-1]))
    assert result.success
    in_window = {d for d in DAYS}
    failures = []
    for spec in ALL_TABLES:
        name, contract = bronze_table_name(spec), contract_for_source(spec.qualified_name)
        quarantine = DeltaTable(f"{lake_root}/quarantine/{name}").to_pyarrow_table()
        reasons = defaultdict(list)  # locator -> (run date, rule ids) of each quarantined row at that locator
        for row in quarantine.select(["_original_payload", "_error_reasons", "_run_date"]).to_pylist():
            found = (row["_run_date"], {r["rule_id"] for r in row["_error_reasons"]})
            reasons[locator_of(spec, json.loads(row["_original_payload"]))].append(found)
        defects = [
            d for d in generated_sources.defects
            if d.table == spec.qualified_name and (
                (d.kind in PLACEMENT_RULE_FOR_DEFECT and d.commit_date <= held_through)  # any run finds it
                or (d.kind not in PLACEMENT_RULE_FOR_DEFECT and d.change_date.isoformat() in in_window)
            )
        ]
        by_target = defaultdict(list)
        for defect in defects:
            by_target[(defect.kind, defect.column)].append(defect)
        for (kind, column), targeted in sorted(by_target.items()):
            missing = 0
            for defect in targeted:
                rule = expected_rule(contract, defect)
                held = reasons.get(manifest_locator(spec, defect.locator), [])
                undated = defect.kind in PLACEMENT_RULE_FOR_DEFECT
                if not any(rule in ids and (run_date is None) == undated for run_date, ids in held):
                    missing += 1
            faults.record(
                f"bad input: {name}.{column.lower()} {kind}",
                survived=missing == 0,
                rows_lost=missing,
                detail=f"{len(targeted)} rows",
            )
            if missing:
                failures.append(f"{name}.{column} {kind}: {missing} of {len(targeted)} not quarantined")
        assert quarantine.num_rows == len(defects), f"{name}: quarantine holds rows the manifest lacks"

        truth = generated_sources.rows(spec, kinds=(RowKind.VALID, RowKind.DUPLICATE))
        change_days = pc.cast(truth.column(spec.change_column), "date32").to_pylist()
        good = sum(1 for d in change_days if d.isoformat() in in_window)
        delivered = DeltaTable(f"{lake_root}/bronze/{name}").to_pyarrow_table().num_rows
        faults.record(f"bad input: {name} good rows delivered", survived=delivered == good,
                      rows_lost=max(good - delivered, 0), detail=f"{good} good rows")
        if delivered != good:
            failures.append(f"{name}: {delivered} of {good} good rows in bronze")
    assert failures == []


def test_an_error_contract_violation_blocks_the_downstream_assets(
    local_services, generated_sources, engine, tmp_path, faults
):
    """silver/products gets an ERROR expectation every product breaks; gold/dim_product must not run."""
    lake = str(tmp_path / "lake")
    result = run_chain(blocking_chain(), "ERROR", local_services, engine, lake)
    blocked = GOLD not in materialized(result) and not DeltaTable.is_deltatable(f"{lake}/gold/dim_product")
    failed_check = any(
        e.asset_key == SILVER and not e.passed for e in result.get_asset_check_evaluations()
    )
    faults.record(
        "ERROR contract violation on silver/products",
        survived=blocked and failed_check,
        rows_lost=0,
        detail="gold/dim_product not materialized, no table written",
    )
    assert failed_check
    assert SILVER in materialized(result)
    assert blocked
    assert not result.success
