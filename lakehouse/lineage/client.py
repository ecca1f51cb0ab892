"""The OpenLineage client, configured the standard way, with a local file default.

Configuration is the OpenLineage client's own (https://openlineage.io/docs/client/python): an
``openlineage.yml`` named by ``OPENLINEAGE_CONFIG`` or found in the working directory or
``~/.openlineage/``, ``OPENLINEAGE__TRANSPORT__*`` variables, or ``OPENLINEAGE_URL`` (HTTP, e.g. Marquez);
``OPENLINEAGE_DISABLED=true`` turns emission off. When none of these is set, events are appended, one JSON
object a line, to ``$LAKEHOUSE_HOME/lineage/openlineage.jsonl``.
"""

from __future__ import annotations

import os
from pathlib import Path

from openlineage.client import OpenLineageClient
from openlineage.client.transport.file import FileConfig, FileTransport

from lakehouse.settings import lakehouse_home

NAMESPACE_ENV_VAR = "OPENLINEAGE_NAMESPACE"
DEFAULT_NAMESPACE = "lakehouse"
LINEAGE_DIR = "lineage"
DEFAULT_FILE_NAME = "openlineage.jsonl"
_CONFIG_FILE = "openlineage.yml"


def lineage_namespace(configured: str | None = None) -> str:
    """The OpenLineage namespace of the lakehouse's jobs: the argument, else ``$OPENLINEAGE_NAMESPACE``,
    else ``lakehouse``."""
    return configured or os.environ.get(NAMESPACE_ENV_VAR) or DEFAULT_NAMESPACE


def default_events_file() -> Path:
    return lakehouse_home() / LINEAGE_DIR / DEFAULT_FILE_NAME


def lineage_disabled() -> bool:
    """``OPENLINEAGE_DISABLED=true``: nothing is built or sent."""
    return os.environ.get("OPENLINEAGE_DISABLED", "").strip().lower() == "true"


def is_configured() -> bool:
    """Whether any of the OpenLineage client's own configuration sources is present."""
    if os.environ.get("OPENLINEAGE_CONFIG") or os.environ.get("OPENLINEAGE_URL"):
        return True
    if lineage_disabled():
        return True
    if any(name.startswith(OpenLineageClient.DYNAMIC_ENV_VARS_PREFIX) for name in os.environ):
        return True
    candidates = (Path.cwd() / _CONFIG_FILE, Path("~/.openlineage").expanduser() / _CONFIG_FILE)
    return any(path.is_file() for path in candidates)


def lineage_client() -> OpenLineageClient:
    """A client for the current configuration (read now, so a change applies to the next step)."""
    if is_configured():
        return OpenLineageClient()
    events_file = default_events_file()
    events_file.parent.mkdir(parents=True, exist_ok=True)
    return OpenLineageClient(transport=FileTransport(FileConfig(log_file_path=str(events_file), append=True)))
