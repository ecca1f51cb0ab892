"""A representative pure transform (de-duplication, join, window, aggregate, dates) and its inputs, used to
prove that the same DataFrame code gives identical results on every engine mode."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from lakehouse.ranking import first_per_key

CUSTOMERS = [
    (1, "consumer", "DE"),
    (2, "enterprise", "US"),
    (3, "small_business", "FR"),
]
ORDERS = [
    # order_id, customer_id, order_ts, amount (cents as text: exact decimals on every engine)
    (10, 1, "2026-01-30 23:59:59", "10.50"),
    (11, 1, "2026-02-01 00:00:00", "20.25"),
    (12, 2, "2026-02-14 12:00:00", "100.00"),
    (13, 2, "2026-02-15 08:30:00", "5.75"),
    (14, 1, "2026-03-03 09:00:00", "7.00"),
    (15, 3, "2026-03-31 18:45:00", "42.42"),
    (16, 4, "2026-03-31 19:00:00", "1.00"),  # no such customer: dropped by the inner join on purpose
    (11, 1, "2026-02-01 00:00:00", "20.25"),  # delivered twice: kept once (a checkpointed repeated key)
]


def parity_inputs(spark: SparkSession) -> tuple[DataFrame, DataFrame]:
    customers = spark.createDataFrame(CUSTOMERS, "customer_id long, segment string, country_code string")
    orders = spark.createDataFrame(ORDERS, "order_id long, customer_id long, order_ts string, amount string").select(
        "order_id",
        "customer_id",
        F.to_timestamp("order_ts").alias("order_ts"),
        F.col("amount").cast("decimal(12,2)").alias("amount"),
    )
    return orders, customers


def monthly_customer_revenue(orders: DataFrame, customers: DataFrame) -> DataFrame:
    """Per customer and month: orders, revenue, running revenue, rank in the month, days since first order."""
    first_order = Window.partitionBy("customer_id").orderBy("order_ts")
    enriched = (
        first_per_key(orders, ["order_id"], [F.col("order_ts")])
        .join(customers, "customer_id", "inner")
        .withColumn("order_date", F.to_date("order_ts"))
        .withColumn("month", F.date_format(F.trunc("order_date", "month"), "yyyy-MM"))
        .withColumn(
            "days_since_first_order",
            F.datediff("order_date", F.first("order_date").over(first_order.rowsBetween(Window.unboundedPreceding, 0))),
        )
    )
    monthly = enriched.groupBy("customer_id", "segment", "month").agg(
        F.count("order_id").alias("orders"),
        F.sum("amount").alias("revenue"),
        F.max("days_since_first_order").alias("days_since_first_order"),
    )
    by_customer = Window.partitionBy("customer_id").orderBy("month")
    by_month = Window.partitionBy("month").orderBy(F.desc("revenue"), "customer_id")
    return monthly.select(
        "customer_id",
        "segment",
        "month",
        "orders",
        "revenue",
        F.sum("revenue").over(by_customer.rowsBetween(Window.unboundedPreceding, 0)).alias("running_revenue"),
        F.rank().over(by_month).alias("rank_in_month"),
        "days_since_first_order",
    )


def result_rows(spark: SparkSession) -> list[list[str]]:
    """The transform's output as sorted lists of strings, comparable across processes."""
    orders, customers = parity_inputs(spark)
    rows = monthly_customer_revenue(orders, customers).collect()
    return sorted([[str(v) for v in row] for row in rows])
