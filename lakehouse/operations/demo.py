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
    """The rows each day's run wrote per table, the asset checks per day, and which runs failed, as tables
    that fit the console's width: table names are never cut, and days that do not fit beside them go to
    a further table."""
    if not results:
        return
    for table in rows_tables(console, results):
        console.print(table)
    if any(r.checks_passed or r.failed_checks for r in results):
        console.print(checks_table(results))
    failed = [r for r in results if not r.success]
    console.print(
        f"{len(results) - len(failed)} of {len(results)} daily runs succeeded"
        + (f"; failed runs: {', '.join(r.run_id for r in failed)}" if failed else ""),
        overflow="fold",
    )


def rows_tables(console, results: list[DayRun]) -> list:
    """Rows written per table (``<layer>/<table>``, whole) and day, as few tables as fit the console's
    width with every day, the days shared out evenly between them."""
    from rich.measure import Measurement

    unbounded = console.options.update_width(10_000)  # the table's natural width, not one fitted to the console

    def fits(days: list[DayRun]) -> bool:
        return Measurement.get(console, unbounded, rows_table(days)).maximum <= console.width

    per_table = len(results)
    while per_table > 1 and not fits(results[:per_table]):
        per_table -= 1
    count = -(-len(results) // per_table)
    size = -(-len(results) // count)
    return [rows_table(results[start : start + size]) for start in range(0, len(results), size)]


def rows_table(results: list[DayRun]):
    from rich import box
    from rich.table import Table

    first, last = results[0].day, results[-1].day
    span = first.isoformat() if first == last else f"{first.isoformat()} to {last.isoformat()}"
    table = Table(title=f"rows written, {span}", header_style="bold", box=box.SIMPLE_HEAD)
    table.add_column("table", no_wrap=True)
    for result in results:
        table.add_column(result.day.strftime("%m-%d"), justify="right", no_wrap=True)
    names = sorted({name for r in results for name in r.rows})
    layer = None
    for name in names:
        if layer is not None and name.split("/")[0] != layer:
            table.add_section()
        layer = name.split("/")[0]
        table.add_row(name, *(f"{r.rows[name]:,}" if name in r.rows else "-" for r in results))
    return table


def checks_table(results: list[DayRun]):
    from rich import box
    from rich.table import Table

    table = Table(title="asset checks", header_style="bold", box=box.SIMPLE_HEAD)
    table.add_column("day", no_wrap=True)
    table.add_column("passed", no_wrap=True, justify="right")
    table.add_column("failed", overflow="fold")
    for result in results:
        table.add_row(
            result.day.isoformat(),
            f"{result.checks_passed} of {result.checks_passed + len(result.failed_checks)}",
            "\n".join(f"[red]{check}[/]" for check in result.failed_checks) or "-",
        )
    return table
