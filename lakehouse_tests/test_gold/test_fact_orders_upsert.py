"""``upsert_order_lines``: the fact_orders ``MERGE`` that inserts new lines and moves changed ones.

On real Delta tables on disk: the result the rules say, nothing committed when nothing wins, and two
processes moving lines out of the same partition at once both land (the loser of the commit race is
retried on the new snapshot; a ``replaceWhere`` rewrite of the partitions fails this test on Sail).
"""

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from lakehouse.gold.merges import rekey, upsert_order_lines
from lakehouse.gold.star import FACT_ORDERS_COLUMNS
from lakehouse.lake import Lake
from lakehouse_tests.support import run_together

D1, D2, D3 = date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)
SCHEMA = ", ".join(f"`{name}` {type_}" for name, type_ in FACT_ORDERS_COLUMNS)


def line(order_id: int, status: str, updated_at: datetime, day: date, quantity: int = 1) -> tuple:
    return (
        order_id, 1, 11, 21, 20260301, 1, 2, datetime(2026, 3, 1, 9), status, "web", "EUR",
        quantity, Decimal("10.00"), Decimal("0.00"), Decimal(10 * quantity), updated_at, day,
    )  # fmt: skip


STORED = [
    line(1, "placed", datetime(2026, 3, 1, 10), D1),
    line(2, "placed", datetime(2026, 3, 1, 11), D1),
    line(3, "placed", datetime(2026, 3, 1, 12), D1),
]


def frame(spark, rows):
    return spark.createDataFrame(rows, SCHEMA)


def lake_of(uri: str) -> Lake:
    return Lake(root_uri=str(Path(uri).parent), retry_backoff_seconds=0.05)


def table_rows(uri: str) -> dict[int, tuple[str, date]]:
    table = lake_of(uri).open(uri).to_pyarrow_table().to_pylist()
    assert len(table) == len({row["order_id"] for row in table}), "a line is stored twice"
    return {row["order_id"]: (row["status"], row["_run_date"]) for row in table}


def upsert(spark, uri: str, rows: list) -> dict[str, int]:
    return upsert_order_lines(spark, lake_of(uri), uri, frame(spark, rows))


def stored_table(spark, tmp_path) -> str:
    uri = str(tmp_path / "fact_orders")
    frame(spark, STORED).write.format("delta").partitionBy("_run_date").save(uri)
    return uri


def test_new_lines_are_inserted_and_newer_states_move_older_ones_stay(spark, tmp_path):
    uri = stored_table(spark, tmp_path)
    incoming = [
        line(1, "paid", datetime(2026, 3, 2, 8), D2),  # newer: moves to D2
        line(2, "cancelled", datetime(2026, 3, 1, 9), D2),  # older than the stored state: loses
        line(4, "placed", datetime(2026, 3, 2, 9), D2),  # new
    ]
    assert upsert(spark, uri, incoming) == {"inserted": 1, "updated": 1}
    assert table_rows(uri) == {1: ("paid", D2), 2: ("placed", D1), 3: ("placed", D1), 4: ("placed", D2)}


def test_nothing_winning_commits_nothing(spark, tmp_path):
    uri = stored_table(spark, tmp_path)
    version = lake_of(uri).version(uri)
    stale = [line(3, "cancelled", datetime(2026, 2, 28, 9), D1)]
    assert upsert(spark, uri, stale) == {"inserted": 0, "updated": 0}
    assert lake_of(uri).version(uri) == version


def test_an_equal_state_stays_in_the_earlier_partition(spark, tmp_path):
    uri = stored_table(spark, tmp_path)
    same_state_later_day = [line(1, "placed", datetime(2026, 3, 1, 10), D3)]
    assert upsert(spark, uri, same_state_later_day) == {"inserted": 0, "updated": 0}
    assert table_rows(uri)[1] == ("placed", D1)


def _upsert_in_own_process(uri: str, rows: list, barrier, results) -> None:
    from lakehouse.engine import SparkEngine

    spark = SparkEngine(shuffle_partitions=1).spark_session
    lake = lake_of(uri)
    incoming = frame(spark, rows)
    incoming.count()  # warm the engine so the barrier lines up the commits, not the start-ups
    barrier.wait(timeout=120)
    counts, retries = lake.commit(uri, lambda: upsert_order_lines(spark, lake, uri, incoming), log=print)
    results.put((rows[0][0], counts, retries))


def test_two_runs_moving_lines_out_of_one_partition_at_once_both_land(spark, tmp_path):
    uri = stored_table(spark, tmp_path)
    batches = [
        [line(1, "paid", datetime(2026, 3, 2, 8), D2), line(4, "placed", datetime(2026, 3, 2, 9), D2)],
        [line(2, "paid", datetime(2026, 3, 3, 8), D3), line(5, "placed", datetime(2026, 3, 3, 9), D3)],
    ]
    outcomes = run_together(_upsert_in_own_process, [(uri, batch) for batch in batches])

    assert [counts for _, counts, _ in outcomes] == [{"inserted": 1, "updated": 1}] * 2
    assert table_rows(uri) == {
        1: ("paid", D2),
        2: ("paid", D3),
        3: ("placed", D1),
        4: ("placed", D2),
        5: ("placed", D3),
    }
    print(f"commit conflicts retried: {sum(r for _, _, r in outcomes)}")


# ------------------------------------------------------------------------------------------ pruning

D0 = date(2026, 2, 28)


def history_table(spark, tmp_path) -> str:
    """Lines of finished orders 1-3 in an older partition, lines of newer orders 200-201 in D1."""
    uri = str(tmp_path / "fact_orders")
    finished = [line(order_id, "delivered", datetime(2026, 2, 28, 10), D0) for order_id in (1, 2, 3)]
    open_ = [line(order_id, "placed", datetime(2026, 3, 1, 10), D1) for order_id in (200, 201)]
    frame(spark, finished + open_).write.format("delta").partitionBy("_run_date").save(uri)
    return uri


def last_merge(uri: str) -> dict:
    (commit,) = lake_of(uri).open(uri).history(1)
    assert commit["operation"] == "MERGE"
    return commit


def partition_files(uri: str, day: date) -> set[str]:
    return {
        path
        for path, data_file in lake_of(uri).data_files(lake_of(uri).open(uri)).items()
        if data_file.partition.get("_run_date") == day
    }


def test_the_merge_reads_only_the_partitions_whose_order_ids_can_match(spark, tmp_path):
    uri = history_table(spark, tmp_path)
    old_files = partition_files(uri, D0)
    incoming = [line(200, "paid", datetime(2026, 3, 2, 8), D2), line(202, "placed", datetime(2026, 3, 2, 9), D2)]

    assert upsert(spark, uri, incoming) == {"inserted": 1, "updated": 1}

    predicate = last_merge(uri)["operationParameters"]["mergePredicate"]
    assert "2026-03-01" in predicate and "2026-02-28" not in predicate  # D0 holds ids 1-3 only
    assert partition_files(uri, D0) == old_files  # the old partition's files are not rewritten
    assert table_rows(uri) == {
        1: ("delivered", D0),
        2: ("delivered", D0),
        3: ("delivered", D0),
        200: ("paid", D2),
        201: ("placed", D1),
        202: ("placed", D2),
    }


def test_a_pruned_merge_still_moves_a_line_out_of_any_partition_that_holds_its_id(spark, tmp_path):
    uri = history_table(spark, tmp_path)
    # an old order changes again (a return): its id range reaches back to the old partition
    incoming = [line(2, "returned", datetime(2026, 3, 2, 8), D2), line(202, "placed", datetime(2026, 3, 2, 9), D2)]

    assert upsert(spark, uri, incoming) == {"inserted": 1, "updated": 1}

    assert "2026-02-28" in last_merge(uri)["operationParameters"]["mergePredicate"]
    assert table_rows(uri)[2] == ("returned", D2)


def test_an_older_day_run_after_a_newer_one_neither_reverts_nor_duplicates_a_line(spark, tmp_path):
    uri = history_table(spark, tmp_path)
    upsert(spark, uri, [line(200, "shipped", datetime(2026, 3, 3, 8), D3)])
    version = lake_of(uri).version(uri)

    assert upsert(spark, uri, [line(200, "paid", datetime(2026, 3, 2, 8), D2)]) == {"inserted": 0, "updated": 0}
    assert lake_of(uri).version(uri) == version
    assert table_rows(uri)[200] == ("shipped", D3)


def test_lines_of_new_orders_only_are_inserted_reading_no_partition(spark, tmp_path):
    uri = history_table(spark, tmp_path)
    assert upsert(spark, uri, [line(300, "placed", datetime(2026, 3, 2, 9), D2)]) == {"inserted": 1, "updated": 0}
    assert "FALSE" in last_merge(uri)["operationParameters"]["mergePredicate"].upper()
    assert table_rows(uri)[300] == ("placed", D2)


def test_rekeying_reads_only_the_partitions_that_can_hold_its_lines(spark, tmp_path):
    uri = history_table(spark, tmp_path)
    keys = "order_id bigint, line_number bigint, customer_key bigint, product_key bigint, order_date_key int"
    rekeyed = spark.createDataFrame([(201, 1, 12, 21, 20260301)], keys)

    updated = rekey(
        spark, lake_of(uri), uri, rekeyed,
        row_key=("order_id", "line_number"), key_columns=("customer_key", "product_key", "order_date_key"),
    )  # fmt: skip

    assert updated == 1
    predicate = last_merge(uri)["operationParameters"]["mergePredicate"]
    assert "2026-03-01" in predicate and "2026-02-28" not in predicate
    stored = {r["order_id"]: r["customer_key"] for r in lake_of(uri).open(uri).to_pyarrow_table().to_pylist()}
    assert stored == {1: 11, 2: 11, 3: 11, 200: 11, 201: 12}
