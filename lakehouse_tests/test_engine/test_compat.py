"""The engine-shaped helpers: plain Spark API, the same rows as the code they stand for."""

import atexit

from pyspark.sql import functions as F

from lakehouse.engine import compat, sail


def test_checkpoint_aggregate_keeps_the_rows_of_the_aggregate(spark):
    df = spark.createDataFrame([(1, "a"), (1, "a"), (2, "b"), (3, "c"), (3, "c")], "id long, label string")
    repeated = df.groupBy("id", "label").agg(F.count(F.lit(1)).alias("rows")).where("rows > 1")
    kept = compat.checkpoint_aggregate(repeated.select("id", "label"), ["id", "label"])
    assert kept.columns == ["id", "label"]
    assert sorted(tuple(row) for row in kept.collect()) == [(1, "a"), (3, "c")]


def test_checkpoint_aggregate_of_no_row_is_empty(spark):
    empty = spark.range(3).where("id > 5").groupBy("id").count().select("id")
    assert compat.checkpoint_aggregate(empty, ["id"]).collect() == []


class _Client:
    def __init__(self):
        self.is_closed = False

    def _cleanup_ml_cache(self):
        pass

    def close(self):
        self.is_closed = True


class _Session:
    def __init__(self):
        self.client = _Client()


def test_an_embedded_session_skips_the_ml_cache_request_and_closes_its_client_at_exit(monkeypatch):
    unregistered, registered = [], []
    monkeypatch.setattr(atexit, "unregister", unregistered.append)
    monkeypatch.setattr(atexit, "register", lambda function, *args: registered.append((function, args)))
    session = _Session()
    sail.close_before_server_stops(session)
    assert unregistered == [session.client._cleanup_ml_cache]
    [(close, args)] = registered
    close(*args)
    assert session.client.is_closed
