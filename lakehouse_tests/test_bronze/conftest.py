"""A fresh lake per test: the bronze tests read it as ``lake_root``; ``bronze_resources`` write to it
(``lakehouse_tests/fixtures/bronze.py``)."""

import pytest


@pytest.fixture
def lake_root(bronze_lake_root) -> str:
    return bronze_lake_root
