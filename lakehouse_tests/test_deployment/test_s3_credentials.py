"""The lake on S3 takes its credentials from the standard AWS chain, not from keys the code reads: here the
keys exist only in a profile of a shared credentials file, and an S3 emulator that checks every request's
signature (moto with IAM authentication) serves the lake to delta-rs, pyarrow and the embedded engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pyarrow as pa
import pytest
from deltalake import write_deltalake
from pyarrow import fs

from lakehouse.lake import Lake
from lakehouse.lake.storage import delta_storage_options, file_exists, filesystem, remove_directory
from lakehouse_tests.fixtures.spark_servers import free_port, wait_until_listening

BUCKET = "lakehouse-profiles"
# moto answers this many requests unauthenticated (creating the user, its key and its policy), then
# refuses any request not signed with a key it issued
SETUP_REQUESTS = 3
ALLOW_S3 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}


@pytest.fixture(scope="module")
def authenticated_s3() -> Iterator[tuple[str, dict[str, str]]]:
    """An S3 emulator that authenticates requests, its endpoint and the one key pair it accepts."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env={**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(SETUP_REQUESTS)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_until_listening(port, server, timeout=30.0)
        iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                           aws_access_key_id="setup", aws_secret_access_key="setup")  # fmt: skip
        iam.create_user(UserName="lakehouse")
        issued = iam.create_access_key(UserName="lakehouse")["AccessKey"]
        iam.put_user_policy(UserName="lakehouse", PolicyName="lake", PolicyDocument=json.dumps(ALLOW_S3))
        key = {"aws_access_key_id": issued["AccessKeyId"], "aws_secret_access_key": issued["SecretAccessKey"]}
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **key).create_bucket(Bucket=BUCKET)
        yield endpoint, key
    finally:
        server.terminate()
        server.wait(timeout=10)


def profile_environment(endpoint: str, key: dict[str, str], files: Path, profile: str) -> dict[str, str]:
    """This process's environment without any ``AWS_*`` setting, then: the emulator's endpoint, and the key
    only in the shared credentials file, as profile ``lake`` (and a wrong secret as profile ``wrong``)."""
    files.mkdir(parents=True, exist_ok=True)
    (files / "credentials").write_text(
        f"[lake]\naws_access_key_id = {key['aws_access_key_id']}\naws_secret_access_key = {key['aws_secret_access_key']}\n"
        f"[wrong]\naws_access_key_id = {key['aws_access_key_id']}\naws_secret_access_key = not-the-secret\n"
    )
    (files / "config").write_text("[profile lake]\nregion = us-east-1\n[profile wrong]\nregion = us-east-1\n")
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    return {
        **environment,
        "AWS_PROFILE": profile,
        "AWS_SHARED_CREDENTIALS_FILE": str(files / "credentials"),
        "AWS_CONFIG_FILE": str(files / "config"),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ALLOW_HTTP": "true",  # the engine's object store refuses an http:// endpoint without it
        "AWS_EC2_METADATA_DISABLED": "true",  # no instance here: do not wait for its metadata service
    }


def use_environment(monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]) -> None:
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)


def test_the_lake_reads_and_writes_with_the_credentials_of_a_profile(authenticated_s3, tmp_path, monkeypatch):
    endpoint, key = authenticated_s3
    use_environment(monkeypatch, profile_environment(endpoint, key, tmp_path / "aws", "lake"))
    assert "AWS_ACCESS_KEY_ID" not in os.environ and "AWS_SECRET_ACCESS_KEY" not in os.environ
    root = f"s3://{BUCKET}/profile-lake"
    uri = f"{root}/bronze/events"
    options = delta_storage_options(uri)
    assert not {name for name in options if "KEY" in name or "TOKEN" in name}  # no credential handed over

    write_deltalake(uri, pa.table({"id": [1, 2, 3]}), storage_options=options)  # delta-rs writes
    lake = Lake(root_uri=root)
    assert lake.exists(["bronze", "events"])
    table = lake.open(["bronze", "events"])  # delta-rs reads
    assert sorted(table.to_pyarrow_table().column("id").to_pylist()) == [1, 2, 3]
    data_file = table.file_uris()[0].rsplit("/", 1)[1]
    assert file_exists(uri, data_file)  # pyarrow reads
    store, path = filesystem(uri)
    assert isinstance(store, fs.S3FileSystem)
    remove_directory(uri)  # pyarrow deletes
    assert store.get_file_info(path).type == fs.FileType.NotFound


def test_a_profile_with_a_wrong_secret_is_refused_by_both_clients(authenticated_s3, tmp_path, monkeypatch):
    """The emulator checks signatures: the profile's key, not some other source, is what signs."""
    endpoint, key = authenticated_s3
    use_environment(monkeypatch, profile_environment(endpoint, key, tmp_path / "aws", "wrong"))
    uri = f"s3://{BUCKET}/refused/bronze/events"
    with pytest.raises(OSError, match="privileges|403|Forbidden|[Ss]ignature"):
        write_deltalake(uri, pa.table({"id": [1]}), storage_options=delta_storage_options(uri))
    store, path = filesystem(uri)
    with pytest.raises(OSError, match="SIGNATURE_DOES_NOT_MATCH"):
        store.get_file_info(fs.FileSelector(path, allow_not_found=False))


ENGINE_ROUND_TRIP = """
import sys
from lakehouse.engine import SparkEngine
spark = SparkEngine(shuffle_partitions=1).spark_session
uri = sys.argv[1]
spark.range(5).write.format("delta").mode("overwrite").save(uri)
print(spark.read.format("delta").load(uri).count())
spark.stop()
"""


@pytest.mark.parametrize(("profile", "succeeds"), [("lake", True), ("wrong", False)])
def test_the_embedded_engine_takes_the_credentials_of_a_profile(profile, succeeds, authenticated_s3, tmp_path):
    """A process of its own: the engine's object store keeps the AWS configuration it first loads."""
    endpoint, key = authenticated_s3
    environment = profile_environment(endpoint, key, tmp_path / "aws", profile)
    uri = f"s3://{BUCKET}/engine-{profile}/silver/numbers"
    completed = subprocess.run([sys.executable, "-c", ENGINE_ROUND_TRIP, uri], env=environment,
                               capture_output=True, text=True, timeout=300)  # fmt: skip
    if succeeds:
        assert completed.returncode == 0, completed.stderr[-2000:]
        assert completed.stdout.split()[-1] == "5"
    else:
        assert completed.returncode != 0
        assert "403 Forbidden" in completed.stderr
