"""PII masking: deterministic salted hashes, so joins on a person still work but the person is not readable.

Which columns are masked is data, not code: every column a contract classifies ``direct`` (or
``sensitive``) is replaced by ``<column>_hash`` = ``sha2(concat(salt, ':', standardized value), 256)``, a
64-character hex string (docs/model.md, "PII"). Values are standardized first (trimmed; e-mail lower-cased;
phone reduced to ``+`` and digits) so that spelling variants of one address give one token.

The salt is a secret: it reaches Dagster only through ``dagster.EnvVar("LAKEHOUSE_PII_SALT")``, resolved at
run time. Locally a fixed development salt stands in when the variable is unset, so a laptop needs no
secret; in prod an unset variable stops the run before anything is read, and the development salt is
refused, since tokens hashed with a public salt can be reversed by hashing candidate values.
"""

from collections.abc import Iterable, Mapping

import dagster as dg
from pydantic import Field
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakehouse.contracts import Contract, PiiClass

PII_RESOURCE_KEY = "pii"
PII_SALT_ENV_VAR = "LAKEHOUSE_PII_SALT"
DEVELOPMENT_SALT = "lakehouse-local-development-salt"
HASH_SUFFIX = "_hash"
MASKED_PII_CLASSES = frozenset({PiiClass.DIRECT, PiiClass.SENSITIVE})
"""Classes that never leave bronze in clear: identifying on their own, or special-category data."""


class PiiSaltError(ValueError):
    """The salt is missing, blank, or the public development salt where a secret one is required."""


def mask(column: Column | str, salt: str) -> Column:
    """``sha2(concat(salt, ':', column), 256)``: the same value and salt always give the same token.

    NULL stays NULL (``concat`` with NULL is NULL), so an absent value is not turned into a token that
    would join every absent value together. Standardize the value first (``standardized_pii``).
    """
    value = F.col(column) if isinstance(column, str) else column
    return F.sha2(F.concat(F.lit(salt), F.lit(":"), value), 256)


def standardized_pii(name: str, column: Column | str) -> Column:
    """The value of PII column ``name`` as it is hashed: trimmed; an e-mail lower-cased (addresses are
    case-insensitive in practice); a phone number reduced to ``+`` and digits (spaces, dashes and brackets
    are formatting, not identity)."""
    value = F.col(column) if isinstance(column, str) else column
    if "email" in name:
        return F.lower(F.trim(value))
    if "phone" in name:
        return F.regexp_replace(value, r"[^+0-9]", "")
    return F.trim(value)


def hashed_name(column: str) -> str:
    """The name a masked column takes: ``email`` -> ``email_hash``."""
    return f"{column}{HASH_SUFFIX}"


def masked_columns(contract: Contract) -> tuple[str, ...]:
    """The columns of ``contract`` that must be masked, from their PII classes."""
    return tuple(c.name for c in contract.columns if c.pii in MASKED_PII_CLASSES)


def mask_columns(df: DataFrame, columns: Iterable[str], salt: str) -> DataFrame:
    """``df`` with each of ``columns`` replaced, in place, by its standardized salted hash named
    ``<column>_hash``; the clear values are gone from the result. Columns absent from ``df`` are skipped."""
    wanted = set(columns)
    return df.select(
        *(
            mask(standardized_pii(name, F.col(f"`{name}`")), salt).alias(hashed_name(name))
            if name in wanted
            else F.col(f"`{name}`")
            for name in df.columns
        )
    )


def raw_pii_columns(df: DataFrame, contracts: Mapping[str, Contract] | Iterable[Contract]) -> list[str]:
    """Columns of ``df`` named like a column some contract says must be masked: a leak, if any."""
    values = contracts.values() if isinstance(contracts, Mapping) else contracts
    forbidden = {name for contract in values for name in masked_columns(contract)}
    return [name for name in df.columns if name in forbidden]


class PiiMasking(dg.ConfigurableResource):
    """Masks PII with a salted hash (resource key ``pii``); build it with ``pii_resource()``."""

    salt: str = Field(
        description=f"Secret salt of the hashes; from the {PII_SALT_ENV_VAR} environment variable."
    )
    allow_development_salt: bool = Field(
        default=False,
        description="Accept the public development salt (local deployment only).",
    )

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        require_usable_salt(self.salt, allow_development_salt=self.allow_development_salt)

    def mask(self, column: Column | str) -> Column:
        return mask(column, self.salt)

    def mask_columns(self, df: DataFrame, columns: Iterable[str]) -> DataFrame:
        return mask_columns(df, columns, self.salt)

    def mask_contract_pii(self, df: DataFrame, contract: Contract) -> DataFrame:
        """``df`` (rows of ``contract``'s table) with every column its contract says to mask hashed."""
        return mask_columns(df, masked_columns(contract), self.salt)


def require_usable_salt(salt: str | None, *, allow_development_salt: bool) -> str:
    """The salt, or a ``PiiSaltError`` saying why it cannot be used."""
    if salt is None or not salt.strip():
        raise PiiSaltError(f"PII masking needs a salt: set {PII_SALT_ENV_VAR} to a secret value")
    if salt == DEVELOPMENT_SALT and not allow_development_salt:
        raise PiiSaltError(
            f"{PII_SALT_ENV_VAR} holds the public development salt; set a secret value in this deployment"
        )
    return salt
