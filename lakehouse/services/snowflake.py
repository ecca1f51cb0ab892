"""The local Snowflake: a detached fakesnow server process persisted to DuckDB files.

Files under ``<services>/snowflake/``: ``data/<DATABASE>.db`` (one DuckDB file per Snowflake database)
and ``fakesnow.log`` (the server's output, appended across restarts).
"""

from __future__ import annotations

import sys
from pathlib import Path

from lakehouse.services.process import RunningService, command_line, find_server, start_detached, stop_process
from lakehouse.services.state import ServiceRecord

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
        """The server process of this home, if one is alive (DuckDB would refuse a second one on its files)."""
        return find_server(record, self._as_our_server)

    def start(self, host: str, port: int) -> int:
        """Start a detached server on ``host:port`` and return its pid once it accepts connections."""
        self.data_path.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", SERVER_MODULE, "--db-path", str(self.data_path)]
        command += ["--host", host, "--port", str(port), "--database", DATABASE]
        return start_detached(
            command,
            host=host,
            port=port,
            service=self.name,
            what=f"{self.name} ({self.engine})",
            cwd=self.root,
            log_path=self.log_path,
            timeout=START_TIMEOUT_SECONDS,
        )

    def stop(self, pid: int) -> None:
        """Stop gracefully (fakesnow closes the DuckDB files on SIGTERM), so the files are free afterwards."""
        stop_process(pid, what=f"{self.name} ({self.engine})")

    def _as_our_server(self, pid: int) -> RunningService | None:
        command = command_line(pid)
        if command is None or SERVER_MODULE not in command or str(self.data_path) not in command:
            return None
        port = int(command[command.index("--port") + 1])
        return RunningService(pid=pid, port=port)
