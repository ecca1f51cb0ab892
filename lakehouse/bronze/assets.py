"""Bronze assets: one per source table, built from its contract.

Each asset extracts the rows whose change column falls in the run's partition window (parameterized
SQL, Arrow batches streamed to the landing zone), together with the source's undated rows (see
``lakehouse.bronze.placement``: a NULL change column, or one dated beyond now plus a tolerance), adds the
metadata columns, aligns the batch to the contract and splits it into two lanes written in one Delta
commit each: ``bronze/<table>`` (valid rows) and ``quarantine/<table>`` (invalid rows with every reason
and the original payload; the undated rows in its partition of no day). Blocking checks then verify, on
what was written, that nothing was lost, that the partition honours its contract, and that every row of
the whole source table is in the lake or in a day not due yet. When a check of the run's own write fails
with severity ERROR, both lanes' writes are rejected (``lakehouse.quality.gates``), so the day is as it
was before the run; the whole-table reconciliation blocks without rejecting, as the days it names are
others'.
"""

from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone
from typing import TypeVar

import dagster as dg
from pydantic import Field
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.bronze.checks import (
    NOTHING_LOST,
    bronze_check_specs,
    contract_check_results,
    nothing_lost_result,
    reconciliation_result,
)
from lakehouse.bronze.placement import run_date_of, with_undated_reasons
from lakehouse.contracts import (
    Contract,
    ForeignKeyRule,
    NewColumnPolicy,
    align_to_schema,
    annotate_violations,
    split_lanes,
    with_payloads_of_quarantined_rows_only,
)
from lakehouse.engine import SparkEngine
from lakehouse.governance.asset_arguments import KINDS, asset_arguments
from lakehouse.governance.column_schema import metadata_columns, quarantine_column_schema
from lakehouse.io.delta_io_manager import MERGE_SCHEMA_KEY, UNDATED_ROWS_KEY
from lakehouse.lake import Lake, WriteScope
from lakehouse.observability.metrics import PhaseClock, compute_metrics, quarantine_metrics, started
from lakehouse.partitions import PARTITION_COLUMN, DayWindow, daily_partitions, last_partition_day
from lakehouse.quality.gates import GatedWrite, blocks, gate
from lakehouse.sources.extract import (
    Window,
    naive_utc,
    reconciliation_counts,
    source_connection,
    source_table,
    window_count,
    with_retries,
)
from lakehouse.sources.extraction import Extracted, extract_window, extraction_settings
from lakehouse.sources.landing import read_landed
from lakehouse.sources.reconciliation import DEFAULT_LATE_COMMIT_DAYS, SourceDay, reconcile_table

T = TypeVar("T")

BRONZE = "bronze"
QUARANTINE = "quarantine"


class BronzeConfig(dg.Config):
    """Extraction knobs; the defaults suit a laptop and a cluster alike."""

    batch_rows: int = 200_000
    connect_attempts: int = 4
    retry_backoff_seconds: float = 1.0
    future_tolerance_hours: float = Field(
        default=24.0,
        description="A row whose change column is later than the extraction time plus this is quarantined "
        "as dated in the future. 24 hours covers any source clock set to a local time zone by mistake.",
    )
    late_commit_days: int = Field(
        default=DEFAULT_LATE_COMMIT_DAYS,
        description="How many days before the lake's latest day the whole-table reconciliation counts "
        "missing rows as late commits awaiting a reload (the watermark sensors' lag) rather than lost.",
    )


def referenced_tables(contract: Contract) -> list[str]:
    """Bronze tables this one's foreign keys point at (a table never references itself here)."""
    return sorted(
        {r.references_table for r in contract.rules if isinstance(r, ForeignKeyRule)} - {contract.table}
    )


def bronze_key_of(contract: Contract) -> dg.AssetKey:
    return dg.AssetKey([BRONZE, contract.table])


def build_bronze_asset(contract: Contract) -> dg.AssetsDefinition:
    table = contract.table
    system = contract.source.system.value
    bronze_key = bronze_key_of(contract)
    quarantine_key = dg.AssetKey([QUARANTINE, table])
    references = referenced_tables(contract)

    @dg.multi_asset(
        name=f"bronze_{table}",
        outs={
            BRONZE: dg.AssetOut(
                **asset_arguments(
                    contract,
                    partitioned=False,  # the multi-asset holds the partitions of both lanes
                    extra_columns=metadata_columns(),
                    kinds={*KINDS, system},
                    metadata={
                        MERGE_SCHEMA_KEY: contract.evolution.new_column is NewColumnPolicy.EVOLVE,
                        "source_table": f"{system}://{contract.source.table}",
                    },
                )
            ),
            QUARANTINE: dg.AssetOut(
                key=quarantine_key,
                group_name=QUARANTINE,
                description=f"Rows of {contract.source.table} that break the bronze.{table} contract, "
                "with every reason and the original row; rows of no day (a NULL or future-dated "
                f"{contract.source.change_column}) have a NULL _run_date.",
                owners=[contract.owner],
                kinds=set(KINDS),
                metadata={
                    "dagster/column_schema": quarantine_column_schema(contract),
                    UNDATED_ROWS_KEY: True,
                },
            ),
        },
        ins={
            name: dg.AssetIn(key=dg.AssetKey([BRONZE, name]), partition_mapping=dg.AllPartitionMapping())
            for name in references
        },
        partitions_def=daily_partitions(),
        backfill_policy=dg.BackfillPolicy.single_run(),
        check_specs=bronze_check_specs(bronze_key),
        # the source resource's key is the contract's system, so resources are named, not typed, here
        required_resource_keys={"engine", "lake", system},
        can_subset=False,
    )
    def _bronze(context: dg.AssetExecutionContext, config: BronzeConfig, **reference_frames: DataFrame):
        resources = context.resources
        yield from materialize_bronze(
            context, config, resources.engine, resources.lake, contract, reference_frames
        )

    return _bronze


def materialize_bronze(
    context: dg.AssetExecutionContext,
    config: BronzeConfig,
    engine: SparkEngine,
    lake: Lake,
    contract: Contract,
    reference_frames: dict[str, DataFrame],
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    start = started()
    spark: SparkSession = engine.spark_session
    days = DayWindow.of_context(context)
    now = naive_utc(datetime.now(timezone.utc))
    first_day = daily_partitions().start.date()
    window = extraction_window(
        days, first_day=first_day, undated_from=now + _hours(config.future_tolerance_hours)
    )
    table = contract.table
    batch_id = f"{context.run.run_id}/{table}/{days.start.isoformat()}..{days.end.isoformat()}"
    # This run's scratch space for the table: the extracted batches, then the validated rows staged once.
    run_scratch = lake.landing(table, context.run.run_id)
    landing_uri = f"{run_scratch}/extracted"
    staged_uri = f"{run_scratch}/validated"
    source = source_table(contract)
    resource = getattr(context.resources, source.system)
    what = f"{source.system} {source.qualified_name}"

    settings = extraction_settings(source.system, resource)

    def extract() -> Extracted:
        lake.remove(landing_uri)  # a retried attempt starts from nothing
        with source_connection(source.system, resource) as connection:
            return extract_window(
                connection,
                source,
                window,
                landing_uri=landing_uri,
                landing_root=lake.landing(),
                settings=settings,
                batch_rows=config.batch_rows,
            )

    def at_the_source(action: Callable[[], T]) -> T:
        """``action`` on the source, retried with back-off while the source is unreachable."""
        return with_retries(
            action,
            what=what,
            attempts=config.connect_attempts,
            backoff_seconds=config.retry_backoff_seconds,
            retry_on=_connection_errors(source.system),
            log=context.log.warning,
        )

    def count_whole_table() -> dict[date | None, SourceDay]:
        with source_connection(source.system, resource) as connection:
            return reconciliation_counts(connection, source, window.undated_from)

    clock = PhaseClock()
    landed = at_the_source(extract)
    extracted = landed.rows
    clock.lap("extract")
    context.log.info(
        f"extracted {extracted} rows of {what} for {days} (from {window.start or 'the beginning'}) "
        f"into {landed.files} file(s), {settings.mode.value}"
    )
    try:
        raw = read_landed(spark, landed.landed) if extracted else empty_source_frame(spark, contract)
        ingested_at = datetime.now(timezone.utc)
        raw = with_metadata_columns(
            raw, contract, batch_id, ingested_at, first_day=first_day, undated_from=window.undated_from
        )
        aligned = align_to_schema(raw, contract, render_payload=False)
        references = {
            name: frame.select(_reference_column(contract, name)) for name, frame in reference_frames.items()
        }
        checked = annotate_violations(aligned, contract, references=references)
        checked = with_undated_reasons(checked, contract.source.change_column)
        if extracted:
            checked = with_payloads_of_quarantined_rows_only(checked)
            # Validation (casts, rules, the joins of foreign keys) is evaluated once, into Parquet; both
            # lanes and their writes read that instead of each re-running the whole plan.
            checked.write.mode("overwrite").parquet(staged_uri)
            checked = spark.read.parquet(staged_uri)
        clock.lap("validate")
        valid, quarantined = split_lanes(checked)
        bronze_uri = lake.table(bronze_key_of(contract))
        quarantine_uri = lake.table([QUARANTINE, contract.table])

        # the versions each lane's write replaces: what a failed blocking check rejects it back to
        versions_before = {uri: lake.version(uri) for uri in (bronze_uri, quarantine_uri)}
        yield dg.Output(quarantined, output_name=QUARANTINE, metadata=compute_metrics(start))
        # the lanes' rows per partition, from the logs of the commits just made: what the metadata, the
        # nothing-lost check and the reconciliation count, without another pass over the rows
        in_quarantine = lake.partition_counts(quarantine_uri)
        rows_quarantined = sum(in_quarantine.get(day, 0) for day in [*days.days, None])
        yield dg.Output(
            valid,
            output_name=BRONZE,
            metadata={
                "rows_extracted": extracted,
                "batch_id": batch_id,
                "schema_alignment": dg.MetadataValue.json(aligned.report.as_metadata()),
                **quarantine_metrics(rows_quarantined, extracted),
                **compute_metrics(start),
            },
        )
        in_bronze = lake.partition_counts(bronze_uri)
        clock.lap("write")

        lanes = [
            GatedWrite(bronze_uri, versions_before[bronze_uri], lake.version(bronze_uri), WriteScope(days)),
            GatedWrite(
                quarantine_uri,
                versions_before[quarantine_uri],
                lake.version(quarantine_uri),
                WriteScope(days, undated=True),
                prefix=f"{QUARANTINE}/",
            ),
        ]
        # Counted at the source after the writes, in one aggregate over the whole table: the window's rows
        # for the nothing-lost check and every day for the reconciliation. A commit landing after the
        # extraction fails the check rather than passing unnoticed, and the next sensor tick re-runs the day.
        at_source = at_the_source(count_whole_table)
        clock.lap("count at the source")
        results = [
            nothing_lost_result(
                contract, days, landed, window_count(at_source, window), in_bronze, in_quarantine
            ),
            *contract_check_results(spark, contract, bronze_uri, days),
        ]
        # a blocking failure of the checks of this write rejects both lanes' writes, so the day stays
        # whole and as it was
        gated = gate(lake, results, lanes, context.log.warning)
        yield from gated
        if any(blocks(result) for result in gated):  # rejected: reconcile what the lake now holds
            in_bronze = lake.partition_counts(bronze_uri)
            in_quarantine = lake.partition_counts(quarantine_uri)
        clock.lap("check")

        reconciliation = reconcile_table(
            at_source,
            in_bronze,
            in_quarantine,
            first_day=first_day,
            last_open_day=last_partition_day(now.date()),
            late_commit_days=config.late_commit_days,
        )
        # The whole table against the source: a failure blocks what reads the table, but rejects nothing,
        # since the days it names (late rows beyond the sensors' lag) are not this write's.
        yield reconciliation_result(contract, reconciliation)
    finally:
        lake.remove(run_scratch)
    clock.lap("reconcile")
    context.log.info(f"{what} into bronze/{table}: {clock.describe()}")


def extraction_window(days: DayWindow, *, first_day: date, undated_from: datetime) -> Window:
    """The source rows a run of ``days`` extracts: those of its days, every earlier row as well when it
    starts at the first partition, and the undated rows."""
    start, end = days.timestamps()
    return Window(None if days.start <= first_day else start, end, undated_from=max(undated_from, end))


def _hours(hours: float) -> timedelta:
    if hours < 0:
        raise ValueError(f"future_tolerance_hours must be zero or more, got {hours}")
    return timedelta(hours=hours)


def with_metadata_columns(
    df: DataFrame,
    contract: Contract,
    batch_id: str,
    ingested_at: datetime,
    *,
    first_day: date,
    undated_from: datetime,
) -> DataFrame:
    """The batch with the metadata columns; ``_run_date`` places each row (``lakehouse.bronze.placement``)."""
    change = _column_named(df, contract.source.change_column)
    return df.select(
        "*",
        F.lit(contract.source.system.value).alias("record_source"),
        F.lit(contract.source.table).alias("record_table"),
        F.lit(ingested_at).cast("timestamp").alias("ingest_timestamp"),
        F.lit(batch_id).alias("_batch_id"),
        run_date_of(F.col(f"`{change}`"), first_day=first_day, undated_from=undated_from).alias(
            PARTITION_COLUMN
        ),
    )


def empty_source_frame(spark: SparkSession, contract: Contract) -> DataFrame:
    """An empty batch shaped as the source delivers the table, so an empty window still writes a valid,
    empty partition."""
    schema = ", ".join(f"`{c.name}` {c.arrives_as}" for c in contract.columns)
    return spark.createDataFrame([], schema)


def _column_named(df: DataFrame, name: str) -> str:
    for column in df.columns:
        if column.lower() == name.lower():
            return column
    raise ValueError(f"the extracted batch has no change column {name!r}; columns: {df.columns}")


def _reference_column(contract: Contract, referenced_table: str) -> str:
    for rule in contract.rules:
        if isinstance(rule, ForeignKeyRule) and rule.references_table == referenced_table:
            return rule.references_column
    raise KeyError(referenced_table)


def _connection_errors(system: str) -> tuple[type[BaseException], ...]:
    if system == "snowflake":
        from snowflake.connector.errors import OperationalError

        # Connection-level failures only: a SQL error (ProgrammingError) will not fix itself on retry.
        return (OperationalError, ConnectionError, TimeoutError)
    import psycopg2

    return (psycopg2.OperationalError, ConnectionError, TimeoutError)


__all__ = ["NOTHING_LOST", "BronzeConfig", "build_bronze_asset", "materialize_bronze"]
