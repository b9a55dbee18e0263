"""``pitchcast worker`` with faust's start-of-assignment skip planted (issue 18).

faust-streaming 0.15.3 can hand a partition's records over from past its committed
offset after "Seek stream partitions to committed offsets" (faust-streaming/faust#596;
pitchcast/agents/acks/handoff.py). Here the consumer, right after faust's own seek, seeks
the hand-off partitions named in ``PITCHCAST_TEST_SKIP_TO`` (``"0:5,1:6"``: partition 0
to offset 5, partition 1 to 6) once, through faust's ``Consumer.seek`` (its read offsets
follow): the records between the committed offset and there are never handed over by
faust, as in the race. Run as ``python -m tests.support.skipping_worker worker``.
"""

from __future__ import annotations

import os

from faust.types import TP

from pitchcast.agents.acks.offsets import DedupedAckConsumer


def plant_skip() -> None:
    topic = os.environ["PITCHCAST_TOPIC_BATCHES"]
    targets = {
        int(partition): int(offset)
        for partition, offset in (
            pair.split(":") for pair in os.environ["PITCHCAST_TEST_SKIP_TO"].split(",")
        )
    }
    original = DedupedAckConsumer.perform_seek
    planted: set[int] = set()

    async def perform_seek(self: DedupedAckConsumer) -> None:
        await original(self)
        for partition, offset in targets.items():
            tp = TP(topic, partition)
            if partition not in planted and tp in self.assignment():
                planted.add(partition)
                await self.seek(tp, offset)

    DedupedAckConsumer.perform_seek = perform_seek  # type: ignore[method-assign]


if __name__ == "__main__":
    plant_skip()
    from pitchcast.cli import main

    main()
