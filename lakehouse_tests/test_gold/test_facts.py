"""The fact assets through Dagster over a temporary lake of real Delta tables: hand-made silver partitions
and dimensions (shaped as docs/model.md describes them), each partition run twice, runs out of order,
a whole window in one run, and late dimension members arriving between runs."""

import shutil
from datetime import timedelta

import dagster as dg
import pytest
from deltalake import DeltaTable
from pyspark.sql import DataFrame, SparkSession

from lakehouse.contracts import contracts_dir, load_contract
from lakehouse.gold.facts import (
    FACT_CUSTOMER_ACTIVITY_KEY,
    FACT_ORDERS_KEY,
    SILVER_CUSTOMER_ACTIVITY_KEY,
    SILVER_ORDERS_KEY,
    fact_assets,
)
from lakehouse.gold.integrity import FACT_CHECKS
from lakehouse.io import DeltaSparkIOManager
from lakehouse.partitions import daily_partitions
from lakehouse_tests.test_observability.support import committed_bytes, materialization_metadata
from lakehouse_tests.test_gold.test_star import (
    D1,
    D2,
    D3,
    dim_customer_frame,
    dim_date_frame,
    dim_product_frame,
    silver_activity_frame,
    silver_orders_frame,
)

DIMENSION_KEYS = [dg.AssetKey(["gold", t]) for t in ("dim_customer", "dim_product", "dim_date")]
UPSTREAM_SPECS = [
    dg.AssetSpec(SILVER_ORDERS_KEY, partitions_def=daily_partitions),
    dg.AssetSpec(SILVER_CUSTOMER_ACTIVITY_KEY, partitions_def=daily_partitions),
    *[dg.AssetSpec(key) for key in DIMENSION_KEYS],
]
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


# ---------------------------------------------------------------------------------------- the lake


class Lake:
    """A temporary lake root with the facts' upstream tables written as their assets would write them."""

    def __init__(self, spark: SparkSession, root: str, io_manager: DeltaSparkIOManager):
        self.spark, self.root, self.io_manager = spark, root, io_manager

    def uri(self, key: dg.AssetKey) -> str:
        return self.io_manager.table_uri(key.path)

    def write_silver(self, orders: DataFrame | None = None, activity: DataFrame | None = None) -> None:
        for key, frame in ((SILVER_ORDERS_KEY, orders), (SILVER_CUSTOMER_ACTIVITY_KEY, activity)):
            if frame is not None:
                frame.write.format("delta").mode("overwrite").partitionBy("_run_date").save(self.uri(key))

    def write_dimensions(self, late_arrived: bool = False, dim_date: DataFrame | None = None) -> None:
        frames = (
            dim_customer_frame(self.spark, late_arrived),
            dim_product_frame(self.spark, late_arrived),
            dim_date if dim_date is not None else dim_date_frame(self.spark),
        )
        for key, frame in zip(DIMENSION_KEYS, frames, strict=True):
            frame.write.format("delta").mode("overwrite").option("overwriteSchema", "true").save(
                self.uri(key)
            )

    def rows(self, key: dg.AssetKey) -> list[tuple]:
        """The table's rows as an independent reader (delta-rs) sees them, sorted."""
        table = DeltaTable(self.uri(key)).to_pyarrow_table()
        return sorted(zip(*(table.column(name).to_pylist() for name in table.column_names), strict=True))

    def row(self, key: dg.AssetKey, where: str):
        [found] = self.spark.read.format("delta").load(self.uri(key)).where(where).collect()
        return found


def build_lake(spark: SparkSession, engine, root: str) -> Lake:
    """A lake at ``root`` holding the fixture's silver partitions and dimensions."""
    built = Lake(spark, root, DeltaSparkIOManager(root_uri=root, engine=engine))
    built.write_silver(silver_orders_frame(spark), silver_activity_frame(spark))
    built.write_dimensions()
    return built


@pytest.fixture
def lake(spark, engine, tmp_path) -> Lake:
    return build_lake(spark, engine, str(tmp_path / "lake"))


def materialize(
    lake: Lake,
    *,
    partition: str | None = None,
    window: tuple[str, str] | None = None,
    extra_assets: list | None = None,
    raise_on_error: bool = True,
) -> dg.ExecuteInProcessResult:
    assets = [*fact_assets(), *(extra_assets or [])]
    tags = {RANGE_START_TAG: window[0], RANGE_END_TAG: window[1]} if window else None
    return dg.materialize(
        [*assets, *UPSTREAM_SPECS],
        selection=[key for asset in assets for key in asset.keys],
        resources={"engine": lake.io_manager.engine, "io_manager": lake.io_manager},
        partition_key=partition,
        tags=tags,
        raise_on_error=raise_on_error,
    )


def check_outcomes(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {
        f"{e.asset_key.to_user_string()}:{e.check_name}": e.passed
        for e in result.get_asset_check_evaluations()
    }


def fact_tables(lake: Lake) -> tuple[list[tuple], list[tuple]]:
    return lake.rows(FACT_ORDERS_KEY), lake.rows(FACT_CUSTOMER_ACTIVITY_KEY)


# ------------------------------------------------------------------------------------------ tests


def test_assets_declare_group_owner_kinds_schema_checks_and_inputs():
    specs = {spec.key: spec for asset in fact_assets() for spec in asset.specs}
    assert set(specs) == {FACT_ORDERS_KEY, FACT_CUSTOMER_ACTIVITY_KEY}
    for key, spec in specs.items():
        contract = load_contract(contracts_dir() / "gold" / f"{key.path[-1]}.yaml")
        assert spec.group_name == "gold"
        assert spec.owners == ["team:data-platform"]
        assert spec.kinds == {"spark", "delta"}
        assert spec.description == contract.description
        assert spec.partitions_def == daily_partitions
        schema = spec.metadata["dagster/column_schema"]
        assert [(c.name, c.type) for c in schema.columns] == [(c.name, c.type) for c in contract.columns] + [
            ("_run_date", "date")
        ]
        assert {c.name: c.tags.get("pii") for c in schema.columns if c.tags}.get("customer_key") == "indirect"
    checks = {(c.asset_key, c.name, c.blocking) for asset in fact_assets() for c in asset.check_specs}
    assert checks == {(key, name, True) for key in specs for name in FACT_CHECKS}
    orders, activity = (specs[FACT_ORDERS_KEY], specs[FACT_CUSTOMER_ACTIVITY_KEY])
    assert {d.asset_key for d in orders.deps} == {SILVER_ORDERS_KEY, *DIMENSION_KEYS}
    assert {d.asset_key for d in activity.deps} == {
        SILVER_CUSTOMER_ACTIVITY_KEY,
        DIMENSION_KEYS[0],
        DIMENSION_KEYS[2],
    }


def test_each_partition_twice_gives_identical_content_and_every_check_passes(lake):
    snapshots = []
    for _ in range(2):
        for day in (D1, D2, D3):
            result = materialize(lake, partition=day.isoformat())
            outcomes = check_outcomes(result)
            assert len(outcomes) == 4 and all(outcomes.values()), (day, outcomes)
        snapshots.append(fact_tables(lake))
    assert snapshots[0] == snapshots[1]
    orders, activity = snapshots[0]
    assert len(orders) == 8 and len(activity) == 4
    shipped = lake.row(FACT_ORDERS_KEY, "order_id = 1")
    assert (shipped.status, shipped._run_date, shipped.customer_key) == ("shipped", D3, 101)
    assert lake.row(FACT_ORDERS_KEY, "order_id = 6 AND line_number = 1")._run_date == D1


def test_rerunning_an_earlier_day_after_a_later_one_keeps_the_later_state(lake):
    materialize(lake, partition=D2.isoformat())
    assert lake.row(FACT_ORDERS_KEY, "order_id = 1").status == "placed"
    materialize(lake, partition=D3.isoformat())
    after_d3 = fact_tables(lake)
    result = materialize(lake, partition=D2.isoformat())  # out of order: D2 again after D3
    assert all(check_outcomes(result).values())
    assert fact_tables(lake) == after_d3
    line = lake.row(FACT_ORDERS_KEY, "order_id = 1")
    assert (line.status, line._run_date) == ("shipped", D3)


def test_a_window_in_one_run_gives_the_table_of_day_by_day_runs(lake, spark, engine, tmp_path):
    for day in (D1, D2, D3):
        materialize(lake, partition=day.isoformat())
    day_by_day = fact_tables(lake)

    other = build_lake(spark, engine, str(tmp_path / "other"))
    result = materialize(other, window=(D1.isoformat(), D3.isoformat()))
    assert all(check_outcomes(result).values())
    assert fact_tables(other) == day_by_day


def test_late_members_get_key_zero_then_are_rekeyed_by_the_next_run_and_nothing_is_lost(lake):
    materialize(lake, partition=D2.isoformat())
    orders_before, activity_before = fact_tables(lake)
    assert (
        lake.row(FACT_ORDERS_KEY, "order_id = 3").customer_key == 0
    )  # the order arrived before its customer
    assert lake.row(FACT_ORDERS_KEY, "order_id = 2 AND line_number = 2").product_key == 0
    assert lake.row(FACT_CUSTOMER_ACTIVITY_KEY, "customer_id = 3").customer_key == 0

    lake.write_dimensions(late_arrived=True)  # the customer and the product arrive
    result = materialize(lake, partition=D3.isoformat())  # the next run, for another day
    assert all(check_outcomes(result).values())
    orders_metadata = result.asset_materializations_for_node("gold__fact_orders")[0].metadata
    assert orders_metadata["rows_rekeyed"].value == 2
    activity_metadata = result.asset_materializations_for_node("gold__fact_customer_activity")[0].metadata
    assert activity_metadata["rows_rekeyed"].value == 1

    late_line = lake.row(FACT_ORDERS_KEY, "order_id = 3")
    assert (late_line.customer_key, late_line._run_date, late_line.status) == (301, D2, "placed")
    assert lake.row(FACT_ORDERS_KEY, "order_id = 2 AND line_number = 2").product_key == 1012
    assert lake.row(FACT_CUSTOMER_ACTIVITY_KEY, "customer_id = 3").customer_key == 301
    orders_after, activity_after = fact_tables(lake)
    # nothing lost: D2's rows are all still there (D3's line (1,1) moved out of D2 into D3)
    assert {(r[0], r[1]) for r in orders_after} == {(r[0], r[1]) for r in orders_before}
    assert len(activity_after) == len(activity_before)

    # Applied once: another run has nothing left to re-key and changes nothing.
    again = materialize(lake, partition=D3.isoformat())
    assert again.asset_materializations_for_node("gold__fact_orders")[0].metadata["rows_rekeyed"].value == 0
    assert fact_tables(lake) == (orders_after, activity_after)


def test_materializations_report_rows_bytes_and_duration_of_every_commit_of_the_run(lake):
    materialize(lake, partition=D2.isoformat())  # members not arrived yet: rows keyed 0
    lake.write_dimensions(late_arrived=True)
    facts = (FACT_ORDERS_KEY, FACT_CUSTOMER_ACTIVITY_KEY)
    before = {key: DeltaTable(lake.uri(key)).version() for key in facts}
    result = materialize(lake, partition=D1.isoformat())  # writes D1 and re-keys D2's rows: several commits

    [orders] = materialization_metadata(result, "gold__fact_orders")
    assert orders["dagster/row_count"] == orders["lines_inserted"] + orders["lines_updated"] > 0
    assert orders["rows_rekeyed"] == 2
    [activity] = materialization_metadata(result, "gold__fact_customer_activity")
    in_d1 = [row for row in lake.rows(FACT_CUSTOMER_ACTIVITY_KEY) if D1 in row]
    assert activity["dagster/row_count"] == len(in_d1) > 0
    assert activity["rows_rekeyed"] == 1
    for key, metadata in zip(facts, (orders, activity), strict=True):
        # two commits, both counted: the upsert (orders) or the IO manager's write (activity), and the re-key
        assert metadata["delta_version"] == before[key] + 2
        committed = committed_bytes(lake.uri(key), before[key], metadata["delta_version"])
        assert metadata["bytes_written"] == committed > 0
        assert isinstance(metadata["duration_seconds"], float) and 0 < metadata["duration_seconds"] < 300


def test_missing_dimension_fails_with_its_name(lake):
    shutil.rmtree(lake.uri(DIMENSION_KEYS[1]))
    result = materialize(lake, partition=D2.isoformat(), raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure and e.step_key == "gold__fact_orders")
    assert "gold/dim_product does not exist" in failure.event_specific_data.error.message


def test_empty_days_write_empty_partitions(lake):
    empty_day = (D3 + timedelta(days=5)).isoformat()
    result = materialize(lake, partition=empty_day)
    assert all(check_outcomes(result).values())
    assert fact_tables(lake) == ([], [])
    assert DeltaTable(lake.uri(FACT_ORDERS_KEY)).schema().fields[-1].name == "_run_date"
