"""The generator's outputs: per-day commit batches, the defect manifest and the ground truth.

A source commits its changes day by day. ``CommitBatch`` is what one day's commit holds for every
source table: mostly rows whose change column falls in that day, some late rows from the two days
before, a few exact duplicates and the injected invalid rows. Loading batches in order reproduces the
source as it was at the end of each day.

Every row is tagged with its kind (not loaded, kept beside the rows): ``valid`` rows are the ground
truth a correct pipeline must end up with; ``duplicate`` rows are exact second copies of valid rows;
``invalid`` rows are listed in the manifest and must be quarantined.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import Enum

import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.generator.config import GeneratorConfig
from lakehouse.generator.manifest import Defect
from lakehouse.generator.specs import CUSTOMERS, SourceSystem, TableSpec, table_spec


class GenerationMismatchError(ValueError):
    """The target already holds source data of another generation (other seed, scale or start)."""

# Called with a short message and counts (e.g. rows per table) so a CLI can show progress.
Progress = Callable[[str, Mapping[str, int]], None]

COMMIT_DATE_COLUMN = "_commit_date"
ROW_KIND_COLUMN = "_row_kind"


class RowKind(str, Enum):
    VALID = "valid"
    DUPLICATE = "duplicate"
    INVALID = "invalid"


ROW_KINDS = tuple(kind.value for kind in RowKind)


def row_kind_array(kind: RowKind, size: int) -> pa.DictionaryArray:
    indices = pa.repeat(pa.scalar(ROW_KINDS.index(kind.value), pa.int8()), size)
    return pa.DictionaryArray.from_arrays(indices, pa.array(ROW_KINDS))


def _name(table: str | TableSpec) -> str:
    return table.qualified_name if isinstance(table, TableSpec) else table_spec(table).qualified_name


@dataclass(frozen=True)
class CommitBatch:
    """Everything the sources commit on ``commit_date``, per table (keyed by qualified name).

    ``tables`` hold exactly the source columns, ready to load; ``row_kinds`` the parallel kind tags;
    ``generation`` the fingerprint of the config that produced them.
    """

    commit_date: date
    tables: Mapping[str, pa.Table]
    row_kinds: Mapping[str, pa.DictionaryArray]
    generation: str

    def rows(self, table: str | TableSpec) -> pa.Table:
        return self.tables[_name(table)]

    def for_system(self, system: SourceSystem) -> dict[str, pa.Table]:
        return {name: rows for name, rows in self.tables.items() if table_spec(name).system == system}

    def counts(self) -> dict[str, int]:
        return {name: rows.num_rows for name, rows in self.tables.items()}


@dataclass(frozen=True)
class GeneratedData:
    """Batches for ``config.days`` consecutive days, the manifest of their invalid rows, the config."""

    config: GeneratorConfig
    batches: tuple[CommitBatch, ...]
    defects: tuple[Defect, ...] = field(default=())

    def batch(self, commit_date: date) -> CommitBatch:
        for batch in self.batches:
            if batch.commit_date == commit_date:
                return batch
        raise KeyError(f"no batch committed on {commit_date}")

    def batches_through(self, last: date) -> tuple[CommitBatch, ...]:
        """The batches committed up to and including ``last``: what a source holds at its end."""
        return tuple(batch for batch in self.batches if batch.commit_date <= last)

    def rows(self, table: str | TableSpec, kinds: Collection[RowKind] = tuple(RowKind)) -> pa.Table:
        """All rows of a table across batches, with ``_commit_date`` and ``_row_kind`` columns."""
        name = _name(table)
        wanted = pa.array([RowKind(kind).value for kind in kinds])
        parts = []
        for batch in self.batches:
            rows = batch.tables[name]
            tagged = rows.append_column(
                COMMIT_DATE_COLUMN, pa.repeat(pa.scalar(batch.commit_date, pa.date32()), rows.num_rows)
            ).append_column(ROW_KIND_COLUMN, batch.row_kinds[name].cast(pa.string()))
            parts.append(tagged.filter(pc.is_in(tagged.column(ROW_KIND_COLUMN), value_set=wanted)))
        return pa.concat_tables(parts)

    def valid_rows(self, table: str | TableSpec) -> pa.Table:
        """The ground truth of a table: its valid rows, each once, with their commit dates."""
        return self.rows(table, kinds=(RowKind.VALID,))

    def customer_history(self) -> pa.Table:
        """Every valid customer version ordered by ``CUSTOMER_ID, UPDATED_AT``: what SCD2 must rebuild.

        The current version of a customer is its last row; ``IS_DELETED = TRUE`` closes the customer.
        """
        return self.valid_rows(CUSTOMERS).sort_by([("CUSTOMER_ID", "ascending"), ("UPDATED_AT", "ascending")])


@dataclass(frozen=True)
class LoadedBatch:
    table: str
    commit_date: date
    rows: int


@dataclass(frozen=True)
class LoadReport:
    """What a loader did: batches it loaded, batches it found already loaded, and how long it took."""

    target: str
    loaded: tuple[LoadedBatch, ...]
    skipped: tuple[LoadedBatch, ...]
    seconds: float

    @property
    def rows_loaded(self) -> int:
        return sum(batch.rows for batch in self.loaded)
