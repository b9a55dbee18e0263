"""Kafka client options from settings: the one place that knows about Kafka security.

``PITCHCAST_KAFKA_SECURITY_PROTOCOL`` picks what the clients get::

    protocol        aiokafka kwargs (aiokafka_options)       Faust (faust_credentials)
    PLAINTEXT       security_protocol                        None
    SSL             + ssl_context                            SSLCredentials(context)
    SASL_PLAINTEXT  + sasl_mechanism, sasl_plain_username,   SASLCredentials(username,
                      sasl_plain_password                      password, mechanism)
    SASL_SSL        + ssl_context and the SASL ones          SASLCredentials(..., ssl_context)

The SASL mechanism is ``PLAIN``, ``SCRAM-SHA-256`` or ``SCRAM-SHA-512``; aiokafka
takes the SCRAM user and password through the same ``sasl_plain_*`` arguments. The TLS
context trusts ``PITCHCAST_KAFKA_SSL_CAFILE`` (or the system CAs), checks the broker's
host name, and presents ``..._CERTFILE`` / ``..._KEYFILE`` when given (mutual TLS).

The password leaves :class:`~pydantic.SecretStr` only here, into objects whose
``repr`` does not show it (:class:`KafkaOptions`, faust's ``SASLCredentials``). A TLS
file that cannot be loaded is a :class:`~pitchcast.exceptions.ConfigurationError`
naming the setting, never quoting the file.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from pitchcast.exceptions import ConfigurationError
from pitchcast.settings import Settings

__all__ = [
    "KafkaOptions",
    "aiokafka_options",
    "faust_credentials",
    "kafka_ssl_context",
    "kafka_unreachable",
    "start_client",
]

_SECRET_KEYS = frozenset({"sasl_plain_password"})


class KafkaOptions(dict[str, Any]):
    """aiokafka keyword arguments whose repr masks the SASL password."""

    def __repr__(self) -> str:
        shown = {k: ("**********" if k in _SECRET_KEYS and v else v) for k, v in self.items()}
        return f"KafkaOptions({shown!r})"

    __str__ = __repr__


def _load(setting: str, path: Path | None, load: Any) -> None:
    try:
        load()
    except (OSError, ssl.SSLError, ValueError) as exc:
        # The error kind and the setting only: never the file's content.
        raise ConfigurationError(
            f"PITCHCAST_{setting} ({path}) could not be loaded: {type(exc).__name__}"
        ) from None


def kafka_ssl_context(settings: Settings) -> ssl.SSLContext:
    """A client TLS context: verifies the broker (host name included) against the CA
    file or the system CAs; presents the client certificate when one is set."""
    context = ssl.create_default_context()
    cafile = settings.kafka_ssl_cafile
    if cafile:
        _load("KAFKA_SSL_CAFILE", cafile, lambda: context.load_verify_locations(cafile=str(cafile)))
    certfile, keyfile = settings.kafka_ssl_certfile, settings.kafka_ssl_keyfile
    if certfile:
        _load(
            "KAFKA_SSL_CERTFILE",
            certfile,
            lambda: context.load_cert_chain(str(certfile), str(keyfile) if keyfile else None),
        )
    return context


def _sasl(settings: Settings) -> tuple[str | None, str | None]:
    password = settings.kafka_sasl_password
    return settings.kafka_sasl_username, password.get_secret_value() if password else None


def aiokafka_options(settings: Settings) -> KafkaOptions:
    """Keyword arguments for any aiokafka client (producer, consumer, admin)."""
    protocol = settings.kafka_security_protocol
    options = KafkaOptions(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        security_protocol=protocol,
    )
    if protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = kafka_ssl_context(settings)
    if protocol.startswith("SASL"):
        username, password = _sasl(settings)
        options.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=username,
            sasl_plain_password=password,
        )
    return options


async def start_client(client: Any, settings: Settings) -> None:
    """Start an aiokafka producer or consumer; a broker that does not answer is a
    ConfigurationError naming the servers (a command says so in one line, no trace)."""
    from aiokafka.errors import KafkaError

    try:
        await client.start()
    except KafkaError as exc:
        await client.stop()
        raise kafka_unreachable(settings, exc) from exc


def kafka_unreachable(settings: Settings, exc: Exception) -> ConfigurationError:
    """The one line a command ends with when the brokers do not answer: where it looked,
    aiokafka's reason, and what to check (the credentials too when SASL or TLS is on;
    aiokafka's own log line above it says which failed)."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        check = (
            "PITCHCAST_KAFKA_BOOTSTRAP_SERVERS, and PITCHCAST_KAFKA_SECURITY_PROTOCOL when it"
            " wants TLS or SASL"
        )
    else:
        check = f"PITCHCAST_KAFKA_BOOTSTRAP_SERVERS, PITCHCAST_KAFKA_SECURITY_PROTOCOL ({protocol})"
        if protocol.startswith("SASL_"):
            check += ", PITCHCAST_KAFKA_SASL_USERNAME, PITCHCAST_KAFKA_SASL_PASSWORD"
        if protocol.endswith("SSL"):
            check += " and PITCHCAST_KAFKA_SSL_CAFILE"
    return ConfigurationError(
        f"cannot reach Kafka at {settings.kafka_bootstrap_servers} ({exc}): check that a"
        f" broker runs there (`pitchcast stack status` for the local stack) and {check}"
    )


def faust_credentials(settings: Settings) -> Any:
    """``broker_credentials`` for the Faust app, or None for PLAINTEXT."""
    import faust

    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    if protocol == "SSL":
        return faust.SSLCredentials(kafka_ssl_context(settings))
    username, password = _sasl(settings)
    return faust.SASLCredentials(
        username=username,
        password=password,
        mechanism=settings.kafka_sasl_mechanism,
        ssl_context=kafka_ssl_context(settings) if protocol == "SASL_SSL" else None,
    )
