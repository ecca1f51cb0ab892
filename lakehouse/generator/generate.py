"""Run the simulations day by day and cut their output into per-day commit batches.

For each change day the simulations write row images; each row is given a commit day (the same day,
or for late rows one or two days later), invalid copies are injected beside it, and everything
committed on a day is assembled, with a few exact duplicates, into that day's ``CommitBatch``. Rows
committed after the last generated day are not part of the output: the source has not committed
them yet.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.generator.clock import commit_lags
from lakehouse.generator.config import DEFAULT_START_DATE, GeneratorConfig
from lakehouse.generator.customers import CustomerSimulation
from lakehouse.generator.dirt import inject_defects
from lakehouse.generator.events import events_for_day
from lakehouse.generator.manifest import Defect
from lakehouse.generator.model import CommitBatch, GeneratedData, Progress, RowKind, row_kind_array
from lakehouse.generator.orders import Buyers, Goods, OrderSimulation
from lakehouse.generator.products import ProductSimulation
from lakehouse.generator.randomness import stochastic_count, stream
from lakehouse.generator.specs import (
    ALL_TABLES,
    BEHAVIOR_EVENTS,
    CUSTOMERS,
    ORDER_ITEMS,
    ORDERS,
    PRODUCTS,
    SourceSystem,
    TableSpec,
)
from lakehouse.generator.storage import default_output_dir, write_generated

# Rows waiting for their commit day: commit day -> table -> [(rows, kind)].
_Held = dict[int, dict[str, list[tuple[pa.Table, RowKind]]]]


class _Simulations:
    """The source systems' state, advanced together one change day at a time."""

    def __init__(self, config: GeneratorConfig) -> None:
        self.config = config
        self.customers = CustomerSimulation(config)
        self.products = ProductSimulation(config)
        self.orders = OrderSimulation(config)

    def change_day(self, day_index: int) -> dict[TableSpec, tuple[pa.Table, np.ndarray]]:
        """Every table's rows whose change column falls in the day, with the day each is committed."""
        config = self.config
        customers = self.customers.step(day_index)
        products = self.products.step(day_index)
        buyers = self.customers.orderable(day_index)
        goods = self.products.sellable(day_index)
        orders = self.orders.step(
            day_index,
            Buyers(self.customers.ids(buyers), self.customers.currency_index(buyers)),
            Goods(self.products.ids(goods), self.products.day_start_price(goods)),
        )
        events = events_for_day(
            config, day_index, self.customers.referable(buyers), self.products.referable(goods)
        )

        def lags(table: TableSpec, size: int, eligible: np.ndarray | None = None) -> np.ndarray:
            rng = stream(config.seed, day_index, f"late:{table.qualified_name}")
            return day_index + commit_lags(rng, size, config.late_rate, eligible)

        order_commit = lags(ORDERS, orders.orders.rows.num_rows)
        return {
            CUSTOMERS: (customers.rows, lags(CUSTOMERS, customers.rows.num_rows, ~customers.is_insert)),
            PRODUCTS: (products.rows, lags(PRODUCTS, products.rows.num_rows, ~products.is_insert)),
            ORDERS: (orders.orders.rows, order_commit),
            ORDER_ITEMS: (orders.items, order_commit[orders.item_version]),
            # The warehouse's change column is the load time itself: events are committed the day they load.
            BEHAVIOR_EVENTS: (events, np.full(events.num_rows, day_index, dtype=np.int64)),
        }


def generate_data(config: GeneratorConfig, progress: Progress | None = None) -> GeneratedData:
    """Generate ``config.days`` commit batches in memory."""
    simulations = _Simulations(config)
    held: _Held = defaultdict(lambda: defaultdict(list))
    defects: list[Defect] = []
    next_target: dict[str, int] = defaultdict(int)
    batches: list[CommitBatch] = []
    for day_index in range(config.days):
        for spec, (rows, commit_days) in simulations.change_day(day_index).items():
            _hold(held, config.days, spec, rows, commit_days, RowKind.VALID)
            rng = stream(config.seed, day_index, f"dirt:{spec.qualified_name}")
            injected = inject_defects(spec, rows, commit_days, config, rng, next_target[spec.qualified_name])
            next_target[spec.qualified_name] = injected.next_target
            _hold(held, config.days, spec, injected.rows, injected.commit_days, RowKind.INVALID)
            defects.extend(defect for defect in injected.defects if defect.commit_date <= config.end_date)
        batch = _assemble(config, day_index, held.pop(day_index, {}))
        batches.append(batch)
        if progress:
            progress(f"generated commit batch {batch.commit_date}", batch.counts())
    return GeneratedData(config=config, batches=tuple(batches), defects=tuple(defects))


def _hold(
    held: _Held, days: int, spec: TableSpec, rows: pa.Table, commit_days: np.ndarray, kind: RowKind
) -> None:
    for commit_day in np.unique(commit_days):
        if commit_day < days:
            same_day = commit_days == commit_day
            selected = rows if same_day.all() else rows.filter(pa.array(same_day))
            held[int(commit_day)][spec.qualified_name].append((selected, kind))


def _assemble(
    config: GeneratorConfig, day_index: int, held: dict[str, list[tuple[pa.Table, RowKind]]]
) -> CommitBatch:
    tables: dict[str, pa.Table] = {}
    kinds: dict[str, pa.DictionaryArray] = {}
    for spec in ALL_TABLES:
        parts = held.get(spec.qualified_name, [])
        valid = [rows for rows, kind in parts if kind == RowKind.VALID]
        valid_rows = pa.concat_tables(valid) if valid else spec.arrow_schema.empty_table()
        rng = stream(config.seed, day_index, f"duplicates:{spec.qualified_name}")
        count = min(valid_rows.num_rows, stochastic_count(rng, valid_rows.num_rows * config.duplicate_rate))
        picked = np.sort(rng.choice(valid_rows.num_rows, size=count, replace=False))
        parts = [*parts, (valid_rows.take(pa.array(picked, type=pa.int64())), RowKind.DUPLICATE)]

        rows = pa.concat_tables([part for part, _ in parts]) if parts else spec.arrow_schema.empty_table()
        row_kinds = pa.concat_arrays([row_kind_array(kind, part.num_rows) for part, kind in parts])
        if spec.system == SourceSystem.SNOWFLAKE:
            # A source table reads in commit order; the events are already in load order.
            order = pc.sort_indices(rows, sort_keys=[(spec.change_column, "ascending")])
            rows, row_kinds = rows.take(order), row_kinds.take(order)
        tables[spec.qualified_name] = rows
        kinds[spec.qualified_name] = row_kinds
    return CommitBatch(
        commit_date=config.day(day_index), tables=tables, row_kinds=kinds, generation=config.fingerprint
    )


def generate(
    scale_factor: float = 1.0,
    days: int = 1,
    seed: int = 42,
    dirt: float = 0.01,
    start_date: date = DEFAULT_START_DATE,
    out_dir: Path | None = None,
    *,
    late_rate: float = 0.02,
    duplicate_rate: float = 0.005,
    write: bool = True,
    progress: Progress | None = None,
) -> GeneratedData:
    """Generate the source data and (unless ``write=False``) write it under ``out_dir``
    (default ``$LAKEHOUSE_HOME/generated``, see ``storage``)."""
    config = GeneratorConfig(
        scale_factor=scale_factor,
        days=days,
        seed=seed,
        dirt=dirt,
        start_date=start_date,
        late_rate=late_rate,
        duplicate_rate=duplicate_rate,
    )
    data = generate_data(config, progress)
    if write:
        write_generated(data, out_dir if out_dir is not None else default_output_dir(), progress)
    return data
