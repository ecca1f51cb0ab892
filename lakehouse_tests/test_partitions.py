"""The partitions' first day is configuration: every partitioned asset and job starts there."""

from datetime import date

import pytest

from lakehouse.bronze.definitions import bronze_definitions
from lakehouse.gold.calendar import calendar_range
from lakehouse.orchestration.jobs import bronze_ingestion_job, lakehouse_daily_job
from lakehouse.partitions import daily_partitions
from lakehouse.settings import DEFAULT_FIRST_PARTITION, FIRST_PARTITION_ENV_VAR


def test_the_local_default_is_the_generators_first_day(monkeypatch):
    monkeypatch.delenv(FIRST_PARTITION_ENV_VAR, raising=False)
    assert daily_partitions().start.date() == DEFAULT_FIRST_PARTITION == date(2026, 1, 1)


def test_a_source_with_older_history_starts_the_partitions_earlier(monkeypatch):
    monkeypatch.setenv(FIRST_PARTITION_ENV_VAR, "2025-06-01")
    partitions = daily_partitions()
    assert partitions.get_first_partition_key() == "2025-06-01"
    assert partitions is daily_partitions()  # one object, shared by every asset and job
    assets = bronze_definitions().assets
    assert {asset.partitions_def.get_first_partition_key() for asset in assets} == {"2025-06-01"}
    for job in (lakehouse_daily_job(), bronze_ingestion_job("orders")):
        assert job.partitions_def.get_first_partition_key() == "2025-06-01"
    assert calendar_range(partitions.start.date())[0] == date(2024, 6, 1)


def test_a_first_partition_that_is_not_a_date_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(FIRST_PARTITION_ENV_VAR, "June 2025")
    with pytest.raises(ValueError, match=r"^LAKEHOUSE_FIRST_PARTITION='June 2025' is not a date YYYY-MM-DD$"):
        daily_partitions()
