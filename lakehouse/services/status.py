"""What a service looks like from outside: its state, address and files, and the errors it raises."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path


class ServiceState(str, Enum):
    RUNNING = "running"
    STOPPED = "stopped"
    # stopped on purpose so a bulk loader can own the data files; restarted when the load ends
    PAUSED = "paused"


@dataclass(frozen=True)
class ServiceStatus:
    """One row of ``lakehouse services status``."""

    name: str  # what it stands in for: "snowflake", "redshift" or "spark" (a Spark cluster)
    engine: str  # what actually runs locally: "fakesnow", "postgresql" or "sail"
    state: ServiceState
    host: str
    port: int | None
    pid: int | None
    data_path: Path
    log_path: Path

    @property
    def running(self) -> bool:
        return self.state is ServiceState.RUNNING

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}" if self.port else "-"


class ServiceError(RuntimeError):
    """A local service could not be started, stopped or reached. The message is one line naming the cause."""


class ServicesNotRunningError(ServiceError):
    """Something needs the local services and they are not up. ``command`` is the one that starts them."""

    def __init__(self, detail: str = "", command: str = "lakehouse services up") -> None:
        suffix = f" ({detail})" if detail else ""
        super().__init__(f"local services are not running: run `{command}`{suffix}")
