"""Dataset names by the OpenLineage naming spec (https://openlineage.io/docs/spec/naming).

* A Delta table is named by its location: a local path is namespace ``file`` and the absolute path; an
  ``s3://bucket/key`` URI is namespace ``s3://bucket`` and the key.
* A Snowflake table is namespace ``snowflake://{organization}-{account}`` (the configured account
  identifier, lower case) and name ``{database}.{schema}.{table}``.
* A Redshift table is namespace ``redshift://{cluster_identifier}.{region}:{port}`` and name
  ``{database}.{schema}.{table}``; a host that is not an AWS endpoint (the local PostgreSQL stand-in) is
  used as it is: ``redshift://127.0.0.1:5439``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

_REDSHIFT_ENDPOINT = re.compile(
    r"^(?P<cluster>[^.]+)\.[^.]+\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)"
    r"\.redshift(?:-serverless)?\.amazonaws\.com$",
    re.IGNORECASE,
)


@dataclass(frozen=True, order=True)
class DatasetName:
    namespace: str
    name: str


def table_dataset(table_uri: str) -> DatasetName:
    """The dataset of a Delta table at ``table_uri`` (a local path, ``file://`` URI or ``s3://`` URI)."""
    parsed = urlparse(table_uri)
    scheme = parsed.scheme.lower()
    if scheme in ("s3", "s3a", "s3n"):
        if not parsed.netloc:
            raise ValueError(f"{table_uri!r} names no bucket")
        return DatasetName(f"s3://{parsed.netloc}", parsed.path.strip("/"))
    if scheme in ("gs", "abfs", "abfss", "wasbs", "hdfs"):
        return DatasetName(f"{scheme}://{parsed.netloc}", parsed.path.strip("/"))
    if scheme == "file":
        return DatasetName("file", str(Path(parsed.path).resolve()))
    if scheme and len(scheme) > 1:  # a one-letter "scheme" is a Windows drive
        raise ValueError(f"no OpenLineage naming for table URI {table_uri!r}")
    return DatasetName("file", str(Path(table_uri).expanduser().resolve()))


def snowflake_dataset(account: str, qualified_table: str) -> DatasetName:
    """``qualified_table`` is ``DATABASE.SCHEMA.TABLE``; ``account`` the connector's account identifier."""
    account_id = account.strip().lower()
    # The connector also accepts the legacy locator form with the region and a cloud suffix.
    account_id = account_id.removesuffix(".snowflakecomputing.com")
    return DatasetName(f"snowflake://{account_id}", _three_part(qualified_table))


def redshift_dataset(host: str, port: int, qualified_table: str) -> DatasetName:
    """``qualified_table`` is ``database.schema.table``; the cluster and region come from the endpoint."""
    endpoint = _REDSHIFT_ENDPOINT.match(host.strip())
    authority = f"{endpoint['cluster']}.{endpoint['region']}".lower() if endpoint else host.strip().lower()
    return DatasetName(f"redshift://{authority}:{int(port)}", _three_part(qualified_table))


def _three_part(qualified_table: str) -> str:
    parts = qualified_table.split(".")
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"{qualified_table!r} is not database.schema.table")
    return qualified_table
