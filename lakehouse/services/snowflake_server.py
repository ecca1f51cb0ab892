"""Entry point of the local Snowflake: a fakesnow server whose sessions all share one persistent database.

Run as ``python -m lakehouse.services.snowflake_server --db-path DIR --port P``.

Why not ``fakesnow -s``: fakesnow's server gives every login the module-global in-memory ``shared_fs``,
and only a login carrying the ``FAKESNOW_DB_PATH`` session parameter gets files on disk, through a new
``FakeSnow`` per session, i.e. several DuckDB handles on one file. Replacing ``shared_fs`` with one
``FakeSnow(db_path=DIR)`` before serving makes every session share one handle, persisted as
``DIR/<DATABASE>.db``.

One correction to fakesnow 0.12.1 is applied before serving: it sends a NULL timestamp as
``1970-01-01 00:00:00`` (``keep_null_timestamps``), where Snowflake sends NULL.
"""

from __future__ import annotations

import argparse
import signal
from collections.abc import Sequence
from pathlib import Path

from lakehouse.development_kit import missing as missing_development_kit

DEFAULT_DATABASES = ("RETAIL",)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db-path", type=Path, required=True, help="directory of the DuckDB files")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--database",
        action="append",
        dest="databases",
        help="database to create at start (repeatable; default RETAIL)",
    )
    return parser.parse_args(argv)


def keep_null_timestamps() -> None:
    """Make fakesnow send NULL timestamps as NULL, for the rest of this process (see ``with_nulls``)."""
    import fakesnow.arrow

    if not getattr(fakesnow.arrow.timestamp_to_sf_struct, "keeps_nulls", False):
        fakesnow.arrow.timestamp_to_sf_struct = with_nulls(fakesnow.arrow.timestamp_to_sf_struct)


def with_nulls(encode):
    """fakesnow's timestamp encoder, giving the struct the column's validity.

    fakesnow 0.12.1 encodes a timestamp column as Snowflake's ``{epoch, fraction}`` struct built from the
    values alone (``fakesnow.arrow.timestamp_to_sf_struct``), so a NULL arrives at the connector as epoch 0,
    ``1970-01-01 00:00:00``: a NULL change column would look like a row of 1970.
    """
    import pyarrow as pa

    def encode_with_nulls(ts: pa.Array | pa.ChunkedArray) -> pa.Array:
        struct = encode(ts)
        values = ts.combine_chunks() if isinstance(ts, pa.ChunkedArray) else ts
        if values.null_count == 0:
            return struct
        return pa.StructArray.from_arrays(struct.flatten(), fields=list(struct.type), mask=values.is_null())

    encode_with_nulls.keeps_nulls = True  # type: ignore[attr-defined]
    return encode_with_nulls


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    # imported here, not at module level: importing this module must not load the server stack
    try:
        import fakesnow.server
        import uvicorn
        from fakesnow.instance import FakeSnow
    except ModuleNotFoundError as error:  # the development kit, lakehouse[local]
        raise SystemExit(f"error: {missing_development_kit('the local services', error)}") from None

    keep_null_timestamps()

    db_path: Path = args.db_path.resolve()
    db_path.mkdir(parents=True, exist_ok=True)
    fake_snow = FakeSnow(db_path=db_path)
    # Attach every database up front: files written while the server was paused (bulk loads) and the
    # default ones. fakesnow attaches a database only when a login names it, so without this a session
    # that logs in without a database could not see RETAIL. Each gets a PUBLIC schema, as in Snowflake.
    existing = {file.stem.upper() for file in db_path.glob("*.db")}
    for database in sorted(existing | set(args.databases or DEFAULT_DATABASES)):
        fake_snow.connect(database, "PUBLIC").close()
    fakesnow.server.shared_fs = fake_snow
    # uvicorn handles SIGTERM by shutting down gracefully and then re-raising the signal to the handler it
    # found; with the default handler the process would die before the ``finally`` below closes DuckDB.
    signal.signal(signal.SIGTERM, _exit_quietly)
    try:
        uvicorn.run(
            fakesnow.server.app,
            host=args.host,
            port=args.port,
            log_level="info",
            access_log=False,
            timeout_graceful_shutdown=5,
        )
    finally:
        # checkpoint and release the DuckDB files before the process ends, so a bulk loader can open them
        fake_snow.duck_conn.close()


def _exit_quietly(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


if __name__ == "__main__":
    main()
