"""gold/dim_date: the calendar (``lakehouse.gold.calendar``) and the asset that overwrites its table."""

from datetime import date

import dagster as dg

from lakehouse.gold.calendar import DIM_DATE_COLUMNS, calendar, calendar_range
from lakehouse.gold.checks import SURROGATE_KEY_UNIQUE, UNKNOWN_MEMBER_EXISTS
from lakehouse.gold.dim_date import dim_date_asset
from lakehouse.gold.tables import DIM_DATE
from lakehouse_tests.support import lake_resources
from lakehouse_tests.test_observability.support import committed_bytes, materialization_metadata


def test_calendar_spans_a_year_before_to_five_years_after_the_partitions_start():
    assert calendar_range(date(2026, 1, 1)) == (date(2025, 1, 1), date(2031, 1, 1))
    assert calendar_range(date(2028, 2, 29)) == (date(2027, 2, 28), date(2033, 2, 28))


def test_calendar_days_iso_weeks_names_and_the_unknown_member(spark):
    rows = {
        r["date_key"]: r.asDict() for r in calendar(spark, date(2025, 12, 28), date(2027, 1, 5)).collect()
    }
    assert len(rows) == (date(2027, 1, 5) - date(2025, 12, 28)).days + 1
    assert rows[20260104] == {
        "date_key": 20260104,
        "date": date(2026, 1, 4),
        "day_of_week": 7,
        "day_name": "Sunday",
        "day_of_month": 4,
        "week_of_year": 1,
        "month": 1,
        "month_name": "January",
        "quarter": 1,
        "year": 2026,
        "is_weekend": True,
    }
    assert (rows[20260105]["day_of_week"], rows[20260105]["day_name"], rows[20260105]["is_weekend"]) == (
        1,
        "Monday",
        False,
    )
    assert rows[20251229]["week_of_year"] == 1  # ISO: the week of 2026-01-01 (a Thursday)
    assert rows[20270101]["week_of_year"] == 53
    assert rows[20261001]["quarter"] == 4
    assert rows[0] == {name: None for name, _ in DIM_DATE_COLUMNS} | {
        "date_key": 0,
        "day_name": "unknown",
        "month_name": "unknown",
    }


def test_dim_date_asset_overwrites_its_table_and_passes_its_checks(engine, tmp_path):
    resources = lake_resources(engine, tmp_path / "lake")
    lake = resources["lake"]
    uri = lake.table(DIM_DATE)
    for _ in range(2):  # a second run replaces the table, it does not add to it
        before = lake.version(uri)
        result = dg.materialize([dim_date_asset()], resources=resources)
        assert result.success
        [metadata] = materialization_metadata(result, "gold__dim_date")
        assert metadata["bytes_written"] == committed_bytes(uri, before, metadata["delta_version"]) > 0
        assert isinstance(metadata["duration_seconds"], float) and metadata["duration_seconds"] > 0
    table = lake.open(uri).to_pyarrow_table()
    assert metadata["dagster/row_count"] == table.num_rows
    assert metadata["write_mode"] == "overwrite"
    assert (metadata["first_day"], metadata["last_day"]) == ("2025-01-01", "2030-12-31")
    assert table.num_rows == (date(2031, 1, 1) - date(2025, 1, 1)).days + 1
    assert [(f.name, str(f.type)) for f in table.schema][:2] == [
        ("date_key", "int32"),
        ("date", "date32[day]"),
    ]
    assert {e.check_name: e.passed for e in result.get_asset_check_evaluations()} == {
        UNKNOWN_MEMBER_EXISTS: True,
        SURROGATE_KEY_UNIQUE: True,
    }
