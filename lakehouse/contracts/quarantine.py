"""Split a batch into valid rows and quarantine rows, evaluating every contract rule for every row.

One plan, one pass over the rows: every rule becomes a boolean column, the violated ones are gathered
into ``_error_reasons``, and the two lanes are the two sides of ``size(_error_reasons) = 0``, so every
row lands in exactly one of them. The windows (uniqueness) and left joins (foreign keys) that some
rules need are computed in the same plan. Writing both lanes from ``validate_and_quarantine`` runs the
plan twice; to evaluate it once, write ``annotate_violations``'s frame somewhere first (bronze stages it
as Parquet) and ``split_lanes`` what was written.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import NamedTuple

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse.contracts.align import AlignedFrame, align_to_schema, payload_as_json, quoted, reason, reasons_where
from lakehouse.contracts.model import (
    ALIGNMENT_ERRORS_COLUMN,
    ERROR_REASONS_COLUMN,
    METADATA_COLUMNS,
    ORIGINAL_PAYLOAD_COLUMN,
    Contract,
    EnumRule,
    ForeignKeyRule,
    NotNullRule,
    RangeRule,
    RegexRule,
    Rule,
    UniqueRule,
)


class MissingReferenceError(ValueError):
    """A foreign-key rule has no reference DataFrame to be checked against."""


class QuarantineResult(NamedTuple):
    """The two lanes of one batch; unpacks as ``(valid, quarantine)``.

    ``valid``: the contract columns (bronze names and types), evolved new columns, then the metadata
    columns present in the input. ``quarantine``: the metadata columns present, ``_error_reasons``
    (``array<struct<rule_id, column, message>>``, every rule the row breaks) and ``_original_payload``
    (the row as received, a JSON object of text values).
    """

    valid: DataFrame
    quarantine: DataFrame


def validate_and_quarantine(
    data: AlignedFrame | DataFrame,
    contract: Contract,
    *,
    references: Mapping[str, DataFrame] | None = None,
    skip_rules: Collection[str] = (),
) -> QuarantineResult:
    """Evaluate every rule of ``contract`` on every row and split the rows into valid and quarantined.

    ``data`` is the output of ``align_to_schema``, or a raw batch, which is aligned first (raising
    ``SchemaEvolutionError`` as ``align_to_schema`` does).

    Foreign keys: ``references`` maps a referenced table name (``rule.references_table``, e.g.
    ``customers``) to a DataFrame holding the referenced column (e.g. the bronze customers table plus
    the current customers batch). A non-NULL value absent from that column breaks the rule; a NULL is
    the not-null rule's business. A foreign-key rule without a reference raises
    ``MissingReferenceError`` rather than passing silently; to deliberately not check it (e.g. when the
    referenced table is extracted on another schedule) name it in ``skip_rules``.
    """
    return split_lanes(annotate_violations(data, contract, references=references, skip_rules=skip_rules))


def annotate_violations(
    data: AlignedFrame | DataFrame,
    contract: Contract,
    *,
    references: Mapping[str, DataFrame] | None = None,
    skip_rules: Collection[str] = (),
) -> DataFrame:
    """Every row of the batch with ``_error_reasons`` (every rule it breaks; empty when valid) and
    ``_original_payload``: the one plan ``validate_and_quarantine`` splits. Arguments as there.

    A raw batch is aligned with ``render_payload=False``: the payload stays a struct of text values,
    rendered as JSON by ``split_lanes`` for the quarantined rows only."""
    aligned = data if isinstance(data, AlignedFrame) else align_to_schema(data, contract, render_payload=False)
    frame = aligned.frame
    known_ids = {rule.id for rule in contract.rules}
    unknown = sorted(set(skip_rules) - known_ids)
    if unknown:
        raise ValueError(f"{contract.name}: skip_rules names unknown rule(s) {unknown}")
    rules = [rule for rule in contract.rules if rule.id not in skip_rules]
    output_columns = [
        name for name in frame.columns if name not in (ORIGINAL_PAYLOAD_COLUMN, ALIGNMENT_ERRORS_COLUMN)
    ]

    violations: list[tuple[SparkColumn, SparkColumn]] = []
    for index, rule in enumerate(rules):
        helper = f"__rule_{index}"
        if isinstance(rule, UniqueRule):
            frame = _mark_conflicting_duplicates(frame, rule, helper)
            violated = F.col(helper)
        elif isinstance(rule, ForeignKeyRule):
            frame = _join_reference(frame, rule, contract, references or {}, helper)
            violated = quoted(rule.column).isNotNull() & F.col(helper).isNull()
        else:
            violated = _row_condition(rule, contract)
        violations.append((violated, reason(rule.id, ",".join(rule.columns), rule.message)))

    broken = reasons_where(violations)
    aligned_badly = F.size(ALIGNMENT_ERRORS_COLUMN) > 0
    reasons = F.when(aligned_badly, F.concat(F.col(ALIGNMENT_ERRORS_COLUMN), broken)).otherwise(broken)
    return frame.select(
        *[quoted(name) for name in output_columns],
        reasons.alias(ERROR_REASONS_COLUMN),
        F.col(ORIGINAL_PAYLOAD_COLUMN),
    )


def split_lanes(checked: DataFrame) -> QuarantineResult:
    """The two lanes of an ``annotate_violations`` frame (as computed, or as read back from where it was
    staged): rows without reasons, and the rest with their reasons and original payload."""
    output_columns = [
        name for name in checked.columns if name not in (ERROR_REASONS_COLUMN, ORIGINAL_PAYLOAD_COLUMN)
    ]
    metadata = [name for name in METADATA_COLUMNS if name in output_columns]
    is_valid = F.size(ERROR_REASONS_COLUMN) == 0
    valid = checked.where(is_valid).select(*[quoted(name) for name in output_columns])
    quarantine = checked.where(~is_valid).select(
        *[quoted(name) for name in metadata],
        F.col(ERROR_REASONS_COLUMN),
        payload_as_json(checked).alias(ORIGINAL_PAYLOAD_COLUMN),
    )
    return QuarantineResult(valid, quarantine)


def with_payloads_of_quarantined_rows_only(checked: DataFrame) -> DataFrame:
    """``checked`` (an ``annotate_violations`` frame, reasons complete) with ``_original_payload`` NULL on
    the rows without reasons: before staging a batch, since a valid row's payload is a second, textual copy
    of the row that ``split_lanes`` drops anyway."""
    keep = F.size(ERROR_REASONS_COLUMN) > 0
    return checked.withColumn(ORIGINAL_PAYLOAD_COLUMN, F.when(keep, F.col(ORIGINAL_PAYLOAD_COLUMN)))


def _row_condition(rule: Rule, contract: Contract) -> SparkColumn:
    """True where a row breaks a rule that needs only the row itself (NULL counts as not broken)."""
    value = quoted(rule.column)
    if isinstance(rule, NotNullRule):
        # A value that failed its cast is NULL now, but it was there: the type reason already covers it.
        cast_failed = F.array_contains(F.col(f"{ALIGNMENT_ERRORS_COLUMN}.column"), rule.column)
        return value.isNull() & ~cast_failed
    if isinstance(rule, RangeRule):
        column_type = contract.column(rule.column).type
        broken = []
        if rule.min is not None:
            broken.append(value < F.lit(str(rule.min)).cast(column_type))
        if rule.max is not None:
            broken.append(value > F.lit(str(rule.max)).cast(column_type))
        if rule.min_column is not None:
            broken.append(value < quoted(rule.min_column))
        if rule.max_column is not None:
            broken.append(value > quoted(rule.max_column))
        return _any(broken)
    if isinstance(rule, EnumRule):
        return ~value.isin(list(rule.values))
    if isinstance(rule, RegexRule):
        return ~value.rlike(rule.pattern)
    raise TypeError(f"no row condition for {type(rule).__name__}")  # pragma: no cover


def _any(conditions: list[SparkColumn]) -> SparkColumn:
    """OR of conditions where a NULL operand counts as not broken (so one NULL bound cannot hide another)."""
    combined = F.lit(False)
    for condition in conditions:
        combined = combined | F.coalesce(condition, F.lit(False))
    return combined


def _mark_conflicting_duplicates(frame: DataFrame, rule: UniqueRule, helper: str) -> DataFrame:
    """Add ``helper``: TRUE on every row whose key is shared with a *different* row of the batch.

    Rows are compared by their original payload, so an exact redelivery is not a conflict; rows with a
    NULL key column are never compared (SQL ``UNIQUE`` semantics). Keys are counted first and payloads
    compared only for the keys that repeat, so a batch of distinct keys is neither sorted nor rendered.
    """
    names = list(rule.columns)
    keyed = frame
    for name in names:
        keyed = keyed.where(quoted(name).isNotNull())
    repeated = keyed.groupBy(*names).count().where(F.col("count") > 1).select(*names)
    # rendered after the semi-join: only rows whose key repeats are ever turned into text
    payload = payload_as_json(frame)
    conflicting = (
        keyed.join(repeated, on=names, how="left_semi")
        .groupBy(*names)
        .agg((F.min(payload) != F.max(payload)).alias(helper))
        .where(F.col(helper))
    )
    return frame.join(conflicting, on=names, how="left")


def _join_reference(
    frame: DataFrame,
    rule: ForeignKeyRule,
    contract: Contract,
    references: Mapping[str, DataFrame],
    helper: str,
) -> DataFrame:
    """Left-join the batch's keys found in the reference; ``helper`` is TRUE where the key was found."""
    reference = references.get(rule.references_table)
    if reference is None:
        raise MissingReferenceError(
            f"{contract.name}: rule {rule.id!r} needs references[{rule.references_table!r}], a DataFrame with "
            f"column {rule.references_column!r}; pass it, or name the rule in skip_rules"
        )
    matches = [name for name in reference.columns if name.lower() == rule.references_column.lower()]
    if len(matches) != 1:
        raise MissingReferenceError(
            f"{contract.name}: rule {rule.id!r}: references[{rule.references_table!r}] has no single column "
            f"{rule.references_column!r} (columns: {reference.columns})"
        )
    key = f"{helper}_key"
    # The batch's own distinct keys, kept where the reference has them: the hash table is the size of the
    # batch's keys, while the reference (every partition of the parent table, growing daily) only streams
    # past it, one column read. Distinct reference keys, the other way round, cost a hash table of the whole
    # history on every run.
    batch_keys = frame.select(quoted(rule.column).alias(key)).where(F.col(key).isNotNull()).distinct()
    referenced = reference.select(quoted(matches[0]).cast(contract.column(rule.column).type).alias(key))
    found = batch_keys.join(referenced, on=key, how="left_semi").withColumn(helper, F.lit(True))
    return frame.join(found, quoted(rule.column) == F.col(key), "left").drop(key)
