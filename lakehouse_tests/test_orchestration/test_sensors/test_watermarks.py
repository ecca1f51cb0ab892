"""The watermark rules on plain values: cursor format, scan window, reconciliation, run keys."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from lakehouse.orchestration.sensors.watermarks import (
    DayState,
    WatermarkCursor,
    attempt_run_key,
    fold_into_first_day,
    reconcile,
    scan_start,
    source_state_key,
)

START = date(2026, 1, 1)


def d(day: int) -> date:
    return date(2026, 1, day)


def test_the_cursor_round_trips_through_json() -> None:
    cursor = WatermarkCursor(high_water=datetime(2026, 1, 3, 23, 59, 1, 250000), unconfirmed_from=d(2))
    text = cursor.to_json()
    assert text == '{"high_water":"2026-01-03T23:59:01.250000","unconfirmed_from":"2026-01-02","version":1}'
    assert WatermarkCursor.from_json(text) == cursor


@pytest.mark.parametrize("text", [None, "", "  "])
def test_no_cursor_is_none(text: str | None) -> None:
    assert WatermarkCursor.from_json(text) is None


def test_a_cursor_set_by_hand_needs_only_a_day() -> None:
    assert WatermarkCursor.from_json('{"high_water": "2026-01-05"}') == WatermarkCursor(datetime(2026, 1, 5))


@pytest.mark.parametrize(
    "text", ["2026-01-05", "[1]", '{"high_water": "yesterday"}', '{"version": 2, "high_water": null}']
)
def test_an_unreadable_cursor_is_a_clear_error(text: str) -> None:
    with pytest.raises(ValueError, match="watermark cursor .* is not valid"):
        WatermarkCursor.from_json(text)


def test_the_scan_starts_at_the_lower_watermark_minus_lag() -> None:
    cursor = WatermarkCursor(high_water=datetime(2026, 1, 9, 12))
    assert scan_start(cursor, d(7), lag_days=2, first_day=START) == d(5)  # the lake is behind the cursor
    assert scan_start(cursor, d(10), lag_days=2, first_day=START) == d(7)  # the cursor is behind the lake


def test_a_lost_cursor_starts_from_the_lake_and_an_empty_lake_from_the_first_partition() -> None:
    assert scan_start(None, d(9), lag_days=2, first_day=START) == d(7)
    assert scan_start(None, None, lag_days=2, first_day=START) == START
    assert scan_start(WatermarkCursor(datetime(2026, 1, 9)), None, lag_days=2, first_day=START) == START


def test_the_scan_never_starts_before_the_first_partition_nor_after_an_unconfirmed_day() -> None:
    assert scan_start(None, d(2), lag_days=5, first_day=START) == START
    cursor = WatermarkCursor(high_water=datetime(2026, 1, 20), unconfirmed_from=d(4))
    assert scan_start(cursor, d(20), lag_days=2, first_day=START) == d(4)


def test_a_negative_lag_is_refused() -> None:
    with pytest.raises(ValueError, match="lag_days"):
        scan_start(None, None, lag_days=-1, first_day=START)


def test_reconcile_finds_new_late_missing_and_vanished_days() -> None:
    source = {
        d(3): DayState(10, datetime(2026, 1, 3, 22)),  # matches
        d(4): DayState(12, datetime(2026, 1, 4, 21)),  # late rows: lake has 11
        d(5): DayState(7, datetime(2026, 1, 5, 20)),  # never loaded
    }
    lake = {d(1): 99, d(3): 10, d(4): 11, d(6): 4}  # day 1 is before the scan; day 6 left the source
    result = reconcile(source, lake, since=d(2), last_open_day=d(9), today=d(10))
    assert result.differing == (
        (d(4), DayState(12, datetime(2026, 1, 4, 21))),
        (d(5), DayState(7, datetime(2026, 1, 5, 20))),
        (d(6), DayState(0)),
    )
    assert result.high_water == datetime(2026, 1, 5, 20)
    assert result.next_cursor(None) == WatermarkCursor(datetime(2026, 1, 5, 20), unconfirmed_from=d(4))


def test_reconcile_holds_back_open_days_and_ignores_future_ones() -> None:
    source = {
        d(9): DayState(3, datetime(2026, 1, 9, 23)),
        d(10): DayState(2, datetime(2026, 1, 10, 8)),  # today: its partition is not open yet
        d(30): DayState(1, datetime(2026, 1, 30, 1)),  # a bad clock in the source
    }
    result = reconcile(source, {}, since=d(8), last_open_day=d(9), today=d(10))
    assert [day for day, _ in result.differing] == [d(9)]
    assert result.not_yet_open == (d(10),) and result.future == (d(30),)
    assert result.high_water == datetime(2026, 1, 10, 8)  # today's rows count, the future's do not


def test_a_tick_seeing_nothing_keeps_the_high_water() -> None:
    previous = WatermarkCursor(datetime(2026, 1, 5, 10), unconfirmed_from=d(5))
    result = reconcile({}, {}, since=d(3), last_open_day=d(9), today=d(10))
    assert result.next_cursor(previous) == WatermarkCursor(datetime(2026, 1, 5, 10), unconfirmed_from=None)


def test_run_keys_name_the_source_state_of_a_day_and_the_attempt() -> None:
    state = DayState(443, datetime(2026, 1, 1, 23, 57, 31, 242228))
    first = source_state_key("bronze_orders_job", d(1), state)
    assert first == "bronze_orders_job:2026-01-01:rows=443:max=2026-01-01T23:57:31.242228"
    assert attempt_run_key(first, 1) == first
    assert attempt_run_key(first, 2) == first + ":attempt=2"
    assert source_state_key("bronze_orders_job", d(1), DayState(444, state.max_change)) != first
    assert source_state_key("bronze_orders_job", d(6), DayState(0)).endswith(":rows=0:max=none")
    with pytest.raises(ValueError):
        attempt_run_key(first, 0)


def test_days_before_the_first_partition_fold_into_it() -> None:
    early = datetime(2025, 12, 31, 23, 0)
    states = {date(2025, 6, 1): DayState(2, datetime(2025, 6, 1, 5)), date(2025, 12, 31): DayState(3, early)}
    states[d(1)] = DayState(4, datetime(2026, 1, 1, 7))
    states[d(2)] = DayState(5, datetime(2026, 1, 2, 7))
    assert fold_into_first_day(states, d(1)) == {
        d(1): DayState(9, datetime(2026, 1, 1, 7)),
        d(2): DayState(5, datetime(2026, 1, 2, 7)),
    }
    assert fold_into_first_day({date(2025, 6, 1): DayState(2, early)}, d(1)) == {d(1): DayState(2, early)}
