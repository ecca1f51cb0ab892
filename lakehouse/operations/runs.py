"""Run ``lakehouse_daily_job`` (all of it, or a selection and everything downstream) for a range of days.

Days run one after another, oldest first, one Dagster run per day, recorded in the local Dagster instance
(``$DAGSTER_HOME``, default ``$LAKEHOUSE_HOME/dagster``) so the UI shows them. Order matters: SCD2 history
and the facts' keys of a day build on the days before it, so the first failed day stops the range and
the days after it are reported as not run.

The caller passes the code location's definitions (the CLI and the benchmarks build them): the
definitions import the orchestration, which imports this library's maintenance, so nothing here imports
the definitions back.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from lakehouse.observability.json_logs import default_log_path
from lakehouse.orchestration.jobs import DAILY_JOB_NAME
from lakehouse.partitions import daily_partitions
from lakehouse.settings import lakehouse_home

DOWNSTREAM_SUFFIX = "+"


@dataclass
class DayRun:
    day: date
    success: bool
    run_id: str
    assets_materialized: int = 0
    checks_passed: int = 0
    failed_checks: list[str] = field(default_factory=list)
    failed_steps: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    """Rows written per asset (``dagster/row_count``), -1 where a materialization reports none."""


def day_range(start: date, end: date) -> list[date]:
    """Every day from ``start`` to ``end``, both included; each must be a partition of the lakehouse."""
    if end < start:
        raise ValueError(f"the range ends ({end}) before it starts ({start})")
    days = [start + timedelta(days=offset) for offset in range((end - start).days + 1)]
    keys = daily_partitions().get_partition_keys()
    known = set(keys)
    outside = [day for day in days if day.isoformat() not in known]
    if outside:
        bounds = f"{keys[0]} to {keys[-1]}" if keys else "nowhere yet"
        raise ValueError(
            f"{outside[0]} is not a partition: partitions run from {bounds} "
            "(a day is a partition once it has ended, UTC)"
        )
    return days


def resolve_selection(definitions: dg.Definitions, patterns: Sequence[str]) -> list[dg.AssetKey] | None:
    """Asset keys for ``patterns``: ``<layer>/<table>``, with a trailing ``+`` for everything downstream
    too. Assets produced together (bronze and quarantine) are always selected together. None: all."""
    if not patterns:
        return None
    graph = definitions.resolve_asset_graph()
    known = graph.get_all_asset_keys()
    selection = None
    for pattern in patterns:
        text = pattern.strip()
        downstream = text.endswith(DOWNSTREAM_SUFFIX)
        key = dg.AssetKey.from_user_string(text.removesuffix(DOWNSTREAM_SUFFIX).strip("/"))
        if key not in known:
            raise ValueError(
                f"no asset {key.to_user_string()}; assets are named <layer>/<table>, e.g. gold/dim_customer"
            )
        part = dg.AssetSelection.assets(key)
        if downstream:
            part = part.downstream()
        selection = part if selection is None else selection | part
    selection = selection.required_multi_asset_neighbors()
    return sorted(selection.resolve(graph), key=lambda k: k.to_user_string())


@contextmanager
def dagster_notices_hidden() -> Iterator[None]:
    """Beta and preview notices of the Dagster APIs the definitions use are not news to an operator."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        warnings.simplefilter("ignore", dg.PreviewWarning)
        yield


@contextmanager
def instance_logging_notice_hidden() -> Iterator[None]:
    """The local instance's dagster.yaml (``DAGSTER_YAML``) sends every run's log to the JSON-lines file
    through ``python_logs.dagster_handler_config``, which Dagster marks beta and announces with a
    ``BetaWarning`` each time a run sets up its loggers. The lakehouse chose that setting
    (docs/observability.md), so that one notice is dropped; any other warning still shows."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Handling yaml-defined logging configuration", category=dg.BetaWarning
        )
        yield


def run_days(
    days: Iterable[date],
    select: Sequence[str] = (),
    *,
    definitions: dg.Definitions,
    instance: dg.DagsterInstance | None = None,
    progress: Callable[[str], None] | None = None,
    step: Callable[[str], AbstractContextManager] | None = None,
    stop_on_failure: bool = True,
    tags: dict[str, str] | None = None,
) -> list[DayRun]:
    """One run of ``lakehouse_daily_job`` of ``definitions`` per day, in day order; returns one ``DayRun``
    per day run."""
    with dagster_notices_hidden():
        job = definitions.resolve_job_def(DAILY_JOB_NAME)
        selection = resolve_selection(definitions, select)
    progress = progress or (lambda _message: None)
    step = step or (lambda _title: nullcontext())
    what = "every asset" if selection is None else f"{len(selection)} asset(s)"
    days = sorted(days)
    results: list[DayRun] = []
    with _instance(instance) as active:
        for index, day in enumerate(days):
            title = f"{DAILY_JOB_NAME} for {day.isoformat()} ({what}, day {index + 1} of {len(days)})"
            with step(title), instance_logging_notice_hidden():
                result = job.execute_in_process(
                    partition_key=day.isoformat(),
                    instance=active,
                    asset_selection=selection,
                    raise_on_error=False,
                    tags={"lakehouse/source": "backfill", **(tags or {})},
                    # the full event log is in the Dagster UI; the terminal shows warnings and errors
                    run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
                )
            outcome = summarize_run(day, result)
            results.append(outcome)
            progress(describe(outcome))
            if not outcome.success and stop_on_failure:
                rest = days[index + 1 :]
                if rest:
                    progress(f"stopped: {len(rest)} later day(s) not run ({rest[0]} to {rest[-1]})")
                break
    return results


def summarize_run(day: date, result: dg.ExecuteInProcessResult) -> DayRun:
    evaluations = result.get_asset_check_evaluations()
    failures = []
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            text = error.message.strip() if error else ""
            first_line = text.splitlines()[0] if text else "failed"
            failures.append(f"{event.step_key}: {first_line}")
    return DayRun(
        day=day,
        success=result.success,
        run_id=result.run_id,
        assets_materialized=len(result.get_asset_materialization_events()),
        checks_passed=sum(1 for e in evaluations if e.passed),
        failed_checks=[f"{e.asset_key.to_user_string()}:{e.check_name}" for e in evaluations if not e.passed],
        failed_steps=failures,
        rows=rows_written(result),
    )


def rows_written(result: dg.ExecuteInProcessResult) -> dict[str, int]:
    rows = {}
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        count = materialization.metadata.get("dagster/row_count")
        rows[materialization.asset_key.to_user_string()] = int(count.value) if count is not None else -1
    return rows


def describe(run: DayRun) -> str:
    state = "succeeded" if run.success else "FAILED"
    text = (
        f"{run.day.isoformat()} {state}: {run.assets_materialized} asset(s) materialized, "
        f"{run.checks_passed} of {run.checks_passed + len(run.failed_checks)} checks passed, run {run.run_id}"
    )
    if run.failed_checks:
        text += f"; failed checks: {', '.join(run.failed_checks)}"
    if run.failed_steps:
        text += f"; failed steps: {'; '.join(run.failed_steps)}"
    return text


DAGSTER_YAML = """\
# Written by `lakehouse`: runs and event logs of the local lakehouse.
telemetry:
  enabled: false
# Every run of this instance (UI, schedules, sensors, `lakehouse demo` and `backfill`) also writes its
# log as JSON lines, one object per record with run id, step, asset keys and partition
# (docs/observability.md).
python_logs:
  dagster_handler_config:
    handlers:
      json:
        class: logging.FileHandler
        filename: {json_log}
        formatter: json
    formatters:
      json:
        (): lakehouse.observability.json_logs.JsonLinesFormatter
"""


def dagster_home() -> Path:
    """``$DAGSTER_HOME`` if set, else ``$LAKEHOUSE_HOME/dagster``, created with a dagster.yaml that turns
    telemetry off and sends every run's log to ``$LAKEHOUSE_HOME/logs/lakehouse.jsonl`` as JSON lines."""
    configured = os.environ.get("DAGSTER_HOME")
    home = Path(configured) if configured else lakehouse_home() / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        json_log = default_log_path()
        json_log.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(DAGSTER_YAML.format(json_log=json.dumps(str(json_log))))
    return home


def local_instance() -> dg.DagsterInstance:
    """The persistent Dagster instance of ``$DAGSTER_HOME`` (default ``$LAKEHOUSE_HOME/dagster``)."""
    return dg.DagsterInstance.from_config(str(dagster_home()))


def materialized_versions(
    instance: dg.DagsterInstance, asset_key: Sequence[str], limit: int = 200
) -> dict[int, tuple[str, str]]:
    """Delta version -> (partition, run id) of the asset's materializations recorded by Dagster."""
    records = instance.fetch_materializations(dg.AssetKey(list(asset_key)), limit=limit).records
    versions: dict[int, tuple[str, str]] = {}
    for record in records:
        materialization = record.asset_materialization
        if materialization is None:
            continue
        version = materialization.metadata.get("delta_version")
        if version is not None and int(version.value) not in versions:
            versions[int(version.value)] = (record.partition_key or "-", record.run_id)
    return versions


@contextmanager
def _instance(given: dg.DagsterInstance | None) -> Iterator[dg.DagsterInstance]:
    """The given instance, or the local one, opened and disposed of here."""
    if given is not None:
        yield given
        return
    with local_instance() as owned:
        yield owned
