"""Quarantine and bronze row counts per table and day, with the rules that sent rows to quarantine.

Read from the Delta logs through the ``Lake``, so a replay can be judged before and after without the
engine: after a contract fix and a re-run, the rows the fix makes valid move from ``quarantine/<table>`` to
``bronze/<table>`` and the day's total (rows extracted) stays the same. Undated rows (a NULL or
future-dated change column, quarantined with ``_run_date`` NULL) are listed as a day of their own, None.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.contracts import ERROR_REASONS_COLUMN
from lakehouse.lake import Lake, LakeTable, TableNotFound
from lakehouse.partitions import PARTITION_COLUMN
from lakehouse.resources import operator_lake


@dataclass
class QuarantineDay:
    table: str
    day: date | None
    """None: the undated rows, which belong to no day."""
    bronze_rows: int
    quarantined_rows: int
    rules: Counter[str] = field(default_factory=Counter)


def quarantine_days(tables: list[str] | None = None, lake: Lake | None = None) -> list[QuarantineDay]:
    """Per bronze table (all, or the named ones) and day: rows in bronze, rows in quarantine, and how many
    quarantined rows break each rule."""
    lake = lake if lake is not None else operator_lake()
    names = tables or sorted({t.name for t in lake.tables(["bronze", "quarantine"])})
    days: list[QuarantineDay] = []
    for name in names:
        bronze = lake.lake_table(f"bronze/{name}")
        quarantine = lake.lake_table(f"quarantine/{name}")
        bronze_counts = lake.partition_counts(bronze.uri)
        quarantine_counts = lake.partition_counts(quarantine.uri)
        if not bronze_counts and not quarantine_counts:
            raise TableNotFound(f"no bronze or quarantine table {name} in the lake at {lake.root_uri}")
        rules = _rules_per_day(lake, quarantine)
        # the days in order, then the undated rows
        for day in sorted(set(bronze_counts) | set(quarantine_counts), key=lambda d: (d is None, d or date.min)):
            days.append(
                QuarantineDay(
                    table=name,
                    day=day,
                    bronze_rows=bronze_counts.get(day, 0),
                    quarantined_rows=quarantine_counts.get(day, 0),
                    rules=rules.get(day, Counter()),
                )
            )
    return days


def _rules_per_day(lake: Lake, table: LakeTable) -> dict[date | None, Counter[str]]:
    delta = lake.open_if_exists(table.uri)
    if delta is None:
        return {}
    data = delta.to_pyarrow_table(columns=[PARTITION_COLUMN, ERROR_REASONS_COLUMN])
    if data.num_rows == 0:
        return {}
    lengths = pc.list_value_length(data.column(ERROR_REASONS_COLUMN)).fill_null(0)
    day_per_reason = pc.take(data.column(PARTITION_COLUMN), _repeat_indices(lengths))
    reasons = pc.list_flatten(data.column(ERROR_REASONS_COLUMN))
    rule_ids = pc.struct_field(reasons, "rule_id")
    counts: dict[date | None, Counter[str]] = {}
    # a row breaking one rule twice (two reasons of one id) counts once for that rule
    seen: set[tuple[int, str]] = set()
    rows = _repeat_indices(lengths).to_pylist()
    for row, day, rule in zip(rows, day_per_reason.to_pylist(), rule_ids.to_pylist(), strict=True):
        if (row, rule) in seen:
            continue
        seen.add((row, rule))
        counts.setdefault(day, Counter())[rule] += 1
    return counts


def _repeat_indices(lengths: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Row index repeated once per element of its list: ``[2, 0, 1]`` -> ``[0, 0, 2]``."""
    values = lengths.to_pylist()
    indices = [index for index, length in enumerate(values) for _ in range(length or 0)]
    return pa.array(indices, type=pa.int64())
