"""RedisStore's connection settings (no server needed): TLS files, passwords, masking."""

from __future__ import annotations

from pathlib import Path

import pytest

from pitchcast.cache import RedisStore
from pitchcast.exceptions import ConfigurationError
from pitchcast.settings import load_settings

SECRET = "redis-TLS-secret-7c1"


def kwargs_of(store: RedisStore) -> dict[str, object]:
    assert store._client is not None
    return dict(store._client.connection_pool.connection_kwargs)


async def test_a_rediss_url_with_tls_files_and_a_password(tmp_path: Path) -> None:
    """rediss:// from settings: a TLS connection class with the CA, the client pair and
    the password; the repr and the logged target show host:port/db only."""
    settings = load_settings(
        redis_url="rediss://cache.internal:6380/2",
        redis_password=SECRET,
        redis_ssl_cafile=tmp_path / "ca.pem",
        redis_ssl_certfile=tmp_path / "client.pem",
        redis_ssl_keyfile=tmp_path / "client.key",
    )
    store = RedisStore.from_settings(settings)
    kwargs = kwargs_of(store)
    assert store.tls is True
    assert kwargs["ssl_ca_certs"] == str(tmp_path / "ca.pem")
    assert kwargs["ssl_certfile"] == str(tmp_path / "client.pem")
    assert kwargs["ssl_keyfile"] == str(tmp_path / "client.key")
    assert kwargs["password"] == SECRET
    assert store.target == "cache.internal:6380/2"
    assert SECRET not in repr(store) and "tls=True" in repr(store)
    await store.aclose()


async def test_a_password_inside_a_rediss_url_is_never_shown() -> None:
    """The URL's password reaches redis-py but not the repr, the target or describe()."""
    settings = load_settings(redis_url=f"rediss://app:{SECRET}@cache:6380/0")
    store = RedisStore.from_settings(settings)
    assert kwargs_of(store)["password"] == SECRET and store.tls
    for text in (repr(store), store.target, str(settings.describe()), repr(settings)):
        assert SECRET not in text
    await store.aclose()


async def test_plain_redis_is_not_tls() -> None:
    """redis:// without TLS files: a plain connection."""
    store = RedisStore("redis://127.0.0.1:6379/0")
    assert store.tls is False and "ssl_ca_certs" not in kwargs_of(store)
    await store.aclose()


def test_tls_files_without_rediss_or_a_key_without_its_cert_are_refused(tmp_path: Path) -> None:
    """Built in code (settings refuse these too): a ConfigurationError, no password in it."""
    with pytest.raises(ConfigurationError, match="rediss://") as caught:
        RedisStore(f"redis://:{SECRET}@cache:6379/0", ssl_cafile=tmp_path / "ca.pem")
    assert SECRET not in str(caught.value)
    with pytest.raises(ConfigurationError, match="certificate"):
        RedisStore("rediss://cache:6380/0", ssl_keyfile=tmp_path / "client.key")


def test_a_url_without_a_scheme_names_the_variable_to_fix() -> None:
    """`PITCHCAST_REDIS_URL=localhost:6379` (the scheme forgotten): the worker's error
    names the variables the user sets, as every other settings error does."""
    with pytest.raises(ConfigurationError) as info:
        RedisStore("localhost:6379")
    assert str(info.value).startswith("PITCHCAST_REDIS_URL is not a valid Redis URL")
    assert "PITCHCAST_REDIS_PASSWORD" in str(info.value)
