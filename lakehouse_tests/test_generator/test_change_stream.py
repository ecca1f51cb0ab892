"""The valid data behaves like the sources of docs/architecture.md: change streams, late rows, duplicates."""

from __future__ import annotations

from collections import defaultdict

import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.generator import (
    ALL_TABLES,
    BEHAVIOR_EVENTS,
    CUSTOMERS,
    ORDER_ITEMS,
    ORDERS,
    PRODUCTS,
    SNOWFLAKE_TABLES,
    GeneratedData,
    RowKind,
)
from lakehouse.generator.model import COMMIT_DATE_COLUMN
from lakehouse_tests.test_generator.reference_checks import FOREIGN_KEYS, row_multiset

TRACKED = ("EMAIL", "COUNTRY_CODE", "CITY", "SEGMENT", "LOYALTY_TIER", "IS_DELETED")
NEXT_STATUS = {
    "placed": {"paid", "cancelled"},
    "paid": {"shipped"},
    "shipped": {"delivered"},
    "delivered": {"returned"},
}


def day_of(rows: pa.Table, column: str) -> pa.ChunkedArray:
    return rows.column(column).cast(pa.date32())


def column_values(rows: pa.Table, *names: str) -> zip:
    return zip(*(rows.column(name).to_pylist() for name in names))


def cents(values: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.round(pc.multiply(values.cast(pa.float64()), 100)).cast(pa.int64())


def test_change_columns_fall_on_the_commit_day_or_up_to_two_days_before(clean_data: GeneratedData) -> None:
    for spec in ALL_TABLES:
        rows = clean_data.rows(spec)
        lag = pc.days_between(day_of(rows, spec.change_column), rows.column(COMMIT_DATE_COLUMN))
        assert pc.min(lag).as_py() == 0 and pc.max(lag).as_py() <= 2, spec.qualified_name


def test_late_rows_arrive_in_later_batches(clean_data: GeneratedData) -> None:
    for spec in (CUSTOMERS, ORDERS, ORDER_ITEMS):
        rows = clean_data.rows(spec)
        late = pc.less(day_of(rows, spec.change_column), rows.column(COMMIT_DATE_COLUMN))
        assert pc.sum(late).as_py() > 0, spec.qualified_name

    events = clean_data.rows(BEHAVIOR_EVENTS)
    assert pc.sum(pc.less(day_of(events, "event_ts"), day_of(events, "loaded_at"))).as_py() > 0
    assert pc.all(pc.less_equal(events.column("event_ts"), events.column("loaded_at"))).as_py()


def test_first_versions_are_never_late_so_references_are_committed_first(clean_data: GeneratedData) -> None:
    for spec in (CUSTOMERS, PRODUCTS):
        key = spec.primary_key[0]
        rows = clean_data.valid_rows(spec).sort_by([(key, "ascending"), (spec.change_column, "ascending")])
        keys = rows.column(key).to_pylist()
        first = [i for i in range(len(keys)) if i == 0 or keys[i] != keys[i - 1]]
        firsts = rows.take(pa.array(first))
        assert day_of(firsts, spec.change_column).equals(firsts.column(COMMIT_DATE_COLUMN))


def test_valid_change_columns_are_unique_and_even(clean_data: GeneratedData) -> None:
    for spec in (CUSTOMERS, PRODUCTS, ORDERS):
        stamps = clean_data.valid_rows(spec).column(spec.change_column).cast(pa.int64())
        assert pc.count_distinct(stamps).as_py() == len(stamps), spec.qualified_name
        assert pc.all(pc.equal(pc.bit_wise_and(stamps, 1), 0)).as_py()


def test_duplicates_are_exact_copies_of_valid_rows_of_the_same_batch(clean_data: GeneratedData) -> None:
    total = 0
    for batch in clean_data.batches:
        for spec in ALL_TABLES:
            rows = batch.rows(spec)
            kinds = batch.row_kinds[spec.qualified_name].cast(pa.string())
            valid = row_multiset(rows.filter(pc.equal(kinds, RowKind.VALID.value)), spec)
            duplicates = row_multiset(rows.filter(pc.equal(kinds, RowKind.DUPLICATE.value)), spec)
            assert all(valid[row] >= count for row, count in duplicates.items()), spec.qualified_name
            total += duplicates.total()
    assert total > 0


def test_customer_history_is_a_realistic_scd2_change_stream(clean_data: GeneratedData) -> None:
    versions: dict[int, list[dict]] = defaultdict(list)
    for row in clean_data.customer_history().to_pylist():
        versions[row["CUSTOMER_ID"]].append(row)

    several_changes_in_one_day = deleted = changes = 0
    for rows in versions.values():
        change_days = [row["UPDATED_AT"].date() for row in rows[1:]]
        several_changes_in_one_day += len(change_days) > len(set(change_days))
        for before, after in zip(rows, rows[1:]):
            assert before["UPDATED_AT"] < after["UPDATED_AT"]
            assert not before["IS_DELETED"], "a deleted customer never changes again"
            assert any(before[c] != after[c] for c in TRACKED), "every version changes something tracked"
            assert before["CREATED_AT"] == after["CREATED_AT"]
            changes += 1
        deleted += rows[-1]["IS_DELETED"]
    assert several_changes_in_one_day > 0 and deleted > 0 and changes > 0
    assert len(versions) > clean_data.config.volumes.base_customers  # customers keep signing up


def test_orders_move_through_their_life_cycle_in_updated_at_order(clean_data: GeneratedData) -> None:
    orders = clean_data.valid_rows(ORDERS).sort_by([("ORDER_ID", "ascending"), ("UPDATED_AT", "ascending")])
    statuses: dict[int, list[str]] = defaultdict(list)
    for order_id, status in column_values(orders, "ORDER_ID", "STATUS"):
        statuses[order_id].append(status)

    for sequence in statuses.values():
        for before, after in zip(sequence, sequence[1:]):
            # a late row may not be committed yet, so a step can be missing, but never reversed
            reachable, frontier = set(), {before}
            while frontier:
                frontier = set().union(*(NEXT_STATUS.get(s, set()) for s in frontier)) - reachable
                reachable |= frontier
            assert after in reachable, sequence
    assert sum(len(sequence) > 1 for sequence in statuses.values()) > len(statuses) / 2


def test_order_totals_match_their_lines(clean_data: GeneratedData) -> None:
    """A placed order row and its lines share UPDATED_AT; the total is the lines net of discounts."""
    placed = clean_data.valid_rows(ORDERS).filter(pc.equal(pc.field("STATUS"), "placed"))
    items = clean_data.valid_rows(ORDER_ITEMS)
    gross = pc.multiply(items.column("QUANTITY").cast(pa.int64()), cents(items.column("UNIT_PRICE")))
    net = pc.subtract(gross, cents(items.column("DISCOUNT_AMOUNT")))
    lines = items.select(["ORDER_ID", "UPDATED_AT"]).append_column("NET", net)
    sums = lines.group_by(["ORDER_ID", "UPDATED_AT"]).aggregate([("NET", "sum")])
    joined = placed.join(sums, ["ORDER_ID", "UPDATED_AT"], join_type="left outer")
    assert joined.num_rows == placed.num_rows
    assert pc.all(pc.equal(cents(joined.column("TOTAL_AMOUNT")), joined.column("NET_sum"))).as_py()


def test_valid_rows_reference_only_rows_committed_no_later(clean_data: GeneratedData) -> None:
    first_commit = {}
    for spec in SNOWFLAKE_TABLES:
        key = spec.primary_key[0]
        grouped = clean_data.valid_rows(spec).group_by(key).aggregate([(COMMIT_DATE_COLUMN, "min")])
        first_commit[spec.qualified_name] = dict(column_values(grouped, key, f"{COMMIT_DATE_COLUMN}_min"))

    for (table, column), (referenced, _) in FOREIGN_KEYS.items():
        for value, committed in column_values(clean_data.valid_rows(table), column, COMMIT_DATE_COLUMN):
            if value is None:
                continue
            assert value in first_commit[referenced], (table, column, value)
            if referenced != ORDERS.qualified_name:  # a line is committed with its order's row
                assert first_commit[referenced][value] <= committed


def test_soft_deleted_customers_neither_order_nor_browse_afterwards(clean_data: GeneratedData) -> None:
    deleted = clean_data.customer_history().filter(pc.field("IS_DELETED"))
    deleted_at = dict(column_values(deleted, "CUSTOMER_ID", "UPDATED_AT"))
    assert deleted_at
    references = ((ORDERS, "CUSTOMER_ID", "ORDER_TS"), (BEHAVIOR_EVENTS, "customer_id", "event_ts"))
    for spec, customer, when in references:
        for customer_id, at in column_values(clean_data.valid_rows(spec), customer, when):
            if customer_id in deleted_at:
                assert at < deleted_at[customer_id], (spec.qualified_name, customer_id)


def test_references_point_at_entities_that_existed_when_they_were_made(clean_data: GeneratedData) -> None:
    created = {}
    for spec in (CUSTOMERS, PRODUCTS):
        key = spec.primary_key[0]
        grouped = clean_data.valid_rows(spec).group_by(key).aggregate([(spec.change_column, "min")])
        created[spec.qualified_name] = dict(column_values(grouped, key, f"{spec.change_column}_min"))

    references = (
        (ORDERS, "CUSTOMER_ID", CUSTOMERS, "ORDER_TS"),
        (ORDER_ITEMS, "PRODUCT_ID", PRODUCTS, "UPDATED_AT"),
        (BEHAVIOR_EVENTS, "customer_id", CUSTOMERS, "event_ts"),
        (BEHAVIOR_EVENTS, "product_id", PRODUCTS, "event_ts"),
    )
    for spec, column, referenced, when in references:
        for value, at in column_values(clean_data.valid_rows(spec), column, when):
            if value is not None:
                assert created[referenced.qualified_name][value] <= at, (spec.qualified_name, column, value)
