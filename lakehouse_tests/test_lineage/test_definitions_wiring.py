"""The code location's assets carry the lineage hooks and the contracts' column lineage, so every
materialization emits, however it is launched (UI, schedule, sensor, ``execute_in_process``,
``dg.materialize`` over the definitions' assets as ``lakehouse demo`` does)."""

import dagster as dg

from lakehouse.contracts import load_contracts
from lakehouse.definitions import defs as build_definitions


def test_every_asset_of_the_definitions_emits_lineage(local_services):
    definitions = build_definitions()
    everything = [*(definitions.assets or []), *(definitions.asset_checks or [])]
    assets = [a for a in everything if isinstance(a, dg.AssetsDefinition)]
    lakehouse_keys = {
        key for a in assets for key in a.keys if key.path[0] in ("bronze", "quarantine", "silver", "gold")
    }
    assert len(lakehouse_keys) == 20
    for asset in assets:
        hooks = {hook.name for hook in asset.hook_defs}
        name = asset.node_def.name
        if set(asset.keys) & lakehouse_keys:
            assert {f"{name}_openlineage_complete", f"{name}_openlineage_fail"} <= hooks, name
        elif asset.check_keys and not asset.keys:  # checks in steps of their own (great_expectations)
            assert {f"{name}_openlineage_checks", f"{name}_openlineage_checks_failed"} <= hooks, name
    assert any(a.check_keys and not a.keys for a in assets)
    definitions.validate_loadable(definitions)


def test_silver_and_gold_assets_declare_their_column_lineage(local_services):
    graph = build_definitions().resolve_asset_graph()
    contracts = load_contracts()
    for name, contract in contracts.items():
        node = graph.get(dg.AssetKey([contract.layer, contract.table]))
        lineage = node.metadata.get("dagster/column_lineage")
        if not contract.column_lineage:
            assert lineage is None, name
            continue
        assert set(lineage.deps_by_column) == set(contract.column_lineage), name
        for column, deps in lineage.deps_by_column.items():
            declared = contract.column_lineage[column].inputs
            assert sorted((tuple(d.asset_key.path), d.column_name) for d in deps) == sorted(
                ((ref.layer, ref.table), ref.column) for ref in declared
            )
    # bronze has none (its lineage is the source table); every silver and gold table but dim_date has some
    assert sorted(n for n, c in contracts.items() if c.column_lineage) == sorted(
        n for n in contracts if n.split(".")[0] in ("silver", "gold") and n != "gold.dim_date"
    )
