"""The local Snowflake: a detached fakesnow server process persisted to DuckDB files.

Files under ``<services>/snowflake/``: ``data/<DATABASE>.db`` (one DuckDB file per Snowflake database)
and ``fakesnow.log`` (the server's output, appended across restarts).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psutil

from lakehouse.services.process import RunningService, stop_process, wait_until_ready
from lakehouse.services.state import ServiceRecord, port_accepts_connections, port_is_free
from lakehouse.services.status import ServiceError

SERVER_MODULE = "lakehouse.services.snowflake_server"

# fakesnow accepts any credentials; these only have to be present because the connector requires them
ACCOUNT = "fakesnow"
USER = "lakehouse"
PASSWORD = "lakehouse"
DATABASE = "RETAIL"

START_TIMEOUT_SECONDS = 60.0


class FakesnowService:
    """Starts, finds and stops the fakesnow server of one ``$LAKEHOUSE_HOME``."""

    name = "snowflake"
    engine = "fakesnow"

    def __init__(self, services_dir: Path) -> None:
        self.root = services_dir / self.name
        self.data_path = self.root / "data"
        self.log_path = self.root / "fakesnow.log"

    def find_running(self, record: ServiceRecord) -> RunningService | None:
        """The server process of this home, if one is alive.

        The recorded pid is tried first; if it is gone or now belongs to another program, the process
        table is searched, so a server whose state file was lost is still found (and not started twice
        on the same DuckDB files, which DuckDB would refuse).
        """
        if record.pid is not None:
            found = self._as_our_server(record.pid)
            if found:
                return found
        for process in psutil.process_iter():
            found = self._as_our_server(process.pid)
            if found:
                return found
        return None

    def start(self, host: str, port: int) -> int:
        """Start a detached server on ``host:port`` and return its pid once it accepts connections."""
        if not port_is_free(host, port):
            raise ServiceError(f"{self.name}: port {port} on {host} is already in use by another process")
        self.data_path.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            SERVER_MODULE,
            "--db-path",
            str(self.data_path),
            "--host",
            host,
            "--port",
            str(port),
            "--database",
            DATABASE,
        ]
        with self.log_path.open("ab") as log:
            # a new session, so the server outlives this process and its terminal's Ctrl-C
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                start_new_session=True,
            )
        wait_until_ready(
            lambda: port_accepts_connections(host, port),
            process,
            what=f"{self.name} ({self.engine} on {host}:{port})",
            log_path=self.log_path,
            timeout=START_TIMEOUT_SECONDS,
        )
        return process.pid

    def stop(self, pid: int) -> None:
        """Stop gracefully (fakesnow closes the DuckDB files on SIGTERM), so the files are free afterwards."""
        stop_process(pid, what=f"{self.name} ({self.engine})")

    def _as_our_server(self, pid: int) -> RunningService | None:
        try:
            process = psutil.Process(pid)
            if process.status() == psutil.STATUS_ZOMBIE:
                return None
            command = process.cmdline()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return None
        if SERVER_MODULE not in command or str(self.data_path) not in command:
            return None
        port = int(command[command.index("--port") + 1])
        return RunningService(pid=pid, port=port)
