"""Silver assets: one per silver contract, each a thin Dagster wrapper around a pure transform.

Inputs come from bronze (and, for customer_activity, from silver) through ``dg.AssetIn``: the Delta IO
manager loads exactly the partitions the mapping names, the run's window plus, where a table needs state,
a bounded lookback (``TimeWindowPartitionMapping(start_offset=-N)``). Every bronze input has its PII masked
as the first step, per its contract, so no transform sees a clear name, e-mail or phone number; every
output is cut to its silver contract (``to_contract``) and checked for raw PII before it is written.

With ``checked=True`` an asset runs its table's ``great_expectations`` check in its own step, right after
its write (``lakehouse.quality.checks.quality_check_spec``): the same blocking check, without a step of
its own (``great_expectations_checks`` then builds none for it).
"""

from collections.abc import Iterator
from datetime import date, timedelta

import dagster as dg
from pydantic import Field
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse.contracts import Contract
from lakehouse.engine import SparkEngine
from lakehouse.governance import PiiMasking, raw_pii_columns
from lakehouse.governance.asset_arguments import asset_arguments
from lakehouse.lake import Lake
from lakehouse.observability.metrics import compute_metrics, started
from lakehouse.partitions import PARTITION_COLUMN, DayWindow
from lakehouse.quality.checks import checked_output, quality_check_spec
from lakehouse.quality.suites import Suite, load_suite
from lakehouse.silver import transforms as T

SILVER = "silver"
BRONZE = "bronze"


class OrdersConfig(dg.Config):
    """How far back silver/orders looks for an order's header and lines when only part of it changed."""

    lookback_days: int = Field(
        default=T.DEFAULT_LOOKBACK_DAYS,
        ge=0,
        description="Days before a changed order's day searched for its header and lines; at most the "
        "asset's declared lookback (its partition mapping).",
    )


class BehaviorEventsConfig(dg.Config):
    session_inactivity_minutes: int = Field(
        default=T.SESSION_INACTIVITY_MINUTES,
        gt=0,
        description="A customer's events without a source session start a new session after this long idle.",
    )


class CustomerActivityConfig(dg.Config):
    customer_lookback_days: int = Field(
        default=T.DEFAULT_LOOKBACK_DAYS,
        ge=0,
        description="Days before the activity day searched for the customer's latest silver row; at most "
        "the asset's declared lookback (its partition mapping).",
    )


def _lookback(days: int) -> dg.TimeWindowPartitionMapping:
    return dg.TimeWindowPartitionMapping(start_offset=-days)


def _window_start(context: dg.AssetExecutionContext) -> date:
    return DayWindow.of_context(context).start


def _require_within_reach(asset: str, configured: int, declared: int) -> None:
    if configured > declared:
        raise dg.Failure(
            f"{asset}: a lookback of {configured} days reaches beyond the {declared} days its inputs are "
            f"mapped to; build the silver assets with silver_assets(lookback_days={configured}) instead"
        )


def _since(df: DataFrame, first_day: date) -> DataFrame:
    """Rows of the days from ``first_day`` on; a literal predicate, so Delta prunes the other partitions."""
    return df.where(F.col(PARTITION_COLUMN) >= F.lit(first_day))


def _output(
    df: DataFrame, contract: Contract, bronze: dict[str, Contract], start: float, **metadata
) -> dg.Output:
    """The contract-shaped output, refused if a column still carries PII that bronze classes as masked;
    its metadata reports the compute since ``start`` (the IO manager adds the write)."""
    shaped = T.to_contract(df, contract)
    leaked = raw_pii_columns(shaped, bronze)
    if leaked:
        raise dg.Failure(f"{contract.name}: refusing to write unmasked PII column(s) {leaked}")
    return dg.Output(shaped, metadata={**metadata, **compute_metrics(start)})


# ------------------------------------------------------------------------------------------ assets


class _Checked:
    """What a silver asset needs to run its table's check in its step: the spec, the suite, and whether to."""

    def __init__(self, contract: Contract, checked: bool) -> None:
        self.suite: Suite | None = load_suite(contract, partitioned=True) if checked else None

    def arguments(self, contract: Contract) -> dict:
        """``asset_arguments`` of the contract, with the check's spec when the asset runs it."""
        arguments = asset_arguments(contract)
        if self.suite is not None:
            arguments["check_specs"] = [quality_check_spec(self.suite, arguments.get("partitions_def"))]
        return arguments

    def deliver(
        self, context: dg.AssetExecutionContext, output: dg.Output, engine: SparkEngine, lake: Lake
    ) -> Iterator[dg.Output | dg.AssetCheckResult]:
        if self.suite is None:
            yield output
        else:
            yield from checked_output(context, output, self.suite, engine, lake)



def build_silver_customers(
    contract: Contract, bronze: dict[str, Contract], checked: bool = False
) -> dg.AssetsDefinition:
    source = bronze["bronze.customers"]
    check = _Checked(contract, checked)

    @dg.asset(ins={"customers": dg.AssetIn(key=[BRONZE, "customers"])}, **check.arguments(contract))
    def _customers(
        context: dg.AssetExecutionContext, pii: PiiMasking, engine: SparkEngine, lake: Lake, customers: DataFrame
    ):
        start = started()
        masked = pii.mask_contract_pii(customers, source)
        yield from check.deliver(context, _output(T.silver_customers(masked), contract, bronze, start), engine, lake)

    return _customers


def build_silver_products(
    contract: Contract, bronze: dict[str, Contract], checked: bool = False
) -> dg.AssetsDefinition:
    source = bronze["bronze.products"]
    check = _Checked(contract, checked)

    @dg.asset(ins={"products": dg.AssetIn(key=[BRONZE, "products"])}, **check.arguments(contract))
    def _products(
        context: dg.AssetExecutionContext, pii: PiiMasking, engine: SparkEngine, lake: Lake, products: DataFrame
    ):
        start = started()
        masked = pii.mask_contract_pii(products, source)
        yield from check.deliver(context, _output(T.silver_products(masked), contract, bronze, start), engine, lake)

    return _products


def build_silver_orders(
    contract: Contract, bronze: dict[str, Contract], lookback_days: int, checked: bool = False
) -> dg.AssetsDefinition:
    headers_contract, lines_contract = bronze["bronze.orders"], bronze["bronze.order_items"]
    check = _Checked(contract, checked)

    @dg.asset(
        ins={
            "orders": dg.AssetIn(key=[BRONZE, "orders"], partition_mapping=_lookback(lookback_days)),
            "order_items": dg.AssetIn(
                key=[BRONZE, "order_items"], partition_mapping=_lookback(lookback_days)
            ),
        },
        **check.arguments(contract),
    )
    def _orders(
        context: dg.AssetExecutionContext,
        config: OrdersConfig,
        pii: PiiMasking,
        engine: SparkEngine,
        lake: Lake,
        orders: DataFrame,
        order_items: DataFrame,
    ):
        start = started()
        _require_within_reach(contract.name, config.lookback_days, lookback_days)
        first_day = _window_start(context)
        reach = first_day - timedelta(days=config.lookback_days)
        headers = pii.mask_contract_pii(_since(orders, reach), headers_contract)
        lines = pii.mask_contract_pii(_since(order_items, reach), lines_contract)
        changed = T.changed_orders(headers, lines, first_day)  # kept by the engine: computed once for both
        unplaced = T.lines_without_header(
            headers, lines, first_day, config.lookback_days, changed=changed
        ).count()
        if unplaced:
            context.log.warning(
                f"{unplaced} line(s) of changed orders have no header within {config.lookback_days} days; "
                "they are not in silver/orders (see metadata lines_without_header)"
            )
        rows = T.silver_orders(headers, lines, first_day, config.lookback_days, changed=changed)
        output = _output(
            rows, contract, bronze, start, lookback_days=config.lookback_days, lines_without_header=unplaced
        )
        yield from check.deliver(context, output, engine, lake)

    return _orders


def build_silver_behavior_events(
    contract: Contract, bronze: dict[str, Contract], checked: bool = False
) -> dg.AssetsDefinition:
    source = bronze["bronze.behavior_events"]
    check = _Checked(contract, checked)

    @dg.asset(
        ins={"behavior_events": dg.AssetIn(key=[BRONZE, "behavior_events"])},
        **check.arguments(contract),
    )
    def _behavior_events(
        context: dg.AssetExecutionContext,
        config: BehaviorEventsConfig,
        pii: PiiMasking,
        engine: SparkEngine,
        lake: Lake,
        behavior_events: DataFrame,
    ):
        start = started()
        masked = pii.mask_contract_pii(behavior_events, source)
        rows = T.silver_behavior_events(masked, config.session_inactivity_minutes)
        output = _output(
            rows, contract, bronze, start, session_inactivity_minutes=config.session_inactivity_minutes
        )
        yield from check.deliver(context, output, engine, lake)

    return _behavior_events


def build_silver_customer_activity(
    contract: Contract, bronze: dict[str, Contract], lookback_days: int, checked: bool = False
) -> dg.AssetsDefinition:
    check = _Checked(contract, checked)

    @dg.asset(
        ins={
            "orders": dg.AssetIn(key=[SILVER, "orders"]),
            "behavior_events": dg.AssetIn(key=[SILVER, "behavior_events"]),
            "customers": dg.AssetIn(key=[SILVER, "customers"], partition_mapping=_lookback(lookback_days)),
        },
        **check.arguments(contract),
    )
    def _customer_activity(
        context: dg.AssetExecutionContext,
        config: CustomerActivityConfig,
        engine: SparkEngine,
        lake: Lake,
        orders: DataFrame,
        behavior_events: DataFrame,
        customers: DataFrame,
    ):
        start = started()
        _require_within_reach(contract.name, config.customer_lookback_days, lookback_days)
        reach = _window_start(context) - timedelta(days=config.customer_lookback_days)
        rows = T.customer_activity(
            orders, behavior_events, _since(customers, reach), config.customer_lookback_days
        )
        output = _output(rows, contract, bronze, start, customer_lookback_days=config.customer_lookback_days)
        yield from check.deliver(context, output, engine, lake)

    return _customer_activity
