"""The manifest lists exactly the invalid rows, each invalid in exactly the stated way."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.generator import ALL_TABLES, DEFECT_TARGETS, GeneratedData, RowKind, locate, table_spec
from lakehouse.generator.model import ROW_KIND_COLUMN
from lakehouse_tests.test_generator.reference_checks import flagged_rows


def manifest_index(data: GeneratedData) -> dict[tuple[str, tuple], tuple[str, str]]:
    index = {}
    for defect in data.defects:
        spec = next(s for s in ALL_TABLES if s.qualified_name == defect.table)
        locator = tuple(defect.locator[name] for name in spec.row_locator)
        assert (defect.table, locator) not in index, f"two defects share a locator: {defect}"
        index[(defect.table, locator)] = (defect.kind, defect.column)
    return index


def test_rules_flag_exactly_the_manifest_rows_each_for_its_one_stated_defect(
    dirty_data: GeneratedData,
) -> None:
    flagged = flagged_rows(dirty_data)
    expected = {row: [finding] for row, finding in manifest_index(dirty_data).items()}
    assert flagged == expected


def test_without_dirt_every_row_passes_every_rule(clean_data: GeneratedData) -> None:
    assert clean_data.defects == ()
    assert flagged_rows(clean_data) == {}
    for spec in ALL_TABLES:
        kinds = clean_data.rows(spec).column(ROW_KIND_COLUMN)
        assert not pc.any(pc.equal(kinds, RowKind.INVALID.value)).as_py()


def test_every_defect_target_of_every_table_is_exercised(dirty_data: GeneratedData) -> None:
    seen = {(d.table, d.kind, d.column) for d in dirty_data.defects}
    wanted = {
        (table, kind.value, column) for table, targets in DEFECT_TARGETS.items() for kind, column in targets
    }
    assert wanted <= seen


def test_each_manifest_entry_locates_one_invalid_row_of_its_commit_batch(dirty_data: GeneratedData) -> None:
    for defect in dirty_data.defects[::25]:
        rows = dirty_data.batch(defect.commit_date).rows(defect.table)
        kinds = dirty_data.batch(defect.commit_date).row_kinds[defect.table]
        matches = pc.indices_nonzero(locate(rows, defect)).to_pylist()
        assert len(matches) == 1, defect
        assert kinds.cast("string")[matches[0]].as_py() == RowKind.INVALID.value
        assert {k: v for k, v in defect.key.items()} == {
            name: rows.column(name)[matches[0]].as_py() for name in defect.key
        }


def test_invalid_rows_are_tagged_as_such_and_counted_by_the_manifest(dirty_data: GeneratedData) -> None:
    per_table = Counter(d.table for d in dirty_data.defects)
    for spec in ALL_TABLES:
        kinds = dirty_data.rows(spec).column(ROW_KIND_COLUMN)
        invalid = pc.sum(pc.equal(kinds, RowKind.INVALID.value)).as_py() or 0
        assert invalid == per_table[spec.qualified_name], spec.qualified_name


def test_null_keys_are_still_identified_by_their_locator(dirty_data: GeneratedData) -> None:
    null_keys = [d for d in dirty_data.defects if d.kind == "null_key"]
    assert {d.table for d in null_keys} == {spec.qualified_name for spec in ALL_TABLES}
    for defect in null_keys:
        assert defect.key[defect.column] is None
        assert all(value is not None for name, value in defect.locator.items() if name != defect.column)


def _located(rows: pa.Table, defect) -> dict:
    """The one row of ``rows`` (the whole table: every batch) a defect's locator identifies."""
    matches = pc.indices_nonzero(locate(rows, defect)).to_pylist()
    assert len(matches) == 1, defect
    return rows.slice(matches[0], 1).to_pylist()[0]


def test_null_change_columns_leave_a_key_no_other_row_has(dirty_data: GeneratedData) -> None:
    undated = [d for d in dirty_data.defects if d.kind == "null_change"]
    assert {d.table for d in undated} == {spec.qualified_name for spec in ALL_TABLES}
    for table in {d.table for d in undated}:
        spec = table_spec(table)
        rows = dirty_data.rows(spec)
        keys = Counter(zip(*(rows.column(name).to_pylist() for name in spec.primary_key)))
        for defect in (d for d in undated if d.table == table):
            assert defect.column == spec.change_column
            assert defect.change_date is None and defect.bad_value is None
            row = _located(rows, defect)
            assert row[spec.change_column] is None and row[ROW_KIND_COLUMN] == RowKind.INVALID.value
            # with no change value to tell it apart, the key does: no other row, valid or not, has it
            key = tuple(row[name] for name in spec.primary_key)
            assert None not in key and keys[key] == 1, defect
            assert defect.key == dict(zip(spec.primary_key, key))


def test_future_change_columns_lie_decades_after_the_row_they_copy(dirty_data: GeneratedData) -> None:
    future = [d for d in dirty_data.defects if d.kind == "future_change"]
    assert {d.table for d in future} == {spec.qualified_name for spec in ALL_TABLES}
    thirty_years = timedelta(days=30 * 365)
    by_table: dict[str, list] = {}
    for defect in future:
        by_table.setdefault(defect.table, []).append(defect)
    for table, defects in by_table.items():
        spec = table_spec(table)
        # The copy differs from its valid row in its change column, its locator timestamp (one microsecond
        # later) and, in an append-only table, its fresh id: the rest must match exactly one valid row.
        shifted = next(n for n in spec.row_locator if pa.types.is_timestamp(spec.column(n).arrow_type))
        compared = [n for n in spec.column_names if n not in (spec.change_column, shifted)]
        if spec.append_only:
            compared = [n for n in compared if n not in spec.primary_key]
        rows = dirty_data.rows(spec)
        valid = dirty_data.valid_rows(spec).to_pylist()
        originals = Counter((tuple(r[n] for n in compared), r[shifted], r[spec.change_column]) for r in valid)
        for defect in defects:
            row = _located(rows, defect)
            change = row[spec.change_column]
            assert defect.bad_value == change.strftime("%Y-%m-%d %H:%M:%S.%f")
            assert defect.change_date == change.date()
            # committed with its valid row, at most two days after that row's change
            assert change.date() - defect.commit_date >= thirty_years - timedelta(days=2)
            moved = row[shifted] - timedelta(microseconds=1)
            original_change = (moved if shifted == spec.change_column else change) - thirty_years
            original_locator = original_change if shifted == spec.change_column else moved
            assert originals[(tuple(row[n] for n in compared), original_locator, original_change)] == 1, (
                defect
            )
