"""One embedded Sail Spark Connect server per process, started on first use, stopped at exit."""

from __future__ import annotations

import atexit
import os
import threading

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

            server = SparkConnectServer("127.0.0.1", 0)
            server.start(background=True)
            atexit.register(_stop, server)
            _server = server
        host, port = _server.listening_address
    return f"sc://{host}:{port}"


def _stop(server) -> None:
    if server.running:
        server.stop()
