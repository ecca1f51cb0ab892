"""validate_and_quarantine on small hand-made batches: each rule kind, every reason collected, and the
invariant that every extracted row lands in exactly one lane."""

from __future__ import annotations

import itertools
import json
from datetime import date, datetime
from decimal import Decimal

import pytest

from lakehouse.contracts import MissingReferenceError, align_to_schema, validate_and_quarantine
from lakehouse_tests.test_contracts.builders import column, make_contract

T0 = datetime(2026, 1, 1, 12, 0, 0)
LATER = datetime(2026, 3, 1)


def _reason_ids(quarantine, key: str) -> dict[object, list[str]]:
    """Reasons of each quarantined row, keyed by a payload field."""
    return {
        json.loads(row["_original_payload"]).get(key): [r.rule_id for r in row["_error_reasons"]]
        for row in quarantine.collect()
    }


def test_not_null_only_on_required_columns(spark):
    contract = make_contract(
        [
            column("id", "bigint", nullable=False),
            column("note", "string"),
            column("code", "string", nullable=False),
        ]
    )
    df = spark.createDataFrame(
        [(1, None, "a"), (2, "x", None), (None, None, None)], "id bigint, note string, code string"
    )
    valid, quarantine = validate_and_quarantine(df, contract)
    assert [r["id"] for r in valid.collect()] == [1]
    rows = sorted(quarantine.collect(), key=lambda r: r["_original_payload"])
    assert [[(x.rule_id, x.column) for x in r["_error_reasons"]] for r in rows] == [
        [("code_not_null", "code")],
        [("id_not_null", "id"), ("code_not_null", "code")],
    ]


def test_range_literal_and_column_bounds(spark):
    contract = make_contract(
        [
            column("id", "bigint", nullable=False),
            column("price", "decimal(12,2)"),
            column("day", "date"),
            column("happened_at", "timestamp_ntz"),
            column("updated_at", "timestamp_ntz"),
        ],
        [
            {
                "id": "price_range",
                "kind": "range",
                "column": "price",
                "min": 0,
                "max": 1000.5,
                "message": "price out of range",
            },
            {
                "id": "day_range",
                "kind": "range",
                "column": "day",
                "min": "2020-01-01",
                "message": "too early",
            },
            {
                "id": "not_after_update",
                "kind": "range",
                "column": "happened_at",
                "max_column": "updated_at",
                "message": "after update",
            },
        ],
    )
    rows = [
        (1, Decimal("0.00"), date(2020, 1, 1), T0, T0),  # bounds are inclusive
        (2, Decimal("-0.01"), date(2026, 1, 1), T0, T0),
        (3, Decimal("1000.51"), date(2019, 12, 31), LATER, T0),
        (4, None, None, None, None),  # NULL values and NULL bounds pass: nullness is not_null's business
        (5, Decimal("1000.50"), date(2026, 1, 1), T0, None),
    ]
    df = spark.createDataFrame(
        rows, "id bigint, price decimal(12,2), day date, happened_at timestamp_ntz, updated_at timestamp_ntz"
    )
    valid, quarantine = validate_and_quarantine(df, contract)
    assert sorted(r["id"] for r in valid.collect()) == [1, 4, 5]
    assert _reason_ids(quarantine, "id") == {
        "2": ["price_range"],
        "3": ["price_range", "day_range", "not_after_update"],
    }


def test_enum_and_regex(spark):
    contract = make_contract(
        [column("id", "bigint", nullable=False), column("status", "string"), column("email", "string")],
        [
            {
                "id": "status_allowed",
                "kind": "enum",
                "column": "status",
                "values": ["open", "closed"],
                "message": "bad status",
            },
            {
                "id": "email_format",
                "kind": "regex",
                "column": "email",
                "pattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
                "message": "bad email",
            },
        ],
    )
    rows = [
        (1, "open", "a@b.co"),
        (2, "Open", "a@b.co"),
        (3, "closed", "a @b.co"),
        (4, None, None),
        (5, "lost", "a@b"),
    ]
    valid, quarantine = validate_and_quarantine(
        spark.createDataFrame(rows, "id bigint, status string, email string"), contract
    )
    assert sorted(r["id"] for r in valid.collect()) == [1, 4]
    assert _reason_ids(quarantine, "id") == {
        "2": ["status_allowed"],
        "3": ["email_format"],
        "5": ["status_allowed", "email_format"],
    }


def test_unique_quarantines_conflicts_but_keeps_exact_duplicates(spark):
    contract = make_contract(
        [
            column("id", "bigint", nullable=False),
            column("updated_at", "timestamp_ntz", nullable=False),
            column("city", "string"),
        ],
        [
            {
                "id": "version_unique",
                "kind": "unique",
                "columns": ["id", "updated_at"],
                "message": "conflicting versions",
            }
        ],
        change_column="updated_at",
    )
    rows = [
        (1, T0, "Paris"),
        (1, T0, "Paris"),  # an exact redelivery: kept, silver de-duplicates
        (1, LATER, "Lyon"),  # a second version of the same key: legitimate CDC
        (2, T0, "Rome"),
        (2, T0, "Milan"),  # same key and change time, different content: both quarantined
        (None, T0, "Oslo"),
        (None, T0, "Bergen"),  # NULL keys are not compared (the not-null rule flags them)
    ]
    df = spark.createDataFrame(rows, "id bigint, updated_at timestamp_ntz, city string")
    valid, quarantine = validate_and_quarantine(df, contract)
    assert sorted(r["city"] for r in valid.collect()) == ["Lyon", "Paris", "Paris"]
    assert _reason_ids(quarantine, "city") == {
        "Rome": ["version_unique"],
        "Milan": ["version_unique"],
        "Oslo": ["id_not_null"],
        "Bergen": ["id_not_null"],
    }


FK_CONTRACT_COLUMNS = [column("id", "bigint", nullable=False), column("customer_id", "bigint")]
FK_RULE = {
    "id": "customer_exists",
    "kind": "foreign_key",
    "column": "customer_id",
    "references": {"table": "customers", "column": "customer_id"},
    "message": "unknown customer",
}


def test_foreign_key_against_a_reference_frame(spark):
    contract = make_contract(FK_CONTRACT_COLUMNS, [FK_RULE])
    df = spark.createDataFrame([(1, 10), (2, 99), (3, None), (4, 10)], "id bigint, customer_id bigint")
    # A raw source-shaped reference (upper-case name, duplicates, a NULL, another type) works as is.
    customers = spark.createDataFrame(
        [(Decimal(10),), (Decimal(10),), (Decimal(11),), (None,)], "CUSTOMER_ID decimal(38,0)"
    )
    valid, quarantine = validate_and_quarantine(df, contract, references={"customers": customers})
    assert sorted(r["id"] for r in valid.collect()) == [1, 3, 4]
    assert _reason_ids(quarantine, "id") == {"2": ["customer_exists"]}


def test_foreign_key_without_reference_raises_unless_skipped(spark):
    contract = make_contract(FK_CONTRACT_COLUMNS, [FK_RULE])
    df = spark.createDataFrame([(1, 99)], "id bigint, customer_id bigint")
    with pytest.raises(
        MissingReferenceError, match=r"rule 'customer_exists' needs references\['customers'\]"
    ):
        validate_and_quarantine(df, contract)
    with pytest.raises(MissingReferenceError, match="has no single column 'customer_id'"):
        validate_and_quarantine(
            df, contract, references={"customers": spark.createDataFrame([(1,)], "id bigint")}
        )
    valid, quarantine = validate_and_quarantine(df, contract, skip_rules={"customer_exists"})
    assert (valid.count(), quarantine.count()) == (1, 0)
    with pytest.raises(ValueError, match=r"skip_rules names unknown rule\(s\) \['customer_exist'\]"):
        validate_and_quarantine(df, contract, skip_rules={"customer_exist"})


# --- the lanes partition the batch -------------------------------------------------------------------

LANE_COLUMNS = [
    column("id", "bigint", nullable=False),
    column("code", "string"),
    column("email", "string"),
    column("quantity", "bigint", source_type="string"),
    column("happened_at", "timestamp_ntz"),
    column("updated_at", "timestamp_ntz", nullable=False),
]
LANE_RULES = [
    {"id": "code_allowed", "kind": "enum", "column": "code", "values": ["a", "b"], "message": "bad code"},
    {
        "id": "email_format",
        "kind": "regex",
        "column": "email",
        "pattern": "^[^@]+@[^@]+$",
        "message": "bad email",
    },
    {
        "id": "quantity_positive",
        "kind": "range",
        "column": "quantity",
        "min": 1,
        "message": "quantity below one",
    },
    {
        "id": "not_after_update",
        "kind": "range",
        "column": "happened_at",
        "max_column": "updated_at",
        "message": "late",
    },
    {"id": "version_unique", "kind": "unique", "columns": ["id", "updated_at"], "message": "conflict"},
]
# Per column: (a valid value, an invalid value and the rule it breaks); NULL is the third option.
OPTIONS = {
    "code": ("a", ("z", "code_allowed")),
    "email": ("x@y", ("xy", "email_format")),
    "quantity": ("3", ("three", "quantity_type")),
    "happened_at": (T0, (LATER + (LATER - T0), "not_after_update")),
    "updated_at": (LATER, None),
}
NULL_BREAKS = {"updated_at": "updated_at_not_null"}


def _expected_rows():
    """Every combination of valid / invalid / NULL per column, each with the rules it must break."""
    names = list(OPTIONS)
    for number, choice in enumerate(itertools.product(("valid", "invalid", "null"), repeat=len(names))):
        values, broken = [], []
        for name, pick in zip(names, choice):
            good, bad = OPTIONS[name]
            if pick == "valid" or (pick == "invalid" and bad is None):
                values.append(good)
            elif pick == "invalid":
                values.append(bad[0])
                broken.append(bad[1])
            else:
                values.append(None)
                if name in NULL_BREAKS:
                    broken.append(NULL_BREAKS[name])
        if values[3] is not None and values[4] is None:  # happened_at cannot be after a NULL updated_at
            broken = [rule for rule in broken if rule != "not_after_update"]
        yield (number, *values, str(number)), broken


def test_every_row_lands_in_exactly_one_lane_with_all_its_reasons(spark):
    contract = make_contract(LANE_COLUMNS, LANE_RULES, change_column="updated_at")
    expected = dict(_expected_rows())
    # Rows NULL in every column, metadata included, must land somewhere too (the not-null lane).
    all_null = [(None,) * 7] * 3
    df = spark.createDataFrame(
        [*expected, *all_null],
        "id bigint, code string, email string, quantity string, happened_at timestamp_ntz, "
        "updated_at timestamp_ntz, _batch_id string",
    )
    valid, quarantine = validate_and_quarantine(df, contract)
    valid_rows, quarantine_rows = valid.collect(), quarantine.collect()

    assert len(valid_rows) + len(quarantine_rows) == df.count() == len(expected) + len(all_null)
    valid_ids = [row["_batch_id"] for row in valid_rows]
    quarantined = {
        row["_batch_id"]: [r.rule_id for r in row["_error_reasons"]]
        for row in quarantine_rows
        if row["_batch_id"]
    }
    assert sorted(valid_ids + list(quarantined), key=int) == [str(n) for n in range(len(expected))]
    for values, broken in expected.items():
        assert sorted(quarantined.get(values[-1], [])) == sorted(broken), values
    nulls = [row for row in quarantine_rows if row["_batch_id"] is None]
    assert [[r.rule_id for r in row["_error_reasons"]] for row in nulls] == [
        ["id_not_null", "updated_at_not_null"]
    ] * 3
    assert {row["_original_payload"] for row in nulls} == {"{}"}
    assert valid.columns == [c["name"] for c in LANE_COLUMNS] + ["_batch_id"]
    assert quarantine.columns == ["_batch_id", "_error_reasons", "_original_payload"]


def test_metadata_columns_are_kept_in_both_lanes(spark):
    contract = make_contract([column("id", "bigint", nullable=False)])
    df = spark.createDataFrame(
        [
            (1, "snowflake", "RETAIL.X.Y", T0, "b1", date(2026, 1, 1)),
            (None, "snowflake", "RETAIL.X.Y", T0, "b1", date(2026, 1, 1)),
        ],
        "id bigint, record_source string, record_table string, ingest_timestamp timestamp, _batch_id string, _run_date date",
    )
    metadata = ["record_source", "record_table", "ingest_timestamp", "_batch_id", "_run_date"]
    valid, quarantine = validate_and_quarantine(align_to_schema(df, contract), contract)
    assert valid.columns == ["id", *metadata]
    assert quarantine.columns == [*metadata, "_error_reasons", "_original_payload"]
    assert quarantine.first()["record_table"] == "RETAIL.X.Y"


def test_quarantine_lane_is_storable_in_delta(spark, tmp_path):
    contract = make_contract(FK_CONTRACT_COLUMNS, [FK_RULE])
    df = spark.createDataFrame([(1, 99), (None, None)], "id bigint, customer_id bigint").withColumn(
        "_run_date", _lit_date()
    )
    customers = spark.createDataFrame([(10,)], "customer_id bigint")
    _, quarantine = validate_and_quarantine(df, contract, references={"customers": customers})
    path = str(tmp_path / "quarantine" / "things")
    quarantine.write.format("delta").mode("overwrite").save(path)
    back = spark.read.format("delta").load(path)
    assert back.schema.simpleString() == quarantine.schema.simpleString()
    assert sorted([r.rule_id for r in row["_error_reasons"]] for row in back.collect()) == [
        ["customer_exists"],
        ["id_not_null"],
    ]


def _lit_date():
    from pyspark.sql import functions as F

    return F.lit("2026-01-01").cast("date")
