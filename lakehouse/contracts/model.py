"""A table contract as typed, immutable Python objects.

The YAML files under ``contracts/`` are the source of truth; ``loader`` validates them and builds these
objects. Everything here is plain data, so contracts can be built in tests without files and compared,
hashed and printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from lakehouse.partitions import PARTITION_COLUMN

# Bronze metadata columns, in the order they follow the data columns. They are not part of
# a contract: alignment passes them through untouched and both output lanes keep them.
METADATA_COLUMNS: tuple[str, ...] = (
    "record_source",
    "record_table",
    "ingest_timestamp",
    "_batch_id",
    PARTITION_COLUMN,
)

# Columns the quarantine lane adds; an input must not carry them already.
ERROR_REASONS_COLUMN = "_error_reasons"
ORIGINAL_PAYLOAD_COLUMN = "_original_payload"
# Internal to an AlignedFrame: reasons found while aligning (values that do not cast, new columns).
ALIGNMENT_ERRORS_COLUMN = "_alignment_errors"
RESERVED_COLUMNS: tuple[str, ...] = (ERROR_REASONS_COLUMN, ORIGINAL_PAYLOAD_COLUMN, ALIGNMENT_ERRORS_COLUMN)

# One violated rule, as stored in ``_error_reasons`` (an array of these structs, Delta-storable).
REASON_TYPE = "struct<rule_id:string,column:string,message:string>"
REASONS_TYPE = f"array<{REASON_TYPE}>"

# Rule ids the library derives itself; ``column`` in the reason names the column concerned.
NEW_COLUMN_RULE_ID = "new_column"


class PiiClass(str, Enum):
    """How much a column says about a person; governance turns these into tags and masking."""

    NONE = "none"
    """Not about a person."""
    DIRECT = "direct"
    """Identifies a person on its own: name, e-mail, phone."""
    INDIRECT = "indirect"
    """Identifies a person combined with other data: customer ids, session ids, city."""
    SENSITIVE = "sensitive"
    """Special-category data (health, beliefs, finances): never leaves silver unmasked."""


class NewColumnPolicy(str, Enum):
    EVOLVE = "evolve"
    """Keep the column (lower-cased name, its own type) after the contract columns; report it."""
    QUARANTINE = "quarantine"
    """Send every row of the batch to quarantine, reason ``new_column``: nothing lands until the contract
    says what the column is, and nothing is lost (the payload holds the new values)."""
    FAIL = "fail"
    """Raise ``SchemaEvolutionError``: the run stops before anything is written."""


class MissingColumnPolicy(str, Enum):
    FILL_NULL = "fill_null"
    """Add a missing nullable column as NULL (reported). A missing required column always raises."""
    FAIL = "fail"
    """Raise ``SchemaEvolutionError`` for any missing column."""


class TypeChangePolicy(str, Enum):
    CAST_OR_QUARANTINE = "cast_or_quarantine"
    """Cast to the contract type (reported); rows whose value does not cast are quarantined."""
    FAIL = "fail"
    """Raise ``SchemaEvolutionError``."""


class SourceSystem(str, Enum):
    SNOWFLAKE = "snowflake"
    REDSHIFT = "redshift"


class LineageTransformation(str, Enum):
    """How a derived column's value comes from its input columns (OpenLineage's DIRECT subtypes)."""

    IDENTITY = "identity"
    """The input value, unchanged (a join may pick which row it comes from)."""
    TRANSFORMATION = "transformation"
    """Computed row by row from the inputs: a cast, a trim, a formula, a surrogate-key hash."""
    AGGREGATION = "aggregation"
    """Aggregated over several input rows: a count, a sum, a minimum."""
    MASKING = "masking"
    """A masked form of the inputs (a salted hash of PII): the original value cannot be recovered."""


@dataclass(frozen=True)
class ColumnRef:
    """A column of a lake table, written ``<layer>/<table>.<column>`` (the table's asset key and column)."""

    layer: str
    table: str
    column: str

    @classmethod
    def parse(cls, text: str) -> ColumnRef:
        table_path, _, column = text.partition(".")
        layer, _, table = table_path.partition("/")
        if not (layer and table and column):
            raise ValueError(f"{text!r} is not <layer>/<table>.<column>")
        return cls(layer, table, column)

    @property
    def table_name(self) -> str:
        """``<layer>.<table>``, the key of the table's contract in ``load_contracts``."""
        return f"{self.layer}.{self.table}"

    def __str__(self) -> str:
        return f"{self.layer}/{self.table}.{self.column}"


@dataclass(frozen=True)
class ColumnLineage:
    """The input columns a derived column is computed from, and how."""

    inputs: tuple[ColumnRef, ...]
    transformation: LineageTransformation


@dataclass(frozen=True)
class Column:
    """One contract column. ``name`` is the bronze name: the source name lower-cased.

    ``source_type`` is set when the source encodes the column in another type than the contract's
    (a timestamp or a number written as text): casting from it is expected, not a type change.
    """

    name: str
    type: str
    nullable: bool
    pii: PiiClass
    description: str
    source_type: str | None = None
    lineage: ColumnLineage | None = None
    """Silver and gold only: the upstream columns this one is computed from (``None``: not declared)."""

    @property
    def arrives_as(self) -> str:
        """The type the column is expected to arrive in."""
        return self.source_type or self.type


@dataclass(frozen=True)
class Source:
    system: SourceSystem
    table: str
    change_column: str


@dataclass(frozen=True)
class EvolutionPolicy:
    new_column: NewColumnPolicy = NewColumnPolicy.EVOLVE
    missing_column: MissingColumnPolicy = MissingColumnPolicy.FILL_NULL
    type_change: TypeChangePolicy = TypeChangePolicy.CAST_OR_QUARANTINE


@dataclass(frozen=True)
class NotNullRule:
    id: str
    message: str
    column: str
    derived: bool = False
    """True when the loader derived the rule from ``nullable: false`` rather than reading it."""

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)


@dataclass(frozen=True)
class RangeRule:
    """``min <= column <= max`` (bounds inclusive); ``min_column`` / ``max_column`` bound the value by
    another column of the same row (e.g. nothing happens after the change column). A NULL value or a
    NULL bound passes: nullness is the not-null rule's business."""

    id: str
    message: str
    column: str
    min: str | int | float | None = None
    max: str | int | float | None = None
    min_column: str | None = None
    max_column: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column, *(c for c in (self.min_column, self.max_column) if c))


@dataclass(frozen=True)
class EnumRule:
    id: str
    message: str
    column: str
    values: tuple[str | int | float | bool, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)


@dataclass(frozen=True)
class RegexRule:
    """The whole value must match ``pattern`` (anchor it). Use the subset common to Java and Rust regular
    expressions (no look-around, no back-references) so Apache Spark and Sail agree."""

    id: str
    message: str
    column: str
    pattern: str

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)


@dataclass(frozen=True)
class UniqueRule:
    """No two *different* rows of one batch share these columns. Exact duplicates (same original payload)
    pass: they are redeliveries, which silver de-duplicates. Every row of a conflicting group is
    quarantined, since nothing says which one is right. Rows with a NULL in the columns are not compared."""

    id: str
    message: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class ForeignKeyRule:
    """A non-NULL ``column`` must exist in ``references_column`` of the reference DataFrame given for
    ``references_table`` (see ``validate_and_quarantine``)."""

    id: str
    message: str
    column: str
    references_table: str
    references_column: str

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)


Rule = NotNullRule | RangeRule | EnumRule | RegexRule | UniqueRule | ForeignKeyRule


@dataclass(frozen=True)
class Contract:
    """One table's contract: its columns, key, row rules and schema-evolution policy.

    ``rules`` holds every rule that is evaluated, including the not-null rules derived from
    ``nullable: false``. ``path`` is the file it was read from (``None`` when built in code).
    """

    layer: str
    table: str
    description: str
    owner: str
    source: Source | None  # the source table feeding a bronze table; None for derived (silver, gold) tables
    primary_key: tuple[str, ...]
    columns: tuple[Column, ...]
    rules: tuple[Rule, ...] = ()
    evolution: EvolutionPolicy = field(default_factory=EvolutionPolicy)
    path: Path | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        """``<layer>.<table>``, e.g. ``bronze.customers``."""
        return f"{self.layer}.{self.table}"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"contract {self.name} has no column {name!r}")

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(f"contract {self.name} has no rule {rule_id!r}")

    @property
    def foreign_key_rules(self) -> tuple[ForeignKeyRule, ...]:
        return tuple(rule for rule in self.rules if isinstance(rule, ForeignKeyRule))

    @property
    def column_lineage(self) -> dict[str, ColumnLineage]:
        """Columns with declared lineage, in table order."""
        return {c.name: c.lineage for c in self.columns if c.lineage is not None}

    @property
    def pii_columns(self) -> dict[str, PiiClass]:
        """Columns that say something about a person, with their class."""
        return {c.name: c.pii for c in self.columns if c.pii is not PiiClass.NONE}


def type_rule_id(column: str) -> str:
    """The rule id of a value that does not cast to its column's contract type."""
    return f"{column}_type"


def not_null_rule_id(column: str) -> str:
    """The id of the not-null rule derived from ``nullable: false``."""
    return f"{column}_not_null"
