"""Configuration alone moves the lakehouse from a laptop to a cluster.

The same command, ``lakehouse backfill`` over the session's generated days (late rows, SCD2 changes and
deletes, bad rows), runs twice against the same sources: on embedded Sail with the lake on local disk, and
on the local Sail cluster (``lakehouse services up --cluster``: a driver and two workers exchanging plans
and data over gRPC) with the lake on an S3 emulator. Only environment settings differ. Both runs pass every
check, and every table holds the same rows in both lakes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from pyarrow.fs import FileSelector

from lakehouse.lake import Lake
from lakehouse.lake.storage import filesystem
from lakehouse.operations.quarantine import quarantine_days
from lakehouse.operations.tables import table_history
from lakehouse.orchestration.sensors.watermark_sensor import lake_day_counts
from lakehouse_tests.fixtures.s3 import BUCKET, create_bucket, s3_settings
from lakehouse_tests.fixtures.sources import SOURCES_CONFIG

pytestmark = pytest.mark.slow

VOLATILE_COLUMNS = ("ingest_timestamp", "_batch_id")
"""When a row was ingested and by which run: the only columns that differ between two runs."""
CHECKS_PASSED = re.compile(r"(\d{4}-\d{2}-\d{2}) succeeded: .*?(\d+) of (\d+) checks passed")
ENGINE_SETTINGS = (
    "LAKEHOUSE_ENGINE",
    "LAKEHOUSE_SPARK_REMOTE",
    "LAKEHOUSE_LAKE_ROOT",
    "SPARK_CONNECT_MODE_ENABLED",
    "SPARK_REMOTE",
)


DAYS = [(SOURCES_CONFIG.start_date + timedelta(days=n)).isoformat() for n in range(SOURCES_CONFIG.days)]
BACKFILL = ("backfill", "--start", DAYS[0], "--end", DAYS[-1])
FACTS_PER_DAY = "select order_date_key, count(*) as orders from gold_fact_orders group by 1 order by 1"


def lakehouse(workdir: Path, settings: dict[str, str], *arguments: str) -> subprocess.CompletedProcess:
    """The ``lakehouse`` command in its own process, with ``settings`` added to this process's environment
    (minus any engine or lake choice of its own), its Dagster runs and lineage events under ``workdir``."""
    env = {name: value for name, value in os.environ.items() if name not in ENGINE_SETTINGS}
    env.update(
        {
            "DAGSTER_HOME": str(workdir / "dagster"),
            "OPENLINEAGE__TRANSPORT__TYPE": "file",
            "OPENLINEAGE__TRANSPORT__LOG_FILE_PATH": str(workdir / "openlineage.jsonl"),
            "OPENLINEAGE__TRANSPORT__APPEND": "true",
            "COLUMNS": "200",
            **settings,
        }
    )
    (workdir / "dagster").mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "lakehouse.cli", *arguments]
    return subprocess.run(command, check=False, env=env, capture_output=True, text=True, timeout=1200)


@pytest.fixture(scope="module")
def runs(local_services, generated_sources, s3_endpoint, tmp_path_factory):
    """Both runs over the same generated sources: embedded and local disk, cluster and S3."""
    work = tmp_path_factory.mktemp("on-a-cluster")
    local_root = str(work / "laptop" / "lake")
    s3_root = f"s3://{BUCKET}/on-a-cluster"
    aws = s3_settings(s3_endpoint)
    create_bucket(s3_endpoint)
    laptop_settings = {"LAKEHOUSE_LAKE_ROOT": local_root}
    laptop = lakehouse(work / "laptop", laptop_settings, *BACKFILL)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in aws.items():  # `services up` passes them on to the engine, which uses the lake
            patch.setenv(name, value)
        local_services.up(cluster=True)
        cluster_settings = {**aws, "LAKEHOUSE_LAKE_ROOT": s3_root, "LAKEHOUSE_ENGINE": "cluster"}
        cluster = lakehouse(work / "cluster", cluster_settings, *BACKFILL)
        queries = {
            "laptop": lakehouse(work / "laptop", laptop_settings, "sql", FACTS_PER_DAY),
            "cluster": lakehouse(work / "cluster", cluster_settings, "sql", FACTS_PER_DAY),
        }
        lakes = {"laptop": _contents(Lake(root_uri=local_root)), "cluster": _contents(Lake(root_uri=s3_root))}
        views = {
            "laptop": _operator_views(Lake(root_uri=local_root)),
            "cluster": _operator_views(Lake(root_uri=s3_root)),
        }
        store, base = filesystem(f"{s3_root}/_data_docs")
        pages = [
            i.path
            for i in store.get_file_info(
                FileSelector(f"{base}/validations", recursive=True, allow_not_found=True)
            )
        ]
    return {
        "laptop": laptop,
        "cluster": cluster,
        "queries": queries,
        "work": work,
        "lakes": lakes,
        "views": views,
        "pages": pages,
    }


def _contents(lake: Lake) -> dict[str, Counter]:
    """Every table's rows as a multiset (each row printed, since some hold lists), the volatile columns left
    out."""
    contents = {}
    for table in lake.tables():
        data: pa.Table = lake.open(table).to_pyarrow_table()
        columns = sorted(name for name in data.column_names if name not in VOLATILE_COLUMNS)
        contents[table.key] = Counter(repr(tuple(row.values())) for row in data.select(columns).to_pylist())
    return contents


def _operator_views(lake: Lake) -> dict:
    """What the sensors and the operator commands read from a lake: per bronze table and day, the rows
    loaded (the watermark sensors' lake statistics); per table, its commits (``lakehouse table history``);
    per day, bronze and quarantined rows by rule (``lakehouse quarantine counts``)."""
    return {
        "day_counts": {t.name: lake_day_counts(lake, t.name) for t in lake.tables(["bronze"])},
        "history": {
            t.key: [(e.version, e.operation) for e in table_history(t, lake=lake)] for t in lake.tables()
        },
        "quarantine": quarantine_days(lake=lake),
    }


@pytest.mark.parametrize("deployment", ["laptop", "cluster"])
def test_every_day_succeeds_with_every_check_passing(runs, deployment):
    completed = runs[deployment]
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    days = CHECKS_PASSED.findall(completed.stdout)
    assert [day for day, _, _ in days] == DAYS
    for day, passed, total in days:
        assert passed == total and int(total) > 0, f"{deployment} {day}: {passed} of {total} checks passed"


def test_every_table_holds_the_same_rows_on_the_cluster_and_s3(runs):
    laptop, cluster = runs["lakes"]["laptop"], runs["lakes"]["cluster"]
    assert sorted(cluster) == sorted(laptop)
    assert len(laptop) == 20 and all(laptop[key] for key in ("gold/dim_customer", "gold/fact_orders"))
    differing = [key for key in laptop if laptop[key] != cluster[key]]
    assert differing == [], {
        key: (laptop[key] - cluster[key], cluster[key] - laptop[key]) for key in differing[:2]
    }


def test_sensors_and_operator_commands_read_the_s3_lake_as_the_local_one(runs):
    laptop, cluster = runs["views"]["laptop"], runs["views"]["cluster"]
    assert len(laptop["day_counts"]) == 5 and all(laptop["day_counts"].values())
    assert cluster == laptop


def test_the_cluster_runs_data_docs_are_published_beside_the_s3_lake(runs):
    pages = [page for page in runs["pages"] if page.endswith(".html")]
    assert any("/silver/orders/" in page for page in pages) and any(
        "/gold/fact_orders/" in page for page in pages
    )


def test_lakehouse_sql_queries_the_s3_lake_on_the_cluster(runs):
    laptop, cluster = runs["queries"]["laptop"], runs["queries"]["cluster"]
    assert cluster.returncode == 0, cluster.stderr[-2000:]
    assert re.search(r"\b20260101\b", cluster.stdout)
    assert cluster.stdout == laptop.stdout


def test_lineage_names_the_s3_tables_by_the_openlineage_naming_spec(runs):
    events = [
        json.loads(line) for line in (runs["work"] / "cluster" / "openlineage.jsonl").read_text().splitlines()
    ]
    outputs = {(d["namespace"], d["name"]) for event in events for d in event.get("outputs", [])}
    assert (f"s3://{BUCKET}", "on-a-cluster/gold/fact_orders") in outputs
    assert all(namespace == f"s3://{BUCKET}" for namespace, _ in outputs)
