"""The fault tests' generated data, and reading a table's content as ground truth is compared: every row, as
a multiset."""

import json
from collections import Counter

from deltalake import DeltaTable

from lakehouse.generator import GeneratorConfig

# Small, and dirty enough that every defect target of the generator occurs (the bad-input test asserts it;
# below scale factor 0.01 the products are too few to carry all five of theirs).
CATALOGUE = GeneratorConfig(scale_factor=0.01, days=2, dirt=0.4, seed=3)
# Columns a run stamps with its own time and id: equal content means equal in every other column.
RUN_STAMPS = frozenset({"ingest_timestamp", "_batch_id"})


def table_rows(uri: str, *, ignore: frozenset[str] = RUN_STAMPS) -> Counter:
    """Every row of the Delta table at ``uri`` (none when there is no table), without the ``ignore`` columns;
    nested values (e.g. quarantine reasons) as JSON so rows can be counted."""
    if not DeltaTable.is_deltatable(uri):
        return Counter()
    data = DeltaTable(uri).to_pyarrow_table()
    columns = sorted(c for c in data.column_names if c not in ignore)
    return Counter(
        tuple(json.dumps(v, default=str) if isinstance(v, list | dict) else v for v in row)
        for row in zip(*(data.column(c).to_pylist() for c in columns))
    )
