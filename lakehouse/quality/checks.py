"""One blocking ``great_expectations`` asset check per bronze, silver and gold table.

Each check is a thin adapter: it reads the table the asset wrote (located by the ``lake`` resource, read
by the ``engine``), keeps the days of the run's partition window (or the whole table when the suite's
scope says so), validates them with the table's suite and returns one
``AssetCheckResult``. Its severity comes from the data: a failed ERROR expectation fails the check
with severity ERROR, which stops the assets downstream in the same run and rejects the write it checked
(``lakehouse.quality.gates``: the table is back to its previous content, the rejected rows readable by time
travel); failed WARN expectations only fail it with severity WARN, which blocks and rejects nothing.
"""

from collections.abc import Iterator, Sequence
from typing import Any

import dagster as dg

from lakehouse.contracts import load_contracts
from lakehouse.engine import SparkEngine
from lakehouse.lake import Lake
from lakehouse.partitions import PARTITION_COLUMN, DayWindow
from lakehouse.quality.gates import blocks, materialization_in_run, reject_checked_write
from lakehouse.quality.suites import Scope, Severity, Suite, load_suite
from lakehouse.quality.validation import SuiteOutcome, validate_frame

GREAT_EXPECTATIONS = "great_expectations"
LAYERS = ("bronze", "silver", "gold")
_DAGSTER_SEVERITY = {Severity.ERROR: dg.AssetCheckSeverity.ERROR, Severity.WARN: dg.AssetCheckSeverity.WARN}


def great_expectations_checks(assets: Sequence[dg.AssetsDefinition]) -> list[dg.AssetChecksDefinition]:
    """A ``great_expectations`` check for every bronze, silver and gold table asset among ``assets``: each
    layer builds its checks from the assets it hands out. An asset that runs its check in its own step
    (``quality_check_spec``) already has it."""
    contracts = load_contracts()
    checks = []
    for assets_def in assets:
        for key in sorted(assets_def.keys, key=lambda k: k.to_user_string()):
            contract = contracts.get(".".join(key.path))
            if len(key.path) != 2 or key.path[0] not in LAYERS or contract is None:
                continue
            if dg.AssetCheckKey(key, GREAT_EXPECTATIONS) in assets_def.check_keys:
                continue
            spec = assets_def.specs_by_key[key]
            suite = load_suite(contract, partitioned=has_partition_column(spec))
            checks.append(build_quality_check(suite, partitions_def=spec.partitions_def))
    return checks


def has_partition_column(spec: dg.AssetSpec) -> bool:
    """Whether the asset's table carries ``_run_date``: a partitioned asset does, unless the column
    schema it declares leaves it out (a dimension merged in place, such as gold/dim_product)."""
    if spec.partitions_def is None:
        return False
    schema = spec.metadata.get("dagster/column_schema")
    schema = getattr(schema, "schema", schema)  # a TableSchemaMetadataValue or the TableSchema itself
    if isinstance(schema, dg.TableSchema):
        return PARTITION_COLUMN in {column.name for column in schema.columns}
    return True


def _static_metadata(suite: Suite) -> dict[str, Any]:
    static_metadata: dict[str, Any] = {
        "suite": suite.name,
        "scope": suite.scope.value,
        "expectations": len(suite.expectations),
    }
    if suite.contract_path is not None:
        static_metadata["contract"] = dg.MetadataValue.path(str(suite.contract_path))
    if suite.expectations_path is not None:
        static_metadata["expectations_file"] = dg.MetadataValue.path(str(suite.expectations_path))
    return static_metadata


def _description(suite: Suite) -> str:
    return (
        f"Great Expectations suite {suite.name} ({len(suite.expectations)} expectations, derived "
        "from the contract plus its expectations file) on the "
        + ("run's partition window." if suite.scope is Scope.PARTITION else "whole table.")
    )


def quality_check_spec(suite: Suite, partitions_def: dg.PartitionsDefinition | None = None) -> dg.AssetCheckSpec:
    """The table's check as a spec of its asset, which runs it in its own step after its write
    (``checked_output``): the same check, name, metadata, partitions and blocking as ``build_quality_check``.

    Why: a check in a step of its own pays a step of Dagster (its events, its start and end, the asset's
    Delta table located and opened again): on a 2-core machine about 0.08 s a step at SF 1, as much as a
    small table's whole suite in one aggregate pass. In the asset's step, a failed ERROR check still fails
    the step after the write, so the assets downstream do not run, and its write is rejected
    (``lakehouse.quality.gates``) as a separate check's is."""
    return dg.AssetCheckSpec(
        GREAT_EXPECTATIONS,
        asset=dg.AssetKey(list(suite.asset_key_path)),
        description=_description(suite),
        blocking=True,
        partitions_def=partitions_def,
        metadata=_static_metadata(suite),
    )


def checked_output(
    context: dg.AssetExecutionContext, output: dg.Output, suite: Suite, engine: SparkEngine, lake: Lake
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """The asset's output, then its check's result on what was written: Dagster stores an output (the IO
    manager's write, then its materialization event) when the step yields it, before the step resumes, so
    the check reads the table as a separate check would. An output the IO manager kept off the lake (an
    in-memory IO manager: no ``table_uri`` in its materialization) has no table to validate: the check
    says so, failing with severity WARN, which blocks nothing (Dagster wants a result from every check
    of a step)."""
    yield output
    if _written_to_lake(context, suite):
        yield run_quality_check(context, suite, engine, lake)
    else:
        yield dg.AssetCheckResult(
            asset_key=dg.AssetKey(list(suite.asset_key_path)),
            check_name=GREAT_EXPECTATIONS,
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description="not validated: the output was not written to the lake (no table_uri), so there is "
            "no table to read",
        )


def _written_to_lake(context: dg.AssetExecutionContext, suite: Suite) -> bool:
    written = materialization_in_run(context, dg.AssetKey(list(suite.asset_key_path)))
    return written is not None and "table_uri" in (written.metadata or {})


def build_quality_check(
    suite: Suite, partitions_def: dg.PartitionsDefinition | None = None
) -> dg.AssetChecksDefinition:
    """The check of one table, partitioned like its asset (``partitions_def``) so that a one-day run
    records its result for that day. In a partitioned run it validates the run's partition window, one
    day or a backfill range."""
    key = dg.AssetKey(list(suite.asset_key_path))

    @dg.asset_check(
        asset=key,
        name=GREAT_EXPECTATIONS,
        description=_description(suite),
        blocking=True,
        partitions_def=partitions_def,
        metadata=_static_metadata(suite),
    )
    def _great_expectations(
        context: dg.AssetCheckExecutionContext, engine: SparkEngine, lake: Lake
    ) -> dg.AssetCheckResult:
        return run_quality_check(context, suite, engine, lake)

    return _great_expectations


def run_quality_check(
    context: dg.AssetCheckExecutionContext | dg.AssetExecutionContext, suite: Suite, engine: SparkEngine, lake: Lake
) -> dg.AssetCheckResult:
    key = dg.AssetKey(list(suite.asset_key_path))
    uri = lake.table(key)
    if not lake.exists(uri):
        return dg.AssetCheckResult(
            asset_key=key,
            check_name=GREAT_EXPECTATIONS,
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR,
            description=f"no Delta table at {uri}: materialize {key.to_user_string()} first",
        )
    frame = engine.spark_session.read.format("delta").load(uri)
    window = DayWindow.of_context_or_none(context) if suite.scope is Scope.PARTITION else None
    if window is not None:
        frame = frame.where(window.filter())
        scope = f"partitions {window}"
        run_name = f"{context.run.run_id}-{window.start}"
    else:  # a table-scoped suite, or a check run on its own, outside a partitioned run
        scope = "whole table"
        run_name = f"{context.run.run_id}-table"
    outcome = validate_frame(frame, suite, run_name)
    context.log.info(
        f"{suite.name}: {len(outcome.results)} expectations on {outcome.rows} rows of the {scope}, "
        f"{len(outcome.failed)} failed"
    )
    result = check_result(outcome, key, scope)
    return reject_checked_write(context, lake, result) if blocks(result) else result


def check_result(outcome: SuiteOutcome, key: dg.AssetKey, scope: str) -> dg.AssetCheckResult:
    failed = outcome.failed
    # A passing check carries the severity a failure of its suite could have.
    could_block = any(spec.severity is Severity.ERROR for spec in outcome.suite.expectations)
    severity = outcome.severity or (Severity.ERROR if could_block else Severity.WARN)
    metadata: dict[str, Any] = {
        "scope": scope,
        "rows_validated": outcome.rows,
        "expectations_evaluated": len(outcome.results),
        "expectations_failed": len(failed),
        "failed_expectations": dg.MetadataValue.json(
            [
                {"id": r.spec.id, "severity": r.spec.severity.value, "unexpected_count": r.unexpected_count}
                for r in failed
            ]
        ),
        "unexpected_counts": dg.MetadataValue.json(
            {r.spec.id: r.unexpected_count for r in outcome.results if r.unexpected_count is not None}
        ),
        "failing_samples": dg.MetadataValue.json({r.spec.id: list(r.sample) for r in failed if r.sample}),
        "expectation_results": dg.MetadataValue.json({r.spec.id: r.as_metadata() for r in outcome.results}),
    }
    if outcome.data_docs_uri is not None:
        metadata["data_docs"] = dg.MetadataValue.url(outcome.data_docs_uri)
    if outcome.data_docs_path is not None:
        metadata["data_docs_path"] = dg.MetadataValue.path(str(outcome.data_docs_path))
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=GREAT_EXPECTATIONS,
        passed=outcome.success,
        severity=_DAGSTER_SEVERITY[severity],
        description=_describe(outcome, scope),
        metadata=metadata,
    )


def _describe(outcome: SuiteOutcome, scope: str) -> str:
    if outcome.success:
        return f"{len(outcome.results)} expectations passed on {outcome.rows} rows ({scope})."
    parts = []
    for result in outcome.failed:
        count = f", {result.unexpected_count} unexpected" if result.unexpected_count is not None else ""
        parts.append(f"{result.spec.id} [{result.spec.severity.value}{count}]")
    return f"{len(outcome.failed)} of {len(outcome.results)} expectations failed ({scope}): " + "; ".join(
        parts
    )
