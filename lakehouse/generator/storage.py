"""Generated data on disk (default ``$LAKEHOUSE_HOME/generated``), so tests and the demo can reread it.

Layout::

    generation.json                                   the config and per-batch row counts
    batches/<table>/commit_date=YYYY-MM-DD/rows.parquet  one commit batch of one table: the source
                                                      columns plus ``_row_kind`` (valid | duplicate |
                                                      invalid); hive-partitioned by commit date
    manifest/defects.jsonl                            every injected invalid row (see ``manifest``)
    truth/customer_history.parquet                    every valid customer version, for SCD2 checks

``<table>`` is the qualified source name, e.g. ``RETAIL.SALES.ORDERS``.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lakehouse.generator.config import GeneratorConfig
from lakehouse.generator.manifest import read_manifest, write_manifest
from lakehouse.generator.model import ROW_KIND_COLUMN, ROW_KINDS, CommitBatch, GeneratedData, Progress
from lakehouse.generator.specs import ALL_TABLES
from lakehouse.settings import lakehouse_home

CONFIG_FILE = "generation.json"
BATCHES_DIR = "batches"
MANIFEST_FILE = Path("manifest") / "defects.jsonl"
CUSTOMER_HISTORY_FILE = Path("truth") / "customer_history.parquet"
_FORMAT_VERSION = 1


def default_output_dir() -> Path:
    return lakehouse_home() / "generated"


def batch_path(out_dir: Path, table: str, commit_date: date) -> Path:
    return out_dir / BATCHES_DIR / table / f"commit_date={commit_date.isoformat()}" / "rows.parquet"


def write_generated(data: GeneratedData, out_dir: Path, progress: Progress | None = None) -> Path:
    """Write everything under ``out_dir``, replacing what an earlier generation left there."""
    out_dir = Path(out_dir)
    for stale in (BATCHES_DIR, MANIFEST_FILE.parent, CUSTOMER_HISTORY_FILE.parent):
        shutil.rmtree(out_dir / stale, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)

    for batch in data.batches:
        for table, rows in batch.tables.items():
            path = batch_path(out_dir, table, batch.commit_date)
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(rows.append_column(ROW_KIND_COLUMN, batch.row_kinds[table]), path)
        if progress:
            progress(f"wrote commit batch {batch.commit_date}", batch.counts())
    write_manifest(data.defects, out_dir / MANIFEST_FILE)
    (out_dir / CUSTOMER_HISTORY_FILE).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(data.customer_history(), out_dir / CUSTOMER_HISTORY_FILE)

    config = asdict(data.config) | {"start_date": data.config.start_date.isoformat()}
    summary = {
        "format_version": _FORMAT_VERSION,
        "generation": data.config.fingerprint,
        "config": config,
        "batches": {batch.commit_date.isoformat(): batch.counts() for batch in data.batches},
        "defects": len(data.defects),
    }
    (out_dir / CONFIG_FILE).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return out_dir


def read_config(out_dir: Path) -> GeneratorConfig:
    summary = json.loads((Path(out_dir) / CONFIG_FILE).read_text(encoding="utf-8"))
    raw = summary["config"]
    return GeneratorConfig(**(raw | {"start_date": date.fromisoformat(raw["start_date"])}))


def read_batches(out_dir: Path, through: date | None = None) -> tuple[CommitBatch, ...]:
    """The commit batches written under ``out_dir`` (up to and including ``through``)."""
    config = read_config(out_dir)
    batches = []
    for day_index in range(config.days):
        commit_date = config.day(day_index)
        if through is not None and commit_date > through:
            break
        tables, kinds = {}, {}
        for spec in ALL_TABLES:
            stored = pq.read_table(batch_path(Path(out_dir), spec.qualified_name, commit_date))
            tables[spec.qualified_name] = stored.select(list(spec.column_names)).cast(spec.arrow_schema)
            kinds[spec.qualified_name] = _as_row_kinds(stored.column(ROW_KIND_COLUMN).combine_chunks())
        batches.append(CommitBatch(commit_date, tables, kinds, generation=config.fingerprint))
    return tuple(batches)


def _as_row_kinds(stored: pa.Array) -> pa.DictionaryArray:
    """Re-encode against the canonical dictionary, whatever dictionary Parquet handed back."""
    as_text = stored.dictionary_decode() if pa.types.is_dictionary(stored.type) else stored.cast(pa.string())
    indices = pc.index_in(as_text, value_set=pa.array(ROW_KINDS)).cast(pa.int8())
    return pa.DictionaryArray.from_arrays(indices, pa.array(ROW_KINDS))


def read_generated(out_dir: Path) -> GeneratedData:
    """Everything ``write_generated`` wrote, back in memory."""
    out_dir = Path(out_dir)
    return GeneratedData(
        config=read_config(out_dir),
        batches=read_batches(out_dir),
        defects=read_manifest(out_dir / MANIFEST_FILE),
    )
