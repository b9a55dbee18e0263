"""The one exception tree of pitchcast. The class name is the dead-letter ``error_kind``.

Every error pitchcast raises on purpose is a :class:`PitchcastError`. The classes are
defined here, except three that belong to one module's own API (marked with their
module); a test walks the package and holds every exception class to this drawing.
Errors that callers may also catch as ``ValueError`` keep it as a second base (marked
``+ValueError``).

::

    PitchcastError
    ├── ConfigurationError          settings that cannot work (partition count mismatch, ...)
    ├── StackError                  the local Kafka/Redis stack could not start or stop
    │   └── PortTaken               a port it needs is held by a process it did not start
    ├── PhrasebookError             +ValueError: a mistake in the template's phrasebook,
    │                               naming the entry (the worker does not start)
    ├── PromptContentError          +ValueError: a mistake in the prompt's content file
    │                               (prompt.toml: glossary, examples), naming the entry
    ├── MetricError                 +ValueError: an undeclared metric, wrong labels, or a
    │                               write that does not fit the kind (a bug in the caller)
    ├── InvalidMessage              +ValueError: a message on an input topic that cannot
    │   │                           be processed
    │   ├── MessageTooLarge         value above the size cap, not decoded
    │   ├── UndecodableMessage      not UTF-8 or not JSON
    │   ├── SchemaViolation         JSON, but missing keys, wrong types, bad coordinates
    │   │   └── MalformedCsv        a match file row that does not fit (streams.feed_files)
    │   ├── ImplausibleAction       well-formed, but cannot be a real action of its match
    │   └── ImplausibleControl      well-formed, but a control that cannot be about its
    │                               match (a match_start naming other teams mid-match)
    ├── LateAction                  an action of a match that already ended
    ├── RefillIncomplete            a skipped offset range could not be read to its end
    │                               (agents.acks.ledger)
    ├── DlqError                    a dead-letter command that cannot be carried out as
    │                               asked (streams.dead_letters.tooling)
    ├── DeliveryFailed              Kafka did not acknowledge a send within the budget
    ├── LLMError                    the LLM could not give an answer
    │   ├── LLMTimeout
    │   ├── LLMUnavailable          connection refused, 5xx (``retry_after`` as below)
    │   │   └── LLMCircuitOpen      every endpoint's circuit breaker is open: not sent
    │   ├── LLMRateLimited          429, with ``retry_after`` seconds when the server said
    │   └── LLMBadResponse          a body that is not a completion (a broken endpoint)
    │       └── LLMRequestRefused   a permanent 4xx (400, 401, 403, 404, 422...; not 408
    │                               or 429): not retried, not an outage (``status``)
    ├── CommentaryRejected          the answer failed validation (``reasons``)
    └── CacheUnavailable            Redis did not answer; callers carry on without it
"""

from __future__ import annotations

__all__ = [
    "CacheUnavailable",
    "CommentaryRejected",
    "ConfigurationError",
    "DeliveryFailed",
    "ImplausibleAction",
    "ImplausibleControl",
    "InvalidMessage",
    "LLMBadResponse",
    "LLMCircuitOpen",
    "LLMError",
    "LLMRateLimited",
    "LLMRequestRefused",
    "LLMTimeout",
    "LLMUnavailable",
    "LateAction",
    "MessageTooLarge",
    "MetricError",
    "PhrasebookError",
    "PitchcastError",
    "PortTaken",
    "PromptContentError",
    "SchemaViolation",
    "StackError",
    "UndecodableMessage",
]


class PitchcastError(Exception):
    """Root of every error pitchcast raises on purpose."""

    @property
    def kind(self) -> str:
        """Stable name of the error, used as the dead-letter ``error_kind``."""
        return type(self).__name__


class ConfigurationError(PitchcastError):
    """The settings cannot work together or with the cluster."""


class StackError(PitchcastError):
    """The local development stack (Kafka, Redis) failed."""


class PortTaken(StackError):
    """A port the local stack needs is held by a process it did not start (a Kafka or a
    Redis already running, say)."""


class PhrasebookError(PitchcastError, ValueError):
    """The phrasebook has a mistake; the message names the entry and the problem."""


class PromptContentError(PitchcastError, ValueError):
    """``prompt.toml`` (glossary, examples) has a mistake; the message says where."""


class MetricError(PitchcastError, ValueError):
    """An undeclared family, wrong labels, or a write that does not fit the kind."""


class InvalidMessage(PitchcastError, ValueError):
    """An input message that cannot be processed; it goes to the dead-letter topic."""


class MessageTooLarge(InvalidMessage):
    """The value is larger than the size cap and was not decoded."""


class UndecodableMessage(InvalidMessage):
    """The value is not valid UTF-8 JSON."""


class SchemaViolation(InvalidMessage):
    """The JSON does not match the message contract."""


class ImplausibleAction(InvalidMessage):
    """A well-formed action that cannot be real: an earlier period after a later one
    started, a skipped period, a team not in the match, or an action_id far beyond the
    match's previous one."""


class ImplausibleControl(InvalidMessage):
    """A well-formed control that cannot be about this match: a ``match_start`` naming
    other teams while the match is under way."""


class LateAction(PitchcastError):
    """An action of a match that already ended (after ``match_end``, no new start)."""


class DeliveryFailed(PitchcastError):
    """A send was not acknowledged by Kafka within the delivery budget.

    The record being processed is not acked; the worker stops, and the record is read
    again after the restart."""


class LLMError(PitchcastError):
    """The LLM call failed."""


class LLMTimeout(LLMError):
    """The LLM did not answer in time."""


class LLMUnavailable(LLMError):
    """The LLM endpoint is down (connection error, 5xx, open circuit). ``retry_after``:
    the seconds a 5xx's ``Retry-After`` header asked for (a 503 from a proxy or a
    scaling route), when it said."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LLMRateLimited(LLMError):
    """The endpoint answered 429."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LLMCircuitOpen(LLMUnavailable):
    """No request was sent: the circuit breaker of every LLM endpoint is open."""


class LLMBadResponse(LLMError):
    """The endpoint sent something that is not a completion (or refused the request)."""


class LLMRequestRefused(LLMBadResponse):
    """The endpoint refused this request for good: an HTTP 4xx other than 408 and 429,
    or an error event of that class. The endpoint is up, so this is not an outage and
    retrying the same request cannot help. ``status`` is the HTTP status when known;
    ``context_length``: the server said the prompt (with max_tokens) is longer than its
    context (vLLM's "maximum context length", OpenAI's ``context_length_exceeded``)."""

    def __init__(
        self, message: str, *, status: int | None = None, context_length: bool = False
    ) -> None:
        super().__init__(message)
        self.status = status
        self.context_length = context_length


class CommentaryRejected(PitchcastError):
    """The LLM answer failed validation."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons) if reasons else "rejected")
        self.reasons = reasons


class CacheUnavailable(PitchcastError):
    """Redis did not answer."""
