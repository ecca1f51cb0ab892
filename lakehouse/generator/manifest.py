"""The manifest of injected defects: exactly which source rows are invalid, how, and where.

Written as JSON lines (``manifest/defects.jsonl`` under the output directory), one object per invalid
row, for example::

    {"table": "RETAIL.SALES.ORDERS", "kind": "orphan_foreign_key", "column": "CUSTOMER_ID",
     "bad_value": "900000412345", "key": {"ORDER_ID": 17}, "locator": {"ORDER_ID": 17, "UPDATED_AT":
     "2026-01-01 10:00:00.000001"}, "change_date": "2026-01-01", "commit_date": "2026-01-02"}

* ``bad_value`` is the injected value as text, as it reads in the source (``null`` for a NULL).
* ``key`` is the primary key as it reads in the row (``null`` where the key itself was nulled).
* ``locator`` holds the values of the table's ``row_locator`` columns (``specs.TableSpec``), which
  identify the row after loading even when its key or its change column is NULL (``null`` matches a
  NULL). Timestamps are written ``YYYY-MM-DD HH:MM:SS.ffffff`` (UTC, naive), integers as JSON numbers.
* ``change_date`` is the UTC day of the row's change column (its bronze ``_run_date``, unless bronze
  places the row in no day: ``null`` for a NULL change column, or a day decades ahead);
  ``commit_date`` the day the source committed it (the load batch that carries it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.generator.specs import table_spec

LocatorValue = int | str | None


@dataclass(frozen=True)
class Defect:
    """One invalid source row and the single defect injected into it."""

    table: str
    kind: str
    column: str
    bad_value: str | None
    key: Mapping[str, LocatorValue]
    locator: Mapping[str, LocatorValue]
    change_date: date | None  # None: the change column is NULL
    commit_date: date

    def to_json(self) -> str:
        return json.dumps(
            {
                "table": self.table,
                "kind": self.kind,
                "column": self.column,
                "bad_value": self.bad_value,
                "key": dict(self.key),
                "locator": dict(self.locator),
                "change_date": None if self.change_date is None else self.change_date.isoformat(),
                "commit_date": self.commit_date.isoformat(),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, line: str) -> Defect:
        raw = json.loads(line)
        return cls(
            table=raw["table"],
            kind=raw["kind"],
            column=raw["column"],
            bad_value=raw["bad_value"],
            key=raw["key"],
            locator=raw["locator"],
            change_date=None if raw["change_date"] is None else date.fromisoformat(raw["change_date"]),
            commit_date=date.fromisoformat(raw["commit_date"]),
        )


def locator_value(value: Any) -> LocatorValue:
    """A row value in the manifest's JSON form."""
    if value is None or isinstance(value, int | str):
        return value
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    raise TypeError(f"unexpected locator value {value!r}")


def text_value(value: Any) -> str | None:
    """A row value as text, the way it reads in the source."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    return str(value)


def locate(rows: pa.Table, defect: Defect) -> pa.BooleanArray:
    """Which of ``rows`` (any table with the source columns, e.g. read back after loading or from
    quarantine) is the defect's row: equality on every locator column, where a NULL equals a NULL."""
    spec = table_spec(defect.table)
    mask = pa.repeat(pa.scalar(True), rows.num_rows)
    for name in spec.row_locator:
        value = defect.locator[name]
        column = rows.column(name)
        if value is None:
            matches = pc.is_null(column)
        else:
            if pa.types.is_timestamp(column.type) and isinstance(value, str):
                scalar = pa.scalar(datetime.fromisoformat(value), type=column.type)
            else:
                scalar = pa.scalar(value, type=column.type)
            matches = pc.fill_null(pc.equal(column, scalar), False)
        mask = pc.and_(mask, matches)
    return mask


def write_manifest(defects: Iterable[Defect], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for defect in defects:
            out.write(defect.to_json())
            out.write("\n")


def read_manifest(path: Path) -> tuple[Defect, ...]:
    with path.open(encoding="utf-8") as lines:
        return tuple(Defect.from_json(line) for line in lines if line.strip())
