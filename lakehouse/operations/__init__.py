"""The operator library behind ``lakehouse`` (``lakehouse/cli.py``) and the runbooks (``docs/runbooks/``).

Everything here works on a ``Lake`` (by default ``operator_lake()``, the configured lake root) and reads
the Delta logs through it; the jobs, schedules and sensors that run in Dagster are in
``lakehouse.orchestration``, and table maintenance (compaction, Z-order, vacuum) is the lake's own
(``lakehouse.lake.maintenance``).

* ``tables``: a table's Delta history, and its restore to an earlier version.
* ``quarantine``: bronze and quarantine rows per table and day, by rule.
* ``runs``: run the daily job (or a selection and its downstream) of given definitions for a range of
  days, in order, in the local Dagster instance.
* ``demo``: ``lakehouse demo``'s runs and their summary.
* ``sql``: every lake table as a SQL view (``lakehouse sql``).
"""
