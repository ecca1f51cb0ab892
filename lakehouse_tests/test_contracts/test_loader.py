"""Contract files: every one loads and describes its source table; malformed ones fail with the file
and the field named."""

from __future__ import annotations

import copy
from pathlib import Path

import pyarrow as pa
import pytest
import yaml

from lakehouse.contracts import (
    ContractError,
    ForeignKeyRule,
    NotNullRule,
    PiiClass,
    contract_for_source,
    contracts_dir,
    load_contract,
    load_contracts,
)
from lakehouse.generator import ALL_TABLES, TableSpec

BRONZE_TABLES = {"customers", "products", "orders", "order_items", "behavior_events"}
# The Spark type bronze stores for each Arrow type the sources deliver.
SPARK_TYPE_OF_ARROW = {
    pa.int64(): "bigint",
    pa.string(): "string",
    pa.bool_(): "boolean",
    pa.decimal128(12, 2): "decimal(12,2)",
    pa.timestamp("us"): "timestamp_ntz",
}
LOGICAL_TYPES = {"TIMESTAMP_NTZ": "timestamp_ntz", "NUMBER(38,0)": "bigint"}


@pytest.fixture(scope="module")
def bronze() -> dict[str, object]:
    return load_contracts(layer="bronze")


@pytest.fixture()
def orders_document() -> dict:
    return yaml.safe_load((contracts_dir() / "bronze" / "orders.yaml").read_text())


def _write(tmp_path: Path, document: object, name: str = "orders.yaml") -> Path:
    path = tmp_path / "bronze" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _problems(path: Path) -> list[str]:
    with pytest.raises(ContractError) as raised:
        load_contract(path)
    message = str(raised.value)
    lines = message.splitlines()
    assert all(line.startswith(f"{path}: ") for line in lines), message
    return [line.removeprefix(f"{path}: ") for line in lines]


def test_every_contract_file_loads():
    contracts = load_contracts()
    files = sorted(contracts_dir().rglob("*.yaml"))
    assert len(contracts) == len(files) >= 5
    assert {c.table for c in contracts.values() if c.layer == "bronze"} == BRONZE_TABLES


@pytest.mark.parametrize("spec", ALL_TABLES, ids=lambda spec: spec.qualified_name)
def test_bronze_contract_describes_its_source_table(spec: TableSpec):
    contract = contract_for_source(spec.qualified_name)
    assert contract.source.system.value == spec.system.value
    # Bronze names are the source names lower-cased, in source order.
    assert contract.column_names == tuple(name.lower() for name in spec.column_names)
    assert contract.primary_key == tuple(key.lower() for key in spec.primary_key)
    assert contract.source.change_column == spec.change_column.lower()
    for source_column, column in zip(spec.columns, contract.columns, strict=True):
        if source_column.text_encoded:
            assert column.source_type == "string"
            assert column.type == LOGICAL_TYPES[source_column.logical_type]
        else:
            assert column.source_type is None
            assert column.type == SPARK_TYPE_OF_ARROW[source_column.arrow_type]
        assert column.nullable == source_column.nullable


def test_not_nullable_columns_get_a_not_null_rule(bronze):
    for contract in bronze.values():
        covered = {rule.column for rule in contract.rules if isinstance(rule, NotNullRule)}
        assert covered == {c.name for c in contract.columns if not c.nullable}, contract.name
        assert len({rule.id for rule in contract.rules}) == len(contract.rules)


def test_foreign_keys_point_at_contract_columns(bronze):
    for contract in bronze.values():
        for rule in contract.foreign_key_rules:
            assert isinstance(rule, ForeignKeyRule)
            referenced = bronze[f"bronze.{rule.references_table}"]
            assert rule.references_column in referenced.column_names


def test_direct_pii_is_marked(bronze):
    customers = bronze["bronze.customers"]
    assert {name for name, pii in customers.pii_columns.items() if pii is PiiClass.DIRECT} == {
        "first_name",
        "last_name",
        "email",
        "phone",
    }


def test_misspelled_type_names_the_file_and_field(tmp_path, orders_document):
    orders_document["columns"][3]["type"] = "nubmer"
    path = _write(tmp_path, orders_document)
    (problem,) = _problems(path)
    assert problem.startswith("columns[3].type: 'nubmer' is not one of ['boolean', ")


def test_decimal_out_of_range_is_rejected(tmp_path, orders_document):
    orders_document["columns"][6]["type"] = "decimal(40,2)"
    (problem,) = _problems(_write(tmp_path, orders_document))
    assert problem.startswith("columns[6].type: 'decimal(40,2)' does not match")


def test_missing_field_is_named(tmp_path, orders_document):
    del orders_document["owner"]
    del orders_document["columns"][2]["nullable"]
    problems = _problems(_write(tmp_path, orders_document))
    assert sorted(problems) == [
        "columns[2].nullable: required field is missing",
        "owner: required field is missing",
    ]


def test_unknown_field_is_named(tmp_path, orders_document):
    orders_document["columns"][1]["nulable"] = True
    (problem,) = _problems(_write(tmp_path, orders_document))
    assert problem.startswith("columns[1].nulable: unknown field (allowed: ")


def test_rule_needs_the_fields_of_its_kind(tmp_path, orders_document):
    rule = next(r for r in orders_document["rules"] if r["kind"] == "regex")
    index = orders_document["rules"].index(rule)
    del rule["pattern"]
    rule["values"] = ["USD"]
    problems = _problems(_write(tmp_path, orders_document))
    assert sorted(problems) == [
        f"rules[{index}].pattern: required field is missing",
        f"rules[{index}].values: unknown field (allowed: column, id, kind, message, pattern)",
    ]


def test_unknown_rule_kind_and_bad_policy(tmp_path, orders_document):
    orders_document["rules"][0]["kind"] = "not_nul"
    orders_document["evolution"]["new_column"] = "ignore"
    problems = _problems(_write(tmp_path, orders_document))
    assert any(p.startswith("rules[0].kind: 'not_nul' is not one of ['not_null', ") for p in problems), (
        problems
    )
    assert any(p.startswith("evolution.new_column: 'ignore' is not one of ['evolve', ") for p in problems), (
        problems
    )


def test_rules_must_name_contract_columns(tmp_path, orders_document):
    orders_document["rules"][2]["column"] = "customer"
    orders_document["rules"][3]["max_column"] = "updated"
    problems = _problems(_write(tmp_path, orders_document))
    assert problems == [
        "rules[2].column: 'customer' is not a column of the contract",
        "rules[3].max_column: 'updated' is not a column of the contract",
    ]


def test_semantic_checks(tmp_path, orders_document):
    document = copy.deepcopy(orders_document)
    document["columns"][0]["nullable"] = True
    document["rules"][1]["id"] = document["rules"][0]["id"]
    document["rules"].append({"id": "status_type", "kind": "range", "column": "status", "message": "x"})
    document["rules"].append(
        {"id": "amount_like", "kind": "regex", "column": "total_amount", "pattern": "(", "message": "x"}
    )
    problems = _problems(_write(tmp_path, document))
    assert problems == [
        "primary_key[0]: key column 'order_id' must be declared nullable: false",
        "rules[0].column: 'order_id' is declared nullable; declare it nullable: false instead",
        "rules[1].id: 'order_id_not_null' is already used by rules[0]",
        "rules[8].id: 'status_type' is already used by the type check of column 'status'",
        "rules[8]: a range rule needs at least one of min, max, min_column, max_column",
        "rules[9].column: regex rules apply to string columns; 'total_amount' is decimal(12,2)",
        "rules[9].pattern: not a valid regular expression: missing ), unterminated subpattern at position 0",
    ]


def test_invalid_yaml_names_the_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("table: [unclosed\n")
    (problem,) = _problems(path)
    # libyaml's wording (PyYAML's wheels include it); the pure-Python parser says "expected ',' or ']'"
    assert problem == "not valid YAML at line 2, column 1: did not find expected ',' or ']'"


def test_two_files_for_one_table_are_refused(tmp_path, orders_document):
    (tmp_path / "contract.schema.json").write_text((contracts_dir() / "contract.schema.json").read_text())
    _write(tmp_path, orders_document, "orders.yaml")
    second = _write(tmp_path, orders_document, "orders_copy.yaml")
    with pytest.raises(ContractError, match="orders_copy.yaml: table: bronze.orders is already defined by"):
        load_contracts(tmp_path)
    assert second.exists()


def test_contracts_are_read_again_when_a_file_changes(tmp_path, orders_document):
    (tmp_path / "contract.schema.json").write_text((contracts_dir() / "contract.schema.json").read_text())
    path = _write(tmp_path, orders_document, "orders.yaml")
    assert load_contracts(tmp_path)["bronze.orders"].owner == orders_document["owner"]
    assert load_contracts(tmp_path)["bronze.orders"] is load_contracts(tmp_path)["bronze.orders"]  # read once
    orders_document["owner"] = "someone.else@example.com"
    path.write_text(yaml.safe_dump(orders_document) + "# edited\n")
    assert load_contracts(tmp_path)["bronze.orders"].owner == "someone.else@example.com"
    path.write_text("table: [unclosed\n")
    with pytest.raises(ContractError, match="not valid YAML"):
        load_contracts(tmp_path)


def test_range_bounds_must_fit_the_column_type(tmp_path, orders_document):
    orders_document["rules"].append(
        {"id": "recent", "kind": "range", "column": "order_ts", "min": "2020-13-01", "message": "too old"}
    )
    orders_document["rules"].append(
        {"id": "small", "kind": "range", "column": "total_amount", "max": "lots", "message": "too big"}
    )
    problems = _problems(_write(tmp_path, orders_document))
    assert problems == [
        "rules[8].min: '2020-13-01' does not fit column type timestamp_ntz",
        "rules[9].max: 'lots' does not fit column type decimal(12,2)",
    ]


def test_unquoted_dates_stay_text(tmp_path, orders_document):
    path = _write(tmp_path, orders_document)
    path.write_text(
        path.read_text()
        + "- {id: recent, kind: range, column: order_ts, min: 2020-01-01, message: too old}\n"
    )
    assert load_contract(path).rule("recent").min == "2020-01-01"


def test_only_bronze_contracts_need_a_source(tmp_path, orders_document):
    del orders_document["source"]
    (problem,) = _problems(_write(tmp_path, orders_document))
    assert problem == "source: required field is missing"
    orders_document["layer"] = "silver"
    derived = load_contract(_write(tmp_path, orders_document, "silver_orders.yaml"))
    assert derived.layer == "silver" and derived.source is None
