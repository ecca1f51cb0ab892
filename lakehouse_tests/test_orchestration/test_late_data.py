"""Late rows reach gold by themselves, and a steady day repeats no work.

Two days run through the daily job on private local services. Then, as in production, rows are committed late
to day 1 in Snowflake: a customer's change and a new order (header and line) placed after it. Nothing is run
by hand from there on: the test plays the Dagster daemon, evaluating the watermark sensors (the order's line
first, the worst order for its foreign key) and the automation conditions, and launching exactly what they
request, until they request nothing. The late order must then be in silver/orders and fact_orders, keyed to
the late customer version, which dim_customer's history must hold; the sensors, automation and the daily
schedule must find nothing left to do; and no bronze day but the late one is extracted again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import dagster as dg
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable

from lakehouse.bronze.definitions import bronze_definitions
from lakehouse.gold.definitions import gold_definitions
from lakehouse.governance import PiiMasking
from lakehouse.orchestration.automation import automation_sensor
from lakehouse.orchestration.definitions import bronze_ingestion_definitions
from lakehouse.orchestration.jobs import DAILY_JOB_NAME, lakehouse_daily_job
from lakehouse.orchestration.schedules import DAILY_SCHEDULE_NAME, lakehouse_daily_schedule
from lakehouse.orchestration.sensors.watermark_sensor import RUN_KEY_TAG, watermark_sensor_name
from lakehouse.silver.definitions import silver_definitions
from lakehouse_tests.support import lake_resources
from lakehouse_tests.test_orchestration.test_sensors.support import CONFIG, Sources, private_sources

pytestmark = pytest.mark.slow

DAY_1, DAY_2, DAY_3 = CONFIG.day(0), CONFIG.day(1), CONFIG.day(2)


def morning_after(day):
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), timezone.utc) + timedelta(hours=6)


NOW = morning_after(DAY_2)
LATE_CHANGE = datetime.combine(DAY_1, datetime.min.time()) + timedelta(hours=23, minutes=58)
LATE_ORDER_TS = LATE_CHANGE + timedelta(minutes=1)
LATE_ORDER_ID = 9_300_000_001
# The line's sensor first: its day is re-loaded before its header's, the case the orphan re-check is for.
SENSOR_ORDER = ("order_items", "customers", "orders", "products", "behavior_events")
CUSTOMER_COLUMNS = (
    "CUSTOMER_ID", "FIRST_NAME", "LAST_NAME", "EMAIL", "PHONE", "COUNTRY_CODE", "CITY", "SEGMENT",
    "LOYALTY_TIER", "CREATED_AT", "UPDATED_AT", "IS_DELETED",
)  # fmt: skip
ORDER_COLUMNS = (
    "ORDER_ID", "CUSTOMER_ID", "ORDER_TS", "STATUS", "CHANNEL", "CURRENCY", "TOTAL_AMOUNT", "UPDATED_AT",
)  # fmt: skip
LINE_COLUMNS = (
    "ORDER_ID",
    "LINE_NUMBER",
    "PRODUCT_ID",
    "QUANTITY",
    "UNIT_PRICE",
    "DISCOUNT_AMOUNT",
    "UPDATED_AT",
)


class Daemon:
    """What the Dagster daemon does with the code location's sensors and automation conditions: evaluate,
    launch each new run key once, keep the cursors; here every launched run executes in process."""

    def __init__(self, definitions: dg.Definitions, instance: dg.DagsterInstance, resources: dict) -> None:
        self.definitions = definitions
        self.repository = definitions.get_repository_def()
        self.instance = instance
        self.resources = resources
        self.cursors: dict[str, str | None] = {}
        self.automation_cursor = None
        self.launched: list[tuple[str, str, tuple[str, ...]]] = []  # (by, partition, asset keys)

    def run_until_quiet(self, rounds: int = 8) -> list[tuple[str, str, tuple[str, ...]]]:
        """Evaluate every sensor, then automation, launching what they request, until a round launches
        nothing; the runs launched."""
        start = len(self.launched)
        for _ in range(rounds):
            before = len(self.launched)
            for table in SENSOR_ORDER:
                self._tick_watermark_sensor(table)
            self._evaluate_automation()
            if len(self.launched) == before:
                return self.launched[start:]
        raise AssertionError(f"still launching runs after {rounds} rounds: {self.launched[start:]}")

    def _tick_watermark_sensor(self, table: str) -> None:
        name = watermark_sensor_name(table)
        sensor = self.repository.get_sensor_def(name)
        with dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursors.get(name),
            repository_def=self.repository,
            resources=self.resources,
        ) as context:
            data = sensor.evaluate_tick(context)
        self.cursors[name] = data.cursor
        job = self.repository.get_job(sensor.job_name)
        for request in data.run_requests:
            if self.instance.get_runs(filters=dg.RunsFilter(tags={RUN_KEY_TAG: request.run_key})):
                continue  # the daemon launches a run key once
            self._launch(
                name, job, request.partition_key, request.asset_selection, request.tags, request.run_key
            )

    def _evaluate_automation(self) -> None:
        result = dg.evaluate_automation_conditions(
            defs=self.definitions, instance=self.instance, cursor=self.automation_cursor
        )
        self.automation_cursor = result.cursor
        by_partition: dict[str, list[dg.AssetKey]] = defaultdict(list)
        for key in self.repository.asset_graph.get_all_asset_keys():
            for partition in result.get_requested_partitions(key):
                by_partition[partition].append(key)
        job = self.definitions.resolve_implicit_global_asset_job_def()
        for partition, keys in sorted(by_partition.items()):
            self._launch("automation", job, partition, keys, {}, None)

    def _launch(self, by, job, partition, keys, tags, run_key) -> None:
        tags = {**tags, **({RUN_KEY_TAG: run_key} if run_key else {})}
        result = job.execute_in_process(
            instance=self.instance, partition_key=partition, asset_selection=list(keys), tags=tags
        )
        assert result.success, f"{by} run of {partition} {keys} failed"
        self.launched.append((by, partition, tuple(sorted(k.to_user_string() for k in keys))))


def _insert(sources: Sources, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    with sources.resources["snowflake"].get_connection() as connection:
        placeholders = ", ".join(["%s"] * len(columns))
        connection.cursor().executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", rows
        )


def _rows(lake_root: str, table: str, **equal) -> list[dict]:
    dataset = DeltaTable(f"{lake_root}/{table}").to_pyarrow_dataset()
    condition = None
    for column, value in equal.items():
        term = pc.field(column) == value
        condition = term if condition is None else condition & term
    return dataset.to_table(filter=condition).to_pylist()


@pytest.fixture(scope="module")
def late_data(engine, tmp_path_factory) -> Iterator[dict]:
    home = tmp_path_factory.mktemp("late-data")
    lake_root = str(home / "lake")
    clock = {"now": NOW}  # what the watermark sensors take as the current time
    with private_sources("late-data", CONFIG) as sources:
        sources.hold_through(DAY_2)
        resources = {
            **sources.resources,
            **lake_resources(engine, lake_root),
            "pii": PiiMasking(salt="late-data-test-salt", allow_development_salt=True),
        }
        definitions = dg.Definitions.merge(
            bronze_definitions(),
            silver_definitions(),
            gold_definitions(),
            bronze_ingestion_definitions(clock=lambda: clock["now"]),
            dg.Definitions(
                jobs=[lakehouse_daily_job()],
                schedules=[lakehouse_daily_schedule()],
                sensors=[automation_sensor()],
            ),
            dg.Definitions(resources=resources),
        )
        (home / "dagster").mkdir()
        instance = dg.DagsterInstance.local_temp(str(home / "dagster"))
        daily = definitions.resolve_job_def(DAILY_JOB_NAME)
        for day in (DAY_1, DAY_2):
            assert daily.execute_in_process(instance=instance, partition_key=day.isoformat()).success
        daemon = Daemon(definitions, instance, resources)
        quiet_before = daemon.run_until_quiet()

        customer = _rows(lake_root, "bronze/customers", _run_date=DAY_1)[0]
        segment = next(s for s in ("consumer", "small_business", "enterprise") if s != customer["segment"])
        changed = {**customer, "segment": segment, "updated_at": LATE_CHANGE}
        line = _rows(lake_root, "bronze/order_items", _run_date=DAY_1)[0]
        header = _rows(lake_root, "bronze/orders", _run_date=DAY_1)[0]
        unit_price = Decimal(line["unit_price"])
        _insert(
            sources,
            "RETAIL.CRM.CUSTOMERS",
            CUSTOMER_COLUMNS,
            [tuple(changed[c.lower()] for c in CUSTOMER_COLUMNS)],
        )
        order = {
            **header,
            "order_id": LATE_ORDER_ID,
            "customer_id": customer["customer_id"],
            "order_ts": LATE_ORDER_TS,
            "status": "placed",
            "total_amount": 2 * unit_price,
            "updated_at": LATE_ORDER_TS,
        }
        _insert(
            sources, "RETAIL.SALES.ORDERS", ORDER_COLUMNS, [tuple(order[c.lower()] for c in ORDER_COLUMNS)]
        )
        item = {
            **line,
            "order_id": LATE_ORDER_ID,
            "line_number": 1,
            "quantity": 2,
            "discount_amount": Decimal("0.00"),
            "updated_at": LATE_ORDER_TS,
        }
        _insert(
            sources, "RETAIL.SALES.ORDER_ITEMS", LINE_COLUMNS, [tuple(item[c.lower()] for c in LINE_COLUMNS)]
        )

        launched = daemon.run_until_quiet()
        yield {
            "lake": lake_root,
            "customer_id": customer["customer_id"],
            "segment": segment,
            "quiet_before": quiet_before,
            "launched": launched,
            "daemon": daemon,
            "definitions": definitions,
            "instance": instance,
            "sources": sources,
            "clock": clock,
        }
        instance.dispose()


def test_before_any_late_row_the_completed_days_launch_nothing(late_data):
    assert late_data["quiet_before"] == []


def test_the_late_order_reaches_silver_and_fact_orders(late_data):
    lake = late_data["lake"]
    silver = _rows(lake, "silver/orders", order_id=LATE_ORDER_ID)
    assert [row["_run_date"] for row in silver] == [DAY_1]
    facts = _rows(lake, "gold/fact_orders", order_id=LATE_ORDER_ID)
    assert [(row["line_number"], row["quantity"]) for row in facts] == [(1, 2)]


def test_the_late_customer_change_is_in_dim_customer_history_and_keys_the_late_order(late_data):
    lake = late_data["lake"]
    versions = _rows(lake, "gold/dim_customer", customer_id=late_data["customer_id"])
    (late,) = [v for v in versions if v["valid_from"] == LATE_CHANGE]
    assert late["segment"] == late_data["segment"]
    (fact,) = _rows(lake, "gold/fact_orders", order_id=LATE_ORDER_ID)
    assert fact["customer_key"] == late["customer_key"]


def test_only_the_late_day_is_extracted_again_and_silver_and_gold_follow_by_automation(late_data):
    launched = late_data["launched"]
    bronze_days = {partition for by, partition, _ in launched if by != "automation"}
    assert bronze_days == {DAY_1.isoformat()}
    loaded = {key.split("/")[1] for by, _, keys in launched if by != "automation" for key in keys}
    assert loaded == {"customers", "orders", "order_items"}
    automated = {key for by, _, keys in launched if by == "automation" for key in keys}
    assert {"silver/customers", "silver/orders", "gold/dim_customer", "gold/fact_orders"} <= automated
    assert not {key for key in automated if key.startswith(("bronze/", "quarantine/"))}
    # the line's day was loaded before its header's; its orphan was re-checked once the header's day was in
    assert [by for by, _, _ in launched].count(watermark_sensor_name("order_items")) == 2


def daily_schedule_tick(late_data, day):
    """The daily schedule's tick at 00:30 UTC after ``day``."""
    repository = late_data["definitions"].get_repository_def()
    scheduled = datetime.combine(day + timedelta(days=1), datetime.min.time(), timezone.utc)
    with dg.build_schedule_context(
        instance=late_data["instance"],
        scheduled_execution_time=scheduled + timedelta(minutes=30),
        repository_def=repository,
    ) as context:
        return repository.get_schedule_def(DAILY_SCHEDULE_NAME).evaluate_tick(context)


def test_afterwards_the_sensors_automation_and_daily_schedule_find_nothing_to_do(late_data):
    assert late_data["daemon"].run_until_quiet() == []
    result = daily_schedule_tick(late_data, DAY_2)
    assert not result.run_requests
    assert result.skip_message.startswith(f"{DAY_2.isoformat()}: every asset is materialized")


def test_a_new_day_is_extracted_once_per_table_and_reaches_gold_without_the_daily_job(late_data):
    """The next night: day 3 is committed (with late rows of the days before, as the generator commits).
    Every table's day 3 is extracted exactly once, whichever sensor loads it; silver and gold follow by
    automation, and at 00:30 the daily schedule has nothing left to run."""
    late_data["sources"].hold_through(DAY_3)
    late_data["clock"]["now"] = morning_after(DAY_3)
    launched = late_data["daemon"].run_until_quiet()

    extracted = [
        key.split("/")[1]
        for by, partition, keys in launched
        if by != "automation" and partition == DAY_3.isoformat()
        for key in keys
        if key.startswith("bronze/")
    ]
    assert sorted(extracted) == ["behavior_events", "customers", "order_items", "orders", "products"]
    automated = {
        key
        for by, partition, keys in launched
        if by == "automation" and partition == DAY_3.isoformat()
        for key in keys
    }
    assert {
        "silver/orders",
        "gold/fact_orders",
        "gold/dim_customer",
        "gold/fact_customer_activity",
    } <= automated
    result = daily_schedule_tick(late_data, DAY_3)
    assert not result.run_requests, result.run_requests
    assert result.skip_message.startswith(f"{DAY_3.isoformat()}: every asset is materialized")
