"""Read contract files: JSON Schema validation first, then the checks a schema cannot express.

Every problem is reported as ``<file>: <field path>: <what is wrong>``, e.g.
``contracts/bronze/orders.yaml: columns[3].type: 'nubmer' is not one of ['boolean', ...]``, so a
contract author can fix the file without reading this code. All problems of a file are reported at
once, best first.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, relevance

from lakehouse.contracts.model import (
    METADATA_COLUMNS,
    NEW_COLUMN_RULE_ID,
    RESERVED_COLUMNS,
    Column,
    ColumnLineage,
    ColumnRef,
    Contract,
    EnumRule,
    EvolutionPolicy,
    ForeignKeyRule,
    LineageTransformation,
    MissingColumnPolicy,
    NewColumnPolicy,
    NotNullRule,
    PiiClass,
    RangeRule,
    RegexRule,
    Rule,
    Source,
    SourceSystem,
    TypeChangePolicy,
    UniqueRule,
    not_null_rule_id,
    type_rule_id,
)
from lakehouse.partitions import PARTITION_COLUMN

CONTRACTS_DIR_ENV_VAR = "LAKEHOUSE_CONTRACTS_DIR"
CONTRACTS_PACKAGE = "lakehouse.contract_files"
"""The repository's ``contracts/`` folder, installed as package data (see setup.py)."""
SCHEMA_FILE_NAME = "contract.schema.json"
COMPANION_SUFFIXES = (".expectations.yaml", ".expectations.yml")
"""Files next to contracts that are not contracts (``<table>.expectations.yaml``: extra expectations)."""
_NUMERIC_TYPE = re.compile(r"^(tinyint|smallint|int|bigint|float|double|decimal\(\d+,\d+\))$")
_ORDERED_TYPES = re.compile(
    r"^(tinyint|smallint|int|bigint|float|double|decimal\(\d+,\d+\)|date|timestamp|timestamp_ntz|string)$"
)


class _ContractYamlLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """Safe YAML (libyaml's parser when PyYAML has it) that leaves dates and times as text: a range bound
    such as ``min: 2020-01-01`` is a literal for Spark to cast, not a Python date (which the JSON Schema
    would reject)."""


_ContractYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class ContractsNotFoundError(RuntimeError):
    """The contracts cannot be found: the package holding them is not installed."""


class ContractError(ValueError):
    """A contract file is malformed; the message names the file and every offending field."""

    def __init__(self, path: Path | str, problems: Iterable[str]) -> None:
        self.path = Path(path)
        self.problems = tuple(problems)
        shown = _display(self.path)
        super().__init__("\n".join(f"{shown}: {problem}" for problem in self.problems))


def contracts_dir() -> Path:
    """The folder holding the contracts: ``$LAKEHOUSE_CONTRACTS_DIR``, else the installed package
    ``lakehouse.contract_files`` (the repository's ``contracts/`` folder, shipped in the wheel and mapped
    by an editable install); read when called, not at import."""
    configured = os.environ.get(CONTRACTS_DIR_ENV_VAR)
    if configured:
        return Path(configured).expanduser().resolve()
    try:
        installed = resources.files(CONTRACTS_PACKAGE)
    except ModuleNotFoundError:
        raise ContractsNotFoundError(
            f"the contracts package {CONTRACTS_PACKAGE} is not installed: install the lakehouse "
            f"(pip install -e . in a checkout) or set {CONTRACTS_DIR_ENV_VAR}"
        ) from None
    if not isinstance(installed, Path):
        raise ContractsNotFoundError(
            f"the contracts package {CONTRACTS_PACKAGE} is not a folder on disk ({installed}): install the "
            f"lakehouse unzipped or set {CONTRACTS_DIR_ENV_VAR}"
        )
    return installed


def contract_schema(root: Path | None = None) -> dict[str, Any]:
    """The JSON Schema every contract file must satisfy."""
    return json_schema_at(str((root or contracts_dir()) / SCHEMA_FILE_NAME))


@cache
def json_schema_at(path: str) -> dict[str, Any]:
    """The JSON Schema in the file at ``path``, checked to be a valid Draft 2020-12 schema; read once."""
    schema = json.loads(Path(path).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return schema


def load_contract(path: Path | str, schema: Mapping[str, Any] | None = None) -> Contract:
    """Read, validate and build one contract; raises ``ContractError`` naming the file and fields."""
    path = Path(path)
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_ContractYamlLoader)
    except yaml.YAMLError as error:
        raise ContractError(path, [_yaml_problem(error)]) from None
    return parse_contract(document, path, schema)


def _yaml_problem(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(error, "problem", None) or str(error)
    return f"not valid YAML{where}: {' '.join(problem.split())}"


def parse_contract(document: Any, path: Path | str, schema: Mapping[str, Any] | None = None) -> Contract:
    """Validate an already-parsed document (``path`` is used in messages and kept on the contract)."""
    path = Path(path)
    problems = schema_problems(document, schema if schema is not None else contract_schema())
    if problems:
        raise ContractError(path, problems)
    contract = _build(document, path)
    problems = _semantic_problems(contract, document)
    if problems:
        raise ContractError(path, problems)
    return contract


def load_contracts(root: Path | str | None = None, layer: str | None = None) -> dict[str, Contract]:
    """Every contract under ``root`` (default ``contracts_dir()``), keyed by ``<layer>.<table>``.

    Any malformed file raises; two files for one table raise too.
    """
    base = Path(root) if root is not None else contracts_dir()
    # Read once per version of the files: the definitions, every check and the sensors ask for them.
    contracts = _load_all(base.resolve(), _fingerprint(base))
    return {name: c for name, c in contracts.items() if layer is None or c.layer == layer}


def _fingerprint(base: Path) -> tuple[tuple[str, int, int], ...]:
    """Every file under ``base`` with its modification time and size: changes when any file does."""
    found = []
    for path in sorted(base.rglob("*")):
        info = path.stat()
        if path.is_file():
            found.append((str(path), info.st_mtime_ns, info.st_size))
    return tuple(found)


@lru_cache(maxsize=8)
def _load_all(base: Path, fingerprint: tuple[tuple[str, int, int], ...]) -> dict[str, Contract]:
    schema = contract_schema(base)
    contracts: dict[str, Contract] = {}
    for path in sorted(base.rglob("*.yaml")) + sorted(base.rglob("*.yml")):
        if path.name.endswith(COMPANION_SUFFIXES):
            continue  # a contract's companion file (its expectation suite), not a contract
        contract = load_contract(path, schema)
        if contract.name in contracts:
            raise ContractError(
                path,
                [f"table: {contract.name} is already defined by {_display(contracts[contract.name].path)}"],
            )
        contracts[contract.name] = contract
    for contract in contracts.values():
        problems = _lineage_reference_problems(contract, contracts)
        if problems:
            raise ContractError(contract.path or "<contract>", problems)
    return contracts


def contract_for_source(source_table: str, root: Path | str | None = None, layer: str = "bronze") -> Contract:
    """The contract of the ``layer`` table fed by a source table, e.g. ``RETAIL.SALES.ORDERS``."""
    contracts = load_contracts(root, layer=layer)
    for contract in contracts.values():
        if contract.source is not None and contract.source.table.lower() == source_table.lower():
            return contract
    known = ", ".join(sorted(c.source.table for c in contracts.values() if c.source is not None))
    raise KeyError(f"no {layer} contract for source table {source_table!r}; known: {known}")


def _lineage_reference_problems(contract: Contract, contracts: Mapping[str, Contract]) -> list[str]:
    """Every lineage input names a column of another contract (or a metadata column of its table)."""
    problems: list[str] = []
    for index, column in enumerate(contract.columns):
        for position, ref in enumerate(column.lineage.inputs if column.lineage else ()):
            at = f"columns[{index}].lineage[{position}]"
            upstream = contracts.get(ref.table_name)
            if upstream is None:
                problems.append(f"{at}: {str(ref)!r} names no contract ({ref.table_name} is not defined)")
            elif ref.column not in (*upstream.column_names, *_lineage_metadata_columns(upstream)):
                problems.append(f"{at}: {str(ref)!r} is not a column of {ref.table_name}")
    return problems


def _lineage_metadata_columns(contract: Contract) -> tuple[str, ...]:
    """Columns a table has besides its contract's: bronze's metadata columns, elsewhere the partition."""
    return METADATA_COLUMNS if contract.layer == "bronze" else (PARTITION_COLUMN,)


# Lineage may point at the same layer (silver/customer_activity reads silver) or the one before it.
_LINEAGE_LAYERS = {"silver": ("bronze", "silver"), "gold": ("silver", "gold")}


# --- JSON Schema errors -------------------------------------------------------------------------------


def schema_problems(document: Any, schema: Mapping[str, Any]) -> list[str]:
    """Every way ``document`` breaks ``schema``, one line each naming the exact field; empty if valid."""
    errors = sorted(Draft202012Validator(dict(schema)).iter_errors(document), key=relevance)
    return _unique(_describe(error) for error in _leaves(errors))


def _leaves(errors: list[ValidationError]) -> list[ValidationError]:
    """The most specific errors: an if/then or allOf failure is explained by its sub-errors."""
    leaves: list[ValidationError] = []
    for error in errors:
        if error.context:
            leaves.extend(_leaves(sorted(error.context, key=relevance)))
        else:
            leaves.append(error)
    return leaves


def _describe(error: ValidationError) -> str:
    """One line per error, naming the exact field: a missing or unknown field is named itself rather
    than its parent object."""
    path = list(error.absolute_path)
    if error.validator == "required":
        missing = re.match(r"'(.+)' is a required property", error.message)
        if missing:
            return f"{field_path([*path, missing[1]])}: required field is missing"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        unknown = [key for key in error.instance if key not in allowed]
        if unknown and allowed:
            return "; ".join(
                f"{field_path([*path, key])}: unknown field (allowed: {', '.join(allowed)})" for key in unknown
            )
    if error.validator == "not" and error.schema.get("description"):
        return f"{field_path(path)}: {error.schema['description']}"  # the rule in words, not the instance
    return f"{field_path(path)}: {error.message}"


def field_path(parts: Iterable[str | int]) -> str:
    """``['columns', 3, 'type']`` as ``columns[3].type`` (``<root>`` for the document itself)."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<root>"


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _display(path: Path | None) -> str:
    if path is None:
        return "<contract>"
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# --- building -----------------------------------------------------------------------------------------


def _build(doc: dict[str, Any], path: Path) -> Contract:
    columns = tuple(
        Column(
            name=c["name"],
            type=c["type"],
            nullable=c["nullable"],
            pii=PiiClass(c["pii"]),
            description=c["description"],
            source_type=c.get("source_type"),
            lineage=_column_lineage(c),
        )
        for c in doc["columns"]
    )
    declared = tuple(_rule(r) for r in doc["rules"])
    covered = {r.column for r in declared if isinstance(r, NotNullRule)}
    derived = tuple(
        NotNullRule(
            id=not_null_rule_id(c.name),
            message=f"{c.name} is NULL but the contract declares it not nullable",
            column=c.name,
            derived=True,
        )
        for c in columns
        if not c.nullable and c.name not in covered
    )
    evolution = doc["evolution"]
    source = doc.get("source")
    return Contract(
        layer=doc["layer"],
        table=doc["table"],
        description=doc["description"].strip(),
        owner=doc["owner"],
        source=Source(SourceSystem(source["system"]), source["table"], source["change_column"]) if source else None,
        primary_key=tuple(doc["primary_key"]),
        columns=columns,
        rules=declared + derived,
        evolution=EvolutionPolicy(
            new_column=NewColumnPolicy(evolution["new_column"]),
            missing_column=MissingColumnPolicy(evolution["missing_column"]),
            type_change=TypeChangePolicy(evolution["type_change"]),
        ),
        path=path,
    )


def _column_lineage(raw: dict[str, Any]) -> ColumnLineage | None:
    if "lineage" not in raw:
        return None
    return ColumnLineage(
        inputs=tuple(ColumnRef.parse(ref) for ref in raw["lineage"]),
        transformation=LineageTransformation(raw["transformation"]),
    )


def _rule(raw: dict[str, Any]) -> Rule:
    common = {"id": raw["id"], "message": raw["message"]}
    kind = raw["kind"]
    if kind == "not_null":
        return NotNullRule(column=raw["column"], **common)
    if kind == "range":
        return RangeRule(
            column=raw["column"],
            min=raw.get("min"),
            max=raw.get("max"),
            min_column=raw.get("min_column"),
            max_column=raw.get("max_column"),
            **common,
        )
    if kind == "enum":
        return EnumRule(column=raw["column"], values=tuple(raw["values"]), **common)
    if kind == "regex":
        return RegexRule(column=raw["column"], pattern=raw["pattern"], **common)
    if kind == "unique":
        return UniqueRule(columns=tuple(raw["columns"]), **common)
    if kind == "foreign_key":
        references = raw["references"]
        return ForeignKeyRule(
            column=raw["column"],
            references_table=references["table"],
            references_column=references["column"],
            **common,
        )
    raise AssertionError(f"schema admitted unknown rule kind {kind!r}")  # pragma: no cover


# --- checks the schema cannot express ----------------------------------------------------------------


def _semantic_problems(contract: Contract, doc: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    names = [c.name for c in contract.columns]
    known = set(names)

    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            problems.append(f"columns[{index}].name: {name!r} is declared twice")
        if name in METADATA_COLUMNS or name in RESERVED_COLUMNS:
            problems.append(f"columns[{index}].name: {name!r} is reserved for metadata or quarantine columns")
        seen.add(name)

    def must_exist(field: str, name: str) -> None:
        if name not in known:
            problems.append(f"{field}: {name!r} is not a column of the contract")

    if contract.source is not None:
        must_exist("source.change_column", contract.source.change_column)
    for index, column in enumerate(contract.columns):
        for position, ref in enumerate(column.lineage.inputs if column.lineage else ()):
            at = f"columns[{index}].lineage[{position}]"
            allowed = _LINEAGE_LAYERS.get(contract.layer, ())
            if ref.layer not in allowed:
                reason = (
                    f"a {contract.layer} table may read {' or '.join(allowed)}"
                    if allowed
                    else "bronze columns come from the source table, not from the lake"
                )
                problems.append(f"{at}: {str(ref)!r}: {reason}")
            elif (ref.layer, ref.table) == (contract.layer, contract.table):
                problems.append(f"{at}: {str(ref)!r} names the table itself")
    for index, key in enumerate(contract.primary_key):
        must_exist(f"primary_key[{index}]", key)
        if key in known and contract.column(key).nullable:
            problems.append(f"primary_key[{index}]: key column {key!r} must be declared nullable: false")

    # Every id a reason can carry must be unique, including the ids the library derives.
    taken: dict[str, str] = {NEW_COLUMN_RULE_ID: "the new-column reason"}
    taken.update({type_rule_id(name): f"the type check of column {name!r}" for name in names})
    taken.update(
        {r.id: "a derived not-null rule" for r in contract.rules if isinstance(r, NotNullRule) and r.derived}
    )
    types = {c.name: c.type for c in contract.columns}
    declared = [r for r in contract.rules if not (isinstance(r, NotNullRule) and r.derived)]
    for index, (raw, rule) in enumerate(zip(doc["rules"], declared, strict=True)):
        at = f"rules[{index}]"
        if raw["id"] in taken:
            problems.append(f"{at}.id: {raw['id']!r} is already used by {taken[raw['id']]}")
        taken.setdefault(raw["id"], f"rules[{index}]")
        problems.extend(_rule_problems(rule, raw, at, known, types, contract))
    return problems


def _rule_problems(
    rule: Rule, raw: dict[str, Any], at: str, known: set[str], types: dict[str, str], contract: Contract
) -> list[str]:
    problems: list[str] = []
    if isinstance(rule, UniqueRule):
        for i, name in enumerate(rule.columns):
            if name not in known:
                problems.append(f"{at}.columns[{i}]: {name!r} is not a column of the contract")
        return problems
    if rule.column not in known:
        return [f"{at}.column: {rule.column!r} is not a column of the contract"]
    column_type = types[rule.column]
    if isinstance(rule, NotNullRule) and contract.column(rule.column).nullable:
        problems.append(
            f"{at}.column: {rule.column!r} is declared nullable; declare it nullable: false instead"
        )
    elif isinstance(rule, RangeRule):
        if all(v is None for v in (rule.min, rule.max, rule.min_column, rule.max_column)):
            problems.append(f"{at}: a range rule needs at least one of min, max, min_column, max_column")
        if not _ORDERED_TYPES.match(column_type):
            problems.append(f"{at}.column: {rule.column!r} has type {column_type}, which has no order")
        for bound in ("min", "max"):
            value = raw.get(bound)
            if value is not None and not _bound_fits(value, column_type):
                problems.append(f"{at}.{bound}: {value!r} does not fit column type {column_type}")
        for bound in ("min_column", "max_column"):
            other = raw.get(bound)
            if other is not None and other not in known:
                problems.append(f"{at}.{bound}: {other!r} is not a column of the contract")
            elif other is not None and _comparable_family(types[other]) != _comparable_family(column_type):
                problems.append(
                    f"{at}.{bound}: {other!r} ({types[other]}) cannot be compared with {column_type}"
                )
    elif isinstance(rule, RegexRule):
        if column_type != "string":
            problems.append(
                f"{at}.column: regex rules apply to string columns; {rule.column!r} is {column_type}"
            )
        try:
            re.compile(rule.pattern)
        except re.error as error:
            problems.append(f"{at}.pattern: not a valid regular expression: {error}")
    elif isinstance(rule, EnumRule) and column_type == "string":
        bad = [v for v in rule.values if not isinstance(v, str)]
        if bad:
            problems.append(f"{at}.values: {bad!r} are not strings but {rule.column!r} is a string column")
    return problems


def _bound_fits(value: object, column_type: str) -> bool:
    """Whether a range literal converts to the column type (a bad literal would fail the cast at run time)."""
    if isinstance(value, bool):
        return False
    if _NUMERIC_TYPE.match(column_type):
        return isinstance(value, int | float)
    if not isinstance(value, str):
        return False
    try:
        if column_type == "date":
            date.fromisoformat(value)
        elif column_type in ("timestamp", "timestamp_ntz"):
            datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _comparable_family(spark_type: str) -> str:
    if _NUMERIC_TYPE.match(spark_type):
        return "number"
    if spark_type in ("timestamp", "timestamp_ntz", "date"):
        return "time"
    return spark_type
