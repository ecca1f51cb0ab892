"""Deterministic, scalable synthetic source data for the lakehouse, and loaders for the local sources.

``generate`` simulates the retail sources day by day (Snowflake ``RETAIL``: customers, products,
orders, order lines; Redshift ``analytics.web.behavior_events``) and returns per-day commit batches with
late rows, duplicates and, at rate ``dirt``, invalid rows listed in a manifest. ``load_snowflake`` and
``load_redshift`` append batches to fakesnow's files and to PostgreSQL. The table shapes live in
``specs`` for the rest of the lakehouse to import.
"""

from lakehouse.development_kit import missing as _missing_kit

try:  # the development kit (lakehouse[local]): numpy for the arrays, DuckDB and fakesnow for the loader
    import duckdb  # noqa: F401
    import fakesnow  # noqa: F401
    import numpy  # noqa: F401
except ModuleNotFoundError as _error:
    raise _missing_kit("the data generator and its loaders", _error) from None

from lakehouse.generator.config import DEFAULT_START_DATE, GeneratorConfig, Volumes
from lakehouse.generator.dirt import DEFECT_TARGETS, DefectKind
from lakehouse.generator.generate import generate, generate_data
from lakehouse.generator.load_redshift import load_redshift
from lakehouse.generator.load_snowflake import load_snowflake
from lakehouse.generator.manifest import Defect, locate, read_manifest
from lakehouse.generator.model import (
    CommitBatch,
    GeneratedData,
    GenerationMismatchError,
    LoadedBatch,
    LoadReport,
    Progress,
    RowKind,
)
from lakehouse.generator.specs import (
    ALL_TABLES,
    BEHAVIOR_EVENTS,
    CUSTOMERS,
    ORDER_ITEMS,
    ORDERS,
    PRODUCTS,
    REDSHIFT_TABLES,
    SNOWFLAKE_TABLES,
    ColumnSpec,
    SourceSystem,
    TableSpec,
    table_spec,
)
from lakehouse.generator.storage import default_output_dir, read_batches, read_generated, write_generated

__all__ = [
    "ALL_TABLES",
    "BEHAVIOR_EVENTS",
    "CUSTOMERS",
    "DEFAULT_START_DATE",
    "DEFECT_TARGETS",
    "ORDERS",
    "ORDER_ITEMS",
    "PRODUCTS",
    "REDSHIFT_TABLES",
    "SNOWFLAKE_TABLES",
    "ColumnSpec",
    "CommitBatch",
    "Defect",
    "DefectKind",
    "GeneratedData",
    "GenerationMismatchError",
    "GeneratorConfig",
    "LoadReport",
    "LoadedBatch",
    "Progress",
    "RowKind",
    "SourceSystem",
    "TableSpec",
    "Volumes",
    "default_output_dir",
    "generate",
    "generate_data",
    "load_redshift",
    "load_snowflake",
    "locate",
    "read_batches",
    "read_generated",
    "read_manifest",
    "table_spec",
    "write_generated",
]
