"""The local Spark cluster: a detached Sail Spark Connect server in ``local-cluster`` mode.

A driver and two workers that schedule and exchange data over gRPC as on a real cluster, so plans that
only break when stages move between driver and workers fail here too (docs/engines.md). pysail 0.7.2 runs
the driver and workers as actors in the server's own process, each listening on its own port; stopping
the server stops them, and any worker process a later Sail launches is stopped with it.

Files under ``<services>/spark/``: ``checkpoints/`` (where ``DataFrame.localCheckpoint()`` keeps its data:
storage the driver and every worker reach) and ``sail.log`` (the server's output, appended across restarts).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

import psutil

from lakehouse.services.process import RunningService, command_line, find_server, start_detached, stop_process
from lakehouse.services.state import ServiceRecord

SERVER_COMMAND = ("-m", "pysail", "spark", "server")
WORKER_COUNT = 2

MODE_ENV_VAR = "SAIL_MODE"
CHECKPOINT_PATH_ENV_VAR = "SAIL_EXECUTION__CHECKPOINT__PATH"
WORKER_INITIAL_COUNT_ENV_VAR = "SAIL_CLUSTER__WORKER_INITIAL_COUNT"
WORKER_MAX_COUNT_ENV_VAR = "SAIL_CLUSTER__WORKER_MAX_COUNT"
LOG_LEVEL_ENV_VAR = "RUST_LOG"

START_TIMEOUT_SECONDS = 60.0


def sail_cluster_environment(caller: Mapping[str, str], checkpoint_dir: Path) -> dict[str, str]:
    """The server's environment: the caller's, with the settings that make Sail a local cluster.

    The caller's variables are all passed on, the standard AWS ones (``AWS_ENDPOINT_URL``,
    ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION``, ``AWS_ALLOW_HTTP``, ...) among them:
    the engine server reads and writes the lake itself, so an ``s3://`` lake needs them on the server, not
    only in the client. The worker count and log level are defaults a caller's own setting overrides.
    """
    environment = dict(caller)
    environment[MODE_ENV_VAR] = "local-cluster"
    environment[CHECKPOINT_PATH_ENV_VAR] = checkpoint_dir.as_uri()
    environment.setdefault(WORKER_INITIAL_COUNT_ENV_VAR, str(WORKER_COUNT))
    environment.setdefault(WORKER_MAX_COUNT_ENV_VAR, environment[WORKER_INITIAL_COUNT_ENV_VAR])
    # Sail logs every session and worker at INFO through the Rust logger
    environment.setdefault(LOG_LEVEL_ENV_VAR, "warn")
    return environment


class SailClusterService:
    """Starts, finds and stops the Sail cluster of one ``$LAKEHOUSE_HOME``."""

    name = "spark"
    engine = "sail"

    def __init__(self, services_dir: Path) -> None:
        self.root = services_dir / self.name
        self.data_path = self.root / "checkpoints"
        self.log_path = self.root / "sail.log"

    def find_running(self, record: ServiceRecord) -> RunningService | None:
        """The server process of this home, if one is alive."""
        return find_server(record, self._as_our_server)

    def start(self, host: str, port: int) -> int:
        """Start a detached server on ``host:port`` and return its pid once it accepts connections."""
        self.data_path.mkdir(parents=True, exist_ok=True)
        # --directory names this home in the command line, which is how find_running knows its server
        command = [
            sys.executable,
            *SERVER_COMMAND,
            "--ip",
            host,
            "--port",
            str(port),
            "--directory",
            str(self.root),
        ]
        return start_detached(
            command,
            host=host,
            port=port,
            service=self.name,
            what=f"{self.name} ({self.engine} cluster)",
            cwd=self.root,
            log_path=self.log_path,
            timeout=START_TIMEOUT_SECONDS,
            env=sail_cluster_environment(os.environ, self.data_path),
        )

    def stop(self, pid: int) -> None:
        """Stop the server gracefully (Sail drops its sessions' checkpoints on SIGTERM), then any worker
        process it leaves behind."""
        try:
            workers = psutil.Process(pid).children(recursive=True)
        except psutil.NoSuchProcess:
            workers = []
        stop_process(pid, what=f"{self.name} ({self.engine} cluster)")
        for worker in workers:
            if worker.is_running():
                stop_process(worker.pid, what=f"{self.name}: {self.engine} worker")

    def _as_our_server(self, pid: int) -> RunningService | None:
        command = command_line(pid)
        if command is None or not _is_sail_server(command) or str(self.root) != _option(command, "--directory"):
            return None
        port = _option(command, "--port")
        return RunningService(pid=pid, port=int(port)) if port is not None else None


def _is_sail_server(command: list[str]) -> bool:
    return any(command[i : i + len(SERVER_COMMAND)] == list(SERVER_COMMAND) for i in range(len(command)))


def _option(command: list[str], name: str) -> str | None:
    try:
        return command[command.index(name) + 1]
    except (ValueError, IndexError):
        return None
