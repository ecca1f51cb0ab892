"""Where the lake's files are: URIs, and the storage settings of delta-rs and pyarrow for a local path or S3.

On S3 neither client is handed credentials: delta-rs (the AWS SDK's default chain) and pyarrow (the AWS C++
SDK's) each resolve them the standard way, from the environment (``AWS_ACCESS_KEY_ID`` ...), a profile of
the shared config and credentials files (``AWS_PROFILE``, ``AWS_CONFIG_FILE``,
``AWS_SHARED_CREDENTIALS_FILE``), a web identity token (``AWS_WEB_IDENTITY_TOKEN_FILE`` with
``AWS_ROLE_ARN``), the container's or the instance's role. Only where the store is comes from here: an
endpoint other than AWS S3 (``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL``) and the region. The engine (Sail
or Spark) reads the same standard settings, so both sides of the lake see one store.
"""

from __future__ import annotations

import os
from urllib.parse import unquote

from pyarrow import fs


def join_uri(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *(p.strip("/") for p in parts)])


def is_s3(uri: str) -> bool:
    return uri.startswith(("s3://", "s3a://"))


def s3_endpoint() -> str | None:
    """The S3 endpoint when it is not AWS S3 (an emulator, MinIO): the standard ``AWS_ENDPOINT_URL_S3``,
    else ``AWS_ENDPOINT_URL``."""
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


def s3_region() -> str | None:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None


def delta_storage_options(uri: str) -> dict[str, str]:
    """delta-rs ``storage_options`` for ``uri``: no credentials, which delta-rs resolves itself.

    delta-rs takes the AWS SDK's credential chain (environment, profile, web identity, container or
    instance role) for AWS S3; for another endpoint it would read only the ``AWS_*`` keys of the
    environment unless told to load credentials as for AWS (``AWS_FORCE_CREDENTIAL_LOAD``), so it is.
    """
    if not is_s3(uri):
        return {}
    endpoint = s3_endpoint()
    if endpoint is None:
        return {}
    options = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_FORCE_CREDENTIAL_LOAD": "true",
        # An S3 emulator has no atomic rename; the engine commits there, delta-rs only reads and maintains.
        "AWS_S3_ALLOW_UNSAFE_RENAME": "true",
    }
    if endpoint.startswith("http://"):
        options["AWS_ALLOW_HTTP"] = "true"
    return options


def filesystem(uri: str) -> tuple[fs.FileSystem, str]:
    """A pyarrow filesystem for ``uri`` and the path in it; on S3 the AWS SDK's own credential chain, the
    endpoint and region of ``s3_endpoint`` and ``s3_region`` (pyarrow reads neither from the environment)."""
    if not is_s3(uri):
        return fs.LocalFileSystem(), os.path.abspath(uri.removeprefix("file://"))
    endpoint, region = s3_endpoint(), s3_region()
    settings: dict[str, str] = {}
    if endpoint is not None:
        scheme, _, address = endpoint.rpartition("://")
        settings.update(endpoint_override=address.rstrip("/"), scheme=scheme or "https")
    if region is not None:
        settings["region"] = region
    return fs.S3FileSystem(**settings), uri.split("://", 1)[1].rstrip("/")


def remove_directory(uri: str) -> None:
    """Remove the directory at ``uri`` (local or object store) and everything in it, if it exists."""
    store, path = filesystem(uri)
    if store.get_file_info(path).type != fs.FileType.NotFound:
        store.delete_dir(path)


def file_exists(uri: str, relative_path: str) -> bool:
    """Whether the file at ``relative_path`` (as a Delta log spells it, URL-quoted) exists under ``uri``."""
    store, base = filesystem(uri)
    return store.get_file_info(f"{base}/{unquote(relative_path)}").type != fs.FileType.NotFound
