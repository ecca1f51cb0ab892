"""Bronze assets: one per source table, built from its contract.

Each asset extracts the rows whose change column falls in the run's partition window (parameterized
SQL, Arrow batches streamed to the landing zone), adds the metadata columns, aligns the batch to the
contract and splits it into two lanes written in one Delta commit each: ``bronze/<table>`` (valid rows)
and ``quarantine/<table>`` (invalid rows with every reason and the original payload). Blocking checks
then verify, on what was written, that nothing was lost and that the partition honours its contract.
"""


from collections.abc import Iterator
from datetime import datetime, timezone

import dagster as dg
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.bronze.checks import (
    NOTHING_LOST,
    bronze_check_specs,
    contract_check_results,
    nothing_lost_result,
)
from lakehouse.contracts import (
    ERROR_REASONS_COLUMN,
    Contract,
    ForeignKeyRule,
    NewColumnPolicy,
    align_to_schema,
    annotate_violations,
    split_lanes,
)
from lakehouse.engine import SparkEngine
from lakehouse.governance.asset_arguments import KINDS, asset_arguments
from lakehouse.governance.column_schema import metadata_columns, quarantine_column_schema
from lakehouse.io.delta_io_manager import MERGE_SCHEMA_KEY
from lakehouse.lake import Lake
from lakehouse.observability.metrics import compute_metrics, quarantine_metrics, started
from lakehouse.partitions import PARTITION_COLUMN, DayWindow, daily_partitions
from lakehouse.sources.extract import (
    Window,
    count_rows,
    source_connection,
    redshift_batches,
    snowflake_batches,
    source_table,
    with_retries,
)
from lakehouse.sources.landing import land_batches

BRONZE = "bronze"
QUARANTINE = "quarantine"


class BronzeConfig(dg.Config):
    """Extraction knobs; the defaults suit a laptop and a cluster alike."""

    batch_rows: int = 200_000
    connect_attempts: int = 4
    retry_backoff_seconds: float = 1.0


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
                "with every reason and the original row.",
                owners=[contract.owner],
                kinds=set(KINDS),
                metadata={"dagster/column_schema": quarantine_column_schema(contract)},
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
        yield from materialize_bronze(context, config, resources.engine, resources.lake, contract, reference_frames)

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
    window = Window(*days.timestamps())
    table = contract.table
    batch_id = f"{context.run.run_id}/{table}/{window.start:%Y-%m-%d}..{window.end:%Y-%m-%d}"
    # This run's scratch space for the table: the extracted batches, then the validated rows staged once.
    run_scratch = lake.landing(table, context.run.run_id)
    landing_uri = f"{run_scratch}/extracted"
    staged_uri = f"{run_scratch}/validated"
    source = source_table(contract)
    resource = getattr(context.resources, source.system)
    what = f"{source.system} {source.qualified_name}"

    def extract() -> tuple[int, int]:
        lake.remove(landing_uri)  # a retried attempt starts from nothing
        with source_connection(source.system, resource) as connection:
            batches = (
                snowflake_batches(connection, source, window, config.batch_rows)
                if source.system == "snowflake"
                else redshift_batches(connection, source, window, config.batch_rows)
            )
            landed = land_batches(batches, landing_uri)
            # Counted after extraction: a commit landing in between fails the nothing-lost check rather
            # than passing unnoticed, and the next sensor tick re-runs the partition.
            counted = count_rows(connection, source, window)
        return landed.rows, counted

    extracted, source_count = with_retries(
        extract,
        what=what,
        attempts=config.connect_attempts,
        backoff_seconds=config.retry_backoff_seconds,
        retry_on=_connection_errors(source.system),
        log=context.log.warning,
    )
    context.log.info(f"extracted {extracted} rows of {what} for [{window.start}, {window.end})")
    try:
        raw = spark.read.parquet(landing_uri) if extracted else empty_source_frame(spark, contract)
        raw = with_metadata_columns(raw, contract, batch_id, datetime.now(timezone.utc))
        aligned = align_to_schema(raw, contract, render_payload=False)
        references = {
            name: frame.select(_reference_column(contract, name)) for name, frame in reference_frames.items()
        }
        checked = annotate_violations(aligned, contract, references=references)
        if extracted:
            # Validation (casts, rules, the joins of foreign keys) is evaluated once, into Parquet; both
            # lanes, their counts and their writes read that instead of each re-running the whole plan.
            checked.write.mode("overwrite").parquet(staged_uri)
            checked = spark.read.parquet(staged_uri)
        rows_quarantined = checked.where(F.size(ERROR_REASONS_COLUMN) > 0).count()
        valid, quarantined = split_lanes(checked)
        bronze_uri = lake.table(bronze_key_of(contract))
        quarantine_uri = lake.table([QUARANTINE, contract.table])

        yield dg.Output(quarantined, output_name=QUARANTINE, metadata=compute_metrics(start))
        yield dg.Output(
            valid,
            output_name=BRONZE,
            metadata={
                "rows_extracted": extracted,
                "source_rows": source_count,
                "batch_id": batch_id,
                "schema_alignment": dg.MetadataValue.json(aligned.report.as_metadata()),
                **quarantine_metrics(rows_quarantined, extracted),
                **compute_metrics(start),
            },
        )

        yield nothing_lost_result(spark, contract, bronze_uri, quarantine_uri, days, extracted, source_count)
        yield from contract_check_results(spark, contract, bronze_uri, days)
    finally:
        lake.remove(run_scratch)


def with_metadata_columns(df: DataFrame, contract: Contract, batch_id: str, ingested_at: datetime) -> DataFrame:
    change = _column_named(df, contract.source.change_column)
    return df.select(
        "*",
        F.lit(contract.source.system.value).alias("record_source"),
        F.lit(contract.source.table).alias("record_table"),
        F.lit(ingested_at).cast("timestamp").alias("ingest_timestamp"),
        F.lit(batch_id).alias("_batch_id"),
        F.to_date(F.col(change)).alias(PARTITION_COLUMN),
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
