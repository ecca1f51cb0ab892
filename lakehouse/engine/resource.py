"""The Spark engine resource: one setting chooses embedded Sail, a remote Spark Connect URL, or classic Spark."""

from __future__ import annotations

import os
from enum import Enum
from typing import Any

from dagster_pyspark import LazyPySparkResource
from dagster_pyspark.resources import spark_session_from_config
from pydantic import Field

DEFAULT_MEMORY_LIMIT = "auto"
"""Embedded Sail's memory pool: half the memory the process may use (``machine_memory_bytes``), like a JVM's
default heap, a share of the machine. Bounded, so sorts, aggregations and the Delta writer's sort spill
instead of growing the process until the kernel kills it (one SF 10 day of events written to Delta peaked at
4.2 GB unbounded, 1.5 GB with a 1 GiB pool, in less CPU time). Not smaller: what cannot spill is refused
when the pool is full, and a hash join's build side cannot (DataFusion has no spilling hash join); with a
2 GiB pool the ``gold/fact_orders`` MERGE of SF 10's second day was refused 1 MB for its join while the
spilling operators held the rest."""
_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}
_CGROUP_MEMORY_MAX = "/sys/fs/cgroup/memory.max"


def machine_memory_bytes() -> int:
    """The memory this process may use: the machine's physical memory, or its cgroup's limit when lower (a
    container)."""
    physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    try:
        with open(_CGROUP_MEMORY_MAX) as limit:
            text = limit.read().strip()
    except OSError:
        return physical
    return min(physical, int(text)) if text.isdigit() else physical


def parse_bytes(size: str | None) -> int | None:
    """``'2g'``, ``'512m'``, ``'1073741824'`` as bytes; ``'auto'`` is half of ``machine_memory_bytes()``;
    None (or ``'none'``: unbounded) stays None."""
    if size is None or str(size).strip().lower() == "none":
        return None
    text = str(size).strip().lower().removesuffix("b")
    if text == "auto":
        return machine_memory_bytes() // 2
    number, unit = (text[:-1], text[-1]) if text[-1:] in _UNITS else (text, "")
    try:
        value = int(float(number) * _UNITS[unit])
    except ValueError:
        raise ValueError(f"memory limit {size!r} is not a size such as 2g, 512m, 1073741824 or auto") from None
    if value <= 0:
        raise ValueError(f"memory limit {size!r} must be more than zero")
    return value


class EngineMode(str, Enum):
    EMBEDDED = "embedded"
    """An in-process Sail Spark Connect server (no JVM); Delta read, write and MERGE are native."""
    REMOTE = "remote"
    """Any ``sc://`` endpoint: Apache Spark 4.1 Connect with Delta, Databricks Connect, Sail on Kubernetes."""
    CLASSIC = "classic"
    """Local JVM Apache Spark, to prove pure transforms run on Apache Spark (no Delta jars here)."""


class SparkEngine(LazyPySparkResource):
    """A lazily created Spark session, chosen by ``mode``.

    Built on dagster-pyspark's ``LazyPySparkResource``: nothing starts until ``spark_session`` is first
    read, so loading definitions or running steps that never touch Spark costs nothing.
    """

    mode: EngineMode = Field(default=EngineMode.EMBEDDED, description="embedded | remote | classic")
    remote_url: str | None = Field(
        default=None, description="Spark Connect URL (sc://host:port/;params) when mode is 'remote'."
    )
    shuffle_partitions: int = Field(
        default=4, description="spark.sql.shuffle.partitions; small by default for small machines."
    )
    spark_config: dict[str, Any] = Field(
        default_factory=dict, description="Extra Spark settings, passed to the session builder unchanged."
    )
    memory_limit: str | None = Field(
        default=DEFAULT_MEMORY_LIMIT,
        description="Embedded Sail only: its memory pool, in bytes or with a k, m or g suffix ('4g'), or 'auto' "
        "(half the machine's memory); sorts, aggregations and Delta writes spill to disk beyond it, a hash join "
        "larger than what is left is refused. None leaves the pool unbounded. A cluster bounds its own "
        "executors (spark.executor.memory, Sail's runtime.memory_pool).",
    )

    def _init_session(self) -> None:
        if self._spark_session is None:
            session = spark_session_from_config(self.session_config())
            mode = EngineMode(self.mode)
            if mode is EngineMode.EMBEDDED:
                from lakehouse.engine.sail import close_before_server_stops

                close_before_server_stops(session)
            elif mode is EngineMode.REMOTE:
                from lakehouse.engine.sail import skip_ml_cache_cleanup

                skip_ml_cache_cleanup(session)
            self._spark_session = session

    def remote_endpoint(self) -> str | None:
        """The Spark Connect URL of mode 'remote', asked for when the session is created: ``remote_url``
        here; an engine whose endpoint is found at run time (the local Sail cluster) looks it up instead."""
        return self.remote_url

    def session_config(self) -> dict[str, Any]:
        """The settings handed to ``SparkSession.builder``, with the endpoint for the chosen mode."""
        config: dict[str, Any] = {
            "spark.sql.shuffle.partitions": str(self.shuffle_partitions),
            "spark.sql.session.timeZone": "UTC",
        }
        mode = EngineMode(self.mode)
        if mode is EngineMode.EMBEDDED:
            from lakehouse.engine.sail import embedded_sail_url

            config["spark.remote"] = embedded_sail_url(parse_bytes(self.memory_limit))
        elif mode is EngineMode.REMOTE:
            remote_url = self.remote_endpoint()
            if not remote_url or not remote_url.startswith("sc://"):
                raise ValueError(f"engine mode 'remote' needs remote_url of the form sc://host:port, got {remote_url!r}")
            config["spark.remote"] = remote_url
        else:
            if os.environ.get("SPARK_CONNECT_MODE_ENABLED") or os.environ.get("SPARK_REMOTE"):
                raise RuntimeError(
                    "engine mode 'classic' cannot start in a process that uses Spark Connect "
                    "(SPARK_CONNECT_MODE_ENABLED or SPARK_REMOTE is set); run it in its own process"
                )
            config.update(
                {
                    "spark.master": "local[2]",
                    "spark.ui.enabled": "false",
                }
            )
        config.update(self.spark_config)
        return config

