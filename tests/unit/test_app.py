"""``pitchcast worker`` refuses at once, in one line, what faust would stop on later."""

from __future__ import annotations

import socket

import pytest

from pitchcast.app import run_worker
from pitchcast.exceptions import ConfigurationError
from pitchcast.settings import load_settings
from tests.support.redis_fixtures import free_port


def test_a_web_port_in_use_is_named_before_anything_starts() -> None:
    # Before: the topics were checked, the app built, and faust stopped on an OSError
    # traceback in the middle of its log (the broker here does not even answer).
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = load_settings(web_port=port, kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")
        with pytest.raises(ConfigurationError, match=f"127.0.0.1:{port}.*PITCHCAST_WEB_PORT"):
            run_worker(settings)
