"""What ``lakehouse demo`` prints after its runs: tables that fit an 80-column terminal with every table name
whole, and runs that add no library notice to the terminal."""

from __future__ import annotations

import io
import warnings
from datetime import date, timedelta

import dagster as dg
import pytest
from rich.console import Console

from lakehouse.operations.demo import print_summary
from lakehouse.operations.runs import DayRun, instance_logging_notice_hidden, local_instance

TABLES = [
    *(f"{lane}/{table}" for lane in ("bronze", "quarantine")
      for table in ("behavior_events", "customers", "order_items", "orders", "products")),
    *(f"silver/{table}" for table in ("behavior_events", "customer_activity", "customers", "orders", "products")),
    *(f"gold/{table}" for table in ("dim_customer", "dim_date", "dim_product", "fact_customer_activity", "fact_orders")),
]
FIRST_DAY = date(2026, 1, 1)


def week(rows: int) -> list[DayRun]:
    """Seven days of the daily job, the fourth failing two checks, each table writing about ``rows``."""
    failed = ["gold/fact_orders:reconciled_with_source", "quarantine/order_items:nothing_lost"]
    return [
        DayRun(
            day=FIRST_DAY + timedelta(days=offset),
            success=offset != 3,
            run_id=f"5f2c1d9e-0000-4000-8000-00000000000{offset}",
            assets_materialized=len(TABLES),
            checks_passed=50 if offset == 3 else 52,
            failed_checks=failed if offset == 3 else [],
            rows={name: rows + 97 * offset + index for index, name in enumerate(TABLES)},
        )
        for offset in range(7)
    ]


def rendered(results: list[DayRun], width: int) -> list[str]:
    console = Console(width=width, record=True, color_system=None, file=io.StringIO())
    print_summary(console, results)
    return console.export_text().splitlines()


def rows_of(lines: list[str], name: str) -> list[list[str]]:
    return [line.split()[1:] for line in lines if line.split()[:1] == [name]]


@pytest.mark.parametrize("rows", [10_050, 1_000_000])  # SF 0.01's largest table, and SF 1's
def test_the_summary_fits_80_columns_with_every_table_name_whole(rows: int) -> None:
    results = week(rows)
    lines = rendered(results, 80)

    assert max(len(line) for line in lines) <= 80, "\n".join(lines)
    for index, name in enumerate(TABLES):
        # the table's rows over the tables the days were split into: every day's count, in day order
        counts = [count for row in rows_of(lines, name) for count in row]
        assert counts == [f"{rows + 97 * offset + index:,}" for offset in range(7)], (name, "\n".join(lines))
    assert "…" not in "\n".join(lines)
    headers = " ".join(line for line in lines if line.split()[:1] == ["table"]).split()
    assert [h for h in headers if h != "table"] == [f"01-0{d}" for d in range(1, 8)]
    text = "\n".join(lines)
    assert "gold/fact_orders:reconciled_with_source" in text and "quarantine/order_items:nothing_lost" in text
    assert "6 of 7 daily runs succeeded" in text and "5f2c1d9e-0000-4000-8000-000000000003" in text.replace("\n", "")


def test_a_wide_terminal_shows_the_week_in_one_table() -> None:
    lines = rendered(week(10_050), 160)
    assert [len(rows_of(lines, name)) for name in TABLES] == [1] * len(TABLES)
    assert [len(row) for name in TABLES for row in rows_of(lines, name)] == [7] * len(TABLES)


def test_a_run_on_the_local_instance_announces_nothing(monkeypatch, tmp_path) -> None:
    """The local instance's yaml-configured JSON log handler is a Dagster beta feature that warns each time a
    run sets up its loggers; the run helper drops that notice and nothing else."""
    monkeypatch.setenv("LAKEHOUSE_HOME", str(tmp_path))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with local_instance() as instance:
        with warnings.catch_warnings(record=True) as unhidden:
            warnings.simplefilter("always")
            instance.get_handlers()  # what each run's log manager calls
        assert [type(w.message) for w in unhidden] == [dg.BetaWarning]  # the notice exists

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with instance_logging_notice_hidden():
                handlers = instance.get_handlers()
                warnings.warn("another notice", dg.BetaWarning)
        assert any(type(handler).__name__ == "FileHandler" for handler in handlers)  # the JSON-lines log
        assert [str(w.message) for w in caught] == ["another notice"]
