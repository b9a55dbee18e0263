"""Topic administration without a broker: what `pitchcast topics` and the worker say."""

from __future__ import annotations

import pytest

from pitchcast.exceptions import ConfigurationError
from pitchcast.settings import load_settings
from pitchcast.streams.admin import ensure_topics, partition_count
from tests.support.redis_fixtures import free_port


async def test_topics_with_no_broker_say_what_to_check() -> None:
    """`pitchcast topics`, `worker` and `demo --no-stack` at an address where no broker
    answers: the address and the setting to check, in one line."""
    servers = f"127.0.0.1:{free_port()}"
    settings = load_settings(kafka_bootstrap_servers=servers)
    for attempt in (ensure_topics(settings), partition_count(settings, "t")):
        with pytest.raises(ConfigurationError) as caught:
            await attempt
        message = str(caught.value)
        assert message.startswith(f"cannot reach Kafka at {servers}")
        assert "PITCHCAST_KAFKA_BOOTSTRAP_SERVERS" in message
