from __future__ import annotations

import pytest

from lakehouse.io import DeltaSparkIOManager
from lakehouse.lake import Lake


@pytest.fixture
def lake_root(tmp_path) -> str:
    return str(tmp_path / "lake")


@pytest.fixture
def lake(lake_root) -> Lake:
    return Lake(root_uri=lake_root)


@pytest.fixture
def io_manager(engine, lake) -> DeltaSparkIOManager:
    return DeltaSparkIOManager(lake=lake, engine=engine)
