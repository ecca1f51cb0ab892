"""The customer base and its change stream (``RETAIL.CRM.CUSTOMERS``).

Day 1 creates the base in a ten-minute initial load. Every day after that new customers sign up, some
customers change a tracked attribute (segment, loyalty tier, city/country or e-mail), a share of them
two or three times in the same day at distinct times, and a few are soft-deleted. Each change writes the
full row image with a new ``UPDATED_AT``; a deleted customer never changes or orders again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.generator import arrow_columns as cols
from lakehouse.generator.clock import DAY, MINUTE, SECOND, day_start, unique_even
from lakehouse.generator.config import GeneratorConfig
from lakehouse.generator.randomness import stream, uniform_micros, weighted_choice
from lakehouse.generator.reference import (
    COUNTRIES,
    COUNTRY_WEIGHTS,
    CURRENCIES,
    EMAIL_DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
    LOYALTY_TIERS,
    SEGMENTS,
)
from lakehouse.generator.specs import CUSTOMERS
from lakehouse.generator.versions import Referable, Versions

INITIAL_LOAD_WINDOW = 10 * MINUTE
_MAX_ACCOUNT_AGE = 5 * 365 * DAY
# Which tracked attribute a change touches, and how often.
_SEGMENT, _TIER, _LOCATION, _EMAIL = range(4)
_CHANGE_WEIGHTS = (25, 35, 20, 20)
# How many changes a changing customer makes in one day: 1, 2 or 3.
_CHANGES_PER_DAY_WEIGHTS = (80, 15, 5)

_CITY_NAMES = tuple(city for _, _, cities in COUNTRIES for city in cities)
_CITY_COUNTRY = np.array([i for i, (_, _, cities) in enumerate(COUNTRIES) for _ in cities], dtype=np.int64)
_FIRST_CITY = np.array([np.flatnonzero(_CITY_COUNTRY == i)[0] for i in range(len(COUNTRIES))], dtype=np.int64)
_CITY_COUNT = np.array([len(cities) for _, _, cities in COUNTRIES], dtype=np.int64)
_COUNTRY_CURRENCY = np.array([CURRENCIES.index(currency) for _, currency, _ in COUNTRIES], dtype=np.int64)
_FIRST_LOWER = tuple(name.lower() for name in FIRST_NAMES)
_LAST_LOWER = tuple(name.lower() for name in LAST_NAMES)
_STATE_FIELDS = (
    "first", "last", "domain", "email_version", "phone", "country", "city", "segment", "tier", "created_at",
)  # fmt: skip


@dataclass
class _Snapshot:
    """Row images taken at one moment: customer positions, their times and the state columns."""

    positions: np.ndarray
    times: np.ndarray
    deleted: np.ndarray
    is_insert: np.ndarray
    state: dict[str, np.ndarray]


class CustomerSimulation:
    """Customer state, advanced one day at a time by ``step``. Customer ids are positions + 1."""

    def __init__(self, config: GeneratorConfig) -> None:
        self._config = config
        self._state: dict[str, np.ndarray] = {name: np.empty(0, dtype=np.int64) for name in _STATE_FIELDS}
        self._last_change = np.empty(0, dtype=np.int64)
        self._created_day = np.empty(0, dtype=np.int64)
        self._deleted = np.empty(0, dtype=bool)

    @property
    def count(self) -> int:
        return self._deleted.size

    def step(self, day_index: int) -> Versions:
        """Write the day's row images: sign-ups, changes and soft deletes."""
        rng = stream(self._config.seed, day_index, "customers")
        volumes = self._config.volumes
        start = day_start(self._config.day(day_index))
        end = start + DAY

        if day_index == 0:
            times = uniform_micros(rng, start, start + INITIAL_LOAD_WINDOW, volumes.base_customers)
            age = uniform_micros(rng, DAY, _MAX_ACCOUNT_AGE, times.size)
            created = (times - age) // SECOND * SECOND
        else:
            times = uniform_micros(rng, start, end, volumes.new_customers_per_day)
            created = times // SECOND * SECOND
        snapshots = [self._sign_up(rng, day_index, times, created)]

        changing = self._choose_changing(rng, volumes.customer_changes_per_day, start, end)
        snapshots.extend(self._change(rng, changing, start, end))
        snapshots.append(self._delete(rng, volumes.customer_deletes_per_day, changing, start, end))
        return self._render(snapshots)

    def orderable(self, day_index: int) -> np.ndarray:
        """Positions of customers who may order or browse on the day (call after ``step``).

        They existed before the day began (on day 1: the initial load, which ends before any order) and
        are not deleted by its end, so every reference is valid at the time it is made.
        """
        existed = (self._created_day < day_index) | (day_index == 0)
        return np.flatnonzero(existed & ~self._deleted)

    def ids(self, positions: np.ndarray) -> np.ndarray:
        return positions.astype(np.int64) + 1

    def referable(self, positions: np.ndarray) -> Referable:
        """Ids with the first day each may be referenced: the initial load at once, later ones the
        day after they were created."""
        created = self._created_day[positions]
        return Referable(self.ids(positions), np.where(created == 0, 0, created + 1))

    def currency_index(self, positions: np.ndarray) -> np.ndarray:
        """Index into ``CURRENCIES`` of each customer's home currency, from the current country."""
        return _COUNTRY_CURRENCY[self._state["country"][positions]]

    def _sign_up(
        self, rng: np.random.Generator, day_index: int, times: np.ndarray, created: np.ndarray
    ) -> _Snapshot:
        n = times.size
        country = weighted_choice(rng, COUNTRY_WEIGHTS, n)
        new_state = {
            "first": rng.integers(0, len(FIRST_NAMES), n),
            "last": rng.integers(0, len(LAST_NAMES), n),
            "domain": rng.integers(0, len(EMAIL_DOMAINS), n),
            "email_version": np.zeros(n, dtype=np.int64),
            "phone": rng.integers(1_000_000_000, 10_000_000_000, n),
            "country": country,
            "city": _FIRST_CITY[country] + rng.integers(0, _CITY_COUNT[country]),
            "segment": weighted_choice(rng, (80, 15, 5), n),
            "tier": weighted_choice(rng, (60, 25, 10, 5), n),
            "created_at": created,
        }
        first = self.count
        for name in _STATE_FIELDS:
            self._state[name] = np.concatenate([self._state[name], new_state[name].astype(np.int64)])
        self._last_change = np.concatenate([self._last_change, times])
        self._created_day = np.concatenate([self._created_day, np.full(n, day_index, dtype=np.int64)])
        self._deleted = np.concatenate([self._deleted, np.zeros(n, dtype=bool)])
        return self._snapshot(np.arange(first, first + n), times, is_insert=True)

    def _choose_changing(self, rng: np.random.Generator, wanted: int, start: int, end: int) -> np.ndarray:
        # Room for three changes a second apart after the customer's last change.
        earliest = np.maximum(start, self._last_change + SECOND)
        candidates = np.flatnonzero(~self._deleted & (earliest < end - MINUTE))
        return np.sort(rng.choice(candidates, size=min(wanted, candidates.size), replace=False))

    def _change(
        self, rng: np.random.Generator, positions: np.ndarray, start: int, end: int
    ) -> list[_Snapshot]:
        """Apply 1-3 changes per customer, in time order, one vectorised round per change."""
        n = positions.size
        changes = weighted_choice(rng, _CHANGES_PER_DAY_WEIGHTS, n) + 1
        earliest = np.maximum(start, self._last_change[positions] + SECOND)
        draws = np.stack([uniform_micros(rng, earliest, end, n) for _ in range(3)], axis=1)
        draws.sort(axis=1)
        snapshots = []
        for round_index in range(3):
            now = changes > round_index
            who, when = positions[now], draws[now, round_index]
            self._apply_change(rng, who)
            self._last_change[who] = when
            snapshots.append(self._snapshot(who, when, is_insert=False))
        return snapshots

    def _apply_change(self, rng: np.random.Generator, who: np.ndarray) -> None:
        attribute = weighted_choice(rng, _CHANGE_WEIGHTS, who.size)
        state = self._state

        # A new value is the current one shifted by 1..size-1 places: always different.
        seg = who[attribute == _SEGMENT]
        shift = rng.integers(1, len(SEGMENTS), seg.size)
        state["segment"][seg] = (state["segment"][seg] + shift) % len(SEGMENTS)

        tier = who[attribute == _TIER]
        shift = rng.integers(1, len(LOYALTY_TIERS), tier.size)
        state["tier"][tier] = (state["tier"][tier] + shift) % len(LOYALTY_TIERS)

        moved = who[attribute == _LOCATION]
        country = weighted_choice(rng, COUNTRY_WEIGHTS, moved.size)
        city = _FIRST_CITY[country] + rng.integers(0, _CITY_COUNT[country])
        # Every country has at least two cities, so a "move" within the same city goes next door.
        same = city == state["city"][moved]
        city[same] = _FIRST_CITY[country[same]] + (city[same] - _FIRST_CITY[country[same]] + 1) % _CITY_COUNT[
            country[same]
        ]
        state["country"][moved] = country
        state["city"][moved] = city

        mail = who[attribute == _EMAIL]
        state["email_version"][mail] += 1
        state["domain"][mail] = rng.integers(0, len(EMAIL_DOMAINS), mail.size)

    def _delete(
        self, rng: np.random.Generator, wanted: int, changing: np.ndarray, start: int, end: int
    ) -> _Snapshot:
        earliest = np.maximum(start, self._last_change + SECOND)
        eligible = ~self._deleted & (earliest < end - MINUTE)
        eligible[changing] = False
        candidates = np.flatnonzero(eligible)
        who = np.sort(rng.choice(candidates, size=min(wanted, candidates.size), replace=False))
        when = uniform_micros(rng, earliest[who], end, who.size)
        self._deleted[who] = True
        self._last_change[who] = when
        return self._snapshot(who, when, is_insert=False)

    def _snapshot(self, positions: np.ndarray, times: np.ndarray, *, is_insert: bool) -> _Snapshot:
        return _Snapshot(
            positions=positions,
            times=times,
            deleted=self._deleted[positions].copy(),
            is_insert=np.full(positions.size, is_insert),
            state={name: self._state[name][positions].copy() for name in _STATE_FIELDS},
        )

    def _render(self, snapshots: list[_Snapshot]) -> Versions:
        positions = np.concatenate([s.positions for s in snapshots])
        state = {name: np.concatenate([s.state[name] for s in snapshots]) for name in _STATE_FIELDS}
        times = unique_even(np.concatenate([s.times for s in snapshots]))
        ids = self.ids(positions)
        version = state["email_version"]
        email_suffix = pc.if_else(pa.array(version > 0), cols.concat(".", cols.int_text(version)), "")
        email = cols.concat(
            cols.pick(_FIRST_LOWER, state["first"]),
            ".",
            cols.pick(_LAST_LOWER, state["last"]),
            cols.int_text(ids),
            email_suffix,
            "@",
            cols.pick(EMAIL_DOMAINS, state["domain"]),
        )
        rows = cols.table(
            CUSTOMERS,
            {
                "CUSTOMER_ID": pa.array(ids),
                "FIRST_NAME": cols.pick(FIRST_NAMES, state["first"]),
                "LAST_NAME": cols.pick(LAST_NAMES, state["last"]),
                "EMAIL": email,
                "PHONE": cols.concat("+", cols.int_text(state["phone"])),
                "COUNTRY_CODE": cols.pick([code for code, _, _ in COUNTRIES], state["country"]),
                "CITY": cols.pick(_CITY_NAMES, state["city"]),
                "SEGMENT": cols.pick(SEGMENTS, state["segment"]),
                "LOYALTY_TIER": cols.pick(LOYALTY_TIERS, state["tier"]),
                "CREATED_AT": cols.second_text(state["created_at"]),
                "UPDATED_AT": cols.timestamps(times),
                "IS_DELETED": pa.array(np.concatenate([s.deleted for s in snapshots])),
            },
        )
        return Versions(rows=rows, is_insert=np.concatenate([s.is_insert for s in snapshots]))
