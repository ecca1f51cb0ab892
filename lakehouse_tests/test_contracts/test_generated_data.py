"""The contracts against the synthetic sources: exactly the manifest's defect rows are quarantined, each
with the one rule matching its defect, and every other row (duplicates and late rows included) is valid.
Rows of no day (a NULL or decades-ahead change column) are bronze's placement to quarantine, not the contract's:
the contract flags a NULL change column only because it declares the column not nullable, and passes a future one.

Each commit batch of each table is aligned and validated on its own, as bronze ingestion will do.
Foreign keys are checked against every key the sources committed up to and including the batch.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from lakehouse.contracts import (
    align_to_schema,
    contract_for_source,
    validate_and_quarantine,
)
from lakehouse.generator import (
    ALL_TABLES,
    DEFECT_TARGETS,
    GeneratedData,
    GeneratorConfig,
    TableSpec,
    generate_data,
)
from lakehouse.generator.model import RowKind
from lakehouse_tests.test_contracts.defects import contract_rules

# Small, but big enough (products change rarely) that every (table, defect kind, column) target occurs.
CONFIG = GeneratorConfig(scale_factor=0.05, days=2, dirt=0.1, seed=11)
Locator = tuple[int | str | None, ...]


@pytest.fixture(scope="module")
def generated() -> GeneratedData:
    return generate_data(CONFIG)


@pytest.fixture(scope="module")
def outcomes(spark, generated) -> list[dict]:
    """Align and validate every table of every commit batch; keep what each lane holds."""
    results = []
    for index, batch in enumerate(generated.batches):
        references = _references(spark, generated, index)
        for spec in ALL_TABLES:
            contract = contract_for_source(spec.qualified_name)
            rows = batch.rows(spec)
            df = spark.createDataFrame(rows)
            aligned = align_to_schema(df, contract)
            valid, quarantine = validate_and_quarantine(aligned, contract, references=references)
            kinds = Counter(batch.row_kinds[spec.qualified_name].cast(pa.string()).to_pylist())
            results.append(
                {
                    "spec": spec,
                    "contract": contract,
                    "commit_date": batch.commit_date,
                    "rows": rows.num_rows,
                    "kinds": kinds,
                    "report": aligned.report,
                    "valid": valid.count(),
                    "quarantine": [
                        (json.loads(row["_original_payload"]), [r.rule_id for r in row["_error_reasons"]])
                        for row in quarantine.collect()
                    ],
                }
            )
    return results


def _references(spark, generated: GeneratedData, last_batch: int) -> dict:
    """Per bronze table, its key column as committed by the sources through batch ``last_batch``."""
    references = {}
    for spec in ALL_TABLES:
        contract = contract_for_source(spec.qualified_name)
        key = spec.primary_key[0]
        keys = pa.concat_tables([b.rows(spec).select([key]) for b in generated.batches[: last_batch + 1]])
        unique = pc.unique(pc.drop_null(keys.column(key).combine_chunks()))
        references[contract.table] = spark.createDataFrame(pa.table({contract.primary_key[0]: unique}))
    return references


def _manifest_locator(spec: TableSpec, locator: dict) -> Locator:
    return tuple(locator[name] for name in spec.row_locator)


def _payload_locator(spec: TableSpec, payload: dict) -> Locator:
    """The row locator read back from the quarantined payload, in the manifest's form."""
    values = []
    for name in spec.row_locator:
        text = payload.get(name)
        arrow_type = spec.column(name).arrow_type
        if text is None:
            values.append(None)
        elif pa.types.is_timestamp(arrow_type):
            values.append(datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M:%S.%f"))
        elif pa.types.is_integer(arrow_type):
            values.append(int(text))
        else:
            values.append(text)
    return tuple(values)


def test_every_defect_target_is_exercised(generated):
    covered = {(d.table, d.kind, d.column) for d in generated.defects}
    targets = {
        (table, kind.value, column) for table, pairs in DEFECT_TARGETS.items() for kind, column in pairs
    }
    assert targets <= covered


def test_exactly_the_manifest_rows_are_quarantined_with_their_rule(generated, outcomes):
    checked = 0
    for outcome in outcomes:
        spec, contract = outcome["spec"], outcome["contract"]
        defects = [
            d
            for d in generated.defects
            if d.table == spec.qualified_name and d.commit_date == outcome["commit_date"]
        ]
        assert len({_manifest_locator(spec, d.locator) for d in defects}) == len(defects), (
            "manifest locators must identify rows"
        )
        # a future change column is no contract's business (bronze's placement quarantines it): valid here
        expected = {
            _manifest_locator(spec, d.locator): rules
            for d in defects
            if (rules := contract_rules(contract, d))
        }
        got = {_payload_locator(spec, payload): reasons for payload, reasons in outcome["quarantine"]}
        assert len(got) == len(outcome["quarantine"])
        assert got == expected, (spec.qualified_name, outcome["commit_date"])
        checked += len(defects)
    assert checked == len(generated.defects) > 0


def test_unparsable_values_survive_in_the_payload(generated, outcomes):
    bad_values = {
        (d.table, _manifest_locator(_spec(d.table), d.locator)): (d.column, d.bad_value)
        for d in generated.defects
        if d.kind.startswith("unparsable")
    }
    seen = 0
    for outcome in outcomes:
        spec = outcome["spec"]
        for payload, _ in outcome["quarantine"]:
            found = bad_values.get((spec.qualified_name, _payload_locator(spec, payload)))
            if found:
                column, bad_value = found
                assert payload[column] == bad_value
                seen += 1
    assert seen == len(bad_values) > 0


def test_every_row_lands_in_one_lane_and_valid_rows_are_the_ground_truth(generated, outcomes):
    passed = Counter((d.table, d.commit_date) for d in generated.defects if d.kind == "future_change")
    assert sum(passed.values()) > 0
    for outcome in outcomes:
        kinds = outcome["kinds"]
        # rows dated decades ahead pass the contract alone: bronze's placement quarantines them
        future = passed[(outcome["spec"].qualified_name, outcome["commit_date"])]
        assert outcome["valid"] + len(outcome["quarantine"]) == outcome["rows"]
        # Valid rows are the generator's valid rows plus their exact duplicates: bronze stays raw.
        assert outcome["valid"] == kinds[RowKind.VALID.value] + kinds[RowKind.DUPLICATE.value] + future
        assert len(outcome["quarantine"]) == kinds[RowKind.INVALID.value] - future
        assert not outcome["report"].schema_changed


def _spec(qualified_name: str) -> TableSpec:
    return next(spec for spec in ALL_TABLES if spec.qualified_name == qualified_name)
