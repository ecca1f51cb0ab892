"""Per-day row counts of the lake's bronze and quarantine tables, read from the Delta logs.

A sensor tick must be cheap, so nothing here reads data files: the Delta log lists every live file with
its ``_run_date`` partition value and its ``num_records`` statistic (delta-rs ``get_add_actions``). Only
a day holding a file written without statistics (neither delta-rs, Spark nor Sail writes one by default)
is counted from its Parquet footers instead.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable

from lakehouse.io.storage import delta_storage_options, join_uri

PARTITION_COLUMN = "_run_date"
BRONZE_LAYER = "bronze"
QUARANTINE_LAYER = "quarantine"


def table_uri(lake_root: str, layer: str, table: str) -> str:
    """``<lake root>/<layer>/<table>``: where the asset ``[layer, table]`` is stored."""
    return join_uri(lake_root, layer, table)


def delta_day_counts(uri: str, since: date | None = None) -> Counter[date]:
    """Rows per ``_run_date`` of the Delta table at ``uri`` (from ``since`` on); a missing table has none."""
    options = delta_storage_options(uri)
    if not DeltaTable.is_deltatable(uri, storage_options=options):
        return Counter()
    table = DeltaTable(uri, storage_options=options)
    actions = pa.table(table.get_add_actions(flatten=True))
    partition_field = f"partition.{PARTITION_COLUMN}"
    if partition_field not in actions.column_names:
        raise ValueError(f"{uri} is not partitioned by {PARTITION_COLUMN}; bronze tables must be")
    counts: Counter[date] = Counter()
    without_statistics: set[date] = set()
    for day, records in zip(
        actions.column(partition_field).to_pylist(), actions.column("num_records").to_pylist(), strict=True
    ):
        if day is None or (since is not None and day < since):
            continue
        if records is None:
            without_statistics.add(day)
        else:
            counts[day] += records
    if without_statistics:
        dataset = table.to_pyarrow_dataset()
        for day in without_statistics:
            counts[day] = dataset.count_rows(filter=pc.field(PARTITION_COLUMN) == day)
    return counts


def lake_day_counts(lake_root: str, table: str, since: date | None = None) -> Counter[date]:
    """Rows per day of ``bronze/<table>`` plus ``quarantine/<table>``: every source row extracted for a
    day lands in exactly one of them, so their sum is what the source held when the day was loaded."""
    counts = delta_day_counts(table_uri(lake_root, BRONZE_LAYER, table), since)
    counts.update(delta_day_counts(table_uri(lake_root, QUARANTINE_LAYER, table), since))
    return counts


def latest_loaded_day(counts: Mapping[date, int]) -> date | None:
    """The lake's watermark: the latest day holding rows in bronze or quarantine (``None`` when empty).

    DESIGN.md's watermark is the greatest change-column value in bronze; the latest ``_run_date``
    partition is the same day, read from the log instead of the data. A day whose rows were all invalid
    is loaded too, which is why quarantine counts.
    """
    return max((day for day, rows in counts.items() if rows > 0), default=None)
