"""Lineage test fixtures: each test starts from an environment without OpenLineage configuration."""

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def isolated_openlineage_environment() -> Iterator[None]:
    """Each test configures OpenLineage itself; the client may add ``OPENLINEAGE__*`` variables of its
    own (it aliases ``OPENLINEAGE_URL``), so every such variable is put back afterwards."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("OPENLINEAGE")}
    for name in saved:
        del os.environ[name]
    yield
    for name in [k for k in os.environ if k.startswith("OPENLINEAGE")]:
        del os.environ[name]
    os.environ.update(saved)
