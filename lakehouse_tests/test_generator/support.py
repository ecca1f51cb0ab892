"""Generator settings shared by the generator tests, and a throwaway fakesnow server for the loaders."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakehouse.generator import GeneratorConfig
from lakehouse.services.snowflake_server import with_nulls

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
        # as the local service does: NULL timestamps delivered as NULL
        patch.setattr(
            fakesnow.arrow, "timestamp_to_sf_struct", with_nulls(fakesnow.arrow.timestamp_to_sf_struct)
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
