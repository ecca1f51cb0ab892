"""The days and assets ``lakehouse backfill`` runs: a range of partitions, and a selection with what lies
downstream of it, resolved against the code location's definitions."""

from datetime import date

import pytest

from lakehouse.definitions import defs as build_definitions
from lakehouse.operations.runs import day_range, resolve_selection


@pytest.fixture(scope="module")
def definitions(local_services):
    return build_definitions()


def test_day_range_is_inclusive_and_refuses_days_without_a_partition():
    first, last = date(2026, 1, 1), date(2026, 1, 3)
    assert day_range(first, last) == [first, date(2026, 1, 2), last]
    with pytest.raises(ValueError, match="ends .* before it starts"):
        day_range(date(2026, 1, 3), date(2026, 1, 1))
    with pytest.raises(ValueError, match="2025-12-31 is not a partition: partitions run from 2026-01-01"):
        day_range(date(2025, 12, 31), date(2026, 1, 1))
    with pytest.raises(ValueError, match="is not a partition"):
        day_range(date(2026, 1, 1), date(2999, 1, 1))


def test_a_selection_takes_downstream_assets_and_multi_asset_neighbours(definitions):
    keys = {key.to_user_string() for key in resolve_selection(definitions, ["bronze/orders+"])}
    # bronze and quarantine are one multi-asset; order_items validates its foreign key against orders
    assert {"bronze/orders", "quarantine/orders", "bronze/order_items", "quarantine/order_items"} <= keys
    silver = {"silver/orders", "silver/customer_activity"}
    downstream = silver | {"gold/fact_orders", "gold/fact_customer_activity"}
    assert downstream <= keys
    assert "gold/dim_customer" not in keys and "bronze/customers" not in keys
    only = resolve_selection(definitions, ["gold/dim_customer"])
    assert [key.to_user_string() for key in only] == ["gold/dim_customer"]
    assert resolve_selection(definitions, []) is None
    with pytest.raises(ValueError, match="no asset gold/nope"):
        resolve_selection(definitions, ["gold/nope+"])
