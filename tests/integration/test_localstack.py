"""`pitchcast stack`: the local Kafka broker and Redis start, report, and stop cleanly.

Runs a second stack on free ports with its own directory, next to any stack already
running; it reuses the jar cache (~/.cache/pitchcast), so only the first run on a
machine pays for the Maven resolution.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from pitchcast.exceptions import StackError
from pitchcast.localstack import LocalStack
from pitchcast.settings import load_settings
from tests.support.utils import unavailable


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _gone(pid: int) -> bool:
    """True when ``pid`` no longer runs (a zombie waiting for init to reap it counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] in ("Z", "X")


def _stack(root: Path) -> LocalStack:
    kafka, controller, redis = _free_ports(3)
    settings = load_settings(
        stack_dir=root,
        stack_kafka_port=kafka,
        stack_kafka_controller_port=controller,
        stack_redis_port=redis,
    )
    return LocalStack(settings, ready_timeout_s=45.0)


def _require(*tools: str) -> None:
    """Skip without the tools; in CI (CI=true) a missing tool is a failure."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        reason = f"the local stack needs {', '.join(missing)} (see scripts/bootstrap)"
        unavailable(reason)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[LocalStack]:
    """A stack on free ports in a temporary directory, always stopped afterwards."""
    _require("java", "mvn", "redis-server")
    local = _stack(tmp_path / "stack")
    yield local
    local.down(echo=lambda _line: None)


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_up_is_idempotent_and_down_leaves_nothing(stack: LocalStack) -> None:
    """Up twice keeps the same processes, status is True, down ends them and status is False."""
    first: list[str] = []
    stack.up(echo=first.append)
    pids = stack.pids()
    assert pids["kafka"] and pids["redis"], first
    assert stack.status(echo=lambda _line: None) is True
    assert any("server.log" in line for line in first), first  # says where the logs are

    again: list[str] = []
    stack.up(echo=again.append)
    assert stack.pids() == pids
    assert any("already running" in line for line in again), again

    stack.down(echo=lambda _line: None)
    assert stack.pids() == {"kafka": None, "redis": None}
    assert all(_gone(pid) for pid in pids.values() if pid)
    assert stack.status(echo=lambda _line: None) is False


def test_port_held_by_a_stranger_is_refused(tmp_path: Path) -> None:
    """Up refuses, naming the port, when a process the stack did not start holds it."""
    _require("java", "redis-server")
    with socket.socket() as stranger:
        stranger.bind(("127.0.0.1", 0))
        stranger.listen()
        port = stranger.getsockname()[1]
        local = LocalStack(
            load_settings(
                stack_dir=tmp_path / "stack",
                stack_kafka_port=port,
                stack_kafka_controller_port=_free_ports(1)[0],
                stack_redis_port=_free_ports(1)[0],
            )
        )
        with pytest.raises(
            StackError, match=rf"port {port} for Kafka is taken by pid {os.getpid()}"
        ):
            local.up(echo=lambda _line: None)
    assert local.pids() == {"kafka": None, "redis": None}


def test_missing_tool_names_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without redis-server on PATH, up says how to install it and starts nothing."""
    _require("java")
    java = shutil.which("java")
    assert java is not None
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "java").symlink_to(java)
    monkeypatch.setenv("PATH", str(bin_dir))
    local = _stack(tmp_path / "stack")
    with pytest.raises(StackError, match=r"apt-get install -y redis-server"):
        local.up(echo=lambda _line: None)
    assert local.pids() == {"kafka": None, "redis": None}
