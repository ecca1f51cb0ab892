"""Private source services holding generated data day by day.

The sensor tests change what the sources hold (day 1, then day 2, ...), so they run their own fakesnow
and PostgreSQL rather than the session's shared ones, whose contents other test modules rely on.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from lakehouse.generator import generate_data
from lakehouse.services import LocalServices
from lakehouse.settings import DEPLOYMENT_ENV_VAR, Deployment
from lakehouse_tests.fixtures.services import scratch_home
from lakehouse_tests.test_orchestration.test_sensors.support import CONFIG, Sources


@pytest.fixture(scope="module")
def sources() -> Iterator[Sources]:
    home = scratch_home("lakehouse-sensor-tests-")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DEPLOYMENT_ENV_VAR, Deployment.LOCAL.value)
        services = LocalServices(home=home)
        services.up()
        try:
            yield Sources(services, generate_data(CONFIG))
        finally:
            services.down()
            shutil.rmtree(home, ignore_errors=True)
