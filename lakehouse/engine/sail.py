"""One embedded Sail Spark Connect server per process, started on first use, stopped at exit."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from pathlib import Path

CHECKPOINT_PATH_ENV = "SAIL_EXECUTION__CHECKPOINT__PATH"
_lock = threading.Lock()
_server = None


def embedded_sail_url() -> str:
    """Start (once per process) an in-process Sail server on a free loopback port and return its URL."""
    global _server
    with _lock:
        if _server is None or not _server.running:
            # Sail logs every session at INFO through the Rust logger; keep it to warnings unless asked, and
            # drop the planner's note that join hints are a no-op (they matter on a Spark cluster, not here).
            os.environ.setdefault("RUST_LOG", "warn,sail_plan=error")
            from pysail.spark import SparkConnectServer

            # DataFrame.localCheckpoint() needs a directory for the server's checkpoints, read from the
            # environment when the server starts. One per process, removed at exit (Sail removes each
            # session's part on shutdown); not left in the environment for child processes to share.
            checkpoints = None
            if CHECKPOINT_PATH_ENV not in os.environ:
                checkpoints = Path(tempfile.mkdtemp(prefix="lakehouse-sail-checkpoints-"))
                atexit.register(shutil.rmtree, checkpoints, ignore_errors=True)
                os.environ[CHECKPOINT_PATH_ENV] = checkpoints.as_uri()
            try:
                server = SparkConnectServer("127.0.0.1", 0)
                server.start(background=True)
            finally:
                if checkpoints is not None:
                    del os.environ[CHECKPOINT_PATH_ENV]
            atexit.register(_stop, server)
            _server = server
        host, port = _server.listening_address
    return f"sc://{host}:{port}"


def _stop(server) -> None:
    if server.running:
        server.stop()
