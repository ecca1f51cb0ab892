"""PII masking: salted, deterministic, standardized hashes; the salt's sources per deployment."""

import hashlib

import dagster as dg
import pytest
from pyspark.sql import functions as F

from lakehouse.contracts import load_contracts
from lakehouse.governance import (
    DEVELOPMENT_SALT,
    PII_SALT_ENV_VAR,
    PiiMasking,
    PiiSaltError,
    mask,
    mask_columns,
    masked_columns,
    raw_pii_columns,
    standardized_pii,
)
from lakehouse.resources import pii_resource
from lakehouse.settings import DEPLOYMENT_ENV_VAR


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_mask_is_the_documented_salted_sha256(spark):
    df = spark.createDataFrame([("ana@example.com",), (None,)], "email string")
    rows = df.select(mask("email", "pepper").alias("a"), mask(F.col("email"), "salt").alias("b")).collect()
    assert rows[0]["a"] == sha256_hex("pepper:ana@example.com")
    assert rows[0]["b"] == sha256_hex("salt:ana@example.com") != rows[0]["a"]
    assert len(rows[0]["a"]) == 64
    assert rows[1]["a"] is None  # an absent value is no token that would join all absent values


def test_spelling_variants_of_one_person_give_one_token(spark):
    df = spark.createDataFrame(
        [
            (" Ana.Silva@Example.COM ", "+351 912-345-678", " Ana "),
            ("ana.silva@example.com", "+351(912)345678", "Ana"),
        ],
        "email string, phone string, first_name string",
    )
    hashed = df.select(
        *(mask(standardized_pii(name, name), "s").alias(name) for name in ("email", "phone", "first_name"))
    ).collect()
    assert hashed[0] == hashed[1]
    assert hashed[0]["email"] == sha256_hex("s:ana.silva@example.com")
    assert hashed[0]["phone"] == sha256_hex("s:+351912345678")


def test_mask_columns_replaces_in_place_and_drops_the_clear_values(spark):
    df = spark.createDataFrame(
        [(1, "ana@example.com", "Lisbon")], "customer_id bigint, email string, city string"
    )
    masked = mask_columns(df, ["email"], "s")
    assert masked.columns == ["customer_id", "email_hash", "city"]
    row = masked.first()
    assert row["email_hash"] == sha256_hex("s:ana@example.com")
    assert "ana@example.com" not in [str(v) for v in row]


def test_masked_columns_come_from_the_bronze_contracts():
    bronze = load_contracts(layer="bronze")
    assert masked_columns(bronze["bronze.customers"]) == ("first_name", "last_name", "email", "phone")
    assert all(masked_columns(c) == () for name, c in bronze.items() if name != "bronze.customers")


def test_raw_pii_columns_names_a_leak(spark):
    df = spark.createDataFrame([(1, "x")], "customer_id bigint, email string")
    assert raw_pii_columns(df, load_contracts(layer="bronze")) == ["email"]


def test_local_deployment_uses_the_development_salt_when_unset(monkeypatch):
    monkeypatch.setenv(DEPLOYMENT_ENV_VAR, "local")
    monkeypatch.delenv(PII_SALT_ENV_VAR, raising=False)
    with dg.build_resources({"pii": pii_resource()}) as resources:
        assert resources.pii.salt == DEVELOPMENT_SALT


def test_local_deployment_prefers_the_configured_salt(monkeypatch):
    monkeypatch.setenv(DEPLOYMENT_ENV_VAR, "local")
    monkeypatch.setenv(PII_SALT_ENV_VAR, "laptop-secret")
    with dg.build_resources({"pii": pii_resource()}) as resources:
        assert resources.pii.salt == "laptop-secret"


def test_prod_refuses_to_run_without_a_salt(monkeypatch):
    monkeypatch.setenv(DEPLOYMENT_ENV_VAR, "prod")
    monkeypatch.delenv(PII_SALT_ENV_VAR, raising=False)
    resource = pii_resource()  # building definitions needs no secret; running does
    with pytest.raises(dg.DagsterInvalidConfigError, match=PII_SALT_ENV_VAR):
        with dg.build_resources({"pii": resource}):
            pass


def test_prod_refuses_the_public_development_salt(monkeypatch):
    monkeypatch.setenv(DEPLOYMENT_ENV_VAR, "prod")
    monkeypatch.setenv(PII_SALT_ENV_VAR, DEVELOPMENT_SALT)
    with pytest.raises(dg.DagsterResourceFunctionError) as raised:
        with dg.build_resources({"pii": pii_resource()}):
            pass
    assert isinstance(raised.value.__cause__, PiiSaltError)


def test_prod_uses_the_secret_salt(monkeypatch):
    monkeypatch.setenv(DEPLOYMENT_ENV_VAR, "prod")
    monkeypatch.setenv(PII_SALT_ENV_VAR, "prod-secret")
    with dg.build_resources({"pii": pii_resource()}) as resources:
        assert resources.pii.salt == "prod-secret"


def test_a_blank_salt_is_refused():
    with pytest.raises(dg.DagsterResourceFunctionError):
        with dg.build_resources({"pii": PiiMasking(salt="  ", allow_development_salt=True)}):
            pass
