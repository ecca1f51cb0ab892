"""Which rule each kind of injected defect must break: shared by the contract tests, the bronze tests and the
fault-injection suite."""

from __future__ import annotations

from lakehouse.bronze.placement import CHANGE_COLUMN_NOT_IN_FUTURE, CHANGE_COLUMN_NOT_NULL
from lakehouse.contracts import (
    Contract,
    EnumRule,
    ForeignKeyRule,
    NotNullRule,
    RangeRule,
    RegexRule,
    type_rule_id,
)
from lakehouse.generator import Defect

RULE_FOR_DEFECT = {
    "negative_amount": RangeRule,
    "negative_quantity": RangeRule,
    "future_timestamp": RangeRule,
    "unknown_enum": EnumRule,
    "malformed_email": RegexRule,
    "bad_country_code": RegexRule,
    "bad_currency_code": RegexRule,
    "orphan_foreign_key": ForeignKeyRule,
}
# Rows of no day: bronze's placement quarantines them (``_run_date`` NULL), not a contract rule.
PLACEMENT_RULE_FOR_DEFECT = {
    "null_change": CHANGE_COLUMN_NOT_NULL,
    "future_change": CHANGE_COLUMN_NOT_IN_FUTURE,
}


def expected_rule(contract: Contract, defect: Defect) -> str:
    """The one rule a defect must break once bronze has ingested it: a contract rule, or for a row of no day
    bronze's placement rule."""
    if defect.kind in PLACEMENT_RULE_FOR_DEFECT:
        return PLACEMENT_RULE_FOR_DEFECT[defect.kind]
    column = defect.column.lower()
    if defect.kind in ("unparsable_number", "unparsable_date"):
        return type_rule_id(column)
    return _rule_of(
        contract, NotNullRule if defect.kind == "null_key" else RULE_FOR_DEFECT[defect.kind], column
    )


def contract_rules(contract: Contract, defect: Defect) -> list[str]:
    """The rules the contract alone (``validate_and_quarantine``, no placement) flags a defect's row with.

    A decades-ahead change column breaks none: bronze's placement quarantines it. A NULL one is placed by
    bronze too, but the contract declares the change column not nullable, so its derived rule flags it as
    well."""
    if defect.kind == "future_change":
        return []
    if defect.kind == "null_change":
        return [_rule_of(contract, NotNullRule, defect.column.lower())]
    return [expected_rule(contract, defect)]


def _rule_of(contract: Contract, rule_type: type, column: str) -> str:
    (rule,) = [r for r in contract.rules if isinstance(r, rule_type) and r.column == column]
    return rule.id
