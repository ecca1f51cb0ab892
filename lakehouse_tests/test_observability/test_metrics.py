"""The metrics every materialization carries: the bytes a Delta commit added, read from the log of real
tables the engine wrote; how the IO manager adds its write to what an asset reported; and every asset of
one day of the medallion reporting them."""

from pathlib import Path

import dagster as dg
import pytest

from lakehouse.bronze import bronze_assets
from lakehouse.gold.definitions import gold_assets
from lakehouse.governance import PiiMasking
from lakehouse.lake import Lake
from lakehouse.observability.metrics import (
    BYTES_WRITTEN,
    DURATION_SECONDS,
    QUARANTINE_RATE,
    ROWS_QUARANTINED,
    compute_metrics,
    quarantine_metrics,
    started,
    with_write_metrics,
)
from lakehouse.resources import redshift_resource, snowflake_resource
from lakehouse.silver import silver_assets
from lakehouse_tests.support import lake_resources
from lakehouse_tests.test_observability.support import committed_bytes, logged_add_sizes

REPLACE_DAY_2 = "_run_date >= DATE'2026-01-02' AND _run_date < DATE'2026-01-03'"


@pytest.fixture
def table(spark, tmp_path) -> str:
    """A partitioned table with four commits: create, write three days, replace day 2, MERGE that rewrites."""
    uri = str(tmp_path / "events")
    rows = spark.sql(
        "SELECT id, concat('event-', id) AS label, "
        "date_add(DATE'2026-01-01', CAST(id % 3 AS INT)) AS _run_date FROM range(300)"
    )
    rows.limit(0).write.format("delta").mode("append").partitionBy("_run_date").save(uri)
    rows.write.format("delta").mode("append").save(uri)
    day_2 = rows.where(REPLACE_DAY_2)
    day_2.write.format("delta").mode("overwrite").option("replaceWhere", REPLACE_DAY_2).save(uri)
    rows.where("id < 10").withColumn("label", rows.label.substr(1, 3)).createOrReplaceTempView("changes")
    spark.sql(
        f"MERGE INTO delta.`{uri}` AS t USING changes AS s ON t.id = s.id WHEN MATCHED THEN UPDATE SET *"
    ).collect()
    return uri


def bytes_added(uri: str, after_version: int | None, up_to_version: int | None = None) -> int:
    return Lake(root_uri=str(Path(uri).parent)).bytes_added(uri, after_version, up_to_version)


def latest_version(uri: str) -> int | None:
    return Lake(root_uri=str(Path(uri).parent)).version(uri)


def test_bytes_added_is_the_size_of_the_files_each_commit_added(table):
    assert latest_version(table) == 3
    for version in range(4):
        # commit by commit, as the raw log and as delta-rs's history of the commit read it
        assert bytes_added(table, version - 1, version) == sum(logged_add_sizes(table, version))
        assert bytes_added(table, version - 1, version) == committed_bytes(table, version - 1, version)
    assert bytes_added(table, None, 0) == 0  # the empty create added no data file
    assert bytes_added(table, 0, 1) > 0
    assert bytes_added(table, 3, 3) == 0  # no commit in the range
    # a range sums its commits, files rewritten later included; no table before: every commit
    assert bytes_added(table, None) == sum(sum(logged_add_sizes(table, v)) for v in range(4)) > 0
    assert bytes_added(table, 1) == bytes_added(table, 1, 2) + bytes_added(table, 2, 3)


def test_a_merge_that_changes_nothing_commits_nothing_and_adds_no_bytes(spark, table):
    before = latest_version(table)
    spark.sql(
        f"MERGE INTO delta.`{table}` AS t USING (SELECT * FROM changes WHERE id < 0) AS s ON t.id = s.id "
        "WHEN MATCHED THEN UPDATE SET *"
    ).collect()
    assert latest_version(table) == before
    assert bytes_added(table, before) == 0


def test_latest_version_is_none_without_a_table(tmp_path):
    assert latest_version(str(tmp_path / "nothing")) is None


def test_the_io_manager_adds_its_write_to_what_the_asset_reported():
    reported = {BYTES_WRITTEN: dg.MetadataValue.int(100), DURATION_SECONDS: dg.MetadataValue.float(2.0)}
    start = started()
    total = with_write_metrics(reported, bytes_written=50, start=start)
    assert total[BYTES_WRITTEN] == 150 and isinstance(total[BYTES_WRITTEN], int)
    assert 2.0 <= total[DURATION_SECONDS] < 60 and isinstance(total[DURATION_SECONDS], float)
    # raw numbers as an asset passes them, and no report at all: the write alone
    assert with_write_metrics({BYTES_WRITTEN: 7}, bytes_written=3, start=start)[BYTES_WRITTEN] == 10
    assert with_write_metrics(None, bytes_written=3, start=start)[BYTES_WRITTEN] == 3
    assert compute_metrics(start, 42)[BYTES_WRITTEN] == 42


def test_quarantine_rate_is_the_share_of_extracted_rows_and_zero_when_nothing_was_extracted():
    assert quarantine_metrics(3, 12) == {ROWS_QUARANTINED: 3, QUARANTINE_RATE: 0.25}
    assert quarantine_metrics(0, 0) == {ROWS_QUARANTINED: 0, QUARANTINE_RATE: 0.0}


def test_every_materialization_of_every_asset_carries_the_metrics(
    engine, local_services, generated_sources, tmp_path
):
    """One day of the whole medallion on a fresh lake: every asset reports rows, bytes (equal to what its
    table's commits added, from the Delta log) and duration; bronze its quarantine."""
    lake_root = str(tmp_path / "lake")
    resources = {
        **lake_resources(engine, lake_root),
        "snowflake": snowflake_resource(local_services),
        "redshift": redshift_resource(local_services),
        "pii": PiiMasking(salt="metrics-test-salt", allow_development_salt=True),
    }
    assets = [*bronze_assets(), *silver_assets(), *gold_assets()]
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(assets, resources=resources, partition_key="2026-01-01", instance=instance)
    assert result.success
    materializations = result.get_asset_materialization_events()
    keys = {event.asset_key for event in materializations}
    assert keys == {key for asset in assets for key in asset.keys} and len(keys) == 20
    for event in materializations:
        key = event.asset_key
        metadata = {k: v.value for k, v in event.step_materialization_data.materialization.metadata.items()}
        assert isinstance(metadata["dagster/row_count"], int) and metadata["dagster/row_count"] >= 0, key
        assert isinstance(metadata["duration_seconds"], float) and metadata["duration_seconds"] > 0, key
        uri = resources["lake"].table(key)
        assert metadata["bytes_written"] == committed_bytes(uri, None, metadata["delta_version"]), key
        if key.path[0] == "bronze":
            assert metadata["rows_quarantined"] + metadata["dagster/row_count"] == metadata["rows_extracted"]
            assert metadata["quarantine_rate"] == pytest.approx(
                metadata["rows_quarantined"] / metadata["rows_extracted"]
            )
        if key.path[0] != "quarantine":
            assert metadata["bytes_written"] > 0, key  # every one of these has rows on the first day
