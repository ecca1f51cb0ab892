"""Column schemas declared on assets, built from the contracts: the PII class of every column becomes its
``pii`` column tag, so the Dagster UI shows (and a catalog can search) which columns hold personal data.

One builder for every layer, so bronze, quarantine, silver and gold tag their columns the same way.
"""

from collections.abc import Iterable

import dagster as dg

from lakehouse.contracts import (
    ERROR_REASONS_COLUMN,
    ORIGINAL_PAYLOAD_COLUMN,
    REASONS_TYPE,
    Contract,
    PiiClass,
)
from lakehouse.partitions import PARTITION_COLUMN

PII_TAG = "pii"

# The bronze metadata columns in the order bronze writes them.
_METADATA_COLUMNS = (
    ("record_source", "string", "Source system the row was extracted from (snowflake | redshift)."),
    ("record_table", "string", "Fully qualified source table."),
    ("ingest_timestamp", "timestamp", "When the row was extracted (UTC)."),
    ("_batch_id", "string", "The extraction batch: Dagster run id, table and window."),
    (PARTITION_COLUMN, "date", "Partition: the UTC day of the row's change column."),
)

_PII_ORDER = (PiiClass.NONE, PiiClass.INDIRECT, PiiClass.DIRECT, PiiClass.SENSITIVE)


def pii_tags(pii: PiiClass) -> dict[str, str]:
    return {PII_TAG: pii.value}


def column(name: str, type_: str, description: str, pii: PiiClass = PiiClass.NONE, nullable: bool = True):
    return dg.TableColumn(
        name=name,
        type=type_,
        description=description,
        constraints=dg.TableColumnConstraints(nullable=nullable),
        tags=pii_tags(pii),
    )


def contract_columns(contract: Contract) -> list[dg.TableColumn]:
    """The contract's columns: type, nullability, description and the PII class as the ``pii`` tag."""
    return [column(c.name, c.type, c.description or "", c.pii, c.nullable) for c in contract.columns]


def partition_column() -> dg.TableColumn:
    return column(PARTITION_COLUMN, "date", "Partition: the day the row belongs to (UTC).", nullable=False)


def contract_column_schema(contract: Contract, extra: Iterable[dg.TableColumn] = ()) -> dg.TableSchema:
    """The contract's columns followed by ``extra`` (columns the contract does not declare)."""
    return dg.TableSchema(columns=[*contract_columns(contract), *extra])


def quarantine_column_schema(contract: Contract) -> dg.TableSchema:
    """A quarantine table: bronze's columns plus the reasons and the original payload. The payload is the
    whole source row in clear, so it carries the most sensitive class of any column of the contract."""
    return contract_column_schema(
        contract,
        [
            *metadata_columns(),
            column(ERROR_REASONS_COLUMN, REASONS_TYPE, "Every rule the row breaks.", nullable=False),
            column(
                ORIGINAL_PAYLOAD_COLUMN,
                "string",
                "The row as the source delivered it, as JSON.",
                most_sensitive(contract),
            ),
        ],
    )


def most_sensitive(contract: Contract) -> PiiClass:
    return max((c.pii for c in contract.columns), key=_PII_ORDER.index, default=PiiClass.NONE)


def metadata_columns() -> list[dg.TableColumn]:
    """The metadata columns every bronze and quarantine row carries, in the order bronze writes them."""
    return [column(name, type_, description, nullable=False) for name, type_, description in _METADATA_COLUMNS]
