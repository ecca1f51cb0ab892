"""Watermark arithmetic for incremental bronze ingestion: the cursor, the scan window, the reconciliation.

Pure functions over dates, counts and timestamps; nothing here talks to a source, the lake or Dagster, so
every rule of the sensor can be tested on plain values.

The model: a bronze partition ``D`` holds the rows whose change column falls in day ``D`` (UTC), and
every source row lands either in ``bronze`` or in ``quarantine``. So a day is loaded exactly when the
source's row count for the day equals the lake's bronze + quarantine count for it. The sensor's cursor
only says where to start looking; whether a day needs a run is decided by comparing the two sides,
because the cursor is committed when runs are launched, not when they succeed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

CURSOR_FORMAT_VERSION = 1


@dataclass(frozen=True)
class DayState:
    """What the source holds for one day of the change column: its row count and greatest value.

    Any commit touching the day (a new row, a late row, a row moved away by an update) changes one of
    the two, so together they name the version of the day a run extracts.
    """

    rows: int
    max_change: datetime | None = None


@dataclass(frozen=True)
class WatermarkCursor:
    """The sensor's small JSON cursor.

    ``high_water``: the greatest change-column value seen in the source on a day up to today (UTC),
    naive UTC like the change columns. ``unconfirmed_from``: the earliest day that still differed from
    the lake at the last tick (requested, in flight, or given up), so that a run failing for a day older
    than the lag window is still re-examined; ``None`` when every examined day matched.

    An operator can reset the sensor to re-check history by setting the cursor to
    ``{"high_water": "2026-01-05"}``: the next tick examines every day from 2026-01-05 minus the lag.
    """

    high_water: datetime | None = None
    unconfirmed_from: date | None = None

    def to_json(self) -> str:
        document: dict[str, Any] = {
            "version": CURSOR_FORMAT_VERSION,
            "high_water": self.high_water.isoformat() if self.high_water else None,
            "unconfirmed_from": self.unconfirmed_from.isoformat() if self.unconfirmed_from else None,
        }
        return json.dumps(document, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> WatermarkCursor | None:
        """The cursor stored by a previous tick; ``None`` when there is none (first tick or a reset).

        An unreadable cursor raises rather than being ignored: it was set by hand, and silently starting
        over from somewhere else would hide the mistake.
        """
        if text is None or not text.strip():
            return None
        try:
            document = json.loads(text)
            if not isinstance(document, dict):
                raise ValueError("not a JSON object")
            version = document.get("version", CURSOR_FORMAT_VERSION)
            if version != CURSOR_FORMAT_VERSION:
                raise ValueError(f"version {version!r} is not {CURSOR_FORMAT_VERSION}")
            high_water = document.get("high_water")
            unconfirmed_from = document.get("unconfirmed_from")
            return cls(
                high_water=datetime.fromisoformat(high_water) if high_water else None,
                unconfirmed_from=date.fromisoformat(unconfirmed_from) if unconfirmed_from else None,
            )
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"watermark cursor {text!r} is not valid ({error}); expected JSON like "
                '{"high_water": "2026-01-05T12:00:00", "unconfirmed_from": null}, or no cursor at all'
            ) from None


def fold_into_first_day(states: Mapping[date, DayState], first_day: date) -> dict[date, DayState]:
    """Per-day states with every day before ``first_day`` counted as ``first_day``, whose partition
    holds them."""
    folded: dict[date, DayState] = {}
    for day, state in states.items():
        place = max(day, first_day)
        earlier = folded.get(place)
        if earlier is None:
            folded[place] = state
        else:
            highs = [value for value in (earlier.max_change, state.max_change) if value is not None]
            folded[place] = DayState(earlier.rows + state.rows, max(highs, default=None))
    return folded


def latest_loaded_day(counts: Mapping[date, int]) -> date | None:
    """The lake's watermark: the latest day holding rows in bronze or quarantine (``None`` when empty).

    The watermark is the greatest change-column value in bronze; the latest ``_run_date`` partition is the
    same day, read from the Delta log instead of the data. A day whose rows were all invalid is loaded
    too, which is why quarantine counts.
    """
    return max((day for day, rows in counts.items() if rows > 0), default=None)


def scan_start(
    cursor: WatermarkCursor | None,
    lake_high_day: date | None,
    *,
    lag_days: int,
    first_day: date,
) -> date:
    """The first day a tick examines: ``min(cursor watermark, lake watermark) - lag``, never before
    ``first_day`` (the partitions' start), and never after a day still unconfirmed at the last tick.

    An empty lake (``lake_high_day`` is ``None``) has loaded nothing, so it pulls the start back to
    ``first_day``. A lost or reset cursor (``None``) leaves the lake alone to decide.
    """
    if lag_days < 0:
        raise ValueError(f"lag_days must be zero or more, got {lag_days}")
    lag = timedelta(days=lag_days)
    candidates = [lake_high_day - lag if lake_high_day is not None else first_day]
    if cursor is not None:
        if cursor.high_water is not None:
            candidates.append(cursor.high_water.date() - lag)
        if cursor.unconfirmed_from is not None:
            candidates.append(cursor.unconfirmed_from)
    return max(first_day, min(candidates))


@dataclass(frozen=True)
class Reconciliation:
    """The outcome of comparing the source with the lake from ``since`` on.

    ``differing``: days up to the last open partition whose source count is not the lake's, with the
    source state of each (``DayState(0)`` for a day the lake holds but the source no longer does).
    ``not_yet_open``: days with source rows whose partition does not exist yet (today, with partitions
    that end at yesterday). ``future``: days after today, which a correct source cannot hold.
    """

    since: date
    differing: tuple[tuple[date, DayState], ...]
    not_yet_open: tuple[date, ...]
    future: tuple[date, ...]
    high_water: datetime | None

    def next_cursor(self, previous: WatermarkCursor | None) -> WatermarkCursor:
        """The cursor to store: the new high water (kept when nothing was seen) and the earliest day
        still differing."""
        high_water = self.high_water or (previous.high_water if previous else None)
        unconfirmed = self.differing[0][0] if self.differing else None
        return WatermarkCursor(high_water=high_water, unconfirmed_from=unconfirmed)


def reconcile(
    source: Mapping[date, DayState],
    lake: Mapping[date, int],
    *,
    since: date,
    last_open_day: date,
    today: date,
) -> Reconciliation:
    """Compare per-day source states with per-day lake counts for every day from ``since`` on."""
    differing: list[tuple[date, DayState]] = []
    not_yet_open: list[date] = []
    future: list[date] = []
    for day in sorted(d for d in set(source) | set(lake) if d >= since):
        state = source.get(day, DayState(0))
        if day > today:
            future.append(day)
        elif day > last_open_day:
            not_yet_open.append(day)
        elif state.rows != lake.get(day, 0):
            differing.append((day, state))
    seen = [state.max_change for day, state in source.items() if day >= since and day <= today]
    high_water = max((value for value in seen if value is not None), default=None)
    return Reconciliation(since, tuple(differing), tuple(not_yet_open), tuple(future), high_water)


def source_state_key(job_name: str, day: date, state: DayState) -> str:
    """Names one version of one day of one table, e.g.
    ``bronze_orders_job:2026-01-01:rows=443:max=2026-01-01T23:57:31.242228``.

    It is the run key of the first attempt, so evaluating a tick twice asks for the same run, which
    Dagster launches once; any new commit to the day changes it, so late rows get a new run.
    """
    high = state.max_change.isoformat() if state.max_change is not None else "none"
    return f"{job_name}:{day.isoformat()}:rows={state.rows}:max={high}"


def attempt_run_key(state_key: str, attempt: int) -> str:
    """The run key of attempt ``attempt`` (1-based) at loading one source state."""
    if attempt < 1:
        raise ValueError(f"attempts are numbered from 1, got {attempt}")
    return state_key if attempt == 1 else f"{state_key}:attempt={attempt}"
