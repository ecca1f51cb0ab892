"""gold/dim_customer on real Delta tables: every SCD2 case through the run's one MERGE, then the Dagster
asset over a window of silver partitions, its metadata and its blocking checks."""

from datetime import datetime
from pathlib import Path

import dagster as dg
import pytest
from pyspark.sql import functions as F

from lakehouse.gold import scd2
from lakehouse.gold.checks import (
    ONE_CURRENT_ROW_PER_CUSTOMER,
    UNKNOWN_MEMBER_EXISTS,
    VALIDITY_INTERVALS_DO_NOT_OVERLAP,
)
from lakehouse.gold.dim_customer import dim_customer_asset
from lakehouse.gold.tables import DIM_CUSTOMER, SILVER_CUSTOMERS
from lakehouse.partitions import daily_partitions
from lakehouse_tests.support import lake_resources
from lakehouse_tests.test_gold.support import (
    OPEN_END,
    CustomerLake,
    at,
    day,
    silver_frame,
    silver_row,
)


@pytest.fixture
def lake(spark, tmp_path) -> CustomerLake:
    return CustomerLake(spark, tmp_path / "lake")


JAN1, JAN2, JAN3, JAN4 = (f"2026-01-0{d}" for d in range(1, 5))


# --------------------------------------------------------------------------------- one MERGE per case


def test_new_customer_is_inserted_with_the_unknown_member(lake):
    outcome = lake.apply([silver_row(1, f"{JAN1} 10:00:00")])
    assert lake.history() == [(1, "consumer", "p1", at(f"{JAN1} 10:00:00"), OPEN_END, True, False, day(JAN1))]
    unknown = [r for r in lake.rows() if r["customer_key"] == 0]
    assert [(r["customer_id"], r["is_current"]) for r in unknown] == [(-1, True)]
    assert (outcome.inserted, outcome.updated, outcome.deleted, outcome.rows) == (2, 0, 0, 2)
    assert outcome.committed and outcome.version == 1  # version 0 created the empty table: one MERGE after it


def test_tracked_change_closes_the_old_version_and_opens_a_new_one(lake):
    lake.apply([silver_row(1, f"{JAN1} 10:00:00")])
    outcome = lake.apply([silver_row(1, f"{JAN2} 09:00:00", loyalty_tier="gold")])
    assert lake.history() == [
        (1, "consumer", "p1", at(f"{JAN1} 10:00:00"), at(f"{JAN2} 09:00:00"), False, False, day(JAN2)),
        (1, "consumer", "p1", at(f"{JAN2} 09:00:00"), OPEN_END, True, False, day(JAN2)),
    ]
    assert (outcome.inserted, outcome.updated, outcome.deleted) == (1, 1, 0)
    tiers = [
        r["loyalty_tier"] for r in sorted(lake.rows(), key=lambda r: r["valid_from"]) if r["customer_id"] == 1
    ]
    assert tiers == ["none", "gold"]


def test_untracked_change_updates_the_current_version_in_place(lake):
    lake.apply([silver_row(1, f"{JAN1} 10:00:00")])
    key_before = {r["customer_id"]: r["customer_key"] for r in lake.rows()}[1]
    outcome = lake.apply([silver_row(1, f"{JAN2} 09:00:00", phone_hash="p2", last_name_hash="l2")])
    assert lake.history() == [(1, "consumer", "p2", at(f"{JAN1} 10:00:00"), OPEN_END, True, False, day(JAN2))]
    (row,) = [r for r in lake.rows() if r["customer_id"] == 1]
    assert (row["customer_key"], row["last_name_hash"]) == (key_before, "l2")
    assert (outcome.inserted, outcome.updated, outcome.deleted) == (0, 1, 0)


def test_unchanged_customer_gets_no_new_version_and_identical_content(lake):
    lake.apply([silver_row(1, f"{JAN1} 10:00:00"), silver_row(2, f"{JAN1} 11:00:00")])
    before = lake.rows()
    outcome = lake.apply([silver_row(1, f"{JAN2} 10:00:00")])  # same attributes, a later change time
    assert lake.rows() == before
    assert (outcome.inserted, outcome.updated, outcome.deleted) == (0, 0, 0)


def test_several_changes_of_one_key_in_one_window_become_one_version_each_in_order(lake):
    outcome = lake.apply(
        [
            silver_row(1, f"{JAN1} 10:00:00"),
            silver_row(1, f"{JAN2} 10:00:00", segment="small_business"),
            silver_row(1, f"{JAN3} 10:00:00", segment="enterprise"),
        ]
    )
    assert lake.history() == [
        (1, "consumer", "p1", at(f"{JAN1} 10:00:00"), at(f"{JAN2} 10:00:00"), False, False, day(JAN2)),
        (1, "small_business", "p1", at(f"{JAN2} 10:00:00"), at(f"{JAN3} 10:00:00"), False, False, day(JAN3)),
        (1, "enterprise", "p1", at(f"{JAN3} 10:00:00"), OPEN_END, True, False, day(JAN3)),
    ]
    assert outcome.inserted == 4  # three versions and the unknown member, in the window's one MERGE


def test_late_out_of_order_change_is_inserted_at_its_place(lake):
    lake.apply([silver_row(1, f"{JAN1} 10:00:00")])
    lake.apply([silver_row(1, f"{JAN3} 10:00:00", city="Hamburg")])
    lake.apply([silver_row(1, f"{JAN4} 10:00:00", city="Hamburg", phone_hash="p2")])
    # Jan 2 arrives last (a late commit re-runs its partition): it splits [Jan 1, Jan 3).
    outcome = lake.apply([silver_row(1, f"{JAN2} 10:00:00", segment="enterprise")])
    history = lake.history()
    assert history == [
        (1, "consumer", "p1", at(f"{JAN1} 10:00:00"), at(f"{JAN2} 10:00:00"), False, False, day(JAN2)),
        (1, "enterprise", "p1", at(f"{JAN2} 10:00:00"), at(f"{JAN3} 10:00:00"), False, False, day(JAN3)),
        (1, "consumer", "p2", at(f"{JAN3} 10:00:00"), OPEN_END, True, False, day(JAN4)),
    ]
    cities = [r["city"] for r in sorted(lake.rows(), key=lambda r: r["valid_from"]) if r["customer_id"] == 1]
    assert cities == ["Berlin", "Berlin", "Hamburg"]
    assert (outcome.inserted, outcome.updated, outcome.deleted) == (1, 1, 0)
    for earlier, later in zip(history, history[1:]):
        assert earlier[4] == later[3]  # contiguous, never overlapping


def test_soft_delete_closes_and_flags_the_current_version(lake):
    lake.apply([silver_row(1, f"{JAN1} 10:00:00"), silver_row(2, f"{JAN1} 10:00:00")])
    outcome = lake.apply([silver_row(1, f"{JAN2} 17:45:00", is_deleted=True)])
    assert lake.history() == [
        (1, "consumer", "p1", at(f"{JAN1} 10:00:00"), at(f"{JAN2} 17:45:00"), True, True, day(JAN2)),
        (2, "consumer", "p1", at(f"{JAN1} 10:00:00"), OPEN_END, True, False, day(JAN1)),
    ]
    assert (outcome.inserted, outcome.updated, outcome.deleted) == (0, 1, 0)


def test_same_batch_applied_again_changes_nothing(lake):
    batch = [
        silver_row(1, f"{JAN1} 10:00:00"),
        silver_row(1, f"{JAN2} 10:00:00", segment="enterprise"),
        silver_row(2, f"{JAN2} 12:00:00", is_deleted=True),
    ]
    lake.apply(batch)
    before, version = lake.rows(), lake.version()
    again = lake.apply(batch)
    assert lake.rows() == before
    assert (again.inserted, again.updated, again.deleted) == (0, 0, 0)
    assert again.version in (version, version + 1)  # the silver rewrite is the only thing that changed


def test_days_applied_out_of_order_converge_to_the_in_order_table(spark, tmp_path):
    days = {
        JAN1: [silver_row(1, f"{JAN1} 10:00:00"), silver_row(2, f"{JAN1} 10:00:00")],
        JAN2: [
            silver_row(1, f"{JAN2} 10:00:00", segment="enterprise"),
            silver_row(2, f"{JAN2} 10:00:00", phone_hash="p2"),
        ],
        JAN3: [
            silver_row(1, f"{JAN3} 10:00:00", segment="enterprise"),
            silver_row(2, f"{JAN3} 10:00:00", is_deleted=True),
        ],
        JAN4: [silver_row(1, f"{JAN4} 10:00:00", loyalty_tier="silver"), silver_row(3, f"{JAN4} 10:00:00")],
    }
    tables = []
    for name, order in (("in_order", [JAN1, JAN2, JAN3, JAN4]), ("backwards", [JAN4, JAN3, JAN2, JAN1])):
        lake = CustomerLake(spark, tmp_path / name)
        for d in order:
            lake.apply(days[d])
        tables.append(lake.rows())
    assert tables[0] == tables[1]


def test_rerunning_a_window_repairs_the_customers_it_touches(lake, spark):
    lake.apply([silver_row(1, f"{JAN1} 10:00:00")])
    bogus = silver_frame(spark, [silver_row(1, f"{JAN1} 12:00:00", segment="enterprise")])
    scd2.customer_versions(bogus).write.format("delta").mode("append").save(
        lake.dim_uri
    )  # overlaps, two current
    lake.apply([silver_row(1, f"{JAN1} 10:00:00")])
    assert lake.history() == [(1, "consumer", "p1", at(f"{JAN1} 10:00:00"), OPEN_END, True, False, day(JAN1))]


# ------------------------------------------------------------------------------- the Dagster asset


def _materialize(engine, lake_root: Path, first: str, last: str, **kwargs) -> dg.ExecuteInProcessResult:
    silver = dg.AssetSpec(SILVER_CUSTOMERS, partitions_def=daily_partitions())
    return dg.materialize(
        [dim_customer_asset(), silver],
        selection=[DIM_CUSTOMER],
        resources=lake_resources(engine, lake_root),
        tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last},
        **kwargs,
    )


def test_asset_merges_exactly_its_window_of_silver_partitions(engine, spark, tmp_path):
    lake = CustomerLake(spark, tmp_path / "lake")
    lake.write_silver(
        [
            silver_row(1, f"{JAN1} 10:00:00"),
            silver_row(1, f"{JAN2} 10:00:00", segment="enterprise"),
            silver_row(2, f"{JAN3} 10:00:00"),  # outside the window
        ]
    )
    result = _materialize(engine, tmp_path / "lake", JAN1, JAN2)
    assert result.success
    assert [r[0] for r in lake.history()] == [1, 1]

    materializations = result.asset_materializations_for_node("gold__dim_customer")
    assert sorted(m.partition for m in materializations) == [JAN1, JAN2]  # one per day of the window
    metadata = {key: value.value for key, value in materializations[0].metadata.items()}
    assert metadata["dagster/row_count"] == 3
    assert metadata["delta_version"] == lake.version() == 1
    assert (metadata["rows_inserted"], metadata["rows_updated"], metadata["rows_deleted"]) == (3, 0, 0)
    assert metadata["partitions_merged"] == [JAN1, JAN2]
    assert metadata["keys_in_window"] == 1
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {
        VALIDITY_INTERVALS_DO_NOT_OVERLAP: True,
        ONE_CURRENT_ROW_PER_CUSTOMER: True,
        UNKNOWN_MEMBER_EXISTS: True,
        "surrogate_key_unique": True,
    }

    before = lake.rows()
    assert _materialize(engine, tmp_path / "lake", JAN1, JAN2).success  # the same window again
    assert lake.rows() == before


def test_blocking_checks_fail_the_run_on_a_broken_history(engine, spark, tmp_path):
    lake = CustomerLake(spark, tmp_path / "lake")
    lake.write_silver([silver_row(1, f"{JAN1} 10:00:00")])
    assert _materialize(engine, tmp_path / "lake", JAN1, JAN1).success
    broken = silver_frame(
        spark, [silver_row(9, f"{JAN1} 10:00:00"), silver_row(9, f"{JAN1} 12:00:00", segment="enterprise")]
    )
    # Two open versions of customer 9, written behind the asset's back; the window does not touch 9.
    scd2.customer_versions(broken).withColumn("is_current", F.lit(True)).withColumn(
        "valid_to", F.lit(datetime(9999, 12, 31)).cast("timestamp_ntz")
    ).write.format("delta").mode("append").save(lake.dim_uri)
    spark.sql(f"DELETE FROM delta.`{lake.dim_uri}` WHERE customer_key = 0")

    result = _materialize(engine, tmp_path / "lake", JAN1, JAN1, raise_on_error=False)
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not checks[VALIDITY_INTERVALS_DO_NOT_OVERLAP].passed
    assert checks[VALIDITY_INTERVALS_DO_NOT_OVERLAP].metadata["example_customer_ids"].value == [9]
    assert not checks[ONE_CURRENT_ROW_PER_CUSTOMER].passed
    assert checks[UNKNOWN_MEMBER_EXISTS].passed  # the run put the unknown member back
    assert all(e.severity == dg.AssetCheckSeverity.ERROR for e in checks.values())
    assert not result.success  # blocking: the step fails, so nothing downstream runs
