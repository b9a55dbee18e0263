"""Transport faults injected into a real worker (test doubles of the Kafka transport).

The chaos worker (:mod:`pitchcast.chaos.worker`) builds the same app as ``pitchcast
worker`` and then wraps what the agents send through, or what they are handed, with
one of these. The agents themselves run unchanged.

* ``lost-ack:RATE``: a send to the hand-off topic is written and acknowledged by the
  broker, and then, for a share ``RATE`` of sends, the acknowledgement is lost on the
  way back (the send raises after the write): the agent sends the same bytes again.
* ``dlq-fail:PATH``: every dead-letter send raises while the file ``PATH`` exists (the
  scenario creates and removes it): a dead-letter topic that is unavailable or refuses
  writes.
* ``kill-before-publish:BATCH``: the process SIGKILLs itself when it is about to
  publish the commentary record of batch ``BATCH`` (the LLM has answered it and its
  lines are stored; the record is not published).
* ``kill-after-publish:BATCH``: the process SIGKILLs itself 0.3 s after the commentary
  record of batch ``BATCH`` was acknowledged (before faust's next commit).
* ``skip:PARTITION:FIRST:COUNT``: the batch agent is never handed ``COUNT`` records of
  the events topic from offset ``FIRST`` of ``PARTITION``, and faust's consumer never
  sees them acked (faust's recovery race, as seen after restarts).
* ``changelog-drop``: in the first table recovery that has changelog records to replay,
  right after faust seeks its changelog partitions, one of them that needs records is
  moved to the end of its log: its records are consumed and never replayed, the state
  faust's lost fetch left behind (:mod:`pitchcast.agents.acks.recovery`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import orjson
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError

from pitchcast.app import Pitchcast

__all__ = ["apply"]

log = logging.getLogger("pitchcast.chaos")


class _Topic:
    """Delegates everything to the wrapped faust topic."""

    def __init__(self, topic: Any) -> None:
        self._topic = topic

    def get_topic_name(self) -> str:
        return str(self._topic.get_topic_name())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._topic, name)


class LostAckTopic(_Topic):
    """The record is written and acknowledged; the acknowledgement then gets lost."""

    def __init__(self, topic: Any, rate: float, seed: int = 7) -> None:
        super().__init__(topic)
        self.rate = rate
        self._rng = random.Random(seed)
        self.lost = 0

    async def send(self, **kwargs: Any) -> Awaitable[Any]:
        pending = await self._topic.send(**kwargs)
        if self._rng.random() >= self.rate:
            return pending

        async def ack_lost() -> Any:
            await pending  # the broker wrote the record and acknowledged it
            self.lost += 1
            log.warning("pitchcast.chaos.ack_lost", extra={"topic": self.get_topic_name()})
            raise KafkaTimeoutError("chaos: acknowledgement lost after the write")

        return ack_lost()


class FailingTopic(_Topic):
    """Every send raises while the file ``switch`` exists."""

    def __init__(self, topic: Any, switch: Path) -> None:
        super().__init__(topic)
        self.switch = switch
        self.refused = 0

    async def send(self, **kwargs: Any) -> Awaitable[Any]:
        if self.switch.exists():
            self.refused += 1
            raise KafkaConnectionError("chaos: the dead-letter topic refuses writes")
        return await self._topic.send(**kwargs)


class KillBeforePublish(_Topic):
    """SIGKILL this process when the commentary of ``batch_index`` is about to be sent."""

    def __init__(self, topic: Any, batch_index: int) -> None:
        super().__init__(topic)
        self.batch_index = batch_index

    async def send(self, **kwargs: Any) -> Awaitable[Any]:
        value = kwargs.get("value") or b"{}"
        if orjson.loads(value).get("batch_index") == self.batch_index:
            log.warning(
                "pitchcast.chaos.kill_before_publish", extra={"batch_index": self.batch_index}
            )
            logging.shutdown()
            os.kill(os.getpid(), signal.SIGKILL)
            await asyncio.sleep(3600)  # never reached
        return await self._topic.send(**kwargs)


class KillAfterPublish(_Topic):
    """SIGKILL this process ``delay_s`` after the commentary of ``batch_index`` was
    acknowledged (its published marker set, its records acked; under exactly_once its
    transaction not yet committed)."""

    def __init__(self, topic: Any, batch_index: int, delay_s: float = 0.3) -> None:
        super().__init__(topic)
        self.batch_index = batch_index
        self.delay_s = delay_s

    async def send(self, **kwargs: Any) -> Awaitable[Any]:
        pending = await self._topic.send(**kwargs)
        value = kwargs.get("value") or b"{}"
        if orjson.loads(value).get("batch_index") != self.batch_index:
            return pending

        async def then_kill() -> Any:
            metadata = await pending

            def kill() -> None:
                log.warning("pitchcast.chaos.kill_after_publish", extra={"batch": self.batch_index})
                logging.shutdown()
                os.kill(os.getpid(), signal.SIGKILL)

            asyncio.get_running_loop().call_later(self.delay_s, kill)
            return metadata

        return then_kill()


def _skip(pitchcast: Pitchcast, partition: int, first: int, count: int) -> None:
    agent = pitchcast.batch_agent
    process = agent.process
    skipped: set[int] = set()
    events = pitchcast.settings.topic_events

    # faust never handed them over, so it never acks them either.
    from pitchcast.agents.acks.offsets import DedupedAckConsumer

    ack = DedupedAckConsumer.ack

    def ack_unless_skipped(consumer: Any, message: Any) -> bool:
        tp = message.tp
        if tp.topic == events and tp.partition == partition and message.offset in skipped:
            return False
        return bool(ack(consumer, message))

    DedupedAckConsumer.ack = ack_unless_skipped  # type: ignore[method-assign]

    async def maybe_process(**kwargs: Any) -> None:
        offset = kwargs["offset"]
        hit = kwargs["topic"] == events and kwargs["partition"] == partition
        if hit and first <= offset < first + count and offset not in skipped:
            skipped.add(offset)
            log.warning("pitchcast.chaos.skipped", extra={"partition": partition, "offset": offset})
            return  # never handed to the agent
        await process(**kwargs)

    agent.process = maybe_process  # type: ignore[method-assign]


def _drop_changelog(pitchcast: Pitchcast) -> None:
    app: Any = pitchcast.app
    recovery = app.tables.recovery
    seek = recovery._seek_offsets  # faust-streaming 0.15.3: Recovery._seek_offsets
    dropped = False

    async def seek_then_drop(consumer: Any, tps: Any, offsets: Any, title: str) -> None:
        nonlocal dropped
        await seek(consumer, tps, offsets, title)
        if dropped or title != "active":
            return
        highwaters = recovery.active_highwaters
        needing = sorted(tp for tp in tps if highwaters.get(tp, -1) > offsets.get(tp, -1))
        if not needing:
            return
        tp = needing[0]
        end = highwaters[tp] + 1
        await consumer.seek_wait({tp: end})
        dropped = True
        log.warning(
            "pitchcast.chaos.changelog_dropped",
            extra={"partition": tp.partition, "offset": end, "replayed": offsets.get(tp, -1)},
        )

    recovery._seek_offsets = seek_then_drop


def apply(pitchcast: Pitchcast, injections: list[str]) -> None:
    """Wrap the app's transport as ``injections`` say (see the module docstring)."""
    batch_agent = pitchcast.batch_agent
    publisher: Any = pitchcast.commentary_agent.publisher  # agents/publisher.KafkaPublisher
    for injection in injections:
        name, _, args = injection.partition(":")
        parts = args.split(":") if args else []
        if name == "lost-ack":
            batch_agent._batches = LostAckTopic(batch_agent._batches, float(parts[0]))
        elif name == "dlq-fail":
            letters = batch_agent._dead_letters  # shared by both agents
            letters._topic = FailingTopic(letters._topic, Path(args))
        elif name == "kill-before-publish":
            publisher.commentary_topic = KillBeforePublish(
                publisher.commentary_topic, int(parts[0])
            )
        elif name == "kill-after-publish":
            publisher.commentary_topic = KillAfterPublish(publisher.commentary_topic, int(parts[0]))
        elif name == "skip":
            _skip(pitchcast, int(parts[0]), int(parts[1]), int(parts[2]))
        elif name == "changelog-drop":
            _drop_changelog(pitchcast)
        else:
            raise ValueError(f"unknown injection {injection!r}")
        log.warning("pitchcast.chaos.injected", extra={"injection": injection})
