"""Emit OpenLineage events for every asset materialization, through Dagster hooks on the assets.

``with_lineage(assets)`` returns the assets with a success hook and a failure hook on each. Hooks run in
the process of the step, right after it ends, however the run was launched: the UI, a schedule or sensor,
``execute_in_process``, ``dg.materialize`` or ``lakehouse demo``, with the in-process or multiprocess
executor. (A ``@dg.logger`` would see the same events, but Dagster only starts the loggers a run's config
names, so runs launched without that config, including every UI launch, would emit nothing.)

The hook reads the step's events from the Dagster instance (start and end times, materializations with
their metadata, asset check evaluations, the error), resolves dataset names through the run's resources
(the ``lake``'s table URIs, the Snowflake account, the Redshift endpoint) and emits START and
COMPLETE or FAIL per asset (``lakehouse.lineage.events``). Any error while building or emitting is
logged as a warning on the run: lineage never fails a materialization.

Also adds ``dagster/column_lineage`` definition metadata to every asset whose contract declares lineage.
"""

import re
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import dagster as dg

from lakehouse.contracts import Contract, load_contracts
from lakehouse.lineage.client import lineage_client, lineage_disabled, lineage_namespace
from lakehouse.lineage.column_lineage import (
    COLUMN_LINEAGE_METADATA_KEY,
    column_lineage_facet,
    dagster_column_lineage,
)
from lakehouse.lineage.events import (
    PRODUCER,
    AssetLineage,
    CheckOutcome,
    SchemaField,
    StepOutcome,
    Written,
    checks_run_event,
    materialization_run_id,
    step_run_events,
)
from lakehouse.lineage.naming import DatasetName, redshift_dataset, snowflake_dataset, table_dataset
from lakehouse.partitions import DayWindow

LAKE_KEY = "lake"
SOURCE_TABLE_METADATA_KEY = "source_table"
"""Definition metadata of a bronze asset: ``<system>://<DATABASE.SCHEMA.TABLE>`` of the table it extracts."""
COLUMN_SCHEMA_METADATA_KEY = "dagster/column_schema"
ROW_COUNT_METADATA_KEY = "dagster/row_count"
BYTES_WRITTEN_METADATA_KEY = "bytes_written"
FILES_WRITTEN_METADATA_KEY = "files_written"
TABLE_URI_METADATA_KEY = "table_uri"
DELTA_VERSION_METADATA_KEY = "delta_version"
CLOSE_TIMEOUT_SECONDS = 10.0

_STEP_EVENTS = {
    dg.DagsterEventType.STEP_START,
    dg.DagsterEventType.ASSET_MATERIALIZATION,
    dg.DagsterEventType.ASSET_CHECK_EVALUATION,
    dg.DagsterEventType.STEP_SUCCESS,
    dg.DagsterEventType.STEP_FAILURE,
}
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def with_lineage(assets: Iterable[Any], namespace: str | None = None) -> list[Any]:
    """The assets with lineage hooks and ``dagster/column_lineage`` metadata; anything that is not an
    ``AssetsDefinition`` (specs, source assets) passes through unchanged.

    Asset checks that run in steps of their own (``AssetChecksDefinition``) may be passed too: their
    results are sent as an ``OTHER`` event of the run of the asset's materialization, when the asset was
    materialized earlier in the same Dagster run.

    ``namespace`` overrides the OpenLineage namespace of the jobs (default: ``$OPENLINEAGE_NAMESPACE``,
    else ``lakehouse``), read when a step ends.
    """
    contracts = {_key_path_of(c): c for c in load_contracts().values()}
    wrapped = []
    for asset in assets:
        if isinstance(asset, dg.AssetChecksDefinition):
            wrapped.append(_with_check_lineage(asset, namespace))
        elif isinstance(asset, dg.AssetsDefinition):
            wrapped.append(_with_lineage(asset, contracts, namespace))
        else:
            wrapped.append(asset)
    return wrapped


def _key_path_of(contract: Contract) -> tuple[str, ...]:
    return (contract.layer, contract.table)


def _with_lineage(
    asset: dg.AssetsDefinition, contracts: Mapping[tuple[str, ...], Contract], namespace: str | None
) -> dg.AssetsDefinition:
    def add_column_lineage(spec: dg.AssetSpec) -> dg.AssetSpec:
        contract = contracts.get(tuple(spec.key.path))
        lineage = dagster_column_lineage(contract) if contract is not None else None
        if lineage is None or COLUMN_LINEAGE_METADATA_KEY in spec.metadata:
            return spec
        return spec.merge_attributes(metadata={COLUMN_LINEAGE_METADATA_KEY: lineage})

    asset = asset.map_asset_specs(add_column_lineage)
    plan = _AssetsPlan.of(asset, contracts)
    name = asset.node_def.name
    resource_keys = {LAKE_KEY, *plan.source_systems}

    @dg.success_hook(name=f"{name}_openlineage_complete", required_resource_keys=resource_keys)
    def _on_success(context: dg.HookContext) -> None:
        emit_step_lineage(context, plan, namespace)

    @dg.failure_hook(name=f"{name}_openlineage_fail", required_resource_keys=resource_keys)
    def _on_failure(context: dg.HookContext) -> None:
        emit_step_lineage(context, plan, namespace)

    return asset.with_hooks({_on_success, _on_failure})


def _with_check_lineage(checks: dg.AssetChecksDefinition, namespace: str | None) -> dg.AssetsDefinition:
    name = checks.node_def.name

    @dg.success_hook(name=f"{name}_openlineage_checks", required_resource_keys={LAKE_KEY})
    def _on_success(context: dg.HookContext) -> None:
        emit_check_lineage(context, namespace)

    @dg.failure_hook(name=f"{name}_openlineage_checks_failed", required_resource_keys={LAKE_KEY})
    def _on_failure(context: dg.HookContext) -> None:
        emit_check_lineage(context, namespace)

    return checks.with_hooks({_on_success, _on_failure})


# ------------------------------------------------------------------------------ what the assets are


@dataclass(frozen=True)
class _AssetPlan:
    key: dg.AssetKey
    upstream: tuple[dg.AssetKey, ...]
    source_table: str | None
    description: str | None
    schema: tuple[SchemaField, ...]
    contract: Contract | None


@dataclass(frozen=True)
class _AssetsPlan:
    """The static side of one ``AssetsDefinition``: its assets, what they read, their contracts."""

    assets: tuple[_AssetPlan, ...]

    @classmethod
    def of(cls, asset: dg.AssetsDefinition, contracts: Mapping[tuple[str, ...], Contract]) -> "_AssetsPlan":
        specs = list(asset.specs)
        # A multi-asset extracting a source table (bronze + quarantine) reads it for every output.
        sources = [spec.metadata.get(SOURCE_TABLE_METADATA_KEY) for spec in specs]
        shared_source = next((_plain(s) for s in sources if s is not None), None)
        own_keys = {spec.key for spec in specs}
        return cls(
            tuple(
                _AssetPlan(
                    key=spec.key,
                    upstream=tuple(dep.asset_key for dep in spec.deps if dep.asset_key not in own_keys),
                    source_table=shared_source,
                    description=spec.description,
                    schema=_schema_fields(spec.metadata.get(COLUMN_SCHEMA_METADATA_KEY)),
                    contract=contracts.get(tuple(spec.key.path)),
                )
                for spec in specs
            )
        )

    @property
    def source_systems(self) -> set[str]:
        tables = [a.source_table for a in self.assets if a.source_table and "://" in a.source_table]
        return {table.split("://", 1)[0] for table in tables}


# ------------------------------------------------------------------------------------------ the hook


def emit_step_lineage(context: dg.HookContext, plan: _AssetsPlan, namespace: str | None = None) -> None:
    """Build and emit the step's events; never raises (a failure is a warning on the run)."""
    if lineage_disabled():
        return
    try:
        step = step_outcome(context)
        assets = [_asset_lineage(a, context.resources) for a in plan.assets]
        events = step_run_events(step, assets, lineage_namespace(namespace))
        _emit(events)
    except Exception as error:  # lineage is an observer: it must never fail the run
        _warn_not_emitted(context, error)


def _emit(events: Sequence[Any]) -> None:
    client = lineage_client()
    try:
        for event in events:
            client.emit(event)
    finally:
        client.close(CLOSE_TIMEOUT_SECONDS)


def _warn_not_emitted(context: dg.HookContext, error: Exception) -> None:
    context.log.warning(
        f"OpenLineage events of step {context.step_key} not emitted: {type(error).__name__}: {error}"
    )


def emit_check_lineage(context: dg.HookContext, namespace: str | None = None) -> None:
    """Send the results of a check step as an ``OTHER`` event of each checked asset's materialization
    run in this Dagster run; never raises."""
    if lineage_disabled():
        return
    try:
        logs = context.instance.all_logs(context.run_id, of_type=_STEP_EVENTS)
        own, _ = _latest_attempt([e for e in logs if e.step_key == context.step_key])
        checks: dict[dg.AssetKey, list[CheckOutcome]] = {}
        for entry in own:
            if entry.dagster_event.event_type is dg.DagsterEventType.ASSET_CHECK_EVALUATION:
                evaluation = entry.dagster_event.asset_check_evaluation_data
                checks.setdefault(evaluation.asset_key, []).append(_check_outcome(evaluation))
        ended = own[-1].timestamp if own else datetime.now(timezone.utc).timestamp()
        lake = getattr(context.resources, LAKE_KEY)
        events = []
        for key, outcomes in checks.items():
            run_id = _materialization_run_id(logs, context.run_id, key)
            if run_id is None:
                continue  # the asset was not materialized in this run: no run of it to add to
            output = table_dataset(lake.table(key))
            asset = AssetLineage(key_path=tuple(key.path), output=output)
            events.append(
                checks_run_event(
                    asset,
                    run_id,
                    _utc(ended),
                    outcomes,
                    (context.job_name, context.run_id),
                    lineage_namespace(namespace),
                )
            )
        if events:
            _emit(events)
    except Exception as error:  # lineage is an observer: it must never fail the run
        _warn_not_emitted(context, error)


def _materialization_run_id(logs: Sequence[Any], dagster_run_id: str, key: dg.AssetKey) -> str | None:
    """The OpenLineage run id the asset's latest materialization in this Dagster run was emitted with."""
    materializations = [
        e
        for e in logs
        if e.dagster_event.event_type is dg.DagsterEventType.ASSET_MATERIALIZATION
        and e.dagster_event.asset_key == key
    ]
    if not materializations:
        return None
    step_key = materializations[-1].step_key
    position = list(logs).index(materializations[-1])
    entries, attempt = _latest_attempt([e for e in logs[:position] if e.step_key == step_key])
    if not entries:
        return None
    return materialization_run_id(dagster_run_id, step_key, attempt, _utc(entries[0].timestamp), key.path)


def _latest_attempt(entries: Sequence[Any]) -> tuple[list[Any], int]:
    """The events from the step's last STEP_START on, and how many attempts it has had."""
    start = dg.DagsterEventType.STEP_START
    starts = [i for i, e in enumerate(entries) if e.dagster_event.event_type is start]
    return (list(entries[starts[-1] :]) if starts else list(entries)), max(len(starts), 1)


def _check_outcome(evaluation: Any) -> CheckOutcome:
    return CheckOutcome(
        name=evaluation.check_name,
        passed=evaluation.passed,
        severity=evaluation.severity.value.lower(),
        description=evaluation.description,
    )


def step_outcome(context: dg.HookContext) -> StepOutcome:
    """The step's latest attempt, from its events in the instance's event log."""
    logs = context.instance.all_logs(context.run_id, of_type=_STEP_EVENTS)
    attempt_entries, attempt = _latest_attempt([e for e in logs if e.step_key == context.step_key])
    started = attempt_entries[0].timestamp if attempt_entries else datetime.now(timezone.utc).timestamp()
    finished = None
    succeeded = context.op_exception is None
    error_message = error_stack = None
    written: dict[tuple[str, ...], Written] = {}
    checks: dict[tuple[str, ...], list[CheckOutcome]] = {}
    partitions: list[str] = []
    for entry in attempt_entries:
        event = entry.dagster_event
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.step_materialization_data.materialization
            written[tuple(materialization.asset_key.path)] = _written(materialization.metadata)
            if materialization.partition:
                partitions.append(materialization.partition)
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.asset_check_evaluation_data
            checks.setdefault(tuple(evaluation.asset_key.path), []).append(_check_outcome(evaluation))
        elif event.event_type == dg.DagsterEventType.STEP_SUCCESS:
            finished, succeeded = entry.timestamp, True
        elif event.event_type == dg.DagsterEventType.STEP_FAILURE:
            finished, succeeded = entry.timestamp, False
            error = event.step_failure_data.error
            if error is not None:
                # Dagster wraps the user's exception; its own message is the innermost cause.
                cause = error
                while cause.cause is not None:
                    cause = cause.cause
                error_message, error_stack = cause.message.strip(), error.to_string()
    if not succeeded and error_message is None and context.op_exception is not None:
        exception = context.op_exception
        error_message = f"{type(exception).__name__}: {exception}"
        error_stack = "".join(traceback.format_exception(exception))
    return StepOutcome(
        dagster_run_id=context.run_id,
        dagster_job_name=context.job_name,
        step_key=context.step_key,
        attempt=attempt,
        started_at=_utc(started),
        finished_at=_utc(finished if finished is not None else datetime.now(timezone.utc).timestamp()),
        succeeded=succeeded,
        error_message=error_message,
        error_stack=error_stack,
        written=written,
        checks={key: tuple(outcomes) for key, outcomes in checks.items()},
        nominal_window=_nominal_window(partitions, _run_tags(context)),
        engine_version=dg.__version__,
    )


def _asset_lineage(asset: _AssetPlan, resources: Any) -> AssetLineage:
    lake = getattr(resources, LAKE_KEY)

    def lake_dataset(key_path: Sequence[str]) -> DatasetName:
        return table_dataset(lake.table(list(key_path)))

    inputs = [lake_dataset(key.path) for key in asset.upstream]
    if asset.source_table:
        inputs.insert(0, source_dataset(asset.source_table, resources))
    facet = (
        column_lineage_facet(asset.contract, lambda ref: lake_dataset([ref.layer, ref.table]), PRODUCER)
        if asset.contract is not None
        else None
    )
    return AssetLineage(
        key_path=tuple(asset.key.path),
        output=lake_dataset(asset.key.path),
        inputs=tuple(dict.fromkeys(inputs)),
        description=asset.description,
        schema=asset.schema,
        column_lineage=facet,
    )


def source_dataset(source_table: str, resources: Any) -> DatasetName:
    """The dataset of a bronze asset's source table, ``snowflake://DB.SCHEMA.TABLE`` or
    ``redshift://db.schema.table``, named from the configured source resource."""
    system, _, table = source_table.partition("://")
    resource = getattr(resources, system)
    if system == "snowflake":
        # Ops see dagster-snowflake's SnowflakeConnection, which wraps the configured SnowflakeResource.
        resource = getattr(resource, "snowflake_connection_resource", resource)
        return snowflake_dataset(resource.account, table)
    if system == "redshift":
        return redshift_dataset(resource.host, resource.port, table)
    raise ValueError(f"no OpenLineage naming for source system {system!r} ({source_table})")


# -------------------------------------------------------------------------------------- metadata


def _written(metadata: Mapping[str, Any]) -> Written:
    def integer(key: str) -> int | None:
        value = _plain(metadata.get(key))
        return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

    version = _plain(metadata.get(DELTA_VERSION_METADATA_KEY))
    return Written(
        row_count=integer(ROW_COUNT_METADATA_KEY),
        bytes_written=integer(BYTES_WRITTEN_METADATA_KEY),
        files_written=integer(FILES_WRITTEN_METADATA_KEY),
        version=str(version) if version is not None else None,
        schema=_schema_fields(metadata.get(COLUMN_SCHEMA_METADATA_KEY)),
    )


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, dg.MetadataValue) else value


def _schema_fields(value: Any) -> tuple[SchemaField, ...]:
    schema = _plain(value)
    if not isinstance(schema, dg.TableSchema):
        return ()
    return tuple(SchemaField(c.name, c.type, c.description) for c in schema.columns)


def _run_tags(context: dg.HookContext) -> Mapping[str, str]:
    run = context.instance.get_run_by_id(context.run_id)
    return run.tags if run is not None else {}


def _nominal_window(partitions: Sequence[str], tags: Mapping[str, str]) -> tuple[datetime, datetime] | None:
    """The days the run covers, when its partitions are days: from the first day's midnight (UTC) to the
    midnight after the last."""
    days = list(partitions)
    if not days:
        days = [
            tags[name]
            for name in (
                "dagster/partition",
                "dagster/asset_partition_range_start",
                "dagster/asset_partition_range_end",
            )
            if name in tags
        ]
    if not days or not all(_DAY.match(day) for day in days):
        return None
    start, end = DayWindow.of_keys(min(days), max(days)).timestamps()
    return start.replace(tzinfo=timezone.utc), end.replace(tzinfo=timezone.utc)


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, timezone.utc)


__all__ = ["emit_step_lineage", "source_dataset", "step_outcome", "with_lineage"]
