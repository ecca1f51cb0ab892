"""Every job, schedule and sensor of the code location (assets and resources come from elsewhere).

Built when the code location loads (the bronze contracts are read then), never at import.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import dagster as dg

from lakehouse.contracts import Contract, load_contracts
from lakehouse.observability.alerts import alert_sensors
from lakehouse.orchestration.automation import automation_sensor
from lakehouse.orchestration.jobs import bronze_ingestion_job, lake_maintenance_job, lakehouse_daily_job
from lakehouse.orchestration.schedules import lake_maintenance_schedule, lakehouse_daily_schedule
from lakehouse.orchestration.sensors.watermark_sensor import (
    DEFAULT_MAX_ATTEMPTS,
    WatermarkSettings,
    bronze_watermark_sensor,
)


def orchestration_definitions(running: bool = True) -> dg.Definitions:
    """``lakehouse_daily_job`` and ``lake_maintenance_job`` with their schedules, every bronze table's job
    and watermark sensor, the automation sensor of silver and gold, and the alert sensors (failed runs, ERROR
    gates, missed freshness windows: ``lakehouse.observability.alerts``); sensors and schedules run when the
    code location loads, unless ``running`` is false."""
    status = dg.DefaultScheduleStatus.RUNNING if running else dg.DefaultScheduleStatus.STOPPED
    sensor_status = dg.DefaultSensorStatus.RUNNING if running else dg.DefaultSensorStatus.STOPPED
    return dg.Definitions.merge(
        dg.Definitions(
            jobs=[lakehouse_daily_job(), lake_maintenance_job()],
            schedules=[lakehouse_daily_schedule(status), lake_maintenance_schedule(status)],
            sensors=[automation_sensor(default_status=sensor_status), *alert_sensors(sensor_status)],
        ),
        bronze_ingestion_definitions(running=running),
    )


def bronze_source_contracts(tables: Sequence[str] | None = None) -> list[Contract]:
    """The bronze contracts (each names its source table), all of them or those of ``tables``."""
    contracts = {contract.table: contract for contract in load_contracts(layer="bronze").values()}
    if tables is None:
        return [contracts[name] for name in sorted(contracts)]
    unknown = sorted(set(tables) - set(contracts))
    if unknown:
        raise KeyError(f"no bronze contract for {', '.join(unknown)}; known: {', '.join(sorted(contracts))}")
    return [contracts[name] for name in tables]


def bronze_ingestion_definitions(
    tables: Sequence[str] | None = None,
    *,
    lag_days: int | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    minimum_interval_seconds: int | None = None,
    running: bool = True,
    clock: Callable[[], datetime] | None = None,
) -> dg.Definitions:
    """Jobs ``bronze_<t>_job`` and sensors ``bronze_<t>_watermark_sensor`` for every bronze table (or those
    named in ``tables``).

    The sensors take the source resource (``snowflake`` or ``redshift``) and the ``lake`` from the code
    location. ``running``: whether the sensors start running when the code location loads.
    ``lag_days`` and ``minimum_interval_seconds`` not given are the deployment's settings per source
    (``lakehouse.orchestration.sensors.settings``).
    ``clock`` defaults to the wall clock, read at each tick.
    """
    settings = WatermarkSettings(lag_days=lag_days, max_attempts=max_attempts, clock=clock)
    sensor_status = dg.DefaultSensorStatus.RUNNING if running else dg.DefaultSensorStatus.STOPPED
    contracts = bronze_source_contracts(tables)
    return dg.Definitions(
        jobs=[bronze_ingestion_job(contract.table) for contract in contracts],
        sensors=[
            bronze_watermark_sensor(
                contract,
                settings,
                minimum_interval_seconds=minimum_interval_seconds,
                default_status=sensor_status,
            )
            for contract in contracts
        ],
    )
