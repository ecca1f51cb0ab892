"""How an incoming column type relates to its contract type, and the error raised when a policy says stop.

Types are compared as Spark ``simpleString`` texts (``bigint``, ``decimal(12,2)``, ``timestamp_ntz``),
the form the contracts use. Four outcomes:

* ``SAME``: nothing to do.
* ``EXPECTED``: the column arrives in its declared ``source_type`` (e.g. a timestamp written as text);
  it is cast, values that do not cast are quarantined, and it is not reported as a change.
* ``COMPATIBLE``: a lossless conversion (integer or decimal widening, ``float`` to ``double``,
  ``timestamp`` and ``timestamp_ntz`` either way, an all-NULL ``void`` column); cast silently. The
  timestamp case is lossless because every engine session runs in UTC (``SparkEngine`` sets
  ``spark.sql.session.timeZone``), and it matters in practice: Arrow's naive timestamps, which the
  extractors produce, arrive in Spark as ``timestamp``.
* ``CHANGED``: anything else; the contract's ``type_change`` policy decides.
"""

from __future__ import annotations

import re
from enum import Enum

from lakehouse.contracts.model import Column

_INTEGERS = ("tinyint", "smallint", "int", "bigint")
_INTEGER_DIGITS = {"tinyint": 3, "smallint": 5, "int": 10, "bigint": 19}
_DECIMAL = re.compile(r"^decimal\((\d+),(\d+)\)$")
_NUMBERS = re.compile(r"^(tinyint|smallint|int|bigint|float|double|decimal\(\d+,\d+\))$")
_TIMES = ("date", "timestamp", "timestamp_ntz")
_COMPLEX = re.compile(r"^(array|map|struct)<")


class SchemaEvolutionError(ValueError):
    """An input breaks the contract's evolution policy (or cannot be aligned at all); nothing is written."""


class TypeStatus(str, Enum):
    SAME = "same"
    EXPECTED = "expected"
    COMPATIBLE = "compatible"
    CHANGED = "changed"


def type_status(actual: str, column: Column) -> TypeStatus:
    """How a column arriving as ``actual`` relates to the contract ``column``."""
    if actual == column.type:
        return TypeStatus.SAME
    if column.source_type is not None and actual == column.source_type:
        return TypeStatus.EXPECTED
    if is_lossless(actual, column.type):
        return TypeStatus.COMPATIBLE
    return TypeStatus.CHANGED


def is_lossless(source: str, target: str) -> bool:
    """Whether every ``source`` value converts to ``target`` exactly."""
    if source == target or source == "void":
        return True
    if source in _INTEGERS and target in _INTEGERS:
        return _INTEGERS.index(source) <= _INTEGERS.index(target)
    if source == "float" and target == "double":
        return True
    if {source, target} == {"timestamp", "timestamp_ntz"}:
        return True
    target_decimal = _DECIMAL.match(target)
    if target_decimal:
        precision, scale = int(target_decimal[1]), int(target_decimal[2])
        if source in _INTEGERS:
            return precision - scale >= _INTEGER_DIGITS[source]
        source_decimal = _DECIMAL.match(source)
        if source_decimal:
            return (
                int(source_decimal[2]) <= scale
                and int(source_decimal[1]) - int(source_decimal[2]) <= precision - scale
            )
    return False


def can_cast(source: str, target: str) -> bool:
    """Whether ``try_cast`` from ``source`` to ``target`` is defined on Spark and Sail (it then yields
    NULL for values that do not fit). Nested types never cast to a contract's scalar types."""
    if is_lossless(source, target) or source == "string":
        return True
    if _COMPLEX.match(source) or _COMPLEX.match(target):
        return False
    if target == "string":
        return True
    numeric_source = bool(_NUMBERS.match(source)) or source == "boolean"
    if _NUMBERS.match(target) or target == "boolean":
        return numeric_source
    if target in _TIMES:
        return source in _TIMES
    return False
