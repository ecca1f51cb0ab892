"""The whole-table reconciliation's arithmetic, on plain counts: where each source row is expected, and when a
missing one counts as lost."""

from datetime import date, timedelta

import pytest

from lakehouse.sources.reconciliation import SourceDay, reconcile_table

FIRST = date(2026, 1, 1)
D1, D2, D3, D4, D5 = (FIRST + timedelta(days=n) for n in range(5))
LAST_OPEN = D5


def reconcile(source, bronze, quarantine, *, late_commit_days=2, last_open_day=LAST_OPEN):
    return reconcile_table(
        source,
        bronze,
        quarantine,
        first_day=FIRST,
        last_open_day=last_open_day,
        late_commit_days=late_commit_days,
    )


def test_a_loaded_table_is_reconciled_with_every_count_in_place():
    source = {D1: SourceDay(10), D2: SourceDay(7)}
    result = reconcile(source, {D1: 9, D2: 7}, {D1: 1})
    assert result.passed
    assert result.as_metadata() == {
        "source_rows": 17,
        "bronze_rows": 16,
        "quarantine_rows": 1,
        "not_yet_due_rows": 0,
        "unaccounted_rows": 0,
        "undated_source_rows": 0,
        "undated_quarantined_rows": 0,
        "lake_only_rows": 0,
        "days_not_loaded": [],
        "days_awaiting_reload": [],
        "days_unaccounted": {},
    }
    assert result.describe() == ""


def test_history_before_the_first_partition_belongs_to_it():
    source = {
        FIRST - timedelta(days=400): SourceDay(3),
        FIRST - timedelta(days=1): SourceDay(2),
        D1: SourceDay(5),
    }
    assert reconcile(source, {D1: 10}, {}).passed
    missing = reconcile(source, {D1: 5}, {D2: 1}, late_commit_days=0)
    assert not missing.passed
    assert missing.days_unaccounted == {D1: 5}


def test_undated_rows_must_all_be_in_quarantine_once():
    # NULL change column (day None) and rows dated beyond now + tolerance (future_rows of their day)
    source = {D1: SourceDay(4), None: SourceDay(2), date(2090, 1, 1): SourceDay(1, future_rows=1)}
    held = reconcile(source, {D1: 4}, {None: 3})
    assert held.passed
    assert (held.undated_source_rows, held.undated_quarantined_rows) == (3, 3)

    not_swept = reconcile(source, {D1: 4}, {None: 1})
    assert not not_swept.passed
    assert not_swept.unaccounted_rows == 2
    assert "2 undated source rows are not in quarantine" in not_swept.describe()


def test_days_not_loaded_and_days_without_a_partition_are_not_due():
    source = {
        D1: SourceDay(5),
        D2: SourceDay(6),
        D3: SourceDay(7),
        LAST_OPEN + timedelta(days=1): SourceDay(8),
    }
    result = reconcile(source, {D1: 5, D3: 7}, {})
    assert result.passed
    assert result.days_not_loaded == (D2,)
    assert result.not_yet_due_rows == 6 + 8


def test_late_rows_are_due_at_the_next_reload_inside_the_late_window_and_lost_beyond_it():
    source = {D1: SourceDay(5), D2: SourceDay(6), D3: SourceDay(7), D4: SourceDay(8)}
    lake = {D1: 4, D2: 5, D3: 7, D4: 8}  # one late row each in D1 and D2; the latest loaded day is D4
    result = reconcile(source, lake, {}, late_commit_days=2)
    assert not result.passed
    assert result.days_awaiting_reload == (D2,)
    assert result.days_unaccounted == {D1: 1}
    assert (result.not_yet_due_rows, result.unaccounted_rows) == (1, 1)
    assert result.describe().startswith("1 source rows are in neither bronze nor quarantine")
    assert "2026-01-01 (1): backfill those days" in result.describe()
    assert reconcile(source, lake, {}, late_commit_days=3).passed


def test_rows_the_source_no_longer_holds_are_reported_not_failed():
    result = reconcile({D1: SourceDay(5)}, {D1: 6}, {})
    assert result.passed
    assert result.lake_only_rows == 1


def test_a_negative_late_window_is_refused():
    with pytest.raises(ValueError, match="late_commit_days"):
        reconcile({}, {}, {}, late_commit_days=-1)
