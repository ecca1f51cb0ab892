"""SIGKILL in the middle of a Delta write.

A real materialization (Dagster, the Delta IO manager, the embedded engine) runs in a child process under
``strace``, which kills it with SIGKILL when it reaches a named system call on a named file of the Delta
write: the rename that puts a data file in place, the writing of the staged commit file, the link that
publishes the commit as the next version, the link of the commit's checksum after it, and the same points
of a MERGE. The trigger is the write's own system call, so the point is exact and there is no timing race.

After the kill the table, read with delta-rs, is at its previous version with its previous rows (or, killed
after the commit, at the new version with the new rows); the killed write's files are on disk but not in the
table. Re-running the same partition then gives exactly what an uninterrupted run gives on another lake.
"""

import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from deltalake import DeltaTable

from lakehouse_tests.test_faults.writer import ASSET_KEY, write

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
STRACE = shutil.which("strace")
DAY_1, DAY_2 = "2026-01-01", "2026-01-02"
# The table before the killed write: two days, in two commits after the table's creation.
HISTORY = (f"{DAY_1}:1", f"{DAY_2}:1")


@dataclass(frozen=True)
class KillPoint:
    name: str
    mode: str  # the asset's write mode
    before: tuple[str, ...]  # steps run uninterrupted first
    step: str  # the step killed, then re-run
    syscall: str
    path: str | None  # relative to the table; {v} is the version the write commits; None: the first such call
    committed: bool  # whether the commit is durable at the kill
    left: str  # what the kill leaves, relative to the table (a glob; {v} as above): proof of where it struck

    def table_path(self, table: Path, version: int) -> str | None:
        return None if self.path is None else str(table / self.path.format(v=f"{version:020d}"))


POINTS = [
    KillPoint("first write, before the table's first commit", "overwrite", (), f"{DAY_1}:1",
              "linkat", "_delta_log/{v}.json", committed=False, left="_delta_log/{v}.json#1"),
    KillPoint("partition replace, data file written, before its rename into place", "overwrite", HISTORY,
              f"{DAY_2}:2", "rename", None, committed=False, left="*/*.parquet#1"),
    KillPoint("partition replace, while writing the commit file", "overwrite", HISTORY, f"{DAY_2}:2",
              "write", "_delta_log/{v}.json#1", committed=False, left="_delta_log/{v}.json#1"),
    KillPoint("partition replace, commit staged, before it is published", "overwrite", HISTORY, f"{DAY_2}:2",
              "linkat", "_delta_log/{v}.json", committed=False, left="_delta_log/{v}.json#1"),
    KillPoint("partition replace, after the commit, before its checksum", "overwrite", HISTORY, f"{DAY_2}:2",
              "linkat", "_delta_log/{v}.crc", committed=True, left="_delta_log/{v}.crc#1"),
    KillPoint("MERGE, data file written, before its rename into place", "merge", HISTORY, f"{DAY_2}:2",
              "rename", None, committed=False, left="*/*.parquet#1"),
    KillPoint("MERGE, commit staged, before it is published", "merge", HISTORY, f"{DAY_2}:2",
              "linkat", "_delta_log/{v}.json", committed=False, left="_delta_log/{v}.json#1"),
]


def table_dir(lake: Path) -> Path:
    return lake.joinpath(*ASSET_KEY)


def table_rows(table: Path) -> Counter:
    if not DeltaTable.is_deltatable(str(table)):
        return Counter()
    data = DeltaTable(str(table)).to_pyarrow_table()
    return Counter(zip(*(data.column(c).to_pylist() for c in sorted(data.column_names))))


def version_of(table: Path) -> int | None:
    return DeltaTable(str(table)).version() if DeltaTable.is_deltatable(str(table)) else None


def files_on_disk(table: Path) -> set[str]:
    return {
        str(p.relative_to(table)) for p in table.rglob("*") if p.is_file() and "_delta_log" not in p.parts
    }


def files_in_table(table: Path) -> set[str]:
    if not DeltaTable.is_deltatable(str(table)):
        return set()
    return {str(Path(uri).relative_to(table)) for uri in DeltaTable(str(table)).file_uris()}


@pytest.fixture(scope="module")
def lakes(tmp_path_factory, engine):
    """Lakes written uninterrupted, in-process, by their steps: the starting points and the ground truth."""
    cache: dict[tuple, Path] = {}

    def lake(mode: str, steps: tuple[str, ...]) -> Path:
        if (mode, steps) not in cache:
            root = tmp_path_factory.mktemp("uninterrupted")
            write(str(root), engine, steps, mode)
            cache[(mode, steps)] = root
        return cache[(mode, steps)]

    return lake


def kill_at(point: KillPoint, lake: Path, version: int) -> subprocess.CompletedProcess:
    """Run ``point.step`` in a child process that strace kills with SIGKILL at ``point``'s system call."""
    assert STRACE, "strace is needed to inject SIGKILL at an exact point of a write (apt-get install strace)"
    path = point.table_path(table_dir(lake), version)
    command = [STRACE, "-f", "-qq", "-o", os.devnull, *(["-P", path] if path else [])]
    command += ["-e", f"trace={point.syscall}", "-e", f"inject={point.syscall}:signal=KILL"]
    command += [sys.executable, "-m", "lakehouse_tests.test_faults.writer", str(lake), "--mode", point.mode]
    command += [point.step]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=180)


@pytest.mark.parametrize("point", POINTS, ids=[p.name for p in POINTS])
def test_sigkill_mid_write_leaves_the_previous_version_and_a_rerun_converges(
    point, lakes, engine, tmp_path, faults
):
    lake = tmp_path / "lake"
    if point.before:
        shutil.copytree(lakes(point.mode, point.before), lake)
    else:
        lake.mkdir()
    table = table_dir(lake)
    previous_version = version_of(table)
    previous_rows = table_rows(table)
    previous_files = files_on_disk(table) if previous_version is not None else set()
    committing = 0 if previous_version is None else previous_version + 1
    truth = table_dir(lakes(point.mode, (*point.before, point.step)))

    killed = kill_at(point, lake, committing)

    after_version = version_of(table)
    after_rows = table_rows(table)
    if point.committed:
        expected_version, expected_rows = committing, table_rows(truth)
    else:
        expected_version, expected_rows = previous_version, previous_rows
    orphans = files_on_disk(table) - files_in_table(table) - (previous_files - files_in_table(table))
    vacuum_lists = set()
    if after_version is not None:
        vacuum_lists = {
            str(Path(f)) for f in DeltaTable(str(table)).vacuum(
                retention_hours=0, enforce_retention_duration=False, dry_run=True, full=True
            )
        }

    write(str(lake), engine, [point.step], point.mode)  # the re-run of the killed partition
    final_rows = table_rows(table)
    truth_rows = table_rows(truth)

    lost = sum((expected_rows - after_rows).values()) + sum((truth_rows - final_rows).values())
    survived = (
        killed.returncode == -signal.SIGKILL
        and after_version == expected_version
        and after_rows == expected_rows
        and final_rows == truth_rows
    )
    faults.record(f"SIGKILL: {point.name}", survived=survived, rows_lost=lost,
                  detail=f"orphan files {len(orphans)}, listed by full vacuum {len(orphans & vacuum_lists)}")

    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert after_version == expected_version
    assert after_rows == expected_rows
    left = point.left.format(v=f"{committing:020d}")
    assert list(table.glob(left)), f"the kill did not strike at {point.left}"
    if point.syscall == "rename":
        assert orphans, "the data file written before the kill is not on disk"
    assert not orphans & files_in_table(table)
    # delta-rs's full vacuum would delete the orphaned data files that were renamed into place, but not
    # the staged ``#1`` files of a write killed before its rename (RELIABILITY.md)
    staged = {f for f in orphans if f.endswith("#1")}
    assert orphans - staged <= vacuum_lists and not staged & vacuum_lists
    assert final_rows == truth_rows
    assert lost == 0
    print(f"{point.name}: orphans {sorted(orphans)}; full vacuum lists {sorted(orphans & vacuum_lists)}")
