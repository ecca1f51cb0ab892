"""Incremental bronze ingestion driven by watermarks on the sources' change columns.

* ``watermarks``: the cursor, the scan window and the source-versus-lake reconciliation (pure).
* ``source_stats``: per-day row counts and greatest change values from Snowflake and Redshift.
* ``settings``: how often a sensor queries its source and how many days it looks back, per deployment and
  source system, from the environment when the sensors are built.
* ``watermark_sensor``: the sensor of one source table, which counts the lake's rows per day of bronze +
  quarantine from the Delta logs (``Lake.day_counts``) and requests the table's bronze job for every day
  that differs from the source.
"""
