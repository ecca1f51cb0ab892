"""Invalid rows, injected on purpose so quality gates can be proven to stop exactly them.

Dirt is additive: each invalid row is a copy of one valid row of the same change day, with exactly one
defect, so the valid data is identical whatever the dirt rate (a run with dirt must end with the same
silver and gold as a run without). The copy gets a locator no valid row has: its ``row_locator``
timestamp moves one microsecond later (valid change columns are even microseconds, see ``clock``), and
an append-only row also gets a fresh id. A copy whose change column is nulled gets a key no other row
has (from ``reference.UNDATED_KEY_BASE`` up, made from its unique locator timestamp), since that column
no longer tells it apart. The copy is committed with its source row, so it can be late.

What each kind means, i.e. the rule a check must apply to flag it (valid rows never break one):

* ``null_key``: a primary-key column is NULL.
* ``unparsable_number``: a text-encoded integer column does not read as ``-?[0-9]+``.
* ``unparsable_date``: a text-encoded timestamp column does not read as a valid
  ``YYYY-MM-DD HH:MM:SS``.
* ``negative_amount``: a money column is below zero.
* ``negative_quantity``: a quantity reads as an integer below one.
* ``unknown_enum``: a coded column holds a value outside ``reference.ENUM_DOMAINS``.
* ``future_timestamp``: a timestamp lies after the row's own change column (nothing happens after the
  row describing it was written); injected values are at least 30 days after it.
* ``malformed_email``: not ``[^@\\s]+@[^@\\s]+\\.[^@\\s]+``.
* ``bad_country_code``: not two upper-case letters (valid rows use real ISO-3166 alpha-2 codes).
* ``bad_currency_code``: not three upper-case letters (valid rows use real ISO-4217 codes).
* ``orphan_foreign_key``: a reference to an id that never exists (ids from
  ``reference.ORPHAN_ID_BASE`` upward).
* ``null_change``: the change column is NULL, so the row belongs to no day and no incremental window
  ever selects it.
* ``future_change``: the change column lies after the end of the day the row was committed (no source
  commits a change before it happens); injected values are the row's own change value plus 30 years
  (30 * 365 days), so they stay unique and lie ahead of any present-day clock.

The last two are not contract rules: bronze places such rows in no day and quarantines them with
``_run_date`` NULL (``lakehouse.bronze.placement``), whichever run extracts them after their commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.generator import arrow_columns as cols
from lakehouse.generator.clock import DAY
from lakehouse.generator.config import GeneratorConfig
from lakehouse.generator.manifest import Defect, locator_value, text_value
from lakehouse.generator.randomness import stochastic_count
from lakehouse.generator.reference import ORPHAN_ID_BASE, UNDATED_KEY_BASE
from lakehouse.generator.specs import BEHAVIOR_EVENTS, CUSTOMERS, ORDER_ITEMS, ORDERS, PRODUCTS, TableSpec


class DefectKind(str, Enum):
    NULL_KEY = "null_key"
    UNPARSABLE_NUMBER = "unparsable_number"
    UNPARSABLE_DATE = "unparsable_date"
    NEGATIVE_AMOUNT = "negative_amount"
    NEGATIVE_QUANTITY = "negative_quantity"
    UNKNOWN_ENUM = "unknown_enum"
    FUTURE_TIMESTAMP = "future_timestamp"
    MALFORMED_EMAIL = "malformed_email"
    BAD_COUNTRY_CODE = "bad_country_code"
    BAD_CURRENCY_CODE = "bad_currency_code"
    ORPHAN_FOREIGN_KEY = "orphan_foreign_key"
    NULL_CHANGE = "null_change"
    FUTURE_CHANGE = "future_change"


K = DefectKind
# Which defects each table can carry, and in which column. Every target is used about equally often.
DEFECT_TARGETS: MappingProxyType[str, tuple[tuple[DefectKind, str], ...]] = MappingProxyType(
    {
        CUSTOMERS.qualified_name: (
            (K.NULL_KEY, "CUSTOMER_ID"),
            (K.UNPARSABLE_DATE, "CREATED_AT"),
            (K.FUTURE_TIMESTAMP, "CREATED_AT"),
            (K.MALFORMED_EMAIL, "EMAIL"),
            (K.BAD_COUNTRY_CODE, "COUNTRY_CODE"),
            (K.UNKNOWN_ENUM, "SEGMENT"),
            (K.UNKNOWN_ENUM, "LOYALTY_TIER"),
            (K.NULL_CHANGE, "UPDATED_AT"),
            (K.FUTURE_CHANGE, "UPDATED_AT"),
        ),
        PRODUCTS.qualified_name: (
            (K.NULL_KEY, "PRODUCT_ID"),
            (K.NEGATIVE_AMOUNT, "UNIT_PRICE"),
            (K.BAD_CURRENCY_CODE, "CURRENCY"),
            (K.NULL_CHANGE, "UPDATED_AT"),
            (K.FUTURE_CHANGE, "UPDATED_AT"),
        ),
        ORDERS.qualified_name: (
            (K.NULL_KEY, "ORDER_ID"),
            (K.ORPHAN_FOREIGN_KEY, "CUSTOMER_ID"),
            (K.FUTURE_TIMESTAMP, "ORDER_TS"),
            (K.UNKNOWN_ENUM, "STATUS"),
            (K.UNKNOWN_ENUM, "CHANNEL"),
            (K.BAD_CURRENCY_CODE, "CURRENCY"),
            (K.NEGATIVE_AMOUNT, "TOTAL_AMOUNT"),
            (K.NULL_CHANGE, "UPDATED_AT"),
            (K.FUTURE_CHANGE, "UPDATED_AT"),
        ),
        ORDER_ITEMS.qualified_name: (
            (K.NULL_KEY, "ORDER_ID"),
            (K.ORPHAN_FOREIGN_KEY, "PRODUCT_ID"),
            (K.UNPARSABLE_NUMBER, "QUANTITY"),
            (K.NEGATIVE_QUANTITY, "QUANTITY"),
            (K.NEGATIVE_AMOUNT, "UNIT_PRICE"),
            (K.NEGATIVE_AMOUNT, "DISCOUNT_AMOUNT"),
            (K.NULL_CHANGE, "UPDATED_AT"),
            (K.FUTURE_CHANGE, "UPDATED_AT"),
        ),
        BEHAVIOR_EVENTS.qualified_name: (
            (K.NULL_KEY, "event_id"),
            (K.ORPHAN_FOREIGN_KEY, "customer_id"),
            (K.ORPHAN_FOREIGN_KEY, "product_id"),
            (K.UNKNOWN_ENUM, "event_type"),
            (K.UNKNOWN_ENUM, "device"),
            (K.FUTURE_TIMESTAMP, "event_ts"),
            (K.NULL_CHANGE, "loaded_at"),
            (K.FUTURE_CHANGE, "loaded_at"),
        ),
    }
)

UNPARSABLE_NUMBERS = ("two", "3 pcs", "N/A", "1,2,3", "??", "--1")
UNPARSABLE_DATES = ("not a date", "N/A", "2025-13-45 25:61:00", "0000-00-00 00:00:00", "??", "TBD")
BAD_COUNTRY_CODES = ("USA", "GER", "U1", "12", "U.S.", "--")
BAD_CURRENCY_CODES = ("US$", "EURO", "DOLLAR", "E", "12", "U.S.D")
UNKNOWN_ENUM_VALUES: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        "SEGMENT": ("vip", "government", "reseller"),
        "LOYALTY_TIER": ("diamond", "bronze", "titanium"),
        "STATUS": ("pending_review", "on_hold", "lost"),
        "CHANNEL": ("kiosk", "phone", "marketplace"),
        "event_type": ("hover", "scroll", "wishlist_add"),
        "device": ("smart_tv", "console", "watch"),
    }
)
# (prefix, keep the original local part?, suffix): each breaks local@domain.tld in its own way.
_BROKEN_EMAILS = (
    ("", True, ".example.com"),
    ("", True, "@"),
    ("@example.com", False, ""),
    ("", True, "@@example.com"),
    ("", True, " @example.com"),
    ("", True, "@example"),
)
_MIN_FUTURE = 30 * DAY
_LOCATOR_FUTURE = 400 * DAY
FUTURE_CHANGE_OFFSET = 30 * 365 * DAY
# The key column a NULL change column's copy gets afresh: the key itself, except for order lines, whose
# ORDER_ID must still reference an order (one defect per row), so their line number is the fresh part.
_UNDATED_KEY_COLUMN = MappingProxyType(
    {
        CUSTOMERS.qualified_name: "CUSTOMER_ID",
        PRODUCTS.qualified_name: "PRODUCT_ID",
        ORDERS.qualified_name: "ORDER_ID",
        ORDER_ITEMS.qualified_name: "LINE_NUMBER",
    }
)
_LINE_SLOTS = 10  # orders have 1-5 lines (``orders``); a fresh line number keeps the line in its last digit


@dataclass(frozen=True)
class InjectedRows:
    rows: pa.Table
    commit_days: np.ndarray
    defects: tuple[Defect, ...]
    next_target: int


def inject_defects(
    spec: TableSpec,
    valid: pa.Table,
    commit_days: np.ndarray,
    config: GeneratorConfig,
    rng: np.random.Generator,
    first_target: int = 0,
) -> InjectedRows:
    """Invalid copies of about ``config.dirt`` of ``valid`` (one change day of one table).

    Targets are dealt in turn, starting at ``first_target`` and continuing with ``next_target`` the
    next day, so even a tiny table gets every kind of defect once it has as many invalid rows.
    """
    count = min(valid.num_rows, stochastic_count(rng, valid.num_rows * config.dirt))
    if count == 0:
        return InjectedRows(spec.arrow_schema.empty_table(), np.empty(0, dtype=np.int64), (), first_target)
    source = np.sort(rng.choice(valid.num_rows, size=count, replace=False))
    columns = {name: valid.column(name).take(pa.array(source)).combine_chunks() for name in spec.column_names}

    shifted = next(name for name in spec.row_locator if pa.types.is_timestamp(spec.column(name).arrow_type))
    columns[shifted] = pc.add(columns[shifted], pa.scalar(1, pa.duration("us")))
    located = columns[shifted]  # unique per copy (with the line number for order lines), whatever is nulled
    if spec.append_only:
        (key,) = spec.primary_key
        columns[key] = cols.uuid_strings(rng, count)

    targets = DEFECT_TARGETS[spec.qualified_name]
    assignment = ((first_target + np.arange(count)) % len(targets))[rng.permutation(count)]
    for target, (kind, column) in enumerate(targets):
        chosen = np.flatnonzero(assignment == target)
        if chosen.size == 0:
            continue
        bad = _bad_values(kind, spec, column, columns, chosen, rng)
        mask = np.zeros(count, dtype=bool)
        mask[chosen] = True
        columns[column] = pc.replace_with_mask(columns[column], pa.array(mask), bad)
        if kind == K.NULL_CHANGE and not spec.append_only:
            key = _UNDATED_KEY_COLUMN[spec.qualified_name]
            fresh = _undated_keys(spec, located, columns, chosen)
            columns[key] = pc.replace_with_mask(columns[key], pa.array(mask), fresh)

    rows = cols.table(spec, columns)
    days = commit_days[source]
    defects = _manifest(spec, rows, days, assignment, targets, config)
    return InjectedRows(rows, days, defects, (first_target + count) % len(targets))


def _undated_keys(
    spec: TableSpec, located: pa.Array, columns: dict[str, pa.Array], chosen: np.ndarray
) -> pa.Array:
    """Keys no other row has, for the ``chosen`` copies whose change column is nulled, made from their
    ``located`` timestamps (odd microseconds, unique per table; per line of an order version for order lines)."""
    picked = pa.array(chosen)
    fresh = located.take(picked).cast(pa.int64()).to_numpy()
    if spec.qualified_name == ORDER_ITEMS.qualified_name:
        line = columns["LINE_NUMBER"].take(picked).to_numpy()
        if line.max() >= _LINE_SLOTS:
            raise ValueError(f"order lines beyond {_LINE_SLOTS - 1} do not fit a fresh line number")
        fresh = fresh * _LINE_SLOTS + line
    return pa.array(UNDATED_KEY_BASE + fresh, pa.int64())


def _bad_values(
    kind: DefectKind,
    spec: TableSpec,
    column: str,
    columns: dict[str, pa.Array],
    chosen: np.ndarray,
    rng: np.random.Generator,
) -> pa.Array:
    n = chosen.size
    original = columns[column].take(pa.array(chosen))

    def choose(values: tuple[str, ...]) -> pa.Array:
        return cols.pick(values, rng.integers(0, len(values), n))

    if kind in (K.NULL_KEY, K.NULL_CHANGE):
        return pa.nulls(n, original.type)
    if kind == K.UNPARSABLE_NUMBER:
        return choose(UNPARSABLE_NUMBERS)
    if kind == K.UNPARSABLE_DATE:
        return choose(UNPARSABLE_DATES)
    if kind == K.NEGATIVE_AMOUNT:
        return cols.money(-(np.abs(cols.cents(original)) + rng.integers(1, 1000, n)))
    if kind == K.NEGATIVE_QUANTITY:
        return cols.int_text(-rng.integers(1, 6, n))
    if kind == K.UNKNOWN_ENUM:
        return choose(UNKNOWN_ENUM_VALUES[column])
    if kind == K.BAD_COUNTRY_CODE:
        return choose(BAD_COUNTRY_CODES)
    if kind == K.BAD_CURRENCY_CODE:
        return choose(BAD_CURRENCY_CODES)
    if kind == K.ORPHAN_FOREIGN_KEY:
        return pa.array(ORPHAN_ID_BASE + rng.integers(0, 1_000_000_000, n))
    if kind == K.MALFORMED_EMAIL:
        local = pc.list_element(pc.split_pattern(original, "@"), 0)
        shape = rng.integers(0, len(_BROKEN_EMAILS), n)
        nothing = pa.repeat(pa.scalar("", pa.string()), n)
        variants = pa.concat_arrays(
            [cols.concat(before, local if keep else nothing, after) for before, keep, after in _BROKEN_EMAILS]
        )
        return variants.take(pa.array(shape * n + np.arange(n)))
    if kind == K.FUTURE_TIMESTAMP:
        if column in spec.row_locator:
            # A fixed offset keeps the moved locator distinct from every other row's.
            future = original.cast(pa.int64()).to_numpy() + _LOCATOR_FUTURE
        else:
            changed = columns[spec.change_column].take(pa.array(chosen)).cast(pa.int64()).to_numpy()
            future = changed + _MIN_FUTURE + rng.integers(0, 365 * DAY, n)
        return cols.second_text(future) if original.type == pa.string() else cols.timestamps(future)
    if kind == K.FUTURE_CHANGE:
        return cols.timestamps(original.cast(pa.int64()).to_numpy() + FUTURE_CHANGE_OFFSET)
    raise ValueError(f"no injector for {kind}")


def _manifest(
    spec: TableSpec,
    rows: pa.Table,
    commit_days: np.ndarray,
    assignment: np.ndarray,
    targets: tuple[tuple[DefectKind, str], ...],
    config: GeneratorConfig,
) -> tuple[Defect, ...]:
    """One manifest entry per invalid row (a per-row loop, but only over the injected rows)."""
    changes = rows.column(spec.change_column).to_pylist()
    keys = {name: rows.column(name).to_pylist() for name in spec.primary_key}
    locators = {name: rows.column(name).to_pylist() for name in spec.row_locator}
    values = {column: rows.column(column).to_pylist() for _, column in targets}
    defects = []
    for i, target in enumerate(assignment):
        kind, column = targets[target]
        defects.append(
            Defect(
                table=spec.qualified_name,
                kind=kind.value,
                column=column,
                bad_value=text_value(values[column][i]),
                key={name: locator_value(keys[name][i]) for name in spec.primary_key},
                locator={name: locator_value(locators[name][i]) for name in spec.row_locator},
                change_date=None if changes[i] is None else changes[i].date(),
                commit_date=config.day(int(commit_days[i])),
            )
        )
    return tuple(defects)
