"""Web behaviour events (``analytics.web.behavior_events``), one commit day at a time.

Events come in browsing sessions (one device, one customer or an anonymous visitor, a page view first,
events a second to 90 s apart). The warehouse loads them in micro-batches every five minutes, so
``loaded_at`` (the change column) is the micro-batch commit time and ``event_ts`` is the client clock a
few minutes earlier. Sessions from offline clients are uploaded one or two days late: their ``event_ts``
lies in an earlier day than ``loaded_at``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.generator import arrow_columns as cols
from lakehouse.generator.clock import DAY, MINUTE, SECOND, day_start
from lakehouse.generator.config import GeneratorConfig
from lakehouse.generator.customers import INITIAL_LOAD_WINDOW
from lakehouse.generator.randomness import stream, uniform_micros, weighted_choice
from lakehouse.generator.reference import DEVICES, EVENT_TYPES, SEARCH_TERMS, SHOP_URL
from lakehouse.generator.specs import BEHAVIOR_EVENTS
from lakehouse.generator.versions import Referable

MICRO_BATCH = 5 * MINUTE
_MICRO_BATCHES_PER_DAY = DAY // MICRO_BATCH
_MEAN_SESSION_EVENTS = 8
_MAX_SESSION_EVENTS = 30
_MAX_GAP = 90 * SECOND
# A session starts early enough to end (30 events x 90 s) and be loaded before midnight.
_SESSION_TAIL = _MAX_SESSION_EVENTS * _MAX_GAP + MICRO_BATCH
_IDENTIFIED_RATE = 0.7
_EVENT_WEIGHTS = (30, 30, 12, 12, 4, 6, 6)  # same order as EVENT_TYPES
_DEVICE_WEIGHTS = (45, 45, 10)
_PRODUCT_EVENTS = np.isin(EVENT_TYPES, ("product_view", "add_to_cart", "remove_from_cart", "purchase"))
_PAGE_VIEW = EVENT_TYPES.index("page_view")
_SEARCH = EVENT_TYPES.index("search")
_PRODUCT_PAGE = np.isin(EVENT_TYPES, ("product_view", "add_to_cart", "remove_from_cart"))
_PATH_BY_TYPE = (
    "/", "/product/", "/search?q=", "/product/", "/product/", "/checkout", "/checkout/confirmation",
)  # fmt: skip
_LANDING_PAGES = ("", "deals", "new-arrivals", "help", "account")


def events_for_day(
    config: GeneratorConfig, day_index: int, customers: Referable, products: Referable
) -> pa.Table:
    """The events committed (loaded) on the day, sorted by ``loaded_at`` then ``event_ts``.

    A session only refers to customers and products that existed on the day it happened, which for a
    late upload is earlier than the commit day.
    """
    rng = stream(config.seed, day_index, "events")
    n = config.volumes.events_per_day
    sessions = _session_lengths(rng, n)
    m = sessions.size
    session = np.repeat(np.arange(m), sessions)
    first = np.cumsum(sessions) - sessions
    position = np.arange(n) - first[session]

    commit_start = day_start(config.day(day_index))
    late = (rng.random(m) < config.late_rate) & (day_index > 0)
    lag = np.where(late, np.where((rng.random(m) < 0.25) & (day_index >= 2), 2, 1), 0)
    origin = commit_start - lag * DAY
    earliest = origin + np.where(day_index - lag == 0, INITIAL_LOAD_WINDOW, 0)
    session_start = uniform_micros(rng, earliest, origin + DAY - _SESSION_TAIL, m)
    gaps = np.where(position == 0, 0, uniform_micros(rng, SECOND, _MAX_GAP, n))
    elapsed = np.cumsum(gaps)
    event_ts = session_start[session] + elapsed - elapsed[first][session]

    # Micro-batch commits: 5-minute boundaries, each with its own few seconds of commit latency.
    latency = uniform_micros(rng, SECOND, 30 * SECOND, _MICRO_BATCHES_PER_DAY)
    on_time_batch = -((commit_start - event_ts) // MICRO_BATCH)  # ceil((event_ts - start) / batch)
    late_batch = rng.integers(1, _MICRO_BATCHES_PER_DAY, m)[session]
    batch = np.where(late[session], late_batch, on_time_batch)
    loaded_at = commit_start + batch * MICRO_BATCH + latency[batch]

    session_day = day_index - lag
    customer = customers.draw(rng, session_day)
    identified = (rng.random(m) < _IDENTIFIED_RATE) & (customer >= 0)
    device = weighted_choice(rng, _DEVICE_WEIGHTS, m)
    session_ids = cols.uuid_strings(rng, m)
    event_type = np.where(position == 0, _PAGE_VIEW, weighted_choice(rng, _EVENT_WEIGHTS, n))
    product = products.draw(rng, session_day[session])
    has_product = _PRODUCT_EVENTS[event_type] & (product >= 0)

    # Sort in numpy, before any string column exists: taking from Arrow string columns is the slow part.
    order = np.lexsort((event_ts, loaded_at))
    session, event_type = session[order], event_type[order]
    product, has_product = product[order], has_product[order]
    return cols.table(
        BEHAVIOR_EVENTS,
        {
            "event_id": cols.uuid_strings(rng, n),
            "customer_id": pa.array(customer[session], mask=~identified[session]),
            "session_id": session_ids.take(pa.array(session)),
            "event_type": cols.pick(EVENT_TYPES, event_type),
            "product_id": pa.array(product, mask=~has_product),
            "page_url": _page_urls(rng, event_type, product),
            "device": cols.pick(DEVICES, device[session]),
            "event_ts": cols.timestamps(event_ts[order]),
            "loaded_at": cols.timestamps(loaded_at[order]),
        },
    )


def _session_lengths(rng: np.random.Generator, total: int) -> np.ndarray:
    """Geometric session lengths (capped) that add up to exactly ``total`` events."""
    lengths = np.empty(0, dtype=np.int64)
    while lengths.sum() < total:
        drawn = rng.geometric(1 / _MEAN_SESSION_EVENTS, total // _MEAN_SESSION_EVENTS + 16)
        more = np.minimum(drawn, _MAX_SESSION_EVENTS)
        lengths = np.concatenate([lengths, more])
    ends = np.cumsum(lengths)
    count = int(np.searchsorted(ends, total)) + 1
    lengths = lengths[:count].copy()
    lengths[-1] -= ends[count - 1] - total
    return lengths


def _page_urls(rng: np.random.Generator, event_type: np.ndarray, product: np.ndarray) -> pa.Array:
    n = event_type.size
    suffix = pc.if_else(
        pa.array(_PRODUCT_PAGE[event_type]),
        cols.int_text(product),
        pc.if_else(
            pa.array(event_type == _SEARCH),
            cols.pick(SEARCH_TERMS, rng.integers(0, len(SEARCH_TERMS), n)),
            pc.if_else(
                pa.array(event_type == _PAGE_VIEW),
                cols.pick(_LANDING_PAGES, rng.integers(0, len(_LANDING_PAGES), n)),
                "",
            ),
        ),
    )
    return cols.concat(SHOP_URL, cols.pick(_PATH_BY_TYPE, event_type), suffix)
