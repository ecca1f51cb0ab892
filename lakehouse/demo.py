"""Materialize every asset of the lakehouse for a list of days through Dagster, and summarize the runs.

Runs are recorded in a persistent Dagster instance under ``$LAKEHOUSE_HOME/dagster``, so ``lakehouse
dev`` shows them in the UI afterwards.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from lakehouse.settings import lakehouse_home

DAGSTER_YAML = """\
# Written by `lakehouse`: runs and event logs of the local lakehouse.
telemetry:
  enabled: false
"""


def dagster_home() -> Path:
    """``$DAGSTER_HOME`` if set, else ``$LAKEHOUSE_HOME/dagster`` (created with a minimal dagster.yaml)."""
    configured = os.environ.get("DAGSTER_HOME")
    home = Path(configured) if configured else lakehouse_home() / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    return home


def reset_local_lake() -> None:
    """Remove the local lake, so a new generation of source data is not mixed with tables built from the
    previous one. Refuses anything but a local directory."""
    from lakehouse.settings import lake_root

    root = lake_root()
    if "://" in root:
        raise ValueError(f"refusing to delete a remote lake root {root}")
    shutil.rmtree(root, ignore_errors=True)


@dataclass
class CheckOutcome:
    asset: str
    check: str
    passed: bool
    severity: str


@dataclass
class DayResult:
    day: date
    success: bool
    run_id: str
    rows: dict[str, int] = field(default_factory=dict)
    checks: list[CheckOutcome] = field(default_factory=list)


def materialize_days(
    days: Iterable[date],
    progress: Callable[[str], None] | None = None,
    step: Callable[[str], AbstractContextManager] | None = None,
) -> list[DayResult]:
    """One run per day over every asset, in day order, each recorded in the local Dagster instance."""
    import dagster as dg

    from lakehouse.definitions import defs as build_definitions

    os.environ["DAGSTER_HOME"] = str(dagster_home())
    definitions = build_definitions()
    assets = list(definitions.assets or [])
    if not assets:
        if progress:
            progress("the definitions hold no assets yet: nothing to materialize")
        return []
    step = step or (lambda _title: nullcontext())
    results: list[DayResult] = []
    with dg.DagsterInstance.get() as instance:
        for day in sorted(days):
            with step(f"materializing every asset for {day.isoformat()}"):
                result = dg.materialize(
                    assets,
                    resources=definitions.resources,
                    partition_key=day.isoformat(),
                    instance=instance,
                    raise_on_error=False,
                    tags={"lakehouse/source": "demo"},
                    # the full event log is in the Dagster UI; the terminal shows warnings and errors
                    run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
                )
            results.append(_summarize(day, result))
    return results


def _summarize(day: date, result) -> DayResult:
    summary = DayResult(day=day, success=result.success, run_id=result.run_id)
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        rows = materialization.metadata.get("dagster/row_count")
        summary.rows[materialization.asset_key.to_user_string()] = int(rows.value) if rows is not None else -1
    for event in result.get_asset_check_evaluations():
        summary.checks.append(
            CheckOutcome(
                asset=event.asset_key.to_user_string(),
                check=event.check_name,
                passed=event.passed,
                severity=event.severity.value,
            )
        )
    return summary


def print_summary(console, results: list[DayResult]) -> None:
    from rich.table import Table

    if not results:
        return
    tables = sorted({name for r in results for name in r.rows})
    rows_table = Table(title="rows written per table and day", header_style="bold")
    rows_table.add_column("table")
    for result in results:
        rows_table.add_column(result.day.isoformat(), justify="right")
    for name in tables:
        rows_table.add_row(name, *(f"{r.rows[name]:,}" if name in r.rows else "-" for r in results))
    console.print(rows_table)

    checks_table = Table(title="asset checks per day", header_style="bold")
    for column in ("day", "checks passed", "failed"):
        checks_table.add_column(column)
    for result in results:
        failed_checks = [c for c in result.checks if not c.passed]
        checks_table.add_row(
            result.day.isoformat(),
            f"{len(result.checks) - len(failed_checks)} of {len(result.checks)}",
            ", ".join(f"[red]{c.asset}:{c.check} ({c.severity})[/]" for c in failed_checks) or "-",
        )
    if any(r.checks for r in results):
        console.print(checks_table)
    failed = [r for r in results if not r.success]
    console.print(
        f"{len(results) - len(failed)} of {len(results)} daily runs succeeded"
        + (f"; failed runs: {', '.join(r.run_id for r in failed)}" if failed else "")
    )
