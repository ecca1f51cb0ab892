"""Dataset names by the OpenLineage naming spec."""

import pytest

from lakehouse.lineage import redshift_dataset, snowflake_dataset, table_dataset
from lakehouse.lineage.naming import DatasetName


def test_a_local_delta_table_is_the_file_namespace_and_its_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert table_dataset(str(tmp_path / "lake" / "silver" / "customers")) == DatasetName(
        "file", str(tmp_path / "lake" / "silver" / "customers")
    )
    assert table_dataset("lake/gold/dim_date") == DatasetName(
        "file", str(tmp_path / "lake" / "gold" / "dim_date")
    )
    assert table_dataset(f"file://{tmp_path}/lake/bronze/orders") == DatasetName(
        "file", str(tmp_path / "lake" / "bronze" / "orders")
    )


def test_an_s3_delta_table_is_the_bucket_namespace_and_its_key():
    assert table_dataset("s3://acme-lake/prod/lake/gold/fact_orders") == DatasetName(
        "s3://acme-lake", "prod/lake/gold/fact_orders"
    )
    assert table_dataset("s3a://acme-lake/lake/bronze/orders/") == DatasetName(
        "s3://acme-lake", "lake/bronze/orders"
    )
    assert table_dataset("gs://acme-lake/lake/gold/dim_date") == DatasetName(
        "gs://acme-lake", "lake/gold/dim_date"
    )
    with pytest.raises(ValueError, match="no bucket"):
        table_dataset("s3:///lake/bronze/orders")
    with pytest.raises(ValueError, match="no OpenLineage naming"):
        table_dataset("ftp://host/lake")


def test_snowflake_tables_are_named_by_account_and_three_part_name():
    assert snowflake_dataset("MyOrg-MyAccount", "RETAIL.SALES.ORDERS") == DatasetName(
        "snowflake://myorg-myaccount", "RETAIL.SALES.ORDERS"
    )
    assert snowflake_dataset("fakesnow", "RETAIL.CRM.CUSTOMERS") == DatasetName(
        "snowflake://fakesnow", "RETAIL.CRM.CUSTOMERS"
    )
    with pytest.raises(ValueError, match="database.schema.table"):
        snowflake_dataset("acme", "SALES.ORDERS")


def test_redshift_tables_are_named_by_cluster_region_and_port():
    host = "analytics-cluster.c9xyzabc1234.eu-west-1.redshift.amazonaws.com"
    assert redshift_dataset(host, 5439, "analytics.web.behavior_events") == DatasetName(
        "redshift://analytics-cluster.eu-west-1:5439", "analytics.web.behavior_events"
    )
    serverless = "wg.123456789012.us-east-2.redshift-serverless.amazonaws.com"
    assert redshift_dataset(serverless, 5439, "dev.public.t").namespace == "redshift://wg.us-east-2:5439"
    # the local PostgreSQL stand-in is named by its address
    assert redshift_dataset("127.0.0.1", 54321, "analytics.web.behavior_events") == DatasetName(
        "redshift://127.0.0.1:54321", "analytics.web.behavior_events"
    )
