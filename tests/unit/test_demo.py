"""``pitchcast demo``'s worker: it runs with the settings the demo's options give."""

from __future__ import annotations

from pitchcast.demo import worker_env
from pitchcast.settings import load_settings


def test_the_demo_worker_runs_at_the_density_and_personas_of_the_options() -> None:
    # `pitchcast demo --density every --personas CASTER,FRIEND` with PITCHCAST_DENSITY=key
    # in the environment: the options win, as they do for every other command.
    settings = load_settings(density="every", personas=["CASTER", "FRIEND"])
    env = worker_env(settings, {"PITCHCAST_DENSITY": "key", "PATH": "/usr/bin"})
    assert env["PITCHCAST_DENSITY"] == "every"
    assert env["PITCHCAST_PERSONAS"] == "CASTER,FRIEND"
    assert env["PATH"] == "/usr/bin"


def test_the_demo_worker_talks_to_the_stack_the_demo_started() -> None:
    settings = load_settings(
        kafka_bootstrap_servers="127.0.0.1:19092", redis_url="redis://127.0.0.1:16379/0"
    )
    env = worker_env(settings, {})
    assert env["PITCHCAST_KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:19092"
    assert env["PITCHCAST_REDIS_URL"] == "redis://127.0.0.1:16379/0"
