"""The source tables, as data: names, columns, SQL types, primary keys and change columns.

These are the source shapes of docs/architecture.md ("Source systems"). The generator builds Arrow tables with exactly these schemas, the
loaders create the tables from them, and bronze ingestion can import them to know what to extract and
which column drives its watermark.

Two choices go beyond those shapes, where they are silent:

* Two columns are stored as text in the source, like real messy sources, so that unparsable values can
  exist at all: ``RETAIL.CRM.CUSTOMERS.CREATED_AT`` (a timestamp written as ``YYYY-MM-DD HH:MM:SS``
  text by a legacy CRM export) and ``RETAIL.SALES.ORDER_ITEMS.QUANTITY`` (an integer written as text).
  They are flagged ``text_encoded`` with the type they carry in ``logical_type``.
* The source DDL declares no constraints (no PRIMARY KEY, no NOT NULL): Snowflake and Redshift do not
  enforce primary keys, and the injected dirt (null keys, duplicates) must be loadable. The logical
  primary key and nullability are recorded here instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import pyarrow as pa


class SourceSystem(str, Enum):
    SNOWFLAKE = "snowflake"
    REDSHIFT = "redshift"


MONEY = pa.decimal128(12, 2)
TIMESTAMP = pa.timestamp("us")


@dataclass(frozen=True)
class ColumnSpec:
    """One source column.

    ``sql_type`` is the type in the source system's DDL; ``arrow_type`` the type the generator produces
    and the loaders insert. ``nullable`` says whether NULL is a legitimate value in clean data.
    ``logical_type`` is set on text-encoded columns: the type a consumer must parse the text into.
    """

    name: str
    sql_type: str
    arrow_type: pa.DataType
    nullable: bool = False
    description: str = ""
    logical_type: str | None = None

    @property
    def text_encoded(self) -> bool:
        return self.logical_type is not None


@dataclass(frozen=True)
class TableSpec:
    """One source table.

    ``change_column`` is the column incremental extraction watermarks on. ``row_locator`` names columns
    whose values identify one row of the table even when the dirt (see ``lakehouse.generator.dirt``) has
    nulled one of them, its primary key or its change column (a NULL matches a NULL); exact duplicates
    share it, nothing else does.
    """

    system: SourceSystem
    database: str
    schema: str
    name: str
    columns: tuple[ColumnSpec, ...]
    primary_key: tuple[str, ...]
    change_column: str
    row_locator: tuple[str, ...]
    append_only: bool
    description: str

    @property
    def qualified_name(self) -> str:
        return f"{self.database}.{self.schema}.{self.name}"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.arrow_type, nullable=True) for c in self.columns])

    def column(self, name: str) -> ColumnSpec:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.qualified_name} has no column {name!r}")


def _col(
    name: str,
    sql_type: str,
    arrow_type: pa.DataType,
    description: str,
    *,
    nullable: bool = False,
    logical_type: str | None = None,
) -> ColumnSpec:
    return ColumnSpec(name, sql_type, arrow_type, nullable, description, logical_type)


CUSTOMERS = TableSpec(
    system=SourceSystem.SNOWFLAKE,
    database="RETAIL",
    schema="CRM",
    name="CUSTOMERS",
    columns=(
        _col("CUSTOMER_ID", "NUMBER(38,0)", pa.int64(), "business key"),
        _col("FIRST_NAME", "VARCHAR", pa.string(), "given name (PII)"),
        _col("LAST_NAME", "VARCHAR", pa.string(), "family name (PII)"),
        _col("EMAIL", "VARCHAR", pa.string(), "e-mail address (PII), tracked"),
        _col("PHONE", "VARCHAR", pa.string(), "phone number (PII)"),
        _col("COUNTRY_CODE", "VARCHAR", pa.string(), "ISO-3166 alpha-2, tracked"),
        _col("CITY", "VARCHAR", pa.string(), "city, tracked with the country"),
        _col("SEGMENT", "VARCHAR", pa.string(), "consumer | small_business | enterprise, tracked"),
        _col("LOYALTY_TIER", "VARCHAR", pa.string(), "none | silver | gold | platinum, tracked"),
        _col(
            "CREATED_AT",
            "VARCHAR",
            pa.string(),
            "account creation time, UTC, as 'YYYY-MM-DD HH:MM:SS' text",
            logical_type="TIMESTAMP_NTZ",
        ),
        _col("UPDATED_AT", "TIMESTAMP_NTZ", TIMESTAMP, "last change, UTC; the change column"),
        _col("IS_DELETED", "BOOLEAN", pa.bool_(), "soft delete: TRUE closes the customer"),
    ),
    primary_key=("CUSTOMER_ID",),
    change_column="UPDATED_AT",
    row_locator=("CUSTOMER_ID", "UPDATED_AT"),
    append_only=False,
    description="Customer master data; each change writes a full new row image.",
)

PRODUCTS = TableSpec(
    system=SourceSystem.SNOWFLAKE,
    database="RETAIL",
    schema="CATALOG",
    name="PRODUCTS",
    columns=(
        _col("PRODUCT_ID", "NUMBER(38,0)", pa.int64(), "business key"),
        _col("SKU", "VARCHAR", pa.string(), "stock keeping unit, unique per product"),
        _col("PRODUCT_NAME", "VARCHAR", pa.string(), "display name"),
        _col("CATEGORY", "VARCHAR", pa.string(), "product category"),
        _col("BRAND", "VARCHAR", pa.string(), "brand"),
        _col("UNIT_PRICE", "NUMBER(12,2)", MONEY, "list price in CURRENCY"),
        _col("CURRENCY", "VARCHAR", pa.string(), "ISO-4217 code"),
        _col("IS_ACTIVE", "BOOLEAN", pa.bool_(), "FALSE once the product is withdrawn from sale"),
        _col("UPDATED_AT", "TIMESTAMP_NTZ", TIMESTAMP, "last change, UTC; the change column"),
    ),
    primary_key=("PRODUCT_ID",),
    change_column="UPDATED_AT",
    row_locator=("PRODUCT_ID", "UPDATED_AT"),
    append_only=False,
    description="Product catalogue; price changes and withdrawals write new row images.",
)

ORDERS = TableSpec(
    system=SourceSystem.SNOWFLAKE,
    database="RETAIL",
    schema="SALES",
    name="ORDERS",
    columns=(
        _col("ORDER_ID", "NUMBER(38,0)", pa.int64(), "business key"),
        _col("CUSTOMER_ID", "NUMBER(38,0)", pa.int64(), "references CRM.CUSTOMERS"),
        _col("ORDER_TS", "TIMESTAMP_NTZ", TIMESTAMP, "when the order was placed, UTC"),
        _col("STATUS", "VARCHAR", pa.string(), "placed | paid | shipped | delivered | cancelled | returned"),
        _col("CHANNEL", "VARCHAR", pa.string(), "web | mobile | store"),
        _col("CURRENCY", "VARCHAR", pa.string(), "ISO-4217 code of the amounts"),
        _col("TOTAL_AMOUNT", "NUMBER(12,2)", MONEY, "sum of line amounts net of discounts"),
        _col("UPDATED_AT", "TIMESTAMP_NTZ", TIMESTAMP, "last change, UTC; the change column"),
    ),
    primary_key=("ORDER_ID",),
    change_column="UPDATED_AT",
    row_locator=("ORDER_ID", "UPDATED_AT"),
    append_only=False,
    description="Order headers; every status change writes a new row image.",
)

ORDER_ITEMS = TableSpec(
    system=SourceSystem.SNOWFLAKE,
    database="RETAIL",
    schema="SALES",
    name="ORDER_ITEMS",
    columns=(
        _col("ORDER_ID", "NUMBER(38,0)", pa.int64(), "references SALES.ORDERS"),
        _col("LINE_NUMBER", "NUMBER(38,0)", pa.int64(), "1-based line within the order"),
        _col("PRODUCT_ID", "NUMBER(38,0)", pa.int64(), "references CATALOG.PRODUCTS"),
        _col(
            "QUANTITY",
            "VARCHAR",
            pa.string(),
            "units ordered, a positive integer written as text",
            logical_type="NUMBER(38,0)",
        ),
        _col("UNIT_PRICE", "NUMBER(12,2)", MONEY, "price per unit in the order's currency"),
        _col("DISCOUNT_AMOUNT", "NUMBER(12,2)", MONEY, "discount on the whole line"),
        _col("UPDATED_AT", "TIMESTAMP_NTZ", TIMESTAMP, "the order row that wrote the line; change column"),
    ),
    primary_key=("ORDER_ID", "LINE_NUMBER"),
    change_column="UPDATED_AT",
    row_locator=("ORDER_ID", "LINE_NUMBER", "UPDATED_AT"),
    append_only=False,
    description="Order lines, written with their order; a coupon at payment rewrites line 1.",
)

BEHAVIOR_EVENTS = TableSpec(
    system=SourceSystem.REDSHIFT,
    database="analytics",
    schema="web",
    name="behavior_events",
    columns=(
        _col("event_id", "VARCHAR(36)", pa.string(), "uuid of the event"),
        _col("customer_id", "BIGINT", pa.int64(), "NULL for anonymous visitors", nullable=True),
        _col("session_id", "VARCHAR(36)", pa.string(), "uuid of the browsing session", nullable=True),
        _col(
            "event_type",
            "VARCHAR(32)",
            pa.string(),
            "page_view | product_view | search | add_to_cart | remove_from_cart | checkout_start | purchase",
        ),
        _col("product_id", "BIGINT", pa.int64(), "set on product events", nullable=True),
        _col("page_url", "VARCHAR(2048)", pa.string(), "page the event happened on"),
        _col("device", "VARCHAR(16)", pa.string(), "desktop | mobile | tablet"),
        _col("event_ts", "TIMESTAMP", TIMESTAMP, "client time, UTC; may be days before loaded_at"),
        _col("loaded_at", "TIMESTAMP", TIMESTAMP, "commit time of the load, UTC; the change column"),
    ),
    primary_key=("event_id",),
    change_column="loaded_at",
    row_locator=("session_id", "event_ts"),
    append_only=True,
    description="Clickstream, appended in micro-batches; offline clients upload days late.",
)

SNOWFLAKE_TABLES: tuple[TableSpec, ...] = (CUSTOMERS, PRODUCTS, ORDERS, ORDER_ITEMS)
REDSHIFT_TABLES: tuple[TableSpec, ...] = (BEHAVIOR_EVENTS,)
ALL_TABLES: tuple[TableSpec, ...] = SNOWFLAKE_TABLES + REDSHIFT_TABLES


def table_spec(qualified_name: str) -> TableSpec:
    """The spec of a table by its qualified name, e.g. ``RETAIL.SALES.ORDERS``."""
    for spec in ALL_TABLES:
        if spec.qualified_name == qualified_name:
            return spec
    known = ", ".join(spec.qualified_name for spec in ALL_TABLES)
    raise KeyError(f"unknown source table {qualified_name!r}; known: {known}")


def tables_of(system: SourceSystem) -> tuple[TableSpec, ...]:
    return tuple(spec for spec in ALL_TABLES if spec.system == system)


def create_table_sql(spec: TableSpec) -> str:
    """DDL in the source system's dialect, without constraints (see the module docstring).

    Snowflake names are fully qualified; Redshift names are schema-qualified because a PostgreSQL
    connection is bound to one database.
    """
    columns = ",\n    ".join(f"{c.name} {c.sql_type}" for c in spec.columns)
    name = spec.qualified_name if spec.system == SourceSystem.SNOWFLAKE else f"{spec.schema}.{spec.name}"
    return f"CREATE TABLE IF NOT EXISTS {name} (\n    {columns}\n)"
