"""Alerts: a failed run, an ERROR gate and a missed freshness window reach the team.

Three sensors of the code location send what happened, with the asset, the partition, the check and a link
to the run in the Dagster UI, to the configured target (the ``alerts`` resource, ``AlertTarget``): a Slack
channel through ``dagster-slack``, a generic webhook (an HTTP POST of a JSON body), or both.

* ``lakehouse_run_failure_alert_sensor`` (a run failure sensor): every failed run of the code location's
  jobs, with the assets of the steps that failed and the run's failed ERROR checks.
* ``lakehouse_gate_alert_sensor``: every asset check evaluation that failed with severity ERROR (the gate
  rejected the write it checked, ``docs/gates.md``), read from the instance's event log after its cursor.
* ``lakehouse_freshness_alert_sensor``: every asset whose freshness policy goes to FAIL (the gold layer's
  06:00 UTC deadline, ``lakehouse/gold/freshness.py``), read from the freshness state changes the
  instance's freshness daemon records.

Settings are ``dagster.EnvVar``s (``alerts_resource``); with no target configured the sensors stay defined,
send nothing, and each tick says why. See ``docs/alerts.md``.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import dagster as dg
from pydantic import Field

RESOURCE_KEY = "alerts"
WEBHOOK_URL_ENV_VAR = "LAKEHOUSE_ALERTS_WEBHOOK_URL"
SLACK_TOKEN_ENV_VAR = "LAKEHOUSE_ALERTS_SLACK_TOKEN"
SLACK_CHANNEL_ENV_VAR = "LAKEHOUSE_ALERTS_SLACK_CHANNEL"
SLACK_API_URL_ENV_VAR = "LAKEHOUSE_ALERTS_SLACK_API_URL"
WEBSERVER_URL_ENV_VAR = "LAKEHOUSE_WEBSERVER_URL"
DEFAULT_WEBSERVER_URL = "http://localhost:3000"

RUN_FAILURE_SENSOR = "lakehouse_run_failure_alert_sensor"
GATE_SENSOR = "lakehouse_gate_alert_sensor"
FRESHNESS_SENSOR = "lakehouse_freshness_alert_sensor"
MINIMUM_INTERVAL_SECONDS = 30
EVENTS_PER_TICK = 100
"""Event log records one tick of the gate or freshness sensor reads; the next tick goes on from there."""

FAILED_FRESHNESS_STATE = "FAIL"

RUN_FAILURE = "run_failure"
GATE = "gate"
FRESHNESS = "freshness"

_PARTITION_TAG = "dagster/partition"
_RANGE_START_TAG = "dagster/asset_partition_range_start"
_RANGE_END_TAG = "dagster/asset_partition_range_end"
_MESSAGE_LIMIT = 1500
"""Characters of an error or check description an alert carries."""


class AlertDeliveryError(Exception):
    """An alert did not reach one of its targets (the others were tried)."""


class AlertConfigError(ValueError):
    """The alert settings are half there (a Slack token without a channel, or the reverse)."""


@dataclass(frozen=True)
class Alert:
    """What one notification says; ``payload`` is the webhook's JSON body, ``slack_text`` Slack's message."""

    kind: str
    """``run_failure``, ``gate`` or ``freshness``."""
    title: str
    assets: tuple[str, ...]
    partition: str | None
    check: str | None
    job: str | None
    run_id: str | None
    run_url: str | None
    message: str | None
    timestamp: float
    details: Mapping[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "assets": list(self.assets),
            "partition": self.partition,
            "check": self.check,
            "job": self.job,
            "run_id": self.run_id,
            "run_url": self.run_url,
            "message": self.message,
            "timestamp": datetime.fromtimestamp(self.timestamp, timezone.utc).isoformat(),
            "details": dict(self.details),
        }

    def slack_text(self) -> str:
        lines = [f":rotating_light: *{self.title}*"]
        if self.assets:
            lines.append(f"*Asset:* {', '.join(f'`{a}`' for a in self.assets)}")
        if self.partition:
            lines.append(f"*Partition:* {self.partition}")
        if self.check:
            lines.append(f"*Check:* {self.check}")
        if self.job:
            lines.append(f"*Job:* {self.job}")
        if self.run_url:
            lines.append(f"*Run:* <{self.run_url}|{self.run_id}>")
        for key, value in self.details.items():
            lines.append(f"*{key}:* {value}")
        if self.message:
            lines.append(f"```{self.message}```")
        return "\n".join(lines)


class AlertTarget(dg.ConfigurableResource):
    """Where alerts go: a generic webhook, a Slack channel, both, or nowhere (alerts off)."""

    webhook_url: str | None = Field(default=None, description="URL that receives an HTTP POST of a JSON body.")
    slack_token: str | None = Field(default=None, description="Slack bot token (chat:write).")
    slack_channel: str | None = Field(default=None, description="Slack channel, e.g. #lakehouse-alerts.")
    slack_api_url: str | None = Field(
        default=None, description="Slack Web API base URL, when not https://slack.com/api/ (a proxy)."
    )
    webserver_url: str = Field(
        default=DEFAULT_WEBSERVER_URL, description="Base URL of the Dagster UI, for the links to runs and assets."
    )
    timeout_seconds: float = 10.0

    @property
    def enabled(self) -> bool:
        return bool(self.destinations())

    def destinations(self) -> list[str]:
        """The configured targets; a Slack token without a channel (or the reverse) is an error."""
        if bool(self.slack_token) != bool(self.slack_channel):
            missing = SLACK_CHANNEL_ENV_VAR if self.slack_token else SLACK_TOKEN_ENV_VAR
            raise AlertConfigError(f"Slack alerts need a token and a channel: {missing} is not set")
        found = []
        if self.webhook_url:
            found.append("webhook")
        if self.slack_token:
            found.append(f"Slack {self.slack_channel}")
        return found

    def off_reason(self) -> str:
        return (
            f"alerts are off: set {WEBHOOK_URL_ENV_VAR}, or {SLACK_TOKEN_ENV_VAR} and {SLACK_CHANNEL_ENV_VAR}"
        )

    def run_url(self, run_id: str) -> str:
        return f"{self.webserver_url.rstrip('/')}/runs/{run_id}"

    def asset_url(self, asset_key: dg.AssetKey) -> str:
        return f"{self.webserver_url.rstrip('/')}/assets/{'/'.join(asset_key.path)}"

    def send(self, alert: Alert) -> list[str]:
        """Post ``alert`` to every configured target; the targets it reached. Raises ``AlertDeliveryError``
        naming the failures after trying every target."""
        sent, failures = [], []
        for name, post in self._posters():
            try:
                post(alert)
                sent.append(name)
            except Exception as error:  # one target's failure must not keep the alert from the other
                failures.append(f"{name}: {type(error).__name__}: {error}")
        if failures:
            raise AlertDeliveryError(f"alert '{alert.title}' not delivered to {'; '.join(failures)}")
        return sent

    def _posters(self) -> list[tuple[str, Callable[[Alert], None]]]:
        posters: list[tuple[str, Callable[[Alert], None]]] = []
        names = self.destinations()
        if self.webhook_url:
            posters.append((names[0], self._post_webhook))
        if self.slack_token:
            posters.append((names[-1], self._post_slack))
        return posters

    def _post_webhook(self, alert: Alert) -> None:
        request = urllib.request.Request(
            str(self.webhook_url),
            data=json.dumps(alert.payload()).encode(),
            headers={"Content-Type": "application/json", "User-Agent": "lakehouse-alerts"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
            response.read()

    def _post_slack(self, alert: Alert) -> None:
        from dagster_slack import SlackResource

        client = SlackResource(token=str(self.slack_token)).get_client()
        client.timeout = int(self.timeout_seconds)
        if self.slack_api_url:
            client.base_url = self.slack_api_url if self.slack_api_url.endswith("/") else self.slack_api_url + "/"
        client.chat_postMessage(
            channel=str(self.slack_channel), text=alert.slack_text(), unfurl_links=False, unfurl_media=False
        )


def alerts_resource() -> AlertTarget:
    """The ``alerts`` resource: every setting an ``EnvVar`` when the variable is set (so a secret is resolved
    only when a sensor runs), unset otherwise; no target set means alerts are off."""

    def optional(name: str) -> dg.EnvVar | None:
        return dg.EnvVar(name) if os.environ.get(name) else None

    settings: dict[str, Any] = {
        "webhook_url": optional(WEBHOOK_URL_ENV_VAR),
        "slack_token": optional(SLACK_TOKEN_ENV_VAR),
        "slack_channel": optional(SLACK_CHANNEL_ENV_VAR),
        "slack_api_url": optional(SLACK_API_URL_ENV_VAR),
    }
    webserver = optional(WEBSERVER_URL_ENV_VAR)
    if webserver is not None:
        settings["webserver_url"] = webserver
    return AlertTarget(**settings)


# --- what each alert says -------------------------------------------------------------------------------


def run_partition(tags: Mapping[str, str]) -> str | None:
    """The run's partition, or its range (``start...end``) for a single-run backfill."""
    if tags.get(_PARTITION_TAG):
        return tags[_PARTITION_TAG]
    if tags.get(_RANGE_START_TAG):
        return f"{tags[_RANGE_START_TAG]}...{tags.get(_RANGE_END_TAG, tags[_RANGE_START_TAG])}"
    return None


def failed_error_checks(instance: dg.DagsterInstance, run_id: str) -> list[dg.AssetCheckEvaluation]:
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    evaluations = [record.event_log_entry.dagster_event.event_specific_data for record in records]
    return [e for e in evaluations if is_error_gate(e)]


def is_error_gate(evaluation: Any) -> bool:
    """A check evaluation that failed with severity ERROR: it stopped the run's downstream assets and the gate
    rejected the write it checked."""
    return (
        isinstance(evaluation, dg.AssetCheckEvaluation)
        and not evaluation.passed
        and evaluation.severity == dg.AssetCheckSeverity.ERROR
    )


def failed_step_assets(instance: dg.DagsterInstance, run_id: str, step_keys: set[str]) -> list[str]:
    """The assets the failed steps were to materialize or check (every planned asset when none matches)."""
    planned_types = {
        dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
        dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED,
    }
    records = instance.get_records_for_run(run_id, of_type=planned_types).records
    by_step: dict[str | None, list[str]] = {}
    for record in records:
        event = record.event_log_entry.dagster_event
        key = getattr(event.event_specific_data, "asset_key", None) or event.asset_key
        if key is not None:
            by_step.setdefault(event.step_key, []).append(key.to_user_string())
    chosen = [a for step in step_keys for a in by_step.get(step, [])] or [a for v in by_step.values() for a in v]
    return sorted(set(chosen))


def run_failure_alert(context: dg.RunFailureSensorContext, target: AlertTarget) -> Alert:
    run = context.dagster_run
    failures = context.get_step_failure_events()
    assets = failed_step_assets(context.instance, run.run_id, {e.step_key for e in failures if e.step_key})
    if not assets and run.asset_selection:
        assets = sorted(key.to_user_string() for key in run.asset_selection)
    checks = failed_error_checks(context.instance, run.run_id)
    errors = [e.event_specific_data.error for e in failures if getattr(e.event_specific_data, "error", None)]
    if errors:
        message = "\n".join(_root_cause(e).message.strip() for e in errors[:3])
    else:
        message = context.failure_event.message
    record = context.instance.get_run_record_by_id(run.run_id)
    details = {}
    if failures:
        details["failed steps"] = ", ".join(sorted({e.step_key for e in failures if e.step_key}))
    return Alert(
        kind=RUN_FAILURE,
        title=f"Run failed: {run.job_name}",
        assets=tuple(assets),
        partition=run_partition(run.tags),
        check=", ".join(sorted({f"{c.asset_key.to_user_string()} {c.check_name}" for c in checks})) or None,
        job=run.job_name,
        run_id=run.run_id,
        run_url=target.run_url(run.run_id),
        message=_clip(message),
        timestamp=(record.end_time if record and record.end_time else _now()),
        details=details,
    )


def gate_alerts(run: dg.DagsterRun, instance: dg.DagsterInstance, target: AlertTarget, repository: Any) -> list[Alert]:
    """An alert for each check of the finished ``run`` that failed with severity ERROR."""
    records = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    found = []
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if not is_error_gate(evaluation) or not _in_location(repository, evaluation.asset_key):
            continue
        asset = evaluation.asset_key.to_user_string()
        rejected = evaluation.metadata.get("rejected_version")
        found.append(
            Alert(
                kind=GATE,
                title=f"Gate failed: {asset} {evaluation.check_name}",
                assets=(asset,),
                partition=evaluation.partition or run_partition(run.tags),
                check=evaluation.check_name,
                job=run.job_name,
                run_id=run.run_id,
                run_url=target.run_url(run.run_id),
                message=_clip(evaluation.description),
                timestamp=record.event_log_entry.timestamp,
                details={"rejected version": rejected.value} if rejected is not None else {},
            )
        )
    return found


def freshness_alert(
    record: dg.EventLogRecord, instance: dg.DagsterInstance, target: AlertTarget, repository: Any
) -> Alert | None:
    entry = record.event_log_entry
    event = entry.dagster_event
    if event is None or event.event_type is not dg.DagsterEventType.FRESHNESS_STATE_CHANGE:
        return None
    # the freshness daemon's state change (dagster exports neither the record nor its states' enum, a str
    # enum whose values are PASS, WARN, FAIL, UNKNOWN)
    change = event.event_specific_data
    if change.new_state != FAILED_FRESHNESS_STATE:
        return None
    if not _in_location(repository, change.key):
        return None
    node = repository.asset_graph.get(change.key) if repository is not None else None
    policy = node.freshness_policy if node is not None else None
    expected = _expected_partition(node, change.state_change_timestamp)
    latest = instance.fetch_materializations(change.key, limit=1).records
    last = latest[0] if latest else None
    details: dict[str, Any] = {"asset page": target.asset_url(change.key)}
    if last is not None:
        when = datetime.fromtimestamp(last.timestamp, timezone.utc).isoformat(timespec="seconds")
        details["last materialized"] = f"{when}" + (f" (partition {last.partition_key})" if last.partition_key else "")
    asset = change.key.to_user_string()
    return Alert(
        kind=FRESHNESS,
        title=f"Freshness window missed: {asset}",
        assets=(asset,),
        partition=expected or (last.partition_key if last else None),
        check=f"freshness policy: {describe_policy(policy)}" if policy is not None else "freshness policy",
        job=None,
        run_id=last.run_id if last else None,
        run_url=target.run_url(last.run_id) if last and last.run_id else None,
        message=f"{asset} was not materialized in its freshness window (state {change.previous_state.value} -> FAIL)",
        timestamp=change.state_change_timestamp,
        details=details,
    )


def describe_policy(policy: Any) -> str:
    deadline, lower_bound = getattr(policy, "deadline_cron", None), getattr(policy, "lower_bound_delta", None)
    if deadline and lower_bound is not None:
        return f"materialized within {lower_bound} before each '{deadline}' ({policy.timezone})"
    fail_window = getattr(policy, "fail_window", None)
    if fail_window is not None:
        return f"materialized at most {fail_window.to_timedelta()} ago"
    return type(policy).__name__


def _expected_partition(node: Any, timestamp: float) -> str | None:
    """The time partition due at ``timestamp``: the last complete one (the day that just ended)."""
    partitions = getattr(node, "partitions_def", None) if node is not None else None
    if not isinstance(partitions, dg.TimeWindowPartitionsDefinition):
        return None
    with dg.partition_loading_context(effective_dt=datetime.fromtimestamp(timestamp, timezone.utc)):
        return partitions.get_last_partition_key()


def _in_location(repository: Any, key: dg.AssetKey) -> bool:
    """Only the code location's assets (every asset when the sensor runs without its definitions)."""
    return repository is None or repository.asset_graph.has(key)


def _root_cause(error: Any) -> Any:
    """The user's exception under Dagster's wrapping errors (e.g. the step execution error)."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return error


def _clip(text: str | None) -> str | None:
    if text is None or len(text) <= _MESSAGE_LIMIT:
        return text
    return text[: _MESSAGE_LIMIT - 1] + "…"


def _now() -> float:
    return datetime.now(timezone.utc).timestamp()


# --- the sensors ----------------------------------------------------------------------------------------

RUN_FAILURE_DESCRIPTION = (
    "Sends every failed run of the code location's jobs (job, failed assets, partition, failed ERROR checks, "
    "link to the run) to the alerts target: Slack and/or a webhook (docs/alerts.md)."
)
GATE_DESCRIPTION = (
    "Sends every asset check that failed with severity ERROR (the gate rejected the write: asset, partition, "
    "check, link to the run) to the alerts target (docs/alerts.md)."
)
FRESHNESS_DESCRIPTION = (
    "Sends every asset whose freshness policy goes to FAIL (asset, the partition due, the policy, link to its "
    "last run) to the alerts target (docs/alerts.md)."
)


def run_failure_alert_sensor(
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
) -> dg.SensorDefinition:
    @dg.run_failure_sensor(
        name=RUN_FAILURE_SENSOR,
        minimum_interval_seconds=MINIMUM_INTERVAL_SECONDS,
        description=RUN_FAILURE_DESCRIPTION,
        default_status=default_status,
    )
    def _run_failure_alerts(context: dg.RunFailureSensorContext, alerts: AlertTarget) -> dg.SkipReason | None:
        run = context.dagster_run
        if not alerts.enabled:
            return dg.SkipReason(f"{alerts.off_reason()}; run {run.run_id} of {run.job_name} failed, not sent")
        sent = alerts.send(run_failure_alert(context, alerts))
        context.log.info(f"run {run.run_id} of {run.job_name} failed: sent to {', '.join(sent)}")
        return None

    return _run_failure_alerts


def gate_alert_sensor(default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED) -> dg.SensorDefinition:
    return _following_sensor(GATE_SENSOR, GATE_DESCRIPTION, FinishedRuns(), "ERROR gates", default_status)


def freshness_alert_sensor(
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
) -> dg.SensorDefinition:
    return _following_sensor(
        FRESHNESS_SENSOR, FRESHNESS_DESCRIPTION, FreshnessChanges(), "missed freshness windows", default_status
    )


def _following_sensor(
    name: str, description: str, events: Any, what: str, default_status: dg.DefaultSensorStatus
) -> dg.SensorDefinition:
    """A sensor that sends the alerts of ``events`` recorded after its cursor (``follow``)."""

    @dg.sensor(
        name=name,
        minimum_interval_seconds=MINIMUM_INTERVAL_SECONDS,
        description=description,
        default_status=default_status,
    )
    def _alerts(context: dg.SensorEvaluationContext, alerts: AlertTarget) -> dg.SensorResult:
        return follow(context, alerts, events, what)

    return _alerts


def alert_sensors(default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED) -> list[dg.SensorDefinition]:
    """The three alert sensors; each needs the ``alerts`` resource."""
    return [
        run_failure_alert_sensor(default_status),
        gate_alert_sensor(default_status),
        freshness_alert_sensor(default_status),
    ]


class FinishedRuns:
    """The gate sensor's events: runs that finished (succeeded, failed or were canceled), whose check
    evaluations are then final; each gives an alert per failed ERROR check.

    Run status changes are read with ``fetch_run_status_changes``, which every event log storage (the run-
    sharded SQLite of a local instance too) serves from one index, so their storage ids order them all."""

    _TYPES = (dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.RUN_FAILURE, dg.DagsterEventType.RUN_CANCELED)

    def latest(self, instance: dg.DagsterInstance) -> int:
        ids = [r.storage_id for t in self._TYPES for r in instance.fetch_run_status_changes(t, limit=1).records]
        return max(ids, default=0)

    def read(
        self, instance: dg.DagsterInstance, after: int, target: AlertTarget, repository: Any
    ) -> list[tuple[int, list[Alert]]]:
        records = sorted(
            (
                record
                for event_type in self._TYPES
                for record in instance.fetch_run_status_changes(
                    dg.RunStatusChangeRecordsFilter(event_type=event_type, after_storage_id=after),
                    limit=EVENTS_PER_TICK,
                    ascending=True,
                ).records
            ),
            key=lambda record: record.storage_id,
        )[:EVENTS_PER_TICK]
        found = []
        for record in records:
            run = instance.get_run_by_id(record.run_id)
            found.append((record.storage_id, gate_alerts(run, instance, target, repository) if run else []))
        return found


class FreshnessChanges:
    """The freshness sensor's events: the freshness state changes the freshness daemon records (asset events,
    in the index of every event log storage); each change to FAIL gives an alert."""

    _TYPE = dg.DagsterEventType.FRESHNESS_STATE_CHANGE

    def latest(self, instance: dg.DagsterInstance) -> int:
        records = instance.event_log_storage.get_event_records(
            dg.EventRecordsFilter(event_type=self._TYPE), limit=1, ascending=False
        )
        return records[0].storage_id if records else 0

    def read(
        self, instance: dg.DagsterInstance, after: int, target: AlertTarget, repository: Any
    ) -> list[tuple[int, list[Alert]]]:
        records = instance.event_log_storage.get_event_records(
            dg.EventRecordsFilter(event_type=self._TYPE, after_cursor=after), limit=EVENTS_PER_TICK, ascending=True
        )
        found = []
        for record in records:
            alert = freshness_alert(record, instance, target, repository)
            found.append((record.storage_id, [alert] if alert else []))
        return found


def follow(context: dg.SensorEvaluationContext, alerts: AlertTarget, events: Any, what: str) -> dg.SensorResult:
    """One tick: the events after the cursor (``{"after": <storage id>}``), their alerts sent in order.

    The first tick starts after the latest event (history is not sent). With alerts off, the cursor still
    moves, so turning them on later does not send the past. A delivery that fails stops the tick with the
    cursor before its event, so the next tick tries it again: the tick fails when it sent nothing (the error
    shows in the UI); otherwise it keeps what it sent and says what failed.
    """
    instance = context.instance
    enabled = alerts.enabled  # half-configured settings fail every tick
    after = _cursor_position(context.cursor)
    if after is None:
        start = events.latest(instance)
        return dg.SensorResult(
            skip_reason=f"started: {what} recorded after event {start} will be sent", cursor=_cursor(start)
        )
    read = events.read(instance, after, alerts, context.repository_def)
    if not read:
        return dg.SensorResult(skip_reason=f"no new {what}", cursor=_cursor(after))
    last_read = read[-1][0]
    pending = [(storage_id, found) for storage_id, found in read if found]
    if not pending:
        return dg.SensorResult(skip_reason=f"no new {what}", cursor=_cursor(last_read))
    if not enabled:
        titles = "; ".join(alert.title for _, found in pending for alert in found)
        return dg.SensorResult(skip_reason=f"{alerts.off_reason()}; not sent: {titles}", cursor=_cursor(last_read))
    sent: list[str] = []
    position = after
    for storage_id, found in pending:
        for alert in found:
            try:
                targets = alerts.send(alert)
            except AlertDeliveryError as error:
                if not sent:
                    raise
                return dg.SensorResult(
                    skip_reason=f"sent {'; '.join(sent)}; then {error} (tried again next tick)",
                    cursor=_cursor(position),
                )
            sent.append(f"{alert.title} to {', '.join(targets)}")
        position = storage_id
    return dg.SensorResult(skip_reason=f"sent {'; '.join(sent)}", cursor=_cursor(last_read))


def _cursor(storage_id: int) -> str:
    return json.dumps({"after": storage_id})


def _cursor_position(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        return int(json.loads(cursor)["after"])
    except (ValueError, KeyError, TypeError):
        return None


__all__ = [
    "Alert",
    "AlertConfigError",
    "AlertDeliveryError",
    "AlertTarget",
    "alert_sensors",
    "alerts_resource",
    "freshness_alert_sensor",
    "gate_alert_sensor",
    "run_failure_alert_sensor",
]
