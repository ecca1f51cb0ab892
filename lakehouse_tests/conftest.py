"""Shared fixtures: one engine, one set of local services, one scratch LAKEHOUSE_HOME for the session; a fresh
lake with bronze's resources per test."""

pytest_plugins = [
    "lakehouse_tests.fixtures.bronze",
    "lakehouse_tests.fixtures.engine",
    "lakehouse_tests.fixtures.s3",
    "lakehouse_tests.fixtures.services",
    "lakehouse_tests.fixtures.sources",
]
