"""What a bronze table's foreign keys tie it to, as its watermark sensor needs it.

A row whose foreign key finds no parent in bronze is quarantined as an orphan. Two things keep a valid row
from staying there only because of the order in which the tables were loaded:

* ``upstream_tables``: a run of the table loads the same day of the tables it references (directly or
  through another) when they hold no row of it yet, so a new day's children never run before its parents;
* ``orphan_rechecks``: when a parent's day was re-loaded (late rows) after the table's own load of that day
  and now holds a key one of the day's quarantined orphans points at, the day is loaded again, once per
  such re-load, so an order and its lines committed late together both land whichever sensor fires first.
  Orphans no re-load resolves (the generator's deliberate ones, a real source's broken keys) cost no run.

Which load came later is read from the materializations Dagster recorded for the two partitions; the
orphans and the parent's keys from one partition of each table, with delta-rs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date

import dagster as dg

from lakehouse.contracts import (
    ERROR_REASONS_COLUMN,
    ORIGINAL_PAYLOAD_COLUMN,
    Contract,
    ForeignKeyRule,
    load_contracts,
)
from lakehouse.lake import Lake
from lakehouse.orchestration.jobs import bronze_asset_key, quarantine_asset_key
from lakehouse.partitions import PARTITION_COLUMN


def upstream_tables(contract: Contract) -> list[str]:
    """The bronze tables a table's foreign keys reference, and those theirs reference, and so on."""
    contracts = {c.table: c for c in load_contracts(layer="bronze").values()}
    found: list[str] = []
    pending = [contract]
    while pending:
        for parent in {rule.references_table for rule in foreign_key_rules(pending.pop())}:
            if parent != contract.table and parent not in found:
                found.append(parent)
                pending.append(contracts[parent])
    return sorted(found)


def foreign_key_rules(contract: Contract) -> list[ForeignKeyRule]:
    """The contract's foreign-key rules on other bronze tables."""
    return [
        rule
        for rule in contract.rules
        if isinstance(rule, ForeignKeyRule) and rule.references_table != contract.table
    ]


def orphan_rechecks(
    instance: dg.DagsterInstance,
    lake: Lake,
    table: str,
    rules: Sequence[ForeignKeyRule],
    quarantined: Mapping[date, int],
) -> dict[date, str]:
    """The days of ``quarantined`` (the table's days matching the source, with their quarantined rows) to
    load again because a referenced table's day was re-loaded after the table's own load of it and now
    holds a key a quarantined orphan of the day points at; for each, what was re-loaded
    (``orders@<storage id>``), which names the re-check."""
    if not rules:
        return {}
    rechecks: dict[date, str] = {}
    for day in sorted(d for d, rows in quarantined.items() if rows):
        own = _latest_materialization(instance, bronze_asset_key(table), day)
        if own is None:  # loaded outside this Dagster instance: nothing to compare with
            continue
        later = {
            parent: loaded
            for parent in sorted({rule.references_table for rule in rules})
            if (loaded := _latest_materialization(instance, bronze_asset_key(parent), day)) is not None
            and loaded > own
        }
        resolvable = [rule for rule in rules if rule.references_table in later]
        if resolvable and _orphans_now_resolved(lake, table, day, resolvable):
            rechecks[day] = ",".join(f"{parent}@{loaded}" for parent, loaded in later.items())
    return rechecks


def _latest_materialization(instance: dg.DagsterInstance, key: dg.AssetKey, day: date) -> int | None:
    """The storage id (an order across the instance's events) of the partition's latest materialization."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[day.isoformat()]), limit=1
    ).records
    return records[0].storage_id if records else None


def _orphans_now_resolved(lake: Lake, table: str, day: date, rules: Sequence[ForeignKeyRule]) -> bool:
    """Whether a quarantined row of the day breaks one of ``rules`` with a key that the referenced table's
    same day now holds. The key is read from the row's original payload (the source's own column names)."""
    import pyarrow.compute as pc

    on_the_day = pc.field(PARTITION_COLUMN) == day
    quarantined = lake.open(quarantine_asset_key(table)).to_pyarrow_dataset()
    orphans = quarantined.to_table(
        columns=[ERROR_REASONS_COLUMN, ORIGINAL_PAYLOAD_COLUMN], filter=on_the_day
    ).to_pylist()
    for rule in rules:
        keys = {
            _payload_value(row[ORIGINAL_PAYLOAD_COLUMN], rule.column)
            for row in orphans
            if any(reason["rule_id"] == rule.id for reason in row[ERROR_REASONS_COLUMN] or [])
        } - {None}
        if not keys:
            continue
        parent = lake.open(bronze_asset_key(rule.references_table)).to_pyarrow_dataset()
        held = parent.to_table(columns=[rule.references_column], filter=on_the_day)
        if keys & {str(value) for value in held.column(rule.references_column).to_pylist()}:
            return True
    return False


def _payload_value(payload: str | None, column: str) -> str | None:
    """The value of ``column`` (matched case-insensitively, as sources name columns their own way) in a
    quarantined row's JSON payload, as text; None when absent or NULL."""
    if not payload:
        return None
    for name, value in json.loads(payload).items():
        if name.lower() == column.lower():
            return None if value is None else str(value)
    return None
