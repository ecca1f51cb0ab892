"""Where the lake's files are: URIs, and the storage settings of delta-rs and pyarrow for a local path or S3.

S3 settings come from the standard ``AWS_*`` variables, which the engine (Sail or Spark) reads too, so
both sides of the lake see one store.
"""

from __future__ import annotations

import os
from urllib.parse import unquote

from dagster_deltalake import LocalConfig, S3Config
from pyarrow import fs


def join_uri(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *(p.strip("/") for p in parts)])


def is_s3(uri: str) -> bool:
    return uri.startswith(("s3://", "s3a://"))


def storage_config(uri: str) -> LocalConfig | S3Config:
    """dagster-deltalake's storage config for ``uri``, from the standard ``AWS_*`` settings for S3."""
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
    """delta-rs ``storage_options`` for ``uri``."""
    options = {k: v for k, v in storage_config(uri).str_dict().items() if k != "provider"}
    if options.get("endpoint", "").startswith("http://"):
        options["allow_http"] = "true"
    return options


def filesystem(uri: str) -> tuple[fs.FileSystem, str]:
    """A pyarrow filesystem for ``uri`` configured like delta-rs (same ``AWS_*`` settings), and the path."""
    if not is_s3(uri):
        return fs.LocalFileSystem(), os.path.abspath(uri.removeprefix("file://"))
    config = storage_config(uri)
    endpoint = config.endpoint
    scheme = "http" if endpoint and endpoint.startswith("http://") else "https"
    s3 = fs.S3FileSystem(
        access_key=config.access_key_id,
        secret_key=config.secret_access_key,
        session_token=config.token,
        region=config.region,
        endpoint_override=endpoint.split("://", 1)[-1] if endpoint else None,
        scheme=scheme,
    )
    return s3, uri.split("://", 1)[1].rstrip("/")


def remove_directory(uri: str) -> None:
    """Remove the directory at ``uri`` (local or object store) and everything in it, if it exists."""
    store, path = filesystem(uri)
    if store.get_file_info(path).type != fs.FileType.NotFound:
        store.delete_dir(path)


def file_exists(uri: str, relative_path: str) -> bool:
    """Whether the file at ``relative_path`` (as a Delta log spells it, URL-quoted) exists under ``uri``."""
    store, base = filesystem(uri)
    return store.get_file_info(f"{base}/{unquote(relative_path)}").type != fs.FileType.NotFound
