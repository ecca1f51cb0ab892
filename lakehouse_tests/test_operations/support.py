"""A lake of real Delta tables written by the engine in many small commits: what maintenance works on, in the
maintenance tests and in the maintenance job's tests."""

from __future__ import annotations

from pathlib import Path

from lakehouse.lake import Lake

APPENDS = 6  # each append writes one file per day partition: 12 small files per table
SMALL_FILE_TABLES = ("bronze/orders", "silver/orders", "gold/fact_orders")


def write_small_files(spark, uri: str, appends: int = APPENDS) -> None:
    for batch in range(appends):
        start = batch * 200
        frame = spark.range(start, start + 200).selectExpr(
            "id AS order_id",
            "CAST((id * 7919) % 97 AS BIGINT) AS customer_key",
            "CAST(id % 1000 AS DECIMAL(12,2)) AS amount",
            "DATE'2026-01-01' + CAST(id % 2 AS INT) AS _run_date",
        )
        frame.write.format("delta").mode("append").partitionBy("_run_date").save(uri)


def small_files_lake(spark, tmp_path: Path) -> Lake:
    """A lake at ``tmp_path/lake`` holding ``SMALL_FILE_TABLES``, each written in ``APPENDS`` small commits,
    and a folder that is not a table."""
    root = str(tmp_path / "lake")
    for key in SMALL_FILE_TABLES:
        write_small_files(spark, f"{root}/{key}")
    (tmp_path / "lake" / "gold" / "_scratch").mkdir()  # not a table: ignored
    return Lake(root_uri=root)
