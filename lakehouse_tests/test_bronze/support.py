"""Helpers shared by the bronze tests (and the fault-injection suite)."""

import socket
from datetime import datetime

from lakehouse.bronze import bronze_assets
from lakehouse.generator import TableSpec
from lakehouse_tests.support import materialize_days


def materialize_bronze(resources, *, partition=None, window=None, assets=None, config=None, raise_on_error=True):
    assets = assets if assets is not None else bronze_assets()
    run_config = {"ops": {a.node_def.name: {"config": config} for a in assets}} if config else None
    return materialize_days(
        assets, resources, partition=partition, window=window, run_config=run_config, raise_on_error=raise_on_error
    )


def bronze_table_name(spec: TableSpec) -> str:
    return {"CUSTOMERS": "customers", "PRODUCTS": "products", "ORDERS": "orders", "ORDER_ITEMS": "order_items"}.get(
        spec.name, spec.name
    )


def locator_of(spec: TableSpec, row: dict) -> tuple:
    """A row's locator, from source-named values (any case), normalized for comparison."""
    values = {k.lower(): v for k, v in row.items()}
    normalized = []
    for name in spec.row_locator:
        value = values.get(name.lower())
        if isinstance(value, str) and spec.column(name).arrow_type.equals(spec.column(spec.change_column).arrow_type):
            value = datetime.fromisoformat(value)
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        normalized.append(value)
    return tuple(normalized)


def manifest_locator(spec: TableSpec, locator: dict) -> tuple:
    normalized = []
    for name in spec.row_locator:
        value = locator[name]
        if isinstance(value, str) and spec.column(name).arrow_type.equals(spec.column(spec.change_column).arrow_type):
            value = datetime.fromisoformat(value)
        normalized.append(value)
    return tuple(normalized)


FAST_RETRIES = {"connect_attempts": 2, "retry_backoff_seconds": 0.01}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the socket is: nothing listens there
