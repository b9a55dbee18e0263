"""`pitchcast replay` on a real broker: what it does before it sends."""

from __future__ import annotations

import time

import pytest

from pitchcast.exceptions import ConfigurationError
from pitchcast.settings import load_settings
from pitchcast.streams.replay import plan_replay, replay
from tests.support.pipeline import DATA
from tests.support.utils import UniqueName

pytestmark = pytest.mark.integration


async def test_a_missing_events_topic_is_named_before_anything_is_sent(
    kafka_bootstrap: str, unique_name: UniqueName
) -> None:
    """A replay started before the worker (or `pitchcast topics`) made the events topic,
    or with a typo in PITCHCAST_TOPIC_EVENTS: one clear error at once, as `tail` gives,
    not a minute of "not found in cluster metadata" and a traceback."""
    topic = unique_name("never-created")
    settings = load_settings(kafka_bootstrap_servers=kafka_bootstrap, topic_events=topic)
    plan = plan_replay(DATA / "events_metrica_1.csv")[:3]
    started = time.monotonic()
    with pytest.raises(ConfigurationError, match=f"topic {topic} does not exist"):
        await replay(settings, [plan], speed=None)
    assert time.monotonic() - started < 20
