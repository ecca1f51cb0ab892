"""Silver end to end: generated sources -> bronze -> silver through Dagster and the real Delta IO manager,
checked against the generator's ground truth (its valid rows), for a two-day backfill run and a single day."""

import hashlib
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import dagster as dg
import pandas as pd
import pytest

from lakehouse.contracts import UniqueRule, load_contracts, validate_and_quarantine
from lakehouse.generator import BEHAVIOR_EVENTS, CUSTOMERS, ORDER_ITEMS, ORDERS, PRODUCTS, GeneratedData
from lakehouse.silver.transforms import DEFAULT_LOOKBACK_DAYS
from lakehouse_tests.test_silver.support import (
    BACKFILL_WINDOW,
    LAST_DAY,
    SALT,
    SILVER_TABLES,
    SilverLake,
    materialize_layers,
)

DAYS = (date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3))
CENT = Decimal("0.01")


# ---------------------------------------------------------------------------------- ground truth


def truth(data: GeneratedData, spec, change_column: str) -> pd.DataFrame:
    """The valid source rows of a table with the UTC day of their change column."""
    frame = data.valid_rows(spec).to_pandas()
    frame["day"] = frame[change_column].dt.date
    return frame


def latest(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.sort_values("UPDATED_AT").groupby(keys, as_index=False).tail(1)


def expected_order_lines(data: GeneratedData, day: date) -> pd.DataFrame:
    """Lines of the orders changed on ``day``, line and header each in their state as of its end."""
    headers = truth(data, ORDERS, "UPDATED_AT")
    lines = truth(data, ORDER_ITEMS, "UPDATED_AT")
    changed = set(headers.loc[headers.day == day, "ORDER_ID"]) | set(lines.loc[lines.day == day, "ORDER_ID"])
    reach = day - timedelta(days=DEFAULT_LOOKBACK_DAYS)

    def as_of(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
        return latest(frame[frame.ORDER_ID.isin(changed) & (frame.day <= day) & (frame.day >= reach)], keys)

    merged = as_of(lines, ["ORDER_ID", "LINE_NUMBER"]).merge(
        as_of(headers, ["ORDER_ID"]), on="ORDER_ID", suffixes=("", "_h")
    )
    merged["line_amount"] = [
        (int(q) * p - d).quantize(CENT)
        for q, p, d in zip(merged.QUANTITY, merged.UNIT_PRICE, merged.DISCOUNT_AMOUNT, strict=True)
    ]
    return merged


def on_day(rows: list[dict], day: date, column: str = "_run_date") -> list[dict]:
    return [row for row in rows if row[column] == day]


# ------------------------------------------------------------------------------------------ runs


def test_backfill_window_is_one_run_writing_both_days(silver_lake: SilverLake):
    assert silver_lake.backfill.success and silver_lake.last_day.success
    materialized = {}
    for event in silver_lake.backfill.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        if materialization.asset_key.path[0] == "silver":
            materialized[materialization.asset_key.path[1]] = materialization.metadata
    assert set(materialized) == set(SILVER_TABLES)
    for table, metadata in materialized.items():
        assert metadata["partitions_written"].value == list(BACKFILL_WINDOW), table
    for table in SILVER_TABLES:
        days = {row["_run_date"] for row in silver_lake.rows(table)}
        assert days == set(DAYS), f"silver/{table} holds days {sorted(days)}"


def test_customers_are_every_valid_version_of_the_day(silver_lake: SilverLake):
    source = truth(silver_lake.data, CUSTOMERS, "UPDATED_AT")
    rows = silver_lake.rows("customers")
    for day in DAYS:
        day_rows = on_day(rows, day)
        wanted = source[source.day == day]
        # silver/customers for day D = every valid change of D, several of one customer included
        assert len(day_rows) == len(wanted), day
        assert {(r["customer_id"], r["updated_at"]) for r in day_rows} == {
            (k, t.to_pydatetime()) for k, t in zip(wanted.CUSTOMER_ID, wanted.UPDATED_AT, strict=True)
        }, day
    per_day = Counter((r["customer_id"], r["_run_date"]) for r in rows)
    assert max(per_day.values()) > 1, "the generated days change some customer more than once a day"


def test_products_match_the_ground_truth(silver_lake: SilverLake):
    source = truth(silver_lake.data, PRODUCTS, "UPDATED_AT")
    expected = latest(source, ["PRODUCT_ID", "day"])
    rows = silver_lake.rows("products")
    for day in DAYS:
        day_rows = on_day(rows, day)
        wanted = expected[expected.day == day]
        # silver/products for day D = the distinct products with a valid change on D, at their latest
        assert len(day_rows) == source.loc[source.day == day, "PRODUCT_ID"].nunique() == len(wanted), day
        assert {(r["product_id"], r["updated_at"]) for r in day_rows} == {
            (k, t.to_pydatetime()) for k, t in zip(wanted.PRODUCT_ID, wanted.UPDATED_AT, strict=True)
        }, day


def test_customer_attributes_are_standardized_and_hashed(silver_lake: SilverLake):
    source = truth(silver_lake.data, CUSTOMERS, "UPDATED_AT")
    expected = {
        (row.CUSTOMER_ID, row.UPDATED_AT.to_pydatetime(), row.day): (
            hashlib.sha256(f"{SALT}:{row.EMAIL.strip().lower()}".encode()).hexdigest(),
            row.COUNTRY_CODE.strip().upper(),
            row.SEGMENT,
            row.LOYALTY_TIER,
            row.IS_DELETED,
        )
        for row in source.itertuples()
    }
    actual = {
        (r["customer_id"], r["updated_at"], r["_run_date"]): (
            r["email_hash"],
            r["country_code"],
            r["segment"],
            r["loyalty_tier"],
            r["is_deleted"],
        )
        for r in silver_lake.rows("customers")
    }
    assert actual == expected


def test_orders_match_the_ground_truth_with_lookback(silver_lake: SilverLake):
    rows = silver_lake.rows("orders")
    for day in DAYS:
        wanted = expected_order_lines(silver_lake.data, day)
        columns = ("ORDER_ID", "LINE_NUMBER", "STATUS", "line_amount", "TOTAL_AMOUNT")
        expected = Counter(tuple(row) for row in wanted[list(columns)].itertuples(index=False))
        actual = Counter(
            (r["order_id"], r["line_number"], r["status"], r["line_amount"], r["order_total"])
            for r in on_day(rows, day)
        )
        assert actual == expected, day
    # the third day ran on its own: orders placed earlier and changed on it found their lines by lookback
    third = on_day(rows, DAYS[2])
    assert any(r["order_date"] < DAYS[2] for r in third)
    materializations = [
        e.event_specific_data.materialization for e in silver_lake.last_day.get_asset_materialization_events()
    ]
    metadata = {m.asset_key.to_user_string(): m.metadata for m in materializations}
    assert metadata["silver/orders"]["lines_without_header"].value == 0


def test_behavior_events_are_the_distinct_events_loaded_each_day(silver_lake: SilverLake):
    source = truth(silver_lake.data, BEHAVIOR_EVENTS, "loaded_at")
    rows = silver_lake.rows("behavior_events")
    for day in DAYS:
        day_rows = on_day(rows, day)
        assert (
            len(day_rows)
            == len({r["event_id"] for r in day_rows})
            == source.loc[source.day == day, "event_id"].nunique()
        )
    assert all(r["session_id"] for r in rows)
    # the generator gives every event a session, so none is derived here (test_transforms covers deriving)
    assert not any(r["session_derived"] for r in rows)


def test_customer_activity_matches_the_ground_truth(silver_lake: SilverLake):
    data = silver_lake.data
    events = truth(data, BEHAVIOR_EVENTS, "loaded_at")
    customers = truth(data, CUSTOMERS, "UPDATED_AT")
    rows = silver_lake.rows("customer_activity")
    for day in DAYS:
        lines = expected_order_lines(data, day)
        placed = lines[lines.ORDER_TS.dt.date == day]
        expected: dict[int, list] = {}
        for customer, group in placed.groupby("CUSTOMER_ID"):
            expected[customer] = [group.ORDER_ID.nunique(), sum(group.line_amount, Decimal("0.00")), 0, 0]
        identified = events[(events.day == day) & events.customer_id.notna()]
        for customer, group in identified.groupby("customer_id"):
            entry = expected.setdefault(int(customer), [0, Decimal("0.00"), 0, 0])
            entry[2], entry[3] = group.session_id.nunique(), int((group.event_type == "page_view").sum())
        known = latest(customers[customers.day <= day], ["CUSTOMER_ID"]).set_index("CUSTOMER_ID").SEGMENT
        actual = {
            r["customer_id"]: [r["orders"], r["revenue"], r["sessions"], r["page_views"]]
            for r in on_day(rows, day)
        }
        assert actual == expected, day
        assert all(r["activity_date"] == day for r in on_day(rows, day))
        assert {r["customer_id"]: r["segment"] for r in on_day(rows, day)} == {c: known[c] for c in expected}


def test_no_silver_column_holds_raw_pii(silver_lake: SilverLake):
    """Every e-mail, phone, first and last name the source ever sent, looked for in every silver cell."""
    source = silver_lake.data.valid_rows(CUSTOMERS).to_pandas()
    raw = {str(v).strip() for column in ("EMAIL", "PHONE", "FIRST_NAME", "LAST_NAME") for v in source[column]}
    raw |= {v.lower() for v in raw}
    direct = {
        c.name for c in load_contracts(layer="bronze")["bronze.customers"].columns if c.pii.value == "direct"
    }
    for table in SILVER_TABLES:
        rows = silver_lake.rows(table)
        assert rows, table
        assert not direct & set(rows[0]), f"silver/{table} has a clear PII column"
        leaked = {v for row in rows for v in row.values() if isinstance(v, str) and v.strip() in raw}
        assert not leaked, f"silver/{table} holds raw PII: {sorted(leaked)[:5]}"
        emails = {v for row in rows for v in row.values() if isinstance(v, str) and "@" in v}
        assert not emails, f"silver/{table} holds e-mail addresses: {sorted(emails)[:5]}"


def test_silver_rows_honour_their_contracts(silver_lake: SilverLake, spark):
    contracts = load_contracts(layer="silver")
    for table in SILVER_TABLES:
        contract = contracts[f"silver.{table}"]
        frame = spark.read.format("delta").load(f"{silver_lake.root}/silver/{table}")
        assert [f.name for f in frame.schema.fields] == [*contract.column_names, "_run_date"]
        assert {f.name: f.dataType.simpleString() for f in frame.schema.fields if f.name != "_run_date"} == {
            c.name: c.type for c in contract.columns
        }
        # unique rules hold per partition: checked on the key with _run_date, the rest on all rows at once
        unique = [r for r in contract.rules if isinstance(r, UniqueRule)]
        for rule in unique:
            assert frame.groupBy(*rule.columns, "_run_date").count().where("count > 1").count() == 0, rule.id
        _, quarantine = validate_and_quarantine(frame, contract, skip_rules={r.id for r in unique})
        reasons = [
            reason["rule_id"] for row in quarantine.limit(5).collect() for reason in row["_error_reasons"]
        ]
        assert reasons == [], f"silver/{table} breaks its contract: {reasons}"


def test_a_lookback_beyond_the_declared_reach_fails_clearly(silver_lake: SilverLake):
    result = materialize_layers(
        silver_lake.resources,
        partition=LAST_DAY,
        selection=dg.AssetSelection.assets(["silver", "orders"]),
        run_config={"ops": {"silver__orders": {"config": {"lookback_days": DEFAULT_LOOKBACK_DAYS + 1}}}},
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "reaches beyond the 35 days its inputs are mapped to" in str(failure.event_specific_data.error)


def test_rerunning_a_partition_gives_identical_content(silver_lake: SilverLake):
    """Day 2 was written inside the two-day backfill; re-running it alone, twice, changes nothing."""
    before = {table: silver_lake.rows(table) for table in SILVER_TABLES}
    for _ in range(2):
        result = materialize_layers(
            silver_lake.resources, partition=BACKFILL_WINDOW[1], selection=dg.AssetSelection.groups("silver")
        )
        assert result.success
        after = {table: silver_lake.rows(table) for table in SILVER_TABLES}
        for table in SILVER_TABLES:
            assert after[table] == before[table], f"silver/{table} changed on a re-run"


@pytest.mark.parametrize("table", SILVER_TABLES)
def test_every_day_of_every_table_has_rows(silver_lake: SilverLake, table):
    counts = Counter(row["_run_date"] for row in silver_lake.rows(table))
    assert all(counts[day] > 0 for day in DAYS), counts
