"""The manifest lists exactly the invalid rows, each invalid in exactly the stated way."""

from __future__ import annotations

from collections import Counter

import pyarrow.compute as pc

from lakehouse.generator import ALL_TABLES, DEFECT_TARGETS, GeneratedData, RowKind, locate
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
        assert all(value is not None for value in defect.locator.values())
