"""create_app: what building the worker's app needs of the machine, no broker."""

from __future__ import annotations

from pathlib import Path

from pitchcast.app import create_app
from pitchcast.settings import load_settings


def test_the_data_dir_is_created_with_its_parents(tmp_path: Path) -> None:
    """faust makes only the last level of its data dir: `pitchcast worker` from a fresh
    directory stopped at start with FileNotFoundError on `.pitchcast/worker`."""
    data_dir = tmp_path / "fresh" / ".pitchcast" / "worker"
    create_app(load_settings(data_dir=data_dir, kafka_bootstrap_servers="127.0.0.1:1"))
    assert data_dir.is_dir()
