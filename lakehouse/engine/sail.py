"""One embedded Sail Spark Connect server per process, started on first use, stopped at exit; and what a
session on it needs to end cleanly. Everything here is for Sail; ``lakehouse.engine.compat`` holds the rest of
the engine-shaped code."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from pathlib import Path

CHECKPOINT_PATH_ENV = "SAIL_EXECUTION__CHECKPOINT__PATH"
MEMORY_POOL_TYPE_ENV = "SAIL_RUNTIME__MEMORY_POOL__TYPE"
MEMORY_POOL_SIZE_ENV = "SAIL_RUNTIME__MEMORY_POOL__FAIR__MAX_SIZE"
RUST_LOG_DEFAULT = "warn,sail_plan=error,sail_common::actor=error"
_lock = threading.Lock()
_server = None


def embedded_sail_url(memory_limit_bytes: int | None = None) -> str:
    """Start (once per process) an in-process Sail server on a free loopback port and return its URL.

    ``memory_limit_bytes`` bounds the server's memory pool (Sail's ``fair`` pool): beyond it, the operators
    that can spill (sorts, aggregations, the Delta writer's sort by partition) spill to temporary files
    instead of growing the process. Unbounded (Sail's default), one SF 10 day of events written to Delta
    peaked at 4.2 GB; with a 1 GiB pool at 1.5 GB, and in less CPU time. The first call of a process decides;
    ``SAIL_RUNTIME__MEMORY_POOL__*`` set in the environment win."""
    global _server
    with _lock:
        if _server is None or not _server.running:
            # Sail logs every session at INFO through the Rust logger (env_logger, RUST_LOG); keep it to
            # warnings unless asked, and drop two notes that are not news here: the planner's that join hints
            # are a no-op (they matter on a Spark cluster), and the actor system's "aborting N task(s) for
            # SessionManagerActor" when the server stops. Every request to a session schedules a check for
            # the session going idle (spark.session_timeout_secs, 15 minutes later); at exit those checks are
            # still waiting and are dropped, which is all that line reports.
            os.environ.setdefault("RUST_LOG", RUST_LOG_DEFAULT)
            from pysail.spark import SparkConnectServer

            # DataFrame.localCheckpoint() needs a directory for the server's checkpoints, read from the
            # environment when the server starts. One per process, removed at exit (Sail removes each
            # session's part on shutdown); not left in the environment for child processes to share.
            settings = {}
            if CHECKPOINT_PATH_ENV not in os.environ:
                checkpoints = Path(tempfile.mkdtemp(prefix="lakehouse-sail-checkpoints-"))
                atexit.register(shutil.rmtree, checkpoints, ignore_errors=True)
                settings[CHECKPOINT_PATH_ENV] = checkpoints.as_uri()
            if memory_limit_bytes is not None and MEMORY_POOL_TYPE_ENV not in os.environ:
                settings |= {MEMORY_POOL_TYPE_ENV: "fair", MEMORY_POOL_SIZE_ENV: str(memory_limit_bytes)}
            os.environ.update(settings)
            try:
                server = SparkConnectServer("127.0.0.1", 0)
                server.start(background=True)
            finally:
                for name in settings:
                    del os.environ[name]
            atexit.register(_stop, server)
            _server = server
        host, port = _server.listening_address
    return f"sc://{host}:{port}"


def _stop(server) -> None:
    if server.running:
        server.stop()


def close_before_server_stops(session) -> None:
    """Set up ``session`` (a Spark Connect session on the embedded server) to end cleanly at exit: the client
    is closed at exit, before the embedded server stops (registered after the server's own stop, so it runs
    before it). A DataFrame kept with ``localCheckpoint()`` asks the server to drop its data when it is
    garbage-collected, which for one still referenced at exit happens after the server has stopped; pyspark
    would then retry that request with back-off for minutes. A closed client skips it (the server drops a
    session's checkpoints itself).

    Apache Spark counterpart: nothing to do; a remote server outlives the client process, so remote sessions
    (any ``sc://`` URL) skip this.
    """
    skip_ml_cache_cleanup(session)
    atexit.register(_close_client, session)


def skip_ml_cache_cleanup(session) -> None:
    """pyspark's Connect client asks the server at exit to clear its ML model cache; Sail (embedded or a
    cluster) has no ML commands and answers with an error that the client logs at exit. The lakehouse uses no
    Spark ML, so nothing is cached and the request is dropped, on any engine.

    Apache Spark counterpart: the request would succeed and clear an empty cache; skipping it changes nothing.
    """
    client = getattr(session, "client", None)
    cleanup = getattr(client, "_cleanup_ml_cache", None)
    if cleanup is not None:
        atexit.unregister(cleanup)


def _close_client(session) -> None:
    client = getattr(session, "client", None)
    if client is not None and not client.is_closed:
        client.close()
