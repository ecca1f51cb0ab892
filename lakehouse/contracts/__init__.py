"""Table contracts and the quarantine (error) lane.

Contracts are YAML files under ``contracts/`` (one per table, validated by
``contracts/contract.schema.json``); see ``docs/contracts.md``. The code here takes and returns Spark
DataFrames and knows nothing of Dagster:

* ``load_contract`` / ``load_contracts``: read and validate contract files.
* ``align_to_schema``: cast, rename, order and complete a batch, applying the evolution policy.
* ``validate_and_quarantine``: every rule on every row; valid rows and quarantine rows with their
  reasons and original payload.
"""

from lakehouse.contracts.align import AlignedFrame, AlignmentReport, TypeChange, align_to_schema
from lakehouse.contracts.evolution import SchemaEvolutionError, TypeStatus, is_lossless, type_status
from lakehouse.contracts.loader import (
    ContractError,
    contract_for_source,
    contract_schema,
    contracts_dir,
    json_schema_at,
    load_contract,
    load_contracts,
    parse_contract,
)
from lakehouse.contracts.model import (
    ERROR_REASONS_COLUMN,
    METADATA_COLUMNS,
    NEW_COLUMN_RULE_ID,
    ORIGINAL_PAYLOAD_COLUMN,
    REASON_TYPE,
    REASONS_TYPE,
    Column,
    ColumnLineage,
    ColumnRef,
    Contract,
    EnumRule,
    EvolutionPolicy,
    ForeignKeyRule,
    LineageTransformation,
    MissingColumnPolicy,
    NewColumnPolicy,
    NotNullRule,
    PiiClass,
    RangeRule,
    RegexRule,
    Rule,
    Source,
    SourceSystem,
    TypeChangePolicy,
    UniqueRule,
    not_null_rule_id,
    type_rule_id,
)
from lakehouse.contracts.quarantine import (
    MissingReferenceError,
    QuarantineResult,
    annotate_violations,
    split_lanes,
    validate_and_quarantine,
    with_payloads_of_quarantined_rows_only,
)

__all__ = [
    "ERROR_REASONS_COLUMN",
    "METADATA_COLUMNS",
    "NEW_COLUMN_RULE_ID",
    "ORIGINAL_PAYLOAD_COLUMN",
    "REASONS_TYPE",
    "REASON_TYPE",
    "AlignedFrame",
    "AlignmentReport",
    "Column",
    "ColumnLineage",
    "ColumnRef",
    "Contract",
    "ContractError",
    "EnumRule",
    "EvolutionPolicy",
    "ForeignKeyRule",
    "LineageTransformation",
    "MissingColumnPolicy",
    "MissingReferenceError",
    "NewColumnPolicy",
    "NotNullRule",
    "PiiClass",
    "QuarantineResult",
    "RangeRule",
    "RegexRule",
    "Rule",
    "SchemaEvolutionError",
    "Source",
    "SourceSystem",
    "TypeChange",
    "TypeChangePolicy",
    "TypeStatus",
    "UniqueRule",
    "align_to_schema",
    "contract_for_source",
    "contract_schema",
    "json_schema_at",
    "contracts_dir",
    "is_lossless",
    "load_contract",
    "load_contracts",
    "not_null_rule_id",
    "parse_contract",
    "type_rule_id",
    "type_status",
    "validate_and_quarantine",
    "with_payloads_of_quarantined_rows_only",
    "annotate_violations",
    "split_lanes",
]
