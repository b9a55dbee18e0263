"""The commentary agent's intake: an unreadable hand-off record and its dead letter."""

from __future__ import annotations

from typing import Any

import pytest

from pitchcast.agents.commentary import CommentaryAgent
from pitchcast.agents.output import DeadLetters
from pitchcast.cache import RedisStore
from pitchcast.commentary.backends.template import TemplateBackend
from pitchcast.commentary.service import CommentaryService
from pitchcast.exceptions import DeliveryFailed
from pitchcast.metrics import Metrics
from pitchcast.settings import load_settings


class Topic:
    """A topic whose sends are acknowledged, or refused."""

    def __init__(self, *, refuse: bool = False) -> None:
        self.refuse = refuse
        self.sent: list[bytes] = []

    def get_topic_name(self) -> str:
        return "dlq"

    async def send(self, *, key: Any, value: bytes, headers: Any = None, force: bool) -> Any:
        if self.refuse:
            raise ConnectionError("the dead-letter topic refuses writes")
        self.sent.append(value)

        async def acked() -> None:
            return None

        return acked()


def _agent(dlq: Topic, crashes: list[BaseException]) -> CommentaryAgent:
    metrics = Metrics()
    store = RedisStore(enabled=False, metrics=metrics)
    writer = CommentaryService(TemplateBackend(), TemplateBackend(), store, metrics=metrics)

    async def crash(exc: BaseException) -> None:
        crashes.append(exc)

    return CommentaryAgent(
        settings=load_settings(),
        writer=writer,
        commentary_topic=Topic(),
        dead_letters=DeadLetters(dlq, value_cap=1024, metrics=metrics, budget_s=0.3),
        metrics=metrics,
        crash=crash,
    )


async def test_an_unreadable_record_is_dead_lettered_then_acked() -> None:
    """A record that is not a hand-off record goes to the dead-letter topic, then is acked."""
    dlq, crashes, acks = Topic(), [], []
    agent = _agent(dlq, crashes)

    async def ack() -> None:
        acks.append(1)

    await agent.submit(key=b"1", value=b"{oops", partition=0, offset=7, ack=ack)
    assert len(dlq.sent) == 1 and acks == [1] and crashes == []


async def test_an_undeliverable_dead_letter_stops_the_worker_without_acking() -> None:
    """Issue 7.5: the record is neither acked nor left behind while the agent goes on."""
    dlq, crashes, acks = Topic(refuse=True), [], []
    agent = _agent(dlq, crashes)

    async def ack() -> None:
        acks.append(1)

    with pytest.raises(DeliveryFailed):
        await agent.submit(key=b"1", value=b"{oops", partition=0, offset=7, ack=ack)
    assert acks == [] and len(crashes) == 1 and isinstance(crashes[0], DeliveryFailed)
    assert agent.metrics.get("worker_stops", reason="DeliveryFailed") == 1
