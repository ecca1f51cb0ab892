"""The lake on S3: the same IO manager against a local S3 emulator (moto's server) on loopback, with the
endpoint and credentials given only through the standard AWS settings."""

import subprocess
import sys

import boto3
import pytest
from dagster import AssetExecutionContext, asset, materialize
from deltalake import DeltaTable
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse.engine import SparkEngine
from lakehouse.io import DeltaSparkIOManager
from lakehouse.io.storage import delta_storage_options
from lakehouse.partitions import daily_partitions
from lakehouse_tests.fixtures.spark_servers import free_port, wait_until_listening

BUCKET = "lakehouse-test"


@pytest.fixture(scope="module")
def s3_endpoint():
    # A separate process: an in-process emulator would share the GIL with delta-rs's blocking calls.
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_until_listening(port, server, timeout=30.0)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def s3_env(s3_endpoint, monkeypatch):
    settings = {
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=BUCKET)
    return settings


@asset(key_prefix=["bronze"], name="on_s3", partitions_def=daily_partitions)
def on_s3(context: AssetExecutionContext, engine: SparkEngine) -> DataFrame:
    return engine.spark_session.range(4).select(
        F.col("id"), F.lit(context.partition_key).cast("date").alias("_run_date")
    )


def test_partitioned_writes_to_s3_are_read_back_by_delta_rs(engine, s3_env):
    root = f"s3://{BUCKET}/lake"
    resources = {"engine": engine, "io_manager": DeltaSparkIOManager(root_uri=root, engine=engine)}
    for day in ("2026-03-01", "2026-03-02", "2026-03-01"):
        assert materialize([on_s3], resources=resources, partition_key=day).success

    uri = f"{root}/bronze/on_s3"
    table = DeltaTable(uri, storage_options=delta_storage_options(uri)).to_pyarrow_table()
    days = sorted(d.isoformat() for d in table.column("_run_date").to_pylist())
    assert days == ["2026-03-01"] * 4 + ["2026-03-02"] * 4
    listed = boto3.client("s3", endpoint_url=s3_env["AWS_ENDPOINT_URL"], region_name="us-east-1").list_objects_v2(
        Bucket=BUCKET, Prefix="lake/bronze/on_s3/_delta_log/"
    )
    assert listed["KeyCount"] >= 3
