"""The local Redshift (embedded PostgreSQL) through dagster-aws's resource and plain psycopg2."""

from __future__ import annotations

import psycopg2

from lakehouse.services import LocalServices
from lakehouse.resources import redshift_resource


def test_resource_runs_queries_in_analytics_web(local_services: LocalServices) -> None:
    client = redshift_resource().get_client()
    client.execute_query(
        "CREATE TABLE web.resource_probe"
        " (event_id VARCHAR PRIMARY KEY, customer_id BIGINT, loaded_at TIMESTAMP)"
    )
    client.execute_query(
        "INSERT INTO web.resource_probe VALUES ('e1', 7, '2024-01-02 03:04:05'), ('e2', NULL, '2024-01-03')"
    )
    rows = client.execute_query(
        "SELECT event_id, customer_id FROM web.resource_probe ORDER BY event_id", fetch_results=True
    )
    assert rows == [("e1", 7), ("e2", None)]
    assert client.execute_query("SELECT current_database()", fetch_results=True) == [("analytics",)]


def test_dsn_connects_over_loopback_tcp(local_services: LocalServices) -> None:
    with psycopg2.connect(local_services.postgres_dsn()) as connection:
        with connection.cursor() as cursor:
            cursor.execute("SELECT host(inet_server_addr()), inet_server_port(), version()")
            address, port, version = cursor.fetchone()
    connection.close()
    assert address == "127.0.0.1"
    assert port == local_services.redshift_address()[1]
    assert version.startswith("PostgreSQL ")
