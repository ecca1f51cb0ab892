"""A watermark sensor's cursor lost, or reset to before any data, between two source commits.

Day 1 is committed and ingested as the sensor asks (each requested partition materialized through the real
bronze asset); then the source commits day 2, with late rows of day 1, and the sensor ticks without its
cursor, or with a cursor reset to the start of time. Every partition it asks for is materialized. The lake
must then hold, day by day, exactly the rows the source holds (no gap, no duplicate) and the same content as
when the cursor was kept.
"""

from collections import Counter
from datetime import UTC, datetime

import pytest
from deltalake import DeltaTable

from lakehouse.bronze import build_bronze_asset
from lakehouse.orchestration.sensors.watermarks import WatermarkCursor
from lakehouse_tests.support import lake_resources
from lakehouse_tests.test_bronze.support import materialize_bronze
from lakehouse_tests.test_faults.support import CATALOGUE, table_rows
from lakehouse_tests.test_orchestration.test_sensors.support import contract_of, requested, source_spec, tick

pytestmark = pytest.mark.slow

TABLE = "products"
DAY_1, DAY_2 = CATALOGUE.day(0), CATALOGUE.day(1)
CURSORS = {
    "lost": lambda kept: None,
    "reset to the start": lambda kept: WatermarkCursor(high_water=datetime(2000, 1, 1)).to_json(),
    "kept": lambda kept: kept,
}


def ingest(sources, engine, lake: str, result) -> list[str]:
    """Materialize every partition the tick asked for, as the sensor daemon's runs would."""
    resources = {**sources.resources, **lake_resources(engine, lake)}
    asset = build_bronze_asset(contract_of(TABLE))
    days = [day for day, _ in requested(result)]
    for day in days:
        materialize_bronze(resources, partition=day, assets=[asset])
    return days


def lake_content(lake: str) -> tuple[Counter, Counter]:
    """Rows per day over bronze and quarantine, and every row (without the run's own stamps)."""
    per_day, rows = Counter(), Counter()
    for layer in ("bronze", "quarantine"):
        uri = f"{lake}/{layer}/{TABLE}"
        if not DeltaTable.is_deltatable(uri):
            continue
        per_day.update(DeltaTable(uri).to_pyarrow_table().column("_run_date").to_pylist())
        rows.update({(layer, *row): n for row, n in table_rows(uri).items()})
    return per_day, rows


def partition_of_every_row(sources, through) -> Counter:
    """Source rows per partition they belong to, from the generated rows: their change column's day, or
    None for the undated ones (a NULL change column, or one dated after today), which quarantine holds
    with a NULL ``_run_date``."""
    spec = source_spec(TABLE)
    today = datetime.now(UTC).date()
    per_partition: Counter = Counter()
    for batch in sources.data.batches_through(through):
        for value in batch.rows(spec).column(spec.change_column).to_pylist():
            per_partition[value.date() if value is not None and value.date() <= today else None] += 1
    return per_partition


@pytest.fixture(scope="module")
def runs(catalogue_sources, engine, tmp_path_factory):
    """Each way of treating the cursor at the second tick, from the same first tick."""
    sources, outcomes = catalogue_sources, {}
    for name, cursor_after in CURSORS.items():
        sources.hold_through(DAY_1)
        lake = str(tmp_path_factory.mktemp("sensor-lake"))
        first = tick(sources, TABLE, lake, cursor=None)
        ingest(sources, engine, lake, first)
        sources.hold_through(DAY_2)
        second = tick(sources, TABLE, lake, cursor=cursor_after(first.cursor))
        days = ingest(sources, engine, lake, second)
        outcomes[name] = (days, *lake_content(lake))
    return outcomes


@pytest.mark.parametrize("fault", ["lost", "reset to the start"])
def test_a_lost_or_reset_cursor_leaves_no_gap_and_no_duplicate(fault, runs, catalogue_sources, faults):
    truth = partition_of_every_row(catalogue_sources, DAY_2)
    days, per_day, rows = runs[fault]
    _, _, kept_rows = runs["kept"]
    lost = sum((truth - per_day).values())
    duplicated = sum((per_day - truth).values())
    faults.record(f"sensor cursor {fault}", survived=lost == 0 and duplicated == 0 and rows == kept_rows,
                  rows_lost=lost, detail=f"days requested {days}, rows duplicated {duplicated}")

    assert sum(truth.values()) > 0 and set(truth) - {None} == {DAY_1, DAY_2}
    assert per_day == truth  # no gap, no duplicate
    assert rows == kept_rows  # the same content as when the cursor was kept
