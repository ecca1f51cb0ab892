"""What a bronze table's foreign keys tie it to, as its watermark sensor needs it.

A row whose foreign key finds no parent in bronze is quarantined as an orphan. Two things keep a valid row
from staying there only because of the order in which the tables were loaded:

* ``upstream_tables``: a run of the table loads the same day of the tables it references (directly or
  through another) when they hold no row of it yet, so a new day's children never run before its parents;
* ``orphan_rechecks``: when a parent's day was re-loaded (late rows) after the table's own load of that day
  and the table's quarantine holds orphans on it, the day is loaded again, once per such re-load, so an
  order and its lines committed late together both land whichever sensor fires first.

Which load came later is read from the materializations Dagster recorded for the two partitions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

import dagster as dg

from lakehouse.contracts import Contract, ForeignKeyRule, load_contracts
from lakehouse.lake import Lake
from lakehouse.orchestration.jobs import bronze_asset_key, quarantine_asset_key
from lakehouse.partitions import PARTITION_COLUMN

REASONS_COLUMN = "_error_reasons"


def upstream_tables(contract: Contract) -> list[str]:
    """The bronze tables a table's foreign keys reference, and those theirs reference, and so on."""
    contracts = {c.table: c for c in load_contracts(layer="bronze").values()}
    found: list[str] = []
    pending = [contract]
    while pending:
        for parent in foreign_key_rules(pending.pop()).values():
            if parent != contract.table and parent not in found:
                found.append(parent)
                pending.append(contracts[parent])
    return sorted(found)


def foreign_key_rules(contract: Contract) -> dict[str, str]:
    """The id of each foreign-key rule of the contract, and the bronze table it references."""
    return {rule.id: rule.references_table for rule in contract.rules if isinstance(rule, ForeignKeyRule)}


def orphan_rechecks(
    instance: dg.DagsterInstance,
    lake: Lake,
    table: str,
    rules: Mapping[str, str],
    days: Iterable[date],
) -> dict[date, str]:
    """The ``days`` of ``table`` to load again because a referenced table's day was re-loaded after the
    table's own load of it and the table's quarantine holds orphans on it; for each, what was re-loaded
    (``orders@<storage id>``), which names the re-check."""
    days = sorted(days)
    if not rules or not days:
        return {}
    quarantined = lake.day_counts(quarantine_asset_key(table), days[0])
    rechecks: dict[date, str] = {}
    for day in (d for d in days if quarantined.get(d)):
        own = _latest_materialization(instance, bronze_asset_key(table), day)
        if own is None:  # loaded outside this Dagster instance: nothing to compare with
            continue
        later = {
            parent: loaded
            for parent in sorted(set(rules.values()) - {table})
            if (loaded := _latest_materialization(instance, bronze_asset_key(parent), day)) is not None
            and loaded > own
        }
        if later and _holds_orphans(lake, table, day, rules):
            rechecks[day] = ",".join(f"{parent}@{loaded}" for parent, loaded in later.items())
    return rechecks


def _latest_materialization(instance: dg.DagsterInstance, key: dg.AssetKey, day: date) -> int | None:
    """The storage id (an order across the instance's events) of the partition's latest materialization."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[day.isoformat()]), limit=1
    ).records
    return records[0].storage_id if records else None


def _holds_orphans(lake: Lake, table: str, day: date, rules: Mapping[str, str]) -> bool:
    """Whether a quarantined row of the day breaks one of the foreign-key ``rules`` (one partition's
    reasons, read with delta-rs)."""
    import pyarrow.compute as pc

    dataset = lake.open(quarantine_asset_key(table)).to_pyarrow_dataset()
    reasons = dataset.to_table(columns=[REASONS_COLUMN], filter=pc.field(PARTITION_COLUMN) == day)
    return any(
        reason["rule_id"] in rules
        for row in reasons.column(REASONS_COLUMN).to_pylist()
        for reason in row or []
    )
