"""Which contract rule each kind of injected defect must break: shared by the contract tests and the
fault-injection suite."""

from __future__ import annotations

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


def expected_rule(contract: Contract, defect: Defect) -> str:
    """The one rule a defect must break."""
    column = defect.column.lower()
    if defect.kind == "null_key":
        kind = NotNullRule
    elif defect.kind in ("unparsable_number", "unparsable_date"):
        return type_rule_id(column)
    else:
        kind = RULE_FOR_DEFECT[defect.kind]
    (rule,) = [r for r in contract.rules if isinstance(r, kind) and r.column == column]
    return rule.id
