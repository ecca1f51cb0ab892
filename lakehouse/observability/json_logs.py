"""Structured run logs: a Dagster logger writing one JSON object per line, for a log collector.

The code location registers it as ``json`` beside the colored ``console`` logger. Dagster starts the loggers
a run's config lists under ``loggers:`` (and only the console logger when it lists none), so a run, schedule
or sensor that wants both says ``loggers: {console: {}, json: {}}`` (``RUN_CONFIG`` below). For every run of
an instance without touching run config, the same formatter serves as a ``dagster.yaml`` handler::

    python_logs:
      dagster_handler_config:
        handlers:
          json:
            class: logging.FileHandler
            filename: /var/log/lakehouse/runs.jsonl
            formatter: json
        formatters:
          json:
            (): lakehouse.observability.json_logs.JsonLinesFormatter

(lines then lack only the step's asset keys on plain messages: a handler is not told the job).

Where the logger writes (run config ``loggers: json: config: {output, path, log_level}``):

* by default, appended to ``$LAKEHOUSE_HOME/logs/lakehouse.jsonl``: a file an agent (Vector, Fluent Bit,
  Promtail, the OpenTelemetry collector's filelog receiver) tails, apart from the human-readable console
  logger's stderr;
* ``output: stdout`` (or ``stderr``), for containers whose platform collects a process's streams; the
  colored console logger writes to stderr, so stdout keeps the JSON stream clean;
* ``path: /var/log/lakehouse/runs.jsonl``, another file.

Every line has ``timestamp`` (ISO 8601, UTC), ``level``, ``message``, ``logger``, ``run_id``, ``job``,
``step_key``, ``event_type`` (the ``DagsterEventType`` name, e.g. ``RUN_START``, ``STEP_START``,
``ASSET_MATERIALIZATION``; null for a plain log message), ``asset_keys`` (the event's asset, else the
assets the step materializes), ``partition`` (the event's partition, else the run's ``dagster/partition``
tag) and, for a single-run backfill, ``partition_range`` (``{"start", "end"}``). Materializations and
check evaluations add their scalar ``metadata`` (row counts, bytes, durations...), checks ``check_name``,
``passed`` and ``severity``; failures add ``error``.

Dagster logs its own events at DEBUG (failures at ERROR), so the default threshold is DEBUG: the stream then
holds what the run's event log holds. ``log_level: INFO`` keeps only messages and failures.

Fields come from what Dagster 1.13 puts on the records it hands to a logger: ``record.dagster_meta``
(``run_id``, ``job_name``, ``job_tags``, ``step_key``, ``orig_message``, ``dagster_event``...); the event's
asset and partition from the public ``DagsterEvent.asset_key`` / ``partition``.
"""

import json
import logging
import sys
from collections.abc import Mapping
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

import dagster as dg

from lakehouse.settings import lakehouse_home

LOG_FILE = Path("logs") / "lakehouse.jsonl"
"""The default log file, under ``$LAKEHOUSE_HOME``."""

OUTPUTS = ("file", "stdout", "stderr")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

RUN_CONFIG = {"loggers": {"console": {}, "json": {}}}
"""Run config that starts the console and the JSON logger, each with its default configuration."""

PARTITION_TAG = "dagster/partition"
PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"


def default_log_path() -> Path:
    """``$LAKEHOUSE_HOME/logs/lakehouse.jsonl``, read when a run starts, never at import."""
    return lakehouse_home() / LOG_FILE


@dg.logger(
    config_schema={
        "log_level": dg.Field(
            str,
            is_required=False,
            default_value="DEBUG",
            description=f"Threshold: one of {', '.join(LEVELS)}. Dagster logs its events (step start, "
            "materializations...) at DEBUG.",
        ),
        "output": dg.Field(
            str,
            is_required=False,
            default_value="file",
            description="'file' (default), 'stdout' or 'stderr'.",
        ),
        "path": dg.Field(
            str,
            is_required=False,
            description="The file for output 'file'; default $LAKEHOUSE_HOME/logs/lakehouse.jsonl.",
        ),
    },
    description="Structured logs: one JSON object per line with run id, job, step, event type, asset keys "
    "and partition, by default appended to $LAKEHOUSE_HOME/logs/lakehouse.jsonl.",
)
def json_lines_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    config = init_context.logger_config
    level = str(config["log_level"]).upper()
    if level not in LEVELS:
        raise ValueError(f"json logger: log_level {config['log_level']!r} is not one of {', '.join(LEVELS)}")
    output = config["output"]
    if output not in OUTPUTS:
        raise ValueError(f"json logger: output {output!r} is not one of {', '.join(OUTPUTS)}")
    if output == "file":
        stream = _append_stream(str(Path(config.get("path") or default_log_path()).expanduser().resolve()))
    else:
        stream = sys.stdout if output == "stdout" else sys.stderr

    # A logger of its own, outside the logging module's registry: nothing global changes per run.
    logger = logging.Logger("lakehouse", level=level)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLinesFormatter(assets_by_step(init_context.job_def)))
    logger.addHandler(handler)
    return logger


class JsonLinesFormatter(logging.Formatter):
    """Formats a record Dagster hands to a logger as one line of JSON (see the module's docstring)."""

    def __init__(self, step_assets: Mapping[str, list[str]] | None = None):
        super().__init__()
        self._step_assets = dict(step_assets or {})

    def format(self, record: logging.LogRecord) -> str:
        entry = log_entry(record, self._step_assets)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def log_entry(record: logging.LogRecord, step_assets: Mapping[str, list[str]]) -> dict[str, Any]:
    meta: Mapping[str, Any] = getattr(record, "dagster_meta", None) or {}
    event = meta.get("dagster_event")
    tags: Mapping[str, str] = meta.get("job_tags") or {}
    step_key = meta.get("step_key") or (event.step_key if event is not None else None)
    entry: dict[str, Any] = {
        "timestamp": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
        "level": record.levelname,
        "message": meta.get("orig_message", record.getMessage()),
        "logger": record.name,
        "run_id": meta.get("run_id"),
        "job": meta.get("job_name"),
        "step_key": step_key,
        "event_type": event.event_type.name if event is not None else None,
        "asset_keys": _asset_keys(event, step_key, step_assets),
        "partition": (event.partition if event is not None else None) or tags.get(PARTITION_TAG),
    }
    if PARTITION_RANGE_START_TAG in tags:
        entry["partition_range"] = {
            "start": tags[PARTITION_RANGE_START_TAG],
            "end": tags.get(PARTITION_RANGE_END_TAG),
        }
    if meta.get("resource_name"):
        entry["resource"] = meta["resource_name"]
    if event is not None:
        entry.update(_event_details(event))
    return entry


def assets_by_step(job_def: dg.JobDefinition | None) -> dict[str, list[str]]:
    """Step key (the op's name) -> the asset keys that step materializes or checks.

    Dagster 1.13 has no public map from a job's ops to its assets, so this reads the job's asset layer; if
    that ever changes, lines still carry the asset of every asset event, only plain messages lose theirs.
    """
    try:
        assets_defs = job_def.asset_layer.asset_graph.assets_defs  # type: ignore[union-attr]
    except AttributeError:
        return {}
    return {
        assets_def.node_def.name: sorted(
            {key.to_user_string() for key in assets_def.keys}
            | {check.asset_key.to_user_string() for check in assets_def.check_keys}
        )
        for assets_def in assets_defs
        if assets_def.is_executable and assets_def.node_def is not None
    }


def _asset_keys(
    event: dg.DagsterEvent | None, step_key: str | None, step_assets: Mapping[str, list[str]]
) -> list[str]:
    key = _event_asset_key(event)
    if key is not None:
        return [key.to_user_string()]
    if step_key is None:
        return []
    return step_assets.get(step_key.split(".")[0].split("[")[0], [])


def _event_asset_key(event: dg.DagsterEvent | None) -> dg.AssetKey | None:
    if event is None:
        return None
    # Check evaluations carry their asset in their data; DagsterEvent.asset_key covers the asset events.
    return event.asset_key or getattr(event.event_specific_data, "asset_key", None)


def _event_details(event: dg.DagsterEvent) -> dict[str, Any]:
    details: dict[str, Any] = {}
    data = event.event_specific_data
    if event.is_step_materialization:
        details["metadata"] = _scalar_metadata(event.step_materialization_data.materialization.metadata)
    elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
        details.update(
            check_name=data.check_name,
            passed=data.passed,
            severity=data.severity.value,
            metadata=_scalar_metadata(data.metadata),
        )
    error = getattr(data, "error", None)
    if error is not None:
        details["error"] = error.to_string() if hasattr(error, "to_string") else str(error)
    return details


def _scalar_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The numbers, texts and flags of an event's metadata (what a log backend can index and plot)."""
    values = {key: getattr(value, "value", value) for key, value in metadata.items()}
    return {key: value for key, value in values.items() if isinstance(value, (int, float, str, bool))}


@lru_cache(maxsize=None)
def _append_stream(path: str) -> IO[str]:
    """One line-buffered append stream per file and process, shared by every run's logger (a run's logger
    is never closed by Dagster, so a stream per run would leak a file descriptor per run)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - lives as long as the process


__all__ = ["RUN_CONFIG", "JsonLinesFormatter", "default_log_path", "json_lines_logger", "log_entry"]
