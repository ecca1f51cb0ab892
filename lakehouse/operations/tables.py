"""The lake's Delta tables as operators see them: found by layer, sized, their history, restored.

Everything here goes through delta-rs (``deltalake``) with the storage options of
``lakehouse.io.storage``, independently of the Spark engine, which has no history or restore of its own.
A table is named by its asset key, ``<layer>/<table>`` (``gold/dim_customer``), and lives at
``<lake root>/<layer>/<table>``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable
from pyarrow import fs

from lakehouse.io.commits import retry_commit_conflicts
from lakehouse.io.storage import delta_storage_options, is_s3, join_uri, storage_config
from lakehouse.settings import lake_root

LAYERS: tuple[str, ...] = ("bronze", "quarantine", "silver", "gold")
DELTA_LOG = "_delta_log"


class TableNotFound(LookupError):
    """No Delta table at the key's location."""


@dataclass(frozen=True)
class LakeTable:
    layer: str
    name: str
    uri: str

    @property
    def key(self) -> str:
        """The asset key as a user writes it: ``gold/dim_customer``."""
        return f"{self.layer}/{self.name}"

    @property
    def asset_key_path(self) -> list[str]:
        return [self.layer, self.name]


@dataclass(frozen=True)
class FileStats:
    files: int
    bytes: int


@dataclass(frozen=True)
class HistoryEntry:
    version: int
    timestamp: datetime
    operation: str
    parameters: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    engine: str = ""
    custom: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RestoreOutcome:
    table: LakeTable
    restored_to: int
    version_before: int
    version_after: int
    metrics: dict[str, Any]


def parse_table_key(key: str) -> tuple[str, str]:
    """``"gold/dim_customer"`` -> ``("gold", "dim_customer")``, with a clear error for anything else."""
    parts = [part for part in key.strip().strip("/").split("/") if part]
    if len(parts) != 2 or parts[0] not in LAYERS:
        raise ValueError(f"{key!r} is not a table key <layer>/<table> with layer one of: {', '.join(LAYERS)}")
    return parts[0], parts[1]


def lake_table(key: str, root: str | None = None) -> LakeTable:
    layer, name = parse_table_key(key)
    return LakeTable(layer, name, join_uri(root or lake_root(), layer, name))


def open_table(table: LakeTable, version: int | None = None) -> DeltaTable:
    """The Delta table (at ``version`` if given); ``TableNotFound`` names the key when there is none."""
    options = delta_storage_options(table.uri)
    if not DeltaTable.is_deltatable(table.uri, storage_options=options):
        raise TableNotFound(f"no Delta table {table.key} at {table.uri}")
    return DeltaTable(table.uri, version=version, storage_options=options)


def lake_tables(root: str | None = None, layers: tuple[str, ...] | list[str] = LAYERS) -> list[LakeTable]:
    """Every Delta table under the lake root, layer by layer in ``layers`` order, tables by name."""
    root = root or lake_root()
    filesystem, base = _filesystem(root)
    tables = []
    for layer in layers:
        if layer not in LAYERS:
            raise ValueError(f"unknown layer {layer!r}; layers are: {', '.join(LAYERS)}")
        infos = filesystem.get_file_info(fs.FileSelector(f"{base}/{layer}", allow_not_found=True))
        for info in sorted(infos, key=lambda i: i.base_name):
            if info.type != fs.FileType.Directory or info.base_name.startswith(("_", ".")):
                continue
            log = filesystem.get_file_info(f"{info.path}/{DELTA_LOG}")
            if log.type == fs.FileType.Directory:
                tables.append(LakeTable(layer, info.base_name, join_uri(root, layer, info.base_name)))
    return tables


def live_files(table: DeltaTable) -> FileStats:
    """Data files of the current version (from the Delta log) and their total size."""
    actions = pa.table(table.get_add_actions(flatten=True))
    sizes = actions.column("size_bytes").to_pylist() if actions.num_rows else []
    return FileStats(files=len(sizes), bytes=int(sum(size or 0 for size in sizes)))


def stored_files(uri: str) -> FileStats:
    """Data files on storage under the table, live or not (vacuum removes the unreferenced ones)."""
    filesystem, base = _filesystem(uri)
    files = total = 0
    for info in filesystem.get_file_info(fs.FileSelector(base, recursive=True, allow_not_found=True)):
        parts = info.path[len(base) :].lstrip("/").split("/")
        # skip the log, hidden files and markers; partition folders (``_run_date=...``) hold data
        hidden = any(p.startswith(".") or (p.startswith("_") and "=" not in p) for p in parts)
        if info.type != fs.FileType.File or hidden:
            continue
        files += 1
        total += info.size or 0
    return FileStats(files=files, bytes=total)


def table_history(table: LakeTable, limit: int | None = None) -> list[HistoryEntry]:
    """The table's commits, newest first: version, time, operation, its parameters and metrics."""
    entries = []
    for commit in open_table(table).history(limit):
        known = {"version", "timestamp", "operation", "operationParameters", "operationMetrics", "engineInfo",
                 "clientVersion", "readVersion", "isBlindAppend", "userMetadata"}
        entries.append(
            HistoryEntry(
                version=int(commit["version"]),
                timestamp=datetime.fromtimestamp(commit["timestamp"] / 1000, tz=timezone.utc),
                operation=str(commit.get("operation", "")),
                parameters=dict(commit.get("operationParameters") or {}),
                metrics=dict(commit.get("operationMetrics") or {}),
                engine=str(commit.get("engineInfo") or commit.get("clientVersion") or ""),
                custom={k: v for k, v in commit.items() if k not in known},
            )
        )
    return entries


def restore_table(table: LakeTable, version: int, reason: str | None = None) -> RestoreOutcome:
    """Make ``version`` the table's current content again, as a new commit (so the restore itself can be
    rolled back). Refuses a version that does not exist or whose files vacuum has already removed."""
    delta = open_table(table)
    current = delta.version()
    if not 0 <= version <= current:
        raise ValueError(f"{table.key} has versions 0 to {current}; there is no version {version}")
    if version == current:
        raise ValueError(f"{table.key} is already at version {version}; nothing to restore")
    properties = {"lakehouse.operation": "restore", "lakehouse.restored_to": str(version)}
    if reason:
        properties["lakehouse.reason"] = reason
    properties["lakehouse.user"] = os.environ.get("USER", "")
    _check_files_present(table, version)

    def commit() -> dict[str, Any]:
        fresh = open_table(table)
        return fresh.restore(version, commit_properties=CommitProperties(custom_metadata=properties))

    metrics, _ = retry_commit_conflicts(commit, what=f"restore {table.key}", log=lambda _message: None)
    return RestoreOutcome(
        table=table,
        restored_to=version,
        version_before=current,
        version_after=open_table(table).version(),
        metrics=metrics,
    )


def _check_files_present(table: LakeTable, version: int) -> None:
    """A restore needs every data file of ``version``; vacuum removes files older than the retention."""
    filesystem, base = _filesystem(table.uri)
    old = open_table(table, version=version)
    paths = pa.table(old.get_add_actions(flatten=True)).column("path").to_pylist()
    missing = [
        path for path in paths
        if filesystem.get_file_info(f"{base}/{_unquote(path)}").type == fs.FileType.NotFound
    ]
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} data file(s) of {table.key} version {version} are gone (vacuumed after the "
            f"retention period?), e.g. {missing[0]}; pick a later version"
        )


def _unquote(path: str) -> str:
    from urllib.parse import unquote

    return unquote(path)


def _filesystem(uri: str) -> tuple[fs.FileSystem, str]:
    """A pyarrow filesystem for ``uri`` configured like delta-rs (same ``AWS_*`` settings), and the path."""
    if not is_s3(uri):
        path = uri.removeprefix("file://")
        return fs.LocalFileSystem(), os.path.abspath(path)
    config = storage_config(uri)
    endpoint = config.endpoint
    scheme = "http" if endpoint and endpoint.startswith("http://") else "https"
    filesystem = fs.S3FileSystem(
        access_key=config.access_key_id,
        secret_key=config.secret_access_key,
        session_token=config.token,
        region=config.region,
        endpoint_override=endpoint.split("://", 1)[-1] if endpoint else None,
        scheme=scheme,
    )
    return filesystem, uri.split("://", 1)[1].rstrip("/")
