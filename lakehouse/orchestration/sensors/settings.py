"""How often a watermark sensor queries its source, and how many days before its watermark it looks: the
deployment's configuration, read from the environment when the sensors are built (when the code location
loads), never at import.

Each setting has a variable per source system, which wins, and one for every watermark sensor:

* interval (seconds): ``LAKEHOUSE_SNOWFLAKE_SENSOR_INTERVAL_SECONDS`` or
  ``LAKEHOUSE_REDSHIFT_SENSOR_INTERVAL_SECONDS``, then ``LAKEHOUSE_SENSOR_INTERVAL_SECONDS``; by default 900
  with ``LAKEHOUSE_ENV=prod`` and 60 locally;
* lag (days): ``LAKEHOUSE_SNOWFLAKE_SENSOR_LAG_DAYS`` or ``LAKEHOUSE_REDSHIFT_SENSOR_LAG_DAYS``, then
  ``LAKEHOUSE_SENSOR_LAG_DAYS``; by default 2.

The interval is the sensor's ``minimum_interval_seconds``. Why 15 minutes in prod: every tick of a sensor
runs one aggregate query on its source table, and on Snowflake that query resumes a suspended warehouse,
which is billed for at least 60 seconds and then runs until ``AUTO_SUSPEND`` seconds pass without a query.
Ticks closer together than ``AUTO_SUSPEND`` keep the warehouse running all day. Every 15 minutes, a day
that has just closed is requested within a quarter of an hour of midnight, before the daily schedule's
00:30 safety net looks, and a warehouse with ``AUTO_SUSPEND = 60`` is awake about one minute in fifteen.
Redshift Serverless bills compute per second with a 60-second minimum too, so the same default holds
there. The local sources cost nothing, and a minute keeps ``lakehouse dev`` responsive.
docs/automation.md counts the queries a tick makes.

The lag is in days because the sensor compares whole days (partitions) of the source with the lake: it
must cover the latest a source commits a row after its change column's day (the generator: two days).
"""

from __future__ import annotations

import os

from lakehouse.contracts import SourceSystem
from lakehouse.resources import is_local
from lakehouse.sources.reconciliation import DEFAULT_LATE_COMMIT_DAYS

INTERVAL_ENV_VAR = "LAKEHOUSE_SENSOR_INTERVAL_SECONDS"
LAG_ENV_VAR = "LAKEHOUSE_SENSOR_LAG_DAYS"
LOCAL_INTERVAL_SECONDS = 60
PROD_INTERVAL_SECONDS = 15 * 60
LAG_DAYS = DEFAULT_LATE_COMMIT_DAYS


def source_env_var(variable: str, system: SourceSystem | str) -> str:
    """The per-source variant of a sensor variable: ``LAKEHOUSE_SNOWFLAKE_SENSOR_...`` for Snowflake."""
    return variable.replace("LAKEHOUSE_", f"LAKEHOUSE_{SourceSystem(system).value.upper()}_", 1)


def sensor_interval_seconds(system: SourceSystem | str) -> int:
    """The ``minimum_interval_seconds`` of the watermark sensors of ``system``'s tables."""
    default = LOCAL_INTERVAL_SECONDS if is_local() else PROD_INTERVAL_SECONDS
    return _setting(INTERVAL_ENV_VAR, system, default, minimum=1)


def sensor_lag_days(system: SourceSystem | str) -> int:
    """How many days before its watermark a watermark sensor of ``system``'s tables re-examines."""
    return _setting(LAG_ENV_VAR, system, LAG_DAYS, minimum=0)


def _setting(variable: str, system: SourceSystem | str, default: int, *, minimum: int) -> int:
    for name in (source_env_var(variable, system), variable):
        raw = os.environ.get(name, "").strip()
        if not raw:
            continue
        try:
            value = int(raw)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise ValueError(f"{name}={raw!r} is not a whole number of at least {minimum}")
        return value
    return default
