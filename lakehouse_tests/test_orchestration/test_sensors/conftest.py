"""Private source services holding generated data day by day.

The sensor tests change what the sources hold (day 1, then day 2, ...), so they run their own fakesnow
and PostgreSQL rather than the session's shared ones, whose contents other test modules rely on.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lakehouse_tests.test_orchestration.test_sensors.support import CONFIG, Sources, private_sources


@pytest.fixture(scope="module")
def sources() -> Iterator[Sources]:
    with private_sources("lakehouse-sensor-tests-", CONFIG) as held:
        yield held
