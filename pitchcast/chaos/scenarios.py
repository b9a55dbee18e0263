"""The fault scenarios by name, and the LLM modes each runs in by command.

Each scenario is an async function of a :class:`~.setup.Setup` (profile ``ci`` or
``full``, the broker, a work folder, the LLM mode) returning its
:class:`~.check.Figures`: the common promises (:mod:`pitchcast.chaos.check`) plus what
the scenario checks itself. The CI tests (``tests/faults``) run the ``ci`` profile;
``pitchcast chaos SCENARIO --full`` (or ``scripts/chaos``) runs the full one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pitchcast.chaos import cluster_faults, input_faults, process_faults
from pitchcast.chaos.check import Figures
from pitchcast.chaos.setup import Setup

__all__ = ["MODES", "SCENARIOS", "Setup"]

SCENARIOS: dict[str, Callable[[Setup], Awaitable[Figures]]] = {
    "sigkill": process_faults.sigkill,
    "rebalance": process_faults.rebalance,
    "changelog-stall": process_faults.changelog_stall,
    "broker-stop": process_faults.broker,
    "redis": process_faults.redis,
    "kill-before-publish": process_faults.kill_before_publish,
    "llm-faults": input_faults.llm_faults,
    "malformed": input_faults.malformed,
    "lost-ack": input_faults.lost_ack,
    "dlq-fail": input_faults.dlq_fail,
    "skip": input_faults.skip,
    "idle": process_faults.idle,
    "exactly-once": process_faults.exactly_once,
    # On a private three-node cluster (chaos/cluster_faults.py).
    "leader-kill": cluster_faults.leader_kill,
    "broker-pause": cluster_faults.broker_pause,
    "controller-kill": cluster_faults.controller_kill,
    "cluster": cluster_faults.all_three,  # the three above in one match (CI)
}
# The LLM modes each scenario runs in by command (live is pitchcast's default mode).
MODES: dict[str, tuple[str, ...]] = {
    "sigkill": ("live", "batch"),
    "rebalance": ("live", "batch"),
    "kill-before-publish": ("live", "batch"),
    "llm-faults": ("live", "batch"),
}
