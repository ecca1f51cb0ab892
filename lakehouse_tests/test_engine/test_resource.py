"""The engine resource: lazy start, one embedded server per process, clear errors for bad settings."""

import os
import subprocess
import sys

import pytest

from lakehouse.engine import EngineMode, SparkEngine
from lakehouse.engine.sail import CHECKPOINT_PATH_ENV, embedded_sail_url


def test_embedded_engine_shares_one_server_per_process(spark):
    url = embedded_sail_url()
    assert url.startswith("sc://127.0.0.1:")
    assert embedded_sail_url() == url
    assert SparkEngine().session_config()["spark.remote"] == url
    assert spark.sql("SELECT DATE'2026-01-31' + 1 AS d").first()["d"].isoformat() == "2026-02-01"


def test_embedded_engine_keeps_local_checkpoints(spark):
    """The transforms keep small intermediate results with localCheckpoint; Sail refuses it unless its
    server was started with a checkpoint directory."""
    kept = spark.range(5).where("id % 2 = 0").localCheckpoint()
    assert sorted(row["id"] for row in kept.collect()) == [0, 2, 4]
    assert CHECKPOINT_PATH_ENV not in os.environ  # not inherited by child processes' own servers


_KEEPS_A_CHECKPOINT_AT_EXIT = """
from lakehouse.engine import SparkEngine
kept = SparkEngine().spark_session.range(3).localCheckpoint()
print(kept.count())
"""


def test_a_process_still_holding_a_checkpoint_exits_at_once():
    """The checkpointed DataFrame is released at interpreter exit, after the embedded server stopped."""
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE")}
    completed = subprocess.run(
        [sys.executable, "-c", _KEEPS_A_CHECKPOINT_AT_EXIT], capture_output=True, text=True, timeout=60, env=env
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.split() == ["3"]


def test_session_time_zone_is_utc(spark):
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"


def test_remote_mode_requires_a_spark_connect_url():
    with pytest.raises(ValueError, match="sc://host:port"):
        SparkEngine(mode=EngineMode.REMOTE, remote_url="http://example:15002").session_config()


def test_remote_mode_passes_the_url_through():
    config = SparkEngine(mode="remote", remote_url="sc://spark.internal:15002/;token=abc").session_config()
    assert config["spark.remote"] == "sc://spark.internal:15002/;token=abc"


def test_classic_mode_refuses_a_process_that_uses_spark_connect(spark):
    with pytest.raises(RuntimeError, match="cannot start in a process that uses Spark Connect"):
        SparkEngine(mode="classic").session_config()


def test_extra_spark_config_is_passed_unchanged():
    config = SparkEngine(spark_config={"spark.sql.ansi.enabled": "true"}).session_config()
    assert config["spark.sql.ansi.enabled"] == "true"


_UNDER_A_MEMORY_LIMIT = """
import sys
from pyspark.sql import functions as F
from lakehouse.engine import SparkEngine

limit, work, out = sys.argv[1:4]
spark = SparkEngine(memory_limit=limit).spark_session
rows = spark.range(3_000_000).selectExpr("id", "repeat('x', 64) AS pad")
if work == "write":
    rows.orderBy(F.desc("id")).write.parquet(out + "/sorted")
    dated = rows.withColumn("_run_date", F.lit("2026-01-01").cast("date"))
    dated.write.format("delta").partitionBy("_run_date").save(out + "/delta")
    print("written", spark.read.parquet(out + "/sorted").count(), spark.read.format("delta").load(out + "/delta").count())
else:
    try:
        print("joined", rows.join(rows.withColumnRenamed("pad", "other"), "id").count())
    except Exception as error:
        print("refused", str(error).splitlines()[0])
"""


def _under_a_memory_limit(limit: str, work: str, out) -> str:
    done = subprocess.run(
        [sys.executable, "-c", _UNDER_A_MEMORY_LIMIT, limit, work, str(out)],
        capture_output=True, text=True, timeout=120, check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("SAIL_RUNTIME__")},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_embedded_memory_pool_bounds_the_server_and_sorts_and_writes_spill_beyond_it(tmp_path):
    """3 M rows of about 80 bytes: a 64 MB pool is far below them, yet the sort and the Delta write (which
    sorts by partition) spill and finish. A hash join's build side cannot spill, so under a 16 MB pool it is
    refused by the pool, naming it, rather than growing the process: the limit reached the server. With the
    pool unbounded the same join runs."""
    assert "written 3000000 3000000" in _under_a_memory_limit("64m", "write", tmp_path)
    refused = _under_a_memory_limit("16m", "join", tmp_path)
    assert refused.startswith("refused Failed to allocate") and "fair(pool_size: 16.0 MB)" in refused
    assert _under_a_memory_limit("none", "join", tmp_path).startswith("joined 3000000")


def test_the_default_memory_limit_is_half_the_memory_the_process_may_use(monkeypatch, tmp_path):
    from lakehouse.engine import resource

    physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    cgroup = tmp_path / "memory.max"
    monkeypatch.setattr(resource, "_CGROUP_MEMORY_MAX", str(cgroup))
    assert resource.SparkEngine().memory_limit == "auto"
    assert resource.parse_bytes("auto") == physical // 2  # no cgroup file
    cgroup.write_text("max\n")
    assert resource.parse_bytes("auto") == physical // 2  # a cgroup without a limit
    cgroup.write_text(f"{2**30}\n")
    assert resource.parse_bytes("AUTO") == 2**29  # a container's limit, lower than the machine


def test_a_memory_limit_is_a_size():
    from lakehouse.engine.resource import parse_bytes

    assert [parse_bytes(s) for s in ("2g", "512m", "1073741824", "1.5G", "none", None)] == [
        2**31, 2**29, 2**30, 3 * 2**29, None, None,
    ]  # fmt: skip
    with pytest.raises(ValueError, match="not a size such as 2g"):
        parse_bytes("lots")
