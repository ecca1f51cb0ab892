"""The ``Lake`` resource: the lake root, a table's location from its asset key, and every delta-rs read.

In the spirit of dagster-deltalake, storage is apart from type handling: the Delta IO manager (type
handling: Spark DataFrames in and out) holds a ``Lake``; so do the assets that write their own tables with
``MERGE``, the checks that read what was written, the sensors' lake statistics, lineage's dataset names
and the operator commands. ``DeltaTable`` is opened here and nowhere else, for a local root and an
``s3://`` root alike.

A table's location is its asset key: ``["gold", "dim_customer"]`` lives at ``<root_uri>/gold/dim_customer``.
Methods that take a ``target`` accept an asset key (``AssetKey`` or its path), a ``LakeTable`` or a URI
(a string).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar, Union

import dagster as dg
from pydantic import Field

from lakehouse.lake.commits import retry_commit_conflicts
from lakehouse.lake.storage import delta_storage_options, file_exists, filesystem, join_uri, remove_directory
from lakehouse.partitions import PARTITION_COLUMN

if TYPE_CHECKING:
    from deltalake import DeltaTable

T = TypeVar("T")
Target = Union[str, dg.AssetKey, Sequence[str], "LakeTable"]

LAYERS: tuple[str, ...] = ("bronze", "quarantine", "silver", "gold")
DELTA_LOG = "_delta_log"
SCRATCH = "_scratch"
"""Lake folder of short-lived staging tables (``<root>/_scratch/<layer>/<table>/<uuid>``)."""
LANDING = "_landing"
"""Lake folder of extracted source batches (``<root>/_landing/<table>/<run id>``)."""


class TableNotFound(LookupError):
    """No Delta table at the key's location."""


@dataclass(frozen=True)
class LakeTable:
    """A table of the lake as operators name it: ``<layer>/<table>``, and where it is."""

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
class DataFile:
    """One data file of a Delta snapshot, from its ``add`` action in the log."""

    path: str
    size: int
    records: int | None
    """``stats.numRecords``; None when the writer recorded no statistics for the file."""
    partition: dict[str, Any]
    """Partition column -> value, typed (a ``date`` for a DATE column); empty when unpartitioned."""


@dataclass(frozen=True)
class FileStats:
    files: int
    bytes: int


def parse_table_key(key: str) -> tuple[str, str]:
    """``"gold/dim_customer"`` -> ``("gold", "dim_customer")``, with a clear error for anything else."""
    parts = [part for part in key.strip().strip("/").split("/") if part]
    if len(parts) != 2 or parts[0] not in LAYERS:
        raise ValueError(f"{key!r} is not a table key <layer>/<table> with layer one of: {', '.join(LAYERS)}")
    return parts[0], parts[1]


class Lake(dg.ConfigurableResource):
    """The lake: its root (a local path or ``s3://bucket/prefix``), table locations, Delta logs through
    delta-rs, and commits retried when they lose a race with a concurrent writer."""

    root_uri: str = Field(description="Lake root: a local path or s3://bucket/prefix.")
    commit_retries: int = Field(default=8, description="Retries of a commit that lost a concurrent race.")
    retry_backoff_seconds: float = Field(default=0.2, description="First back-off; doubles per retry.")

    # ------------------------------------------------------------------------------------- locations

    def table(self, key: dg.AssetKey | Sequence[str]) -> str:
        """The URI of the asset's table: ``<root>/<layer>/<table>``."""
        path = key.path if isinstance(key, dg.AssetKey) else list(key)
        return join_uri(self.root_uri, *path)

    def scratch(self, key: dg.AssetKey | Sequence[str]) -> str:
        """Where an asset keeps short-lived staging tables: ``<root>/_scratch/<layer>/<table>``."""
        path = key.path if isinstance(key, dg.AssetKey) else list(key)
        return join_uri(self.root_uri, SCRATCH, *path)

    def landing(self, *parts: str) -> str:
        """Where extracted source batches land before validation: ``<root>/_landing/...``."""
        return join_uri(self.root_uri, LANDING, *parts)

    def uri(self, target: Target) -> str:
        if isinstance(target, LakeTable):
            return target.uri
        return target if isinstance(target, str) else self.table(target)

    def storage_options(self, target: Target | None = None) -> dict[str, str]:
        """delta-rs ``storage_options`` for the lake (or the given table)."""
        return delta_storage_options(self.root_uri if target is None else self.uri(target))

    def lake_table(self, key: str) -> LakeTable:
        """The table an operator names ``<layer>/<table>``."""
        layer, name = parse_table_key(key)
        return LakeTable(layer, name, self.table([layer, name]))

    def tables(self, layers: Sequence[str] = LAYERS) -> list[LakeTable]:
        """Every Delta table under the root, layer by layer in ``layers`` order, tables by name."""
        from pyarrow import fs

        store, base = filesystem(self.root_uri)
        found = []
        for layer in layers:
            if layer not in LAYERS:
                raise ValueError(f"unknown layer {layer!r}; layers are: {', '.join(LAYERS)}")
            infos = store.get_file_info(fs.FileSelector(f"{base}/{layer}", allow_not_found=True))
            for info in sorted(infos, key=lambda i: i.base_name):
                if info.type != fs.FileType.Directory or info.base_name.startswith(("_", ".")):
                    continue
                if store.get_file_info(f"{info.path}/{DELTA_LOG}").type == fs.FileType.Directory:
                    found.append(LakeTable(layer, info.base_name, self.table([layer, info.base_name])))
        return found

    def remove(self, uri: str) -> None:
        """Remove a directory of the lake (a staging table, a landing folder) and everything in it."""
        remove_directory(uri)

    # ----------------------------------------------------------------------------------- Delta logs

    def exists(self, target: Target) -> bool:
        from deltalake import DeltaTable

        uri = self.uri(target)
        return DeltaTable.is_deltatable(uri, storage_options=delta_storage_options(uri))

    def open(self, target: Target, version: int | None = None) -> DeltaTable:
        """The Delta table as delta-rs reads its log now (or at ``version``); ``TableNotFound`` if none.
        One read of the log: a missing table is told by delta-rs's own error, not by a check before."""
        from deltalake import DeltaTable
        from deltalake.exceptions import TableNotFoundError

        uri = self.uri(target)
        try:
            return DeltaTable(uri, version=version, storage_options=delta_storage_options(uri))
        except TableNotFoundError:
            named = f"{target.key} " if isinstance(target, LakeTable) else ""
            raise TableNotFound(f"no Delta table {named}at {uri}") from None

    def open_if_exists(self, target: Target) -> DeltaTable | None:
        try:
            return self.open(target)
        except TableNotFound:
            return None

    def version(self, target: Target) -> int | None:
        """The latest committed version, or None when there is no table yet."""
        table = self.open_if_exists(target)
        return None if table is None else table.version()

    def history(self, target: Target, limit: int | None = None) -> list[dict[str, Any]]:
        """The table's commits as delta-rs reports them, newest first."""
        return self.open(target).history(limit)

    def data_files(self, table: DeltaTable | None) -> dict[str, DataFile]:
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

    def live_files(self, table: DeltaTable) -> FileStats:
        """Data files of the loaded snapshot (from the Delta log) and their total size."""
        files = self.data_files(table)
        return FileStats(files=len(files), bytes=int(sum(f.size or 0 for f in files.values())))

    def stored_files(self, target: Target) -> FileStats:
        """Data files on storage under the table, live or not (vacuum removes the unreferenced ones)."""
        from pyarrow import fs

        store, base = filesystem(self.uri(target))
        files = total = 0
        for info in store.get_file_info(fs.FileSelector(base, recursive=True, allow_not_found=True)):
            parts = info.path[len(base) :].lstrip("/").split("/")
            # skip the log, hidden files and markers; partition folders (``_run_date=...``) hold data
            hidden = any(p.startswith(".") or (p.startswith("_") and "=" not in p) for p in parts)
            if info.type != fs.FileType.File or hidden:
                continue
            files += 1
            total += info.size or 0
        return FileStats(files=files, bytes=total)

    def missing_files(self, target: Target, version: int) -> list[str]:
        """Data files of ``version`` that are no longer on storage (vacuumed)."""
        uri = self.uri(target)
        return [path for path in self.data_files(self.open(uri, version=version)) if not file_exists(uri, path)]

    def bytes_added(self, target: Target, after_version: int | None, up_to_version: int | None = None) -> int:
        """Total size of the data files added by the commits after ``after_version`` (every commit when
        None) up to ``up_to_version`` (the latest when None); 0 when there is no such commit (a MERGE that
        changed nothing commits nothing).

        Read from the Delta log commit by commit: a commit added the files of its snapshot that the
        previous snapshot lacks. A file one commit adds and a later one rewrites counts in both, as both
        wrote it. Works for any engine's commits; a concurrent writer's commits in the range count too.
        """
        table = self.open(target)
        last = table.version() if up_to_version is None else up_to_version
        first = 0 if after_version is None else after_version + 1
        if first > last:
            return 0
        previous = self._file_sizes(table, first - 1) if first > 0 else {}
        total = 0
        for version in range(first, last + 1):
            current = self._file_sizes(table, version)
            total += sum(size for path, size in current.items() if path not in previous)
            previous = current
        return total

    def _file_sizes(self, table: DeltaTable, version: int) -> dict[str, int]:
        table.load_as_version(version)
        return {path: f.size for path, f in self.data_files(table).items()}

    def day_counts(self, target: Target, since: date | None = None) -> Counter[date]:
        """Rows per ``_run_date`` (from ``since`` on) of a day-partitioned table; a missing table has none.
        Rows of no day (``_run_date`` NULL: quarantined undated rows) are left out; see
        ``partition_counts``."""
        counts = self.partition_counts(target)
        return Counter(
            {day: rows for day, rows in counts.items() if day is not None and (since is None or day >= since)}
        )

    def partition_counts(self, target: Target) -> Counter[date | None]:
        """Rows per ``_run_date`` of a day-partitioned table, the key None counting the rows of no day.

        Read from the log, not the data: every live file is listed with its partition value and its
        ``num_records`` statistic. Only a partition holding a file written without statistics is counted
        from its Parquet footers.
        """
        import pyarrow.compute as pc

        uri = self.uri(target)
        table = self.open_if_exists(uri)
        if table is None:
            return Counter()
        counts: Counter[date | None] = Counter()
        without_statistics: set[date | None] = set()
        for data_file in self.data_files(table).values():
            if PARTITION_COLUMN not in data_file.partition:
                raise ValueError(f"{uri} is not partitioned by {PARTITION_COLUMN}")
            day = data_file.partition[PARTITION_COLUMN]
            if data_file.records is None:
                without_statistics.add(day)
            else:
                counts[day] += data_file.records
        if without_statistics:
            dataset = table.to_pyarrow_dataset()
            field = pc.field(PARTITION_COLUMN)
            for day in without_statistics:
                counts[day] = dataset.count_rows(filter=field.is_null() if day is None else field == day)
        return counts

    # -------------------------------------------------------------------------------------- commits

    def commit(self, target: Target, write: Callable[[], T], log: Callable[[str], None] | None = None) -> tuple[T, int]:
        """Run ``write`` (anything that commits to the table: a write, a ``MERGE``, a restore), running it
        again when it lost a commit race with a concurrent writer, with exponential back-off. ``write``
        must re-read the table on each attempt, so that a retry sees the winner's commit. ``log`` receives
        a line per retry (``context.log.warning``). Returns ``write``'s result and the retries used."""
        return retry_commit_conflicts(
            write,
            what=self.uri(target),
            log=log or (lambda _message: None),
            retries=self.commit_retries,
            backoff_seconds=self.retry_backoff_seconds,
        )
