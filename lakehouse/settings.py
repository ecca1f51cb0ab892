"""Where local state lives and which deployment is active.

Everything here reads the environment when called, never at import time, so importing the package
has no side effects and tests can point it elsewhere with ``monkeypatch.setenv``.
"""

from __future__ import annotations

import os
from datetime import date
from enum import Enum
from pathlib import Path

HOME_ENV_VAR = "LAKEHOUSE_HOME"
DEPLOYMENT_ENV_VAR = "LAKEHOUSE_ENV"
LAKE_ROOT_ENV_VAR = "LAKEHOUSE_LAKE_ROOT"
DATA_DOCS_ENV_VAR = "LAKEHOUSE_DATA_DOCS"
FIRST_PARTITION_ENV_VAR = "LAKEHOUSE_FIRST_PARTITION"
DEFAULT_FIRST_PARTITION = date(2026, 1, 1)
DEFAULT_HOME = ".lakehouse"


class Deployment(str, Enum):
    LOCAL = "local"
    PROD = "prod"


def deployment() -> Deployment:
    """The active deployment, from ``LAKEHOUSE_ENV`` (default ``local``)."""
    raw = os.environ.get(DEPLOYMENT_ENV_VAR, Deployment.LOCAL.value).strip().lower()
    try:
        return Deployment(raw)
    except ValueError:
        choices = ", ".join(d.value for d in Deployment)
        raise ValueError(f"{DEPLOYMENT_ENV_VAR}={raw!r} is not one of: {choices}") from None


def lakehouse_home() -> Path:
    """Root directory of all local state: services, generated data, the lake, Dagster's own storage."""
    return Path(os.environ.get(HOME_ENV_VAR, DEFAULT_HOME)).expanduser().resolve()


def lake_root() -> str:
    """Root URI of the Delta tables: ``$LAKEHOUSE_LAKE_ROOT`` or ``$LAKEHOUSE_HOME/lake``."""
    configured = os.environ.get(LAKE_ROOT_ENV_VAR)
    if configured:
        return configured.rstrip("/")
    return str(lakehouse_home() / "lake")


def data_docs_location() -> str:
    """Where the Great Expectations Data Docs site is published: ``$LAKEHOUSE_DATA_DOCS`` (a directory or an
    ``s3://bucket/prefix``); otherwise beside a lake on an object store (``<lake root>/_data_docs``), which
    every step of a cluster deployment reaches and outlives the step; otherwise ``$LAKEHOUSE_HOME/gx/data_docs``."""
    configured = os.environ.get(DATA_DOCS_ENV_VAR)
    if configured:
        return configured.rstrip("/")
    root = lake_root()
    if "://" in root and not root.startswith("file://"):
        return f"{root}/_data_docs"
    return str(lakehouse_home() / "gx" / "data_docs")


def first_partition() -> date:
    """The first day of every partitioned asset: ``$LAKEHOUSE_FIRST_PARTITION`` (``YYYY-MM-DD``), by default
    2026-01-01, the first day the local data generator writes. A source with older history sets it to the
    day of its oldest change."""
    configured = os.environ.get(FIRST_PARTITION_ENV_VAR, "").strip()
    if not configured:
        return DEFAULT_FIRST_PARTITION
    try:
        return date.fromisoformat(configured)
    except ValueError:
        raise ValueError(f"{FIRST_PARTITION_ENV_VAR}={configured!r} is not a date YYYY-MM-DD") from None
