"""Align an extracted batch to its contract: names, order, types and the schema-evolution policy.

``align_to_schema`` is one ``select``: it does not read the data, it only plans. The result keeps two
internal columns for ``validate_and_quarantine``: the original row as text (``_original_payload``) and the
reasons found while aligning (``_alignment_errors``), because a value that does not cast must become a
quarantine reason, never a silent NULL, and its original text must survive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakehouse.contracts.evolution import SchemaEvolutionError, TypeStatus, can_cast, type_status
from lakehouse.contracts.model import (
    ALIGNMENT_ERRORS_COLUMN,
    METADATA_COLUMNS,
    NEW_COLUMN_RULE_ID,
    ORIGINAL_PAYLOAD_COLUMN,
    REASONS_TYPE,
    RESERVED_COLUMNS,
    Contract,
    MissingColumnPolicy,
    NewColumnPolicy,
    TypeChangePolicy,
    type_rule_id,
)


@dataclass(frozen=True)
class TypeChange:
    column: str
    expected: str
    actual: str


@dataclass(frozen=True)
class AlignmentReport:
    """What alignment found and did, for run metadata and logs.

    ``new_columns``: input columns the contract does not know (bronze names), handled per
    ``new_column_policy``; ``filled_columns``: missing nullable columns added as NULL; ``type_changes``:
    columns that arrived in an unexpected type and were cast (their failures are quarantined);
    ``cast_columns``: every column cast with a NULL guard, including expected text sources.
    """

    table: str
    new_columns: tuple[str, ...] = ()
    new_column_policy: NewColumnPolicy = NewColumnPolicy.EVOLVE
    filled_columns: tuple[str, ...] = ()
    type_changes: tuple[TypeChange, ...] = ()
    cast_columns: tuple[str, ...] = ()

    @property
    def evolved_columns(self) -> tuple[str, ...]:
        """New columns kept in the output (policy ``evolve``)."""
        return self.new_columns if self.new_column_policy is NewColumnPolicy.EVOLVE else ()

    @property
    def schema_changed(self) -> bool:
        return bool(self.new_columns or self.filled_columns or self.type_changes)

    def as_metadata(self) -> dict[str, Any]:
        """Plain values, ready for Dagster materialization metadata or a JSON log line."""
        return {
            "table": self.table,
            "new_columns": list(self.new_columns),
            "new_column_policy": self.new_column_policy.value,
            "filled_columns": list(self.filled_columns),
            "type_changes": [
                {"column": c.column, "expected": c.expected, "actual": c.actual} for c in self.type_changes
            ],
            "cast_columns": list(self.cast_columns),
        }


class AlignedFrame(NamedTuple):
    """A batch aligned to its contract; unpacks as ``(frame, report)``.

    ``frame`` columns, in order: the contract columns (bronze names and types), evolved new columns, the
    metadata columns present in the input, then ``_original_payload`` and ``_alignment_errors``.
    ``_original_payload`` is the JSON text of the row as received, or, when aligned with
    ``render_payload=False``, the struct of its text values that ``payload_as_json`` turns into that JSON.
    """

    frame: DataFrame
    report: AlignmentReport


def quoted(name: str) -> SparkColumn:
    """A column by its exact name, even with dots or spaces in it."""
    return F.col("`" + name.replace("`", "``") + "`")


def reason(rule_id: str, column: str | None, message: str) -> SparkColumn:
    """One ``_error_reasons`` element."""
    return F.struct(
        F.lit(rule_id).alias("rule_id"),
        F.lit(column).cast("string").alias("column"),
        F.lit(message).alias("message"),
    )


def reasons_array(candidates: list[SparkColumn]) -> SparkColumn:
    """The non-NULL elements of ``candidates`` (``when(violated, reason)`` columns) as a typed array.

    The cast gives every array the same element type; Sail refuses to concatenate arrays whose struct
    fields differ only in nullability.
    """
    never = F.when(F.lit(False), reason("", None, ""))
    return F.array_compact(F.array(*candidates, never)).cast(REASONS_TYPE)


def empty_reasons() -> SparkColumn:
    """An empty ``_error_reasons`` array, typed as every other."""
    return F.array().cast(REASONS_TYPE)


def reasons_where(found: list[tuple[SparkColumn, SparkColumn]]) -> SparkColumn:
    """The reasons of the ``(condition, reason)`` pairs whose condition holds (NULL counts as not), as one
    typed array: built only on the rows where some condition holds, the others get the empty array. Most
    rows break nothing, and building, compacting and casting an array of structs on every row was the
    larger part of aligning and annotating a batch."""
    if not found:
        return empty_reasons()
    holds = [F.coalesce(condition, F.lit(False)) for condition, _ in found]
    any_holds = holds[0]
    for condition in holds[1:]:
        any_holds = any_holds | condition
    built = reasons_array([F.when(condition, found_reason) for condition, (_, found_reason) in zip(holds, found)])
    return F.when(any_holds, built).otherwise(empty_reasons())


def original_payload(columns: list[str]) -> SparkColumn:
    """The row as received, as a JSON object of text values (NULLs omitted).

    Values are rendered with ``cast(... as string)`` before ``to_json`` because typed JSON differs
    between engines (measured: Apache Spark writes timestamps to the millisecond and decimals as
    ``12.50``; Sail writes microseconds and ``12.5``, and ignores ``to_json`` options), while the text
    cast is identical on both, keeps every digit, and keeps unparsable text as it came.
    """
    return F.to_json(original_row(columns))


def original_row(columns: list[str]) -> SparkColumn:
    """The row as received, as a struct of text values: ``original_payload`` before its JSON rendering."""
    return F.struct(*[quoted(name).cast("string").alias(name) for name in columns])


def payload_as_json(frame: DataFrame) -> SparkColumn:
    """``frame``'s ``_original_payload`` as JSON text, whether it is already rendered or still a struct."""
    column = F.col(ORIGINAL_PAYLOAD_COLUMN)
    return F.to_json(column) if isinstance(frame.schema[ORIGINAL_PAYLOAD_COLUMN].dataType, T.StructType) else column


def align_to_schema(df: DataFrame, contract: Contract, *, render_payload: bool = True) -> AlignedFrame:
    """Cast, rename, order and complete ``df`` to ``contract``, applying its evolution policy.

    Input columns match contract columns case-insensitively (bronze names are the source names
    lower-cased). Metadata columns (``record_source``, ``record_table``, ``ingest_timestamp``,
    ``_batch_id``, ``_run_date``) pass through unchanged. Raises ``SchemaEvolutionError`` naming the
    table and column when the policy says ``fail``, when a required column is missing, or when a column
    cannot be cast at all.

    ``render_payload=False`` keeps ``_original_payload`` as a struct of text values: rendering JSON for
    every row costs about as much as aligning it, and only quarantined rows keep their payload.
    """
    table = contract.name
    schema = df.schema
    input_types = {field.name: field.dataType.simpleString() for field in schema.fields}
    reserved = [name for name in input_types if name in RESERVED_COLUMNS]
    if reserved:
        raise SchemaEvolutionError(f"{table}: input already has reserved column(s) {reserved}")
    metadata = [name for name in METADATA_COLUMNS if name in input_types]
    data_columns = [name for name in input_types if name not in METADATA_COLUMNS]
    by_lower: dict[str, str] = {}
    for name in data_columns:
        if name.lower() in by_lower:
            raise SchemaEvolutionError(
                f"{table}: input columns {by_lower[name.lower()]!r} and {name!r} differ only in case"
            )
        by_lower[name.lower()] = name

    selected: list[SparkColumn] = []
    guards: list[tuple[SparkColumn, SparkColumn]] = []
    filled: list[str] = []
    changes: list[TypeChange] = []
    cast_columns: list[str] = []
    for column in contract.columns:
        source = by_lower.pop(column.name, None)
        if source is None:
            if contract.evolution.missing_column is MissingColumnPolicy.FAIL:
                raise SchemaEvolutionError(
                    f"{table}: column {column.name!r} is missing (missing_column policy: fail)"
                )
            if not column.nullable:
                raise SchemaEvolutionError(
                    f"{table}: required column {column.name!r} is missing from the input"
                )
            selected.append(F.lit(None).cast(column.type).alias(column.name))
            filled.append(column.name)
            continue
        actual = input_types[source]
        status = type_status(actual, column)
        if status is TypeStatus.SAME:
            selected.append(quoted(source).alias(column.name))
            continue
        if status is TypeStatus.CHANGED:
            if contract.evolution.type_change is TypeChangePolicy.FAIL:
                raise SchemaEvolutionError(
                    f"{table}: column {column.name!r} arrived as {actual}, contract type is {column.type} "
                    "(type_change policy: fail)"
                )
            changes.append(TypeChange(column.name, column.arrives_as, actual))
        if not can_cast(actual, column.type):
            raise SchemaEvolutionError(
                f"{table}: column {column.name!r} of type {actual} cannot be cast to {column.type}"
            )
        raw = quoted(source)
        typed = raw.try_cast(column.type)
        selected.append(typed.alias(column.name))
        cast_columns.append(column.name)
        message = f"{column.name} value does not cast to {column.type}"
        guards.append((raw.isNotNull() & typed.isNull(), reason(type_rule_id(column.name), column.name, message)))

    new_columns = [name.lower() for name in by_lower]
    policy = contract.evolution.new_column
    if new_columns and policy is NewColumnPolicy.FAIL:
        raise SchemaEvolutionError(
            f"{table}: new column(s) {new_columns} not in the contract (new_column policy: fail)"
        )
    if policy is NewColumnPolicy.EVOLVE:
        selected.extend(quoted(source).alias(source.lower()) for source in by_lower.values())
    elif new_columns:
        guards.extend(
            (
                F.lit(True),
                reason(NEW_COLUMN_RULE_ID, name, f"column {name} is not in the contract (new_column policy: quarantine)"),
            )
            for name in new_columns
        )

    frame = df.select(
        *selected,
        *[quoted(name) for name in metadata],
        (original_payload if render_payload else original_row)(data_columns).alias(ORIGINAL_PAYLOAD_COLUMN),
        reasons_where(guards).alias(ALIGNMENT_ERRORS_COLUMN),
    )
    report = AlignmentReport(
        table=table,
        new_columns=tuple(new_columns),
        new_column_policy=policy,
        filled_columns=tuple(filled),
        type_changes=tuple(changes),
        cast_columns=tuple(cast_columns),
    )
    return AlignedFrame(frame, report)
