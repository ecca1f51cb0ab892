"""Governance: PII classes from the contracts turned into masking (salted hashes) and column tags."""

from lakehouse.governance.pii import (
    DEVELOPMENT_SALT,
    HASH_SUFFIX,
    MASKED_PII_CLASSES,
    PII_RESOURCE_KEY,
    PII_SALT_ENV_VAR,
    PiiMasking,
    PiiSaltError,
    hashed_name,
    mask,
    mask_columns,
    masked_columns,
    raw_pii_columns,
    require_usable_salt,
    standardized_pii,
)

__all__ = [
    "DEVELOPMENT_SALT",
    "HASH_SUFFIX",
    "MASKED_PII_CLASSES",
    "PII_RESOURCE_KEY",
    "PII_SALT_ENV_VAR",
    "PiiMasking",
    "PiiSaltError",
    "hashed_name",
    "mask",
    "mask_columns",
    "masked_columns",
    "raw_pii_columns",
    "require_usable_salt",
    "standardized_pii",
]
