"""``pitchcast worker`` refuses at once, in one line, what faust would stop on later;
create_app: what building the worker's app needs of the machine (no broker)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from pitchcast.app import create_app, run_worker
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


def test_the_data_dir_is_created_with_its_parents(tmp_path: Path) -> None:
    """faust makes only the last level of its data dir: `pitchcast worker` from a fresh
    directory stopped at start with FileNotFoundError on `.pitchcast/worker`."""
    data_dir = tmp_path / "fresh" / ".pitchcast" / "worker"
    create_app(load_settings(data_dir=data_dir, kafka_bootstrap_servers="127.0.0.1:1"))
    assert data_dir.is_dir()


def test_the_worker_collects_the_young_generation_less_often() -> None:
    import gc

    from pitchcast.app import GC_THRESHOLDS, tune_collector

    before = gc.get_threshold()
    try:
        tune_collector()
        assert gc.get_threshold() == GC_THRESHOLDS
        assert GC_THRESHOLDS[0] > before[0]
        assert gc.get_freeze_count() > 0  # start-up objects are never walked again
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


async def test_the_worker_collects_the_oldest_generation_on_a_timer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With GC_THRESHOLDS the oldest generation is almost never collected by itself: the
    worker's timer does it (httpx's request/response cycles held their bodies for a round:
    the soak's RSS grew ~3 MB a minute)."""
    import gc
    import inspect

    app = create_app(load_settings(kafka_bootstrap_servers="127.0.0.1:1")).app
    (timer,) = [t for t in app._app_tasks if t.__name__ == "collect_old"]
    calls: list[tuple[object, ...]] = []
    monkeypatch.setattr(gc, "collect", lambda *args: calls.append(args) or 0)
    await inspect.unwrap(timer)()  # the body, without faust's timer loop
    assert calls == [()]  # every generation


def test_a_data_dir_that_cannot_be_made_is_named_in_one_line(tmp_path: Path) -> None:
    """PITCHCAST_DATA_DIR under a file (or a read-only mount): `pitchcast worker` stopped
    with a FileNotFoundError / NotADirectoryError traceback; now one line names the
    setting."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    settings = load_settings(data_dir=blocker / "worker", kafka_bootstrap_servers="127.0.0.1:1")
    with pytest.raises(ConfigurationError) as caught:
        create_app(settings)
    message = str(caught.value)
    assert f"cannot create {blocker / 'worker'} (" in message
    assert "PITCHCAST_DATA_DIR" in message and "\n" not in message


def test_bootstrap_servers_listed_with_spaces_reach_faust_without_them(tmp_path: Path) -> None:
    # "a:9092, b:9094" works for aiokafka (it strips each entry); faust was given
    # kafka:// b:9094, a host name starting with a space that no resolver finds.
    settings = load_settings(data_dir=tmp_path, kafka_bootstrap_servers="a:9092, b:9094 ")
    brokers = create_app(settings).app.conf.broker
    assert [(url.host, url.port) for url in brokers] == [("a", 9092), ("b", 9094)]
