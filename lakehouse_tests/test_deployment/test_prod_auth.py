"""Production authentication: each setting reaches the driver. Snowflake by key-pair (the key as text,
base64 text or a file, encrypted or not) with a password only as the fallback, its session in UTC; Redshift
over SSL. The prod resources are built as the code location builds them, resolved as a run resolves them,
and their connections made with the real drivers against the local stand-ins."""

from __future__ import annotations

import base64
from pathlib import Path

import dagster as dg
import jwt
import psycopg2
import pytest
import snowflake.connector
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from dagster_aws.redshift import RedshiftClientResource
from dagster_snowflake import SnowflakeResource
from snowflake.connector.auth import AuthByDefault, AuthByKeyPair

from lakehouse.resources import SNOWFLAKE_AUTHENTICATION_MISSING, redshift_resource, snowflake_resource
from lakehouse.services import LocalServices, postgres
from lakehouse.settings import DEPLOYMENT_ENV_VAR
from lakehouse.sources.extract import fetch_all, source_connection

SNOWFLAKE_ENV = {"SNOWFLAKE_ACCOUNT": "acme-xy12345", "SNOWFLAKE_USER": "LOADER", "SNOWFLAKE_WAREHOUSE": "LOAD_WH"}
PASSPHRASE = "correct horse battery staple"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey, passphrase: str | None = None) -> str:
    encryption = (
        serialization.BestAvailableEncryption(passphrase.encode()) if passphrase else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption).decode()


def _der(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _prod(monkeypatch: pytest.MonkeyPatch, settings: dict[str, str]) -> None:
    monkeypatch.setenv(DEPLOYMENT_ENV_VAR, "prod")
    for name in ("SNOWFLAKE_PRIVATE_KEY", "SNOWFLAKE_PRIVATE_KEY_PATH", "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE",
                 "SNOWFLAKE_PASSWORD", "REDSHIFT_SSLMODE", "REDSHIFT_SSLROOTCERT"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    for name, value in settings.items():
        monkeypatch.setenv(name, value)


def _connect_to_fakesnow(resource: SnowflakeResource, services: LocalServices):
    """The real connector with exactly the arguments the resolved resource gives it, addressed to the local
    fakesnow server (production's account URL is Snowflake's)."""
    host, port = services.snowflake_address()
    arguments = {**resource._connection_args, "host": host, "port": port, "protocol": "http"}
    return snowflake.connector.connect(**arguments)


KEY_VARIANTS = {
    "pem-text": lambda key, tmp: {"SNOWFLAKE_PRIVATE_KEY": _pem(key)},
    "base64-text": lambda key, tmp: {"SNOWFLAKE_PRIVATE_KEY": base64.b64encode(_pem(key).encode()).decode()},
    "encrypted-text": lambda key, tmp: {"SNOWFLAKE_PRIVATE_KEY": _pem(key, PASSPHRASE),
                                        "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": PASSPHRASE},
    "file": lambda key, tmp: {"SNOWFLAKE_PRIVATE_KEY_PATH": _write(tmp / "rsa_key.p8", _pem(key))},
    "encrypted-file": lambda key, tmp: {"SNOWFLAKE_PRIVATE_KEY_PATH": _write(tmp / "rsa_key.p8", _pem(key, PASSPHRASE)),
                                        "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": PASSPHRASE},
}  # fmt: skip


def _write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("variant", sorted(KEY_VARIANTS))
def test_snowflake_key_pair_reaches_the_connector_and_signs_its_login(
    variant, rsa_key, tmp_path, monkeypatch, local_services
) -> None:
    # a password set too is not used: it is only the fallback when no key is configured
    _prod(monkeypatch, {**SNOWFLAKE_ENV, "SNOWFLAKE_PASSWORD": "unused", **KEY_VARIANTS[variant](rsa_key, tmp_path)})
    built = snowflake_resource()
    assert built.password is None and "BEGIN" not in repr(built)  # EnvVars, not the key, in the definitions

    with built.process_config_and_initialize_cm() as resolved:
        arguments = resolved._connection_args
        assert arguments["private_key"] == _der(rsa_key)  # the generated key, decrypted, as the connector takes it
        assert "password" not in arguments
        assert arguments["timezone"] == "UTC"
        with _connect_to_fakesnow(resolved, local_services) as connection:
            assert isinstance(connection.auth_class, AuthByKeyPair)
            # the login carried a JWT signed by the generated key for this account and user
            claims = jwt.decode(connection.auth_class._jwt_token, rsa_key.public_key(), algorithms=["RS256"])
            assert claims["sub"] == "ACME-XY12345.LOADER"
            assert connection._session_parameters["TIMEZONE"] == "UTC"  # sent with the login
            assert connection.cursor().execute("SELECT 1").fetchone() == (1,)


def test_snowflake_password_is_the_fallback_when_no_key_is_set(monkeypatch, local_services) -> None:
    _prod(monkeypatch, {**SNOWFLAKE_ENV, "SNOWFLAKE_PASSWORD": "s3cret-sf"})
    with snowflake_resource().process_config_and_initialize_cm() as resolved:
        arguments = resolved._connection_args
        assert arguments["password"] == "s3cret-sf" and "private_key" not in arguments
        with _connect_to_fakesnow(resolved, local_services) as connection:
            assert isinstance(connection.auth_class, AuthByDefault)
            assert connection._session_parameters["TIMEZONE"] == "UTC"


def test_snowflake_without_key_or_password_loads_and_fails_when_used_with_one_line(monkeypatch) -> None:
    _prod(monkeypatch, SNOWFLAKE_ENV)
    snowflake = snowflake_resource()  # the code location loads without any credential

    @dg.asset
    def reads_snowflake(snowflake: SnowflakeResource) -> None:
        with snowflake.get_connection():
            pass

    with pytest.raises(dg.DagsterResourceFunctionError) as raised:  # the run stops as its resources start
        dg.materialize_to_memory([reads_snowflake], resources={"snowflake": snowflake})
    assert isinstance(raised.value.__cause__, ValueError)
    assert str(raised.value.__cause__) == SNOWFLAKE_AUTHENTICATION_MISSING
    assert "\n" not in SNOWFLAKE_AUTHENTICATION_MISSING


def test_the_local_snowflake_session_is_utc_too(local_services) -> None:
    with snowflake_resource(local_services).get_connection() as connection:
        assert connection._session_parameters["TIMEZONE"] == "UTC"


def _redshift_on_local_postgres(monkeypatch: pytest.MonkeyPatch, services: LocalServices, **settings: str) -> None:
    host, port = services.redshift_address()
    _prod(monkeypatch, {"REDSHIFT_HOST": host, "REDSHIFT_PORT": str(port), "REDSHIFT_USER": postgres.USER,
                        "REDSHIFT_PASSWORD": postgres.PASSWORD, **settings})  # fmt: skip


def test_redshift_requires_a_verified_certificate_by_default(monkeypatch, local_services) -> None:
    """verify-full reaches libpq: the local PostgreSQL, which serves no SSL, is refused."""
    _redshift_on_local_postgres(monkeypatch, local_services)
    resolved = redshift_resource().process_config_and_initialize()
    assert isinstance(resolved, RedshiftClientResource)
    arguments = resolved.get_client().conn_args
    assert arguments["sslmode"] == "verify-full" and "sslrootcert" not in arguments
    with pytest.raises(psycopg2.OperationalError, match="server does not support SSL, but SSL was required"):
        with source_connection("redshift", resolved):
            pass


def test_redshift_sslmode_and_root_certificate_come_from_the_environment(monkeypatch, local_services, tmp_path):
    bundle = _write(tmp_path / "amazon-trust-ca-bundle.crt", "")
    _redshift_on_local_postgres(monkeypatch, local_services, REDSHIFT_SSLMODE="prefer", REDSHIFT_SSLROOTCERT=bundle)
    resolved = redshift_resource().process_config_and_initialize()
    # prefer falls back to plain TCP on the local server; libpq holds both settings for the connection
    with source_connection("redshift", resolved) as connection:
        assert fetch_all(connection, "SELECT 1", None) == [(1,)]
        assert connection.info.dsn_parameters["sslmode"] == "prefer"
        assert connection.info.dsn_parameters["sslrootcert"] == bundle


def test_an_unknown_redshift_sslmode_fails_when_used_with_one_line(monkeypatch) -> None:
    _prod(monkeypatch, {"REDSHIFT_HOST": "cluster.example", "REDSHIFT_USER": "u", "REDSHIFT_PASSWORD": "p",
                        "REDSHIFT_SSLMODE": "strict"})  # fmt: skip
    with pytest.raises(ValueError, match=r"^REDSHIFT_SSLMODE='strict' is not one of: disable, allow, prefer, require, verify-ca, verify-full$"):
        with redshift_resource().process_config_and_initialize_cm():
            pass
