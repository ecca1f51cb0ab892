"""Whole-table reconciliation of a source table with the lake: is every source row somewhere?

Pure arithmetic over per-day counts; nothing here talks to a source, the lake or Dagster.

Every source row has exactly one place in the lake, decided by its change column:

* a row of day ``D`` (UTC) is in ``bronze`` or ``quarantine`` partition ``D``; the rows of days before the
  first partition are in the first partition (they keep their real change values);
* an *undated* row, whose change column is NULL or later than the extraction time plus the tolerance for
  clock skew, is in quarantine with ``_run_date`` NULL: every bronze run finds the undated rows anew and
  replaces that partition with them, so each is there exactly once however many runs see it.

So for each day the source's count must equal the lake's, unless the day is not due: its partition does
not exist yet (today), it has not been loaded, or it was loaded and is still inside the late-commit window
(``late_commit_days`` before the lake's latest loaded day), where the watermark sensors reload a day when
late rows arrive. Rows missing from an older loaded day are *unaccounted*: no sensor looks there any more,
so only a backfill of the day brings them in.

Counting compares like with like only if a day's rows never leave it: true of sources that append row
images (every change a new row, as the lakehouse assumes). A source that updates rows in place moves rows
out of old days; the lake then holds more rows than the source for them (``lake_only_rows``, reported,
not a failure), which can hide as many missing rows of the same day.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

DEFAULT_LATE_COMMIT_DAYS = 2
"""How many days after a day's rows a source may still commit rows dated in that day (the generator's
late rows: up to two days); the watermark sensors re-examine that many days before their watermark."""


@dataclass(frozen=True)
class SourceDay:
    """One day of a source table by its change column: its rows, and how many of them are dated at or
    after the extraction time plus the tolerance (undated in the lake)."""

    rows: int
    future_rows: int = 0


@dataclass(frozen=True)
class TableReconciliation:
    """The whole table compared, with the counts an operator needs to see where every row is."""

    source_rows: int
    bronze_rows: int
    quarantine_rows: int
    not_yet_due_rows: int
    unaccounted_rows: int
    undated_source_rows: int
    undated_quarantined_rows: int
    lake_only_rows: int
    days_not_loaded: tuple[date, ...] = ()
    days_awaiting_reload: tuple[date, ...] = ()
    days_unaccounted: Mapping[date, int] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.unaccounted_rows == 0

    def describe(self) -> str:
        """What is wrong, in one line (empty when every row is accounted for)."""
        if self.passed:
            return ""
        parts = []
        if self.days_unaccounted:
            days = ", ".join(f"{day} ({rows})" for day, rows in sorted(self.days_unaccounted.items()))
            parts.append(f"rows missing from loaded days {days}: backfill those days")
        undated = self.undated_source_rows - self.undated_quarantined_rows
        if undated > 0:
            parts.append(f"{undated} undated source rows are not in quarantine: run any day of the table")
        return f"{self.unaccounted_rows} source rows are in neither bronze nor quarantine; " + "; ".join(
            parts
        )

    def as_metadata(self) -> dict[str, Any]:
        return {
            "source_rows": self.source_rows,
            "bronze_rows": self.bronze_rows,
            "quarantine_rows": self.quarantine_rows,
            "not_yet_due_rows": self.not_yet_due_rows,
            "unaccounted_rows": self.unaccounted_rows,
            "undated_source_rows": self.undated_source_rows,
            "undated_quarantined_rows": self.undated_quarantined_rows,
            "lake_only_rows": self.lake_only_rows,
            "days_not_loaded": [day.isoformat() for day in self.days_not_loaded],
            "days_awaiting_reload": [day.isoformat() for day in self.days_awaiting_reload],
            "days_unaccounted": {
                day.isoformat(): rows for day, rows in sorted(self.days_unaccounted.items())
            },
        }


def reconcile_table(
    source: Mapping[date | None, SourceDay],
    bronze: Mapping[date | None, int],
    quarantine: Mapping[date | None, int],
    *,
    first_day: date,
    last_open_day: date,
    late_commit_days: int = DEFAULT_LATE_COMMIT_DAYS,
) -> TableReconciliation:
    """Compare a source table (rows per day of its change column, day None for a NULL one) with the
    rows of its bronze and quarantine tables per ``_run_date`` (None: the undated partition).

    ``first_day``: the first partition, which holds every earlier day. ``last_open_day``: the latest day
    with a partition (later days are not due). ``late_commit_days``: see the module docstring.
    """
    if late_commit_days < 0:
        raise ValueError(f"late_commit_days must be zero or more, got {late_commit_days}")
    undated_source = sum(day.future_rows for day in source.values()) + sum(
        day.rows for key, day in source.items() if key is None
    )
    dated_source: dict[date, int] = {}
    for key, day in source.items():
        if key is not None:
            place = max(key, first_day)
            dated_source[place] = dated_source.get(place, 0) + day.rows - day.future_rows
    lake = {
        day: bronze.get(day, 0) + quarantine.get(day, 0)
        for day in set(bronze) | set(quarantine)
        if day is not None
    }
    loaded = [day for day, rows in lake.items() if rows > 0]
    reload_from = max(loaded) - timedelta(days=late_commit_days) if loaded else None

    not_yet_due = unaccounted = lake_only = 0
    not_loaded: list[date] = []
    awaiting: list[date] = []
    missing_by_day: dict[date, int] = {}
    for day in sorted(set(dated_source) | set(lake)):
        expected, held = dated_source.get(day, 0), lake.get(day, 0)
        if day > last_open_day:
            not_yet_due += expected
            lake_only += held
        elif held == 0 and expected > 0:
            not_yet_due += expected
            not_loaded.append(day)
        elif expected > held:
            if reload_from is not None and day >= reload_from:
                not_yet_due += expected - held
                awaiting.append(day)
            else:
                unaccounted += expected - held
                missing_by_day[day] = expected - held
        else:
            lake_only += held - expected

    undated_held = quarantine.get(None, 0) + bronze.get(None, 0)
    unaccounted += max(undated_source - undated_held, 0)
    lake_only += max(undated_held - undated_source, 0)
    return TableReconciliation(
        source_rows=sum(day.rows for day in source.values()),
        bronze_rows=sum(bronze.values()),
        quarantine_rows=sum(quarantine.values()),
        not_yet_due_rows=not_yet_due,
        unaccounted_rows=unaccounted,
        undated_source_rows=undated_source,
        undated_quarantined_rows=undated_held,
        lake_only_rows=lake_only,
        days_not_loaded=tuple(not_loaded),
        days_awaiting_reload=tuple(awaiting),
        days_unaccounted=missing_by_day,
    )
