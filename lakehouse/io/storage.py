"""Table URIs and delta-rs storage options for the lake root (local filesystem or S3)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dagster_deltalake import LocalConfig, S3Config

if TYPE_CHECKING:
    from deltalake import DeltaTable


def join_uri(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *(p.strip("/") for p in parts)])


def remove_directory(uri: str) -> None:
    """Remove the directory at ``uri`` (local or object store) and everything in it, if it exists."""
    from pyarrow import fs

    filesystem, path = fs.FileSystem.from_uri(uri)
    if filesystem.get_file_info(path).type != fs.FileType.NotFound:
        filesystem.delete_dir(path)


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


def open_table(uri: str) -> DeltaTable | None:
    """The Delta table at ``uri`` as delta-rs reads its log now, or None when there is no table."""
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    try:
        return DeltaTable(uri, storage_options=delta_storage_options(uri))
    except TableNotFoundError:
        return None


@dataclass(frozen=True)
class DataFile:
    """One data file of a Delta snapshot, from its ``add`` action in the log."""

    path: str
    size: int
    records: int | None
    """``stats.numRecords``; None when the writer recorded no statistics for the file."""
    partition: dict[str, Any]
    """Partition column -> value, typed (a ``date`` for a DATE column); empty when unpartitioned."""


def data_files(table: DeltaTable | None) -> dict[str, DataFile]:
    """Path -> ``DataFile`` of every data file in ``table``'s loaded snapshot (none for no table)."""
    import pyarrow as pa

    if table is None:
        return {}
    actions = pa.table(table.get_add_actions(flatten=False))
    if actions.num_rows == 0:
        return {}
    columns = actions.column_names
    partitions = actions.column("partition").to_pylist() if "partition" in columns else None
    records = actions.column("num_records").to_pylist() if "num_records" in columns else None
    return {
        path: DataFile(
            path=path,
            size=size,
            records=records[i] if records is not None else None,
            partition=dict(partitions[i] or {}) if partitions is not None else {},
        )
        for i, (path, size) in enumerate(
            zip(actions.column("path").to_pylist(), actions.column("size_bytes").to_pylist())
        )
    }


def table_exists(uri: str) -> bool:
    """Whether a Delta table exists at ``uri`` (read with delta-rs, independently of the engine)."""
    from deltalake import DeltaTable

    return DeltaTable.is_deltatable(uri, storage_options=delta_storage_options(uri))


def table_version(uri: str) -> int:
    """The latest committed version of the Delta table at ``uri``."""
    from deltalake import DeltaTable

    return DeltaTable(uri, storage_options=delta_storage_options(uri)).version()


def latest_version(uri: str) -> int | None:
    """The latest committed version of the Delta table at ``uri``, or None when there is no table yet."""
    return table_version(uri) if table_exists(uri) else None


def bytes_added(uri: str, after_version: int | None, up_to_version: int | None = None) -> int:
    """Total size in bytes of the data files added to the Delta table at ``uri`` by the commits after
    ``after_version`` (every commit when None) up to ``up_to_version`` (the latest when None); 0 when there
    is no such commit (e.g. a MERGE that changed nothing commits nothing).

    Read from the Delta log with delta-rs, commit by commit: a commit added the files of its snapshot that
    the previous snapshot lacks, with their sizes from the ``add`` actions. A file one commit adds and a
    later one rewrites counts in both, as both wrote it. Works for any engine's commits (no engine-specific
    ``operationMetrics``). A concurrent writer's commits in the range count too.
    """
    from deltalake import DeltaTable

    table = DeltaTable(uri, storage_options=delta_storage_options(uri))
    last = table.version() if up_to_version is None else up_to_version
    first = 0 if after_version is None else after_version + 1
    if first > last:
        return 0
    previous = _data_file_sizes(table, first - 1) if first > 0 else {}
    total = 0
    for version in range(first, last + 1):
        current = _data_file_sizes(table, version)
        total += sum(size for path, size in current.items() if path not in previous)
        previous = current
    return total


def _data_file_sizes(table, version: int) -> dict[str, int]:
    """Path -> size of the data files in the snapshot of ``table`` at ``version``."""
    import pyarrow as pa

    table.load_as_version(version)
    actions = pa.table(table.get_add_actions(flatten=True))
    if actions.num_rows == 0:
        return {}
    return dict(zip(actions.column("path").to_pylist(), actions.column("size_bytes").to_pylist()))
