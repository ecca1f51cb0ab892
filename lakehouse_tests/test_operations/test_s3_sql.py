"""``lakehouse sql`` over an S3 lake (moto's server on loopback): every Delta table under the ``s3://`` root is
a view, read by the engine with the same standard AWS settings as delta-rs, as in production."""

from datetime import date

import pyarrow as pa
import pytest
from click.testing import CliRunner
from deltalake import write_deltalake

from lakehouse.cli import cli
from lakehouse.lake import Lake
from lakehouse.lake.storage import delta_storage_options
from lakehouse.operations.sql import register_lake_views
from lakehouse_tests.fixtures.s3 import BUCKET

ROWS = {"silver/orders": 3, "gold/fact_orders": 5}


@pytest.fixture
def s3_lake(s3_env) -> str:
    """An ``s3://`` lake root holding two small day-partitioned tables, written with delta-rs."""
    root = f"s3://{BUCKET}/sql-lake"
    for key, rows in ROWS.items():
        uri = f"{root}/{key}"
        frame = pa.table({"order_id": list(range(rows)), "_run_date": pa.array([date(2026, 1, 1)] * rows)})
        write_deltalake(
            uri, frame, mode="overwrite", partition_by=["_run_date"], storage_options=delta_storage_options(uri)
        )
    return root


def test_every_table_of_an_s3_lake_is_a_view(spark, s3_lake):
    names = register_lake_views(spark, Lake(root_uri=s3_lake))
    assert names == ["silver_orders", "gold_fact_orders"]  # layer by layer, bronze to gold
    assert spark.sql("SELECT count(*) AS n FROM gold_fact_orders").collect()[0]["n"] == ROWS["gold/fact_orders"]
    assert spark.sql("SELECT max(order_id) AS m FROM silver_orders").collect()[0]["m"] == ROWS["silver/orders"] - 1


def test_lakehouse_sql_queries_the_configured_s3_lake(spark, s3_lake, monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_ENV", "local")
    monkeypatch.setenv("LAKEHOUSE_LAKE_ROOT", s3_lake)
    query = "SELECT count(*) AS orders_in_gold FROM gold_fact_orders"
    result = CliRunner().invoke(cli, ["sql", query], env={"COLUMNS": "200"}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "orders_in_gold" in result.output
    assert f" {ROWS['gold/fact_orders']} " in result.output
