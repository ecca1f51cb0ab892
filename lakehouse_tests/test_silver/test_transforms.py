"""The pure silver transforms on small hand-made DataFrames, on the embedded engine."""

import hashlib
from datetime import date, datetime
from decimal import Decimal

import pytest

import lakehouse_tests.test_silver.silver_cases as cases
from lakehouse.contracts import load_contracts
from lakehouse.governance import mask_columns
from lakehouse.silver import transforms as T
from lakehouse_tests.test_silver.silver_cases import D2, D3, D4, SALT


@pytest.fixture(scope="module")
def silver_contracts():
    return load_contracts(layer="silver")


def by(rows, *keys):
    return {tuple(row[k] for k in keys): row for row in rows}


def test_customers_keep_every_distinct_version_of_each_day(spark):
    collected = cases.customers_case(spark).collect()
    rows = by(collected, "customer_id", "updated_at")
    assert len(collected) == len(rows) == 4  # the exact redelivery of 15:00 is kept once
    assert sorted((key, row["_run_date"]) for key, row in rows.items()) == [
        ((1, datetime(2026, 1, 2, 9, 0)), D2),  # both changes of D2, not only the day's last
        ((1, datetime(2026, 1, 2, 15, 0)), D2),
        ((1, datetime(2026, 1, 3, 8, 0)), D3),
        ((2, datetime(2026, 1, 2, 23, 59, 59, 999998)), D2),
    ]
    assert rows[(1, datetime(2026, 1, 2, 9, 0))]["loyalty_tier"] == "none"
    assert rows[(1, datetime(2026, 1, 2, 15, 0))]["loyalty_tier"] == "gold"
    assert rows[(1, datetime(2026, 1, 3, 8, 0))]["is_deleted"] is True


def test_customers_keep_versions_of_different_customers_at_one_instant(spark):
    schema = cases.BRONZE_CUSTOMERS_SCHEMA
    same_time = datetime(2026, 1, 2, 9, 0)
    image = ("Ana", "Silva", "a@example.com", "+1", "PT", "Lisbon", "consumer", "none", cases.CREATED)
    data = [
        (1, *image, same_time, False, "b1", D2),
        (2, *image, same_time, False, "b1", D2),
        (1, *image, same_time, False, "b2", D2),  # a redelivery in another batch
    ]
    masked = mask_columns(
        spark.createDataFrame(data, schema), ["first_name", "last_name", "email", "phone"], SALT
    )
    rows = T.silver_customers(masked).collect()
    assert sorted((r["customer_id"], r["updated_at"]) for r in rows) == [(1, same_time), (2, same_time)]


def test_customers_are_standardized_before_hashing(spark):
    rows = by(cases.customers_case(spark).collect(), "customer_id", "_run_date", "updated_at")
    monday, tuesday = rows[(1, D2, datetime(2026, 1, 2, 15))], rows[(1, D3, datetime(2026, 1, 3, 8))]
    for column in ("first_name_hash", "last_name_hash", "email_hash", "phone_hash"):
        assert monday[column] == tuesday[column], f"{column}: one person, two spellings, two tokens"
    assert monday["email_hash"] == hashlib.sha256(f"{SALT}:ana@example.com".encode()).hexdigest()
    assert monday["phone_hash"] == hashlib.sha256(f"{SALT}:+351912345678".encode()).hexdigest()
    assert (tuesday["country_code"], tuesday["city"]) == ("PT", "Lisbon")
    bo = rows[(2, D2, datetime(2026, 1, 2, 23, 59, 59, 999998))]
    assert (bo["country_code"], bo["city"]) == ("US", "Austin")


def test_products_keep_the_latest_version_trimmed_and_upper_cased(spark):
    schema = (
        "product_id bigint, sku string, product_name string, category string, brand string, "
        "unit_price decimal(12,2), currency string, is_active boolean, updated_at timestamp_ntz, "
        "_run_date date"
    )
    data = [
        (5, " SKU-5 ", "Lamp ", " home", "Lumo", Decimal("9.99"), "eur", True, datetime(2026, 1, 2, 8), D2),
        (5, "SKU-5", "Lamp", "home", "Lumo", Decimal("7.99"), "EUR", False, datetime(2026, 1, 2, 9), D2),
        (5, "SKU-5", "Lamp", "home", "Lumo", Decimal("7.99"), "EUR", False, datetime(2026, 1, 2, 9), D2),
        (6, " SKU-6", "Mug", "home", "Cuppa ", Decimal("3.50"), " usd ", True, datetime(2026, 1, 3, 8), D3),
    ]
    rows = by(T.silver_products(spark.createDataFrame(data, schema)).collect(), "product_id")
    assert len(rows) == 2
    assert (rows[(5,)]["unit_price"], rows[(5,)]["is_active"]) == (Decimal("7.99"), False)
    assert (rows[(6,)]["sku"], rows[(6,)]["brand"], rows[(6,)]["currency"]) == ("SKU-6", "Cuppa", "USD")


def test_orders_join_each_line_to_its_header_as_of_the_end_of_each_day(spark):
    rows = by(cases.orders_case(spark).collect(), "order_id", "line_number", "_run_date")
    # 102 changed only before the window; 104's lines and 105's header are beyond the lookback
    assert sorted(rows) == [(100, 1, D3), (100, 2, D3), (101, 1, D3), (101, 1, D4)]
    shipped = rows[(100, 1, D3)]  # lines from D1, the header's status change on D3
    assert (shipped["status"], shipped["order_date"], shipped["line_amount"]) == (
        "shipped",
        date(2026, 1, 1),
        Decimal("20.00"),
    )
    assert shipped["updated_at"] == datetime(2026, 1, 3, 9, 0)
    paid = rows[(101, 1, D3)]  # the coupon's rewrite of line 1 wins over the placed image
    assert (paid["status"], paid["discount_amount"], paid["line_amount"]) == (
        "paid",
        Decimal("3.00"),
        Decimal("27.00"),
    )
    assert (paid["channel"], paid["currency"], paid["order_total"]) == ("mobile", "USD", Decimal("27.00"))
    assert rows[(101, 1, D4)]["status"] == "delivered"  # the next day of the window has its own state


def test_orders_lookback_is_bounded_and_configurable(spark):
    keys = {(r["order_id"], r["_run_date"]) for r in cases.orders_long_lookback_case(spark).collect()}
    assert (104, D3) in keys  # its lines are 44 days old: within 50 days, not within 35
    unplaced = [tuple(r) for r in cases.lines_without_header_case(spark).collect()]
    assert unplaced == [(105, 1, D3)]


def test_events_are_deduplicated_on_event_id_keeping_the_first_load(spark):
    rows = cases.events_case(spark).collect()
    assert len(rows) == 10
    e10 = [r for r in rows if r["event_id"] == "e10"]
    assert len(e10) == 1 and e10[0]["device"] == "tablet"


def test_sessions_are_derived_by_thirty_minutes_of_inactivity(spark):
    rows = {r["event_id"]: r for r in cases.events_case(spark).collect()}

    def derived(customer: int, first: str) -> str:
        return "derived-" + hashlib.sha256(f"{customer}{first}".encode()).hexdigest()

    first_session = derived(7, "2026-01-02 10:00:00.000000")
    assert [rows[e]["session_id"] for e in ("e1", "e2", "e3")] == [
        first_session
    ] * 3  # a 30-minute gap is not idle enough
    assert rows["e4"]["session_id"] == rows["e5"]["session_id"] == derived(7, "2026-01-02 11:21:00.000000")
    assert rows["e6"]["session_id"] == derived(7, "2026-01-02 11:40:00.000000")  # another day's partition
    assert all(rows[e]["session_derived"] for e in ("e1", "e4", "e6", "e8"))
    assert (rows["e7"]["session_id"], rows["e7"]["session_derived"]) == ("s-1", False)
    assert (
        rows["e8"]["session_id"] == "derived-" + hashlib.sha256(b"e8").hexdigest()
    )  # anonymous: its own session
    assert (rows["e9"]["session_id"], rows["e9"]["session_derived"]) == ("s-2", False)
    assert rows["e6"]["event_date"] == D2 and rows["e6"]["_run_date"] == D3


def test_customer_activity_joins_orders_events_and_customers(spark):
    rows = by(cases.activity_case(spark).collect(), "customer_id", "activity_date")
    assert sorted(rows) == [
        (1, D2),
        (2, D2),
        (3, D3),
        (4, D2),
        (4, D3),
    ]  # the anonymous visitor is not attributed
    ana = rows[(1, D2)]
    assert (ana["orders"], ana["revenue"], ana["sessions"]) == (
        2,
        Decimal("18.50"),
        2,
    )  # order 12 was placed on D1
    assert (ana["page_views"], ana["product_views"], ana["add_to_carts"], ana["purchases"]) == (3, 1, 1, 1)
    assert ana["conversion_rate"] == 1.0
    assert (ana["first_seen_ts"], ana["last_seen_ts"]) == (datetime(2026, 1, 2, 8), datetime(2026, 1, 2, 18))
    assert ana["segment"] is None  # its only customer version is beyond the lookback
    assert (rows[(2, D2)]["segment"], rows[(2, D2)]["orders"], rows[(2, D2)]["revenue"]) == (
        "small_business",
        0,
        Decimal("0.00"),
    )
    buyer = rows[(3, D3)]  # orders without sessions: no conversion rate; the later of two versions of the day
    assert (buyer["sessions"], buyer["conversion_rate"], buyer["segment"], buyer["country_code"]) == (
        0,
        None,
        "enterprise",
        "FR",
    )
    assert rows[(4, D3)]["first_seen_ts"] == datetime(2026, 1, 1, 22)  # a late upload counts on its load day


@pytest.mark.parametrize(
    "table, case",
    [
        ("customers", cases.customers_case),
        ("orders", cases.orders_case),
        ("behavior_events", cases.events_case),
        ("customer_activity", cases.activity_case),
    ],
)
def test_transform_output_matches_its_contract(spark, silver_contracts, table, case):
    contract = silver_contracts[f"silver.{table}"]
    produced = {f.name: f.dataType.simpleString() for f in case(spark).schema.fields}
    expected = {c.name: c.type for c in contract.columns} | {"_run_date": "date"}
    assert produced == expected


def test_to_contract_orders_casts_and_drops_extra_columns(spark, silver_contracts):
    contract = silver_contracts["silver.products"]
    df = spark.createDataFrame(
        [("SKU", 1, "Lamp", "home", "Lumo", "9.99", "EUR", True, datetime(2026, 1, 2), D2, "secret")],
        "sku string, product_id int, product_name string, category string, brand string, unit_price string, "
        "currency string, is_active boolean, updated_at timestamp_ntz, _run_date date, email string",
    )
    shaped = T.to_contract(df, contract)
    assert shaped.columns == [*contract.column_names, "_run_date"]
    assert shaped.schema["product_id"].dataType.simpleString() == "bigint"
    assert shaped.schema["unit_price"].dataType.simpleString() == "decimal(12,2)"


def test_to_contract_names_a_missing_column(spark, silver_contracts):
    df = spark.createDataFrame([(1,)], "product_id bigint")
    with pytest.raises(ValueError, match="silver.products: the transform produced no column"):
        T.to_contract(df, silver_contracts["silver.products"])
