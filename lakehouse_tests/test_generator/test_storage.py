"""Generated data survives the trip to disk, and a new generation replaces the old one."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lakehouse.generator import (
    ALL_TABLES,
    GeneratedData,
    generate,
    read_batches,
    read_generated,
    write_generated,
)
from lakehouse.generator.storage import CONFIG_FILE, MANIFEST_FILE
from lakehouse.settings import HOME_ENV_VAR


def test_written_data_reads_back_identically(dirty_data: GeneratedData, tmp_path: Path) -> None:
    write_generated(dirty_data, tmp_path)
    back = read_generated(tmp_path)
    assert back.config == dirty_data.config
    assert back.defects == dirty_data.defects
    for mine, theirs in zip(dirty_data.batches, back.batches, strict=True):
        for spec in ALL_TABLES:
            assert theirs.rows(spec).equals(mine.rows(spec))
            assert theirs.row_kinds[spec.qualified_name].equals(mine.row_kinds[spec.qualified_name])
    assert len(read_batches(tmp_path, through=dirty_data.config.day(1))) == 2
    assert {batch.generation for batch in back.batches} == {dirty_data.config.fingerprint}
    history = pq.read_table(tmp_path / "truth" / "customer_history.parquet")
    assert history.equals(dirty_data.customer_history())
    lines = (tmp_path / MANIFEST_FILE).read_text().splitlines()
    assert len(lines) == len(dirty_data.defects) and json.loads(lines[0])["table"]


def test_generate_writes_under_lakehouse_home_by_default_and_replaces_stale_days(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(HOME_ENV_VAR, str(tmp_path))
    messages = []
    generate(scale_factor=0.001, days=3, seed=1, progress=lambda message, counts: messages.append(message))
    generate(scale_factor=0.001, days=1, seed=1)
    out = tmp_path / "generated"
    assert json.loads((out / CONFIG_FILE).read_text())["config"]["days"] == 1
    partitions = sorted(path.name for path in (out / "batches" / "RETAIL.SALES.ORDERS").iterdir())
    assert partitions == ["commit_date=2026-01-01"]
    assert any("2026-01-03" in message for message in messages)
