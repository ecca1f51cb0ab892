"""What runs the lakehouse in Dagster: its jobs, schedules and sensors (the assets are the layers').

* ``jobs``: ``lakehouse_daily_job`` (every asset for one day), the per-table bronze jobs
  (``bronze_<table>_job``) and ``lake_maintenance_job``.
* ``schedules``: when they run: the daily job at 00:30 UTC for whatever nothing materialized of the day
  that ended, maintenance on Sundays at 03:00 UTC.
* ``sensors``: the watermark sensor of each bronze source table (``bronze_<table>_watermark_sensor``).
* ``automation``: the condition that re-runs silver and gold partitions when a partition they read is
  re-materialized, and ``lakehouse_automation_sensor``, which evaluates it.
* ``definitions``: all of them for the code location (``orchestration_definitions``).

The maintenance job runs the lake's maintenance (``lakehouse.lake.maintenance``). Nothing here imports the
operator library (``lakehouse.operations``), which runs the daily job for ranges of days by its name.
"""
