"""Local stand-ins for the source systems: fakesnow for Snowflake, embedded PostgreSQL for Redshift; and
on request a local Sail cluster for the engine.

The Dagster resources live in ``lakehouse.services.resources`` (not imported here, so the CLI does not
pay for importing the Snowflake and AWS integrations).
"""

from lakehouse.services.local import LocalServices
from lakehouse.services.status import ServiceError, ServicesNotRunningError, ServiceState, ServiceStatus

__all__ = [
    "LocalServices",
    "ServiceError",
    "ServiceState",
    "ServiceStatus",
    "ServicesNotRunningError",
]
