"""Small contracts built in code for tests, through the same parser as the files."""

from __future__ import annotations

from typing import Any

from lakehouse.contracts import Contract, parse_contract


def column(name: str, type_: str, nullable: bool = True, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, "nullable": nullable, "pii": "none", "description": name, **extra}


def contract_document(
    columns: list[dict[str, Any]],
    rules: list[dict[str, Any]] | None = None,
    *,
    new_column: str = "evolve",
    missing_column: str = "fill_null",
    type_change: str = "cast_or_quarantine",
    primary_key: list[str] | None = None,
    change_column: str | None = None,
) -> dict[str, Any]:
    return {
        "contract_version": 1,
        "layer": "bronze",
        "table": "things",
        "description": "A test table.",
        "owner": "team:tests",
        "source": {
            "system": "snowflake",
            "table": "TEST.PUBLIC.THINGS",
            "change_column": change_column or columns[-1]["name"],
        },
        "primary_key": primary_key or [columns[0]["name"]],
        "evolution": {"new_column": new_column, "missing_column": missing_column, "type_change": type_change},
        "columns": columns,
        "rules": rules or [],
    }


def make_contract(
    columns: list[dict[str, Any]], rules: list[dict[str, Any]] | None = None, **options: Any
) -> Contract:
    return parse_contract(contract_document(columns, rules, **options), "things.yaml")
