"""/ready decides from assignment, broker, Redis and breaker, with meaningful codes."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from faust.types import TP

from pitchcast.commentary.breaker import CircuitBreaker
from pitchcast.settings import load_settings
from pitchcast.web import Readiness
from tests.support.utils import FakeClock

SETTINGS = load_settings(topic_events="ev", topic_batches="ba")


@dataclass
class FakeApp:
    assignment: set[TP] = field(default_factory=lambda: {TP("ev", 0), TP("ba", 0), TP("x", 1)})
    rebalancing: bool = False

    @property
    def consumer(self) -> Any:
        return SimpleNamespace(assignment=lambda: self.assignment)

    @property
    def tables(self) -> Any:
        return SimpleNamespace(recovery=SimpleNamespace(in_recovery=False))


class Probe:
    def __init__(self) -> None:
        self.calls = 0
        self.error: Exception | None = None

    async def __call__(self) -> int:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return 1


def _writer(*, redis_up: bool = True, breaker: CircuitBreaker | None = None) -> Any:
    store = SimpleNamespace(enabled=True, available=redis_up, target="127.0.0.1:6379/0")
    return SimpleNamespace(store=store, breaker=breaker or CircuitBreaker(1, 30), endpoint="e")


def _readiness(
    app: FakeApp, writer: Any, probe: Probe, clock: FakeClock | None = None
) -> Readiness:
    readiness = Readiness(
        app, settings=SETTINGS, writer=writer, broker_probe=probe, clock=clock or FakeClock()
    )
    readiness.on_assigned()
    return readiness


async def test_all_good_is_200_ready() -> None:
    """Assigned, broker answers, Redis up, breaker closed: 200 ready, partitions listed."""
    code, body = await _readiness(FakeApp(), _writer(), Probe()).check()
    assert code == 200 and body["status"] == "ready"
    assert body["checks"]["assignment"]["partitions"] == {"ba": [0], "ev": [0]}


async def test_before_assignment_and_during_rebalance_is_503() -> None:
    """No assignment yet, or a rebalance in progress: 503 naming the assignment check."""
    app = FakeApp()
    readiness = Readiness(app, settings=SETTINGS, writer=_writer(), broker_probe=Probe())
    code, body = await readiness.check()
    assert code == 503 and body["failing"] == ["assignment"]
    assert body["checks"]["assignment"]["state"] == "waiting_for_assignment"
    readiness.on_assigned()
    app.rebalancing = True
    code, body = await readiness.check()
    assert code == 503 and body["checks"]["assignment"]["state"] == "rebalancing"


async def test_unreachable_broker_is_503_and_probed_once_per_period() -> None:
    """A failing metadata request is 503; the answer is cached, then probed again."""
    probe, clock = Probe(), FakeClock()
    probe.error = ConnectionError("refused")
    readiness = _readiness(FakeApp(), _writer(), probe, clock)
    for _ in range(3):
        code, body = await readiness.check()
        assert code == 503 and body["failing"] == ["broker"]
        assert body["checks"]["broker"]["error_kind"] == "ConnectionError"
    assert probe.calls == 1
    probe.error = None
    clock.now += 10
    code, _ = await readiness.check()
    assert code == 200 and probe.calls == 2


async def test_redis_down_or_breaker_open_is_degraded_200_or_strict_503() -> None:
    """The pipeline runs on without Redis or the LLM: 200 degraded, 503 with ?strict=1."""
    breaker = CircuitBreaker(1, 30)
    breaker.record_failure()
    readiness = _readiness(FakeApp(), _writer(redis_up=False, breaker=breaker), Probe())
    code, body = await readiness.check()
    assert code == 200 and body["status"] == "degraded"
    assert body["degraded"] == ["redis", "breaker"]
    assert body["checks"]["breaker"] == {"status": "degraded", "state": "open", "endpoint": "e"}
    code, _ = await readiness.check(strict=True)
    assert code == 503


def test_a_web_address_the_worker_cannot_take_is_one_line_naming_the_setting() -> None:
    """`pitchcast worker` checks its web address before faust starts: a port in use names
    the port setting; a host that does not resolve or is not this machine's names
    PITCHCAST_WEB_HOST (before, faust stopped the worker with a gaierror traceback, and an
    address not on this host was blamed on the port)."""
    import socket

    from pitchcast.exceptions import ConfigurationError
    from pitchcast.settings import load_settings
    from pitchcast.web import require_web_port

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigurationError, match="PITCHCAST_WEB_PORT") as caught:
            require_web_port(load_settings(web_port=port))
        assert "PITCHCAST_WEB_HOST" not in str(caught.value)
    for host in ("no-such-host.invalid", "192.0.2.1"):  # unresolvable; TEST-NET-1, not ours
        with pytest.raises(ConfigurationError) as caught:
            require_web_port(load_settings(web_host=host, web_port=18199))
        message = str(caught.value)
        assert f"cannot listen on {host}:18199" in message
        assert "PITCHCAST_WEB_HOST" in message and "PITCHCAST_WEB_PORT" not in message
