"""Every Delta table of the lake as a temporary view, for ad-hoc SQL (``lakehouse sql``).

The tables are the ``Lake``'s, so a local root and an ``s3://`` root alike: the engine reads S3 with the
same ``AWS_*`` settings as delta-rs.
"""

from __future__ import annotations

from pyspark.sql import SparkSession

from lakehouse.lake import Lake
from lakehouse.resources import operator_lake


def register_lake_views(spark: SparkSession, lake: Lake | None = None) -> list[str]:
    """Register a ``<layer>_<table>`` view for every Delta table of the lake; returns their names."""
    lake = lake if lake is not None else operator_lake()
    names = []
    for table in lake.tables():
        name = f"{table.layer}_{table.name}"
        spark.read.format("delta").load(table.uri).createOrReplaceTempView(name)
        names.append(name)
    return names
