"""The product catalogue and its change stream (``RETAIL.CATALOG.PRODUCTS``).

Day 1 loads the catalogue; every day after that a few products are added, some prices change and a few
products are withdrawn from sale (``IS_ACTIVE = FALSE``). Prices are kept in US cents.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.generator import arrow_columns as cols
from lakehouse.generator.clock import DAY, MINUTE, SECOND, day_start, unique_even
from lakehouse.generator.config import GeneratorConfig
from lakehouse.generator.customers import INITIAL_LOAD_WINDOW
from lakehouse.generator.randomness import stream, uniform_micros
from lakehouse.generator.reference import ADJECTIVES, BRANDS, CATALOG_CURRENCY, CATEGORIES
from lakehouse.generator.specs import PRODUCTS
from lakehouse.generator.versions import Referable, Versions

_CATEGORY_NAMES = tuple(name for name, _ in CATEGORIES)
_NOUNS = tuple(noun for _, nouns in CATEGORIES for noun in nouns)
_NOUN_CATEGORY = np.array([i for i, (_, nouns) in enumerate(CATEGORIES) for _ in nouns], dtype=np.int64)


class ProductSimulation:
    """Catalogue state, advanced one day at a time by ``step``. Product ids are positions + 1."""

    def __init__(self, config: GeneratorConfig) -> None:
        self._config = config
        self._noun = np.empty(0, dtype=np.int64)
        self._brand = np.empty(0, dtype=np.int64)
        self._adjective = np.empty(0, dtype=np.int64)
        self._price = np.empty(0, dtype=np.int64)
        self._active = np.empty(0, dtype=bool)
        self._created_day = np.empty(0, dtype=np.int64)
        self._day_start_price = np.empty(0, dtype=np.int64)

    def step(self, day_index: int) -> Versions:
        """Write the day's row images: additions, price changes and withdrawals."""
        rng = stream(self._config.seed, day_index, "products")
        volumes = self._config.volumes
        start = day_start(self._config.day(day_index))
        end = start + DAY

        if day_index == 0:
            added_at = uniform_micros(rng, start, start + INITIAL_LOAD_WINDOW, volumes.base_products)
        else:
            added_at = uniform_micros(rng, start, end, volumes.new_products_per_day)
        existing = np.flatnonzero(self._active)
        self._day_start_price = self._price.copy()
        added = self._add(rng, day_index, added_at.size)
        if day_index == 0:
            self._day_start_price = self._price.copy()

        # Existing products change at most once a day: either a new price or a withdrawal.
        chosen = rng.choice(
            existing,
            size=min(existing.size, volumes.price_changes_per_day + volumes.product_withdrawals_per_day),
            replace=False,
        )
        repriced = np.sort(chosen[: min(chosen.size, volumes.price_changes_per_day)])
        withdrawn = np.sort(chosen[repriced.size :])
        factor = rng.uniform(0.8, 1.2, repriced.size)
        new_price = np.maximum(99, np.round(self._price[repriced] * factor).astype(np.int64))
        new_price[new_price == self._price[repriced]] += 100
        self._price[repriced] = new_price
        self._active[withdrawn] = False
        lower = start + (INITIAL_LOAD_WINDOW if day_index == 0 else 0) + SECOND
        changed_at = uniform_micros(rng, lower, end - MINUTE, repriced.size + withdrawn.size)

        positions = np.concatenate([added, repriced, withdrawn])
        times = unique_even(np.concatenate([added_at, changed_at]))
        is_insert = np.arange(positions.size) < added.size
        return Versions(rows=self._render(positions, times), is_insert=is_insert)

    def sellable(self, day_index: int) -> np.ndarray:
        """Positions of products that may be ordered on the day (call after ``step``): listed before the
        day began (or in day 1's initial load) and still active."""
        listed = (self._created_day < day_index) | (day_index == 0)
        return np.flatnonzero(listed & self._active)

    def ids(self, positions: np.ndarray) -> np.ndarray:
        return positions.astype(np.int64) + 1

    def referable(self, positions: np.ndarray) -> Referable:
        """Ids with the first day each may be referenced: the initial load at once, later ones the
        day after they were created."""
        created = self._created_day[positions]
        return Referable(self.ids(positions), np.where(created == 0, 0, created + 1))

    def day_start_price(self, positions: np.ndarray) -> np.ndarray:
        """Price in US cents at the start of the day; orders use it all day."""
        return self._day_start_price[positions]

    def _add(self, rng: np.random.Generator, day_index: int, n: int) -> np.ndarray:
        first = self._price.size
        # Log-normal list prices around $30, in "charm" form ($29.99).
        dollars = np.clip(np.round(np.exp(rng.normal(np.log(30.0), 0.9, n))), 2, 2500).astype(np.int64)
        self._noun = np.concatenate([self._noun, rng.integers(0, len(_NOUNS), n)])
        self._brand = np.concatenate([self._brand, rng.integers(0, len(BRANDS), n)])
        self._adjective = np.concatenate([self._adjective, rng.integers(0, len(ADJECTIVES), n)])
        self._price = np.concatenate([self._price, dollars * 100 - 1])
        self._active = np.concatenate([self._active, np.ones(n, dtype=bool)])
        self._created_day = np.concatenate([self._created_day, np.full(n, day_index, dtype=np.int64)])
        return np.arange(first, first + n)

    def _render(self, positions: np.ndarray, times: np.ndarray) -> pa.Table:
        ids = self.ids(positions)
        brand = cols.pick(BRANDS, self._brand[positions])
        return cols.table(
            PRODUCTS,
            {
                "PRODUCT_ID": pa.array(ids),
                "SKU": cols.concat("SKU-", pc.utf8_lpad(cols.int_text(ids), 6, padding="0")),
                "PRODUCT_NAME": cols.concat(
                    brand,
                    " ",
                    cols.pick(ADJECTIVES, self._adjective[positions]),
                    " ",
                    cols.pick(_NOUNS, self._noun[positions]),
                ),
                "CATEGORY": cols.pick(_CATEGORY_NAMES, _NOUN_CATEGORY[self._noun[positions]]),
                "BRAND": brand,
                "UNIT_PRICE": cols.money(self._price[positions]),
                "CURRENCY": pa.repeat(pa.scalar(CATALOG_CURRENCY, pa.string()), positions.size),
                "IS_ACTIVE": pa.array(self._active[positions]),
                "UPDATED_AT": cols.timestamps(times),
            },
        )
