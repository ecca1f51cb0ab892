"""A Dagster software-defined-assets medallion lakehouse on Delta Lake and Spark Connect."""

__version__ = "0.1.0"
