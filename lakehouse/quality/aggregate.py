"""A suite's first pass as one aggregate query over its batch, with GX's own conditions and success logic.

Why: GX resolves a suite's metrics with one Spark job per domain (each column, each column pair) and
builds a metric graph per expectation, whose Python (``get_validation_dependencies``, pydantic objects)
cost as much as the engine: on one SF 1 day the five silver suites took about as long as the silver
transforms themselves (1.4-1.8 s against 1.8 s). A suite's column-level metrics are all aggregates over
the same rows, so they fit in one ``df.agg(...)``; counting a column's NULLs as ``count(*) -
count(column)`` is even answered from the Parquet statistics.

What is computed here, per expectation, is exactly the metrics GX's ``_validate`` reads, under GX's
metric names, and the result is then GX's: ``expectation._validate(metrics, ...)`` decides success
(``mostly`` included) and formats the result, ``_build_evr`` wraps it, as GX's validator does. The
expectations are the suite's own GX objects, with the batch id GX's validator would give them:

* column map expectations (not null, in set, not in set, regex, between): ``table.row_count``, the
  column's NULL count and ``sum(when(unexpected, 1))`` with the *unexpected condition GX builds*: the
  metric provider's own Spark condition function, negated, NULLs excluded as GX excludes them;
* column pair expectations: the same over the rows GX's ``ignore_row_if`` keeps, and their number;
* uniqueness (one or several columns): the rows whose value occurs more than once, by one group-by each
  (``lakehouse.quality.gx_expectations``), in the same pass as far as the engine is concerned: a second
  query, not a second scan per column;
* ``unexpected_rows_expectation``: its query, once (``rows_and_count``);
* column types, the column set and the row count: from the schema and ``count(*)``.

An expectation of another type, or with a ``row_condition``, is left to GX (``Planned.left``): the caller
validates those with GX itself. A batch without a column the suite names (schema drift) is GX's to
validate whole (``MissingColumns``), so that its errors are reported exactly as GX reports them. A failing expectation's
result carries counts and no failing values (result format BASIC, ``partial_unexpected_count`` 0); the
caller fetches values for the failed ones afterwards. Results, statistics and the Data Docs pages are the
same as GX's (``lakehouse_tests/test_quality/test_aggregate.py`` compares them).
"""

from __future__ import annotations

import inspect
import threading
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from great_expectations.expectations import (
    ExpectColumnValuesToBeOfType,
    ExpectTableColumnsToMatchSet,
    ExpectTableRowCountToBeBetween,
)
from great_expectations.expectations.metrics import (
    ColumnValuesBetween,
    ColumnValuesInSet,
    ColumnValuesMatchRegex,
    ColumnValuesNonNull,
    ColumnValuesNotInSet,
)
from great_expectations.expectations.metrics.column_pair_map_metrics.column_pair_values_greater import (
    ColumnPairValuesAGreaterThanB,
)
from great_expectations.expectations.metrics.table_metrics.table_column_types import (
    _get_spark_column_metadata,
)
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from lakehouse.quality import gx_expectations

ROW_COUNT = "table.row_count"
NULL_COUNT = "column_values.nonnull.unexpected_count"
COLUMN_TYPES = "table.column_types"
COLUMNS = "table.columns"

COLUMN_CONDITIONS = {
    provider.condition_metric_name: provider
    for provider in (
        ColumnValuesNonNull,
        ColumnValuesInSet,
        ColumnValuesNotInSet,
        ColumnValuesMatchRegex,
        ColumnValuesBetween,
    )
}
"""Column map metrics whose unexpected count is one aggregate, by GX's condition function."""
PAIR_CONDITIONS = {ColumnPairValuesAGreaterThanB.condition_metric_name: ColumnPairValuesAGreaterThanB}
UNIQUE_COLUMN = "column_values.unique"
UNIQUE_COMPOUND = "compound_columns.unique"
SCHEMA_TYPES = (ExpectColumnValuesToBeOfType, ExpectTableColumnsToMatchSet)
"""Expectations on the schema alone (``table.column_types``, ``table.columns``)."""
ROW_COUNT_TYPES = (ExpectTableRowCountToBeBetween,)

Metrics = dict[str, Any]
"""The metrics an expectation's ``_validate`` reads, by GX's metric names."""
Values = dict[str, Any]
"""What one validation's queries answered, by the plan's keys."""


class MissingColumns(ValueError):
    """An expectation names a column the batch does not have: GX validates the whole suite instead, and
    reports it as it does (its results of such expectations come first, with the error)."""


@dataclass
class _Aggregates:
    """The aggregate columns of the one query, each once (many expectations share a count)."""

    columns: dict[str, Column] = field(default_factory=dict)

    def add(self, key: str, column: Callable[[], Column]) -> str:
        if key not in self.columns:
            self.columns[key] = column().alias(f"m{len(self.columns)}")
        return key

    def names(self) -> dict[str, str]:
        return {key: f"m{position}" for position, key in enumerate(self.columns)}


@dataclass
class Planned:
    """The expectations the pass evaluates, their metrics, and the ones left to GX."""

    evaluated: list[tuple[Any, Callable[[Values], Metrics]]]
    aggregates: _Aggregates
    queries: dict[str, Callable[[DataFrame], Any]]
    left: list[Any]


def plan(schema: StructType, expectations: Sequence[Any], runtime_configuration: dict) -> Planned:
    """Which metrics each expectation needs, as aggregate columns or separate queries over a batch of
    ``schema``. A plan depends on nothing else, so a suite plans once per schema."""
    column_types = _get_spark_column_metadata(schema, include_nested=True)
    present = {entry["name"] for entry in column_types}
    schema_metrics = {COLUMN_TYPES: column_types, COLUMNS: [entry["name"] for entry in column_types]}
    aggregates = _Aggregates()
    aggregates.add(ROW_COUNT, lambda: F.count(F.lit(1)))
    queries: dict[str, Callable[[DataFrame], Any]] = {}
    evaluated: list[tuple[Any, Callable[[Values], Metrics]]] = []
    left: list[Any] = []
    context = _PlanContext(aggregates, queries, schema_metrics)
    for expectation in expectations:
        kwargs = expectation._get_runtime_kwargs(runtime_configuration=runtime_configuration)
        if not _columns_of(kwargs) <= present:
            raise MissingColumns(f"{expectation.meta.get('id')}: {sorted(_columns_of(kwargs) - present)}")
        metrics = None if kwargs.get("row_condition") else _plan_one(expectation, kwargs, context)
        if metrics is None:
            left.append(expectation)
        else:
            evaluated.append((expectation, metrics))
    return Planned(evaluated=evaluated, aggregates=aggregates, queries=queries, left=left)


@dataclass(frozen=True)
class _PlanContext:
    aggregates: _Aggregates
    queries: dict[str, Callable[[DataFrame], Any]]
    schema_metrics: Metrics


def _columns_of(kwargs: dict[str, Any]) -> set[str]:
    named = {kwargs[k] for k in ("column", "column_A", "column_B") if isinstance(kwargs.get(k), str)}
    return named | set(kwargs.get("column_list") or ())


def _plan_one(expectation, kwargs: dict[str, Any], context: _PlanContext) -> Callable[[Values], Metrics] | None:
    map_metric = getattr(expectation, "map_metric", None)
    if map_metric in COLUMN_CONDITIONS:
        return _column_map(expectation, map_metric, kwargs, context)
    if map_metric in PAIR_CONDITIONS:
        return _column_pair(expectation, map_metric, kwargs, context)
    if map_metric == UNIQUE_COLUMN and isinstance(expectation, gx_expectations.LakehouseColumnValuesToBeUnique):
        return _unique_column(map_metric, kwargs, context)
    if map_metric == UNIQUE_COMPOUND and isinstance(
        expectation, gx_expectations.LakehouseCompoundColumnsToBeUnique
    ):
        return _unique_compound(map_metric, kwargs, context)
    if isinstance(expectation, gx_expectations.LakehouseUnexpectedRowsExpectation):
        return _unexpected_rows(kwargs, context)
    if isinstance(expectation, SCHEMA_TYPES):
        return lambda values: dict(context.schema_metrics)
    if isinstance(expectation, ROW_COUNT_TYPES):
        return lambda values: {ROW_COUNT: values[ROW_COUNT]}
    return None


def _unexpected_sum(unexpected: Column) -> Column:
    """GX's unexpected count of a column map, ``sum(when(unexpected, 1).otherwise(0))`` over the batch
    (``_spark_map_condition_unexpected_count_aggregate_fn``): NULL on an empty batch, as GX's is."""
    return F.sum(F.when(unexpected, 1).otherwise(0))


def _failing_rows(keep: Column | None, unexpected: Column) -> Column:
    """GX's unexpected count of a column pair: the rows of the domain where the condition fails,
    counted (0 on an empty domain; ``_spark_map_condition_unexpected_count_value``)."""
    return F.count(F.when(unexpected if keep is None else keep & unexpected, 1))


def _condition_kwargs(provider, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The condition's value arguments as GX's ``get_metric_kwargs`` builds them: the expectation's, else
    the metric provider's defaults."""
    defaults = getattr(provider, "default_kwarg_values", {}) or {}
    return {
        key: kwargs.get(key) if kwargs.get(key) is not None else defaults.get(key)
        for key in provider.condition_value_keys
    }


def _column_map(expectation, map_metric: str, kwargs: dict[str, Any], context: _PlanContext):
    provider = COLUMN_CONDITIONS[map_metric]
    column_name = kwargs["column"]
    column = F.col(column_name)
    accessor = {"column": column_name}
    expected = inspect.unwrap(provider._spark)(
        provider,
        column,
        **_condition_kwargs(provider, kwargs),
        _table=None,  # none of the conditions above reads the table
        _metrics={**context.schema_metrics},
        _compute_domain_kwargs={},
        _accessor_domain_kwargs=accessor,
    )
    unexpected = column.isNotNull() & ~expected if provider.filter_column_isnull else ~expected
    aggregates = context.aggregates
    nonnull = aggregates.add(f"count({column_name})", lambda: F.count(column))
    # A NULL count is count(*) - count(column), which the engine answers from the file statistics.
    null_free = map_metric == ColumnValuesNonNull.condition_metric_name
    key = None
    if not null_free:
        arguments = _condition_kwargs(provider, kwargs)
        key = aggregates.add(f"{map_metric}({column_name}, {arguments})", lambda: _unexpected_sum(unexpected))

    def metrics(values: Values) -> Metrics:
        rows = values[ROW_COUNT]
        nulls = rows - values[nonnull] if rows else None
        return {
            ROW_COUNT: rows,
            NULL_COUNT: nulls,
            f"{map_metric}.unexpected_count": nulls if null_free else values[key],
            f"{map_metric}.unexpected_values": [],
        }

    return metrics


def _pair_keep(kwargs: dict[str, Any]) -> Column | None:
    """The rows GX's ``ignore_row_if`` keeps in a column pair's domain (``get_domain_records``)."""
    a, b = F.col(kwargs["column_A"]), F.col(kwargs["column_B"])
    ignore_row_if = kwargs.get("ignore_row_if")
    if ignore_row_if == "both_values_are_missing":
        return ~(a.isNull() & b.isNull())
    if ignore_row_if == "either_value_is_missing":
        return ~(a.isNull() | b.isNull())
    if ignore_row_if == "neither":
        return None
    raise ValueError(f'Unrecognized value of ignore_row_if ("{ignore_row_if}").')


def _column_pair(expectation, map_metric: str, kwargs: dict[str, Any], context: _PlanContext):
    provider = PAIR_CONDITIONS[map_metric]
    expected = inspect.unwrap(provider._spark)(
        provider,
        F.col(kwargs["column_A"]),
        F.col(kwargs["column_B"]),
        **_condition_kwargs(provider, kwargs),
        _metrics={**context.schema_metrics},
    )
    keep = _pair_keep(kwargs)
    domain = f"pair({kwargs['column_A']}, {kwargs['column_B']}, {kwargs.get('ignore_row_if')})"
    kept = _kept_rows(domain, keep, context)
    arguments = _condition_kwargs(provider, kwargs)
    key = context.aggregates.add(f"{map_metric} {domain} {arguments}", lambda: _failing_rows(keep, ~expected))
    return _filtered_domain_metrics(map_metric, unexpected=key, kept=kept)


def _kept_rows(domain: str, keep: Column | None, context: _PlanContext) -> str:
    """The aggregate counting the rows a multicolumn domain keeps, added once per domain."""
    return context.aggregates.add(
        f"rows {domain}", lambda: F.count(F.lit(1)) if keep is None else F.count(F.when(keep, 1))
    )


def _filtered_domain_metrics(map_metric: str, *, unexpected: str, kept: str):
    """GX's metrics for a map expectation over a filtered multicolumn domain, read from the pass's values."""

    def metrics(values: Values) -> Metrics:
        return {
            ROW_COUNT: values[ROW_COUNT],
            f"{map_metric}.unexpected_count": values[unexpected],
            f"{map_metric}.filtered_row_count": values[kept],
            f"{map_metric}.unexpected_values": [],
        }

    return metrics


def _unique_column(map_metric: str, kwargs: dict[str, Any], context: _PlanContext):
    column_name = kwargs["column"]
    nonnull = context.aggregates.add(f"count({column_name})", lambda: F.count(F.col(column_name)))
    query = f"repeated({column_name})"
    column = F.col(column_name)
    context.queries.setdefault(
        query, lambda df: gx_expectations.rows_in_repeated_groups(df.where(column.isNotNull()), [column])
    )

    def metrics(values: Values) -> Metrics:
        rows = values[ROW_COUNT]
        return {
            ROW_COUNT: rows,
            NULL_COUNT: rows - values[nonnull] if rows else None,
            f"{map_metric}.unexpected_count": values[query],
            f"{map_metric}.unexpected_values": [],
        }

    return metrics


def _compound_keep(kwargs: dict[str, Any]) -> Column | None:
    """The rows GX's ``ignore_row_if`` keeps in a multicolumn domain (``get_domain_records``)."""
    nulls = [F.col(c).isNull() for c in kwargs["column_list"]]
    ignore_row_if = kwargs.get("ignore_row_if")
    if ignore_row_if == "all_values_are_missing":
        ignored = nulls[0]
        for null in nulls[1:]:
            ignored = ignored & null
        return ~ignored
    if ignore_row_if == "any_value_is_missing":
        ignored = nulls[0]
        for null in nulls[1:]:
            ignored = ignored | null
        return ~ignored
    if ignore_row_if == "never":
        return None
    raise ValueError(f'Unrecognized value of ignore_row_if ("{ignore_row_if}").')


def _unique_compound(map_metric: str, kwargs: dict[str, Any], context: _PlanContext):
    columns = list(kwargs["column_list"])
    keep = _compound_keep(kwargs)
    domain = f"compound({columns}, {kwargs.get('ignore_row_if')})"
    kept = _kept_rows(domain, keep, context)
    query = f"repeated {domain}"
    context.queries.setdefault(
        query,
        lambda df: gx_expectations.rows_in_repeated_groups(
            df if keep is None else df.where(keep), [F.col(c) for c in columns]
        ),
    )
    return _filtered_domain_metrics(map_metric, unexpected=query, kept=kept)


def _unexpected_rows(kwargs: dict[str, Any], context: _PlanContext):
    sql = kwargs["unexpected_rows_query"]
    query = f"sql {sql}"
    context.queries.setdefault(query, lambda df: gx_expectations.rows_and_count(df, sql))
    return lambda values: {gx_expectations.ROWS_AND_COUNT: values[query]}


# --- running ------------------------------------------------------------------------------------------


_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _queries_pool() -> ThreadPoolExecutor:
    """Threads that run a suite's separate queries (a uniqueness group-by, a SQL expectation) while the
    aggregate runs: the engine works on both at once, and the client waits for the slowest only."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="lakehouse-quality")
        return _pool


def run(planned: Planned, df: DataFrame) -> Values:
    """Every value the plan needs: the one aggregate row, and each separate query's answer."""
    names = planned.aggregates.names()
    futures = {key: _queries_pool().submit(query, df) for key, query in planned.queries.items()}
    row = df.agg(*planned.aggregates.columns.values()).collect()[0]
    values: Values = {key: row[name] for key, name in names.items()}
    for key, future in futures.items():
        values[key] = future.result()
    return values


def results(planned: Planned, values: Values, runtime_configuration: dict, execution_engine) -> dict:
    """GX's result of each evaluated expectation (by the expectation object)."""
    evaluated = {}
    for expectation, metrics in planned.evaluated:
        try:
            raw = expectation._validate(
                metrics=metrics(values),
                runtime_configuration=dict(runtime_configuration),
                execution_engine=execution_engine,
            )
            evaluated[id(expectation)] = expectation._build_evr(raw_response=raw)
        except Exception as error:  # as GX's validator: the expectation fails, the others are kept
            evaluated[id(expectation)] = _raised(expectation, error)
    return evaluated


def _raised(expectation, error: Exception):
    """The result GX's validator gives an expectation whose evaluation raised."""
    from great_expectations.core.expectation_validation_result import ExpectationValidationResult
    from great_expectations.validator.exception_info import ExceptionInfo

    return ExpectationValidationResult(
        success=False,
        exception_info=ExceptionInfo(
            exception_traceback=traceback.format_exc(), exception_message=str(error)
        ),
        expectation_config=expectation.configuration,
    )
