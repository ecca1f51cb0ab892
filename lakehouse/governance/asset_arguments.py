"""What every table asset declares, from its contract: key, group, owner, kinds, description, column
schema (with the PII tags), partitions and backfill policy. One helper, so every layer declares them alike."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import dagster as dg

from lakehouse.contracts import Contract
from lakehouse.governance.column_schema import contract_column_schema, partition_column
from lakehouse.partitions import daily_partitions

KINDS = frozenset({"spark", "delta"})


def asset_arguments(
    contract: Contract,
    *,
    partitioned: bool = True,
    extra_columns: Iterable[dg.TableColumn] | None = None,
    kinds: Iterable[str] = KINDS,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Keyword arguments of ``@dg.asset`` for the table of ``contract``: asset key ``[layer, table]``, the
    layer as group, the contract's owner and description, the column schema (the contract's columns, then
    ``extra_columns``; default: the partition column when ``partitioned``), and, when ``partitioned``, the
    daily partitions with a single-run backfill policy (a backfill range is one run)."""
    if extra_columns is None:
        extra_columns = [partition_column()] if partitioned else []
    arguments: dict[str, Any] = {
        "key": dg.AssetKey([contract.layer, contract.table]),
        "group_name": contract.layer,
        "description": contract.description,
        "owners": [contract.owner],
        "kinds": set(kinds),
        "metadata": {
            "dagster/column_schema": contract_column_schema(contract, extra_columns),
            "contract": dg.MetadataValue.path(str(contract.path)) if contract.path else None,
            **(metadata or {}),
        },
    }
    if partitioned:
        arguments["partitions_def"] = daily_partitions()
        arguments["backfill_policy"] = dg.BackfillPolicy.single_run()
    return arguments
