"""The SCD2 rules of dim_customer as pure DataFrame logic (``lakehouse.gold.scd2``), on small frames."""

from datetime import datetime

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakehouse.gold import scd2
from lakehouse_tests.test_gold.support import (
    BASE_ATTRIBUTES,
    OPEN_END,
    at,
    day,
    silver_frame,
    silver_row,
    summary,
)


def versions_of(spark: SparkSession, rows: list[tuple]) -> list[tuple]:
    return summary(scd2.customer_versions(silver_frame(spark, rows)).collect())


# ----------------------------------------------------------------------------------------- the rules


def test_new_customer_opens_one_current_open_version(spark):
    rows = scd2.customer_versions(silver_frame(spark, [silver_row(7, "2026-01-01 10:00:00")])).collect()
    assert summary(rows) == [
        (7, "consumer", "p1", at("2026-01-01 10:00:00"), OPEN_END, True, False, day("2026-01-01"))
    ]
    (row,) = rows
    assert list(row.asDict()) == [name for name, _ in scd2.DIM_CUSTOMER_COLUMNS]
    expected = (
        spark.range(1)
        .select(
            scd2.surrogate_key(
                F.lit(7).cast("bigint"), F.lit("2026-01-01 10:00:00").cast("timestamp_ntz")
            ).alias("k"),
            F.sha2(
                F.concat_ws("\u001f", *[F.lit(BASE_ATTRIBUTES[n]) for n in scd2.TRACKED_ATTRIBUTES]), 256
            ).alias("h"),
        )
        .first()
    )
    assert row["customer_key"] == expected["k"] > 0
    assert row["row_hash"] == expected["h"]


def test_tracked_change_closes_the_version_and_opens_the_next_at_its_time(spark):
    assert versions_of(
        spark,
        [silver_row(1, "2026-01-01 10:00:00"), silver_row(1, "2026-01-02 08:30:00", segment="enterprise")],
    ) == [
        (
            1,
            "consumer",
            "p1",
            at("2026-01-01 10:00:00"),
            at("2026-01-02 08:30:00"),
            False,
            False,
            day("2026-01-02"),
        ),
        (1, "enterprise", "p1", at("2026-01-02 08:30:00"), OPEN_END, True, False, day("2026-01-02")),
    ]


def test_untracked_change_updates_the_version_in_place(spark):
    assert versions_of(
        spark, [silver_row(1, "2026-01-01 10:00:00"), silver_row(1, "2026-01-02 10:00:00", phone_hash="p2")]
    ) == [
        (1, "consumer", "p2", at("2026-01-01 10:00:00"), OPEN_END, True, False, day("2026-01-02")),
    ]


def test_identical_row_changes_nothing_not_even_the_run_date(spark):
    assert versions_of(
        spark, [silver_row(1, "2026-01-01 10:00:00"), silver_row(1, "2026-01-03 10:00:00")]
    ) == [
        (1, "consumer", "p1", at("2026-01-01 10:00:00"), OPEN_END, True, False, day("2026-01-01")),
    ]


def test_several_changes_of_one_key_become_one_version_each_in_order(spark):
    rows = [
        silver_row(1, "2026-01-01 10:00:00"),
        silver_row(1, "2026-01-02 10:00:00", segment="enterprise"),
        silver_row(1, "2026-01-03 10:00:00", segment="enterprise", phone_hash="p2"),  # untracked only
        silver_row(1, "2026-01-04 10:00:00", segment="consumer", phone_hash="p2"),  # back to the first value
    ]
    assert versions_of(spark, rows) == [
        (
            1,
            "consumer",
            "p1",
            at("2026-01-01 10:00:00"),
            at("2026-01-02 10:00:00"),
            False,
            False,
            day("2026-01-02"),
        ),
        (
            1,
            "enterprise",
            "p2",
            at("2026-01-02 10:00:00"),
            at("2026-01-04 10:00:00"),
            False,
            False,
            day("2026-01-04"),
        ),
        (1, "consumer", "p2", at("2026-01-04 10:00:00"), OPEN_END, True, False, day("2026-01-04")),
    ]


def test_several_changes_of_one_key_within_one_day_become_one_version_each(spark):
    rows = [
        silver_row(1, "2026-01-01 00:06:00"),
        silver_row(1, "2026-01-01 06:05:00", segment="enterprise"),
        silver_row(1, "2026-01-01 14:00:00", segment="enterprise", phone_hash="p2"),  # untracked only
        silver_row(1, "2026-01-01 20:30:00", segment="small_business", phone_hash="p2"),
        silver_row(1, "2026-01-01 20:30:00", segment="small_business", phone_hash="p2"),  # a redelivery
    ]
    jan1 = day("2026-01-01")
    assert versions_of(spark, rows) == [
        (1, "consumer", "p1", at("2026-01-01 00:06:00"), at("2026-01-01 06:05:00"), False, False, jan1),
        (1, "enterprise", "p2", at("2026-01-01 06:05:00"), at("2026-01-01 20:30:00"), False, False, jan1),
        (1, "small_business", "p2", at("2026-01-01 20:30:00"), OPEN_END, True, False, jan1),
    ]


def test_late_change_splits_the_interval_it_falls_into(spark):
    on_time = [
        silver_row(1, "2026-01-01 10:00:00"),
        silver_row(1, "2026-01-05 10:00:00", segment="enterprise"),
    ]
    late = silver_row(1, "2026-01-03 10:00:00", loyalty_tier="gold")
    assert versions_of(spark, [*on_time, late]) == [
        (
            1,
            "consumer",
            "p1",
            at("2026-01-01 10:00:00"),
            at("2026-01-03 10:00:00"),
            False,
            False,
            day("2026-01-03"),
        ),
        (
            1,
            "consumer",
            "p1",
            at("2026-01-03 10:00:00"),
            at("2026-01-05 10:00:00"),
            False,
            False,
            day("2026-01-05"),
        ),
        (1, "enterprise", "p1", at("2026-01-05 10:00:00"), OPEN_END, True, False, day("2026-01-05")),
    ]


def test_late_tracked_change_ends_at_a_later_row_the_dimension_had_absorbed(spark):
    """The reason history is rebuilt from silver: the untracked change at t2 opened no version, yet the
    late change at t must end there, and the customer's current state is the t2 row."""
    rows = [
        silver_row(1, "2026-01-01 10:00:00"),
        silver_row(1, "2026-01-03 10:00:00", phone_hash="p2"),
        silver_row(1, "2026-01-02 10:00:00", segment="enterprise"),  # arrives last
    ]
    assert versions_of(spark, rows) == [
        (
            1,
            "consumer",
            "p1",
            at("2026-01-01 10:00:00"),
            at("2026-01-02 10:00:00"),
            False,
            False,
            day("2026-01-02"),
        ),
        (
            1,
            "enterprise",
            "p1",
            at("2026-01-02 10:00:00"),
            at("2026-01-03 10:00:00"),
            False,
            False,
            day("2026-01-03"),
        ),
        (1, "consumer", "p2", at("2026-01-03 10:00:00"), OPEN_END, True, False, day("2026-01-03")),
    ]


def test_late_row_equal_to_the_version_after_it_moves_that_version_s_start(spark):
    rows = [
        silver_row(1, "2026-01-01 10:00:00"),
        silver_row(1, "2026-01-04 10:00:00", segment="enterprise"),
        silver_row(1, "2026-01-02 10:00:00", segment="enterprise"),  # late: the change happened earlier
    ]
    assert versions_of(spark, rows) == [
        (
            1,
            "consumer",
            "p1",
            at("2026-01-01 10:00:00"),
            at("2026-01-02 10:00:00"),
            False,
            False,
            day("2026-01-02"),
        ),
        (1, "enterprise", "p1", at("2026-01-02 10:00:00"), OPEN_END, True, False, day("2026-01-02")),
    ]


def test_soft_delete_closes_the_current_version_which_stays_current(spark):
    rows = [silver_row(1, "2026-01-01 10:00:00"), silver_row(1, "2026-01-02 11:00:00", is_deleted=True)]
    assert versions_of(spark, rows) == [
        (
            1,
            "consumer",
            "p1",
            at("2026-01-01 10:00:00"),
            at("2026-01-02 11:00:00"),
            True,
            True,
            day("2026-01-02"),
        ),
    ]


def test_delete_applies_no_attribute_of_its_own_and_a_second_delete_changes_nothing(spark):
    rows = [
        silver_row(1, "2026-01-01 10:00:00"),
        silver_row(1, "2026-01-02 11:00:00", is_deleted=True, segment="enterprise", phone_hash="p9"),
        silver_row(1, "2026-01-03 11:00:00", is_deleted=True),
    ]
    assert versions_of(spark, rows) == [
        (
            1,
            "consumer",
            "p1",
            at("2026-01-01 10:00:00"),
            at("2026-01-02 11:00:00"),
            True,
            True,
            day("2026-01-02"),
        ),
    ]


def test_row_after_a_delete_reopens_the_customer(spark):
    rows = [
        silver_row(1, "2026-01-01 10:00:00"),
        silver_row(1, "2026-01-02 11:00:00", is_deleted=True),
        silver_row(1, "2026-01-04 09:00:00"),  # same attributes as before the delete: still a new version
    ]
    assert versions_of(spark, rows) == [
        (
            1,
            "consumer",
            "p1",
            at("2026-01-01 10:00:00"),
            at("2026-01-02 11:00:00"),
            False,
            True,
            day("2026-01-02"),
        ),
        (1, "consumer", "p1", at("2026-01-04 09:00:00"), OPEN_END, True, False, day("2026-01-04")),
    ]


def test_customer_first_seen_deleted_gets_one_zero_length_version(spark):
    assert versions_of(
        spark, [silver_row(3, "2026-01-02 11:00:00", is_deleted=True, segment="enterprise")]
    ) == [
        (
            3,
            "enterprise",
            "p1",
            at("2026-01-02 11:00:00"),
            at("2026-01-02 11:00:00"),
            True,
            True,
            day("2026-01-02"),
        ),
    ]


def test_customers_are_independent(spark):
    rows = [silver_row(1, "2026-01-01 10:00:00"), silver_row(2, "2026-01-01 10:00:00", segment="enterprise")]
    assert versions_of(spark, rows) == [
        (1, "consumer", "p1", at("2026-01-01 10:00:00"), OPEN_END, True, False, day("2026-01-01")),
        (2, "enterprise", "p1", at("2026-01-01 10:00:00"), OPEN_END, True, False, day("2026-01-01")),
    ]


def test_history_depends_on_the_set_of_rows_not_their_order(spark):
    rows = [
        silver_row(1, "2026-01-01 10:00:00"),
        silver_row(1, "2026-01-02 10:00:00", segment="enterprise"),
        silver_row(1, "2026-01-03 10:00:00", segment="enterprise", phone_hash="p2"),
        silver_row(1, "2026-01-04 10:00:00", is_deleted=True),
        silver_row(1, "2026-01-05 10:00:00", loyalty_tier="gold"),
    ]
    results = {
        tuple(
            map(
                tuple,
                scd2.customer_versions(silver_frame(spark, list(order))).orderBy("valid_from").collect(),
            )
        )
        for order in (rows, rows[::-1], rows[2:] + rows[:2])
    }
    assert len(results) == 1


def test_a_stale_copy_of_a_row_is_read_once_the_latest_partition_winning(spark):
    row = silver_row(1, "2026-01-01 10:00:00")
    stale = silver_row(1, "2026-01-01 10:00:00", segment="enterprise")[:-1] + (day("2025-12-31"),)
    assert versions_of(spark, [row, stale]) == [
        (1, "consumer", "p1", at("2026-01-01 10:00:00"), OPEN_END, True, False, day("2026-01-01")),
    ]


# ------------------------------------------------------------------------------- the merge source


def test_unknown_member_has_key_zero_and_is_valid_for_all_time(spark):
    (row,) = scd2.unknown_customer(spark).collect()
    assert row.asDict() | {"row_hash": None} == {
        "customer_key": 0,
        "customer_id": -1,
        "email_hash": None,
        "country_code": "ZZ",
        "city": "unknown",
        "segment": "unknown",
        "loyalty_tier": "unknown",
        "first_name_hash": None,
        "last_name_hash": None,
        "phone_hash": None,
        "row_hash": None,
        "valid_from": datetime(1900, 1, 1),
        "valid_to": OPEN_END,
        "is_current": True,
        "is_deleted": False,
        "_run_date": None,
    }
    assert len(row["row_hash"]) == 64
    types = [(f.name, f.dataType.simpleString()) for f in scd2.unknown_customer(spark).schema.fields]
    assert types == list(scd2.DIM_CUSTOMER_COLUMNS)
    versions = scd2.customer_versions(silver_frame(spark, []))
    assert [(f.name, f.dataType.simpleString()) for f in versions.schema.fields] == list(
        scd2.DIM_CUSTOMER_COLUMNS
    )


def test_changes_insert_new_update_different_delete_gone_and_skip_identical(spark):
    existing = scd2.customer_versions(
        silver_frame(spark, [silver_row(1, "2026-01-01 10:00:00"), silver_row(2, "2026-01-01 10:00:00")])
    )
    desired = scd2.customer_versions(
        silver_frame(
            spark,
            [
                silver_row(1, "2026-01-01 10:00:00"),  # identical
                silver_row(2, "2026-01-02 10:00:00", phone_hash="p2"),  # a new key: the old one goes
                silver_row(3, "2026-01-01 10:00:00"),  # new
            ],
        )
    )
    changes = scd2.customer_changes(desired, existing).collect()
    assert sorted((r["customer_id"], r["valid_from"].day, r[scd2.CHANGE_COLUMN]) for r in changes) == [
        (2, 1, scd2.DELETE),
        (2, 2, scd2.INSERT),
        (3, 1, scd2.INSERT),
    ]
    updated = scd2.customer_versions(
        silver_frame(spark, [silver_row(1, "2026-01-01 10:00:00", phone_hash="p3")])
    )
    (update,) = scd2.customer_changes(updated, existing.where("customer_id = 1")).collect()
    assert (update["phone_hash"], update[scd2.CHANGE_COLUMN]) == ("p3", scd2.UPDATE)
    assert scd2.customer_changes(existing, existing).count() == 0


@pytest.mark.parametrize("clause", ["THEN DELETE", "THEN UPDATE SET", "WHEN NOT MATCHED AND"])
def test_merge_statement_uses_only_standard_delta_clauses(clause):
    statement = scd2.merge_statement("/lake/gold/dim_customer", "changes")
    assert statement.startswith(
        "MERGE INTO delta.`/lake/gold/dim_customer` AS target USING `changes` AS source"
    )
    assert clause in statement
    assert "NOT MATCHED BY SOURCE" not in statement
