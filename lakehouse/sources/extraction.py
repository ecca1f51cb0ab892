"""How a source's rows reach the landing zone: one pass over the window, in the way the source does best.

Every mode ends the same way: Parquet files under the run's landing prefix (``Lake.landing``), which the
engine reads, and the number of rows they hold. The mode is a setting of the source's resource
(``extraction``; docs/extraction.md):

* ``unload``: the warehouse writes the window to the landing prefix itself, in parallel, and reports how
  many rows it wrote; no row passes through the step's process. Redshift: ``UNLOAD ... FORMAT AS PARQUET``
  with an IAM role (``unload_iam_role``). Snowflake: ``COPY INTO @stage/<path>`` with ``HEADER = TRUE``
  through an external stage whose URL is the lake's landing prefix (``unload_stage``). Both need the lake
  on S3 (the warehouse cannot write to a laptop's disk).
* ``parallel``: the window split into ``parallelism`` time slices, each read on a connection of its own by
  the ADBC PostgreSQL driver (C, binary protocol) and landed as its own Parquet files, the slices at once.
  The local PostgreSQL's mode; on Redshift, which serves no binary protocol, it reads one stream.
* ``stream``: one query whose result arrives as Arrow batches (the Snowflake connector's result chunks, or
  one PostgreSQL cursor). The local fakesnow's mode: it has neither an unload nor a stage.

No mode sorts the window or counts it in a second query: the landed files' footers give the rows landed,
and the bronze checks compare them with the source's own aggregate of the whole table.

The unload statements cannot bind parameters (the query is a string literal inside the statement), so the
window's bounds are written into them as timestamp literals, rendered from ``datetime`` values by
``timestamp_literal``; no other value is ever formatted into SQL.
"""

from __future__ import annotations

import enum
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field

from lakehouse.sources.extract import (
    SourceTable,
    Window,
    redshift_batches,
    serves_native_path,
    snowflake_batches,
    window_query,
)
from lakehouse.sources.landing import LandedFiles, land_batches, landed_files

UNLOAD_MAX_FILE_BYTES = 256 * 1024 * 1024
"""The largest file an unload writes: big enough for a fast engine scan, small enough to split a day
across every worker."""


class ExtractionMode(enum.StrEnum):
    UNLOAD = "unload"
    PARALLEL = "parallel"
    STREAM = "stream"


class ExtractionSettingError(ValueError):
    """The source's extraction settings cannot work (a missing IAM role or stage, a lake not on S3)."""


@dataclass(frozen=True)
class ExtractionSettings:
    """How one source is extracted: the mode, and what the mode needs."""

    mode: ExtractionMode
    parallelism: int = 2
    unload_iam_role: str | None = None
    unload_stage: str | None = None

    def __post_init__(self) -> None:
        if self.parallelism < 1:
            raise ExtractionSettingError(f"extraction parallelism must be 1 or more, got {self.parallelism}")


DEFAULT_MODES = {"snowflake": ExtractionMode.STREAM, "redshift": ExtractionMode.PARALLEL}
DEFAULT_PARALLELISM = 2


def mode_field(default: ExtractionMode) -> Any:
    """The ``extraction`` field of a source resource."""
    return Field(
        default=default.value,
        description="How bronze extracts this source: 'unload' (the warehouse writes Parquet to the lake's "
        "landing prefix), 'parallel' (time slices read at once; PostgreSQL) or 'stream' (one result stream).",
    )


def parallelism_field() -> Any:
    """The ``extraction_parallelism`` field of a source resource."""
    return Field(
        default=DEFAULT_PARALLELISM,
        description="Time slices of a window read at once in the 'parallel' extraction mode.",
    )


def extraction_settings(system: str, resource) -> ExtractionSettings:
    """The settings a source resource carries (``extraction``, ``extraction_parallelism``,
    ``unload_iam_role``, ``unload_stage``), or the system's defaults for a resource without them (a plain
    dagster-snowflake or dagster-aws resource)."""
    mode = getattr(resource, "extraction", None) or DEFAULT_MODES[system]
    try:
        mode = ExtractionMode(mode)
    except ValueError:
        choices = ", ".join(m.value for m in ExtractionMode)
        raise ExtractionSettingError(f"{system} extraction {mode!r} is not one of: {choices}") from None
    if mode is ExtractionMode.PARALLEL and system == "snowflake":
        # the connector already downloads a result's chunks on several threads (client_prefetch_threads)
        raise ExtractionSettingError(
            "snowflake extraction 'parallel' reads PostgreSQL time slices: use 'unload' or 'stream' "
            "(the connector fetches a result's chunks in parallel)"
        )
    parallelism = getattr(resource, "extraction_parallelism", None)
    return ExtractionSettings(
        mode=mode,
        parallelism=DEFAULT_PARALLELISM if parallelism is None else parallelism,
        unload_iam_role=getattr(resource, "unload_iam_role", None),
        unload_stage=getattr(resource, "unload_stage", None),
    )


@dataclass(frozen=True)
class Extracted:
    """What an extraction landed (the files under the landing prefix, from their footers), and the rows
    the source reported writing there (an unload's own count; None for the modes that read the rows)."""

    landed: LandedFiles
    reported_by_source: int | None = None

    @property
    def rows(self) -> int:
        return self.landed.rows

    @property
    def files(self) -> int:
        return len(self.landed.paths)


def extract_window(
    connection,
    table: SourceTable,
    window: Window,
    *,
    landing_uri: str,
    landing_root: str,
    settings: ExtractionSettings,
    batch_rows: int,
) -> Extracted:
    """Land the rows of ``window`` under ``landing_uri`` (a prefix below ``landing_root``, the lake's
    ``_landing``), in the source's mode. ``connection`` is ``source_connection``'s."""
    if settings.mode is ExtractionMode.UNLOAD:
        return _unload(connection, table, window, landing_uri, landing_root, settings)
    if settings.mode is ExtractionMode.PARALLEL and table.system == "redshift":
        return _parallel(connection, table, window, landing_uri, settings.parallelism, batch_rows)
    batches = (
        snowflake_batches(connection, table, window, batch_rows)
        if table.system == "snowflake"
        else redshift_batches(connection, table, window, batch_rows)
    )
    land_batches(batches, landing_uri)
    return Extracted(landed_files(landing_uri))


# ------------------------------------------------------------------------------------------ parallel


def window_slices(window: Window, parts: int) -> list[Window]:
    """``window`` cut into ``parts`` windows of equal duration that together select exactly its rows:
    the first keeps its open start (the history before the first partition), the last its undated rows.
    A window open at the start is sliced over its last day, where the new rows are."""
    if parts <= 1:
        return [window]
    low = window.start if window.start is not None else window.end - timedelta(days=1)
    step = (window.end - low) / parts
    bounds = [low + step * index for index in range(1, parts)]
    starts = [window.start, *bounds]
    ends = [*bounds, window.end]
    return [
        Window(start, end, undated_from=window.undated_from if end == window.end else None)
        for start, end in zip(starts, ends)
    ]


def _parallel(
    connection, table: SourceTable, window: Window, landing_uri: str, parts: int, batch_rows: int
) -> Extracted:
    # Redshift's rows come through the one psycopg2 connection's cursor (``redshift_batches``): one stream
    slices = window_slices(window, parts if serves_native_path(connection) else 1)

    def land(index: int) -> int:
        batches = redshift_batches(connection, table, slices[index], batch_rows)
        return land_batches(batches, landing_uri, file_prefix=f"part-{index:03d}")

    # each slice opens its own native connection (``redshift_batches``), so the slices run at once; the
    # driver and the Parquet writer release the GIL while they work
    with ThreadPoolExecutor(max_workers=len(slices), thread_name_prefix="extract") as pool:
        list(pool.map(land, range(len(slices))))
    return Extracted(landed_files(landing_uri))


# -------------------------------------------------------------------------------------------- unload


def timestamp_literal(system: str, moment: datetime) -> str:
    """A naive UTC moment as a SQL literal of the source's timestamp-without-time-zone type."""
    if moment.tzinfo is not None:
        raise ValueError(f"{moment!r}: window bounds are naive UTC")
    text = moment.strftime("%Y-%m-%d %H:%M:%S.%f")
    return f"'{text}'::TIMESTAMP_NTZ" if system == "snowflake" else f"'{text}'::TIMESTAMP"


def literal_window_query(table: SourceTable, window: Window) -> str:
    """``window_query`` with the window's bounds written in as literals."""
    values = {"start": window.start, "end": window.end, "undated_from": window.undated_from}
    return window_query(table, window, lambda name: timestamp_literal(table.system, values[name]))


def redshift_unload_statement(table: SourceTable, window: Window, landing_uri: str, iam_role: str) -> str:
    """Redshift's ``UNLOAD`` of the window to ``landing_uri`` as Parquet, one file per slice at least."""
    _require_s3(landing_uri, "Redshift UNLOAD")
    query = literal_window_query(table, window).replace("'", "''")
    return (
        f"UNLOAD ('{query}') TO {_string(landing_uri.rstrip('/') + '/part_')} "
        f"IAM_ROLE {_string(iam_role)} FORMAT AS PARQUET MAXFILESIZE {UNLOAD_MAX_FILE_BYTES // 2**20} MB"
    )


def snowflake_unload_statement(table: SourceTable, window: Window, landing_uri: str, landing_root: str, stage: str) -> str:
    """Snowflake's ``COPY INTO @stage/<path>/`` of the window as Parquet with the columns' names
    (``HEADER = TRUE``), where the stage's URL is ``landing_root``."""
    _require_s3(landing_uri, "Snowflake COPY INTO a stage")
    root = landing_root.rstrip("/") + "/"
    if not landing_uri.startswith(root):
        raise ValueError(f"{landing_uri} is not below the landing root {root}")
    stage_name = stage if stage.startswith("@") else f"@{stage}"
    path = landing_uri[len(root) :].strip("/")
    return (
        f"COPY INTO {stage_name}/{path}/ FROM ({literal_window_query(table, window)}) "
        f"FILE_FORMAT = (TYPE = PARQUET) HEADER = TRUE MAX_FILE_SIZE = {UNLOAD_MAX_FILE_BYTES}"
    )


def _unload(
    connection, table: SourceTable, window: Window, landing_uri: str, landing_root: str, settings: ExtractionSettings
) -> Extracted:
    with connection.cursor() as cursor:
        if table.system == "redshift":
            if not settings.unload_iam_role:
                raise ExtractionSettingError(
                    "Redshift extraction 'unload' needs an IAM role Redshift can write the lake with: "
                    "set LAKEHOUSE_REDSHIFT_UNLOAD_IAM_ROLE"
                )
            cursor.execute(redshift_unload_statement(table, window, landing_uri, settings.unload_iam_role))
            cursor.execute("SELECT pg_last_unload_count()")
            reported = int(cursor.fetchone()[0])
        else:
            if not settings.unload_stage:
                raise ExtractionSettingError(
                    "Snowflake extraction 'unload' needs an external stage on the lake's _landing/ prefix: "
                    "set LAKEHOUSE_SNOWFLAKE_UNLOAD_STAGE"
                )
            cursor.execute(snowflake_unload_statement(table, window, landing_uri, landing_root, settings.unload_stage))
            reported = sum(int(row[0]) for row in cursor.fetchall())  # rows_unloaded, per statement
    return Extracted(landed_files(landing_uri), reported_by_source=reported)


def _require_s3(uri: str, what: str) -> None:
    if not uri.startswith("s3://"):
        raise ExtractionSettingError(f"{what} writes to S3, but the lake's landing zone is {uri}: put the lake on S3")


def _string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
