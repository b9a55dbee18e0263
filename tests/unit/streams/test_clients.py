"""Kafka security settings -> aiokafka kwargs and Faust credentials, secrets masked."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import faust
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

from pitchcast.exceptions import ConfigurationError
from pitchcast.settings import load_settings
from pitchcast.streams.clients import aiokafka_options, faust_credentials
from tests.support.tls import TLSFiles, tls_files_fixture  # noqa: F401  (fixture)

PASSWORD = "kafka-SASL-secret-9f2"
MECHANISMS = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


def settings_for(protocol: str, files: TLSFiles | None = None, **extra: Any) -> Any:
    values: dict[str, Any] = {
        "kafka_bootstrap_servers": "broker-1:9093,broker-2:9093",
        "kafka_security_protocol": protocol,
        **extra,
    }
    if protocol.startswith("SASL"):
        values.setdefault("kafka_sasl_username", "pitchcast")
        values.setdefault("kafka_sasl_password", PASSWORD)
    if files is not None:
        values.setdefault("kafka_ssl_cafile", files.ca)
    return load_settings(**values)


def assert_verifies_with_test_ca(context: ssl.SSLContext) -> None:
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    subjects = [dict(x[0] for x in ca["subject"]) for ca in context.get_ca_certs()]
    assert {"commonName": "pitchcast-test-ca"} in subjects


def test_plaintext_needs_nothing_more() -> None:
    """PLAINTEXT: the brokers and the protocol, and no Faust credentials."""
    settings = settings_for("PLAINTEXT")
    assert dict(aiokafka_options(settings)) == {
        "bootstrap_servers": "broker-1:9093,broker-2:9093",
        "security_protocol": "PLAINTEXT",
    }
    assert faust_credentials(settings) is None


def test_ssl_builds_a_verifying_context_with_the_client_certificate(tls_files: TLSFiles) -> None:
    """SSL: a context that trusts the CA file, checks host names and presents the client
    certificate; Faust gets SSLCredentials that map to the same aiokafka arguments."""
    settings = settings_for(
        "SSL",
        tls_files,
        kafka_ssl_certfile=tls_files.client_cert,
        kafka_ssl_keyfile=tls_files.client_key,
    )
    options = aiokafka_options(settings)
    assert options["security_protocol"] == "SSL" and "sasl_mechanism" not in options
    assert_verifies_with_test_ca(options["ssl_context"])
    credentials = faust_credentials(settings)
    assert isinstance(credentials, faust.SSLCredentials)
    auth = credentials_to_aiokafka_auth(credentials)
    assert auth["security_protocol"] == "SSL"
    assert_verifies_with_test_ca(auth["ssl_context"])


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_sasl_plaintext_passes_user_password_and_mechanism(mechanism: str) -> None:
    """SASL_PLAINTEXT with PLAIN or SCRAM: aiokafka takes the user and password through
    sasl_plain_*; Faust's SASLCredentials map to exactly those arguments."""
    settings = settings_for("SASL_PLAINTEXT", kafka_sasl_mechanism=mechanism)
    options = aiokafka_options(settings)
    assert {k: options[k] for k in options if k.startswith("sasl")} == {
        "sasl_mechanism": mechanism,
        "sasl_plain_username": "pitchcast",
        "sasl_plain_password": PASSWORD,
    }
    assert "ssl_context" not in options
    credentials = faust_credentials(settings)
    assert isinstance(credentials, faust.SASLCredentials)
    auth = credentials_to_aiokafka_auth(credentials)
    assert auth["security_protocol"] == "SASL_PLAINTEXT"
    assert auth["sasl_mechanism"] == mechanism
    assert (auth["sasl_plain_username"], auth["sasl_plain_password"]) == ("pitchcast", PASSWORD)
    assert auth["ssl_context"] is None


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_sasl_ssl_has_both(tls_files: TLSFiles, mechanism: str) -> None:
    """SASL_SSL: the SASL arguments and a verifying TLS context, for aiokafka and Faust."""
    settings = settings_for("SASL_SSL", tls_files, kafka_sasl_mechanism=mechanism)
    options = aiokafka_options(settings)
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == mechanism
    assert_verifies_with_test_ca(options["ssl_context"])
    auth = credentials_to_aiokafka_auth(faust_credentials(settings))
    assert auth["security_protocol"] == "SASL_SSL" and auth["sasl_mechanism"] == mechanism
    assert_verifies_with_test_ca(auth["ssl_context"])


def test_ssl_without_a_ca_file_trusts_the_system_store() -> None:
    """No CA file: the default context (system CAs), still verifying host names."""
    context = aiokafka_options(settings_for("SSL"))["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


@pytest.mark.parametrize("protocol", ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"])
async def test_aiokafka_clients_accept_the_options(tls_files: TLSFiles, protocol: str) -> None:
    """A producer and a consumer are built with the options (aiokafka checks them in its
    constructors) without connecting."""
    options = aiokafka_options(settings_for(protocol, tls_files))
    producer = AIOKafkaProducer(**options)
    consumer = AIOKafkaConsumer(**options)
    assert producer.client._security_protocol == protocol
    assert consumer._client._security_protocol == protocol
    await producer.stop()
    await consumer.stop()


def test_the_password_is_masked_in_reprs(tls_files: TLSFiles) -> None:
    """repr()/str() of the options and of Faust's credentials never show the password."""
    settings = settings_for("SASL_SSL", tls_files, kafka_sasl_mechanism="SCRAM-SHA-256")
    options = aiokafka_options(settings)
    credentials = faust_credentials(settings)
    for text in (repr(options), str(options), repr(credentials), repr(settings), str(settings)):
        assert PASSWORD not in text
    assert "**********" in repr(options)


def test_unloadable_tls_files_name_the_setting_never_the_content(tmp_path: Path) -> None:
    """A missing CA file, or a key file that is not PEM: ConfigurationError naming the
    setting; the file's content (which may be a private key) is never quoted."""
    with pytest.raises(ConfigurationError, match="PITCHCAST_KAFKA_SSL_CAFILE"):
        aiokafka_options(settings_for("SSL", kafka_ssl_cafile=tmp_path / "missing.pem"))
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("PRIVATE-KEY-MATERIAL-DO-NOT-PRINT\n")
    with pytest.raises(ConfigurationError, match="PITCHCAST_KAFKA_SSL_CERTFILE") as caught:
        faust_credentials(
            settings_for("SASL_SSL", kafka_ssl_certfile=bogus, kafka_ssl_keyfile=bogus)
        )
    assert "PRIVATE-KEY-MATERIAL" not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


async def test_a_broker_that_does_not_answer_says_what_to_check() -> None:
    """`pitchcast replay`, `tail`, `dlq`, `monitor` with no broker at the address: the one
    line names the address and what to check (the setting, the local stack), not only
    aiokafka's `Unable to bootstrap`."""
    from pitchcast.streams.clients import aiokafka_options, start_client
    from tests.support.redis_fixtures import free_port

    servers = f"127.0.0.1:{free_port()}"
    settings = load_settings(kafka_bootstrap_servers=servers)
    producer = AIOKafkaProducer(**aiokafka_options(settings))
    with pytest.raises(ConfigurationError) as caught:
        await start_client(producer, settings)
    message = str(caught.value)
    assert message.startswith(f"cannot reach Kafka at {servers} (KafkaConnectionError: Unable")
    assert "PITCHCAST_KAFKA_BOOTSTRAP_SERVERS" in message
    assert "PITCHCAST_KAFKA_SECURITY_PROTOCOL" in message
    assert "pitchcast stack status" in message
    assert "\n" not in message


async def test_with_sasl_the_broker_error_points_at_the_credentials_too() -> None:
    """A wrong SCRAM password ends as the same `cannot reach Kafka` line (aiokafka's
    SaslAuthenticationFailed is in its log line above): with SASL configured, the line
    names the user and password settings and the CA as well, never the password."""
    from pitchcast.streams.clients import kafka_unreachable

    settings = load_settings(
        kafka_bootstrap_servers="127.0.0.1:9",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="pitchcast",
        kafka_sasl_password="scram-secret-9",
    )
    message = str(kafka_unreachable(settings, ConnectionError("Unable to bootstrap")))
    assert "PITCHCAST_KAFKA_SASL_USERNAME" in message
    assert "PITCHCAST_KAFKA_SASL_PASSWORD" in message
    assert "PITCHCAST_KAFKA_SSL_CAFILE" in message
    assert "scram-secret-9" not in message
