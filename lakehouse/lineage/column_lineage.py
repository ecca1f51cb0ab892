"""Column lineage declared in the silver and gold contracts, as OpenLineage and Dagster see it.

A contract column's ``lineage`` names the upstream columns (``<layer>/<table>.<column>``) and how the value
comes from them; this module turns that into OpenLineage's ``ColumnLineageDatasetFacet`` (every input a
DIRECT transformation of the declared subtype; ``masking`` marks a salted hash of PII) and into Dagster's
``dagster/column_lineage`` metadata (a ``TableColumnLineage``).
"""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg
from openlineage.client.generated.column_lineage_dataset import (
    ColumnLineageDatasetFacet,
    Fields,
    InputField,
    Transformation,
)

from lakehouse.contracts import ColumnRef, Contract, LineageTransformation
from lakehouse.lineage.naming import DatasetName

COLUMN_LINEAGE_METADATA_KEY = "dagster/column_lineage"

_SUBTYPES = {
    LineageTransformation.IDENTITY: "IDENTITY",
    LineageTransformation.TRANSFORMATION: "TRANSFORMATION",
    LineageTransformation.AGGREGATION: "AGGREGATION",
    LineageTransformation.MASKING: "TRANSFORMATION",
}


def column_lineage_facet(
    contract: Contract, dataset_of: Callable[[ColumnRef], DatasetName], producer: str
) -> ColumnLineageDatasetFacet | None:
    """The facet for a contract's declared lineage (``None`` when it declares none); ``dataset_of``
    names the dataset of a referenced table."""
    declared = contract.column_lineage
    if not declared:
        return None
    fields = {}
    for column, lineage in declared.items():
        transformation = Transformation(
            type="DIRECT",
            subtype=_SUBTYPES[lineage.transformation],
            masking=lineage.transformation is LineageTransformation.MASKING,
        )
        inputs = []
        for ref in lineage.inputs:
            dataset = dataset_of(ref)
            inputs.append(
                InputField(
                    namespace=dataset.namespace,
                    name=dataset.name,
                    field=ref.column,
                    transformations=[transformation],
                )
            )
        fields[column] = Fields(inputFields=inputs)
    return ColumnLineageDatasetFacet(fields=fields, producer=producer)


def dagster_column_lineage(contract: Contract) -> dg.TableColumnLineage | None:
    """The contract's declared lineage as Dagster's ``dagster/column_lineage`` value."""
    declared = contract.column_lineage
    if not declared:
        return None
    return dg.TableColumnLineage(
        deps_by_column={
            column: [
                dg.TableColumnDep(asset_key=dg.AssetKey([ref.layer, ref.table]), column_name=ref.column)
                for ref in lineage.inputs
            ]
            for column, lineage in declared.items()
        }
    )
