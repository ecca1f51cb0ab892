"""Gold's gate: a fact whose blocking check fails is put back as it was before the run (the ``MERGE`` of
fact_orders over the whole table, the window's write of fact_customer_activity), its rejected rows readable
at the version the failing check names."""

import pytest
from deltalake import DeltaTable
from pyspark.sql import functions as F

from lakehouse.gold.checks import RECONCILES_WITH_SILVER
from lakehouse.gold.tables import FACT_CUSTOMER_ACTIVITY, FACT_ORDERS
from lakehouse_tests.test_gold.star_cases import D1, D2, DIM_DATE_SCHEMA, calendar_rows
from lakehouse_tests.test_gold.support import FactLake, build_lake, check_outcomes, materialize

FACTS = (FACT_ORDERS, FACT_CUSTOMER_ACTIVITY)


@pytest.fixture
def lake(spark, engine, tmp_path) -> FactLake:
    return build_lake(spark, engine, str(tmp_path / "lake"))


def _rows(uri: str, version: int | None = None) -> list[tuple]:
    table = DeltaTable(uri, version=version).to_pyarrow_table()
    return sorted(tuple(str(value) for value in row.values()) for row in table.to_pylist())


def test_a_failed_check_puts_the_facts_back_as_they_were(lake, spark):
    materialize(lake, partition=D1.isoformat())
    previous = {key: (DeltaTable(lake.uri(key)).version(), _rows(lake.uri(key))) for key in FACTS}
    # One day twice in dim_date: every line and customer day of D2 is written twice, which both
    # reconciliations catch.
    calendar = spark.createDataFrame(calendar_rows(), DIM_DATE_SCHEMA)
    lake.write_dimensions(dim_date=calendar.unionByName(calendar.where(F.col("date") == F.lit(D2))))

    result = materialize(lake, partition=D2.isoformat(), raise_on_error=False)

    outcomes = check_outcomes(result)
    assert not result.success
    for key in FACTS:
        assert outcomes[f"{key.to_user_string()}:{RECONCILES_WITH_SILVER}"] is False
        metadata = {name: value.value for name, value in _evaluation(result, key).metadata.items()}
        version_before, rows_before = previous[key]
        assert metadata["rejected"] is True, key
        assert metadata["restored_to_version"] == version_before
        assert _rows(lake.uri(key)) == rows_before, key
        rejected = _rows(lake.uri(key), version=metadata["rejected_version"])
        assert len(rejected) > len(rows_before) and D2.isoformat() in {v for row in rejected for v in row}
        assert DeltaTable(lake.uri(key)).history(1)[0]["lakehouse.operation"] == "reject"
    assert _evaluation(result, FACT_ORDERS).metadata["rejected_partitions"].value == "whole table"
    activity = _evaluation(result, FACT_CUSTOMER_ACTIVITY).metadata["rejected_partitions"].value
    assert activity == [D2.isoformat()]


def _evaluation(result, key):
    [evaluation] = [
        e
        for e in result.get_asset_check_evaluations()
        if (e.asset_key, e.check_name) == (key, RECONCILES_WITH_SILVER)
    ]
    return evaluation
