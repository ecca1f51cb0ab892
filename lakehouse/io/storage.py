"""Table URIs and delta-rs storage options for the lake root (local filesystem or S3)."""

from __future__ import annotations

import os

from dagster_deltalake import LocalConfig, S3Config


def join_uri(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *(p.strip("/") for p in parts)])


def is_s3(uri: str) -> bool:
    return uri.startswith(("s3://", "s3a://"))


def storage_config(uri: str) -> LocalConfig | S3Config:
    """dagster-deltalake's storage config for ``uri``, from the standard ``AWS_*`` settings for S3.

    The engine (Sail or Spark) reads the same variables, so both sides of the lake see one store.
    """
    if not is_s3(uri):
        return LocalConfig()
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    return S3Config(
        access_key_id=os.environ.get("AWS_ACCESS_KEY_ID"),
        secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY"),
        token=os.environ.get("AWS_SESSION_TOKEN"),
        region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
        endpoint=endpoint,
        # An S3 emulator has no atomic rename; the engine commits there, delta-rs only reads and maintains.
        allow_unsafe_rename=True if endpoint else None,
    )


def delta_storage_options(uri: str) -> dict[str, str]:
    options = {k: v for k, v in storage_config(uri).str_dict().items() if k != "provider"}
    if options.get("endpoint", "").startswith("http://"):
        options["allow_http"] = "true"
    return options


def table_exists(uri: str) -> bool:
    """Whether a Delta table exists at ``uri`` (read with delta-rs, independently of the engine)."""
    from deltalake import DeltaTable

    return DeltaTable.is_deltatable(uri, storage_options=delta_storage_options(uri))


def table_version(uri: str) -> int:
    """The latest committed version of the Delta table at ``uri``."""
    from deltalake import DeltaTable

    return DeltaTable(uri, storage_options=delta_storage_options(uri)).version()
