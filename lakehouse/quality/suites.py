"""Expectation suites as plain data: derived from a table's contract, completed by its expectations file.

A ``Suite`` lists ``ExpectationSpec``s, each a Great Expectations 1.x core expectation (its snake_case
type and keyword arguments) with the two things that decide what a failure does, kept as data:
``severity`` (ERROR blocks the downstream assets of the run, WARN only reports) and ``mostly`` (the
fraction of rows that must pass). Nothing here imports Great Expectations or Dagster, so suites are
cheap to build when definitions load and easy to compare in tests; ``lakehouse.quality.validation``
turns them into GX objects when a check runs.

Derivation from a contract (every derived expectation is ERROR unless the expectations file says
otherwise, by id):

* ``table_columns``: the contract's columns are present (exactly, plus the metadata and partition
  columns, when the contract refuses new columns).
* ``<column>_type``: each column has the contract's Spark type (by type class: decimal precision is the
  bronze schema check's business).
* not-null, range, enum and regex rules: one expectation each, with the rule's id (a range rule with
  both value and column bounds gives ``<id>:values``, ``<id>:min_column``, ``<id>:max_column``).
* unique rules: in bronze, no two *different* row images share the key (exact redeliveries stay in
  bronze; silver de-duplicates them), as a Spark SQL query over the batch; in silver and gold, the
  columns are unique, full stop.
* ``primary_key_unique``: silver and gold primary keys are unique, unless a unique rule already says so.
* foreign-key rules are not derived: they compare two tables (bronze quarantines them, the gold facts
  have their own check).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any

from lakehouse.contracts import (
    METADATA_COLUMNS,
    Contract,
    EnumRule,
    ForeignKeyRule,
    NewColumnPolicy,
    NotNullRule,
    RangeRule,
    RegexRule,
    UniqueRule,
    contracts_dir,
    json_schema_at,
    type_rule_id,
)
from lakehouse.contracts.loader import schema_problems
from lakehouse.partitions import PARTITION_COLUMN

EXPECTATIONS_SCHEMA_FILE_NAME = "expectations.schema.json"
EXPECTATIONS_SUFFIX = ".expectations.json"
SAMPLE_SIZE = 5
"""How many failing values or rows a failed expectation keeps for its check's metadata."""
TABLE_COLUMNS_ID = "table_columns"
PRIMARY_KEY_UNIQUE_ID = "primary_key_unique"

# Row-level (column map) expectations: the ones ``mostly`` applies to.
ROW_LEVEL_TYPES = frozenset(
    {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_null",
        "expect_column_values_to_be_between",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_in_set",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
        "expect_column_value_lengths_to_be_between",
        "expect_column_values_to_be_unique",
        "expect_compound_columns_to_be_unique",
        "expect_column_pair_values_a_to_be_greater_than_b",
        "expect_column_pair_values_to_be_equal",
    }
)

# Contract (Spark simpleString) type -> the pyspark.sql.types class GX compares the column's type with.
_SPARK_TYPE_CLASSES = {
    "boolean": "BooleanType",
    "tinyint": "ByteType",
    "smallint": "ShortType",
    "int": "IntegerType",
    "bigint": "LongType",
    "float": "FloatType",
    "double": "DoubleType",
    "string": "StringType",
    "binary": "BinaryType",
    "date": "DateType",
    "timestamp": "TimestampType",
    "timestamp_ntz": "TimestampNTZType",
}


class Severity(str, Enum):
    ERROR = "ERROR"
    """A failure blocks the assets downstream of the table in the same run."""
    WARN = "WARN"
    """A failure is reported on the check; nothing is blocked."""


class Scope(str, Enum):
    PARTITION = "partition"
    """The days of the run's partition window (``_run_date``)."""
    TABLE = "table"
    """The whole current table."""


class Origin(str, Enum):
    CONTRACT = "contract"
    FILE = "expectations_file"


@dataclass(frozen=True)
class ExpectationSpec:
    """One GX expectation: ``type`` is its snake_case name, ``kwargs`` its arguments (JSON values)."""

    id: str
    type: str
    kwargs: Mapping[str, Any]
    severity: Severity = Severity.ERROR
    mostly: float | None = None
    description: str = ""
    origin: Origin = Origin.CONTRACT

    def __post_init__(self) -> None:
        if self.mostly is not None and self.type not in ROW_LEVEL_TYPES:
            raise ValueError(
                f"expectation {self.id}: mostly applies to row-level expectations, not {self.type}"
            )
        if self.mostly is not None and not 0 < self.mostly <= 1:
            raise ValueError(f"expectation {self.id}: mostly must be in (0, 1], got {self.mostly}")

    @property
    def gx_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of the GX expectation, ``mostly`` included when set."""
        kwargs = json.loads(json.dumps(dict(self.kwargs)))  # a deep, JSON-clean copy
        if self.mostly is not None:
            kwargs["mostly"] = self.mostly
        return kwargs


@dataclass(frozen=True)
class Suite:
    """The expectations of one table, and what a check validates (``scope``)."""

    layer: str
    table: str
    scope: Scope
    expectations: tuple[ExpectationSpec, ...]
    contract_path: Path | None = field(default=None, compare=False)
    expectations_path: Path | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        """``<layer>.<table>``, the GX suite name."""
        return f"{self.layer}.{self.table}"

    @property
    def asset_key_path(self) -> tuple[str, str]:
        return (self.layer, self.table)

    def expectation(self, expectation_id: str) -> ExpectationSpec:
        for spec in self.expectations:
            if spec.id == expectation_id:
                return spec
        raise KeyError(f"suite {self.name} has no expectation {expectation_id!r}")

    def fingerprint(self) -> str:
        """A stable digest of everything that is validated: equal fingerprints, equal GX suites. Computed
        once per suite object (every validation asks for it)."""
        import hashlib

        known = self.__dict__.get("_fingerprint")
        if known is not None:
            return known
        payload = [[s.id, s.type, s.gx_kwargs, s.severity.value, s.description] for s in self.expectations]
        digest = hashlib.sha256(json.dumps([self.name, payload], sort_keys=True, default=str).encode()).hexdigest()
        self.__dict__["_fingerprint"] = digest  # a frozen dataclass: its fields stay as they are
        return digest


@dataclass(frozen=True)
class ExpectationsFile:
    """The parsed ``<table>.expectations.json``: extra expectations and per-id settings of derived ones."""

    layer: str
    table: str
    scope: Scope | None = None
    derived: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    expectations: tuple[ExpectationSpec, ...] = ()
    path: Path | None = field(default=None, compare=False)


class ExpectationsError(ValueError):
    """An expectations file is malformed; the message names the file and every offending field."""

    def __init__(self, path: Path | str | None, problems: Iterable[str]) -> None:
        self.path = Path(path) if path is not None else None
        self.problems = tuple(problems)
        shown = str(self.path) if self.path is not None else "<expectations>"
        super().__init__("\n".join(f"{shown}: {problem}" for problem in self.problems))


# --- derivation ---------------------------------------------------------------------------------------


def derive_suite(
    contract: Contract, extra: ExpectationsFile | None = None, partitioned: bool = True
) -> Suite:
    """The suite of ``contract``'s table: expectations derived from the contract, then ``extra``'s.

    ``partitioned`` says whether the table carries the ``_run_date`` partition column (bronze always
    does); the default scope is the partition window when it does, else the whole table.
    """
    if extra is not None and (extra.layer, extra.table) != (contract.layer, contract.table):
        raise ExpectationsError(
            extra.path, [f"layer/table: {extra.layer}.{extra.table} does not match contract {contract.name}"]
        )
    partitioned = partitioned or contract.layer == "bronze"
    scope = (extra.scope if extra is not None else None) or (Scope.PARTITION if partitioned else Scope.TABLE)
    if scope is Scope.PARTITION and not partitioned:
        raise ExpectationsError(
            extra.path if extra else None,
            [f"scope: {contract.name} has no {PARTITION_COLUMN} column to scope by; use scope 'table'"],
        )
    derived = derive_expectations(contract, partitioned, per_day=scope is Scope.PARTITION)
    if extra is not None:
        derived = _apply_settings(derived, extra)
        extra_ids = {spec.id for spec in extra.expectations}
        clashes = sorted(extra_ids & {spec.id for spec in derived})
        if clashes:
            raise ExpectationsError(
                extra.path, [f"expectations: id {i!r} is already derived from the contract" for i in clashes]
            )
    expectations = derived + (extra.expectations if extra is not None else ())
    return Suite(
        layer=contract.layer,
        table=contract.table,
        scope=scope,
        expectations=expectations,
        contract_path=contract.path,
        expectations_path=extra.path if extra is not None else None,
    )


def derive_expectations(
    contract: Contract, partitioned: bool = True, per_day: bool = True
) -> tuple[ExpectationSpec, ...]:
    """The expectations a contract implies, in contract order, every one ERROR.

    ``per_day``: keys are unique within each ``_run_date`` of the validated rows (a partition-scoped
    suite: silver holds a key once per day, and a backfill window holds several days); a one-day window
    validates exactly the contract's rule.
    """
    day = (PARTITION_COLUMN,) if per_day and partitioned else ()
    specs: list[ExpectationSpec] = [_table_columns(contract, partitioned)]
    specs += [_column_type(contract, c.name, c.type) for c in contract.columns]
    for rule in contract.rules:
        specs += _from_rule(contract, rule, day)
    specs += _primary_key(contract, day)
    return tuple(specs)


def allowed_columns(contract: Contract, partitioned: bool = True) -> tuple[str, ...]:
    """Every column the table may hold besides evolved ones: the contract's, then metadata/partition."""
    extra = METADATA_COLUMNS if contract.layer == "bronze" else ((PARTITION_COLUMN,) if partitioned else ())
    return contract.column_names + tuple(c for c in extra if c not in contract.column_names)


def _table_columns(contract: Contract, partitioned: bool) -> ExpectationSpec:
    evolves = contract.evolution.new_column is NewColumnPolicy.EVOLVE
    columns = contract.column_names if evolves else allowed_columns(contract, partitioned)
    return ExpectationSpec(
        id=TABLE_COLUMNS_ID,
        type="expect_table_columns_to_match_set",
        kwargs={"column_set": list(columns), "exact_match": not evolves},
        description="The contract's columns are present"
        + ("." if evolves else ", and no other (the contract refuses new columns)."),
    )


def _column_type(contract: Contract, column: str, spark_type: str) -> ExpectationSpec:
    type_class = "DecimalType" if spark_type.startswith("decimal") else _SPARK_TYPE_CLASSES[spark_type]
    return ExpectationSpec(
        id=type_rule_id(column),
        type="expect_column_values_to_be_of_type",
        kwargs={"column": column, "type_": type_class},
        description=f"{column} is {spark_type} as the contract declares.",
    )


def _from_rule(contract: Contract, rule, day: tuple[str, ...] = ()) -> list[ExpectationSpec]:
    if isinstance(rule, NotNullRule):
        return [_spec(rule.id, "expect_column_values_to_not_be_null", {"column": rule.column}, rule.message)]
    if isinstance(rule, EnumRule):
        return [
            _spec(
                rule.id,
                "expect_column_values_to_be_in_set",
                {"column": rule.column, "value_set": list(rule.values)},
                rule.message,
            )
        ]
    if isinstance(rule, RegexRule):
        return [
            _spec(
                rule.id,
                "expect_column_values_to_match_regex",
                {"column": rule.column, "regex": rule.pattern},
                rule.message,
            )
        ]
    if isinstance(rule, RangeRule):
        return _from_range(rule)
    if isinstance(rule, UniqueRule):
        return [_from_unique(contract, rule, day)]
    if isinstance(rule, ForeignKeyRule):
        return []
    raise TypeError(f"no expectation is derived for rule {rule!r}")  # pragma: no cover


def _from_range(rule: RangeRule) -> list[ExpectationSpec]:
    """A NULL value or a NULL bound passes, as in the contract: GX skips NULLs in column maps, and the
    column-pair expectations ignore a row with either value missing."""
    parts: list[tuple[str, str, dict[str, Any]]] = []
    if rule.min is not None or rule.max is not None:
        bounds = {"column": rule.column}
        bounds |= {"min_value": rule.min} if rule.min is not None else {}
        bounds |= {"max_value": rule.max} if rule.max is not None else {}
        parts.append(("values", "expect_column_values_to_be_between", bounds))
    pair = "expect_column_pair_values_a_to_be_greater_than_b"
    if rule.min_column is not None:
        parts.append(
            ("min_column", pair, _pair_kwargs(greater=rule.column, smaller=rule.min_column)),
        )
    if rule.max_column is not None:
        parts.append(
            ("max_column", pair, _pair_kwargs(greater=rule.max_column, smaller=rule.column)),
        )
    return [
        _spec(rule.id if len(parts) == 1 else f"{rule.id}:{part}", kind, kwargs, rule.message)
        for part, kind, kwargs in parts
    ]


def _pair_kwargs(greater: str, smaller: str) -> dict[str, Any]:
    return {
        "column_A": greater,
        "column_B": smaller,
        "or_equal": True,
        "ignore_row_if": "either_value_is_missing",
    }


def _from_unique(contract: Contract, rule: UniqueRule, day: tuple[str, ...] = ()) -> ExpectationSpec:
    columns = rule.columns + tuple(c for c in day if c not in rule.columns)
    if contract.layer != "bronze":
        return _unique_spec(rule.id, columns, rule.message)
    # Bronze keeps exact redeliveries (same row image); only *different* images sharing a key conflict.
    # Row images are hashed only for the keys that occur more than once (a semi-join on them): hashing
    # every row of a day was most of a bronze check's time (8 s of 9 for 1M events).
    keys = ", ".join(_quoted(c) for c in columns)
    present = " AND ".join(f"{_quoted(c)} IS NOT NULL" for c in rule.columns)
    same_key = " AND ".join(f"batch_rows.{_quoted(c)} <=> repeated.{_quoted(c)}" for c in columns)
    image = f"sha2(to_json(struct({', '.join(_quoted(c) for c in contract.column_names)})), 256)"
    query = (
        f"SELECT {keys}, COUNT(DISTINCT {image}) AS row_images FROM {{batch}} AS batch_rows "
        f"LEFT SEMI JOIN (SELECT {keys} FROM {{batch}} WHERE {present} GROUP BY {keys} HAVING COUNT(*) > 1) "
        f"AS repeated ON {same_key} GROUP BY {keys} HAVING COUNT(DISTINCT {image}) > 1"
    )
    return _spec(
        rule.id,
        "unexpected_rows_expectation",
        {"unexpected_rows_query": query},
        f"{rule.message} (exact redeliveries allowed)",
    )


def _primary_key(contract: Contract, day: tuple[str, ...] = ()) -> list[ExpectationSpec]:
    """Silver and gold keys are unique; a bronze key is not (a row per version, see its unique rule)."""
    if contract.layer == "bronze":
        return []
    covered = any(
        isinstance(rule, UniqueRule) and set(rule.columns) == set(contract.primary_key)
        for rule in contract.rules
    )
    if covered:
        return []
    columns = contract.primary_key + tuple(c for c in day if c not in contract.primary_key)
    return [
        _unique_spec(
            PRIMARY_KEY_UNIQUE_ID, columns, f"the primary key {list(contract.primary_key)} is not unique"
        )
    ]


def _unique_spec(expectation_id: str, columns: tuple[str, ...], message: str) -> ExpectationSpec:
    if len(columns) == 1:
        return _spec(expectation_id, "expect_column_values_to_be_unique", {"column": columns[0]}, message)
    return _spec(
        expectation_id, "expect_compound_columns_to_be_unique", {"column_list": list(columns)}, message
    )


def _spec(expectation_id: str, kind: str, kwargs: dict[str, Any], message: str) -> ExpectationSpec:
    return ExpectationSpec(id=expectation_id, type=kind, kwargs=kwargs, description=_sentence(message))


def _sentence(message: str) -> str:
    """A contract rule's message says what is wrong; GX describes what is expected."""
    return f"Fails when {message}."


def _quoted(column: str) -> str:
    return f"`{column}`"


def _apply_settings(
    derived: tuple[ExpectationSpec, ...], extra: ExpectationsFile
) -> tuple[ExpectationSpec, ...]:
    by_id = {spec.id: spec for spec in derived}
    unknown = sorted(set(extra.derived) - set(by_id))
    if unknown:
        known = ", ".join(by_id)
        raise ExpectationsError(
            extra.path,
            [
                f"derived.{name}: no expectation of that id is derived from the contract (known: {known})"
                for name in unknown
            ],
        )
    problems: list[str] = []
    settings: dict[str, ExpectationSpec] = {}
    for name, values in extra.derived.items():
        spec = by_id[name]
        try:
            settings[name] = replace(
                spec,
                severity=Severity(values.get("severity", spec.severity.value)),
                mostly=values.get("mostly", spec.mostly),
            )
        except ValueError as error:
            problems.append(f"derived.{name}: {error}")
    if problems:
        raise ExpectationsError(extra.path, problems)
    return tuple(settings.get(spec.id, spec) for spec in derived)


# --- files --------------------------------------------------------------------------------------------


def expectations_schema(root: Path | None = None) -> dict[str, Any]:
    return json_schema_at(str((root or contracts_dir()) / EXPECTATIONS_SCHEMA_FILE_NAME))


def expectations_path(contract: Contract, root: Path | None = None) -> Path:
    """Where the table's expectations file lives: next to its contract."""
    base = (
        contract.path.parent
        if contract.path is not None and root is None
        else (root or contracts_dir()) / contract.layer
    )
    return base / f"{contract.table}{EXPECTATIONS_SUFFIX}"


def load_expectations_file(path: Path | str, contract: Contract | None = None) -> ExpectationsFile:
    """Read and validate one expectations file; with ``contract``, also check the columns it names."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ExpectationsError(
            path, [f"not valid JSON at line {error.lineno}, column {error.colno}: {error.msg}"]
        ) from None
    return parse_expectations(document, path, contract)


def parse_expectations(
    document: Any,
    path: Path | str | None = None,
    contract: Contract | None = None,
    schema: Mapping | None = None,
) -> ExpectationsFile:
    """Validate an already-parsed expectations document (``path`` is used in messages)."""
    problems = schema_problems(document, schema if schema is not None else expectations_schema())
    if problems:
        raise ExpectationsError(path, problems)
    specs = tuple(
        ExpectationSpec(
            id=raw["id"],
            type=raw["type"],
            kwargs=raw["kwargs"],
            severity=Severity(raw["severity"]),
            mostly=raw.get("mostly"),
            description=raw["description"],
            origin=Origin.FILE,
        )
        for raw in document.get("expectations", [])
    )
    parsed = ExpectationsFile(
        layer=document["layer"],
        table=document["table"],
        scope=Scope(document["scope"]) if "scope" in document else None,
        derived=document.get("derived", {}),
        expectations=specs,
        path=Path(path) if path is not None else None,
    )
    problems = _semantic_problems(parsed, contract)
    if problems:
        raise ExpectationsError(path, problems)
    return parsed


def _semantic_problems(parsed: ExpectationsFile, contract: Contract | None) -> list[str]:
    problems: list[str] = []
    seen: set[str] = set()
    for index, spec in enumerate(parsed.expectations):
        if spec.id in seen:
            problems.append(f"expectations[{index}].id: {spec.id!r} is used twice")
        seen.add(spec.id)
        if spec.type in {"expect_column_values_to_match_regex", "expect_column_values_to_not_match_regex"}:
            try:
                re.compile(spec.kwargs["regex"])
            except re.error as error:
                problems.append(
                    f"expectations[{index}].kwargs.regex: not a valid regular expression: {error}"
                )
    if contract is None:
        return problems
    if (parsed.layer, parsed.table) != (contract.layer, contract.table):
        problems.append(f"layer/table: {parsed.layer}.{parsed.table} does not match contract {contract.name}")
    known = set(allowed_columns(contract))
    for index, spec in enumerate(parsed.expectations):
        for argument, column in _column_arguments(spec.kwargs):
            if column not in known:
                problems.append(
                    f"expectations[{index}].kwargs.{argument}: {column!r} is not a column of {contract.name}"
                )
    return problems


def _column_arguments(kwargs: Mapping[str, Any]) -> list[tuple[str, str]]:
    named = [(name, kwargs[name]) for name in ("column", "column_A", "column_B") if name in kwargs]
    named += [(f"column_list[{i}]", c) for i, c in enumerate(kwargs.get("column_list", []))]
    return named


def load_suite(contract: Contract, partitioned: bool = True, root: Path | None = None) -> Suite:
    """The suite of a contract's table, with its expectations file when there is one."""
    path = expectations_path(contract, root)
    extra = load_expectations_file(path, contract) if path.exists() else None
    return derive_suite(contract, extra, partitioned)
