"""The fault registry: every fault-injection test reports the fault it injected, whether the lake survived it
(readable, nothing half-written, a re-run converging to ground truth) and the rows lost against ground truth.

At the end of the session one line is printed, ``faults injected: N, survived: M, rows lost: L``, and the same
summary, with each fault, is written as JSON to ``<pytest basetemp>/fault_summary.json`` (RELIABILITY.md
quotes it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pytest

from lakehouse_tests.test_faults.support import CATALOGUE
from lakehouse_tests.test_orchestration.test_sensors.support import Sources, private_sources

SUMMARY_FILE = "fault_summary.json"


@dataclass(frozen=True)
class FaultRecord:
    name: str
    survived: bool
    rows_lost: int
    detail: str = ""


@dataclass
class FaultRecorder:
    records: list[FaultRecord] = field(default_factory=list)
    basetemp: Path | None = None

    def record(self, name: str, *, survived: bool, rows_lost: int, detail: str = "") -> None:
        self.records.append(FaultRecord(name, bool(survived), int(rows_lost), detail))

    def summary(self) -> dict:
        return {
            "faults_injected": len(self.records),
            "survived": sum(r.survived for r in self.records),
            "rows_lost": sum(r.rows_lost for r in self.records),
            "faults": [asdict(r) for r in self.records],
        }

    def line(self) -> str:
        s = self.summary()
        return (
            f"faults injected: {s['faults_injected']}, survived: {s['survived']}, rows lost: {s['rows_lost']}"
        )


RECORDER = FaultRecorder()


@pytest.fixture(scope="session", autouse=True)
def _fault_summary_home(tmp_path_factory):
    RECORDER.basetemp = tmp_path_factory.getbasetemp()


@pytest.fixture
def faults() -> FaultRecorder:
    """Where a test reports each fault it injected. Report *before* asserting, so a fault the lake did not
    survive is counted as such and the test then fails on its assertion."""
    return RECORDER


@pytest.fixture(scope="package")
def catalogue_sources() -> Iterator[Sources]:
    """A private pair of local services (the tests change what they hold) with ``CATALOGUE``'s data; a test
    first makes them hold the days it needs (``hold_through``)."""
    with private_sources("lakehouse-fault-tests-", CATALOGUE) as held:
        yield held


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not RECORDER.records:
        return
    terminalreporter.write_sep("=", "fault injection")
    terminalreporter.write_line(RECORDER.line())
    if RECORDER.basetemp is not None:
        path = Path(RECORDER.basetemp) / SUMMARY_FILE
        path.write_text(json.dumps(RECORDER.summary(), indent=2))
        terminalreporter.write_line(f"fault summary: {path}")
