"""Blocking checks of a bronze partition, evaluated on what was written, scoped to the run's window.

* ``nothing_lost``: rows of the window counted at the source (one aggregate of the whole table, after the
  writes) = rows landed (= rows an unload reported writing) = rows in bronze + rows in quarantine, for the
  window's days and for the undated rows (held in quarantine with ``_run_date`` NULL).
* ``schema_matches_contract``: every contract column is present with the contract's type.
* ``primary_key_unique``: no two different row images share a key version (exact redeliveries allowed;
  silver de-duplicates them); counted with ``required_columns_not_null`` in one aggregation by key.
* ``required_columns_not_null``: no NULL in a column the contract declares not nullable.
* ``reconciled_with_source``: the whole source table, day by day, is in bronze or quarantine or in a day
  not due yet (``lakehouse.sources.reconciliation``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date

import dagster as dg
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.contracts import METADATA_COLUMNS, Contract, UniqueRule
from lakehouse.partitions import DayWindow, blocking_daily_check
from lakehouse.sources.extract import SourceCount
from lakehouse.sources.extraction import Extracted
from lakehouse.sources.reconciliation import TableReconciliation

NOTHING_LOST = "nothing_lost"
SCHEMA_MATCHES_CONTRACT = "schema_matches_contract"
PRIMARY_KEY_UNIQUE = "primary_key_unique"
REQUIRED_COLUMNS_NOT_NULL = "required_columns_not_null"
RECONCILED_WITH_SOURCE = "reconciled_with_source"
BRONZE_CHECKS = (
    NOTHING_LOST, SCHEMA_MATCHES_CONTRACT, PRIMARY_KEY_UNIQUE, REQUIRED_COLUMNS_NOT_NULL, RECONCILED_WITH_SOURCE,
)  # fmt: skip

_DESCRIPTIONS = {
    NOTHING_LOST: "Rows counted at the source for the window = rows written to bronze + rows quarantined; "
    "the same for the undated rows (NULL or future-dated change column), quarantined with a NULL _run_date.",
    SCHEMA_MATCHES_CONTRACT: "Every contract column is present in the partition with the contract's type.",
    PRIMARY_KEY_UNIQUE: "No two different row images share a key version (key + change column).",
    REQUIRED_COLUMNS_NOT_NULL: "No NULL in a column the contract declares not nullable.",
    RECONCILED_WITH_SOURCE: "Every row of the whole source table is in bronze or quarantine, or in a day not "
    "due yet (not loaded, not closed, or awaiting a reload of late commits); counts in the metadata.",
}


def bronze_check_specs(asset_key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [blocking_daily_check(name, asset_key, _DESCRIPTIONS[name]) for name in BRONZE_CHECKS]


def _partition(spark: SparkSession, uri: str, window: DayWindow) -> DataFrame:
    return spark.read.format("delta").load(uri).where(window.filter())


def nothing_lost_result(
    contract: Contract,
    window: DayWindow,
    landed: Extracted,
    source_count: SourceCount,
    in_bronze: Mapping[date | None, int],
    in_quarantine: Mapping[date | None, int],
) -> dg.AssetCheckResult:
    """``landed``: what the extraction landed (and what an unload reported writing); ``source_count``: the
    window's rows as the source counts them; ``in_bronze``, ``in_quarantine``: rows per ``_run_date``
    (None: no day) of the two lanes, from the logs of the commits just made (``Lake.partition_counts``)."""
    written = sum(in_bronze.get(day, 0) for day in window.days)
    quarantined = sum(in_quarantine.get(day, 0) for day in window.days)
    undated = in_quarantine.get(None, 0)
    reported = landed.reported_by_source
    passed = (
        source_count.total == landed.rows
        and reported in (None, landed.rows)
        and source_count.in_days == written + quarantined
        and source_count.undated == undated
    )
    unloaded = "" if reported is None else f" ({reported} reported unloaded by the source)"
    return dg.AssetCheckResult(
        asset_key=dg.AssetKey(["bronze", contract.table]),
        check_name=NOTHING_LOST,
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=None
        if passed
        else (
            f"{source_count.in_days} rows of the window's days and {source_count.undated} undated rows at the "
            f"source, {landed.rows} extracted{unloaded}; {written} written + {quarantined} quarantined for the "
            f"days, {undated} undated in quarantine"
        ),
        metadata={
            "rows_extracted": source_count.in_days,
            "rows_landed": landed.rows,
            **({} if reported is None else {"rows_unloaded": reported}),
            "rows_written": written,
            "rows_quarantined": quarantined,
            "quarantine_rate": (quarantined / source_count.in_days) if source_count.in_days else 0.0,
            "undated_rows_at_source": source_count.undated,
            "undated_rows_quarantined": undated,
        },
    )


def reconciliation_result(contract: Contract, reconciliation: TableReconciliation) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=dg.AssetKey(["bronze", contract.table]),
        check_name=RECONCILED_WITH_SOURCE,
        passed=reconciliation.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=reconciliation.describe() or None,
        metadata={
            "source_table": contract.source.table,
            **{
                key: dg.MetadataValue.json(value) if isinstance(value, list | dict) else value
                for key, value in reconciliation.as_metadata().items()
            },
        },
    )


def contract_check_results(
    spark: SparkSession, contract: Contract, bronze_uri: str, window: DayWindow
) -> Iterator[dg.AssetCheckResult]:
    partition = _partition(spark, bronze_uri, window)
    key = dg.AssetKey(["bronze", contract.table])
    yield _schema_result(key, contract, partition)
    unique, not_null = _row_results(key, contract, partition)
    yield unique
    yield not_null


def _schema_result(key: dg.AssetKey, contract: Contract, partition: DataFrame) -> dg.AssetCheckResult:
    actual = {field.name: field.dataType.simpleString() for field in partition.schema.fields}
    missing = [c.name for c in contract.columns if c.name not in actual]
    mismatched = {
        c.name: {"contract": c.type, "table": actual[c.name]}
        for c in contract.columns
        if c.name in actual and actual[c.name] != c.type
    }
    extra = [name for name in actual if name not in contract.column_names and name not in METADATA_COLUMNS]
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=SCHEMA_MATCHES_CONTRACT,
        passed=not missing and not mismatched,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "missing_columns": dg.MetadataValue.json(missing),
            "type_mismatches": dg.MetadataValue.json(mismatched),
            "evolved_columns": dg.MetadataValue.json(extra),
        },
    )


def row_image(contract: Contract) -> Column:
    """A 64-bit hash of a row's contract columns: equal for an exact copy. Each value is hashed beside its
    NULL flag, since Spark's hashes skip NULLs and would otherwise give (x, NULL) and (NULL, x) one image."""
    parts = []
    for name in contract.column_names:
        value = F.col(f"`{name}`")
        parts += [value, value.isNull()]
    return F.xxhash64(*parts)


def _row_results(
    key: dg.AssetKey, contract: Contract, partition: DataFrame
) -> tuple[dg.AssetCheckResult, dg.AssetCheckResult]:
    """``primary_key_unique`` and ``required_columns_not_null`` in one aggregation per unique rule (one
    pass without one): rows grouped by the rule's key, counting rows, distinct row images (a hash of the
    row; an exact redelivery is a copy, not a conflict) and NULLs of each required column. Grouping every
    column of the row instead, to compare images exactly, took longer than every other check together and
    held the whole partition's values as group keys; two different rows of one key colliding in 64 bits
    is the only case the hash could miss."""
    unique_rules = [r for r in contract.rules if isinstance(r, UniqueRule)]
    required = [c.name for c in contract.columns if not c.nullable]
    nulls = [F.count_if(F.col(f"`{c}`").isNull()).alias(f"_nulls_{i}") for i, c in enumerate(required)]
    image = row_image(contract)
    conflicts: dict[str, int] = {}
    stats = None
    for rule in unique_rules:
        per_key = partition.groupBy(*[F.col(f"`{c}`") for c in rule.columns]).agg(
            F.count(F.lit(1)).alias("_rows"), F.count_distinct(image).alias("_images"), *nulls
        )
        key_present = F.lit(True)
        for name in rule.columns:  # SQL UNIQUE semantics: a key with a NULL column is never compared
            key_present = key_present & F.col(f"`{name}`").isNotNull()
        stats = per_key.agg(
            F.count_if(key_present & (F.col("_images") > 1)).alias("conflicts"),
            F.sum(F.col("_rows") - F.col("_images")).alias("extra_copies"),
            F.sum("_rows").alias("rows"),
            *[F.sum(f"_nulls_{i}").alias(f"_nulls_{i}") for i in range(len(required))],
        ).first()
        conflicts[rule.id] = int(stats["conflicts"] or 0)
    if stats is None:
        stats = partition.agg(
            (F.count(F.lit(1)) - F.count_distinct(image)).alias("extra_copies"),
            F.count(F.lit(1)).alias("rows"),
            *nulls,
        ).first()
    null_counts = {c: int(stats[f"_nulls_{i}"] or 0) for i, c in enumerate(required)}
    unique = dg.AssetCheckResult(
        asset_key=key,
        check_name=PRIMARY_KEY_UNIQUE,
        passed=not any(conflicts.values()),
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "key_columns": dg.MetadataValue.json([list(r.columns) for r in unique_rules]),
            "conflicting_keys": dg.MetadataValue.json(conflicts),
            "rows": int(stats["rows"] or 0),
            "exact_duplicate_rows": int(stats["extra_copies"] or 0),
        },
    )
    not_null = dg.AssetCheckResult(
        asset_key=key,
        check_name=REQUIRED_COLUMNS_NOT_NULL,
        passed=not any(null_counts.values()),
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"null_counts": dg.MetadataValue.json(null_counts)},
    )
    return unique, not_null
