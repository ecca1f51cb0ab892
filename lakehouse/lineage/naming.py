"""Dataset names by the OpenLineage naming spec (https://openlineage.io/docs/spec/naming), through the
OpenLineage client's own naming classes (``openlineage.client.naming.dataset``) where they fit.

* A Delta table is named by its location: a local path is namespace ``file`` and the absolute path; an
  ``s3://bucket/key`` URI is namespace ``s3://bucket`` and the key (``gs://`` likewise).
* A Snowflake table is namespace ``snowflake://{organization}-{account}`` (the configured account
  identifier, lower case) and name ``{database}.{schema}.{table}``.
* A Redshift table is namespace ``redshift://{cluster_identifier}.{region}:{port}`` and name
  ``{database}.{schema}.{table}``.

The local stand-ins have no organization, cluster or region: the fakesnow account (``fakesnow``) and the
PostgreSQL address (``127.0.0.1:<port>``) take their place, in the same scheme.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from openlineage.client.naming import dataset as ol_naming

_REDSHIFT_ENDPOINT = re.compile(
    r"^(?P<cluster>[^.]+)\.[^.]+\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)"
    r"\.redshift(?:-serverless)?\.amazonaws\.com$",
    re.IGNORECASE,
)


@dataclass(frozen=True, order=True)
class DatasetName:
    namespace: str
    name: str

    @classmethod
    def of(cls, naming: ol_naming.DatasetNaming) -> DatasetName:
        return cls(naming.get_namespace(), naming.get_name())


def table_dataset(table_uri: str) -> DatasetName:
    """The dataset of a Delta table at ``table_uri`` (a local path, ``file://``, ``s3://`` or ``gs://``)."""
    parsed = urlparse(table_uri)
    scheme = parsed.scheme.lower()
    if scheme in ("s3", "s3a", "s3n", "gs"):
        if not parsed.netloc:
            raise ValueError(f"{table_uri!r} names no bucket")
        key = parsed.path.strip("/")
        if scheme == "gs":
            return DatasetName.of(ol_naming.GCS(bucket_name=parsed.netloc, object_key=key))
        return DatasetName.of(ol_naming.S3(bucket_name=parsed.netloc, object_key=key))
    if scheme == "file":
        return DatasetName.of(ol_naming.LocalFileSystem(path=str(Path(parsed.path).resolve())))
    if scheme and len(scheme) > 1:  # a one-letter "scheme" is a Windows drive
        raise ValueError(f"no OpenLineage naming for table URI {table_uri!r}")
    return DatasetName.of(ol_naming.LocalFileSystem(path=str(Path(table_uri).expanduser().resolve())))


def snowflake_dataset(account: str, qualified_table: str) -> DatasetName:
    """``qualified_table`` is ``DATABASE.SCHEMA.TABLE``; ``account`` the connector's account identifier
    (``{organization}-{account}``; the legacy locator form keeps its region and cloud suffix)."""
    database, schema, table = _three_parts(qualified_table)
    account_id = account.strip().lower().removesuffix(".snowflakecomputing.com")
    organization, _, account_name = account_id.partition("-")
    if organization and account_name:
        return DatasetName.of(
            ol_naming.Snowflake(
                organization_name=organization,
                account_name=account_name,
                database=database,
                schema=schema,
                table=table,
            )
        )
    return DatasetName(f"snowflake://{account_id}", qualified_table)


def redshift_dataset(host: str, port: int, qualified_table: str) -> DatasetName:
    """``qualified_table`` is ``database.schema.table``; the cluster and region come from the endpoint."""
    database, schema, table = _three_parts(qualified_table)
    endpoint = _REDSHIFT_ENDPOINT.match(host.strip())
    if endpoint:
        return DatasetName.of(
            ol_naming.Redshift(
                cluster_identifier=endpoint["cluster"].lower(),
                region=endpoint["region"].lower(),
                port=str(int(port)),
                database=database,
                schema=schema,
                table=table,
            )
        )
    return DatasetName(f"redshift://{host.strip().lower()}:{int(port)}", qualified_table)


def _three_parts(qualified_table: str) -> tuple[str, str, str]:
    parts = qualified_table.split(".")
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"{qualified_table!r} is not database.schema.table")
    return parts[0], parts[1], parts[2]
