"""Every Delta table of the lake as a temporary view, for ad-hoc SQL (``lakehouse sql``)."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import SparkSession

from lakehouse.settings import lake_root

LAYERS = ("bronze", "quarantine", "silver", "gold")


def register_lake_views(spark: SparkSession, root: str | None = None) -> list[str]:
    """Register ``<layer>_<table>`` views for the Delta tables under a local lake root; returns their names."""
    base = Path(root or lake_root())
    names = []
    for layer in LAYERS:
        for table in sorted((base / layer).glob("*/_delta_log")):
            name = f"{layer}_{table.parent.name}"
            spark.read.format("delta").load(str(table.parent)).createOrReplaceTempView(name)
            names.append(name)
    return names
