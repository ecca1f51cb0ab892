"""Spark code shaped by one engine's behaviour, one small function each, so the transforms call a plain name
and every engine-specific choice is found here.

Each function uses only the public PySpark API, so it runs unchanged on Sail, Apache Spark (classic or
Spark Connect) and Databricks Connect; its docstring says which engine it is for and what the code would be
on Apache Spark alone. The rest of the embedded engine's handling is in ``lakehouse.engine.sail``.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame


def checkpoint_aggregate(aggregate: DataFrame, keys: Sequence[str]) -> DataFrame:
    """``aggregate`` (a grouped result of few rows) evaluated once and kept with ``localCheckpoint()``,
    hash-partitioned by ``keys`` first.

    The repartition is for Sail in cluster mode (pysail 0.7.2). There a ``localCheckpoint()`` (or a Delta
    write) ends in a commit stage run by the driver, and a new stage starts only at a repartition: over a
    one-partition input (a day held in one small file) the aggregate lands in the driver's stage, which
    decodes it without DataFusion's built-in aggregate functions and fails with ``ExtendedAggregateUdf: no
    UDF found for sum``. Hash-partitioning the keys puts the aggregate in a worker stage; the driver's stage
    only commits (docs/engines.md; the reproduction is ``lakehouse_tests/test_engine/test_sail_cluster.py``).

    The Apache Spark counterpart is ``aggregate.localCheckpoint()`` alone; there the repartition only adds a
    shuffle of the few rows, and no checkpoint directory is needed (a local checkpoint is kept by the
    executors' block managers, not in ``spark.checkpoint.dir``). Drop the repartition when the reproduction
    passes on the Sail release in use.
    """
    return aggregate.repartition(*keys).localCheckpoint()
