"""Rejecting one committed write (``lakehouse.lake.rejection``) on real Delta tables written by the engine:
the table holds its previous content in the write's scope, other days keep theirs, the rejected rows stay
readable at the write's version, and a later write of the same scope is never undone."""

from datetime import date

import pytest
from deltalake import DeltaTable

from lakehouse.io import write_frame
from lakehouse.lake import Lake, WriteScope, reject_write
from lakehouse.operations.tables import table_history
from lakehouse.partitions import DayWindow

D1, D2, D3 = date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)
SCHEMA = "id long, label string, _run_date date"


@pytest.fixture
def lake(tmp_path) -> Lake:
    return Lake(root_uri=str(tmp_path / "lake"))


def _frame(spark, rows):
    return spark.createDataFrame(rows, SCHEMA)


def _rows(uri: str, version: int | None = None) -> list[tuple]:
    table = DeltaTable(uri, version=version).to_pyarrow_table()
    return sorted(tuple(row.values()) for row in table.to_pylist())


def _write_days(lake, spark, uri, rows, window, **options):
    return write_frame(lake, _frame(spark, rows), uri, window=window, **options)


def _reject(lake, written):
    return reject_write(
        lake,
        written.uri,
        version_before=written.version_before,
        version_after=written.version,
        scope=written.scope,
    )


def test_rejecting_one_day_restores_it_and_leaves_the_other_days(lake, spark):
    uri = lake.table(["silver", "days"])
    three_days = DayWindow(D1, date(2026, 1, 4))
    _write_days(lake, spark, uri, [(1, "a", D1), (2, "b", D2), (3, "c", D3)], three_days)
    previous = _rows(uri)
    rejected = _write_days(lake, spark, uri, [(20, "bad", D2), (21, "bad", D2)], DayWindow.of_day(D2))

    rejection = _reject(lake, rejected)

    assert rejection.rejected and rejection.rows_rejected == 2 and rejection.rows_restored == 1
    assert (rejection.rejected_version, rejection.restored_to_version) == (
        rejected.version,
        rejected.version_before,
    )
    assert _rows(uri) == previous
    assert (20, "bad", D2) in _rows(uri, version=rejection.rejected_version)
    assert lake.partition_counts(uri) == {D1: 1, D2: 1, D3: 1}  # numRecords of the re-added file is right
    engine_read = spark.read.format("delta").load(uri)
    assert sorted(tuple(r) for r in engine_read.collect()) == previous
    assert [tuple(r) for r in engine_read.where("id = 2 AND label = 'b'").collect()] == [(2, "b", D2)]
    [reject_commit] = table_history(lake.lake_table("silver/days"), limit=1, lake=lake)
    assert reject_commit.version == rejection.reject_commit_version
    assert reject_commit.custom["lakehouse.operation"] == "reject"
    assert reject_commit.custom["lakehouse.rejected_version"] == str(rejected.version)
    metadata = rejection.metadata()
    assert metadata["rejected_partitions"] == ["2026-01-02"]
    assert f"version={rejected.version}" in metadata["rejected_data"]


def test_rejecting_a_merge_restores_the_whole_table(lake, spark):
    uri = lake.table(["gold", "merged"])
    write_frame(lake, _frame(spark, [(1, "a", D1), (2, "b", D1)]), uri, mode="merge", merge_keys=["id"])
    previous = _rows(uri)
    merged = write_frame(
        lake, _frame(spark, [(2, "changed", D2), (3, "new", D2)]), uri, mode="merge", merge_keys=["id"]
    )
    assert merged.scope == WriteScope()

    rejection = _reject(lake, merged)

    assert rejection.rejected and _rows(uri) == previous
    assert (2, "changed", D2) in _rows(uri, version=merged.version)


def test_rejecting_the_first_write_leaves_an_empty_table(lake, spark):
    uri = lake.table(["silver", "new"])
    written = _write_days(lake, spark, uri, [(1, "a", D1)], DayWindow.of_day(D1))
    assert written.version_before is None

    rejection = _reject(lake, written)

    assert rejection.rejected and rejection.restored_to_version is None
    assert rejection.metadata()["restored_to_version"] == "none: the table was empty"
    assert _rows(uri) == [] and spark.read.format("delta").load(uri).count() == 0
    assert _rows(uri, version=written.version) == [(1, "a", D1)]


def test_a_later_write_of_the_same_day_is_never_undone(lake, spark):
    uri = lake.table(["silver", "later"])
    _write_days(lake, spark, uri, [(1, "a", D1)], DayWindow.of_day(D1))
    rejected = _write_days(lake, spark, uri, [(2, "bad", D1)], DayWindow.of_day(D1))
    _write_days(lake, spark, uri, [(3, "good", D1)], DayWindow.of_day(D1))
    version = lake.version(uri)

    rejection = _reject(lake, rejected)

    assert not rejection.rejected and "later write" in rejection.not_rejected
    assert lake.version(uri) == version and _rows(uri) == [(3, "good", D1)]
    assert rejection.metadata()["not_rejected"] == rejection.not_rejected


def test_a_later_write_of_another_day_stays(lake, spark):
    uri = lake.table(["silver", "other_day"])
    _write_days(lake, spark, uri, [(1, "a", D1)], DayWindow.of_day(D1))
    rejected = _write_days(lake, spark, uri, [(2, "bad", D1)], DayWindow.of_day(D1))
    _write_days(lake, spark, uri, [(3, "other", D2)], DayWindow.of_day(D2))

    rejection = _reject(lake, rejected)

    assert rejection.rejected and _rows(uri) == [(1, "a", D1), (3, "other", D2)]


def test_rejecting_twice_commits_once(lake, spark):
    uri = lake.table(["silver", "twice"])
    _write_days(lake, spark, uri, [(1, "a", D1)], DayWindow.of_day(D1))
    rejected = _write_days(lake, spark, uri, [(2, "bad", D1)], DayWindow.of_day(D1))
    assert _reject(lake, rejected).rejected
    version = lake.version(uri)

    again = _reject(lake, rejected)

    assert not again.rejected and "already" in again.not_rejected and lake.version(uri) == version


def test_rejecting_a_write_of_undated_rows_restores_the_partition_of_no_day(lake, spark):
    uri = lake.table(["quarantine", "undated"])
    window = DayWindow.of_day(D1)
    _write_days(lake, spark, uri, [(1, "a", D1), (2, "undated", None)], window, undated=True)
    # every run replaces the rows of no day: the next day's run brings its own
    _write_days(
        lake, spark, uri, [(3, "b", D2), (6, "undated later", None)], DayWindow.of_day(D2), undated=True
    )
    previous = _rows(uri)
    rejected = _write_days(lake, spark, uri, [(4, "bad", D1), (5, "bad undated", None)], window, undated=True)
    assert rejected.scope == WriteScope(window, undated=True)

    rejection = _reject(lake, rejected)

    assert rejection.rejected and rejection.rows_rejected == 2
    assert _rows(uri) == previous and (6, "undated later", None) in previous
    assert lake.partition_counts(uri) == {D1: 1, D2: 1, None: 1}


def test_a_write_that_committed_nothing_is_not_rejected(lake, spark):
    uri = lake.table(["silver", "nothing"])
    written = _write_days(lake, spark, uri, [(1, "a", D1)], DayWindow.of_day(D1))

    rejection = reject_write(lake, uri, version_before=written.version, version_after=written.version)

    assert not rejection.rejected and lake.version(uri) == written.version
