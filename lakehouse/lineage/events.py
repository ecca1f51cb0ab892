"""OpenLineage run events for one Dagster step: START and COMPLETE, or START and FAIL, per asset.

Everything here is built from plain records of what happened (``StepOutcome``) and of what each asset
reads and writes (``AssetLineage``), so it is testable without running Dagster. The Dagster side, reading
the step's events and the resources, is ``lakehouse.lineage.hooks``.

* Job: namespace ``lakehouse`` (configurable), name from the asset key (``silver.customers``); facets:
  job type (``BATCH``/``DAGSTER``/``ASSET``) and the asset's description.
* Run: one OpenLineage run per asset materialization attempt, its id a UUID derived from the Dagster run
  id, step, attempt and asset key (so START and COMPLETE share it and a re-emission repeats it); facets:
  the parent (the Dagster job and run id), the nominal time of the partitions, the processing engine and,
  on FAIL, the error.
* Datasets: the inputs the asset reads (upstream lake tables, source tables) and its own table; facets:
  schema, column lineage, version (Delta table version), output statistics (rows, bytes, files) and data
  quality assertions (the asset's checks evaluated in the step).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.generated import (
    data_quality_assertions_dataset,
    dataset_version_dataset,
    documentation_job,
    error_message_run,
    job_type_job,
    nominal_time_run,
    output_statistics_output_dataset,
    parent_run,
    processing_engine_run,
    schema_dataset,
)
from openlineage.client.generated.column_lineage_dataset import ColumnLineageDatasetFacet
from openlineage.client.uuid import generate_static_uuid

from lakehouse.lineage.naming import DatasetName

PRODUCER = "https://github.com/lakehouse/lakehouse/tree/main/lakehouse/lineage"


@dataclass(frozen=True)
class SchemaField:
    name: str
    type: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class AssetLineage:
    """What one asset reads and writes, known before it runs."""

    key_path: tuple[str, ...]
    output: DatasetName
    inputs: tuple[DatasetName, ...] = ()
    description: str | None = None
    schema: tuple[SchemaField, ...] = ()
    column_lineage: ColumnLineageDatasetFacet | None = None

    @property
    def job_name(self) -> str:
        return ".".join(self.key_path)


@dataclass(frozen=True)
class Written:
    """What a materialization reported about the table it wrote (``None``: not reported)."""

    row_count: int | None = None
    bytes_written: int | None = None
    files_written: int | None = None
    version: str | None = None
    schema: tuple[SchemaField, ...] = ()


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    passed: bool
    severity: str  # "error" blocks downstream assets, "warn" does not
    description: str | None = None


@dataclass(frozen=True)
class StepOutcome:
    """One attempt of one Dagster step, from its events."""

    dagster_run_id: str
    dagster_job_name: str
    step_key: str
    attempt: int
    started_at: datetime
    finished_at: datetime
    succeeded: bool
    error_message: str | None = None
    error_stack: str | None = None
    written: Mapping[tuple[str, ...], Written] = field(default_factory=dict)
    checks: Mapping[tuple[str, ...], tuple[CheckOutcome, ...]] = field(default_factory=dict)
    nominal_window: tuple[datetime, datetime] | None = None
    engine_version: str | None = None


def asset_run_id(step: StepOutcome, key_path: Sequence[str]) -> str:
    """The OpenLineage run id of one asset's materialization attempt: the same for its START and its
    COMPLETE or FAIL, time-ordered (UUIDv7) by the step's start."""
    return materialization_run_id(step.dagster_run_id, step.step_key, step.attempt, step.started_at, key_path)


def materialization_run_id(
    dagster_run_id: str, step_key: str, attempt: int, started_at: datetime, key_path: Sequence[str]
) -> str:
    data = f"{dagster_run_id}/{step_key}/{attempt}/{'/'.join(key_path)}".encode()
    return str(generate_static_uuid(started_at, data))


def checks_run_event(
    asset: AssetLineage,
    run_id: str,
    event_time: datetime,
    checks: Sequence[CheckOutcome],
    parent: tuple[str, str],
    namespace: str,
    producer: str = PRODUCER,
) -> RunEvent:
    """An ``OTHER`` event adding the results of checks that ran in steps of their own to the run of the
    asset's materialization (``run_id``); ``parent`` is the Dagster (job name, run id)."""
    parent_facet = _parent_facet(*parent, namespace, producer)
    return RunEvent(
        eventType=RunState.OTHER,
        eventTime=_iso(event_time),
        run=Run(runId=run_id, facets={"parent": parent_facet}),
        job=_job(asset, namespace, producer),
        outputs=[
            OutputDataset(
                namespace=asset.output.namespace,
                name=asset.output.name,
                facets={"dataQualityAssertions": _assertions(checks, producer)},
            )
        ],
        producer=producer,
    )


def step_run_events(
    step: StepOutcome, assets: Sequence[AssetLineage], namespace: str, producer: str = PRODUCER
) -> list[RunEvent]:
    """START then COMPLETE (or FAIL) for every asset of the step.

    On success, an asset the step did not materialize (an optional output left out) gets no events; on
    failure every asset of the step gets FAIL, with what it wrote if it wrote something (a blocking check
    that failed after the write).
    """
    events: list[RunEvent] = []
    for asset in assets:
        written = step.written.get(asset.key_path)
        if step.succeeded and written is None:
            continue
        run_id = asset_run_id(step, asset.key_path)
        failed = not step.succeeded
        job = _job(asset, namespace, producer)
        inputs = [InputDataset(namespace=d.namespace, name=d.name) for d in asset.inputs]
        events.append(
            RunEvent(
                eventType=RunState.START,
                eventTime=_iso(step.started_at),
                run=Run(runId=run_id, facets=_run_facets(step, namespace, producer, failed=False)),
                job=job,
                inputs=inputs,
                outputs=[_output(asset, None, (), producer)],
                producer=producer,
            )
        )
        events.append(
            RunEvent(
                eventType=RunState.COMPLETE if step.succeeded else RunState.FAIL,
                eventTime=_iso(step.finished_at),
                run=Run(runId=run_id, facets=_run_facets(step, namespace, producer, failed=failed)),
                job=job,
                inputs=inputs,
                outputs=[_output(asset, written, step.checks.get(asset.key_path, ()), producer)],
                producer=producer,
            )
        )
    return events


def _job(asset: AssetLineage, namespace: str, producer: str) -> Job:
    facets: dict = {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="DAGSTER", jobType="ASSET", producer=producer
        )
    }
    if asset.description:
        facets["documentation"] = documentation_job.DocumentationJobFacet(
            description=asset.description, producer=producer
        )
    return Job(namespace=namespace, name=asset.job_name, facets=facets)


def _run_facets(step: StepOutcome, namespace: str, producer: str, failed: bool) -> dict:
    facets: dict = {"parent": _parent_facet(step.dagster_job_name, step.dagster_run_id, namespace, producer)}
    if step.nominal_window is not None:
        start, end = step.nominal_window
        facets["nominalTime"] = nominal_time_run.NominalTimeRunFacet(
            nominalStartTime=_iso(start), nominalEndTime=_iso(end), producer=producer
        )
    if step.engine_version:
        facets["processing_engine"] = processing_engine_run.ProcessingEngineRunFacet(
            version=step.engine_version, name="Dagster", producer=producer
        )
    if failed:
        facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=step.error_message or f"step {step.step_key} failed",
            programmingLanguage="python",
            stackTrace=step.error_stack,
            producer=producer,
        )
    return facets


def _parent_facet(job_name: str, run_id: str, namespace: str, producer: str) -> parent_run.ParentRunFacet:
    return parent_run.ParentRunFacet(
        run=parent_run.Run(runId=run_id),
        job=parent_run.Job(namespace=namespace, name=job_name),
        root=parent_run.Root(
            run=parent_run.RootRun(runId=run_id),
            job=parent_run.RootJob(namespace=namespace, name=job_name),
        ),
        producer=producer,
    )


def _assertions(
    checks: Sequence[CheckOutcome], producer: str
) -> data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet:
    return data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
        assertions=[
            data_quality_assertions_dataset.Assertion(
                assertion=check.name,
                success=check.passed,
                severity=check.severity,
                name=check.name,
                description=check.description,
            )
            for check in checks
        ],
        producer=producer,
    )


def _output(
    asset: AssetLineage, written: Written | None, checks: Sequence[CheckOutcome], producer: str
) -> OutputDataset:
    facets: dict = {}
    schema = (written.schema if written else ()) or asset.schema
    if schema:
        facets["schema"] = schema_dataset.SchemaDatasetFacet(
            fields=[
                schema_dataset.SchemaDatasetFacetFields(name=f.name, type=f.type, description=f.description)
                for f in schema
            ],
            producer=producer,
        )
    if asset.column_lineage is not None:
        facets["columnLineage"] = asset.column_lineage
    if written is not None and written.version is not None:
        facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
            datasetVersion=written.version, producer=producer
        )
    if checks:
        facets["dataQualityAssertions"] = _assertions(checks, producer)
    output_facets: dict = {}
    if written is not None and any(
        v is not None for v in (written.row_count, written.bytes_written, written.files_written)
    ):
        statistics = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet
        output_facets["outputStatistics"] = statistics(
            rowCount=written.row_count,
            size=written.bytes_written,
            fileCount=written.files_written,
            producer=producer,
        )
    return OutputDataset(
        namespace=asset.output.namespace, name=asset.output.name, facets=facets, outputFacets=output_facets
    )


def _iso(instant: datetime) -> str:
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=timezone.utc)
    return instant.astimezone(timezone.utc).isoformat()
