"""Small generated datasets shared by the generator tests, and a throwaway PostgreSQL for the loaders."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg2.extensions
import pytest

from lakehouse.generator import GeneratedData, generate_data
from lakehouse.services.postgres import PostgresService
from lakehouse.services.state import LOOPBACK, free_port
from lakehouse_tests.test_generator.support import DIRTY, SMALL



@pytest.fixture(scope="session")
def clean_data() -> GeneratedData:
    return generate_data(SMALL)


@pytest.fixture(scope="session")
def dirty_data() -> GeneratedData:
    return generate_data(DIRTY)


@pytest.fixture(scope="session")
def generator_postgres_dsn() -> Iterator[str]:
    """A private PostgreSQL on loopback TCP for the Redshift loader tests, started the way the local
    services start theirs, but apart from them so no other test's data meets ours.

    Its files are not under pytest's temporary root: run as root, PostgreSQL runs as an unprivileged
    user, and every pytest session starting meanwhile resets that root to mode 0700, locking it out.
    """
    with tempfile.TemporaryDirectory(prefix="lakehouse-generator-") as services_dir:
        service = PostgresService(Path(services_dir))
        host, port = LOOPBACK, free_port()
        pid = service.start(host, port)
        try:
            yield psycopg2.extensions.make_dsn(**service.connect_kwargs(host, port, database="postgres"))
        finally:
            service.stop(pid)
