"""GX's ``UnexpectedRowsExpectation`` with its query run once.

GX's own expectation depends on two metrics, the query's first rows and the query's row count, and on
Spark each runs the whole query: a SQL expectation scanned its batch twice (on one SF 1 day, bronze
behavior_events' key query took 0.45 s and 0.75 s). ``LakehouseUnexpectedRowsExpectation`` depends on one
metric instead, ``unexpected_rows_query.rows_and_count``: the query's first ``MAX_RESULT_RECORDS`` + 1
rows, one query; their number is the row count unless there are more, and only then is the query
counted again. Same success, same ``observed_value``, same rendering (GX's renderers, inherited).

A failed one also keeps its first ``SAMPLE_SIZE`` rows in ``details.unexpected_rows`` in every result
format, as the lakehouse reports them: they come with the one query, so a failure needs no second query
for its failing rows.

GX registers expectations and metrics when their classes are defined: this module is imported by
``lakehouse.quality.validation`` when it builds its GX context, and imports GX.
"""

from __future__ import annotations

from typing import Any, ClassVar

from great_expectations.constants import MAX_RESULT_RECORDS
from great_expectations.core.metric_domain_types import MetricDomainTypes
from great_expectations.core.result_format import ResultFormat
from great_expectations.execution_engine import SparkDFExecutionEngine
from great_expectations.expectations import UnexpectedRowsExpectation
from great_expectations.expectations.metrics.metric_provider import metric_value
from great_expectations.expectations.metrics.query_metric_provider import QueryMetricProvider

from lakehouse.quality.validation import SAMPLE_SIZE

ROWS_AND_COUNT = "unexpected_rows_query.rows_and_count"


class UnexpectedRowsQueryRowsAndCount(QueryMetricProvider):
    """``{"rows": [...], "count": n}``: up to ``MAX_RESULT_RECORDS`` rows of the query and its row count,
    from one execution of the query unless it returns more rows than that."""

    metric_name = ROWS_AND_COUNT
    value_keys = ("unexpected_rows_query",)
    query_param_name: ClassVar[str] = "unexpected_rows_query"

    @metric_value(engine=SparkDFExecutionEngine)
    def _spark(
        cls,
        execution_engine: SparkDFExecutionEngine,
        metric_domain_kwargs: dict,
        metric_value_kwargs: dict,
        metrics: dict[str, Any],
        runtime_configuration: dict,
    ) -> dict[str, Any]:
        query = cls._get_query_from_metric_value_kwargs(metric_value_kwargs)
        df, _, _ = execution_engine.get_compute_domain(metric_domain_kwargs, domain_type=MetricDomainTypes.TABLE)
        df.createOrReplaceTempView("tmp_view")  # as GX's own query metrics name the batch
        unexpected = execution_engine.spark.sql(cls._format_query(query, batch="tmp_view"))
        rows = unexpected.limit(MAX_RESULT_RECORDS + 1).collect()
        count = len(rows) if len(rows) <= MAX_RESULT_RECORDS else unexpected.count()
        return {"rows": [row.asDict() for row in rows[:MAX_RESULT_RECORDS]], "count": count}


class LakehouseUnexpectedRowsExpectation(UnexpectedRowsExpectation):
    """``UnexpectedRowsExpectation`` evaluated with one query (see the module)."""

    metric_dependencies: ClassVar[tuple[str, ...]] = (ROWS_AND_COUNT,)

    def _validate(
        self,
        metrics: dict,
        runtime_configuration: dict | None = None,
        execution_engine: Any = None,
    ) -> dict[str, Any]:
        result_format = self._get_result_format(runtime_configuration=runtime_configuration)
        if isinstance(result_format, dict):
            result_format = result_format.get("result_format", ResultFormat.SUMMARY)
        found = metrics[ROWS_AND_COUNT]
        success = found["count"] == 0
        if result_format == ResultFormat.BOOLEAN_ONLY:
            return {"success": success}
        result: dict[str, Any] = {"observed_value": found["count"]}
        if result_format == ResultFormat.COMPLETE:
            result["details"] = {"unexpected_rows": found["rows"]}
        elif not success:
            result["details"] = {"unexpected_rows": found["rows"][:SAMPLE_SIZE]}
        return {"success": success, "result": result}
