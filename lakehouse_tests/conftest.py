"""Session-wide fixtures: one engine, one set of local services, one scratch LAKEHOUSE_HOME."""

pytest_plugins = [
    "lakehouse_tests.fixtures.engine",
    "lakehouse_tests.fixtures.s3",
    "lakehouse_tests.fixtures.services",
    "lakehouse_tests.fixtures.sources",
]
