"""Silver and gold for one day under ``dg.materialize_to_memory``: every IO manager is in memory, bronze is a
handful of hand-written DataFrames handed in as upstream assets, and the gold assets write their tables
through the engine and the ``Lake`` alone. The pattern to test a change of an asset without a Delta IO
manager: a run over small frames, then the outputs in memory and the gold tables in the lake."""

from datetime import date, datetime
from decimal import Decimal

import dagster as dg
import pytest
from pyspark.sql import DataFrame, SparkSession

from lakehouse.gold.definitions import gold_assets
from lakehouse.gold.tables import DIM_CUSTOMER, DIM_DATE, DIM_PRODUCT, FACT_CUSTOMER_ACTIVITY, FACT_ORDERS
from lakehouse.governance import PiiMasking
from lakehouse.lake import Lake
from lakehouse.partitions import daily_partitions
from lakehouse.silver.definitions import silver_assets

DAY = date(2026, 1, 2)
OPEN_END = datetime(9999, 12, 31)
SOURCE = "snowflake"
LOADED = datetime(2026, 1, 3, 0, 30)


def ts(text: str) -> datetime:
    return datetime.fromisoformat(f"2026-01-02 {text}")


# Every bronze row carries the metadata columns: record_source, record_table, ingest_timestamp, _batch_id,
# _run_date (contracts/bronze/*.yaml).
METADATA = (
    "record_source string, record_table string, ingest_timestamp timestamp, _batch_id string, _run_date date"
)
BRONZE: dict[str, tuple[str, list[tuple]]] = {
    "customers": (
        "customer_id bigint, first_name string, last_name string, email string, phone string, "
        "country_code string, city string, segment string, loyalty_tier string, created_at timestamp_ntz, "
        "updated_at timestamp_ntz, is_deleted boolean",
        [
            # customer 1 changes tier during the day (none at 08:00, gold at 09:00): silver keeps both
            (1, "Ana", "Silva", "ana@example.com", "+351 912 345 678", "pt", "Lisbon", "consumer", "none",
             datetime(2025, 6, 1), ts("08:00:00"), False),
            (1, "Ana", "Silva", "ana@example.com", "+351 912 345 678", "pt", "Lisbon", "consumer", "gold",
             datetime(2025, 6, 1), ts("09:00:00"), False),
            (2, "Bo", "Lee", "bo@example.com", "+1 555 010 0000", "US", "Austin", "enterprise", "silver",
             datetime(2025, 7, 1), ts("10:00:00"), False),
        ],  # customer 3 orders today but is not delivered yet: a late member
    ),
    "products": (
        "product_id bigint, sku string, product_name string, category string, brand string, "
        "unit_price decimal(12,2), currency string, is_active boolean, updated_at timestamp_ntz",
        [
            (10, "SKU-10", "Mug", "kitchen", "Acme", Decimal("5.00"), "eur", True, ts("07:00:00")),
            (11, "SKU-11", "Pan", "kitchen", "Acme", Decimal("20.00"), "EUR", True, ts("07:30:00")),
        ],
    ),
    "orders": (
        "order_id bigint, customer_id bigint, order_ts timestamp_ntz, status string, channel string, "
        "currency string, total_amount decimal(12,2), updated_at timestamp_ntz",
        [
            (100, 1, ts("11:00:00"), "placed", "web", "EUR", Decimal("29.00"), ts("11:00:00")),
            (101, 3, ts("12:00:00"), "placed", "app", "EUR", Decimal("5.00"), ts("12:00:00")),
            # placed between customer 1's two changes: the version of 08:00 (tier none)
            (102, 1, ts("08:30:00"), "placed", "web", "EUR", Decimal("5.00"), ts("08:30:00")),
        ],
    ),
    "order_items": (
        "order_id bigint, line_number bigint, product_id bigint, quantity bigint, unit_price decimal(12,2), "
        "discount_amount decimal(12,2), updated_at timestamp_ntz",
        [
            (100, 1, 10, 2, Decimal("5.00"), Decimal("1.00"), ts("11:00:00")),
            (100, 2, 11, 1, Decimal("20.00"), Decimal("0.00"), ts("11:00:00")),
            (101, 1, 10, 1, Decimal("5.00"), Decimal("0.00"), ts("12:00:00")),
            (102, 1, 10, 1, Decimal("5.00"), Decimal("0.00"), ts("08:30:00")),
        ],
    ),
    "behavior_events": (
        "event_id string, customer_id bigint, session_id string, event_type string, product_id bigint, "
        "page_url string, device string, event_ts timestamp_ntz, loaded_at timestamp_ntz",
        [
            ("e1", 1, "s1", "page_view", None, "/", "web", ts("10:50:00"), LOADED),
            ("e2", 1, "s1", "product_view", 10, "/p/10", "web", ts("10:52:00"), LOADED),
            ("e3", 1, "s1", "add_to_cart", 10, "/p/10", "web", ts("10:55:00"), LOADED),
            ("e4", 1, "s1", "purchase", None, "/checkout", "web", ts("11:00:00"), LOADED),
        ],
    ),
}


def bronze_frame(spark: SparkSession, table: str) -> DataFrame:
    schema, rows = BRONZE[table]
    metadata = (SOURCE, f"RETAIL.PUBLIC.{table.upper()}", datetime(2026, 1, 3, 0, 5), f"run-{table}", DAY)
    return spark.createDataFrame([(*row, *metadata) for row in rows], f"{schema}, {METADATA}")


def bronze_stand_in(table: str, frame: DataFrame) -> dg.AssetsDefinition:
    """Stands for the bronze asset of ``table``: its key and partitions, the frame as its output."""

    @dg.asset(key=["bronze", table], partitions_def=daily_partitions(), group_name="bronze")
    def _bronze() -> DataFrame:
        return frame

    return _bronze


@pytest.fixture(scope="module")
def run(spark, engine, tmp_path_factory) -> tuple[dg.ExecuteInProcessResult, Lake]:
    lake = Lake(root_uri=str(tmp_path_factory.mktemp("memory") / "lake"))
    bronze = [bronze_stand_in(table, bronze_frame(spark, table)) for table in BRONZE]
    result = dg.materialize_to_memory(
        [*bronze, *silver_assets(), *gold_assets()],
        partition_key=DAY.isoformat(),
        resources={
            "engine": engine,
            "lake": lake,
            "pii": PiiMasking(salt="memory-test-salt", allow_development_salt=True),
        },
    )
    return result, lake


def test_every_asset_and_check_of_silver_and_gold_succeeds(run):
    result, _ = run
    assert result.success
    materialized = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
    assert {"silver/customers", "silver/orders", "silver/customer_activity"} <= materialized
    assert {key.to_user_string() for key in (DIM_CUSTOMER, DIM_PRODUCT, DIM_DATE)} <= materialized
    assert {key.to_user_string() for key in (FACT_ORDERS, FACT_CUSTOMER_ACTIVITY)} <= materialized
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == 12 and all(e.passed for e in evaluations)


def test_silver_outputs_stay_in_memory(run):
    result, lake = run
    customers = result.output_for_node("silver__customers").orderBy("customer_id", "updated_at").collect()
    assert [(r.customer_id, r.loyalty_tier, r.country_code) for r in customers] == [
        (1, "none", "PT"),
        (1, "gold", "PT"),
        (2, "silver", "US"),
    ]
    assert customers[0].email_hash != "ana@example.com" and len(customers[0].email_hash) == 64
    lines = result.output_for_node("silver__orders").orderBy("order_id", "line_number").collect()
    assert [(r.order_id, r.line_number, r.line_amount) for r in lines] == [
        (100, 1, Decimal("9.00")),
        (100, 2, Decimal("20.00")),
        (101, 1, Decimal("5.00")),
        (102, 1, Decimal("5.00")),
    ]
    assert not lake.exists(["silver", "customers"])  # the in-memory IO manager wrote no table


def test_gold_tables_are_in_the_lake(run):
    result, lake = run
    by_version = [("customer_id", "ascending"), ("valid_from", "ascending")]
    customers = lake.open(DIM_CUSTOMER).to_pyarrow_table().sort_by(by_version).to_pylist()
    assert [
        (r["customer_id"], r["loyalty_tier"], r["valid_from"], r["valid_to"], r["is_current"], r["_run_date"])
        for r in customers
    ] == [
        (-1, "unknown", datetime(1900, 1, 1), OPEN_END, True, None),
        (1, "none", ts("08:00:00"), ts("09:00:00"), False, DAY),  # an intraday version of its own
        (1, "gold", ts("09:00:00"), OPEN_END, True, DAY),
        (2, "silver", ts("10:00:00"), OPEN_END, True, DAY),
    ]
    assert [r["customer_key"] for r in customers][0] == 0
    products = lake.open(DIM_PRODUCT).to_pyarrow_table().sort_by("product_id").to_pylist()
    assert [(r["product_id"], r["currency"]) for r in products] == [(-1, "XXX"), (10, "EUR"), (11, "EUR")]
    assert lake.open(DIM_DATE).to_pyarrow_table().num_rows == 2192  # 2025 to 2030 and the unknown day

    keys = {r["customer_id"]: r["customer_key"] for r in customers if r["is_current"]}
    first_version_of_1 = customers[1]["customer_key"]
    product_keys = {r["product_id"]: r["product_key"] for r in products}
    columns = ("order_id", "line_number", "customer_key", "product_key", "order_date_key", "_run_date")
    facts = lake.open(FACT_ORDERS).to_pyarrow_table().to_pylist()
    assert sorted(tuple(r[name] for name in columns) for r in facts) == [
        (100, 1, keys[1], product_keys[10], 20260102, DAY),
        (100, 2, keys[1], product_keys[11], 20260102, DAY),
        (101, 1, 0, product_keys[10], 20260102, DAY),  # customer 3 is not in the dimension yet
        (102, 1, first_version_of_1, product_keys[10], 20260102, DAY),  # placed before the 09:00 change
    ]
    [orders] = result.asset_materializations_for_node("gold__fact_orders")
    assert orders.metadata["dagster/row_count"].value == 4
    assert orders.metadata["delta_version"].value == lake.version(FACT_ORDERS)

    activity = lake.open(FACT_CUSTOMER_ACTIVITY).to_pyarrow_table().sort_by("customer_id").to_pylist()
    assert [
        (r["customer_id"], r["customer_key"], r["orders"], r["revenue"], r["sessions"]) for r in activity
    ] == [
        (1, keys[1], 2, Decimal("34.00"), 1),  # the version current at the end of the day
        (3, 0, 1, Decimal("5.00"), 0),
    ]
    [written] = result.asset_materializations_for_node("gold__fact_customer_activity")
    assert written.metadata["partitions_written"].value == [DAY.isoformat()]
    assert written.metadata["bytes_written"].value > 0
