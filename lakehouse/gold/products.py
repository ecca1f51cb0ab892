"""dim_product (SCD Type 1) as pure DataFrame logic: a product's latest row, its unknown member and the
``MERGE`` statement that applies them.

Nothing here knows Dagster, reads a table or writes one; ``lakehouse.gold.merges`` issues the ``MERGE``.
A product has one row, overwritten in place by a newer change: ``updated_at`` orders the changes, never
their arrival, so late and repeated windows never move a product back in time.
"""

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from lakehouse.gold.scd2 import UNKNOWN_KEY, UNKNOWN_TEXT, surrogate_key
from lakehouse.partitions import PARTITION_COLUMN

DIM_PRODUCT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("product_key", "bigint"),
    ("product_id", "bigint"),
    ("sku", "string"),
    ("product_name", "string"),
    ("category", "string"),
    ("brand", "string"),
    ("list_price", "decimal(12,2)"),
    ("currency", "string"),
    ("is_active", "boolean"),
    ("updated_at", "timestamp_ntz"),
)
"""gold/dim_product, in table order."""

UNKNOWN_PRODUCT_ID = -1
UNKNOWN_CURRENCY = "XXX"
"""ISO-4217 "no currency"."""


def product_rows(products: DataFrame) -> DataFrame:
    """dim_product rows from silver/products rows: the latest row of each product (greatest
    ``updated_at``; a tie goes to the latest partition, then to content, so the engine's row order never
    decides), ``product_key = xxhash64(product_id)`` with the sign bit cleared, ``list_price`` = the
    product's current ``unit_price``."""
    latest = Window.partitionBy("product_id").orderBy(
        F.col("updated_at").desc(),
        F.col(PARTITION_COLUMN).desc_nulls_last(),
        *[
            F.col(name).asc_nulls_last()
            for name in ("sku", "product_name", "category", "brand", "unit_price", "currency", "is_active")
        ],
    )
    ranked = products.withColumn("_rank", F.row_number().over(latest)).where("_rank = 1")
    return ranked.select(
        surrogate_key(F.col("product_id").cast("bigint")).alias("product_key"),
        F.col("product_id").cast("bigint").alias("product_id"),
        F.col("sku").cast("string").alias("sku"),
        F.col("product_name").cast("string").alias("product_name"),
        F.col("category").cast("string").alias("category"),
        F.col("brand").cast("string").alias("brand"),
        F.col("unit_price").cast("decimal(12,2)").alias("list_price"),
        F.col("currency").cast("string").alias("currency"),
        F.col("is_active").cast("boolean").alias("is_active"),
        F.col("updated_at").cast("timestamp_ntz").alias("updated_at"),
    )


def unknown_product(spark: SparkSession) -> DataFrame:
    """The unknown product: key ``0``, ``product_id = -1``, no price, currency ``XXX`` (ISO-4217 "no
    currency"), inactive, no change time."""
    return spark.range(1).select(
        F.lit(UNKNOWN_KEY).cast("bigint").alias("product_key"),
        F.lit(UNKNOWN_PRODUCT_ID).cast("bigint").alias("product_id"),
        F.lit(UNKNOWN_TEXT).alias("sku"),
        F.lit(UNKNOWN_TEXT).alias("product_name"),
        F.lit(UNKNOWN_TEXT).alias("category"),
        F.lit(UNKNOWN_TEXT).alias("brand"),
        F.lit(None).cast("decimal(12,2)").alias("list_price"),
        F.lit(UNKNOWN_CURRENCY).alias("currency"),
        F.lit(False).alias("is_active"),
        F.lit(None).cast("timestamp_ntz").alias("updated_at"),
    )


def product_merge_statement(table_uri: str, source_view: str) -> str:
    """SCD1 upsert ordered by ``updated_at``: a row replaces the product's only if it is newer (or equally
    new and different, a corrected re-run of the same day), so late and repeated windows never move a
    product back in time and re-running a window changes nothing."""
    columns = [name for name, _ in DIM_PRODUCT_COLUMNS]
    values = [name for name in columns if name != "product_key"]
    different = " OR ".join(f"NOT (target.`{name}` <=> source.`{name}`)" for name in values)
    assignments = ", ".join(f"`{name}` = source.`{name}`" for name in values)
    return (
        f"MERGE INTO delta.`{table_uri}` AS target USING `{source_view}` AS source "
        "ON target.`product_key` = source.`product_key` "
        "WHEN MATCHED AND (source.`updated_at` > target.`updated_at` "
        f"OR (source.`updated_at` <=> target.`updated_at` AND ({different}))) THEN UPDATE SET {assignments} "
        f"WHEN NOT MATCHED THEN INSERT ({', '.join(f'`{n}`' for n in columns)}) "
        f"VALUES ({', '.join(f'source.`{n}`' for n in columns)})"
    )
