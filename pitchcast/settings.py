"""Every setting of pitchcast, read once from ``PITCHCAST_*`` environment variables.

This is the only module that reads the environment. Everything else receives a
:class:`Settings` (or the values it needs) through its constructor.

Combinations that cannot work are refused when the settings are built (one
``ValueError`` listing every problem, never quoting a secret): SASL without a user or
password, a client key without its certificate, Redis TLS files without a ``rediss://``
URL, LLM URLs that carry credentials or repeat, API keys that do not pair with the URLs,
and (with the ``openai`` backend) timeouts or retry counts that do not fit the batch
deadline (:mod:`pitchcast.commentary.backends.timing` states the rule).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from pitchcast.exceptions import ConfigurationError

__all__ = [
    "FRIEND_SUPPORTS_MAX_CHARS",
    "PERSONAS",
    "Persona",
    "Settings",
    "base_backoff",
    "describe_invalid",
    "env_text",
    "load_settings",
    "max_attempts_within",
    "min_time_for_attempts",
    "pair_keys",
    "split_list",
    "unknown_variables",
]

_KAFKA_NAME = re.compile(r"[A-Za-z0-9._-]+")
# host, [IPv6] or host:port, as aiokafka parses a bootstrap entry (port 9092 if none).
_BOOTSTRAP_ENTRY = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?")


def _bootstrap_entry_is_usable(entry: str) -> bool:
    """True when aiokafka can parse ``entry``; it raised a ValueError traceback for
    ``localhost:abc`` in every command that talks to Kafka."""
    match = _BOOTSTRAP_ENTRY.fullmatch(entry)
    return match is not None and (match[1] is None or 1 <= int(match[1]) <= 65535)


# A team name is short; a longer value is a mistake (a file pasted, a list).
FRIEND_SUPPORTS_MAX_CHARS = 40

Persona = Literal["CASTER", "ANALYST", "FRIEND"]
PERSONAS: tuple[Persona, ...] = ("CASTER", "ANALYST", "FRIEND")


class Settings(BaseSettings):
    """pitchcast configuration. Env var = ``PITCHCAST_`` + field name in upper case."""

    # hide_input_in_errors: a validation error must never echo a password or key.
    model_config = SettingsConfigDict(
        env_prefix="PITCHCAST_", frozen=True, extra="ignore", hide_input_in_errors=True
    )

    # --- Kafka -------------------------------------------------------------
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None

    # Topics. All match-keyed topics share one partition count (checked at start-up).
    topic_events: str = "match-events"
    topic_batches: str = "pitchcast-batches"
    topic_commentary: str = "commentary"
    topic_lines: str = "commentary-lines"
    topic_dlq: str = "commentary-dlq"
    # Publish each line to topic_lines as soon as it is valid (live display).
    publish_lines: bool = True
    partitions: int = Field(default=6, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    # min.insync.replicas of every topic pitchcast creates (faust's changelog too): with
    # acks=all, a write is acknowledged once this many replicas have it. 2 with 3 replicas.
    min_insync_replicas: int = Field(default=1, ge=1)
    create_topics: bool = True

    # A dead worker's partitions move to the others after this long without heartbeats.
    # The bounds are the broker's defaults for group.min/max.session.timeout.ms (6 s and
    # 30 min, Kafka's broker configs): outside them the worker's join was refused, a
    # traceback in faust's consumer thread instead of this one line.
    kafka_session_timeout_s: float = Field(default=30.0, ge=6, le=1800)
    # How often faust commits the offsets of processed records (its default).
    kafka_commit_interval_s: float = Field(default=2.8, gt=0)

    # The Faust app id is also the consumer group.
    app_id: str = "pitchcast"
    web_port: int = Field(default=6066, ge=1, le=65535)
    # 127.0.0.1 keeps the stats page local; 0.0.0.0 in a container to publish it.
    web_host: str = "127.0.0.1"
    data_dir: Path = Path(".pitchcast/worker")

    # --- Booth monitor (`pitchcast monitor`: reads the topics; not part of the worker) ---
    monitor_host: str = "127.0.0.1"
    monitor_port: int = Field(default=6070, ge=1, le=65535)
    # HTTP basic auth (any user name): required to bind anywhere but loopback. Never logged.
    monitor_password: SecretStr | None = None
    # How far back the monitor starts reading: a live match's match_start lies within it.
    monitor_lookback_s: float = Field(default=3 * 3600.0, gt=0)

    # --- Stream semantics --------------------------------------------------
    batch_size: int = Field(default=10, ge=1, le=100)
    idle_timeout_s: float = Field(default=30.0, gt=0)
    tick_interval_s: float = Field(default=5.0, gt=0)
    max_message_bytes: int = Field(default=65536, ge=1024)
    clamp_margin_m: float = Field(default=5.0, ge=0)
    dlq_value_cap_bytes: int = Field(default=8192, ge=256)
    # An action_id further than this beyond the match's previous one cannot be real: it
    # is dead-lettered (a typo or a corrupted id), never taken for the match's future.
    max_action_id_jump: int = Field(default=100_000, ge=1)
    # How long a send to Kafka is retried (same bytes) before the worker stops without
    # acking the record it was processing; it is read again after the restart.
    delivery_timeout_s: float = Field(default=120.0, gt=0)
    # The batch agent's hand-off window: at most this many input records whose hand-off
    # sends are out but not all acknowledged (their state not yet written, their offsets
    # not acked). Bounds memory; a stalled broker fills it and holds the agent back.
    handoff_window: int = Field(default=256, ge=1)
    # How often the window commits: the match states its acknowledged records decided
    # are written to the changelog (and their offsets acked) at most this often. 0:
    # after every produce response (a state write per record under load).
    handoff_commit_interval_s: float = Field(default=0.1, ge=0, le=5)
    # On a rebalance, how long the batch agent's records in progress may take to finish
    # before the partitions are given up; capped so that the whole revoke stays within
    # half the session timeout (agents/acks/revoke.py).
    revoke_grace_s: float = Field(default=10.0, gt=0)

    # --- Reliability (fault suite, RELIABILITY.md) ---------------------------
    # faust's processing guarantee. exactly_once (Kafka transactions, read_committed
    # consumers) was evaluated under SIGKILL and is not the default: RELIABILITY.md.
    processing_guarantee: Literal["at_least_once", "exactly_once"] = "at_least_once"

    # --- Redis -------------------------------------------------------------
    # rediss:// for TLS. A password here, or in the URL (percent-encoded); never logged.
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_password: SecretStr | None = None
    # TLS (rediss:// only): CA bundle to trust, and a client certificate + key if the
    # server asks for one. The system CAs are trusted when no CA file is given.
    redis_ssl_cafile: Path | None = None
    redis_ssl_certfile: Path | None = None
    redis_ssl_keyfile: Path | None = None
    redis_enabled: bool = True
    # Prefix of every key: deployments (or tests) sharing one Redis stay apart.
    redis_namespace: str = "pitchcast"
    cache_ttl_s: int = Field(default=3600, ge=1)
    # Short socket timeouts: a dead or unreachable Redis must cost milliseconds, not seconds.
    redis_socket_timeout_s: float = Field(default=0.25, gt=0)
    redis_connect_timeout_s: float = Field(default=0.25, gt=0)
    # During an outage, calls skip Redis and one call re-probes it this often.
    redis_probe_interval_s: float = Field(default=1.0, gt=0)
    # How long the "published" marker of a commentary_id is kept (redeliveries come sooner).
    published_ttl_s: int = Field(default=7 * 24 * 3600, ge=1)
    # How long the lines of a commentary are kept (a restart reuses them, never rewrites).
    lines_ttl_s: int = Field(default=7 * 24 * 3600, ge=60)
    # The per-batch lock outlives the batch deadline by this margin (holder crash -> expiry).
    lock_ttl_margin_s: float = Field(default=5.0, gt=0)
    # Upper bound of the lock loser's polling interval (it starts at 50 ms and doubles).
    lock_poll_max_s: float = Field(default=0.5, gt=0)

    # --- Commentary / LLM --------------------------------------------------
    personas: Annotated[tuple[Persona, ...], NoDecode] = ("CASTER",)
    llm_backend: Literal["template", "openai"] = "template"
    # What is told when (commentary/density.py): every action, one line per moment
    # (story), or key events only. The commentary record keeps one item per action.
    density: Literal["every", "story", "key"] = "story"
    # The team FRIEND backs (template/backing.py): a team id or name as match_info spells
    # it (id, Korean or English name); empty = neutral. A match without it: neutral.
    friend_supports: str = ""
    # live: each action's line is asked for as the action arrives (a few at a time, in
    # the batch's growing conversation); batch: the whole 10-action window in one request.
    llm_mode: Literal["live", "batch"] = "live"
    # Live requests (a few lines) get this long before the template writes what is left.
    llm_live_deadline_s: float = Field(default=8.0, gt=0)
    # Live, optional: the longest a line waits after its action reached the worker, the
    # wait for its lane included (a lane behind a slow endpoint then catches up with the
    # template: ``overdue``). Unset: each request gets the live deadline, however long
    # its rows waited. Off by default: a feed replayed faster than the LLM writes (tests,
    # catch-up after an outage) would get template lines for all but its first seconds.
    llm_live_max_wait_s: float | None = Field(default=None, gt=0)
    # Live: a burst of r new rows is r requests sent at once (forks of one cached prompt),
    # at most this many in flight per (match, persona); 1 = one request of r lines.
    llm_live_forks: int = Field(default=5, ge=1)
    # One or more OpenAI-compatible endpoints, comma-separated. A match sticks to one
    # (consistent hashing of its game_id) and fails over to the next one in its ring
    # order (commentary/backends/endpoints.py).
    llm_base_url: str = "http://127.0.0.1:8000/v1"
    # The same Bearer key for every endpoint...
    llm_api_key: SecretStr | None = None
    # ...or one per endpoint, comma-separated in the order of llm_base_url, an empty
    # entry for an endpoint without a key (e.g. "rpa_xxx," = RunPod first, local vLLM second).
    llm_api_keys: SecretStr | None = None
    llm_model: str = "skt/A.X-4.0-Light"
    llm_temperature: float = Field(default=0.7, ge=0, le=2)
    llm_top_p: float = Field(default=0.9, gt=0, le=1)
    llm_max_tokens: int = Field(default=600, ge=16)
    llm_stream: bool = True
    llm_structured_output: bool = True
    llm_connect_timeout_s: float = Field(default=3.0, gt=0)
    # Longest wait for the first byte and between two chunks of an answer. An attempt
    # that a retry may follow waits at most half the time left (backends/timing.py).
    llm_read_timeout_s: float = Field(default=10.0, gt=0)
    llm_batch_deadline_s: float = Field(default=25.0, gt=0)
    llm_max_in_flight: int = Field(default=8, ge=1)
    llm_retry_attempts: int = Field(default=4, ge=1)
    # No attempt starts with less than this left before the deadline.
    llm_min_attempt_s: float = Field(default=0.5, gt=0)
    # Backoff after the n-th failed attempt: min(max, initial * 2**(n-1)) plus jitter.
    llm_backoff_initial_s: float = Field(default=0.25, gt=0)
    llm_backoff_max_s: float = Field(default=4.0, gt=0)
    # Per endpoint: this many failed requests in a row open its breaker for reset_s.
    llm_breaker_failures: int = Field(default=5, ge=1)
    llm_breaker_reset_s: float = Field(default=30.0, gt=0)
    llm_warmup: bool = False

    # --- Local stack (machines without Docker) -----------------------------
    stack_dir: Path = Path(".pitchcast/stack")
    stack_kafka_port: int = Field(default=9092, ge=1, le=65535)
    stack_kafka_controller_port: int = Field(default=9093, ge=1, le=65535)
    stack_redis_port: int = Field(default=6379, ge=1, le=65535)
    stack_kafka_version: str = "4.1.1"
    # `stack up --brokers 3`: node i (0-based) listens on stack_kafka_port + 2i and its
    # controller on stack_kafka_controller_port + 2i.
    stack_brokers: Literal[1, 3] = 1
    # `stack up --secure`: SASL_SSL (SCRAM-SHA-512) + ACLs on Kafka, TLS + password on Redis.
    stack_secure: bool = False
    # `pitchcast chaos`: the first of the seven consecutive ports of a scenario's private
    # three-node cluster (node i: base + 2i, its controller base + 2i + 1); 0: free ones.
    chaos_port_base: int = Field(default=0, ge=0, le=65535 - 7)

    # --- Operations: logs (pitchcast/logs.py) -------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # text: one line with key=value context; json: one JSON object per line.
    log_format: Literal["text", "json"] = "text"
    # `pitchcast dlq replay` appends one JSON line per replayed record here.
    dlq_audit_file: Path = Path(".pitchcast/dlq-replays.jsonl")

    @field_validator("personas", mode="before")
    @classmethod
    def _split_personas(cls, value: Any) -> Any:
        # "CASTER,ANALYST" from the environment; a list or tuple from code.
        if isinstance(value, str):
            return tuple(p.strip().upper() for p in value.split(",") if p.strip())
        return value

    @field_validator("personas")
    @classmethod
    def _personas_not_empty(cls, value: tuple[Persona, ...]) -> tuple[Persona, ...]:
        if not value:
            raise ValueError("at least one persona is required (CASTER, ANALYST, FRIEND)")
        return tuple(dict.fromkeys(value))  # keep order, drop repeats

    @field_validator(
        "app_id", "topic_events", "topic_batches", "topic_commentary", "topic_lines", "topic_dlq"
    )
    @classmethod
    def _kafka_name(cls, value: str, info: ValidationInfo) -> str:
        # Kafka's rule for topic names; the app id also prefixes faust's changelog topic.
        longest = 200 if info.field_name == "app_id" else 249
        if not _KAFKA_NAME.fullmatch(value) or len(value) > longest:
            raise ValueError(
                f"PITCHCAST_{str(info.field_name).upper()} must be 1-{longest} letters, digits,"
                " '.', '_' or '-' (a Kafka topic or group name)"
            )
        return value

    @field_validator("friend_supports")
    @classmethod
    def _one_team(cls, value: str) -> str:
        value = " ".join(value.split())
        if "," in value:
            raise ValueError(
                "PITCHCAST_FRIEND_SUPPORTS names one team (a team id or its name as in "
                "match_info), not a list"
            )
        if len(value) > FRIEND_SUPPORTS_MAX_CHARS or not value.isprintable():
            raise ValueError(
                "PITCHCAST_FRIEND_SUPPORTS must be a team id or name of at most "
                f"{FRIEND_SUPPORTS_MAX_CHARS} printable characters"
            )
        return value

    @field_validator(
        "density", "llm_backend", "llm_mode", "log_format", "processing_guarantee", mode="before"
    )
    @classmethod
    def _lower_case_choice(cls, value: Any) -> Any:
        """A choice in any case (``Story``, ``OpenAI``), as the personas are read."""
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level", "kafka_security_protocol", "kafka_sasl_mechanism", mode="before")
    @classmethod
    def _upper_case_choice(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _combinations_that_can_work(self) -> Settings:
        problems = [
            *self._kafka_problems(),
            *self._replication_problems(),
            *self._redis_problems(),
            *self._llm_endpoint_problems(),
        ]
        if self.llm_backend == "openai":
            problems += self._llm_timing_problems()
        if problems:
            raise ValueError("settings that cannot work: " + "; ".join(problems))
        return self

    def _replication_problems(self) -> list[str]:
        if self.min_insync_replicas > self.replication_factor:
            return [
                f"PITCHCAST_MIN_INSYNC_REPLICAS={self.min_insync_replicas} exceeds "
                f"PITCHCAST_REPLICATION_FACTOR={self.replication_factor}: no write could succeed"
            ]
        return []

    def _kafka_problems(self) -> list[str]:
        problems = [
            f"PITCHCAST_KAFKA_BOOTSTRAP_SERVERS entry {entry!r} is not host:port "
            "(comma-separated, no scheme, e.g. 127.0.0.1:9092)"
            for entry in self.kafka_bootstrap_servers.split(",")
            if not _bootstrap_entry_is_usable(entry.strip())
        ]
        if self.kafka_security_protocol.startswith("SASL"):
            password = self.kafka_sasl_password
            if not self.kafka_sasl_username or not (password and password.get_secret_value()):
                problems.append(
                    f"PITCHCAST_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs "
                    "PITCHCAST_KAFKA_SASL_USERNAME and PITCHCAST_KAFKA_SASL_PASSWORD"
                )
        if self.kafka_ssl_keyfile and not self.kafka_ssl_certfile:
            problems.append(
                "PITCHCAST_KAFKA_SSL_KEYFILE is set without PITCHCAST_KAFKA_SSL_CERTFILE"
            )
        return problems

    def _redis_problems(self) -> list[str]:
        problems = []
        tls_files = (self.redis_ssl_cafile, self.redis_ssl_certfile, self.redis_ssl_keyfile)
        scheme = urlsplit(self.redis_url).scheme.lower()
        if scheme not in ("redis", "rediss", "unix"):
            problems.append(
                "PITCHCAST_REDIS_URL must start with redis://, rediss:// (TLS) or unix://,"
                " e.g. redis://127.0.0.1:6379/0"
            )
        elif any(tls_files) and scheme != "rediss":
            problems.append(
                "PITCHCAST_REDIS_SSL_* files need a rediss:// PITCHCAST_REDIS_URL "
                f"(the URL's scheme is {scheme or 'missing'!r})"
            )
        if self.redis_ssl_keyfile and not self.redis_ssl_certfile:
            problems.append(
                "PITCHCAST_REDIS_SSL_KEYFILE is set without PITCHCAST_REDIS_SSL_CERTFILE"
            )
        return problems

    def _llm_endpoint_problems(self) -> list[str]:
        urls = split_list(self.llm_base_url)
        problems = []
        if not urls:
            return ["PITCHCAST_LLM_BASE_URL lists no endpoint"]
        for position, url in enumerate(urls, start=1):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                problems.append(
                    f"PITCHCAST_LLM_BASE_URL entry {position} is not an http(s)://host/... URL"
                )
            elif parts.username is not None or parts.password is not None:
                problems.append(
                    f"PITCHCAST_LLM_BASE_URL entry {position} carries credentials: put the "
                    "key in PITCHCAST_LLM_API_KEY or PITCHCAST_LLM_API_KEYS"
                )
            elif problem := _route_problem(parts.hostname or "", parts.path.rstrip("/")):
                problems.append(f"PITCHCAST_LLM_BASE_URL entry {position} {problem}")
        if len({url.rstrip("/") for url in urls}) != len(urls):
            problems.append("PITCHCAST_LLM_BASE_URL lists an endpoint twice")
        try:
            self.llm_endpoint_keys()
        except ConfigurationError as exc:
            problems.append(str(exc))
        return problems

    def _llm_timing_problems(self) -> list[str]:
        deadline = self.llm_batch_deadline_s
        problems = []
        for name, value in (
            ("CONNECT_TIMEOUT_S", self.llm_connect_timeout_s),
            ("READ_TIMEOUT_S", self.llm_read_timeout_s),
        ):
            if value >= deadline:
                problems.append(
                    f"PITCHCAST_LLM_{name}={value:g} must be shorter than "
                    f"PITCHCAST_LLM_BATCH_DEADLINE_S={deadline:g}: a request that hangs "
                    "must be cut while a retry still fits in the deadline"
                )
        if self.llm_mode == "live":
            # A live burst with less than a minimum attempt left is not sent: at or above
            # the live deadline (or the longest wait) no live line would be the LLM's.
            for name, bound in (
                ("LIVE_DEADLINE_S", self.llm_live_deadline_s),
                ("LIVE_MAX_WAIT_S", self.llm_live_max_wait_s),
            ):
                if bound is not None and self.llm_min_attempt_s >= bound:
                    problems.append(
                        f"PITCHCAST_LLM_MIN_ATTEMPT_S={self.llm_min_attempt_s:g} must be "
                        f"shorter than PITCHCAST_LLM_{name}={bound:g}: no live request "
                        "would be sent, every line the template's"
                    )
        if self.llm_backoff_initial_s > self.llm_backoff_max_s:
            problems.append(
                f"PITCHCAST_LLM_BACKOFF_INITIAL_S={self.llm_backoff_initial_s:g} is above "
                f"PITCHCAST_LLM_BACKOFF_MAX_S={self.llm_backoff_max_s:g}"
            )
        timing = {
            "min_attempt_s": self.llm_min_attempt_s,
            "backoff_initial_s": self.llm_backoff_initial_s,
            "backoff_max_s": self.llm_backoff_max_s,
        }
        needed = min_time_for_attempts(self.llm_retry_attempts, **timing)
        if needed > deadline:
            fitting = max_attempts_within(deadline, **timing)
            problems.append(
                f"PITCHCAST_LLM_RETRY_ATTEMPTS={self.llm_retry_attempts} cannot fit in "
                f"PITCHCAST_LLM_BATCH_DEADLINE_S={deadline:g}: that many attempts of at least "
                f"PITCHCAST_LLM_MIN_ATTEMPT_S={self.llm_min_attempt_s:g} with the backoff "
                f"between them need {needed:.2f}s; at most {fitting} fit"
            )
        return problems

    def llm_endpoint_urls(self) -> tuple[str, ...]:
        """The endpoints of ``llm_base_url``, in order, without trailing slashes."""
        return tuple(url.rstrip("/") for url in split_list(self.llm_base_url))

    def llm_endpoint_keys(self) -> tuple[SecretStr, ...]:
        """One key per endpoint, aligned with :meth:`llm_endpoint_urls` (empty = none).
        Raises :class:`~pitchcast.exceptions.ConfigurationError` if they do not pair."""
        single = self.llm_api_key.get_secret_value() if self.llm_api_key else None
        listed = (
            split_list(self.llm_api_keys.get_secret_value(), keep_empty=True)
            if self.llm_api_keys
            else None
        )
        keys = pair_keys(len(split_list(self.llm_base_url)), api_key=single, api_keys=listed)
        return tuple(SecretStr(key) for key in keys)

    def __repr_args__(self) -> Any:
        # repr() and str(): SecretStr masks itself; a password inside the URL does not.
        for name, value in super().__repr_args__():
            if name == "redis_url" and isinstance(value, str):
                value = _mask_url_password(value)
            yield name, value

    def describe(self) -> dict[str, Any]:
        """The settings as a dict fit for logs: secrets masked, paths as text."""
        shown: dict[str, Any] = {}
        for name, value in self.model_dump().items():
            if isinstance(value, SecretStr):
                shown[name] = "**********" if value.get_secret_value() else ""
            elif name == "redis_url":
                shown[name] = _mask_url_password(value)
            elif isinstance(value, Path):
                shown[name] = str(value)
            else:
                shown[name] = value
        return shown

    def as_env(self) -> dict[str, str]:
        """The settings as their environment variables would be written, secrets masked:
        ``PITCHCAST_PERSONAS=CASTER,ANALYST``, booleans ``true``/``false``, unset empty."""
        return {
            f"PITCHCAST_{name.upper()}": env_text(value) for name, value in self.describe().items()
        }


def env_text(value: Any) -> str:
    """A setting's value as its environment variable is written (see :meth:`Settings.as_env`)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return ",".join(str(v) for v in value)
    return str(value)


def _route_problem(host: str, path: str) -> str | None:
    """What is wrong with an LLM endpoint URL's path, if anything: pitchcast appends
    ``/chat/completions`` itself, and RunPod speaks the OpenAI protocol on one route."""
    if path.endswith("/chat/completions"):
        return "ends in /chat/completions: give the URL up to /v1 (pitchcast adds the route)"
    parts = path.split("/")
    if host == "api.runpod.ai" and not path.endswith("/openai/v1"):
        route = f"https://api.runpod.ai/v2/{parts[2]}/openai/v1" if len(parts) > 2 else ""
        return "is a RunPod URL but not its OpenAI-compatible route: " + (
            route or "https://api.runpod.ai/v2/<endpoint id>/openai/v1"
        )
    return None


def split_list(value: str, *, keep_empty: bool = False) -> list[str]:
    """A comma-separated setting as a list of stripped entries (empty ones dropped
    unless ``keep_empty``: API key lists keep their positions)."""
    entries = [entry.strip() for entry in value.split(",")]
    if keep_empty:
        return entries if any(entries) else []
    return [entry for entry in entries if entry]


# The rules the settings check the LLM configuration with. The backend applies the same
# ones at run time (pitchcast.commentary.backends.endpoints and .timing import them).


def pair_keys(
    count: int, *, api_key: str | None = None, api_keys: Sequence[str | None] | None = None
) -> list[str]:
    """One key per endpoint ("" = send no Authorization header).

    ``api_keys`` (aligned with the URLs, empty entries for endpoints without a key) or
    ``api_key`` (the same key for every endpoint); not both. Messages never quote a key.
    """
    if api_keys:
        if api_key:
            raise ConfigurationError(
                "set PITCHCAST_LLM_API_KEY (one key for every endpoint) or "
                "PITCHCAST_LLM_API_KEYS (one per endpoint), not both"
            )
        if len(api_keys) != count:
            raise ConfigurationError(
                f"PITCHCAST_LLM_API_KEYS has {len(api_keys)} entries for {count} endpoint(s) "
                "in PITCHCAST_LLM_BASE_URL: give one per URL, in the same order "
                "(an empty entry for an endpoint without a key)"
            )
        return [key or "" for key in api_keys]
    return [api_key or ""] * count


def base_backoff(failed_attempts: int, *, initial_s: float, max_s: float) -> float:
    """The jitter-free wait after the ``failed_attempts``-th failed attempt (1-based)."""
    return min(max_s, initial_s * 2 ** max(failed_attempts - 1, 0))


def min_time_for_attempts(
    attempts: int, *, min_attempt_s: float, backoff_initial_s: float, backoff_max_s: float
) -> float:
    """The least time ``attempts`` attempts take: each ``min_attempt_s``, plus the
    jitter-free backoff between consecutive ones."""
    waits = sum(
        base_backoff(n, initial_s=backoff_initial_s, max_s=backoff_max_s)
        for n in range(1, attempts)
    )
    return attempts * min_attempt_s + waits


def max_attempts_within(
    deadline_s: float,
    *,
    min_attempt_s: float,
    backoff_initial_s: float,
    backoff_max_s: float,
    limit: int = 1000,
) -> int:
    """How many attempts fit in ``deadline_s`` at the least (0 if not even one)."""
    fitting = 0
    for attempts in range(1, limit + 1):
        needed = min_time_for_attempts(
            attempts,
            min_attempt_s=min_attempt_s,
            backoff_initial_s=backoff_initial_s,
            backoff_max_s=backoff_max_s,
        )
        if needed > deadline_s:
            break
        fitting = attempts
    return fitting


def _mask_url_password(url: str) -> str:
    """``redis://user:secret@host`` -> ``redis://user:****@host``."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:****@{host}" if ":" in creds else url


# Errors whose input is a typed value (a choice, a number, a flag), never a secret or a
# URL that may carry one: the message quotes what was given.
_QUOTABLE_ERRORS = frozenset(
    {"literal_error", "int_parsing", "float_parsing", "bool_parsing", "greater_than_equal",
     "greater_than", "less_than_equal", "less_than"}
)  # fmt: skip


def describe_invalid(exc: ValidationError) -> str:
    """Every problem of invalid settings in one line, each named by its variable
    (``PITCHCAST_PERSONAS: Input should be 'CASTER', 'ANALYST' or 'FRIEND' (given 'COACH')``);
    a value is quoted only when it is a choice, a number or a flag, never a secret."""
    problems = []
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        input_value = error.get("input")
        if error["type"] in _QUOTABLE_ERRORS and isinstance(input_value, str | int | float):
            message += f" (given {str(input_value)[:40]!r})"
        loc = error["loc"]
        variable = f"PITCHCAST_{str(loc[0]).upper()}" if loc else ""
        # A message that names its variable already reads right without the prefix.
        named = not variable or message.startswith(variable)
        problems.append(message if named else f"{variable}: {message}")
    return "; ".join(problems)


# PITCHCAST_* variables that are not settings: the test suite's and the benchmarks' own.
_NOT_SETTINGS_PREFIXES = ("PITCHCAST_TEST_", "PITCHCAST_BENCH_")


def unknown_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """A warning for each ``PITCHCAST_*`` variable of ``environ`` (default: the process's)
    that names no setting, with the setting it resembles: a misspelt one is ignored."""
    known = {f"PITCHCAST_{name.upper()}" for name in Settings.model_fields}
    warnings = []
    for variable in sorted(os.environ if environ is None else environ):
        name = variable.upper()
        if (
            not name.startswith("PITCHCAST_")
            or name in known
            or name.startswith(_NOT_SETTINGS_PREFIXES)
        ):
            continue
        warning = f"{variable} is not a pitchcast setting and is ignored"
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
        warnings.append(warning + (f" (did you mean {close[0]}?)" if close else ""))
    return warnings


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with explicit overrides (tests, CLI flags) on top."""
    return Settings(**overrides)
