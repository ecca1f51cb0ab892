"""Where the local services keep their files, and the small JSON file that remembers ports and pids.

The state file outlives the process that started the services, so a later ``lakehouse services up``,
``dagster dev`` in another shell, or a resource connecting from a step or a sensor can find them again. It
is a hint, not the truth: every reader checks that the recorded pid is still the expected process before
trusting it.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import fasteners

from lakehouse.services.status import ServiceError

LOOPBACK = "127.0.0.1"
SERVICES_DIR = "services"
STATE_FILE = "state.json"


@dataclass
class ServiceRecord:
    """What is remembered about one service between processes."""

    port: int | None = None
    pid: int | None = None
    # pid of the process that paused the service for a bulk load; None when not paused
    paused_by: int | None = None


@dataclass
class ServicesState:
    """Contents of ``$LAKEHOUSE_HOME/services/state.json``."""

    host: str = LOOPBACK
    services: dict[str, ServiceRecord] = field(default_factory=dict)

    def record(self, name: str) -> ServiceRecord:
        return self.services.setdefault(name, ServiceRecord())


class StateStore:
    """Reads and writes the state file under one services directory, with an inter-process lock."""

    def __init__(self, services_dir: Path) -> None:
        self.services_dir = services_dir
        self.path = services_dir / STATE_FILE
        self._lock_path = services_dir / ".lock"

    def load(self) -> ServicesState:
        if not self.path.exists():
            return ServicesState()
        try:
            raw = json.loads(self.path.read_text())
            services = {name: ServiceRecord(**record) for name, record in raw.get("services", {}).items()}
            return ServicesState(host=raw.get("host", LOOPBACK), services=services)
        except (ValueError, TypeError) as error:
            raise ServiceError(f"unreadable services state file {self.path}: {error}; delete it") from None

    def save(self, state: ServicesState) -> None:
        """Write atomically, so a reader in another process never sees half a file."""
        self.services_dir.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(asdict(state), indent=2, sort_keys=True) + "\n")
        temporary.replace(self.path)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Serialise start/stop across processes (two concurrent ``up`` calls must not both start a server).

        Not re-entrant: callers take it once around a whole operation.
        """
        self.services_dir.mkdir(parents=True, exist_ok=True)
        with fasteners.InterProcessLock(str(self._lock_path)):
            yield


def free_port(host: str = LOOPBACK, exclude: set[int] | None = None) -> int:
    """An unused TCP port on ``host`` chosen by the kernel, not in ``exclude``."""
    exclude = exclude or set()
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = sock.getsockname()[1]
        if port not in exclude:
            return port


def port_is_free(host: str, port: int) -> bool:
    """True if a server could listen on ``host:port`` now.

    SO_REUSEADDR as the servers themselves use it, so connections of a just-stopped server lingering in
    TIME_WAIT do not count as "in use".
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def port_accepts_connections(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0
