"""The numeric metadata every materialization carries, so the Dagster UI plots it over partitions.

Keys (read by the lineage code too, so they are constants):

* ``dagster/row_count``: rows this materialization wrote;
* ``bytes_written``: total size of the data files its Delta commit(s) added
  (``Lake.bytes_added``);
* ``duration_seconds``: wall time of the materialization, its compute and its write;
* on bronze, ``rows_quarantined`` and ``quarantine_rate`` (quarantined / extracted).

An asset whose output the IO manager writes reports in the ``Output``'s metadata what it spent before
handing the output over (``compute_metrics``); the IO manager adds its write to that
(``with_write_metrics``), and its metadata replaces the output's under the same keys.
"""

import time
from collections.abc import Mapping
from typing import Any

ROW_COUNT = "dagster/row_count"
BYTES_WRITTEN = "bytes_written"
DURATION_SECONDS = "duration_seconds"
ROWS_QUARANTINED = "rows_quarantined"
QUARANTINE_RATE = "quarantine_rate"


def started() -> float:
    """A start mark for ``compute_metrics``: take it first thing in the asset's body."""
    return time.perf_counter()


class PhaseClock:
    """Wall and CPU seconds of a step's successive phases, for its log: where a step's time goes, read
    without a profiler. CPU is the whole process's (the embedded engine's threads included), so it stays
    meaningful on a busy machine, where wall time mostly measures the neighbours."""

    def __init__(self) -> None:
        self.phases: dict[str, tuple[float, float]] = {}
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def lap(self, phase: str) -> None:
        """Close ``phase``: the time since the previous lap (or the start) is its."""
        wall, cpu = time.perf_counter(), time.process_time()
        before = self.phases.get(phase, (0.0, 0.0))
        self.phases[phase] = (before[0] + wall - self._wall, before[1] + cpu - self._cpu)
        self._wall, self._cpu = wall, cpu

    def describe(self) -> str:
        return ", ".join(f"{name} {wall:.2f}s ({cpu:.2f}s CPU)" for name, (wall, cpu) in self.phases.items())


def compute_metrics(start: float, bytes_written: int = 0) -> dict[str, Any]:
    """The seconds since ``start`` and the bytes the asset itself has committed so far."""
    return {BYTES_WRITTEN: int(bytes_written), DURATION_SECONDS: round(time.perf_counter() - start, 3)}


def with_write_metrics(
    reported: Mapping[str, Any] | None, *, bytes_written: int, start: float
) -> dict[str, Any]:
    """What the asset ``reported`` (``compute_metrics`` in its ``Output``) plus a write that began at
    ``start`` and added ``bytes_written`` bytes."""
    reported = reported or {}
    return {
        BYTES_WRITTEN: int(_raw(reported.get(BYTES_WRITTEN))) + int(bytes_written),
        DURATION_SECONDS: round(float(_raw(reported.get(DURATION_SECONDS))) + time.perf_counter() - start, 3),
    }


def quarantine_metrics(quarantined: int, extracted: int) -> dict[str, Any]:
    """Rows quarantined and their share of the rows extracted (0.0 when nothing was extracted)."""
    return {
        ROWS_QUARANTINED: int(quarantined),
        QUARANTINE_RATE: (quarantined / extracted) if extracted else 0.0,
    }


def _raw(value: Any) -> float:
    """A number from raw metadata or a ``MetadataValue`` (whose ``value`` holds it)."""
    return getattr(value, "value", value) or 0
