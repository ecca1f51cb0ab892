from __future__ import annotations

import pytest

from lakehouse.io import DeltaSparkIOManager


@pytest.fixture
def lake_root(tmp_path) -> str:
    return str(tmp_path / "lake")


@pytest.fixture
def io_manager(engine, lake_root) -> DeltaSparkIOManager:
    return DeltaSparkIOManager(root_uri=lake_root, engine=engine)
