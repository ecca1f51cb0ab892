"""Blocking integrity checks of the gold facts, evaluated on what the run wrote, scoped to its partitions.

* ``foreign_keys_resolve``: every foreign key of the fact's contract (``foreign_key`` rules) resolves to
  a row of its dimension in the run's partitions; the unknown member (key ``0``) counts as a row, and
  how many rows point at it is reported.
* ``reconciles_with_silver``: per partition of the run, silver and gold agree (see
  ``lakehouse.gold.star.reconcile_order_lines`` and ``reconcile_customer_activity`` for the exact
  definitions): nothing lost, nothing stale, nothing extra, equal counts and equal sums.

Both are ``ERROR`` severity and blocking: a failure stops the assets downstream of the fact in the run.
The queries live in ``star`` (pure, engine-tested); this module only turns their rows into
``AssetCheckResult``s with the numbers as metadata.
"""

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import dagster as dg
from pyspark.sql import DataFrame

from lakehouse.contracts import Contract
from lakehouse.gold.star import foreign_key_report, reconcile_customer_activity, reconcile_order_lines
from lakehouse.partitions import blocking_daily_check

FOREIGN_KEYS_RESOLVE = "foreign_keys_resolve"
RECONCILES_WITH_SILVER = "reconciles_with_silver"
FACT_CHECKS = (FOREIGN_KEYS_RESOLVE, RECONCILES_WITH_SILVER)

_DESCRIPTIONS = {
    FOREIGN_KEYS_RESOLVE: "Every foreign key of the run's partitions resolves to a dimension row "
    "(the unknown member, key 0, counts).",
    RECONCILES_WITH_SILVER: "For each partition of the run, silver and gold agree: no row lost, stale or "
    "extra; equal row counts and equal sums.",
}


def fact_check_specs(asset_key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [
        blocking_daily_check(name, asset_key, _DESCRIPTIONS[name])
        for name in FACT_CHECKS
    ]


def foreign_keys_result(
    asset_key: dg.AssetKey, contract: Contract, facts: DataFrame, dimensions: Mapping[str, DataFrame]
) -> dg.AssetCheckResult:
    """``facts``: the fact rows of the run's partitions; ``dimensions``: gold tables by name, covering
    every table the contract's foreign keys reference."""
    keys: dict[str, dict[str, Any]] = {}
    rows = 0
    for rule in contract.foreign_key_rules:
        report = foreign_key_report(
            facts, rule.column, dimensions[rule.references_table], rule.references_column
        ).first()
        rows = int(report["rows"])
        keys[rule.column] = {
            "references": f"gold/{rule.references_table}.{rule.references_column}",
            "unresolved": int(report["unresolved"]),
            "unknown_member": int(report["unknown_member"]),
        }
    unresolved = {column: key["unresolved"] for column, key in keys.items() if key["unresolved"]}
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=FOREIGN_KEYS_RESOLVE,
        passed=not unresolved,
        severity=dg.AssetCheckSeverity.ERROR,
        description=None
        if not unresolved
        else "unresolved foreign keys: " + ", ".join(f"{c} ({n} rows)" for c, n in unresolved.items()),
        metadata={
            "rows_checked": rows,
            "foreign_keys": dg.MetadataValue.json(keys),
            **{f"unknown_member_{column}": key["unknown_member"] for column, key in keys.items()},
        },
    )


def order_lines_reconciliation_result(
    asset_key: dg.AssetKey, silver_orders: DataFrame, fact_orders: DataFrame, start: date, end: date
) -> dg.AssetCheckResult:
    """``silver_orders``: silver/orders of the run's partitions; ``fact_orders``: the whole fact table
    (a line may live in a later partition than the window)."""
    days = _plain(reconcile_order_lines(silver_orders, fact_orders, start, end))
    return _reconciliation_result(
        asset_key,
        days,
        counts=(
            "silver_lines",
            "missing_lines",
            "behind_lines",
            "mismatched_lines",
            "lines_here",
            "fact_rows",
        ),
        amounts=("silver_line_amount", "fact_line_amount"),
    )


def customer_activity_reconciliation_result(
    asset_key: dg.AssetKey, silver_activity: DataFrame, fact_activity: DataFrame, start: date, end: date
) -> dg.AssetCheckResult:
    """Both frames may hold other partitions; only ``[start, end)`` is compared."""
    days = _plain(reconcile_customer_activity(silver_activity, fact_activity, start, end))
    return _reconciliation_result(
        asset_key,
        days,
        counts=("silver_rows", "fact_rows", "missing_rows", "extra_rows"),
        amounts=("silver_revenue", "fact_revenue"),
    )


def _reconciliation_result(
    asset_key: dg.AssetKey, days: list[dict[str, Any]], counts: tuple[str, ...], amounts: tuple[str, ...]
) -> dg.AssetCheckResult:
    """Totals over the window as metadata (money as exact text), and every partition's numbers."""
    failing = [day["_run_date"] for day in days if not day["reconciled"]]
    totals: dict[str, Any] = {name: sum(int(day[name]) for day in days) for name in counts}
    for name in amounts:
        totals[name] = dg.MetadataValue.text(str(sum((Decimal(day[name]) for day in days), Decimal(0))))
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=RECONCILES_WITH_SILVER,
        passed=not failing,
        severity=dg.AssetCheckSeverity.ERROR,
        description=None if not failing else f"silver and gold disagree on {', '.join(failing)}",
        metadata={
            **totals,
            "failing_partitions": dg.MetadataValue.json(failing),
            "partitions": dg.MetadataValue.json(days),
        },
    )


def _plain(df: DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: dates as ISO text, decimals as exact text."""

    def value(v: Any) -> Any:
        if isinstance(v, date):
            return v.isoformat()
        if isinstance(v, Decimal):
            return str(v)
        return v

    return [{k: value(v) for k, v in row.asDict().items()} for row in df.collect()]
