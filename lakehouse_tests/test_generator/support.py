"""Generator settings shared by the generator tests, and a throwaway fakesnow server for the loaders."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from lakehouse.generator import GeneratorConfig

SMALL = GeneratorConfig(scale_factor=0.01, days=3, seed=7, dirt=0.0)
# A high dirt rate so that every defect target of every table shows up even at this tiny scale.
DIRTY = GeneratorConfig(scale_factor=0.01, days=3, seed=7, dirt=0.4)


@contextlib.contextmanager
def fakesnow_server(db_dir: Path) -> Iterator[dict]:
    """Serve ``db_dir`` the way the local Snowflake service does (a shared ``FakeSnow`` over the files),
    in a thread on a free loopback port; yields ``snowflake.connector.connect`` arguments."""
    import fakesnow.arrow
    import fakesnow.server
    import uvicorn
    from fakesnow.instance import FakeSnow

    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    fake = FakeSnow(db_path=db_dir)
    config = uvicorn.Config(fakesnow.server.app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    started = threading.Event()
    serve = server.startup

    async def startup(*args, **kwargs):  # signal readiness instead of polling for it
        await serve(*args, **kwargs)
        started.set()

    server.startup = startup
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fakesnow.server, "shared_fs", fake)
        patch.setattr(
            fakesnow.arrow, "timestamp_to_sf_struct", _keeping_nulls(fakesnow.arrow.timestamp_to_sf_struct)
        )
        thread = threading.Thread(target=server.run, name="fakesnow test server", daemon=True)
        thread.start()
        try:
            if not started.wait(timeout=30):
                raise RuntimeError("fakesnow server did not start")
            yield {
                "user": "fake",
                "password": "snow",
                "account": "fakesnow",
                "host": "127.0.0.1",
                "port": port,
                "protocol": "http",
                "database": "RETAIL",
                "session_parameters": {"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False},
                "network_timeout": 5,
            }
        finally:
            server.should_exit = True
            thread.join()
            fake.duck_conn.close()


def _keeping_nulls(
    to_struct: Callable[[pa.Array], pa.Array],
) -> Callable[[pa.Array | pa.ChunkedArray], pa.Array]:
    """fakesnow's (0.12) Snowflake timestamp struct with a validity mask. It builds the struct without one,
    and served from a thread of the test process a NULL timestamp then reaches the connector as 1970-01-01
    00:00:00, while the local Snowflake service (a process of its own) delivers NULL. The sources hold NULL
    change columns on purpose, so this server must deliver them as the service does."""

    def convert(ts: pa.Array | pa.ChunkedArray) -> pa.Array:
        ts = ts.combine_chunks() if isinstance(ts, pa.ChunkedArray) else ts
        struct = to_struct(ts)
        return pa.StructArray.from_arrays(struct.flatten(), fields=list(struct.type), mask=pc.is_null(ts))

    return convert
