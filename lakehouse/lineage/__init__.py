"""OpenLineage lineage for every asset materialization (see docs/lineage.md).

* ``with_lineage(assets)``: the assets with hooks that emit START and COMPLETE or FAIL per asset
  materialization, and ``dagster/column_lineage`` metadata from the contracts.
* ``lineage_client()``: the OpenLineage client for the standard configuration, defaulting to a file under
  ``$LAKEHOUSE_HOME/lineage/``.
* ``naming``: dataset names by the OpenLineage naming spec; ``events``: the events themselves.
"""

from lakehouse.lineage.client import DEFAULT_NAMESPACE, default_events_file, lineage_client, lineage_namespace
from lakehouse.lineage.column_lineage import column_lineage_facet, dagster_column_lineage
from lakehouse.lineage.events import AssetLineage, StepOutcome, step_run_events
from lakehouse.lineage.hooks import with_lineage
from lakehouse.lineage.naming import DatasetName, redshift_dataset, snowflake_dataset, table_dataset

__all__ = [
    "DEFAULT_NAMESPACE",
    "AssetLineage",
    "DatasetName",
    "StepOutcome",
    "column_lineage_facet",
    "dagster_column_lineage",
    "default_events_file",
    "lineage_client",
    "lineage_namespace",
    "redshift_dataset",
    "snowflake_dataset",
    "step_run_events",
    "table_dataset",
    "with_lineage",
]
