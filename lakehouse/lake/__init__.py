"""The lake: where every table lives, and its Delta logs read through delta-rs.

``Lake`` is a Dagster resource (``lake``) that owns the lake root and every delta-rs access; the Delta IO
manager holds one, and assets, checks, sensors, lineage and the operator commands take it as a typed
resource or build one from the settings. Writes of data go through the engine (Spark Connect), not here;
rejecting a write (``rejection``) commits file actions alone, no data, so it is here.
"""

from lakehouse.lake.commits import is_commit_conflict, retry_commit_conflicts
from lakehouse.lake.rejection import Rejection, WriteScope, reject_write
from lakehouse.lake.resource import LAYERS, DataFile, FileStats, Lake, LakeTable, TableNotFound

__all__ = [
    "LAYERS",
    "DataFile",
    "FileStats",
    "Lake",
    "LakeTable",
    "Rejection",
    "TableNotFound",
    "WriteScope",
    "is_commit_conflict",
    "reject_write",
    "retry_commit_conflicts",
]
