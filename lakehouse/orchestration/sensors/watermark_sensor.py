"""The watermark sensor of one source table: requests a bronze run for every day the lake lacks.

A tick:

1. reads the cursor (``WatermarkCursor``) and the lake's per-day counts of bronze + quarantine from the
   Delta logs;
2. scans from ``min(cursor watermark, lake watermark) - lag`` (or an older day still unconfirmed): one
   aggregate query returns the source's row count and greatest change value per day;
3. requests a partition run for every day whose source count differs from the lake's (new rows, late
   rows, a day never loaded), keyed by the day's source state, and stores the new cursor. A day whose source
   matches the lake is not extracted again: the tick's skip reason says the lake matches the source.

A run loads the table's day, and the same day of each bronze table its foreign keys reference (directly or
through another) only when that table holds no row of the day yet, so a parent is extracted by its own
sensor, not once more with each child. A day with a run still queued or running that writes the table or
one of those is left alone until the run ends, so two runs never write one day of a table at once.

Replays are harmless by construction. A run replaces its partition, so loading a day twice can never
duplicate rows. The run key names the source state of the day, so evaluating a tick again asks for the
same runs and Dagster skips run keys it has seen. The cursor is committed when runs are launched, not
when they succeed, so it only says where to look: every tick re-checks the data, a failed run leaves the
day differing, and the next tick asks again under a new attempt key (up to ``max_attempts`` per source
state; new commits to the day start the count again).

Only days that have a partition are requested: rows of today wait until the day closes (the partitions
end at the last complete day), and rows dated after today are logged as a source error and do not move
the watermark (the bronze runs quarantine those beyond their tolerance). Rows dated before the
partitions' start belong to the first partition: a scan that reaches the first day counts them with it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timezone

import dagster as dg
from dagster_aws.redshift import RedshiftClientResource
from dagster_snowflake import SnowflakeResource

from lakehouse.contracts import Contract, ForeignKeyRule, SourceSystem
from lakehouse.lake import Lake
from lakehouse.orchestration.jobs import (
    DAILY_JOB_NAME,
    PARTITION_TAG,
    UNFINISHED,
    bronze_asset_key,
    bronze_ingestion_job,
    bronze_job_name,
    bronze_source_system,
    quarantine_asset_key,
    source_tags,
)
from lakehouse.orchestration.sensors.references import foreign_key_rules, orphan_rechecks, upstream_tables
from lakehouse.orchestration.sensors.settings import sensor_interval_seconds, sensor_lag_days
from lakehouse.orchestration.sensors.source_stats import (
    SourceTableMissing,
    redshift_day_states,
    snowflake_day_states,
)
from lakehouse.orchestration.sensors.watermarks import (
    DayState,
    Reconciliation,
    WatermarkCursor,
    attempt_run_key,
    fold_into_first_day,
    latest_loaded_day,
    reconcile,
    scan_start,
    source_state_key,
)
from lakehouse.partitions import daily_partitions, last_partition_day
from lakehouse.sources.extract import source_table

DEFAULT_MAX_ATTEMPTS = 3

RUN_KEY_TAG = "dagster/run_key"  # put on a run by Dagster (no public constant in dagster 1.13)
SOURCE_ROWS_TAG = "lakehouse/source_rows"
LOADS_TAG = "lakehouse/loads"
RECHECK_TAG = "lakehouse/orphans_after"

DayStates = Callable[[datetime | None], Mapping[date, DayState]]
"""The source's per-day states from a moment on (None: every day)."""


def watermark_sensor_name(table: str) -> str:
    return f"bronze_{table}_watermark_sensor"


@dataclass(frozen=True)
class WatermarkSettings:
    """The knobs of a watermark sensor.

    ``lag_days``: how many days before the watermark every tick re-examines for late commits; it must
    cover the latest a source commits a row after its change column (the generator: two days). None: the
    deployment's setting for the sensor's source (``sensor_lag_days``), read when the sensor is built.
    ``max_attempts``: runs per source state of a day before the sensor stops asking and logs it (the
    daily schedule or a backfill takes over); a new commit to the day starts a new count.
    ``clock``: the current time (UTC), injectable for tests.
    """

    lag_days: int | None = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    clock: Callable[[], datetime] | None = None

    def __post_init__(self) -> None:
        if self.lag_days is not None and self.lag_days < 0:
            raise ValueError(f"lag_days must be zero or more, got {self.lag_days}")
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")

    def now(self) -> datetime:
        current = self.clock() if self.clock is not None else datetime.now(timezone.utc)
        return current.astimezone(timezone.utc) if current.tzinfo else current.replace(tzinfo=timezone.utc)

    def for_source(self, system: SourceSystem) -> WatermarkSettings:
        """These settings with the lag the deployment sets for ``system`` where none is given."""
        return self if self.lag_days is not None else replace(self, lag_days=sensor_lag_days(system))


def bronze_watermark_sensor(
    contract: Contract,
    settings: WatermarkSettings | None = None,
    *,
    minimum_interval_seconds: int | None = None,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.RUNNING,
) -> dg.SensorDefinition:
    """The watermark sensor of a bronze contract's source table, targeting its bronze job.

    It takes the source resource by its key in the code location, ``snowflake`` (``SnowflakeResource``)
    or ``redshift`` (``RedshiftClientResource``), and the ``lake`` (``Lake``) whose logs it counts.
    The interval and the lag not given are the deployment's settings for the table's source system
    (``lakehouse.orchestration.sensors.settings``), read now.
    """
    table = contract.table
    source = source_table(contract)
    system = SourceSystem(contract.source.system)
    settings = (settings or WatermarkSettings()).for_source(system)
    if minimum_interval_seconds is None:
        minimum_interval_seconds = sensor_interval_seconds(system)
    upstream, rules = upstream_tables(contract), foreign_key_rules(contract)

    def tick(context: dg.SensorEvaluationContext, day_states: DayStates, lake: Lake) -> dg.SensorResult:
        return evaluate_watermark_tick(
            context,
            table=table,
            day_states=day_states,
            lake=lake,
            settings=settings,
            upstream=upstream,
            foreign_keys=rules,
        )

    if system is SourceSystem.SNOWFLAKE:

        def snowflake_watermark(
            context: dg.SensorEvaluationContext, snowflake: SnowflakeResource, lake: Lake
        ) -> dg.SensorResult:
            return tick(context, lambda since: snowflake_day_states(snowflake, source, since), lake)

        evaluate = snowflake_watermark
    else:

        def redshift_watermark(
            context: dg.SensorEvaluationContext, redshift: RedshiftClientResource, lake: Lake
        ) -> dg.SensorResult:
            return tick(context, lambda since: redshift_day_states(redshift, source, since), lake)

        evaluate = redshift_watermark

    return dg.sensor(
        name=watermark_sensor_name(table),
        job=bronze_ingestion_job(table),
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        description=(
            f"Requests a daily partition of bronze/{table} for every day whose rows in "
            f"{contract.source.table} (by {source.change_column}) differ from bronze + quarantine, "
            f"re-examining {settings.lag_days} day(s) before the watermark for late commits."
        ),
    )(evaluate)


def evaluate_watermark_tick(
    context: dg.SensorEvaluationContext,
    *,
    table: str,
    day_states: DayStates,
    lake: Lake,
    settings: WatermarkSettings,
    upstream: Sequence[str] = (),
    foreign_keys: Sequence[ForeignKeyRule] = (),
) -> dg.SensorResult:
    """One tick of the watermark sensor of ``table``; ``day_states(since)`` queries the source.
    ``upstream``: the bronze tables its foreign keys reference, transitively (``upstream_tables``);
    ``foreign_keys``: its foreign-key rules (``foreign_key_rules``)."""
    cursor = WatermarkCursor.from_json(context.cursor)
    now = settings.now()
    today = now.date()
    first_day = daily_partitions().start.date()
    quarantined = lake.day_counts(quarantine_asset_key(table))
    loaded = lake.day_counts(bronze_asset_key(table))
    loaded.update(quarantined)  # as lake_day_counts, keeping quarantine's counts for the orphan re-checks
    since = scan_start(cursor, latest_loaded_day(loaded), lag_days=settings.lag_days, first_day=first_day)
    try:
        if since <= first_day:  # the first partition holds every earlier day too
            source = fold_into_first_day(day_states(None), first_day)
        else:
            source = day_states(datetime.combine(since, time.min))
    except SourceTableMissing as missing:
        return dg.SensorResult(skip_reason=f"{table}: {missing} yet; nothing to load", cursor=context.cursor)
    last_open = last_partition_day(today)
    result = reconcile(source, loaded, since=since, last_open_day=last_open, today=today)
    differing = {day for day, _ in result.differing}
    matching = {
        day: quarantined.get(day, 0) for day in loaded if since <= day <= last_open and day not in differing
    }
    plan = plan_runs(
        context.instance,
        table,
        result.differing,
        max_attempts=settings.max_attempts,
        upstream={parent: lake_day_counts(lake, parent, since) for parent in upstream},
        rechecks=orphan_rechecks(context.instance, lake, table, foreign_keys, matching),
    )

    next_cursor = result.next_cursor(cursor)
    summary = _summary(table, result, plan)
    if result.future:
        context.log.warning(
            f"{table}: the source holds rows dated after today ({today}) on "
            f"{', '.join(d.isoformat() for d in result.future)}; "
            "they do not move the watermark, and bronze runs quarantine those dated beyond their tolerance"
        )
    if plan.given_up:
        context.log.warning(
            f"{table}: stopped requesting {', '.join(plan.given_up)} after {settings.max_attempts} runs "
            "that left the lake different from the source; a new commit to the day, the daily schedule or "
            "a backfill loads it"
        )
    context.log.info(summary)
    if plan.requests:
        return dg.SensorResult(run_requests=plan.requests, cursor=next_cursor.to_json())
    return dg.SensorResult(skip_reason=summary, cursor=next_cursor.to_json())


def lake_day_counts(lake: Lake, table: str, since: date | None = None) -> Counter[date]:
    """Rows per day of ``bronze/<table>`` plus ``quarantine/<table>``, from their Delta logs: every source
    row extracted for a day lands in exactly one of them, so their sum is what the source held when the
    day was loaded."""
    counts = lake.day_counts(bronze_asset_key(table), since)
    counts.update(lake.day_counts(quarantine_asset_key(table), since))
    return counts


@dataclass(frozen=True)
class RunPlan:
    """What to do about the differing days: runs to request, days waiting on a run, days given up."""

    requests: list[dg.RunRequest]
    in_flight: list[str]
    given_up: list[str]
    rechecked: list[str] = field(default_factory=list)


def plan_runs(
    instance: dg.DagsterInstance,
    table: str,
    differing: Sequence[tuple[date, DayState]],
    *,
    max_attempts: int,
    upstream: Mapping[str, Counter[date]] | None = None,
    rechecks: Mapping[date, str] | None = None,
) -> RunPlan:
    """Decide, from the runs the instance knows, which differing days get a run, under which key, and
    which tables it loads.

    Two queries for all days at once: runs still unfinished for those partitions that write the table or
    one of its ``upstream`` tables (the day is left alone; this also covers runs from the schedule, a
    backfill or the UI), and earlier attempts at each day's current source state, found by their run keys.
    ``upstream``: the lake's rows per day of each table the table's foreign keys reference; a run loads
    those holding none of its day along with the table. ``rechecks``: days matching the source to load
    again, each with what makes its quarantined orphans worth re-checking (``orphan_rechecks``), once each.
    """
    upstream, rechecks = upstream or {}, rechecks or {}
    if not differing and not rechecks:
        return RunPlan([], [], [])
    job_name = bronze_job_name(table)
    days = [day.isoformat() for day, _ in differing] + [day.isoformat() for day in rechecks]
    unfinished = instance.get_runs(filters=dg.RunsFilter(statuses=UNFINISHED, tags={PARTITION_TAG: days}))
    written = [table, *upstream]
    busy = {run.tags[PARTITION_TAG] for run in unfinished if any(_loads_table(run, t) for t in written)}

    state_keys = {day: source_state_key(job_name, day, state) for day, state in differing}
    candidates = [attempt_run_key(key, n) for key in state_keys.values() for n in range(1, max_attempts + 1)]
    earlier = instance.get_runs(filters=dg.RunsFilter(tags={RUN_KEY_TAG: candidates}))
    used = {run.tags.get(RUN_KEY_TAG) for run in earlier}

    requests: list[dg.RunRequest] = []
    in_flight: list[str] = []
    given_up: list[str] = []
    rechecked: list[str] = []
    own_lanes = [bronze_asset_key(table), quarantine_asset_key(table)]
    for day, reloaded in sorted(rechecks.items()):
        if day.isoformat() in busy:
            in_flight.append(day.isoformat())
            continue
        rechecked.append(day.isoformat())
        requests.append(
            dg.RunRequest(
                run_key=f"{job_name}:{day.isoformat()}:orphans-after={reloaded}",
                partition_key=day.isoformat(),
                asset_selection=own_lanes,
                tags={LOADS_TAG: table, RECHECK_TAG: reloaded},
            )
        )
    for day, state in differing:
        key = state_keys[day]
        if day.isoformat() in busy:
            in_flight.append(day.isoformat())
            continue
        attempts = max((n for n in range(1, max_attempts + 1) if attempt_run_key(key, n) in used), default=0)
        if attempts >= max_attempts:
            given_up.append(day.isoformat())
            continue
        loaded = [table, *(parent for parent, counts in upstream.items() if not counts.get(day))]
        requests.append(
            dg.RunRequest(
                run_key=attempt_run_key(key, attempts + 1),
                partition_key=day.isoformat(),
                asset_selection=[k for t in loaded for k in (bronze_asset_key(t), quarantine_asset_key(t))],
                tags={
                    SOURCE_ROWS_TAG: str(state.rows),
                    LOADS_TAG: ",".join(loaded),
                    **source_tags(bronze_source_system(t) for t in loaded),  # a parent may be elsewhere
                },
            )
        )
    return RunPlan(requests, in_flight, given_up, rechecked)


def _loads_table(run: dg.DagsterRun, table: str) -> bool:
    """Whether a run writes the table's bronze partition: a run selecting the asset, the table's own job,
    or a whole-graph run (the daily job or a backfill of it)."""
    if run.asset_selection is not None:
        return bronze_asset_key(table) in run.asset_selection
    return run.job_name in (bronze_job_name(table), DAILY_JOB_NAME)


def _summary(table: str, result: Reconciliation, plan: RunPlan) -> str:
    parts = [f"{table}: examined days from {result.since.isoformat()}"]
    if plan.requests:
        parts.append("requested " + ", ".join(str(r.partition_key) for r in plan.requests))
    if plan.rechecked:
        parts.append(
            "re-checking the quarantined orphans of "
            + ", ".join(plan.rechecked)
            + " (a referenced table's day was re-loaded since)"
        )
    if plan.in_flight:
        parts.append("waiting on running loads of " + ", ".join(plan.in_flight))
    if plan.given_up:
        parts.append("given up on " + ", ".join(plan.given_up))
    if result.not_yet_open:
        parts.append(
            "rows of " + ", ".join(d.isoformat() for d in result.not_yet_open) + " wait for the day to close"
        )
    if result.future:
        parts.append(
            "rows dated after today on "
            + ", ".join(d.isoformat() for d in result.future)
            + " are not requested (bronze runs quarantine those beyond their tolerance)"
        )
    if len(parts) == 1:
        parts.append("the lake matches the source")
    return "; ".join(parts)
