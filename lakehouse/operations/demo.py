"""Materialize every asset of the lakehouse for a list of days through Dagster, and summarize the runs.

Runs are recorded in a persistent Dagster instance under ``$LAKEHOUSE_HOME/dagster``, so ``lakehouse
dev`` shows them in the UI afterwards.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from datetime import date

import dagster as dg

from lakehouse.lake import Lake
from lakehouse.operations.runs import DayRun, dagster_home, run_days
from lakehouse.resources import operator_lake


def reset_local_lake(lake: Lake | None = None) -> None:
    """Remove the local lake, so a new generation of source data is not mixed with tables built from the
    previous one. Refuses anything but a local directory."""
    root = (lake if lake is not None else operator_lake()).root_uri
    if "://" in root:
        raise ValueError(f"refusing to delete a remote lake root {root}")
    shutil.rmtree(root, ignore_errors=True)


def materialize_days(
    days: Iterable[date],
    definitions: dg.Definitions,
    progress: Callable[[str], None] | None = None,
    step: Callable[[str], AbstractContextManager] | None = None,
) -> list[DayRun]:
    """One run of the daily job of ``definitions`` over every asset and check per day, in day order, each
    recorded in the local Dagster instance. Every day runs, even after a failed one, so the summary shows
    them all."""
    os.environ["DAGSTER_HOME"] = str(dagster_home())
    return run_days(
        days,
        definitions=definitions,
        progress=progress,
        step=step,
        stop_on_failure=False,
        tags={"lakehouse/source": "demo"},
    )


def print_summary(console, results: list[DayRun]) -> None:
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
        checks_table.add_row(
            result.day.isoformat(),
            f"{result.checks_passed} of {result.checks_passed + len(result.failed_checks)}",
            ", ".join(f"[red]{check}[/]" for check in result.failed_checks) or "-",
        )
    if any(r.checks_passed or r.failed_checks for r in results):
        console.print(checks_table)
    failed = [r for r in results if not r.success]
    console.print(
        f"{len(results) - len(failed)} of {len(results)} daily runs succeeded"
        + (f"; failed runs: {', '.join(r.run_id for r in failed)}" if failed else "")
    )
