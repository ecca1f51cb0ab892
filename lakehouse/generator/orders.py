"""Orders and their lines (``RETAIL.SALES.ORDERS``, ``RETAIL.SALES.ORDER_ITEMS``).

Every order is placed with 1-5 lines and then moves through its life cycle on later rows of its own:
placed -> paid -> shipped -> delivered (-> returned), or placed -> cancelled. Each status change writes a
new order row image with a new ``UPDATED_AT``, often on a later day. Lines are written with the placed
row and share its ``UPDATED_AT``; a coupon applied at payment rewrites line 1 (with the paid row's
``UPDATED_AT``) and lowers the order total. Amounts are in the customer's home currency.

Orders still open at the end of a day carry over in a small structure-of-arrays; finished orders are
dropped from it, so a later day costs about the same as the first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from lakehouse.generator import arrow_columns as cols
from lakehouse.generator.clock import DAY, HOUR, MINUTE, SECOND, day_start, unique_even
from lakehouse.generator.config import GeneratorConfig
from lakehouse.generator.customers import INITIAL_LOAD_WINDOW
from lakehouse.generator.randomness import stream, uniform_micros, weighted_choice
from lakehouse.generator.reference import CHANNELS, CURRENCIES, FX_PER_USD, ORDER_STATUSES
from lakehouse.generator.specs import ORDER_ITEMS, ORDERS
from lakehouse.generator.versions import Versions

PLACED, PAID, SHIPPED, DELIVERED, CANCELLED, RETURNED = (
    ORDER_STATUSES.index(name) for name in ("placed", "paid", "shipped", "delivered", "cancelled", "returned")
)
_FINISHED = -1
_CANCEL_RATE = 0.04
_RETURN_RATE = 0.03
_COUPON_RATE = 0.02
_DISCOUNTED_LINE_RATE = 0.2
_LINES_WEIGHTS = (40, 25, 15, 12, 8)  # 1..5 lines
_QUANTITY_WEIGHTS = (70, 20, 7, 3)  # 1..4 units
_CHANNEL_WEIGHTS = (50, 35, 15)
_FX = np.array([FX_PER_USD[c] for c in CURRENCIES])
_ZERO_DECIMAL = np.array([c == "JPY" for c in CURRENCIES])
_OPEN_FIELDS = (
    "order_id", "customer_id", "order_ts", "channel", "currency", "total", "status", "next_status",
    "next_time", "coupon", "line1_product", "line1_quantity", "line1_price", "line1_discount",
)  # fmt: skip
_VERSION_FIELDS = ("order_id", "customer_id", "order_ts", "status", "channel", "currency", "total", "time")
_ITEM_FIELDS = ("version", "order_id", "line", "product_id", "quantity", "price", "discount")


@dataclass(frozen=True)
class Buyers:
    """Who may order today: customer ids and the index of each one's currency in ``CURRENCIES``."""

    ids: np.ndarray
    currency: np.ndarray


@dataclass(frozen=True)
class Goods:
    """What may be bought today: product ids and their prices in US cents."""

    ids: np.ndarray
    price_usd: np.ndarray


@dataclass(frozen=True)
class OrdersDay:
    """One change day of orders and lines; ``item_version`` maps each line row to the order row that
    wrote it, so a line is committed together with its order row."""

    orders: Versions
    items: pa.Table
    item_version: np.ndarray


def _round_money(amount: np.ndarray, currency: np.ndarray) -> np.ndarray:
    """Round cent amounts to what the currency can express (whole yen have no cents)."""
    whole = np.round(amount).astype(np.int64)
    return np.where(_ZERO_DECIMAL[currency], np.round(amount / 100).astype(np.int64) * 100, whole)


class OrderSimulation:
    def __init__(self, config: GeneratorConfig) -> None:
        self._config = config
        self._open: dict[str, np.ndarray] = {name: np.empty(0, dtype=np.int64) for name in _OPEN_FIELDS}
        self._next_order_id = 1

    def step(self, day_index: int, buyers: Buyers, goods: Goods) -> OrdersDay:
        """Place the day's orders and advance every open order through the day.

        ``buyers`` and ``goods`` were all committed before the day began, so every reference is valid.
        """
        rng = stream(self._config.seed, day_index, "orders")
        start = day_start(self._config.day(day_index))
        end = start + DAY
        earliest = start + INITIAL_LOAD_WINDOW if day_index == 0 else start

        versions: list[dict[str, np.ndarray]] = []
        items: list[dict[str, np.ndarray]] = []
        placed, placed_items = self._place(rng, earliest, end, buyers, goods)
        versions.append(placed)
        items.append(placed_items)
        emitted = placed["time"].size

        while True:
            due = np.flatnonzero((self._open["next_status"] != _FINISHED) & (self._open["next_time"] < end))
            if due.size == 0:
                break
            version, coupon_items = self._advance(rng, due, first_version=emitted)
            versions.append(version)
            items.append(coupon_items)
            emitted += version["time"].size

        keep = self._open["next_status"] != _FINISHED
        self._open = {name: values[keep] for name, values in self._open.items()}
        return self._render(versions, items, inserts=placed["time"].size)

    def _place(
        self, rng: np.random.Generator, earliest: int, end: int, buyers: Buyers, goods: Goods
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        n = self._config.volumes.orders_per_day if buyers.ids.size and goods.ids.size else 0
        buyer = rng.integers(0, max(buyers.ids.size, 1), n)
        currency = buyers.currency[buyer]
        order_ts = uniform_micros(rng, earliest, end, n)
        order_id = self._next_order_id + np.arange(n, dtype=np.int64)
        self._next_order_id += n

        lines = weighted_choice(rng, _LINES_WEIGHTS, n) + 1
        first_line = np.cumsum(lines) - lines
        owner = np.repeat(np.arange(n), lines)
        line = np.arange(owner.size) - first_line[owner] + 1
        product = rng.integers(0, max(goods.ids.size, 1), owner.size)
        quantity = weighted_choice(rng, _QUANTITY_WEIGHTS, owner.size) + 1
        price = _round_money(goods.price_usd[product] * _FX[currency[owner]], currency[owner])
        gross = quantity * price
        discounted = rng.random(owner.size) < _DISCOUNTED_LINE_RATE
        share = rng.uniform(0.05, 0.3, owner.size)
        discount = np.where(discounted, _round_money(gross * share, currency[owner]), 0)
        total = np.add.reduceat(gross - discount, first_line) if n else np.zeros(0, dtype=np.int64)

        placed = {
            "order_id": order_id,
            "customer_id": buyers.ids[buyer],
            "order_ts": order_ts,
            "channel": weighted_choice(rng, _CHANNEL_WEIGHTS, n),
            "currency": currency,
            "total": total.astype(np.int64),
            "status": np.full(n, PLACED, dtype=np.int64),
        }
        next_status, next_time = _schedule(rng, placed["status"], order_ts)
        opened = placed | {
            "next_status": next_status,
            "next_time": next_time,
            "coupon": (rng.random(n) < _COUPON_RATE).astype(np.int64),
            "line1_product": goods.ids[product[first_line]],
            "line1_quantity": quantity[first_line],
            "line1_price": price[first_line],
            "line1_discount": discount[first_line],
        }
        self._open = {
            name: np.concatenate([self._open[name], opened[name].astype(np.int64)]) for name in _OPEN_FIELDS
        }

        version = {name: placed[name] for name in _VERSION_FIELDS if name != "time"} | {"time": order_ts}
        placed_items = {
            "version": owner,
            "order_id": order_id[owner],
            "line": line,
            "product_id": goods.ids[product],
            "quantity": quantity,
            "price": price,
            "discount": discount,
        }
        return version, placed_items

    def _advance(
        self, rng: np.random.Generator, due: np.ndarray, first_version: int
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Move the due orders one status forward; a coupon at payment rewrites line 1."""
        open_ = self._open
        status = open_["next_status"][due]
        time = open_["next_time"][due]

        coupon = due[(status == PAID) & (open_["coupon"][due] == 1)]
        gross = open_["line1_quantity"][coupon] * open_["line1_price"][coupon]
        line_amount = gross - open_["line1_discount"][coupon]
        extra = np.minimum(_round_money(line_amount * 0.1, open_["currency"][coupon]), line_amount)
        open_["line1_discount"][coupon] += extra
        open_["total"][coupon] -= extra
        open_["coupon"][coupon] = 0

        open_["status"][due] = status
        open_["next_status"][due], open_["next_time"][due] = _schedule(rng, status, time)

        version = {name: open_[name][due] for name in _VERSION_FIELDS if name != "time"} | {"time": time}
        # The rewritten line belongs to the paid row of its order.
        row_of = first_version + np.searchsorted(due, coupon)
        coupon_items = {
            "version": row_of,
            "order_id": open_["order_id"][coupon],
            "line": np.ones(coupon.size, dtype=np.int64),
            "product_id": open_["line1_product"][coupon],
            "quantity": open_["line1_quantity"][coupon],
            "price": open_["line1_price"][coupon],
            "discount": open_["line1_discount"][coupon],
        }
        return version, coupon_items

    def _render(
        self, versions: list[dict[str, np.ndarray]], items: list[dict[str, np.ndarray]], inserts: int
    ) -> OrdersDay:
        v = {name: np.concatenate([part[name] for part in versions]) for name in _VERSION_FIELDS}
        it = {name: np.concatenate([part[name] for part in items]) for name in _ITEM_FIELDS}
        times = unique_even(v["time"])
        orders = cols.table(
            ORDERS,
            {
                "ORDER_ID": pa.array(v["order_id"]),
                "CUSTOMER_ID": pa.array(v["customer_id"]),
                "ORDER_TS": cols.timestamps(v["order_ts"]),
                "STATUS": cols.pick(ORDER_STATUSES, v["status"]),
                "CHANNEL": cols.pick(CHANNELS, v["channel"]),
                "CURRENCY": cols.pick(CURRENCIES, v["currency"]),
                "TOTAL_AMOUNT": cols.money(v["total"]),
                "UPDATED_AT": cols.timestamps(times),
            },
        )
        lines = cols.table(
            ORDER_ITEMS,
            {
                "ORDER_ID": pa.array(it["order_id"]),
                "LINE_NUMBER": pa.array(it["line"]),
                "PRODUCT_ID": pa.array(it["product_id"]),
                "QUANTITY": cols.int_text(it["quantity"]),
                "UNIT_PRICE": cols.money(it["price"]),
                "DISCOUNT_AMOUNT": cols.money(it["discount"]),
                "UPDATED_AT": cols.timestamps(times[it["version"]]),
            },
        )
        is_insert = np.arange(times.size) < inserts
        return OrdersDay(orders=Versions(orders, is_insert), items=lines, item_version=it["version"])


def _schedule(
    rng: np.random.Generator, status: np.ndarray, time: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The next status of each order and when it happens (``_FINISHED`` when the order is done)."""
    n = status.size
    cancel = rng.random(n) < _CANCEL_RATE
    returned = rng.random(n) < _RETURN_RATE
    next_status = np.select(
        [status == PLACED, status == PAID, status == SHIPPED, (status == DELIVERED) & returned],
        [np.where(cancel, CANCELLED, PAID), SHIPPED, DELIVERED, RETURNED],
        _FINISHED,
    )
    delay = np.select(
        [next_status == CANCELLED, next_status == PAID, next_status == SHIPPED, next_status == DELIVERED],
        [
            uniform_micros(rng, 5 * MINUTE, 6 * HOUR, n),
            uniform_micros(rng, 10 * SECOND, 30 * MINUTE, n),
            uniform_micros(rng, 4 * HOUR, 48 * HOUR, n),
            uniform_micros(rng, DAY, 5 * DAY, n),
        ],
        uniform_micros(rng, DAY, 14 * DAY, n),
    )
    return next_status.astype(np.int64), time + delay
