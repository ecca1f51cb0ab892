"""Counts follow the scale factor."""

from __future__ import annotations

import pyarrow.compute as pc
import pytest

from lakehouse.generator import BEHAVIOR_EVENTS, CUSTOMERS, ORDERS, PRODUCTS, GeneratorConfig, generate_data


def first_day_counts(scale_factor: float) -> dict[str, int]:
    config = GeneratorConfig(
        scale_factor=scale_factor, days=1, seed=3, dirt=0.0, late_rate=0.0, duplicate_rate=0.0
    )
    data = generate_data(config)
    orders = data.valid_rows(ORDERS)
    return {
        "customers": pc.count_distinct(data.valid_rows(CUSTOMERS).column("CUSTOMER_ID")).as_py(),
        "products": pc.count_distinct(data.valid_rows(PRODUCTS).column("PRODUCT_ID")).as_py(),
        "orders": pc.count_distinct(orders.column("ORDER_ID")).as_py(),
        "events": data.valid_rows(BEHAVIOR_EVENTS).num_rows,
    }


def test_counts_scale_linearly_with_the_scale_factor() -> None:
    small, double = first_day_counts(0.005), first_day_counts(0.01)
    assert small == {"customers": 50, "products": 5, "orders": 500, "events": 5_000}
    assert double == {"customers": 100, "products": 10, "orders": 1_000, "events": 10_000}


def test_scale_factor_one_means_the_documented_volumes() -> None:
    volumes = GeneratorConfig(scale_factor=1).volumes
    assert (volumes.base_customers, volumes.base_products) == (10_000, 1_000)
    assert (volumes.orders_per_day, volumes.events_per_day) == (100_000, 1_000_000)


@pytest.mark.parametrize(
    "knobs",
    [{"scale_factor": 0}, {"days": 0}, {"seed": -1}, {"dirt": 0.9}, {"late_rate": -0.1}],
)
def test_nonsense_knobs_are_refused(knobs: dict) -> None:
    with pytest.raises(ValueError):
        GeneratorConfig(**knobs)
