"""How silver and gold follow new data by themselves: Dagster declarative automation.

A watermark sensor re-loads a bronze day when rows arrive late; every silver and gold partition that reads
that day must then be rebuilt, with its checks, without anyone starting a backfill. Each partitioned silver
and gold asset carries ``follows_upstream()``, evaluated by ``lakehouse_automation_sensor``: a partition is
requested when a partition it reads has been materialized since the partition was last requested and
since it was last materialized, once none of its inputs is missing or being written, none of their
blocking checks failed and it is not running itself. Dagster records each evaluation, so the asset's
*Automation* tab and the run's tags say why a run happened (or why a partition waits).

What is deliberately not a trigger:

* a dependency written in the same run as the partition (the daily job, a backfill): nothing to catch up;
* an unpartitioned dependency (``gold/dim_date``): every partition reads it, so its rewrite would request
  every partition of every fact, while its content (the calendar) depends on no day's data;
* a partition that became missing: days come into the graph through bronze, whose loads are the triggers;
  the daily schedule (``lakehouse.orchestration.schedules``) fills what nothing loaded.

Dependencies with a lookback (silver/orders reads 35 days of bronze) fan out: a re-loaded day re-runs the
partitions within reach of it, up to the latest, as one run per asset (their backfill policy is a single
run).
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

AUTOMATION_SENSOR_NAME = "lakehouse_automation_sensor"
AUTOMATED_LAYERS = ("silver", "gold")
DEFAULT_AUTOMATION_INTERVAL_SECONDS = 30


def follows_upstream(ignored: Sequence[dg.AssetKey] = ()) -> dg.AutomationCondition:
    """Request a partition when a partition it reads was materialized after both the partition's latest
    request and its latest materialization, and nothing upstream is missing, running or failed its blocking
    checks. Updates of ``ignored`` dependencies are not triggers.

    Two ``since`` conditions rather than Dagster's ``eager()`` (one ``since`` over "requested or
    materialized"): ``since`` compares the timestamps of a trigger and a reset that fall between the same
    two evaluations only when each is a single timed condition, and with "or" a late load landing beside
    the partition's own materialization would be dropped. So "since requested" keeps a failed run from being
    retried until an input changes again, and "since materialized" keeps a run that wrote the partition with
    its inputs (the daily job, a backfill) from requesting it once more.
    """
    updated = dg.AutomationCondition.any_deps_match(dg.AutomationCondition.newly_updated())
    if ignored:
        updated = updated.ignore(dg.AssetSelection.assets(*ignored))
    return (
        updated.since(dg.AutomationCondition.newly_requested()).with_label("an input changed since requested")
        & updated.since(dg.AutomationCondition.newly_updated()).with_label(
            "an input changed since materialized"
        )
        & ~dg.AutomationCondition.any_deps_missing()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
        & dg.AutomationCondition.all_deps_blocking_checks_passed()
    ).with_label("follows upstream")


def following_upstream(assets: Sequence[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """``assets`` with ``follows_upstream()`` on every partitioned one; the unpartitioned assets among
    ``assets`` are not triggers of the others."""
    unpartitioned = [key for asset in assets if asset.partitions_def is None for key in asset.keys]

    def automated(spec: dg.AssetSpec) -> dg.AssetSpec:
        ignored = [dep.asset_key for dep in spec.deps if dep.asset_key in unpartitioned]
        return spec.replace_attributes(automation_condition=follows_upstream(ignored))

    return [asset if asset.partitions_def is None else asset.map_asset_specs(automated) for asset in assets]


def automation_sensor(
    *,
    minimum_interval_seconds: int = DEFAULT_AUTOMATION_INTERVAL_SECONDS,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.RUNNING,
) -> dg.AutomationConditionSensorDefinition:
    """Evaluates the silver and gold assets' automation conditions; its runs are tagged with it."""
    return dg.AutomationConditionSensorDefinition(
        AUTOMATION_SENSOR_NAME,
        target=dg.AssetSelection.groups(*AUTOMATED_LAYERS),
        default_status=default_status,
        minimum_interval_seconds=minimum_interval_seconds,
        run_tags={"lakehouse/job": "automation"},
        description="Rebuilds the silver and gold partitions (with their checks) that read a partition "
        "re-materialized since they last ran: late rows a watermark sensor loaded reach gold by themselves.",
    )
