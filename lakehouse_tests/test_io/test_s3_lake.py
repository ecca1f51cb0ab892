"""The lake on S3: the same IO manager against a local S3 emulator (moto's server) on loopback, with the
endpoint and credentials given only through the standard AWS settings."""

import boto3
from dagster import AssetExecutionContext, asset, materialize
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse.engine import SparkEngine
from lakehouse.lake import Lake
from lakehouse.partitions import daily_partitions
from lakehouse_tests.fixtures.s3 import BUCKET
from lakehouse_tests.support import lake_resources


@asset(key_prefix=["bronze"], name="on_s3", partitions_def=daily_partitions())
def on_s3(context: AssetExecutionContext, engine: SparkEngine) -> DataFrame:
    return engine.spark_session.range(4).select(
        F.col("id"), F.lit(context.partition_key).cast("date").alias("_run_date")
    )


def test_partitioned_writes_to_s3_are_read_back_by_delta_rs(engine, s3_env):
    root = f"s3://{BUCKET}/lake"
    resources = lake_resources(engine, root)
    for day in ("2026-03-01", "2026-03-02", "2026-03-01"):
        assert materialize([on_s3], resources=resources, partition_key=day).success

    table = Lake(root_uri=root).open(["bronze", "on_s3"]).to_pyarrow_table()
    days = sorted(d.isoformat() for d in table.column("_run_date").to_pylist())
    assert days == ["2026-03-01"] * 4 + ["2026-03-02"] * 4
    listed = boto3.client("s3", endpoint_url=s3_env["AWS_ENDPOINT_URL"], region_name="us-east-1").list_objects_v2(
        Bucket=BUCKET, Prefix="lake/bronze/on_s3/_delta_log/"
    )
    assert listed["KeyCount"] >= 3
