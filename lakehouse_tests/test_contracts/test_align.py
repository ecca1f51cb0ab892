"""align_to_schema: names, order, types, and each schema-evolution policy."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import pytest

from lakehouse.contracts import (
    NEW_COLUMN_RULE_ID,
    SchemaEvolutionError,
    TypeChange,
    align_to_schema,
    validate_and_quarantine,
)
from lakehouse_tests.test_contracts.builders import column, make_contract

COLUMNS = [
    column("id", "bigint", nullable=False),
    column("name", "string"),
    column("amount", "decimal(12,2)"),
    column("created_at", "timestamp_ntz", source_type="string"),
    column("updated_at", "timestamp_ntz", nullable=False),
]
SOURCE_SCHEMA = "ID bigint, NAME string, AMOUNT decimal(12,2), CREATED_AT string, UPDATED_AT timestamp"
T0 = datetime(2026, 1, 1, 12, 0, 0, 123456)
ROWS = [
    (1, "a", Decimal("1.50"), "2025-06-01 08:00:00", T0),
    (2, None, None, None, T0),
]


def _contract(**policies):
    return make_contract(COLUMNS, **policies)


def _types(df) -> dict[str, str]:
    return {f.name: f.dataType.simpleString() for f in df.schema.fields}


def _reasons(quarantine) -> list[list[tuple[str, str]]]:
    rows = sorted(quarantine.collect(), key=lambda r: r["_original_payload"])
    return [[(r.rule_id, r.column) for r in row["_error_reasons"]] for row in rows]


def test_renames_casts_orders_and_keeps_metadata(spark):
    df = spark.createDataFrame(
        [(T0, "2025-06-01 08:00:00", "b1", Decimal("1.50"), "a", 1)],
        "UPDATED_AT timestamp, CREATED_AT string, _batch_id string, AMOUNT decimal(12,2), Name string, id bigint",
    )
    frame, report = align_to_schema(df, _contract())
    assert frame.columns == [
        "id", "name", "amount", "created_at", "updated_at", "_batch_id", "_original_payload", "_alignment_errors",
    ]  # fmt: skip
    assert _types(frame) == {
        "id": "bigint",
        "name": "string",
        "amount": "decimal(12,2)",
        "created_at": "timestamp_ntz",
        "updated_at": "timestamp_ntz",
        "_batch_id": "string",
        "_original_payload": "string",
        "_alignment_errors": "array<struct<rule_id:string,column:string,message:string>>",
    }
    row = frame.first()
    assert row["created_at"] == datetime(2025, 6, 1, 8)
    assert row["updated_at"] == T0
    assert row["_alignment_errors"] == []
    # The payload is the row as received: source names, text values, metadata excluded.
    assert json.loads(row["_original_payload"]) == {
        "UPDATED_AT": "2026-01-01 12:00:00.123456",
        "CREATED_AT": "2025-06-01 08:00:00",
        "AMOUNT": "1.50",
        "Name": "a",
        "id": "1",
    }
    # Expected conversions (text source, timestamp -> timestamp_ntz in a UTC session) are not changes.
    assert not report.schema_changed
    assert report.cast_columns == ("created_at", "updated_at")


def test_new_column_evolve_keeps_and_reports_it(spark):
    df = spark.createDataFrame([(*ROWS[0], 7)], f"{SOURCE_SCHEMA}, LOYALTY_POINTS int")
    aligned = align_to_schema(df, _contract(new_column="evolve"))
    assert aligned.report.new_columns == ("loyalty_points",)
    assert aligned.report.evolved_columns == ("loyalty_points",)
    valid, quarantine = validate_and_quarantine(aligned, _contract(new_column="evolve"))
    assert valid.columns[-1] == "loyalty_points"
    assert valid.first()["loyalty_points"] == 7
    assert quarantine.count() == 0


def test_new_column_quarantine_holds_back_the_whole_batch(spark):
    contract = _contract(new_column="quarantine")
    df = spark.createDataFrame([(*row, 7) for row in ROWS], f"{SOURCE_SCHEMA}, LOYALTY_POINTS int")
    aligned = align_to_schema(df, contract)
    assert aligned.report.new_columns == ("loyalty_points",)
    assert aligned.report.evolved_columns == ()
    valid, quarantine = validate_and_quarantine(aligned, contract)
    assert valid.count() == 0
    assert _reasons(quarantine) == [[(NEW_COLUMN_RULE_ID, "loyalty_points")]] * 2
    # Nothing is lost: the new column's values are in the payload, ready for a replay.
    assert all(json.loads(r["_original_payload"])["LOYALTY_POINTS"] == "7" for r in quarantine.collect())


def test_new_column_fail_raises_naming_table_and_column(spark):
    df = spark.createDataFrame([(*ROWS[0], 7)], f"{SOURCE_SCHEMA}, LOYALTY_POINTS int")
    with pytest.raises(SchemaEvolutionError, match=r"bronze\.things: new column\(s\) \['loyalty_points'\]"):
        align_to_schema(df, _contract(new_column="fail"))


def test_missing_nullable_column_is_filled_with_null(spark):
    df = spark.createDataFrame(
        [(1, "a", "2025-06-01 08:00:00", T0)],
        "ID bigint, NAME string, CREATED_AT string, UPDATED_AT timestamp",
    )
    frame, report = align_to_schema(df, _contract(missing_column="fill_null"))
    assert report.filled_columns == ("amount",)
    assert _types(frame)["amount"] == "decimal(12,2)"
    assert frame.first()["amount"] is None


def test_missing_required_column_raises_even_when_filling(spark):
    df = spark.createDataFrame([("a", T0)], "NAME string, UPDATED_AT timestamp")
    with pytest.raises(SchemaEvolutionError, match=r"bronze\.things: required column 'id' is missing"):
        align_to_schema(df, _contract(missing_column="fill_null"))


def test_missing_column_fail_raises(spark):
    df = spark.createDataFrame(
        [(1, "a", "2025-06-01 08:00:00", T0)],
        "ID bigint, NAME string, CREATED_AT string, UPDATED_AT timestamp",
    )
    with pytest.raises(
        SchemaEvolutionError,
        match=r"bronze\.things: column 'amount' is missing \(missing_column policy: fail\)",
    ):
        align_to_schema(df, _contract(missing_column="fail"))


def test_type_change_cast_or_quarantine(spark):
    contract = _contract(type_change="cast_or_quarantine")
    df = spark.createDataFrame(
        [(1, "12.50", T0), (2, "twelve", T0), (3, None, T0)], "ID bigint, AMOUNT string, UPDATED_AT timestamp"
    )
    aligned = align_to_schema(df, contract)
    assert aligned.report.type_changes == (TypeChange("amount", "decimal(12,2)", "string"),)
    valid, quarantine = validate_and_quarantine(aligned, contract)
    assert sorted((r["id"], r["amount"]) for r in valid.collect()) == [(1, Decimal("12.50")), (3, None)]
    (row,) = quarantine.collect()
    assert [(r.rule_id, r.column) for r in row["_error_reasons"]] == [("amount_type", "amount")]
    # The unparsable value is not a silent NULL: it is kept, as it came.
    assert json.loads(row["_original_payload"])["AMOUNT"] == "twelve"


def test_type_change_fail_raises_naming_table_column_and_types(spark):
    df = spark.createDataFrame([(1, "12.50", T0)], "ID bigint, AMOUNT string, UPDATED_AT timestamp")
    with pytest.raises(
        SchemaEvolutionError,
        match=r"bronze\.things: column 'amount' arrived as string, contract type is decimal\(12,2\)",
    ):
        align_to_schema(df, _contract(type_change="fail"))


def test_expected_text_source_is_not_a_change_but_bad_text_is_quarantined(spark):
    contract = _contract(type_change="fail")
    df = spark.createDataFrame(
        [(1, "2025-06-01 08:00:00", T0), (2, "2025-13-45 25:61:00", T0)],
        "ID bigint, CREATED_AT string, UPDATED_AT timestamp",
    )
    aligned = align_to_schema(df, contract)
    assert aligned.report.type_changes == ()
    valid, quarantine = validate_and_quarantine(aligned, contract)
    assert [r["id"] for r in valid.collect()] == [1]
    assert _reasons(quarantine) == [[("created_at_type", "created_at")]]


def test_lossless_widening_is_not_a_change(spark):
    contract = _contract(type_change="fail")
    df = spark.createDataFrame(
        [(1, Decimal("1.5"), T0)], "ID int, AMOUNT decimal(5,1), UPDATED_AT timestamp_ntz"
    )
    frame, report = align_to_schema(df, contract)
    assert report.type_changes == ()
    assert _types(frame)["id"] == "bigint"
    assert frame.first()["amount"] == Decimal("1.50")


def test_column_that_cannot_be_cast_raises(spark):
    df = spark.createDataFrame([([1, 2], T0)], "ID array<bigint>, UPDATED_AT timestamp")
    with pytest.raises(
        SchemaEvolutionError, match=r"column 'id' of type array<bigint> cannot be cast to bigint"
    ):
        align_to_schema(df, _contract())


def test_ambiguous_and_reserved_input_columns_raise(spark):
    twice = spark.createDataFrame(
        [(1, 2, T0)], "id bigint, ID2 bigint, UPDATED_AT timestamp"
    ).withColumnRenamed("ID2", "Id")
    with pytest.raises(SchemaEvolutionError, match="differ only in case"):
        align_to_schema(twice, _contract())
    reserved = spark.createDataFrame([(1, "x", T0)], "ID bigint, _error_reasons string, UPDATED_AT timestamp")
    with pytest.raises(SchemaEvolutionError, match="reserved column"):
        align_to_schema(reserved, _contract())
