"""The valid data behaves like the sources of DESIGN.md §6: change streams, late rows, duplicates."""

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
from lakehouse.generator.model import COMMIT_DATE_COLUMN, ROW_KIND_COLUMN
from lakehouse_tests.test_generator.reference_checks import FOREIGN_KEYS

TRACKED = ("EMAIL", "COUNTRY_CODE", "CITY", "SEGMENT", "LOYALTY_TIER", "IS_DELETED")
NEXT_STATUS = {
    "placed": {"paid", "cancelled"},
    "paid": {"shipped"},
    "shipped": {"delivered"},
    "delivered": {"returned"},
}


def change_dates(rows: pa.Table, column: str) -> pa.Array:
    return rows.column(column).cast(pa.date32())


def test_change_columns_fall_on_the_commit_day_or_up_to_two_days_before(clean_data: GeneratedData) -> None:
    for spec in ALL_TABLES:
        rows = clean_data.rows(spec)
        lag = pc.days_between(change_dates(rows, spec.change_column), rows.column(COMMIT_DATE_COLUMN))
        assert pc.min(lag).as_py() == 0 and pc.max(lag).as_py() <= 2, spec.qualified_name


def test_late_rows_arrive_in_later_batches(clean_data: GeneratedData) -> None:
    for spec in (CUSTOMERS, ORDERS, ORDER_ITEMS):
        rows = clean_data.rows(spec)
        late = pc.less(change_dates(rows, spec.change_column), rows.column(COMMIT_DATE_COLUMN))
        assert pc.sum(late).as_py() > 0, spec.qualified_name
    events = clean_data.rows(BEHAVIOR_EVENTS)
    late_events = pc.less(change_dates(events, "event_ts"), change_dates(events, "loaded_at"))
    assert pc.sum(late_events).as_py() > 0
    assert pc.all(pc.less_equal(events.column("event_ts"), events.column("loaded_at"))).as_py()


def test_first_versions_are_never_late_so_references_are_committed_first(clean_data: GeneratedData) -> None:
    for spec in (CUSTOMERS, PRODUCTS):
        rows = clean_data.valid_rows(spec).sort_by([(spec.primary_key[0], "ascending"), (spec.change_column, "ascending")])
        key = rows.column(spec.primary_key[0]).to_pylist()
        first = [i for i in range(len(key)) if i == 0 or key[i] != key[i - 1]]
        firsts = rows.take(pa.array(first))
        assert change_dates(firsts, spec.change_column).equals(firsts.column(COMMIT_DATE_COLUMN))


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
            valid = {tuple(row.values()) for row in rows.filter(pc.equal(kinds, RowKind.VALID.value)).to_pylist()}
            duplicates = rows.filter(pc.equal(kinds, RowKind.DUPLICATE.value)).to_pylist()
            assert all(tuple(row.values()) in valid for row in duplicates)
            total += len(duplicates)
    assert total > 0


def test_customer_history_is_a_realistic_scd2_change_stream(clean_data: GeneratedData) -> None:
    history = clean_data.customer_history().to_pylist()
    versions: dict[int, list[dict]] = defaultdict(list)
    for row in history:
        versions[row["CUSTOMER_ID"]].append(row)

    several_in_one_day = deleted = changed = 0
    for rows in versions.values():
        change_days = [row["UPDATED_AT"].date() for row in rows[1:]]
        several_in_one_day += len(change_days) > len(set(change_days))
        for before, after in zip(rows, rows[1:]):
            assert before["UPDATED_AT"] < after["UPDATED_AT"]
            assert not before["IS_DELETED"], "a deleted customer never changes again"
            assert any(before[c] != after[c] for c in TRACKED), "every version changes something tracked"
            assert before["CREATED_AT"] == after["CREATED_AT"]
            changed += 1
        deleted += rows[-1]["IS_DELETED"]
    assert several_in_one_day > 0 and deleted > 0 and changed > 0
    assert len(versions) > clean_data.config.volumes.base_customers  # new customers after day 1


def test_orders_move_through_their_life_cycle_in_updated_at_order(clean_data: GeneratedData) -> None:
    orders = clean_data.valid_rows(ORDERS).sort_by([("ORDER_ID", "ascending"), ("UPDATED_AT", "ascending")])
    statuses: dict[int, list[str]] = defaultdict(list)
    for order_id, status in zip(orders.column("ORDER_ID").to_pylist(), orders.column("STATUS").to_pylist()):
        statuses[order_id].append(status)
    updated_later = 0
    for sequence in statuses.values():
        for before, after in zip(sequence, sequence[1:]):
            # a late row may still be uncommitted, so a step can be missing, but never reversed
            reachable, frontier = set(), {before}
            while frontier:
                frontier = set().union(*(NEXT_STATUS.get(s, set()) for s in frontier)) - reachable
                reachable |= frontier
            assert after in reachable, sequence
        updated_later += len(sequence) > 1
    assert updated_later > len(statuses) / 2


def test_order_totals_match_their_lines(clean_data: GeneratedData) -> None:
    """A placed order row and its lines share UPDATED_AT; the total is the lines net of discounts."""
    placed = clean_data.valid_rows(ORDERS).filter(pc.equal(pc.field("STATUS"), "placed"))
    items = clean_data.valid_rows(ORDER_ITEMS)
    # in cents, so the comparison is exact
    cents = {name: pc.round(pc.multiply(items.column(name).cast(pa.float64()), 100)).cast(pa.int64()) for name in ("UNIT_PRICE", "DISCOUNT_AMOUNT")}
    net = pc.subtract(pc.multiply(items.column("QUANTITY").cast(pa.int64()), cents["UNIT_PRICE"]), cents["DISCOUNT_AMOUNT"])
    lines = pa.table({"ORDER_ID": items.column("ORDER_ID"), "UPDATED_AT": items.column("UPDATED_AT"), "NET": net})
    sums = lines.group_by(["ORDER_ID", "UPDATED_AT"]).aggregate([("NET", "sum")])
    joined = placed.join(sums, ["ORDER_ID", "UPDATED_AT"], join_type="left outer")
    assert joined.num_rows == placed.num_rows
    total = pc.round(pc.multiply(joined.column("TOTAL_AMOUNT").cast(pa.float64()), 100)).cast(pa.int64())
    assert pc.all(pc.equal(total, joined.column("NET_sum"))).as_py()


def test_valid_rows_reference_only_rows_committed_no_later(clean_data: GeneratedData) -> None:
    first_commit = {}
    for spec in SNOWFLAKE_TABLES:
        rows = clean_data.valid_rows(spec)
        grouped = rows.group_by(spec.primary_key[0]).aggregate([(COMMIT_DATE_COLUMN, "min")])
        first_commit[spec.qualified_name] = dict(
            zip(grouped.column(spec.primary_key[0]).to_pylist(), grouped.column(f"{COMMIT_DATE_COLUMN}_min").to_pylist())
        )
    for (table, column), (referenced, _) in FOREIGN_KEYS.items():
        rows = clean_data.valid_rows(table)
        for value, committed in zip(rows.column(column).to_pylist(), rows.column(COMMIT_DATE_COLUMN).to_pylist()):
            if value is None:
                continue
            assert value in first_commit[referenced], (table, column, value)
            if referenced != "RETAIL.SALES.ORDERS":  # a line is committed with its order's row
                assert first_commit[referenced][value] <= committed


def test_soft_deleted_customers_neither_order_nor_browse_afterwards(clean_data: GeneratedData) -> None:
    deleted = clean_data.customer_history().filter(pc.field("IS_DELETED"))
    deleted_at = dict(zip(deleted.column("CUSTOMER_ID").to_pylist(), deleted.column("UPDATED_AT").to_pylist()))
    assert deleted_at
    for spec, customer, when in ((ORDERS, "CUSTOMER_ID", "ORDER_TS"), (BEHAVIOR_EVENTS, "customer_id", "event_ts")):
        rows = clean_data.valid_rows(spec)
        for customer_id, at in zip(rows.column(customer).to_pylist(), rows.column(when).to_pylist()):
            if customer_id in deleted_at:
                assert at < deleted_at[customer_id], (spec.qualified_name, customer_id)
