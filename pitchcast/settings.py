"""Every setting of pitchcast, read once from ``PITCHCAST_*`` environment variables.

This is the only module that reads the environment. Everything else receives a
:class:`Settings` (or the values it needs) through its constructor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["PERSONAS", "Persona", "Settings", "load_settings"]

Persona = Literal["CASTER", "ANALYST", "FRIEND"]
PERSONAS: tuple[Persona, ...] = ("CASTER", "ANALYST", "FRIEND")


class Settings(BaseSettings):
    """pitchcast configuration. Env var = ``PITCHCAST_`` + field name in upper case."""

    model_config = SettingsConfigDict(env_prefix="PITCHCAST_", frozen=True, extra="ignore")

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
    create_topics: bool = True

    # A dead worker's partitions move to the others after this long without heartbeats.
    kafka_session_timeout_s: float = Field(default=30.0, ge=6)
    # How often faust commits the offsets of processed records (its default).
    kafka_commit_interval_s: float = Field(default=2.8, gt=0)

    # The Faust app id is also the consumer group.
    app_id: str = "pitchcast"
    web_port: int = 6066
    # 127.0.0.1 keeps the stats page local; 0.0.0.0 in a container to publish it.
    web_host: str = "127.0.0.1"
    data_dir: Path = Path(".pitchcast/worker")

    # --- Stream semantics --------------------------------------------------
    batch_size: int = Field(default=10, ge=1, le=100)
    idle_timeout_s: float = Field(default=30.0, gt=0)
    tick_interval_s: float = Field(default=5.0, gt=0)
    max_message_bytes: int = Field(default=65536, ge=1024)
    clamp_margin_m: float = Field(default=5.0, ge=0)
    dlq_value_cap_bytes: int = Field(default=8192, ge=256)
    max_in_flight_batches: int = Field(default=8, ge=1)

    # --- Redis -------------------------------------------------------------
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_password: SecretStr | None = None
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
    # The per-batch lock outlives the batch deadline by this margin (holder crash -> expiry).
    lock_ttl_margin_s: float = Field(default=5.0, gt=0)
    # Upper bound of the lock loser's polling interval (it starts at 50 ms and doubles).
    lock_poll_max_s: float = Field(default=0.5, gt=0)

    # --- Commentary / LLM --------------------------------------------------
    personas: Annotated[tuple[Persona, ...], NoDecode] = ("CASTER",)
    llm_backend: Literal["template", "openai"] = "template"
    llm_base_url: str = "http://127.0.0.1:8000/v1"
    llm_api_key: SecretStr | None = None
    llm_model: str = "skt/A.X-4.0-Light"
    llm_temperature: float = Field(default=0.7, ge=0, le=2)
    llm_top_p: float = Field(default=0.9, gt=0, le=1)
    llm_max_tokens: int = Field(default=600, ge=16)
    llm_stream: bool = True
    llm_structured_output: bool = True
    llm_connect_timeout_s: float = Field(default=5.0, gt=0)
    llm_read_timeout_s: float = Field(default=30.0, gt=0)
    llm_batch_deadline_s: float = Field(default=25.0, gt=0)
    llm_max_in_flight: int = Field(default=8, ge=1)
    llm_retry_attempts: int = Field(default=4, ge=1)
    llm_breaker_failures: int = Field(default=5, ge=1)
    llm_breaker_reset_s: float = Field(default=30.0, gt=0)
    llm_warmup: bool = False

    # --- Local stack (machines without Docker) -----------------------------
    stack_dir: Path = Path(".pitchcast/stack")
    stack_kafka_port: int = 9092
    stack_kafka_controller_port: int = 9093
    stack_redis_port: int = 6379
    stack_kafka_version: str = "4.1.1"

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
            f"PITCHCAST_{name.upper()}": _env_text(value) for name, value in self.describe().items()
        }


def _env_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return ",".join(str(v) for v in value)
    return str(value)


def _mask_url_password(url: str) -> str:
    """``redis://user:secret@host`` -> ``redis://user:****@host``."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:****@{host}" if ":" in creds else url


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with explicit overrides (tests, CLI flags) on top."""
    return Settings(**overrides)
