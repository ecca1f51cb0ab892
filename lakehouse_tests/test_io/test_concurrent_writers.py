"""A multiprocess backfill: writers of different partitions of one table commit at the same time.

Each worker is a separate process with its own embedded engine, as Dagster's multiprocess executor runs
steps. They start together on a barrier so their commits race for the same table versions.
"""

from deltalake import DeltaTable

from lakehouse_tests.support import run_together
from lakehouse_tests.test_io.support import ROWS_PER_DAY, write_one_partition

DAYS = ["2026-02-01", "2026-02-02", "2026-02-03", "2026-02-04"]


def test_concurrent_partition_writers_all_land(tmp_path):
    lake_root = str(tmp_path / "lake")
    outcomes = run_together(write_one_partition, [(lake_root, d) for d in DAYS])

    assert sorted((day, ok) for day, ok, _ in outcomes) == [(d, True) for d in DAYS]
    table = DeltaTable(f"{lake_root}/bronze/contended").to_pyarrow_table()
    counts = {}
    for day in table.column("_run_date").to_pylist():
        counts[day.isoformat()] = counts.get(day.isoformat(), 0) + 1
    assert counts == {d: ROWS_PER_DAY for d in DAYS}
    print(f"commit conflicts retried: {sum(r for _, _, r in outcomes)}")
