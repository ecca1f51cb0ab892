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
